"""The recall/precision curve and average precision: hand-built cases, and on real photos the claim
the curve rests on (one matching at the lowest confidence gives every threshold's exact figures)."""

from __future__ import annotations

import pytest

from appliance.evaluation.curve import at_threshold, average_precision, curve, recall_at_precision, summary
from appliance.evaluation.detection import evaluate, match, split_half
from appliance.evaluation.yunet import BUNDLED_MODEL, yunet_finder


def test_each_point_counts_what_its_threshold_keeps():
    points = curve([(0.9, True), (0.8, False), (0.7, True), (0.6, False)], faces=4)
    assert [(p.threshold, p.hits, p.false_positives) for p in points] == [
        (0.9, 1, 0),
        (0.8, 1, 1),
        (0.7, 2, 1),
        (0.6, 2, 2),
    ]
    assert [p.recall for p in points] == [0.25, 0.25, 0.5, 0.5]
    assert points[2].precision == pytest.approx(2 / 3)


def test_tied_confidences_are_kept_or_dropped_together():
    points = curve([(0.9, True), (0.9, False), (0.5, True)], faces=2)
    assert [(p.threshold, p.hits, p.false_positives) for p in points] == [(0.9, 1, 1), (0.5, 2, 1)]


def test_average_precision_takes_the_best_precision_at_or_beyond_each_recall():
    assert average_precision(curve([(0.9, True), (0.8, True)], faces=2)) == pytest.approx(1.0)
    # recall 0.5 at precision 1, then a false positive, then recall 1 at precision 2/3
    assert average_precision(curve([(0.9, True), (0.8, False), (0.7, True)], faces=2)) == pytest.approx(
        0.5 * 1 + 0.5 * 2 / 3
    )
    # faces never found cap the area at the recall reached
    assert average_precision(curve([(0.9, True)], faces=4)) == pytest.approx(0.25)
    assert average_precision([]) == 0.0


def test_recall_at_precision_and_at_threshold():
    points = curve([(0.9, True), (0.8, False), (0.7, True), (0.6, True), (0.5, False)], faces=4)
    best = recall_at_precision(points, 0.7)
    assert best is not None and (best.threshold, best.recall) == (0.6, 0.75)
    assert recall_at_precision(points, 1.01) is None
    kept = at_threshold(points, 0.75)
    assert kept is not None and kept.threshold == 0.8
    report = summary(points, levels=(0.7,))
    assert report["recall_at_precision"]["0.7"]["recall"] == 0.75
    assert report["points"][0]["threshold"] == 0.9 and report["points"][-1]["threshold"] == 0.5


def test_halves_are_fixed_disjoint_and_cover_every_photo():
    names = [f"p{i:02d}.jpg" for i in range(11)]
    a, b = split_half(list(reversed(names)), "a"), split_half(names, "b")
    assert a == names[0::2] and b == names[1::2]
    assert not set(a) & set(b) and sorted(a + b) == names
    with pytest.raises(ValueError, match="half"):
        split_half(names, "c")


def test_matching_a_list_cut_at_a_threshold_gives_the_cut_of_its_matching(annotations):
    """Greedy matching by confidence: dropping the less confident detections changes nothing above."""
    name = "wider_0_Parade_marchingband_1_765.jpg"
    gt = annotations[name]
    dets = [((x + 3.0 * (i % 3), y - 2.0, w, h), 0.5 + 0.4 * ((i * 7) % 10) / 10) for i, (x, y, w, h) in enumerate(gt)]
    dets += [((b[0] + 5, b[1] + 5, b[2], b[3]), 0.55) for b in gt[:10]]  # duplicates: false positives
    whole = match(gt, dets, 20).scored
    for threshold in (0.6, 0.75, 0.85):
        assert match(gt, [d for d in dets if d[1] >= threshold], 20).scored == [s for s in whole if s[0] >= threshold]


def test_the_curve_reproduces_a_run_at_a_higher_threshold(faces_dev):
    """YuNet run down to 0.3: the curve's point at 0.7 is exactly YuNet run at 0.7 on the same photos."""
    annotations = faces_dev / "annotations.json"
    low = evaluate(yunet_finder(BUNDLED_MODEL, 0.3), faces_dev, annotations, half="a", limit=12, keep_scored=True)
    high = evaluate(yunet_finder(BUNDLED_MODEL, 0.7), faces_dev, annotations, half="a", limit=12)
    point = at_threshold(curve(low["scored"], low["faces"]), 0.7)
    assert point is not None and high["hits"] > 10
    assert (point.hits, point.false_positives) == (high["hits"], high["false_positives"])
    assert low["detections"] > high["detections"]  # the lower floor kept more: two different runs compared
    # the operating point at 0.7 from the low run is the high run's
    cut = evaluate(
        yunet_finder(BUNDLED_MODEL, 0.3),
        faces_dev,
        annotations,
        half="a",
        limit=12,
        operating=lambda face: face.confidence >= 0.7,
    )
    assert (cut["hits"], cut["false_positives"]) == (high["hits"], high["false_positives"])
    assert cut["curve"]["average_precision"] == low["curve"]["average_precision"]
