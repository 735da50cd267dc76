"""Long recordings in parts: where the cuts go."""

from __future__ import annotations

import json
import math
from dataclasses import replace

from appliance.pipeline.parts.plan import MIN_PART_GOPS, STILL_WEIGHT, SplitPlan, plan_parts
from appliance.pipeline.scan import DecodePlan, ScanResult, ScanSignal

KEYFRAMES = [float(s) for s in range(100)]  # one keyframe a second, 100 s


def check_cover(plan: SplitPlan) -> None:
    """Parts follow each other from 0 to the end, each overlapping the next by one keyframe interval."""
    parts = plan.parts
    assert parts[0].start_s == 0.0 and math.isinf(parts[-1].stop_s)
    for before, after in zip(parts, parts[1:], strict=False):
        assert before.stop_s == after.start_s
        assert before.until_s == KEYFRAMES[KEYFRAMES.index(before.stop_s) + 1]
        assert after.start_s - before.start_s >= MIN_PART_GOPS


def test_parts_share_the_footage_evenly_when_nothing_was_scanned():
    plan = plan_parts(KEYFRAMES, 100.0, None, 30.0)
    assert [p.number for p in plan.parts] == [1, 2, 3, 4]
    check_cover(plan)
    lengths = [min(p.stop_s, 100.0) - p.start_s for p in plan.parts]
    assert max(lengths) - min(lengths) <= 2, lengths
    assert "4 parts" in plan.reason


def test_parts_share_the_analysis_not_the_hours():
    """Two active stretches in 100 s: each part gets about the same active seconds, stills cost little."""
    decode = DecodePlan(((10.0, 20.0), (70.0, 80.0)), 8.0)
    plan = plan_parts(KEYFRAMES, 100.0, decode, 10.0)
    total = 20 + STILL_WEIGHT * 80
    assert len(plan.parts) == math.ceil(total / 10.0) == 3
    check_cover(plan)
    active = [
        sum(max(0.0, min(min(p.stop_s, 100.0), b) - max(p.start_s, a)) for a, b in decode.active) for p in plan.parts
    ]
    assert all(4.0 <= seconds <= 12.0 for seconds in active), active


def test_short_or_unsplittable_recordings_stay_whole():
    assert len(plan_parts(KEYFRAMES, 100.0, None, 0.0).parts) == 1  # split_s 0: never
    assert len(plan_parts(KEYFRAMES, 100.0, None, 200.0).parts) == 1  # less to analyse than split_s
    few = plan_parts([0.0, 10.0, 20.0], 30.0, None, 1.0)  # too few keyframes to cut at
    assert len(few.parts) == 1 and "too few keyframes" in few.reason
    many = plan_parts(KEYFRAMES, 100.0, None, 0.001)  # never more parts than keyframes allow
    assert len(many.parts) == len(KEYFRAMES) // MIN_PART_GOPS


def test_a_plan_survives_its_file():
    plan = plan_parts(KEYFRAMES, 100.0, None, 30.0)
    again = SplitPlan.from_json(plan.to_json())
    assert again.parts == plan.parts and again.reason == plan.reason


def test_a_plan_with_its_scan_survives_its_file_and_writes_the_signal_as_a_word():
    scanned = ScanResult(
        plan=DecodePlan(((10.0, 20.0),), 8.0),
        reason=None,
        signal=ScanSignal.QP,
        gops=100,
        frames=2500,
        duration_s=100.0,
        active_s=10.0,
        active_stretches=1,
        keyframes=tuple(KEYFRAMES),
        still_checks=6,
    )
    split = plan_parts(KEYFRAMES, 100.0, scanned.plan, 30.0)
    text = SplitPlan(split.parts, scanned, split.reason).to_json()
    assert json.loads(text)["scan"]["signal"] == "qp"
    again = SplitPlan.from_json(text)
    assert again.scan == replace(scanned, keyframes=())  # the keyframes are the plan's parts already
    assert again.scan is not None and again.scan.signal is ScanSignal.QP
