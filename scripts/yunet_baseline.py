#!/usr/bin/env python3
"""YuNet beside the appliance's MTCNN on the same photos, the same matching and the same 1080p frames.

Usage: python scripts/yunet_baseline.py [--model FILE] [--half a|b] [--scores 0.6,0.7,0.8]
       [--backend tflite] [--no-mtcnn] [--no-timing] [--json FILE]

Both detectors are matched as ``appliance eval`` matches (IoU 0.5, faces under the minimum face size
don't-care), with their recall/precision curves and average precision, YuNet at a few score
thresholds, MTCNN at its operating point, and MTCNN's recall at each YuNet point's precision. Then
each searches the same 1080p frames of the busy clip on one thread, interleaved (median ms).

The model: ``--model`` (checked against the known sha256s in appliance/evaluation/yunet.py),
by default bench-out/yunet/face_detection_yunet_2023mar.onnx if it is there, else the int8 copy in
models/yunet/ (models/yunet/SOURCES.md says where each comes from).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import cv2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from appliance.evaluation.curve import CurvePoint, at_threshold, curve, recall_at_precision  # noqa: E402
from appliance.evaluation.detection import evaluate  # noqa: E402
from appliance.evaluation.frame_cost import BUSY_CLIP, frames_of, ms_per_frame  # noqa: E402
from appliance.evaluation.yunet import BUNDLED_MODEL, identify, yunet_finder  # noqa: E402

if TYPE_CHECKING:
    from appliance.detect import Detector

DEV = REPO.parent / "shared" / "data" / "faces-dev"
FP32_MODEL = REPO / "bench-out" / "yunet" / "face_detection_yunet_2023mar.onnx"
MTCNN_FLOOR = 0.05  # where MTCNN's curve starts: the judge's probability (or ONet's confidence without one)


def default_model() -> Path:
    return FP32_MODEL if FP32_MODEL.exists() else BUNDLED_MODEL


def points_of(result: dict) -> list[CurvePoint]:
    """The full curve again from an evaluation (its report keeps only a thinned copy)."""
    return curve(result["scored"], result["faces"])


def run(args: argparse.Namespace) -> dict:
    cv2.setNumThreads(1)
    images, annotations = Path(args.images), Path(args.annotations)
    model = identify(args.model)
    report: dict = {"model": model, "half": args.half or "all", "yunet": {}, "mtcnn": None, "mtcnn_without_judge": None}
    yunet = yunet_finder(args.model)
    found = evaluate(yunet, images, annotations, args.min_face, half=args.half, keep_scored=True)
    yunet_points = points_of(found)
    report["yunet"]["curve"] = found["curve"]
    report["yunet"]["ms_per_image"] = found["ms_per_image"]
    scores = [float(v) for v in args.scores.split(",")]
    report["yunet"]["at_score"] = {f"{s:g}": _row(at_threshold(yunet_points, s)) for s in scores}
    finders = {"yunet": yunet}
    if not args.no_mtcnn:
        from appliance.detect import Detector

        product = Detector(args.backend, args.min_face, threads=1)
        without_judge = product.without_judge()
        for key, mtcnn in (("mtcnn", product), ("mtcnn_without_judge", without_judge)):
            report[key] = mtcnn_report(mtcnn, args, report["yunet"]["at_score"])
            finders[key] = mtcnn.detect
    if not args.no_timing:
        report["ms_per_1080p_frame"] = ms_per_frame(finders, frames_of(BUSY_CLIP), args.repeats)
    return report


def mtcnn_report(mtcnn: Detector, args: argparse.Namespace, yunet_points: dict) -> dict:
    """MTCNN's operating point and curve (down to MTCNN_FLOOR of what ranks its faces), and its recall at
    the precision of each YuNet point."""
    images, annotations = Path(args.images), Path(args.annotations)
    swept, operating = mtcnn.sweeping(MTCNN_FLOOR)
    result = evaluate(
        swept.detect,
        images,
        annotations,
        args.min_face,
        half=args.half,
        operating=operating,
        keep_scored=True,
    )
    points = points_of(result)
    return {
        "backend": mtcnn.backend,
        "judge": mtcnn.settings.judge,
        "operating_point": {k: result[k] for k in ("recall", "precision", "hits", "faces", "false_positives")},
        "curve": result["curve"],
        "at_yunet_precision": {
            s: _row(recall_at_precision(points, row["precision"])) if row else None for s, row in yunet_points.items()
        },
    }


def _row(point: CurvePoint | None) -> dict | None:
    if point is None:
        return None
    return {
        "threshold": round(point.threshold, 4),
        "recall": round(point.recall, 4),
        "precision": round(point.precision, 4),
    }


def print_report(report: dict) -> None:
    print(f"YuNet: {report['model']}; photos: {report['half']}")
    print(f"  average precision {report['yunet']['curve']['average_precision']:.3f}")
    keys = [k for k in ("mtcnn", "mtcnn_without_judge") if report.get(k)]
    for score, row in report["yunet"]["at_score"].items():
        line = f"  score {score}: recall {row['recall']:.3f} precision {row['precision']:.3f}" if row else ""
        for key in keys:
            if other := report[key]["at_yunet_precision"].get(score):
                line += f"   {key} at that precision: recall {other['recall']:.3f}"
        print(line)
    for key in keys:
        op = report[key]["operating_point"]
        print(
            f"{key} ({report[key]['backend']}): operating point recall {op['recall']:.3f} precision "
            f"{op['precision']:.3f}; average precision {report[key]['curve']['average_precision']:.3f}"
        )
    if "ms_per_1080p_frame" in report:
        costs = ", ".join(f"{k} {v:.0f} ms" for k, v in report["ms_per_1080p_frame"].items())
        print(f"one 1080p frame, one thread (median): {costs}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_model())
    parser.add_argument("--images", default=str(DEV))
    parser.add_argument("--annotations", default=str(DEV / "annotations.json"))
    parser.add_argument("--half", choices=["a", "b"])
    parser.add_argument("--min-face", type=float, default=20.0)
    parser.add_argument("--scores", default="0.6,0.7,0.8", help="YuNet score thresholds to report")
    parser.add_argument("--backend", default="tflite", help="MTCNN's backend: tflite or tf")
    parser.add_argument("--no-mtcnn", action="store_true", help="YuNet only")
    parser.add_argument("--no-timing", action="store_true", help="skip the 1080p timing")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()
    report = run(args)
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
