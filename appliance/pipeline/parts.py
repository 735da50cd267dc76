"""Long recordings in parts: a plan that decodes nothing, parts analysed anywhere, one merge.

The plan reads the packets only (the activity scan's pass): a recording with more footage to
analyse than ``split_s`` (the active stretches when the scan can judge it, else its whole length)
is cut at keyframes into parts of about equal work. Each part is analysed up to one keyframe
interval past its end, so a face crossing a cut is seen by both sides in the same frames; the merge
joins a track of one part with the track of the next that has the same boxes there (IoU) and
hands the tracks to the same publishing as an unsplit run. A part's tracks are kept in a work
folder (JSON and NumPy arrays, no pickles) that a retried part replaces.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..detect import Face
from ..detect.boxes import iou_matrix
from .quality import Quality
from .scan import ScanResult
from .track import Sighting, Track
from .video import DecodePlan, Window

MAX_PARTS = 64
MIN_PART_GOPS = 4  # a part spans at least this many keyframe intervals
STILL_WEIGHT = 0.02  # a still second costs this much of an analysed one (a keyframe looked at now and then)
MATCH_IOU = 0.5  # two parts' tracks with boxes this alike in the frames both analysed are one track
PART_FILE = "part.json"
ARRAYS_FILE = "arrays.npz"
ALL_CROPS = "all"


@dataclass(frozen=True)
class Part:
    """One part: its footage from ``start_s`` to ``stop_s`` (keyframes), analysed up to ``until_s``."""

    number: int  # from 1
    start_s: float
    stop_s: float  # where the next part starts (inf: the end of the recording)
    until_s: float  # one keyframe interval past stop_s: the overlap with the next part

    @property
    def window(self) -> Window:
        return Window(self.start_s, self.until_s)


@dataclass(frozen=True)
class SplitPlan:
    """How a recording is processed: in ``parts`` (one: whole), with the scan's decision."""

    parts: tuple[Part, ...]
    scan: ScanResult | None
    reason: str  # why it is or is not split, for the page

    @property
    def split(self) -> bool:
        return len(self.parts) > 1

    def to_json(self) -> str:
        scan = None
        if self.scan is not None:
            scan = {**asdict(self.scan), "keyframes": []}
        parts = [[p.number, p.start_s, _finite(p.stop_s), _finite(p.until_s)] for p in self.parts]
        return json.dumps({"parts": parts, "scan": scan, "reason": self.reason})

    @classmethod
    def from_json(cls, text: str) -> SplitPlan:
        data = json.loads(text)
        parts = tuple(Part(int(n), a, _infinite(b), _infinite(c)) for n, a, b, c in data["parts"])
        scan = data["scan"]
        found = None
        if scan is not None:
            plan = scan.pop("plan")
            decode = DecodePlan(tuple(tuple(r) for r in plan["active"]), plan["keyframe_every_s"]) if plan else None
            found = ScanResult(**{**scan, "plan": decode, "keyframes": ()})
        return cls(parts, found, data["reason"])


def _finite(value: float) -> float | None:
    return None if math.isinf(value) else value


def _infinite(value: float | None) -> float:
    return math.inf if value is None else value


def plan_parts(keyframes: Sequence[float], duration_s: float, plan: DecodePlan | None, split_s: float) -> SplitPlan:
    """Cut at keyframes into parts of about ``split_s`` seconds of analysis each (one part if shorter)."""
    whole = SplitPlan((Part(1, 0.0, math.inf, math.inf),), None, "")
    if split_s <= 0 or len(keyframes) < 2 * MIN_PART_GOPS:
        return _why(whole, "not split (too few keyframes to cut at)" if split_s > 0 else "")
    edges = [*keyframes, max(duration_s, keyframes[-1])]
    costs = [_cost(a, b, plan) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    total = sum(costs)
    count = min(math.ceil(total / split_s), MAX_PARTS, len(keyframes) // MIN_PART_GOPS)
    if count <= 1:
        return _why(whole, f"not split ({total:.0f} s to analyse, split_s {split_s:.0f})")
    cuts = _cuts(costs, count)
    parts = []
    bounds = [0, *cuts, len(keyframes)]
    for number, (first, nxt) in enumerate(zip(bounds[:-1], bounds[1:], strict=True), start=1):
        start = 0.0 if first == 0 else keyframes[first]
        stop = keyframes[nxt] if nxt < len(keyframes) else math.inf
        until = keyframes[nxt + 1] if nxt + 1 < len(keyframes) else math.inf
        parts.append(Part(number, start, stop, until))
    return SplitPlan(tuple(parts), None, f"split in {len(parts)} parts ({total:.0f} s to analyse)")


def _why(plan: SplitPlan, reason: str) -> SplitPlan:
    return SplitPlan(plan.parts, plan.scan, reason)


def _cost(start: float, end: float, plan: DecodePlan | None) -> float:
    """Seconds of analysis a keyframe interval costs: all of it where decoded, a little where still."""
    length = max(end - start, 0.0)
    if plan is None:
        return length
    active = sum(max(0.0, min(end, b) - max(start, a)) for a, b in plan.active)
    return active + STILL_WEIGHT * (length - active)


def _cuts(costs: list[float], count: int) -> list[int]:
    """Keyframe indices where parts 2..count start: where the running cost passes each share."""
    share = sum(costs) / count
    cuts: list[int] = []
    running, last = 0.0, 0
    for index, cost in enumerate(costs):
        if len(cuts) == count - 1:
            break
        room = index - last >= MIN_PART_GOPS and len(costs) - index >= MIN_PART_GOPS
        if running >= share * (len(cuts) + 1) and room:
            cuts.append(index)
            last = index
        running += cost
    return cuts


# -- a part's result on disk -----------------------------------------------------------------------
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


# -- the merge -------------------------------------------------------------------------------------
def merge_parts(results: Sequence[PartResult], plan: SplitPlan, tolerance: int = 0) -> list[Track]:
    """All parts' tracks as one recording's: a track crossing a cut is one track.

    ``tolerance``: frames apart that still count as the same frame (when two parts' analysis
    falls on different frames of the overlap).
    """
    ordered = sorted(results, key=lambda r: r.number)
    next_id = 1
    merged: list[Track] = []
    for result in ordered:
        incoming = []
        for track in result.tracks:
            track.id, next_id = next_id, next_id + 1
            incoming.append(track)
        if merged:
            previous = plan.parts[result.number - 2]
            merged = _join(merged, incoming, previous.stop_s, previous.until_s, tolerance)
        else:
            merged = incoming
    return sorted(merged, key=lambda t: (t.first.time_s, t.id))


def _join(before: list[Track], after: list[Track], stop_s: float, until_s: float, tolerance: int) -> list[Track]:
    """``after``'s tracks that continue one of ``before``'s in the overlap [stop_s, until_s) joined to it."""
    ending = [t for t in before if t.last.time_s >= stop_s]
    starting = [t for t in after if t.first.time_s < until_s]
    pairs = []
    for i, a in enumerate(ending):
        for j, b in enumerate(starting):
            alike = _alike(a, b, tolerance)
            if alike >= MATCH_IOU:
                pairs.append((alike, i, j))
    used_a: set[int] = set()
    used_b: set[int] = set()
    joined: set[int] = set()
    for _, i, j in sorted(pairs, reverse=True):
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        _absorb(ending[i], starting[j])
        joined.add(starting[j].id)
    return [*before, *(t for t in after if t.id not in joined)]


def _alike(a: Track, b: Track, tolerance: int) -> float:
    """The median box IoU over the frames both tracks were seen in (within ``tolerance``); 0 if none."""
    pairs = []
    for frame, box in b.boxes.items():
        for offset in _offsets(tolerance):
            other = a.boxes.get(frame + offset)
            if other is not None:
                pairs.append((other, box))
                break
    if not pairs:
        return 0.0
    ious = [float(iou_matrix(np.array([x]), np.array([y]))[0, 0]) for x, y in pairs]
    return float(np.median(ious))


def _offsets(tolerance: int) -> Iterable[int]:
    yield 0
    for step in range(1, tolerance + 1):
        yield from (-step, step)


def _absorb(track: Track, later: Track) -> None:
    """``later`` (the next part's piece of the same face) into ``track``."""
    common = len(track.boxes.keys() & later.boxes.keys())
    track.detections += later.detections - common
    track.boxes.update({f: b for f, b in later.boxes.items() if f not in track.boxes})
    if later.last.time_s > track.last.time_s:
        track.last = later.last
    if later.best.quality.score > track.best.quality.score:
        track.best = later.best
        track.best_crop, track.best_aligned, track.best_original = (
            later.best_crop,
            later.best_aligned,
            later.best_original,
        )
    keep = max(len(track.shots), len(later.shots))
    track.shots = sorted([*track.shots, *later.shots], key=lambda shot: -shot[0])[:keep]


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
