"""Nets in two lanes (two calls at once) give exactly the faces of one lane, on both backends."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from appliance.detect import Detector
from appliance.detect.cascade import MIN_LANE_PATCHES, normalise, split_levels

pytestmark = pytest.mark.slow  # real inference on both backends


def test_the_largest_level_runs_beside_all_the_others():
    scales = [0.6 * 0.709**k for k in range(12)]
    mine, other = split_levels(scales, 2)
    assert mine[0] == 0 and other[:6] == [1, 2, 3, 4, 5, 6]  # the largest alone, then the smallest to balance

    def work(levels):
        return sum(scales[k] ** 2 for k in levels)

    assert abs(work(mine) - work(other)) < 0.02 * work(mine + other)
    assert sorted(sum(split_levels(scales, 3), [])) == list(range(12))  # every level runs, once


@pytest.fixture(scope="module")
def busy_frames(videos):
    """Two frames of the busy clip at its full size: many proposals, so RNet's batch is split too."""
    with av.open(str(videos / "facenet_pytorch_video.mp4")) as container:
        frames = [
            f.to_ndarray(format="bgr24")
            for i, f in zip(range(40), container.decode(video=0), strict=False)
            if i in (5, 35)
        ]
    return frames


def faces_of(detector, image):
    return [(f.box, f.confidence, f.landmarks) for f in detector.detect(image)]


def test_two_lanes_find_the_same_faces(detector, faces_dev, annotations, busy_frames):
    two = Detector(runner=detector.runner, threads=2)
    assert two.cascade.lanes == 2 and detector.cascade.lanes == 1
    images = [cv2.imread(str(faces_dev / name)) for name in sorted(annotations)[:6]] + busy_frames
    proposals = two.cascade._stage_pnet([normalise(cv2.cvtColor(busy_frames[0], cv2.COLOR_BGR2RGB))])[0]
    assert len(proposals) >= 2 * MIN_LANE_PATCHES, "the frame must make RNet's batch large enough to split"
    found = 0
    for image in images:
        one_lane = faces_of(detector, image)
        assert faces_of(two, image) == one_lane
        found += len(one_lane)
    assert found >= 10


def test_patches_in_two_lanes_match_one(detector, busy_frames):
    """Following's batches (several same-sized patches in one call) split the same way."""
    two = Detector(runner=detector.runner, threads=2)
    patches = [np.ascontiguousarray(busy_frames[1][y : y + 240, x : x + 240]) for y in (0, 200) for x in (0, 300, 600)]
    assert two.detect_batch(patches) == detector.detect_batch(patches)
