#!/usr/bin/env python3
"""The busy clip at night: people found with enhancement against without, whether tracks break up, and the cost.

Usage: python scripts/night_video.py [--clip busy|hamilton] [--models night-a,...,night-f] [--repeats 1] [--json FILE]

Each frame of facenet_pytorch_video.mp4 (or the hamilton clip) is degraded by a night model (seeded
by its frame number), the clip re-encoded with x264 into bench-out/, then the extractor runs on it in this process (one
detector for all runs, so the cost is the analysis's, not the nets' loading) with enhancement off
and auto (scan off: every frame decoded, as a busy clip is anyway; ``auto`` denoises each dark
analysed frame with the 4 before it). Reported per model and mode: tracks, people, detections per
track (fewer, shorter tracks per person means tracks break up), each track's span in
seconds, wall and processor seconds and where
the time went (the manifest's stats.time_ms); the cost is auto's time over off's, the two run in turn.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CLIPS = {
    "busy": REPO.parent / "shared" / "data" / "videos" / "facenet_pytorch_video.mp4",
    "hamilton": REPO.parent / "shared" / "data" / "videos" / "short_hamilton_clip.mp4",  # shot cuts, dim
}
OUT = REPO / "bench-out"
STEPS = ("decode", "denoise", "detect_full", "detect_follow", "enhance")


def night_clip(clip: str, model: str) -> Path:
    from appliance.evaluation import degrade

    target = OUT / f"{clip}_{model}.mp4"
    if not target.exists():
        OUT.mkdir(exist_ok=True)
        degrade.degrade_video(CLIPS[clip], target, [model])
    return target


def extract(extractor, clip: Path) -> dict:
    with tempfile.TemporaryDirectory() as out:
        started, before = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
        result = extractor.run(clip, out)
        wall, after = time.monotonic() - started, resource.getrusage(resource.RUSAGE_SELF)
        manifest = json.loads((result.output / "manifest.json").read_text())
    tracks = manifest["tracks"]
    spent = manifest["stats"]["time_ms"]
    return {
        "tracks": len(tracks),
        "people": len(manifest.get("people", [])),
        "detections_per_track": sorted((t["detections"] for t in tracks), reverse=True),
        "seconds_per_track": sorted((round(t["last_s"] - t["first_s"], 1) for t in tracks), reverse=True),
        "frames_enhanced": manifest["enhanced_frames"],
        "frames_decoded": manifest["stats"]["frames_decoded"],
        "wall_s": round(wall, 2),
        # processor time of every thread (on a shared machine steadier than the wall clock)
        "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2),
        "time_ms": {name: spent[name] for name in STEPS if name in spent},
    }


def main() -> None:
    from appliance.detect import Detector
    from appliance.evaluation import degrade
    from appliance.pipeline.extract import Extractor
    from appliance.settings import ExtractSettings, ScanSettings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", choices=sorted(CLIPS), default="busy")
    parser.add_argument("--models", default=",".join(degrade.NIGHT_MODELS))
    parser.add_argument("--repeats", type=int, default=1, help="runs of each (the figures: the last; wall: median)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    detector = Detector("tflite")
    extractors = {
        mode: Extractor(ExtractSettings(backend="tflite", enhance=mode), detector, scan=ScanSettings(enabled=False))
        for mode in ("off", "auto")
    }
    report: dict[str, dict] = {"clean": extract(extractors["off"], CLIPS[args.clip])}
    print(f"clean, enhance off: {report['clean']}", flush=True)
    for model in args.models.split(","):
        clip = night_clip(args.clip, model)
        spent: dict[str, dict[str, list[float]]] = {mode: {"wall_s": [], "cpu_s": []} for mode in ("off", "auto")}
        for _ in range(args.repeats):
            for mode in ("off", "auto"):
                found = extract(extractors[mode], clip)
                for name, values in spent[mode].items():
                    values.append(found[name])
                report[f"{model} {mode}"] = {**found, **{k: statistics.median(v) for k, v in spent[mode].items()}}
        held = " (held out)" if model in degrade.NIGHT_HELD_OUT else ""
        auto, off = report[f"{model} auto"], report[f"{model} off"]
        auto["cost_wall"] = round(auto["wall_s"] / max(off["wall_s"], 1e-9), 2)
        auto["cost_cpu"] = round(auto["cpu_s"] / max(off["cpu_s"], 1e-9), 2)
        for mode in ("off", "auto"):
            print(f"{model}{held}, enhance {mode}: {report[f'{model} {mode}']}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
