"""``appliance eval``: detection recall and precision on annotated photos."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .common import Subparsers, add_settings, settings_of


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("eval", help="measure detection against annotated photos, or grouping on identity photos")
    p.add_argument("--images", help="folder of photos (detection)")
    p.add_argument("--annotations", help="JSON: {image name: [[x, y, w, h], ...]} (detection)")
    p.add_argument("--identities", type=Path, help="folder with labels.json and photos of known people (grouping)")
    p.add_argument("--face-px", default="24,32,48", help="CCTV face widths for --identities (default 24,32,48)")
    p.add_argument(
        "--reference",
        action="store_true",
        help="run the mtcnn package's own detect_faces instead of the appliance, for comparison",
    )
    p.add_argument(
        "--degrade",
        help="comma-separated, applied in order: dark, noise, blur, jpeg, lowres, or a night model night-a ... night-f "
        "(scripts/night_sweep.py runs them all)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random degradations (noise)")
    p.add_argument("--limit", type=int, help="only the first N images")
    p.add_argument("--half", choices=["a", "b"], help="only one fixed half of the photos (odd or even in sorted order)")
    p.add_argument(
        "--sweep-from",
        type=float,
        metavar="CONFIDENCE",
        help="let faces through from this score (the final judge's probability; ONet's confidence without a "
        "judge) so that the recall/precision curve reaches below the operating point, which still counts only "
        "what the configured detector keeps; default: the curve above it",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_settings(p, "eval")
    p.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    if args.identities:
        return eval_identities(args)
    if not (args.images and args.annotations):
        print("appliance eval: give --images and --annotations (detection) or --identities (grouping)", file=sys.stderr)
        return 2
    from ..evaluation.detection import evaluate

    extract = settings_of(args).settings.extract
    operating = None  # with --sweep-from: which of the swept faces the configured detector keeps
    if args.reference:
        from ..evaluation.reference import reference_finder

        find, backend = reference_finder(extract.min_face), "reference (mtcnn package)"
    else:
        from ..detect import Detector
        from ..pipeline.finder import FaceFinder

        detector = Detector(extract.backend, extract.min_face, extract.threads)
        if args.sweep_from is not None:
            detector, operating = detector.sweeping(args.sweep_from)
        finder = FaceFinder(detector, extract.enhance, extract.upscale)
        find, backend = finder.find, finder.backend
    result = evaluate(
        find,
        Path(args.images),
        Path(args.annotations),
        extract.min_face,
        args.degrade,
        args.seed,
        args.limit,
        operating,
        args.half,
    )
    result.update(backend=backend, enhance=extract.enhance, upscale=extract.upscale)
    if args.json:
        print(json.dumps(result))
    else:
        print_report(result, extract.min_face)
    sys.stdout.flush()
    return 0


def eval_identities(args: argparse.Namespace) -> int:
    from ..detect import Detector
    from ..evaluation.identities import evaluate_identities
    from ..people.embed import FaceEmbedder

    settings = settings_of(args).settings
    sizes: list[int | None] = [None, *(int(v) for v in args.face_px.split(",") if v.strip())]
    detector = Detector(settings.extract.backend, settings.extract.min_face, settings.extract.threads)
    report = evaluate_identities(args.identities, sizes, settings.people.threshold, detector, FaceEmbedder())
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{report['faces_found']} of {report['images']} photos with a face; threshold {report['threshold']}")
    print(
        f"{'face px':>8} {'people':>7} {'clusters':>9} {'B3 F1':>7} {'pair P':>7} {'pair R':>7} {'TAR@1e-2':>9} "
        f"{'TAR@1e-3':>9}"
    )
    for row in report["sizes"]:
        tars = [row[k] if row[k] is not None else float("nan") for k in ("tar_at_far_1e-2", "tar_at_far_1e-3")]
        print(
            f"{row['face_px']!s:>8} {row['people']:>7} {row['clusters']:>9} {row['bcubed_f1']:>7.3f} "
            f"{row['pairwise_precision']:>7.3f} {row['pairwise_recall']:>7.3f} {tars[0]:>9.3f} {tars[1]:>9.3f}"
        )
    return 0


def print_report(result: dict[str, Any], min_face: float) -> None:
    print(
        f"backend {result['backend']}, min face {min_face:g}, degrade {result['degrade']}, "
        f"enhance {result['enhance']}, upscale {result['upscale']:g}"
    )
    print(
        f"recall {result['recall']:.3f}  precision {result['precision']:.3f}  "
        f"({result['hits']} of {result['faces']} faces, {result['false_positives']} false positives, "
        f"{result['ms_per_image']:.0f} ms/image)"
    )
    for subset, data in result.get("subsets", {}).items():
        if data["recall"] is not None:
            print(f"  {subset}: recall {data['recall']:.3f} of {data['faces']}")
    small = result["small_faces"]
    if small["recall"] is not None:
        print(f"  faces of {small['min_px']:g}-{small['max_px']:g} px: {small['found']} of {small['faces']} found")
    print_curve(result["curve"])


def print_curve(curve: dict[str, Any]) -> None:
    """The confidence sweep: average precision, recall at fixed precisions, then the curve itself."""
    print(f"curve: average precision {curve['average_precision']:.3f}", end="")
    if curve.get("lowest_confidence") is not None:
        print(f" (confidences down to {curve['lowest_confidence']:.3f})", end="")
    print()
    for level, point in curve["recall_at_precision"].items():
        if point is not None:
            print(f"  at precision >= {level}: recall {point['recall']:.3f} (confidence >= {point['threshold']:.4f})")
    print(f"  {'confidence':>10} {'recall':>7} {'precision':>9}")
    for point in curve["points"]:
        print(f"  {point['threshold']:>10.4f} {point['recall']:>7.3f} {point['precision']:>9.3f}")
