"""Recall/precision over a confidence sweep, and average precision.

One operating point says little when two detectors are compared: one may find more only because it
accepts more false positives. The curve over every confidence threshold lets them be compared at
equal precision (:func:`recall_at_precision`), and average precision sums it up in one number.

Matching is greedy by confidence (:func:`appliance.evaluation.detection.match`), so the outcome of a
detection (hit, false positive or don't-care) does not depend on any less confident detection: the
matches of the detections above a threshold are those of the whole list cut there. One matching at
the lowest confidence therefore gives the exact curve at every threshold.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CurvePoint:
    """What a detector gives when it keeps detections of at least ``threshold`` confidence."""

    threshold: float
    recall: float
    precision: float
    hits: int
    false_positives: int


def curve(scored: Iterable[tuple[float, bool]], faces: int) -> list[CurvePoint]:
    """One point per distinct confidence of ``scored`` ((confidence, is a hit) per counted detection),
    most confident first; ``faces`` is the number of cared-for ground-truth faces."""
    pairs = sorted(scored, key=lambda p: -p[0])
    if not pairs:
        return []
    conf = np.array([c for c, _ in pairs], dtype=np.float64)
    hit = np.array([h for _, h in pairs], dtype=bool)
    hits = np.cumsum(hit)
    fps = np.cumsum(~hit)
    # the last index of each run of equal confidences: a threshold keeps all of a tie or none of it
    last = np.flatnonzero(np.append(conf[1:] != conf[:-1], True))
    return [
        CurvePoint(
            threshold=float(conf[i]),
            recall=float(hits[i] / faces) if faces else 0.0,
            precision=float(hits[i] / (i + 1)),
            hits=int(hits[i]),
            false_positives=int(fps[i]),
        )
        for i in last
    ]


def average_precision(points: Sequence[CurvePoint]) -> float:
    """Area under the interpolated curve (PASCAL VOC 2010 on, "all points"): precision at recall r
    is the best precision at any recall >= r, so the saw-tooth of single false positives counts once."""
    if not points:
        return 0.0
    recall = np.concatenate([[0.0], [p.recall for p in points]])
    precision = np.concatenate([[1.0], [p.precision for p in points]])
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum(np.diff(recall) * envelope[1:]))


def recall_at_precision(points: Sequence[CurvePoint], precision: float) -> CurvePoint | None:
    """The point of highest recall whose precision is at least ``precision`` (None if none reaches it)."""
    good = [p for p in points if p.precision >= precision]
    return max(good, key=lambda p: (p.recall, p.threshold)) if good else None


def at_threshold(points: Sequence[CurvePoint], threshold: float) -> CurvePoint | None:
    """The point reached when detections of at least ``threshold`` confidence are kept."""
    kept = [p for p in points if p.threshold >= threshold]
    return min(kept, key=lambda p: p.threshold) if kept else None


def summary(points: Sequence[CurvePoint], levels: Sequence[float] = (0.9, 0.925, 0.95, 0.975)) -> dict:
    """The curve as a report: AP, recall at a few precision levels, and points thinned for printing."""
    thinned = _thin(points, 0.01)
    return {
        "average_precision": round(average_precision(points), 4),
        "recall_at_precision": {
            f"{level:g}": (None if (p := recall_at_precision(points, level)) is None else _row(p)) for level in levels
        },
        "points": [_row(p) for p in thinned],
    }


def _thin(points: Sequence[CurvePoint], step: float) -> list[CurvePoint]:
    """Points at least ``step`` of recall apart (always the first and the last)."""
    out: list[CurvePoint] = []
    for p in points:
        if not out or p.recall - out[-1].recall >= step or p is points[-1]:
            out.append(p)
    return out


def _row(p: CurvePoint) -> dict:
    return {
        "threshold": round(p.threshold, 6),
        "recall": round(p.recall, 4),
        "precision": round(p.precision, 4),
        "hits": p.hits,
        "false_positives": p.false_positives,
    }
