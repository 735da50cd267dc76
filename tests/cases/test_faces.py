"""Where faces are in frames the pipeline did not analyse, how tracks are interpolated, and where a
recording's time of day comes from."""

from __future__ import annotations

import cv2
import numpy as np

from appliance.cases.boxes import FaceBoxes
from appliance.cases.faces import Found, FrameFaces
from appliance.cases.redact import Redact, redact_frame
from appliance.common.recorded import FILE_NAME, METADATA, recording_start, source_of
from appliance.output.manifest import TrackRecord
from tests.samples import sample_manifest


def busy_frame(videos, index: int = 50) -> np.ndarray:
    capture = cv2.VideoCapture(str(videos / "facenet_pytorch_video.mp4"))
    capture.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, image = capture.read()
    capture.release()
    assert ok
    return image


def track_with(boxes: list[tuple[int, float, float, float, float]], number: int = 1) -> TrackRecord:
    return sample_manifest().tracks[0].model_copy(update={"id": number, "boxes": boxes})


def test_between_detections_a_box_is_interpolated_and_grows_with_the_motion():
    faces = FaceBoxes([track_with([(0, 100, 100, 40, 40), (10, 200, 100, 40, 40)])], interval_frames=5)
    [middle] = faces.at(5)
    assert middle.core == (150, 100, 190, 140)
    x1, _, x2, _ = middle.padded
    assert x1 <= 150 - 50 and x2 >= 190 + 50  # half the distance moved, and the margin, on each side
    [exact] = faces.at(10)
    assert exact.core == (200, 100, 240, 140) and exact.padded[0] > middle.padded[0]
    [after] = faces.at(15)  # carried on at its speed (10 px a frame), grown by the distance it may have gone
    assert after.core == (250, 100, 290, 140) and after.padded[0] <= 250 - 50 - 12
    assert faces.at(20) and not faces.at(21)  # two intervals after the last detection, then gone
    assert faces.at(-10)[0].core == (0, 100, 40, 140) and not faces.at(-11)
    [once] = FaceBoxes([track_with([(0, 100, 100, 40, 40)])], interval_frames=5).at(5)  # seen once: held, grown
    assert once.core == (100, 100, 140, 140) and once.padded[0] < 100 - 12


class _Picture:
    def __init__(self, frame: int, image: np.ndarray) -> None:
        self.frame, self.time_s, self.image = frame, frame / 25, image

    def bgr(self) -> np.ndarray:
        return self.image


def test_every_frame_is_searched_and_a_face_found_is_held_around_it(videos, tflite_detector):
    image = busy_frame(videos)
    calls = []

    def detect(picture, recognise):
        calls.append(recognise)
        return [Found(face.xyxy, subject=True) for face in tflite_detector.detect(picture.bgr())]

    faces = FrameFaces(FaceBoxes([], 5), analysed=((0.0, 1.0),), interval_s=0.2, detect=detect, subjects=frozenset({1}))
    faces.search([_Picture(n, image) for n in (20, 50)])
    assert (faces.searched, faces.unknown) == (2, 1) and calls == [False, True]  # SFace asked only where no track is
    assert faces.recognised >= 4  # (this stub says every face is the subject's)
    subject_detect = faces.detect
    faces = FrameFaces(
        FaceBoxes([], 5),
        analysed=None,
        interval_s=0.2,
        detect=lambda p, r: [Found(f.box) for f in subject_detect(p, r)],
    )  # type: ignore[misc]
    faces.search([_Picture(50, image)])
    found = faces.at(50)
    assert len(found) >= 4 and all(face.track is None for face in found)
    held = faces.at(53)
    assert len(held) == len(found) and all(h.padded[0] < f.padded[0] for h, f in zip(held, found, strict=True))
    assert faces.at(54) == []
    blurred = image.copy()
    assert redact_frame(blurred, found, {1}, Redact.OTHERS) == len(found)  # nobody checked whose: blurred
    for face in found:
        x1, y1, x2, y2 = (int(v) for v in face.core)
        grey = [cv2.cvtColor(i[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY) for i in (image, blurred)]
        before, after = (cv2.Laplacian(g, cv2.CV_64F).var() for g in grey)
        assert after * 10 <= before


def test_none_blurs_nothing_and_the_subjects_face_stays_whole_beside_another(videos):
    image = busy_frame(videos, 0)
    side_by_side = FaceBoxes(
        [track_with([(0, 866, 620, 37, 48)], 1), track_with([(0, 912, 629, 63, 88)], 2)], interval_frames=5
    ).at(0)
    kept = image.copy()
    assert redact_frame(kept, side_by_side, {1}, Redact.NONE) == 0 and np.array_equal(kept, image)
    assert redact_frame(kept, side_by_side, {1}, Redact.OTHERS) == 1
    assert np.array_equal(kept[620:668, 866:903], image[620:668, 866:903])  # the subject, untouched
    assert not np.array_equal(kept[629:717, 912:975], image[629:717, 912:975])


def test_a_recordings_start_and_where_it_came_from():
    camera = recording_start("cam1_20261127_143005.mp4", {"creation_time": "2026-11-27T14:30:04.000000Z"})
    assert camera is not None and camera.source == METADATA and camera.at == "2026-11-27T14:30:04+00:00"
    named = recording_start("ch01_20261127143005.mp4", {"creation_time": "1970-01-01T00:00:00Z"})
    assert named is not None and (named.at, named.source) == ("2026-11-27T14:30:05", FILE_NAME)
    assert recording_start("2026-11-27 14.30.05.mkv", {}).at == "2026-11-27T14:30:05"  # type: ignore[union-attr]
    assert recording_start("walk.mp4", {}) is None
    assert source_of("2026-11-27T14:30:05", "RecS01_20261127_143005_143105.mp4") == FILE_NAME
    assert source_of("2026-11-27T13:00:00+00:00", "RecS01_20261127_143005.mp4") == METADATA
    assert source_of(None, "walk.mp4") is None
