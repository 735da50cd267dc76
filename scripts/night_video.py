#!/usr/bin/env python3
"""The busy clip at night: people found with enhancement against without, and whether tracks break up.

Usage: python scripts/night_video.py [--models night-a,night-c] [--json FILE]

Each frame of facenet_pytorch_video.mp4 is degraded by a night model (seeded by its frame number),
the clip re-encoded with x264 into bench-out/, then `appliance extract` runs on it with enhancement
off and auto (scan off: every frame decoded, as a busy clip is anyway). Reported per model: tracks,
people, and detections per track (fewer, shorter tracks per person means tracks break up).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BUSY = REPO.parent / "shared" / "data" / "videos" / "facenet_pytorch_video.mp4"
OUT = REPO / "bench-out"


def night_clip(model: str) -> Path:
    from appliance.evaluation import degrade

    target = OUT / f"busy_{model}.mp4"
    if not target.exists():
        OUT.mkdir(exist_ok=True)
        degrade.degrade_video(BUSY, target, [model])
    return target


def extract(clip: Path, enhance: str) -> dict:
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "appliance.cli", "extract", str(clip), "-o", out, "-q", "--backend", "tflite"]
        subprocess.run([*cmd, "--enhance", enhance, "--no-scan"], check=True, capture_output=True)
        manifest = json.loads(next(Path(out).glob("*/manifest.json")).read_text())
    tracks = manifest["tracks"]
    return {
        "tracks": len(tracks),
        "people": len(manifest.get("people", [])),
        "detections_per_track": sorted((t["detections"] for t in tracks), reverse=True),
        "frames_enhanced": manifest["enhanced_frames"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="night-a,night-c")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report = {"clean": extract(BUSY, "off")}
    print(f"clean, enhance off: {report['clean']}", flush=True)
    for model in args.models.split(","):
        clip = night_clip(model)
        for enhance in ("off", "auto"):
            report[f"{model} {enhance}"] = extract(clip, enhance)
            print(f"{model}, enhance {enhance}: {report[f'{model} {enhance}']}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
