#!/usr/bin/env python3
"""Fit the night check (appliance/pipeline/night_check.py) on tuning data and confirm it on held-out data.

Usage: python scripts/night_check_fit.py [--seed 0] [--write] [--jobs 2]

Every dev photo is darkened by every night model (appliance/evaluation/degrade.py); dark photos are
searched as the finder searches them (the plain frame, then its enhanced views at the night search
thresholds) and each candidate's features computed as the finder computes them. A candidate is a
face if it overlaps an annotated face by IoU >= 0.5.

- Fitted on: the tuning models (NIGHT_TUNING) x the even-numbered photos (sorted by name).
- Threshold: the one that wins back the most recall there with the mean precision change >= -0.02
  and no model's worse than -0.03.
- Confirmed on: the held-out models (NIGHT_HELD_OUT) and the odd-numbered photos, never seen while
  fitting or choosing: the four quadrants are reported apart.

``--write`` stores the weights, threshold and provenance in appliance/pipeline/night_check.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import pickle
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEV = REPO.parent / "shared" / "data" / "faces-dev"
THRESHOLDS = [round(t, 2) for t in np.arange(0.5, 0.96, 0.05)]
L2 = 30.0  # ridge penalty on the standardised weights: chosen against 1 and 300 (docs/detection-quality.md)


@dataclass
class Photo:
    name: str
    half: int  # 0: even-numbered (tuning), 1: odd-numbered (held out)
    plain: list  # faces found in the plain frame
    candidates: list  # faces found in the enhanced views
    rows: np.ndarray  # their features
    labels: np.ndarray  # their truth (overlaps an annotated face)


def collect(model: str, seed: int) -> list[Photo]:
    """Plain detections, enhanced-view candidates and their features on every photo under ``model``."""
    import cv2

    from appliance.detect import Detector
    from appliance.detect.boxes import iou_matrix
    from appliance.evaluation import degrade
    from appliance.pipeline import enhance, night_check
    from appliance.pipeline.finder import NIGHT_SEARCH_THRESHOLDS

    detector = Detector("tflite", 20.0, 1)
    search = detector.with_thresholds(NIGHT_SEARCH_THRESHOLDS)
    annotations = json.loads((DEV / "annotations.json").read_text())
    photos = []
    for index, name in enumerate(sorted(annotations)):
        image = cv2.imread(str(DEV / name))
        image = degrade.apply(image, [model], name, seed) if model else image
        views = enhance.views(image, "auto")
        candidates = [] if views is None else [f for found in search.detect_batch(views.search) for f in found]
        rows, labels = np.empty((0, len(night_check.FEATURES))), np.empty(0, dtype=bool)
        if candidates and views is not None:
            rows = night_check.features(detector, image, views.table, views.search, candidates)
            truth = np.array([[x, y, x + w, y + h] for x, y, w, h in annotations[name]], dtype=np.float64)
            boxes = np.array([f.xyxy for f in candidates], dtype=np.float64)
            labels = iou_matrix(boxes, truth).max(axis=1) >= 0.5 if len(truth) else np.zeros(len(boxes), bool)
        photos.append(Photo(name, index % 2, detector.detect(image), candidates, rows, labels))
    return photos


def fit(rows: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
    """Ridge-penalised logistic regression at this script's penalty (``L2``)."""
    from appliance.evaluation.logistic import fit_logistic

    return fit_logistic(rows, labels, L2)


def score(photos: list[Photo], keep_fn) -> tuple[float, float, float, float]:
    """Recall and precision with and without the kept candidates (hits, detections over cared faces)."""
    from appliance.detect import remove_duplicates
    from appliance.evaluation.detection import match

    annotations = json.loads((DEV / "annotations.json").read_text())
    hits = detections = faces = plain_hits = plain_detections = 0
    for photo in photos:
        keep = keep_fn(photo.rows) if photo.candidates else []
        kept = [f for f, k in zip(photo.candidates, keep, strict=True) if k]
        found = remove_duplicates(photo.plain + kept)
        m = match(annotations[photo.name], [(f.box, f.confidence) for f in found], 20.0)
        p = match(annotations[photo.name], [(f.box, f.confidence) for f in photo.plain], 20.0)
        hits, detections, faces = hits + m.hits, detections + m.detections, faces + m.faces
        plain_hits, plain_detections = plain_hits + p.hits, plain_detections + p.detections
    return (hits / faces, hits / max(detections, 1), plain_hits / faces, plain_hits / max(plain_detections, 1))


def quadrant(data: dict, models: tuple[str, ...], half: int, keep_fn) -> dict:
    """Won back and precision change per model, on one half of the photos."""
    out = {}
    clean_recall = score([p for p in data[""] if p.half == half], lambda rows: np.zeros(len(rows), bool))[2]
    for model in models:
        recall, precision, plain_recall, plain_precision = score([p for p in data[model] if p.half == half], keep_fn)
        lost = clean_recall - plain_recall
        out[model] = {
            "won_back": round((recall - plain_recall) / lost if lost > 0 else 0.0, 3),
            "precision_change": round(precision - plain_precision, 4),
        }
    return out


def main() -> None:
    from appliance.evaluation.degrade import NIGHT_HELD_OUT, NIGHT_TUNING
    from appliance.pipeline import night_check

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--cache", type=Path, help="keep the collected candidates here (pickle) and reuse them")
    args = parser.parse_args()

    if args.cache and args.cache.exists():
        data = pickle.loads(args.cache.read_bytes())
    else:
        models = ("", *NIGHT_TUNING, *NIGHT_HELD_OUT)  # "": the clean photos, for the recall they lose
        with ProcessPoolExecutor(args.jobs) as pool:
            data = dict(zip(models, pool.map(collect, models, [args.seed] * len(models)), strict=True))
        if args.cache:
            args.cache.write_bytes(pickle.dumps(data))
    tuning = [p for m in NIGHT_TUNING for p in data[m] if p.half == 0 and len(p.rows)]
    rows, labels = np.vstack([p.rows for p in tuning]), np.concatenate([p.labels for p in tuning])
    weights, bias = fit(rows, labels)
    print(f"fitted on {len(labels)} candidates ({int(labels.sum())} faces) of {NIGHT_TUNING} x even photos")

    def keeper(threshold: float):
        check = night_check.NightCheck(tuple(weights), bias, threshold)
        return lambda r: check.keep(r) if len(r) else np.zeros(0, bool)

    choices = []
    for threshold in THRESHOLDS:
        q = quadrant(data, NIGHT_TUNING, 0, keeper(threshold))
        won = statistics.mean(v["won_back"] for v in q.values())
        change = statistics.mean(v["precision_change"] for v in q.values())
        worst = min(v["precision_change"] for v in q.values())
        choices.append({"threshold": threshold, "won_back": round(won, 3), "precision_change": round(change, 4),
                        "worst_precision_change": worst})  # fmt: skip
        print(f"threshold {threshold:.2f}: won back {won:.1%}, precision {change:+.4f} (worst {worst:+.4f})")
    allowed = [c for c in choices if c["precision_change"] >= -0.02 and c["worst_precision_change"] >= -0.03]
    chosen = max(allowed or choices[-1:], key=lambda c: c["won_back"])["threshold"]
    print(f"chosen threshold {chosen:.2f}")
    report = {}
    for label, group, half in (
        ("tuning models, tuning photos", NIGHT_TUNING, 0),
        ("tuning models, held-out photos", NIGHT_TUNING, 1),
        ("held-out models, tuning photos", NIGHT_HELD_OUT, 0),
        ("held-out models, held-out photos", NIGHT_HELD_OUT, 1),
    ):
        report[label] = quadrant(data, group, half, keeper(chosen))
        cells = " ".join(f"{m}: {v['won_back']:.0%} / {v['precision_change']:+.3f}" for m, v in report[label].items())
        print(f"{label:34s} {cells}")
    if args.write:
        night_check.WEIGHTS_FILE.write_text(json.dumps({
            "features": list(night_check.FEATURES),
            "weights": [round(float(w), 6) for w in weights],
            "bias": round(bias, 6),
            "threshold": chosen,
            "fitted_on": {"models": list(NIGHT_TUNING), "photos": "even-numbered dev photos (sorted by name)",
                          "seed": args.seed, "candidates": len(labels), "faces": int(labels.sum()), "l2": L2,
                          "date": datetime.date.today().isoformat()},
            "threshold_choices": choices,
            "confirmation": report,
        }, indent=2) + "\n")  # fmt: skip
        print(f"written to {night_check.WEIGHTS_FILE}")


if __name__ == "__main__":
    main()
