#!/usr/bin/env python3
"""Benchmark the pipeline against the original every-frame loop and against the decode limit.

Usage: python scripts/bench.py [--json FILE] [--backends tflite,tf] [--sample bench-out/cctv_sample.mp4]

A benchmark, not a test. Everything is measured in the same run, so the ratios hold on this noisy
machine even when the absolute figures drift:

- busy footage (facenet_pytorch_video.mp4, 1080p, 9 people): the original loop (mtcnn on every
  frame, keep confidence >= 0.99, save every crop) against `appliance extract` with default settings;
  wall time, crops, and tracks (for the original loop, its detections run through our tracker, an
  upper bound on the distinct people it saw);
- the static clip (scripts/make_cctv_sample.py, made if missing): seconds of footage per second of
  wall time, next to OpenCV decoding the same file alone;
- peak RSS of the extract process, and its growth from the first to the last minute of the static
  clip. Each measurement runs in a fresh process; wall times exclude the Python imports (TensorFlow's
  ~4 s), include loading the detector.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
BUSY = SHARED / "videos" / "facenet_pytorch_video.mp4"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


def child_original(video: str) -> dict:
    """The original script's loop, measured: every frame, every detection >= 0.99 saved."""
    import cv2
    from mtcnn import MTCNN

    sys.path.insert(0, str(REPO))
    from appliance.detect import Face
    from appliance.pipeline.quality import score
    from appliance.pipeline.track import Sighting, Tracker

    out = Path(tempfile.mkdtemp(prefix="original-"))
    started = time.perf_counter()
    detector = MTCNN()
    cap = cv2.VideoCapture(video)
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    crops = frames = 0
    tracker = Tracker()
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        sightings = []
        for found in detector.detect_faces(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)):
            if found["confidence"] >= 0.99:
                x, y, w, h = found["box"]
                cv2.imwrite(str(out / f"face-{crops}.jpg"), frame[max(y, 0) : y + h, max(x, 0) : x + w])
                crops += 1
                face = Face((x, y, w, h), found["confidence"], tuple(tuple(v) for v in found["keypoints"].values()))
                sightings.append(Sighting(frames, frames / fps, face, score(face, frame)))
        tracker.update(sightings, frames / fps)
        frames += 1
    wall = time.perf_counter() - started
    tracks = [t for t in tracker.close() if t.detections >= 2]
    return {
        "wall_s": round(wall, 2),
        "frames": frames,
        "crops": crops,
        "tracks": len(tracks),
        "ms_per_frame": round(wall / frames * 1000, 1),
        "peak_rss_mb": round(_peak()),
    }


def child_extract(video: str, backend: str) -> dict:
    sys.path.insert(0, str(REPO))
    from appliance.pipeline.extract import Extractor
    from appliance.settings import ExtractSettings

    marks: dict[str, float] = {}

    def progress(state) -> None:
        if state.frame is not None and state.frame.time_s >= 60 and "rss_first_minute_mb" not in marks:
            marks["rss_first_minute_mb"] = round(rss_mb(), 1)

    out = Path(tempfile.mkdtemp(prefix="extract-"))
    started = time.perf_counter()
    extractor = Extractor(ExtractSettings(backend=backend))
    result = extractor.run(video, out, progress=progress)
    wall = time.perf_counter() - started
    manifest = result.manifest.model_dump()
    stats = manifest["stats"]
    data = {
        "wall_s": round(wall, 2),
        "backend": manifest["backend"],
        "tracks": result.tracks,
        "crops": result.tracks,
        "duration_s": manifest["source"]["duration_s"],
        "frames_analysed": stats["frames_analysed"],
        "frames_full": stats["frames_full_detection"],
        "frames_regions": stats["frames_region_detection"],
        "frames_skipped": stats["frames_skipped_still"],
        "rss_end_mb": round(rss_mb(), 1),
        "peak_rss_mb": round(_peak()),
        **marks,
    }
    if "rss_first_minute_mb" in marks:
        data["rss_growth_pct"] = round((data["rss_end_mb"] / marks["rss_first_minute_mb"] - 1) * 100, 1)
    return data


def child_decode(video: str) -> dict:
    import cv2

    cap = cv2.VideoCapture(video)
    started = time.perf_counter()
    frames = 0
    while cap.read()[0]:
        frames += 1
    return {"wall_s": round(time.perf_counter() - started, 2), "frames": frames}


def _peak() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(*args: str) -> dict | None:
    proc = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"  {args[0]} {args[-1]}: failed: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--backends", default="tflite,tf")
    parser.add_argument("--sample", type=Path, default=REPO / "bench-out" / "cctv_sample.mp4")
    parser.add_argument("--repeats", type=int, default=3, help="runs per side on the busy clip (median)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        result = {"original": child_original, "extract": child_extract, "decode": child_decode}[kind](*rest)
        print(json.dumps(result))
        return
    if not args.sample.exists():
        print(f"making {args.sample} ...", file=sys.stderr)
        subprocess.run([sys.executable, str(REPO / "scripts" / "make_cctv_sample.py"), str(args.sample)], check=True)
    backends = [b for b in args.backends.split(",") if b]
    report: dict = {"busy": {}, "static": {}}
    # the busy clip is short: run each side several times, interleaved, and keep the median run
    runs: dict[str, list[dict]] = {"original": [], **{b: [] for b in backends}}
    for round_ in range(args.repeats):
        print(f"busy footage, round {round_ + 1}/{args.repeats} ...", file=sys.stderr)
        for name in runs:
            result = run_child("original", str(BUSY)) if name == "original" else run_child("extract", str(BUSY), name)
            if result:
                runs[name].append(result)
    for name, results in runs.items():
        if results:
            ordered = sorted(results, key=lambda r: r["wall_s"])
            report["busy"][name] = {**ordered[len(ordered) // 2], "wall_s_runs": [r["wall_s"] for r in results]}
    print("static clip: decode only ...", file=sys.stderr)
    report["static"]["decode"] = run_child("decode", str(args.sample))
    for backend in backends:
        print(f"static clip: extract ({backend}) ...", file=sys.stderr)
        report["static"][backend] = run_child("extract", str(args.sample), backend)

    original = report["busy"]["original"]
    print(f"\nBusy footage (facenet_pytorch_video.mp4, 1080p, 4.2 s, 105 frames, 9 people; median of {args.repeats})")
    print(f"{'run':<24}{'wall s':>9}{'x faster':>10}{'crops':>8}{'tracks':>8}{'peak MB':>9}")
    if original:
        print(
            f"{'original loop (tf)':<24}{original['wall_s']:>9}{'1.0':>10}{original['crops']:>8}"
            f"{original['tracks']:>8}{original['peak_rss_mb']:>9}"
        )
    for backend in backends:
        run = report["busy"].get(backend)
        if run:
            ratio = f"{original['wall_s'] / run['wall_s']:.1f}" if original else "-"
            print(
                f"{'appliance (' + backend + ')':<24}{run['wall_s']:>9}{ratio:>10}{run['crops']:>8}"
                f"{run['tracks']:>8}{run['peak_rss_mb']:>9}"
            )
    decode = report["static"]["decode"]
    print(f"\nStatic clip ({args.sample.name}, 1080p H.264, 300 s: 3 walking segments, the rest still)")
    print(
        f"{'run':<24}{'wall s':>9}{'x real time':>13}{'vs decode':>11}{'full/regions/skipped':>24}"
        f"{'peak MB':>9}{'RSS growth':>12}"
    )
    if decode:
        print(f"{'OpenCV decode only':<24}{decode['wall_s']:>9}{300 / decode['wall_s']:>13.1f}{'1.0':>11}")
    for backend in backends:
        run = report["static"].get(backend)
        if run:
            frames = f"{run['frames_full']}/{run['frames_regions']}/{run['frames_skipped']}"
            vs = f"{run['wall_s'] / decode['wall_s']:.2f}" if decode else "-"
            growth = f"{run.get('rss_growth_pct', '-')} %"
            speed = run["duration_s"] / run["wall_s"]
            print(
                f"{'appliance (' + backend + ')':<24}{run['wall_s']:>9}{speed:>13.1f}"
                f"{vs:>11}{frames:>24}{run['peak_rss_mb']:>9}{growth:>12}"
            )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
