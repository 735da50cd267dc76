"""A part's tracks on disk: what a worker saved is what the merge reads back, pictures included."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from appliance.detect import Face
from appliance.pipeline.parts.store import PartResult, load_part, save_part
from appliance.pipeline.quality import Quality
from appliance.pipeline.track import Sighting, Track


def sighting(frame: int, x: float) -> Sighting:
    face = Face(
        (x, 20.0, 40.0, 48.0), 0.99, ((x + 10, 35.0), (x + 30, 35.0), (x + 20, 45.0), (x + 12, 55.0), (x + 28, 55.0))
    )
    return Sighting(frame, frame / 25, face, Quality(0.5 + frame / 100, 120.0, 0.9, 40.0, 0.99))


def test_a_saved_part_reads_back_as_it_was(faces_dev: Path, tmp_path: Path):
    photo = cv2.imread(str(faces_dev / "voc_2008_001009.jpg"))
    crop, aligned = photo[:64, :48].copy(), photo[64:176, 48:160].copy()
    track = Track(7, sighting(3, 10.0), sighting(9, 22.0), sighting(6, 16.0), detections=3, best_crop=crop)
    track.best_aligned = aligned
    track.boxes = {3: (10.0, 20.0, 50.0, 68.0), 6: (16.0, 20.0, 56.0, 68.0), 9: (22.0, 20.0, 62.0, 68.0)}
    track.shots = [(0.56, aligned), (0.53, aligned[::-1].copy())]
    save_part(tmp_path, PartResult(2, [track], {"frames_decoded": 10, "ms_detect": 40}))

    again = load_part(tmp_path)
    assert (again.number, again.counts, again.folder) == (2, {"frames_decoded": 10, "ms_detect": 40}, tmp_path)
    [read] = again.tracks
    assert (read.id, read.detections, read.boxes) == (7, 3, track.boxes)
    assert (read.first, read.last, read.best) == (track.first, track.last, track.best)
    assert read.best_crop is not None and np.array_equal(read.best_crop, crop)
    assert read.best_aligned is not None and np.array_equal(read.best_aligned, aligned)
    assert read.best_original is None
    assert [q for q, _ in read.shots] == [0.56, 0.53]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(read.shots, track.shots, strict=True))
