"""A long recording's split plan, made from its packets alone (nothing decoded).

A recording with more footage to analyse than ``split_s`` (the active stretches when the activity
scan can judge it, else its whole length) is cut at keyframes into parts of about equal work. Each
part is analysed up to one keyframe interval past its end, so a face crossing a cut is seen by both
sides in the same frames (the merge, :mod:`.merge`, relies on that overlap).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from ..scan import ScanResult, ScanSignal
from ..video import DecodePlan, Window

MAX_PARTS = 64
MIN_PART_GOPS = 4  # a part spans at least this many keyframe intervals
STILL_WEIGHT = 0.02  # a still second costs this much of an analysed one (a keyframe looked at now and then)


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
            found = ScanResult(**{**scan, "plan": decode, "signal": ScanSignal(scan["signal"]), "keyframes": ()})
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
