"""A part's result on disk: its tracks in a work folder (JSON and NumPy arrays, no pickles), which a
retried part replaces, read back by the merge."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...detect import Face
from ..quality import Quality
from ..track import Sighting, Track

PART_FILE = "part.json"
ARRAYS_FILE = "arrays.npz"
ALL_CROPS = "all"


@dataclass
class PartResult:
    """What a part found: its tracks (all of them, even one-frame ones: the merge decides) and counts."""

    number: int
    tracks: list[Track]
    counts: dict[str, int] = field(default_factory=dict)
    folder: Path | None = None


def save_part(folder: Path, result: PartResult) -> None:
    """The part's tracks into ``folder`` (made by the caller, published atomically by it)."""
    arrays: dict[str, np.ndarray] = {}
    tracks = []
    for track in result.tracks:
        key = str(track.id)
        for name in ("best_crop", "best_aligned", "best_original"):
            image = getattr(track, name)
            if image is not None:
                arrays[f"{key}.{name}"] = image
        for n, (_, shot) in enumerate(track.shots):
            arrays[f"{key}.shot{n}"] = shot
        tracks.append(
            {
                "id": track.id,
                "detections": track.detections,
                "first": _sighting(track.first),
                "last": _sighting(track.last),
                "best": _sighting(track.best),
                "boxes": [[frame, *box] for frame, box in sorted(track.boxes.items())],
                "shots": [quality for quality, _ in track.shots],
            }
        )
    np.savez(folder / ARRAYS_FILE, **arrays)  # type: ignore[arg-type]  # numpy stubs: names as keywords
    text = json.dumps({"number": result.number, "counts": result.counts, "tracks": tracks})
    (folder / PART_FILE).write_text(text, encoding="utf-8")


def load_part(folder: Path) -> PartResult:
    data = json.loads((folder / PART_FILE).read_text(encoding="utf-8"))
    with np.load(folder / ARRAYS_FILE, allow_pickle=False) as arrays:
        stored = {name: arrays[name] for name in arrays.files}
    tracks = []
    for item in data["tracks"]:
        key = str(item["id"])
        track = Track(
            item["id"],
            _unsighting(item["first"]),
            _unsighting(item["last"]),
            _unsighting(item["best"]),
            detections=item["detections"],
            best_crop=stored.get(f"{key}.best_crop"),
            best_aligned=stored.get(f"{key}.best_aligned"),
            best_original=stored.get(f"{key}.best_original"),
        )
        track.boxes = {int(row[0]): (row[1], row[2], row[3], row[4]) for row in item["boxes"]}
        track.shots = [(q, stored[f"{key}.shot{n}"]) for n, q in enumerate(item["shots"])]
        tracks.append(track)
    return PartResult(data["number"], tracks, data["counts"], folder)


def _sighting(s: Sighting) -> dict[str, Any]:
    face = {"box": list(s.face.box), "confidence": s.face.confidence, "landmarks": [list(p) for p in s.face.landmarks]}
    return {"frame": s.frame, "time_s": s.time_s, "face": face, "quality": asdict(s.quality)}


def _unsighting(d: dict[str, Any]) -> Sighting:
    f = d["face"]
    face = Face(tuple(f["box"]), f["confidence"], tuple(tuple(p) for p in f["landmarks"]))
    return Sighting(d["frame"], d["time_s"], face, Quality(**d["quality"]))


def copy_all_crops(results: Iterable[PartResult], target: Path) -> None:
    """The parts' ``all/`` crops (setting all_crops) into the result being written."""
    for result in results:
        source = result.folder / ALL_CROPS if result.folder else None
        if source is None or not source.is_dir():
            continue
        for crop in source.iterdir():
            destination = target / ALL_CROPS / crop.name
            destination.parent.mkdir(parents=True, exist_ok=True)
            if not destination.exists():
                shutil.copyfile(crop, destination)
