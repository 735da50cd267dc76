#!/usr/bin/env python3
"""Benchmark the pipeline against the original every-frame loop, the decoder, and the last release.

Usage: python scripts/bench.py [--json FILE] [--backends tflite,tf] [--baseline REV] [--repeats 3]
                               [--parts busy,minute,sample,hour,held] [--release REV]

A benchmark, not a test. Everything is measured in the same run, so the ratios hold on this noisy
machine even when the absolute figures drift. Each measurement runs in a fresh process; wall times
exclude the Python imports (TensorFlow's ~4 s) and include loading the detector.

- busy: facenet_pytorch_video.mp4 (1080p, 9 people, activity throughout): the original loop (mtcnn on
  every frame, every detection >= 0.99 saved), the appliance with the scan on and off, and the
  baseline release (``--baseline``, checked out in a worktree under bench-out/); median of repeats.
- sample: the 5-minute still-camera sample (3 walks; scripts/make_cctv_sample.py): decoding alone
  (OpenCV, PyAV), the appliance with the scan on and off, the baseline.
- hour: an hour of still 1080p footage (a still minute written 60 times end to end, each copy starting
  with a fresh encoder like a camera's next file): scan on, decoding alone.
- held: 5 minutes of people standing still after walking in: scan on and off, decoding alone.
- minute: a continuous minute of people walking (the walk forwards and backwards, 1080p, CRF, 2 s
  GOP): decoding alone, the reference (every analysed frame searched whole: scan off, no following),
  the appliance, and the last release (``--release``, checked out in a worktree); detections, tracks,
  people and where the time went (the manifest's ``stats.time_ms``).
The clips are made in bench-out/ if missing (minutes), never committed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
BUSY = SHARED / "videos" / "facenet_pytorch_video.mp4"
OUT = REPO / "bench-out"
BASELINE = "756d772"  # the release before the activity scan (OpenCV reader, every frame decoded)
RELEASE = "3df2d49"  # the last release before following tracked faces (round 3's starting point)
CLIPS = {
    "sample": ("cctv_sample.mp4", ["--seconds", "300"]),
    "still-minute": ("still_minute.mp4", ["--seconds", "60", "--walks", ""]),
    "hour": ("still_hour.mp4", ["--seconds", "60", "--walks", "", "--repeat", "60"]),
    "held": ("held_scene.mp4", ["--seconds", "300", "--walks", "", "--stay", "5:290"]),
    "minute": ("busy_minute.mp4", ["--seconds", "60", "--walks", "", "--busy"]),
}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


def _peak() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- children: one measurement each ------------------------------------------------------------------
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
        "peak_rss_mb": round(_peak()),
    }


def child_extract(
    video: str,
    backend: str,
    scan: str,
    people: str = "on",
    follow: str = "on",
    tree: str = str(REPO),
    threads: str = "",
) -> dict:
    """The appliance (of the checkout ``tree``: another release's, for comparison) on ``video``;
    ``threads``: the setting's value ('': its default)."""
    sys.path.insert(0, tree)
    from appliance.pipeline.extract import Extractor
    from appliance.settings import ExtractSettings, MotionSettings, PeopleSettings, ScanSettings

    out = Path(tempfile.mkdtemp(prefix="extract-"))
    started = time.perf_counter()
    motion = MotionSettings() if follow == "on" else MotionSettings(busy_full_every_s=0)
    extract = ExtractSettings(backend=backend, **({"threads": int(threads)} if threads else {}))
    extractor = Extractor(
        extract,
        motion=motion,
        scan=ScanSettings(enabled=scan == "on"),
        people=PeopleSettings(enabled=people == "on"),
    )
    result = extractor.run(video, out)
    wall = time.perf_counter() - started
    stats = result.manifest.stats
    return {
        "wall_s": round(wall, 2),
        "tracks": result.tracks,
        "crops": len(result.manifest.people),
        "people": len(result.manifest.people),
        "duration_s": result.manifest.source.duration_s,
        "frames_decoded": stats.frames_decoded,
        "frames_analysed": stats.frames_analysed,
        "searches": f"{stats.frames_full_detection}/{stats.frames_region_detection}/{stats.frames_skipped_still}",
        "followed": getattr(stats, "frames_follow_detection", 0),
        "detections": sum(t.detections for t in result.manifest.tracks),
        "time_ms": getattr(stats, "time_ms", {}),
        "scan": stats.scan.model_dump() if stats.scan else None,
        "track_times": [(t.first_s, t.last_s) for t in result.manifest.tracks],
        "peak_rss_mb": round(_peak()),
    }


def child_baseline(video: str, backend: str, worktree: str) -> dict:
    """The baseline release's extract, run from its own checkout (first on sys.path); a release with
    the pipeline package (round 2 on) runs as :func:`child_extract` does, with its default settings."""
    if (Path(worktree) / "appliance" / "pipeline" / "extract.py").exists():
        return child_extract(video, backend, "on", tree=worktree)
    sys.path.insert(0, worktree)
    from appliance.extract import Extractor, ExtractSettings  # type: ignore[import-not-found]

    out = Path(tempfile.mkdtemp(prefix="baseline-"))
    started = time.perf_counter()
    result = Extractor(ExtractSettings(backend=backend)).run(video, out)
    wall = time.perf_counter() - started
    stats = result.manifest["stats"]
    return {
        "wall_s": round(wall, 2),
        "tracks": result.tracks,
        "crops": result.tracks,
        "frames_decoded": stats["frames_decoded"],
        "peak_rss_mb": round(_peak()),
        "track_times": [(t["first_s"], t["last_s"]) for t in result.manifest["tracks"]],
    }


def child_decode(video: str, reader: str) -> dict:
    """Every frame decoded, nothing else: the floor of any decode-everything pipeline."""
    started = time.perf_counter()
    frames = 0
    if reader == "opencv":
        import cv2

        cap = cv2.VideoCapture(video)
        while cap.grab():
            frames += 1
    else:
        import av

        with av.open(video) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for _ in container.decode(stream):
                frames += 1
    return {"wall_s": round(time.perf_counter() - started, 2), "frames": frames}


def child_search(faces: str) -> dict:
    """Search by photo over an index of ``faces`` faces: the median of 20 queries."""
    import numpy as np

    sys.path.insert(0, str(REPO))
    from appliance.people.index import NewFace, PeopleIndex

    rng = np.random.default_rng(0)
    index = PeopleIndex(Path(tempfile.mkdtemp(prefix="people-")) / "people.sqlite", threshold=0.38)
    vectors = rng.normal(size=(int(faces), 128)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for start in range(0, len(vectors), 100):  # recordings of 100 people each
        batch = [
            NewFace(n + 1, n + 1, 0.0, 1.0, 0.5, f"r{start}/tracks/track-{n + 1:04d}.jpg", 0.5, v)
            for n, v in enumerate(vectors[start : start + 100])
        ]
        index.add_recording(f"r{start}", f"r{start}.mp4", batch)
    index.search(vectors[0])  # the first search loads the matrix
    times = []
    for query in vectors[rng.integers(0, len(vectors), 20)]:
        started = time.perf_counter()
        index.search(query, 10)
        times.append(time.perf_counter() - started)
    return {
        "faces": index.count()["faces"],
        "search_ms_median": round(1000 * float(np.median(times)), 2),
        "search_ms_max": round(1000 * max(times), 2),
    }


CHILDREN = {
    "original": child_original,
    "extract": child_extract,
    "baseline": child_baseline,
    "decode": child_decode,
    "search": child_search,
}


def run_child(*args: str, env: dict[str, str] | None = None) -> dict | None:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, env={**os.environ, **(env or {})}
    )
    if proc.returncode != 0:
        print(f"  {args[0]} {args[1:]}: failed: {proc.stderr.strip().splitlines()[-3:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- the parent: clips, runs, tables -------------------------------------------------------------------
def clip(name: str) -> Path:
    file, args = CLIPS[name]
    path = OUT / file
    if not path.exists():
        print(f"making {path} ...", file=sys.stderr)
        subprocess.run([sys.executable, str(REPO / "scripts" / "make_cctv_sample.py"), str(path), *args], check=True)
    return path


def baseline_worktree(rev: str) -> Path:
    path = OUT / f"baseline-{rev}"
    if not path.exists():
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), rev], check=True, capture_output=True
        )
    return path


def median_of(runs: list[dict]) -> dict | None:
    if not runs:
        return None
    ordered = sorted(runs, key=lambda r: r["wall_s"])
    return {**ordered[len(ordered) // 2], "wall_s_runs": [r["wall_s"] for r in runs]}


def measure(sides: dict[str, tuple[str, ...]], repeats: int) -> dict[str, dict | None]:
    """Each side ``repeats`` times, interleaved; the median run of each."""
    runs: dict[str, list[dict]] = {name: [] for name in sides}
    for round_ in range(repeats):
        for name, args in sides.items():
            print(f"  {name} ({round_ + 1}/{repeats}) ...", file=sys.stderr)
            result = run_child(*args)
            if result:
                runs[name].append(result)
    return {name: median_of(results) for name, results in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--backends", default="tflite,tf")
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with ('' for none)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per side on the short clips (median)")
    parser.add_argument("--parts", default="busy,sample,hour,held,search")
    parser.add_argument("--release", default=RELEASE, help="minute: the release to compare with ('' for none)")
    parser.add_argument("--skip-original", action="store_true", help="busy: leave out the original loop (slow)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        print(json.dumps(CHILDREN[kind](*rest)))
        return
    OUT.mkdir(exist_ok=True)
    backends = [b for b in args.backends.split(",") if b]
    worktree = str(baseline_worktree(args.baseline)) if args.baseline else ""
    report: dict = {"baseline": args.baseline}
    parts = args.parts.split(",")
    if "busy" in parts:
        sides = {} if args.skip_original else {"original (tf)": ("original", str(BUSY))}
        for backend in backends:
            sides[f"appliance ({backend})"] = ("extract", str(BUSY), backend, "on")
        sides["appliance, scan off (tflite)"] = ("extract", str(BUSY), "tflite", "off")
        sides["appliance, people off (tflite)"] = ("extract", str(BUSY), "tflite", "on", "off")
        if worktree:
            sides[f"baseline {args.baseline} (tflite)"] = ("baseline", str(BUSY), "tflite", worktree)
        if args.release:
            release = str(baseline_worktree(args.release))
            sides[f"release {args.release} (tflite)"] = ("extract", str(BUSY), "tflite", "on", "on", "on", release)
        print("busy footage ...", file=sys.stderr)
        report["busy"] = measure(sides, args.repeats)
        print_busy(report["busy"], args.repeats)
    if "minute" in parts:
        report["minute"] = bench_minute(backends, args.release, args.repeats)
    if "sample" in parts:
        path = str(clip("sample"))
        sides = {
            "decode only (OpenCV)": ("decode", path, "opencv"),
            "decode only (PyAV)": ("decode", path, "pyav"),
            "appliance, scan off (tflite)": ("extract", path, "tflite", "off"),
        }
        for backend in backends:
            sides[f"appliance ({backend})"] = ("extract", path, backend, "on")
        if worktree:
            sides[f"baseline {args.baseline} (tflite)"] = ("baseline", path, "tflite", worktree)
        print("5-minute sample ...", file=sys.stderr)
        report["sample"] = measure(sides, 1)
        print_table(
            "5-minute sample (cctv_sample.mp4, 1080p H.264, 300 s: 3 walks, the rest still)",
            report["sample"],
            "decode only (OpenCV)",
        )
    if "hour" in parts:
        path = str(clip("hour"))
        sides = {
            "decode only (OpenCV)": ("decode", path, "opencv"),
            "decode only (PyAV)": ("decode", path, "pyav"),
            "appliance (tflite)": ("extract", path, "tflite", "on"),
        }
        print("an hour of still footage ...", file=sys.stderr)
        report["hour"] = measure(sides, 1)
        print_table(
            "An hour of still footage (still_hour.mp4, 1080p H.264, 3600 s, nobody)",
            report["hour"],
            "decode only (OpenCV)",
        )
    if "held" in parts:
        path = str(clip("held"))
        sides = {
            "decode only (OpenCV)": ("decode", path, "opencv"),
            "appliance, scan off (tflite)": ("extract", path, "tflite", "off"),
            "appliance (tflite)": ("extract", path, "tflite", "on"),
        }
        print("held scene ...", file=sys.stderr)
        report["held"] = measure(sides, 1)
        print_table(
            "Held scene (held_scene.mp4, 1080p, 300 s: 9 people walk in at 5 s and stand still)",
            report["held"],
            "decode only (OpenCV)",
        )
    if "search" in parts:
        print("search by photo over 10,000 faces ...", file=sys.stderr)
        report["search"] = run_child("search", "10000")
        if report["search"]:
            found = report["search"]
            print(
                f"\nSearch by photo: {found['faces']} faces indexed, {found['search_ms_median']} ms per search "
                f"(median of 20; slowest {found['search_ms_max']} ms)"
            )
    print_costs(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))


def bench_minute(backends: list[str], release: str, repeats: int) -> dict[str, dict | None]:
    path = str(clip("minute"))
    sides: dict[str, tuple[str, ...]] = {
        "decode only (PyAV)": ("decode", path, "pyav"),
        "every frame searched (tflite)": ("extract", path, "tflite", "off", "on", "off"),
    }
    for backend in backends:
        sides[f"appliance ({backend})"] = ("extract", path, backend, "on")
    sides["appliance, 1 thread (tflite)"] = ("extract", path, "tflite", "on", "on", "on", str(REPO), "1")
    if release:
        tree = str(baseline_worktree(release))
        sides[f"release {release} (tflite)"] = ("extract", path, "tflite", "on", "on", "on", tree)
    print("a busy minute ...", file=sys.stderr)
    results = measure(sides, repeats)
    title = f"A busy minute (busy_minute.mp4, 1080p H.264 CRF, 60 s of people walking; median of {repeats})"
    print_table(title, results, "every frame searched (tflite)")
    reference = results.get("every frame searched (tflite)") or {}
    print(f"{'run':<32}{'detections':>11}{'of ref':>8}{'people':>8}{'full/follow':>13}  time (s) by step")
    for name, run in results.items():
        if run is None or "detections" not in run:
            continue
        share = f"{run['detections'] / reference['detections']:.0%}" if reference.get("detections") else "-"
        searches = f"{run['searches'].split('/')[0]}/{run['followed']}"
        steps = " ".join(f"{k} {v / 1000:.1f}" for k, v in run.get("time_ms", {}).items() if v >= 50)
        print(f"{name:<32}{run['detections']:>11}{share:>8}{run['people']:>8}{searches:>13}  {steps}")
    return results


def print_busy(results: dict[str, dict | None], repeats: int) -> None:
    original = results.get("original (tf)")
    print(f"\nBusy footage (facenet_pytorch_video.mp4, 1080p, 4.2 s, 105 frames, 9 people; median of {repeats})")
    print(f"{'run':<32}{'wall s':>9}{'x faster':>10}{'crops':>8}{'tracks':>8}{'peak MB':>9}")
    for name, run in results.items():
        if run is None:
            continue
        ratio = f"{original['wall_s'] / run['wall_s']:.1f}" if original else "-"
        print(f"{name:<32}{run['wall_s']:>9}{ratio:>10}{run['crops']:>8}{run['tracks']:>8}{run['peak_rss_mb']:>9}")


def print_table(title: str, results: dict[str, dict | None], reference: str) -> None:
    ref = results.get(reference)
    print(f"\n{title}")
    print(f"{'run':<32}{'wall s':>9}{'x real time':>13}{'vs decode':>11}{'decoded':>9}{'tracks':>8}  scan")
    for name, run in results.items():
        if run is None:
            continue
        duration = run.get("duration_s") or (results.get("appliance (tflite)") or {}).get("duration_s") or 0
        speed = f"{duration / run['wall_s']:.1f}" if duration else "-"
        versus = f"{ref['wall_s'] / run['wall_s']:.2f}x" if ref else "-"
        decoded = run.get("frames_decoded", run.get("frames", ""))
        scan = run.get("scan") or {}
        scan_text = f"{scan.get('mode')} {scan.get('active_s', 0):.0f} s active" if scan else ""
        print(f"{name:<32}{run['wall_s']:>9}{speed:>13}{versus:>11}{decoded:>9}{run.get('tracks', ''):>8}  {scan_text}")


def print_costs(report: dict) -> None:
    """Seconds of processing per hour of still footage, and per minute of activity."""
    hour = (report.get("hour") or {}).get("appliance (tflite)")
    sample = (report.get("sample") or {}).get("appliance (tflite)")
    if not hour:
        return
    per_still_hour = hour["wall_s"] / (hour["duration_s"] / 3600)
    print(f"\nCost: {per_still_hour:.1f} s of processing per hour of still footage")
    if sample and sample.get("scan"):
        active_min = sample["scan"]["active_s"] / 60
        still_h = (sample["duration_s"] - sample["scan"]["active_s"]) / 3600
        per_active_min = (sample["wall_s"] - per_still_hour * still_h) / max(active_min, 1e-6)
        print(
            f"      {per_active_min:.1f} s per minute of activity decoded (5-minute sample: "
            f"{sample['scan']['active_s']:.0f} s active)"
        )


if __name__ == "__main__":
    main()
