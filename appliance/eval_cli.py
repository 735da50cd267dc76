"""``appliance eval``: detection recall and precision on annotated photos."""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help="measure detection recall/precision against annotated photos")
    p.add_argument("--images", required=True, help="folder of photos")
    p.add_argument("--annotations", required=True, help="JSON: {image name: [[x, y, w, h], ...]}")
    p.add_argument("--backend", choices=["auto", "tf", "tflite", "reference"], default="auto",
                   help="'reference': the mtcnn package's own detect_faces, for comparison")  # fmt: skip
    p.add_argument("--min-face", type=float, default=20.0, dest="min_face")
    p.add_argument("--degrade", help="comma-separated: dark, noise, blur, jpeg, lowres")
    p.add_argument("--enhance", default="off", help="auto, off, stretch, clahe, gamma (default off)")
    p.add_argument("--upscale", type=float, default=1.0, help="run on the frame enlarged this much")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, help="only the first N images")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_eval)


def reference_finder(min_face: float):
    """The mtcnn package's detect_faces as the original script called it (RGB, default thresholds)."""
    import cv2

    from .detect.cascade import Face
    from .detect.quiet import native_stderr_captured

    with native_stderr_captured():
        from mtcnn import MTCNN

        model = MTCNN()

    def find(image):
        found = model.detect_faces(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), min_face_size=int(min_face),
                                   output_type="numpy")  # fmt: skip
        return [Face((float(r[1]), float(r[2]), float(r[3]), float(r[4])), float(r[5])) for r in found]

    return find


def cmd_eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .evaluation import evaluate

    if args.backend == "reference":
        find, backend = reference_finder(args.min_face), "reference (mtcnn package)"
    else:
        from .detect import Detector
        from .finder import FaceFinder

        finder = FaceFinder(Detector(args.backend, args.min_face), args.enhance, args.upscale)
        find, backend = finder.find, finder.backend
    result = evaluate(find, Path(args.images), Path(args.annotations), args.min_face, args.degrade,
                      args.seed, args.limit)  # fmt: skip
    result.update(backend=backend, enhance=args.enhance, upscale=args.upscale)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"backend {backend}, min face {args.min_face:g}, degrade {result['degrade']}, enhance {args.enhance}, "
          f"upscale {args.upscale:g}")  # fmt: skip
    print(f"recall {result['recall']:.3f}  precision {result['precision']:.3f}  "
          f"({result['hits']} of {result['faces']} faces, {result['false_positives']} false positives, "
          f"{result['ms_per_image']:.0f} ms/image)")  # fmt: skip
    for subset, data in result.get("subsets", {}).items():
        if data["recall"] is not None:
            print(f"  {subset}: recall {data['recall']:.3f} of {data['faces']}")
    small = result["small_faces_12_20"]
    if small["recall"] is not None:
        print(f"  faces of 12-20 px: {small['found']} of {small['faces']} found")
    sys.stdout.flush()
    return 0
