#!/usr/bin/env python3
"""How often to search the whole frame while following tracked faces: detections, tracks, people and
CPU time for each ``motion_busy_full_every_s``, against searching every analysed frame whole (0).

Usage: python scripts/follow_sweep.py [--values 0.6,1,1.5,2] [--tune CLIP,...] [--held-out CLIP,...]

The value is chosen on the tuning clips and confirmed on the held-out ones (reported apart). CPU
seconds (user + system of a fresh process) rather than wall time: the choice is about work, and
they hold on a busy machine. Clips: paths, or ``busy-minute`` (made by make_cctv_sample.py --busy).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VIDEOS = REPO.parent / "shared" / "data" / "videos"
OUT = REPO / "bench-out"
TUNE = ["busy-minute"]
HELD_OUT = [str(VIDEOS / "facenet_pytorch_video.mp4"), str(VIDEOS / "short_hamilton_clip.mp4"), "walks-minute"]
MADE = {
    "busy-minute": ("busy_minute.mp4", ["--seconds", "60", "--walks", "", "--busy"]),
    "walks-minute": ("walks_minute.mp4", ["--seconds", "60", "--walks", "5,25,45"]),
}


def clip(name: str) -> str:
    if name not in MADE:
        return name
    file, args = MADE[name]
    path = OUT / file
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        subprocess.run([sys.executable, str(REPO / "scripts" / "make_cctv_sample.py"), str(path), *args], check=True)
    return str(path)


def child(video: str, every_s: str) -> dict:
    from appliance.pipeline.extract import Extractor
    from appliance.settings import ExtractSettings, MotionSettings

    extractor = Extractor(ExtractSettings(backend="tflite"), motion=MotionSettings(busy_full_every_s=float(every_s)))
    result = extractor.run(video, tempfile.mkdtemp(prefix="sweep-"))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    stats = result.manifest.stats
    return {
        "detections": sum(t.detections for t in result.manifest.tracks),
        "tracks": result.tracks,
        "people": len(result.manifest.people),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "full": stats.frames_full_detection,
        "followed": stats.frames_follow_detection,
    }


def run(video: str, every_s: float) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", video, str(every_s)], capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", default="0.6,1,1.5,2")
    parser.add_argument("--tune", default=",".join(TUNE))
    parser.add_argument("--held-out", default=",".join(HELD_OUT))
    parser.add_argument("--references", type=Path, help="a JSON file keeping the reference runs (0) between runs")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    values = [float(v) for v in args.values.split(",")]
    kept = json.loads(args.references.read_text()) if args.references and args.references.exists() else {}
    for group, names in (("tuning", args.tune), ("held out", args.held_out)):
        print(f"\n{group}")
        print(
            f"{'clip':<28}{'every s':>8}{'detections':>11}{'share':>7}{'tracks':>7}{'people':>7}"
            f"{'full/follow':>12}{'cpu s':>8}"
        )
        for name in [n for n in names.split(",") if n]:
            video = clip(name)
            reference = kept.get(video) or run(video, 0.0)
            kept[video] = reference
            if args.references:
                args.references.write_text(json.dumps(kept, indent=1))
            for value, found in [(0.0, reference)] + [(v, run(video, v)) for v in values]:
                share = found["detections"] / max(reference["detections"], 1)
                searches = f"{found['full']}/{found['followed']}"
                print(
                    f"{Path(video).name:<28}{value:>8}{found['detections']:>11}{share:>7.0%}{found['tracks']:>7}"
                    f"{found['people']:>7}{searches:>12}{found['cpu_s']:>8}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
