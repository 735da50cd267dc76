#!/usr/bin/env python3
"""Benchmark the two net runners: ms per frame at three resolutions and two minimum face sizes,
and the peak memory of each backend's process. A benchmark, not a test: run it on a quiet machine.

Usage: python scripts/bench_backends.py [--video PATH] [--repeats 5] [--json FILE]

Each backend runs in its own fresh process (so peak RSS is that backend's alone), on the same
frames of the real footage resized to 640x480, 1280x720 and 1920x1080. Reported: the median of
``repeats`` timed runs per frame after one warm-up run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = REPO.parent / "shared" / "data" / "videos" / "facenet_pytorch_video.mp4"
SIZES = [(640, 480), (1280, 720), (1920, 1080)]
MIN_FACES = [20, 40]


def child(backend: str, video: str, repeats: int) -> dict:
    """Runs inside the per-backend process."""
    import resource

    import cv2

    sys.path.insert(0, str(REPO))
    from appliance.detect import Detector
    from appliance.pipeline.video import VideoSource

    with VideoSource(video) as source:
        frames = [f.image for f in source.frames(rate=1.0)][:3]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    detector = Detector(backend)
    load_s = time.perf_counter() - t0
    results = {}
    for min_face in MIN_FACES:
        det = detector.with_min_face(min_face)
        for width, height in SIZES:
            scaled = [cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in frames]
            det.detect(scaled[0])  # warm-up (allocations, tracing)
            times = []
            for _ in range(repeats):
                for frame in scaled:
                    t = time.perf_counter()
                    det.detect(frame)
                    times.append((time.perf_counter() - t) * 1000)
            results[f"{width}x{height}/min{min_face}"] = round(statistics.median(times), 1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "backend": detector.backend,
        "load_s": round(load_s, 2),
        "ms_per_frame": results,
        "peak_rss_mb": round(peak),
        "rss_before_detector_mb": round(rss_before),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", default=str(DEFAULT_VIDEO))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.video, args.repeats)))
        return
    runs = {}
    for backend in ("tf", "tflite"):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", backend, "--video", args.video, "--repeats", str(args.repeats)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            print(f"{backend}: not available ({proc.stderr.strip().splitlines()[-1:]})", file=sys.stderr)
            continue
        runs[backend] = json.loads(proc.stdout.strip().splitlines()[-1])
    keys = [f"{w}x{h}/min{m}" for m in MIN_FACES for w, h in SIZES]
    print(f"{'frame / min face':<22}" + "".join(f"{b + ' ms':>12}" for b in runs) + f"{'tf/tflite':>12}")
    for key in keys:
        row = f"{key:<22}" + "".join(f"{runs[b]['ms_per_frame'][key]:>12.1f}" for b in runs)
        if len(runs) == 2:
            row += f"{runs['tf']['ms_per_frame'][key] / runs['tflite']['ms_per_frame'][key]:>11.2f}x"
        print(row)
    print(f"{'peak RSS (MB)':<22}" + "".join(f"{runs[b]['peak_rss_mb']:>12}" for b in runs))
    print(f"{'load (s)':<22}" + "".join(f"{runs[b]['load_s']:>12}" for b in runs))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
