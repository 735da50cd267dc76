"""The parts' tracks joined into one recording's: a track of one part and the track of the next that
have the same boxes in the frames both analysed (IoU) are one track, handed to the same publishing
as an unsplit run's."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ...detect.boxes import iou_matrix
from ..track import Track
from .plan import SplitPlan
from .store import PartResult

MATCH_IOU = 0.5  # two parts' tracks with boxes this alike in the frames both analysed are one track


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
