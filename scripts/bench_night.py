#!/usr/bin/env python3
"""What a dark 1080p frame costs against an ordinary one, with enhancement on (issue 17's cost target).

Usage: python scripts/bench_night.py [--models night-a,...] [--frames 8] [--repeats 3] [--video] [--json FILE]

Frames of the busy clip (facenet_pytorch_video.mp4, 1920x1080, people walking) are searched by the
face finder with ``--enhance auto``: as they are (the ordinary frame: bright, so enhancement does
nothing) and darkened by each night model (the dark frame: searched as it is and in its enhanced
view, candidates checked by ONet). Rounds are interleaved so that the machine's noise falls on both
alike; the figure is the median over frames and rounds, and the ratio dark / ordinary per model.

``--video``: dark frames as video has them (issue 26): each is denoised with the 4 frames before it,
each darkened with its own noise, and searched as a denoised frame; its time is the denoising's plus
the search's (in the pipeline the denoising runs in the decoding thread, beside the detector).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BUSY = REPO.parent / "shared" / "data" / "videos" / "facenet_pytorch_video.mp4"


def main() -> None:
    import cv2

    from appliance.detect import Detector
    from appliance.evaluation import degrade
    from appliance.pipeline.denoise import NEIGHBOURS, denoise, luma
    from appliance.pipeline.finder import FaceFinder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(degrade.NIGHT_MODELS))
    parser.add_argument("--frames", type=int, default=8, help="frames taken evenly from the clip")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backend", default="tflite")
    parser.add_argument("--video", action="store_true", help="dark frames denoised with their neighbours")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    capture = cv2.VideoCapture(str(BUSY))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = []
    before: dict[int, list] = {}
    reach = NEIGHBOURS if args.video else 0
    for index in range(reach, count, max((count - reach) // args.frames, 1))[: args.frames]:
        capture.set(cv2.CAP_PROP_POS_FRAMES, index - reach)
        read = [capture.read() for _ in range(reach + 1)]
        if all(ok for ok, _ in read):
            frames.append((index, read[-1][1]))
            before[index] = [f for _, f in read[:-1]]
    models = args.models.split(",")
    dark = {m: [degrade.apply(f, [m], f"frame-{i}", 0) for i, f in frames] for m in models}
    neighbours = {
        m: [
            [luma(degrade.apply(f, [m], f"frame-{i - reach + k}", 0)) for k, f in enumerate(before[i])]
            for i, _ in frames
        ]
        for m in models
    }

    def search(label: str, k: int, image) -> None:
        if label == "ordinary" or not args.video:
            finder.find(image)
        else:
            finder.find(denoise(image, neighbours[label][k]), denoised=True)

    finder = FaceFinder(Detector(args.backend, 20.0, 1), "auto")
    finder.find(frames[0][1])  # warm up the nets
    times: dict[str, list[float]] = {"ordinary": [], **{m: [] for m in models}}
    for _ in range(args.repeats):
        for k, (_, frame) in enumerate(frames):
            for label, image in (("ordinary", frame), *((m, dark[m][k]) for m in models)):
                started = time.perf_counter()
                search(label, k, image)
                times[label].append(time.perf_counter() - started)
    ordinary = statistics.median(times["ordinary"])
    result = {
        "video": args.video,
        "frames": len(frames),
        "repeats": args.repeats,
        "ordinary_ms": round(ordinary * 1000, 1),
        "dark": {},
    }
    print(f"ordinary 1080p frame: {ordinary * 1000:.0f} ms (median of {len(times['ordinary'])})")
    for model in models:
        median = statistics.median(times[model])
        result["dark"][model] = {"ms": round(median * 1000, 1), "ratio": round(median / ordinary, 2)}
        print(f"{model}: {median * 1000:.0f} ms = {median / ordinary:.2f}x an ordinary frame")
    ratios = [r["ratio"] for r in result["dark"].values()]
    result["median_ratio"] = statistics.median(ratios)
    print(f"median over the models: {result['median_ratio']:.2f}x (target <= 3x)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
