#!/usr/bin/env python3
"""The README's quality table: recall and precision by backend and condition, with and without
enhancement, plus what upscaling buys on faces of 12-20 px and what it costs.

Usage: python scripts/quality_table.py [--json FILE] [--backends reference,tflite,tf]

Runs `appliance eval` on ../shared/data/faces-dev for each combination (a few minutes per backend).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEV = REPO.parent / "shared" / "data" / "faces-dev"
CONDITIONS = [("clean", "none"), ("dark + noise", "dark,noise"), ("lowres", "lowres"), ("jpeg", "jpeg")]


def run_eval(backend: str, degrade: str, enhance: str = "off", upscale: float = 1.0, min_face: float = 20) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "appliance.cli",
        "eval",
        "--images",
        str(DEV),
        "--annotations",
        str(DEV / "annotations.json"),
        *(["--reference"] if backend == "reference" else ["--backend", backend]),
        "--degrade",
        degrade,
        "--enhance",
        enhance,
        "--upscale",
        str(upscale),
        "--min-face",
        str(min_face),
        "--json",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--backends", default="reference,tflite,tf")
    args = parser.parse_args()
    results: dict = {"conditions": [], "small_faces": []}
    print("| backend | condition | enhance | upscale | recall | precision | ms/image |")
    print("|---|---|---|---|---|---|---|")
    for backend in args.backends.split(","):
        for label, degrade in CONDITIONS:
            variants = [("off", 1.0)] if backend == "reference" else [("off", 1.0), ("auto", 1.0), ("auto", 1.67)]
            for enhance, upscale in variants:
                r = run_eval(backend, degrade, enhance, upscale)
                results["conditions"].append({"backend": backend, "condition": label, **r})
                print(
                    f"| {backend} | {label} | {enhance} | {upscale:g} | {r['recall']:.3f} | {r['precision']:.3f} | "
                    f"{r['ms_per_image']:.0f} |",
                    flush=True,
                )
    print("\n| backend | setting | faces of 12-20 px found | recall (faces >= min face) | precision | ms/image |")
    print("|---|---|---|---|---|---|")
    backend = "tflite"
    settings = [
        ("min face 20 (default)", 1.0, 20),
        ("min face 12", 1.0, 12),
        ("upscale 1.67, min face 20", 1.67, 20),
        ("upscale 2, min face 20", 2.0, 20),
    ]
    for label, upscale, min_face in settings:
        r = run_eval(backend, "none", "off", upscale, min_face)
        small = r["small_faces"]
        results["small_faces"].append({"setting": label, **r})
        # with min face 12 no face is below the minimum: its 12-20 px faces are in its recall
        found = f"{small['found']} of {small['faces']} ({small['recall']:.3f})" if small["recall"] is not None else "-"
        print(
            f"| {backend} | {label} | {found} | {r['recall']:.3f} | {r['precision']:.3f} | {r['ms_per_image']:.0f} |",
            flush=True,
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
