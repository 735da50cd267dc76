#!/usr/bin/env python3
"""More from the cascade: which settings find more faces at YuNet's precision, and what each costs.

Usage: python scripts/recall_sweep.py [--variants NAME,...] [--backend tflite] [--repeats 3] [--json FILE]

For each variant of the cascade settings (VARIANTS below) the cascade runs on every dev photo with
ONet's last threshold lowered to FLOOR, so each variant yields a whole recall/precision curve. Each
variant is scored on the two fixed halves of the dev photos (``split_half``: a = the 1st, 3rd, ...
photo in sorted order, b = the others): recall at the precision YuNet (score 0.7) reaches on that
half, measured in the same run, and average precision. A rule is chosen on half a and confirmed on
half b.

The judge: a logistic model over what the cascade knows of each face (ONet's confidence, its
opinion of the mirrored face, the size, where ONet puts the landmarks), fitted on half a only and
scored on both halves by its probability instead of ONet's confidence.

Cost: each variant and today's settings search the same 1080p frames of the busy clip on one
thread, interleaved (median ms per frame, and the ratio to today's).
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from appliance.detect import Detector, Face  # noqa: E402
from appliance.detect.boxes import iou_matrix  # noqa: E402
from appliance.detect.judge import FEATURES as JUDGE_FEATURES  # noqa: E402
from appliance.detect.judge import WEIGHTS_FILE  # noqa: E402
from appliance.evaluation.curve import average_precision, curve, recall_at_precision  # noqa: E402
from appliance.evaluation.detection import match, split_half  # noqa: E402
from appliance.evaluation.frame_cost import BUSY_CLIP, frames_of, ms_per_frame  # noqa: E402
from appliance.evaluation.logistic import fit_logistic  # noqa: E402
from appliance.evaluation.yunet import BUNDLED_MODEL, yunet_finder  # noqa: E402

DEV = REPO.parent / "shared" / "data" / "faces-dev"
FP32_MODEL = REPO / "bench-out" / "yunet" / "face_detection_yunet_2023mar.onnx"
CACHE = REPO / "bench-out" / "recall_sweep"
FLOOR = 0.3  # ONet's last threshold while sweeping: the curve reaches down to it
MIN_FACE = 20.0
# the judge learns from faces of 12 px (MTCNN's smallest window) and more, not only from the evaluated
# 20: it judges faces of every size the cascade finds (upscaling brings 12-20 px faces in). Fitted
# from 20 px only it learnt that small means false and lost 1-6 of the 12-20 px faces found per half.
LABEL_MIN_FACE = 12.0
YUNET_SCORE = 0.7
OPERATING = 0.8  # ONet's last threshold today
# what a face ONet doubted (0.3-0.8) needs from the judge: set by hand, not fitted. With the fitted
# threshold alone (0.34) the judge also kept the back of a head on the busy clip (0.64 at 2.4 s), which
# split a walking boy's track; on half a this costs 0.012 of recall and gains 0.04 of precision.
DOUBTED = 0.7
L2 = 1.0

# name -> changes to today's CascadeSettings (min_face here is where the pyramid starts; faces are
# still evaluated from 20 px)
VARIANTS: dict[str, dict] = {
    "today": {},
    "scale 0.75": {"scale_factor": 0.75},
    "scale 0.8": {"scale_factor": 0.8},
    "search 18": {"min_face": 18.0},
    "search 16": {"min_face": 16.0},
    "pnet 0.5": {"thresholds": (0.5, 0.7, FLOOR)},
    "rnet 0.5": {"thresholds": (0.6, 0.5, FLOOR)},
    "pnet 0.5 rnet 0.5": {"thresholds": (0.5, 0.5, FLOOR)},
    "rnet 0.3": {"thresholds": (0.6, 0.3, FLOOR)},
    "nms pnet 0.8": {"nms_pnet": 0.8},
    "nms rnet 0.8": {"nms_rnet": 0.8},
    "nms onet 0.5": {"nms_onet": 0.5},
    "nms onet 0.85": {"nms_onet": 0.85},
}


@dataclass
class Photo:
    name: str
    gt: list[list[float]]
    faces: list[Face]
    features: np.ndarray  # one judge row per face


def settings_of(detector: Detector, changes: dict) -> Detector:
    """The cascade without its judge, ONet's last threshold at FLOOR, with ``changes``."""
    base = replace(detector.settings, thresholds=(*detector.settings.thresholds[:2], FLOOR), judge=False)
    return detector._with(replace(base, **changes))


def collect(detector: Detector, name: str, changes: dict) -> list[Photo]:
    """Every dev photo's faces down to FLOOR under one variant (cached in bench-out/)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    cached = CACHE / f"{name.replace(' ', '_')}.pkl"
    variant = settings_of(detector, changes)
    if cached.exists():
        photos: list[Photo] = pickle.loads(cached.read_bytes())
        if all(p.features.shape[1] == len(JUDGE_FEATURES) for p in photos if len(p.faces)):
            return photos
        for photo in photos:  # the judge's features changed: the faces stand, the features are made again
            photo.features = variant.judge_rows(cv2.imread(str(DEV / photo.name)), photo.faces)
    else:
        annotations = json.loads((DEV / "annotations.json").read_text())
        photos = []
        for image_name, gt in sorted(annotations.items()):
            image = cv2.imread(str(DEV / image_name))
            faces = variant.detect(image)
            photos.append(Photo(image_name, gt, faces, variant.judge_rows(image, faces)))
    cached.write_bytes(pickle.dumps(photos))
    return photos


def labels_of(photo: Photo) -> np.ndarray:
    """1 for a face on an annotated face of LABEL_MIN_FACE or more (IoU >= 0.5), 0 for one on nothing;
    -1: don't-care (not fitted)."""
    out = np.full(len(photo.faces), -1, dtype=np.int64)
    if not photo.faces:
        return out
    boxes = np.array([f.xyxy for f in photo.faces], float)
    gt = np.array([[x, y, x + w, y + h] for x, y, w, h in photo.gt], float).reshape(-1, 4)
    care = np.array([min(b[2], b[3]) >= LABEL_MIN_FACE for b in photo.gt], bool)
    iou = iou_matrix(boxes, gt) if len(gt) else np.zeros((len(boxes), 0))
    for i, face in enumerate(photo.faces):
        best = int(iou[i].argmax()) if iou.shape[1] else -1
        if best >= 0 and iou[i, best] >= 0.5:
            out[i] = 1 if care[best] else -1
        elif face.size >= LABEL_MIN_FACE:
            out[i] = 0
    return out


def fit(rows: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
    """Ridge-penalised logistic regression at this script's penalty (``L2``)."""
    return fit_logistic(rows, labels, L2)


def points(photos: list[Photo], scores_of) -> list:
    scored: list[tuple[float, bool]] = []
    faces = 0
    for photo in photos:
        scores = scores_of(photo)
        m = match(photo.gt, [(f.box, float(s)) for f, s in zip(photo.faces, scores, strict=True)], MIN_FACE)
        scored += m.scored
        faces += m.faces
    return curve(scored, faces)


def judged(photo: Photo, weights: np.ndarray, bias: float) -> np.ndarray:
    """The judge's probability for each face of ``photo``."""
    if not photo.faces:
        return np.zeros(0)
    return 1 / (1 + np.exp(-(photo.features @ weights + bias)))


def yunet_photos() -> list[Photo]:
    find = yunet_finder(FP32_MODEL if FP32_MODEL.exists() else BUNDLED_MODEL)
    annotations = json.loads((DEV / "annotations.json").read_text())
    out = []
    for image_name, gt in sorted(annotations.items()):
        out.append(Photo(image_name, gt, find(cv2.imread(str(DEV / image_name))), np.zeros((0, 0))))
    return out


def halves(photos: list[Photo]) -> dict[str, list[Photo]]:
    names = [p.name for p in photos]
    return {h: [p for p in photos if p.name in set(split_half(names, h))] for h in ("a", "b")}


def write_judge(detector: Detector, name: str, changes: dict) -> None:
    """Fit the judge on half a, choose its threshold there, write it beside the cascade.

    The threshold (for faces ONet approved of; doubted faces need DOUBTED) is the highest that still
    gives the best recall on half a: as many faces as the judge can find there, with as few false
    positives as that allows.
    """
    photos = halves(collect(detector, name, changes))
    rows = np.concatenate([p.features for p in photos["a"] if len(p.faces)])
    labels = np.concatenate([labels_of(p) for p in photos["a"]])
    weights, bias = fit(rows[labels >= 0], labels[labels >= 0])
    today = operating_point(photos["a"], lambda p: np.array([f.confidence > OPERATING for f in p.faces]))
    grid = [round(float(t), 2) for t in np.arange(0.05, DOUBTED + 1e-9, 0.01)]
    tried = {t: operating_point(photos["a"], lambda p, t=t: two_tier(p, weights, bias, t)) for t in grid}
    best = max(r for r, _ in tried.values())
    threshold = max(t for t, (r, _) in tried.items() if r == best)
    data = {
        "about": f"fitted by scripts/recall_sweep.py --write-judge '{name}' on half a of the dev photos; threshold: "
        f"the highest giving the best recall on half a with doubted_threshold {DOUBTED} (recall {today[0]:.4f} -> "
        f"{tried[threshold][0]:.4f}, precision {today[1]:.4f} -> {tried[threshold][1]:.4f}); doubted_threshold: "
        "what a face ONet rated below 0.8 needs, set by hand (scripts/recall_sweep.py, DOUBTED)",
        "features": list(JUDGE_FEATURES),
        "weights": [round(float(w), 6) for w in weights],
        "bias": round(float(bias), 6),
        "threshold": threshold,
        "doubted_threshold": DOUBTED,
        "floor": FLOOR,
    }
    WEIGHTS_FILE.write_text(json.dumps(data, indent=1) + "\n")
    print(data["about"])


def two_tier(photo: Photo, weights: np.ndarray, bias: float, threshold: float) -> np.ndarray:
    """Which faces the judge keeps: ONet-approved ones from ``threshold``, doubted ones from DOUBTED."""
    if not photo.faces:
        return np.zeros(0, dtype=bool)
    probability = judged(photo, weights, bias)
    approved = np.array([f.confidence > OPERATING for f in photo.faces])
    return np.where(approved, probability >= threshold, probability >= DOUBTED)


def operating_point(photos: list[Photo], keep) -> tuple[float, float]:
    """Recall and precision of the faces ``keep`` (a mask per photo) lets through."""
    hits = detections = faces = 0
    for photo in photos:
        mask = keep(photo)
        m = match(photo.gt, [(f.box, f.confidence) for f, k in zip(photo.faces, mask, strict=True) if k], MIN_FACE)
        hits, detections, faces = hits + m.hits, detections + m.detections, faces + m.faces
    return hits / max(faces, 1), hits / max(detections, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", help="comma-separated names (default: all)")
    parser.add_argument("--extra", help="JSON {name: {setting: value}} of more variants")
    parser.add_argument("--backend", default="tflite")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--write-judge",
        metavar="VARIANT",
        help="fit the judge on half a of VARIANT's faces and write appliance/detect/judge.json (threshold: the "
        "lowest whose precision on half a is at least that of today's operating point there)",
    )
    args = parser.parse_args()
    cv2.setNumThreads(1)
    variants = dict(VARIANTS)
    for name, changes in json.loads(args.extra or "{}").items():
        variants[name] = {k: tuple(v) if isinstance(v, list) else v for k, v in changes.items()}
    chosen = args.variants.split(",") if args.variants else list(variants)
    detector = Detector(args.backend, MIN_FACE, threads=1)
    if args.write_judge:
        write_judge(detector, args.write_judge, variants[args.write_judge])
        return
    yunet = halves(yunet_photos())
    target = {}
    for h, photos in yunet.items():
        pts = points(photos, lambda p: [f.confidence for f in p.faces])
        at = min((p for p in pts if p.threshold >= YUNET_SCORE), key=lambda p: p.threshold)
        target[h] = at
        print(f"YuNet score {YUNET_SCORE} half {h}: recall {at.recall:.3f} precision {at.precision:.3f}")
    frames = frames_of(BUSY_CLIP) if not args.no_timing else []
    report = {"yunet": {h: vars(p) for h, p in target.items()}, "variants": {}}
    print(
        "| variant | half | AP | recall at YuNet's precision | judge AP | judge's recall there | ms/1080p | x today |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name in chosen:
        photos = halves(collect(detector, name, variants[name]))
        rows = np.concatenate([p.features for p in photos["a"] if len(p.faces)])
        labels = np.concatenate([labels_of(p) for p in photos["a"]])
        weights, bias = fit(rows[labels >= 0], labels[labels >= 0])
        cost = {}
        if frames:
            cost = ms_per_frame(
                {"today": detector.detect, name: settings_of(detector, variants[name]).detect}, frames, args.repeats
            )
        entry: dict = {"changes": {k: list(v) if isinstance(v, tuple) else v for k, v in variants[name].items()}}
        for h in ("a", "b"):
            plain = points(photos[h], lambda p: [f.confidence for f in p.faces])
            judged_pts = points(photos[h], lambda p, w=weights, b=bias: judged(p, w, b))
            at = recall_at_precision(plain, target[h].precision)
            jat = recall_at_precision(judged_pts, target[h].precision)
            entry[h] = {
                "ap": round(average_precision(plain), 4),
                "recall_at_yunet_precision": round(at.recall, 4) if at else None,
                "judge_ap": round(average_precision(judged_pts), 4),
                "judge_recall_at_yunet_precision": round(jat.recall, 4) if jat else None,
                "judge_threshold": round(jat.threshold, 4) if jat else None,
            }
            ratio = cost[name] / cost["today"] if cost else float("nan")
            e = entry[h]
            print(
                f"| {name} | {h} | {e['ap']:.3f} | {e['recall_at_yunet_precision'] or 0:.3f} | {e['judge_ap']:.3f} | "
                f"{e['judge_recall_at_yunet_precision'] or 0:.3f} @{e['judge_threshold']} | "
                f"{cost.get(name, float('nan')):.0f} | {ratio:.2f} |",
                flush=True,
            )
        entry["judge"] = {"weights": weights.round(5).tolist(), "bias": round(bias, 5)}
        entry["ms_per_1080p"] = cost
        report["variants"][name] = entry
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
