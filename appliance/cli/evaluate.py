"""``appliance eval``: detection recall and precision on annotated photos."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .common import Subparsers, add_settings, settings_of


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("eval", help="measure detection recall/precision against annotated photos")
    p.add_argument("--images", required=True, help="folder of photos")
    p.add_argument("--annotations", required=True, help="JSON: {image name: [[x, y, w, h], ...]}")
    p.add_argument(
        "--reference",
        action="store_true",
        help="run the mtcnn package's own detect_faces instead of the appliance, for comparison",
    )
    p.add_argument("--degrade", help="comma-separated: dark, noise, blur, jpeg, lowres")
    p.add_argument("--seed", type=int, default=0, help="seed of the random degradations (noise)")
    p.add_argument("--limit", type=int, help="only the first N images")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_settings(p, "eval")
    p.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    from ..evaluation.detection import evaluate

    extract = settings_of(args).settings.extract
    if args.reference:
        from ..evaluation.reference import reference_finder

        find, backend = reference_finder(extract.min_face), "reference (mtcnn package)"
    else:
        from ..detect import Detector
        from ..pipeline.finder import FaceFinder

        finder = FaceFinder(
            Detector(extract.backend, extract.min_face, extract.threads), extract.enhance, extract.upscale
        )
        find, backend = finder.find, finder.backend
    result = evaluate(
        find, Path(args.images), Path(args.annotations), extract.min_face, args.degrade, args.seed, args.limit
    )
    result.update(backend=backend, enhance=extract.enhance, upscale=extract.upscale)
    if args.json:
        print(json.dumps(result))
    else:
        print_report(result, extract.min_face)
    sys.stdout.flush()
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
