"""Small valid records for tests that need a result without running the pipeline."""

from __future__ import annotations

from appliance.output.manifest import (
    BestShot,
    Landmarks,
    Manifest,
    PersonBest,
    PersonRecord,
    Quality,
    SourceRecord,
    Stats,
    TrackRecord,
)


def sample_manifest() -> Manifest:
    best = BestShot(
        file="tracks/track-0001.jpg",
        frame=10,
        time_s=0.4,
        box=(10.0, 10.0, 40.0, 50.0),
        confidence=0.99,
        landmarks=Landmarks(
            left_eye=(20, 25), right_eye=(40, 25), nose=(30, 35), mouth_left=(22, 45), mouth_right=(38, 45)
        ),
        quality=Quality(score=0.8, sharpness=0.7, frontal=0.9, size=0.5, confidence=0.99),
    )
    return Manifest(
        version="test",
        source=SourceRecord(
            path="walk.mp4", sha256="a" * 64, size_bytes=100, duration_s=1.0, fps=25.0, frames=25, width=640, height=360
        ),
        backend="tflite",
        settings={},
        stats=Stats(
            frames_decoded=25,
            frames_analysed=5,
            frames_full_detection=5,
            frames_region_detection=0,
            frames_skipped_still=0,
            detections=5,
            wall_s=0.5,
        ),
        tracks=[TrackRecord(id=1, person=1, first_s=0.0, last_s=1.0, detections=3, best=best)],
        people=[
            PersonRecord(
                id=1,
                tracks=[1],
                first_s=0.0,
                last_s=1.0,
                best=PersonBest(file="faces/person-0001.jpg", track=1, time_s=0.4, quality=0.8),
            )
        ],
    )
