"""The result manifest: typed records that write ``manifest.json`` and ``faces.csv`` and read them back.

One schema for every reader and writer: the pipeline publishes these records, the page and crash
recovery read them. ``manifest.schema.json`` beside this module is the published JSON Schema
(``python -m appliance.output.manifest`` writes it; a test keeps it in step with these records).
Words (docs/architecture.md): a *detection* is one face box in one frame; a *track* is one person's run
of detections through the recording, with one crop (its best shot); a *person* is the tracks that are
one individual. ``faces.csv`` and ``faces/`` keep their names from schema 1 (readers know them).
``schema`` counts incompatible changes; new optional fields keep the number. Schema 2: tracks are
grouped into people (``people``, each track's ``person``); ``faces/`` holds one crop per person and
``tracks/`` one per track (schema 1 had the track crops in ``faces/``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SCHEMA_VERSION = 2
MANIFEST = "manifest.json"
CSV_NAME = "faces.csv"
EMBEDDINGS = "embeddings.npz"  # the tracks' face embeddings (when people are grouped): biometric data
SCHEMA_FILE = Path(__file__).with_name("manifest.schema.json")
LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")

Point = tuple[float, float]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Landmarks(Record):
    """Five points in source-frame pixels; ``left_eye`` is the eye on the left of the image."""

    left_eye: Point
    right_eye: Point
    nose: Point
    mouth_left: Point
    mouth_right: Point


class Quality(Record):
    """How good the shot is for a person to look at; ``score`` weighs the other four (0-1 each)."""

    score: float
    sharpness: float
    frontal: float
    size: float
    confidence: float


class BestShot(Record):
    """A track's best detection: the one its crop is cut from."""

    file: str = Field(description="the crop, relative to the result folder")
    frame: int = Field(ge=0)
    time_s: float = Field(ge=0)
    box: tuple[float, float, float, float] = Field(description="[x, y, w, h] in source-frame pixels")
    confidence: float = Field(ge=0, le=1)
    landmarks: Landmarks
    quality: Quality
    enhanced: bool = Field(False, description="the crop was brightened; the unaltered one is original_file")
    original_file: str | None = None


class TrackRecord(Record):
    """One track: one person's run of detections through the recording, with one crop (its best shot)."""

    id: int = Field(ge=1)
    person: int = Field(ge=1, description="the person this track is (an id within this recording)")
    first_s: float = Field(ge=0)
    last_s: float = Field(ge=0)
    detections: int = Field(ge=1, description="the face boxes (one per frame) the track is made of")
    best: BestShot
    boxes: list[tuple[int, float, float, float, float]] = Field(
        default_factory=list,
        description="every detection of the track: [frame, x, y, w, h] in source-frame pixels (frame = "
        "round(time_s x fps)), for redacting exports; empty in results written before they were kept",
    )

    def csv_row(self) -> dict[str, Any]:
        best = self.best
        row: dict[str, Any] = {
            "track": self.id,
            "person": self.person,
            "file": best.file,
            "first_s": self.first_s,
            "last_s": self.last_s,
            "detections": self.detections,
            "frame": best.frame,
            "time_s": best.time_s,
            "x": best.box[0],
            "y": best.box[1],
            "w": best.box[2],
            "h": best.box[3],
            "confidence": best.confidence,
            "quality": best.quality.score,
        }
        for name in LANDMARK_NAMES:
            row[f"{name}_x"], row[f"{name}_y"] = getattr(best.landmarks, name)
        return row


CSV_FIELDS = [
    *("track", "person", "file", "first_s", "last_s", "detections", "frame", "time_s", "x", "y", "w", "h"),
    *("confidence", "quality"),
    *(f"{name}_{axis}" for name in LANDMARK_NAMES for axis in "xy"),
]


class PersonBest(Record):
    file: str = Field(description="the person's crop, relative to the result folder (faces/person-NNNN.jpg)")
    track: int = Field(ge=1, description="the track it comes from")
    time_s: float = Field(ge=0)
    quality: float


class PersonRecord(Record):
    """One person in this recording: the tracks that are them (several when they left and came back)."""

    id: int = Field(ge=1)
    tracks: list[int] = Field(min_length=1)
    first_s: float = Field(ge=0)
    last_s: float = Field(ge=0)
    best: PersonBest


class SourceRecord(Record):
    path: str = Field(description="the file's name as it was given")
    sha256: str = Field(pattern="^[0-9a-f]{64}$")
    size_bytes: int = Field(ge=0)
    duration_s: float = Field(ge=0)
    fps: float = Field(ge=0)
    frames: int = Field(ge=0)
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    recorded_at: str | None = Field(None, description="when the recording started (ISO 8601), if it says")
    recorded_at_source: str | None = Field(
        None, description="where recorded_at comes from: `metadata` (the container's creation time) or `file name`"
    )


class ScanStats(Record):
    """What the activity scan decided for this file (absent for stills and with the scan off)."""

    mode: str = Field(description="`scan`: decoded where active, keyframes elsewhere; `decode-all`: every frame")
    reason: str | None = Field(None, description="why every frame was decoded")
    signal: str = Field(description="what showed activity: `bytes` (inter-frame bytes) or `qp` (slice quantiser)")
    gops: int = Field(ge=0, description="keyframe intervals in the file")
    active_s: float = Field(ge=0, description="seconds decoded in full")
    active_stretches: int = Field(ge=0)
    frames_decoded: int = Field(ge=0)
    keyframes_checked: int = Field(ge=0, description="keyframes of still stretches decoded and compared")
    still_checks: int = Field(
        0, ge=0, description="keyframe pairs of still stretches compared before the scan's plan was trusted"
    )


class Stats(Record):
    frames_decoded: int = Field(ge=0)
    frames_analysed: int = Field(ge=0)
    frames_full_detection: int = Field(ge=0)
    frames_region_detection: int = Field(ge=0)
    frames_follow_detection: int = Field(
        0,
        ge=0,
        description="frames where faces were looked for only where the tracks predicted them (motion everywhere)",
    )
    frames_skipped_still: int = Field(ge=0)
    detections: int = Field(ge=0, description="face boxes found over all frames analysed (each track holds several)")
    wall_s: float = Field(ge=0)
    scan: ScanStats | None = None
    parts: int = Field(1, ge=1, description="parts a long recording was processed in (on any worker), then merged")
    time_ms: dict[str, int] = Field(
        default_factory=dict,
        description="milliseconds per step: in the decoding thread decode, motion and picture (colour "
        "conversion); in the main one wait (for decoded frames), hash, scan, detect_full, detect_regions, "
        "detect_follow (by where detection ran; each holds its share of pnet, rnet, onet and enhance), track, "
        "people, write; nested and in two threads, so not a sum of the wall time",
    )


class Manifest(Record):
    schema_version: int = Field(SCHEMA_VERSION, alias="schema", description="the manifest format's version")
    version: str = Field(description="the appliance's version")
    source: SourceRecord
    backend: str
    enhanced_frames: int = Field(0, ge=0)
    settings: dict[str, Any] = Field(description="the extraction settings used")
    stats: Stats
    tracks: list[TrackRecord]
    people: list[PersonRecord] = Field(description="the tracks grouped by person (one each with people off)")
    embeddings: str | None = Field(None, description="the file of the tracks' embeddings, when people are grouped")

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json", by_alias=True), indent=2) + "\n"

    def csv_rows(self) -> list[dict[str, Any]]:
        return [track.csv_row() for track in self.tracks]


def read_manifest(folder: Path) -> Manifest | None:
    """The manifest of a result folder, or None if it is missing or not one of ours."""
    try:
        return Manifest.model_validate_json((folder / MANIFEST).read_bytes())
    except (OSError, ValidationError):
        return None


def json_schema() -> dict[str, Any]:
    schema = Manifest.model_json_schema(by_alias=True, mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_FILE
    target.write_text(json.dumps(json_schema(), indent=2) + "\n")
