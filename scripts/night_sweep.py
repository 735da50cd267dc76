#!/usr/bin/env python3
"""Night enhancement over the family of night models: how much of the lost recall each model gets back.

Usage: python scripts/night_sweep.py [--json FILE] [--seeds 0,1,2] [--models night-a,...] [--limit N]
                                     [--enhance auto] [--backend tflite]

For each night model (appliance/evaluation/degrade.py) and noise seed, the dev photos are evaluated
with enhancement off and with ``--enhance``; "won back" is the share of the recall the darkness cost
(clean recall - night recall) that enhancement recovers. Models are reported one by one, then as the
mean over the tuning models and over the held-out ones (fixed in degrade.py before any was measured).
``--jobs`` worker processes, one detector each: about a minute per model and seed on two cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEV = REPO.parent / "shared" / "data" / "faces-dev"


_WORKER: dict = {}


def _evaluate(task: tuple[str, str | None, int, int | None, str]) -> dict:
    """One evaluation (enhance mode, night model, seed) in a worker process with its own detector."""
    from appliance.detect import Detector
    from appliance.evaluation.detection import evaluate
    from appliance.pipeline.finder import FaceFinder

    mode, degrade, seed, limit, backend = task
    if "detector" not in _WORKER:
        _WORKER["detector"] = Detector(backend, 20.0, 1)
    finder = FaceFinder(_WORKER["detector"], mode)
    return evaluate(finder.find, DEV, DEV / "annotations.json", 20.0, degrade, seed, limit)


def main() -> None:
    from concurrent.futures import ProcessPoolExecutor

    from appliance.evaluation.degrade import NIGHT_HELD_OUT, NIGHT_MODELS, NIGHT_TUNING

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--models", default=",".join(NIGHT_MODELS))
    parser.add_argument("--limit", type=int, help="only the first N photos")
    parser.add_argument("--enhance", default="auto")
    parser.add_argument("--backend", default="tflite")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes, one detector thread each")
    args = parser.parse_args()

    modes = ("off", args.enhance)
    pairs = [(m, int(s)) for m in args.models.split(",") for s in args.seeds.split(",")]
    tasks = [(mode, None, 0, args.limit, args.backend) for mode in modes]
    tasks += [(mode, model, seed, args.limit, args.backend) for model, seed in pairs for mode in modes]
    with ProcessPoolExecutor(args.jobs) as pool:
        results = dict(zip(((t[0], t[1], t[2]) for t in tasks), pool.map(_evaluate, tasks), strict=True))
    clean = {mode: results[(mode, None, 0)] for mode in modes}
    print(f"clean: off {clean['off']['recall']:.3f} / {clean['off']['precision']:.3f}, "
          f"{args.enhance} {clean[args.enhance]['recall']:.3f} / {clean[args.enhance]['precision']:.3f}",
          flush=True)  # fmt: skip
    rows = []
    print("model     seed  off recall/prec   enhanced recall/prec   won back  precision  ms off / enhanced")
    for model, seed in pairs:
        off, on = results[("off", model, seed)], results[(args.enhance, model, seed)]
        lost = clean["off"]["recall"] - off["recall"]
        won = (on["recall"] - off["recall"]) / lost if lost > 0 else 0.0
        row = {"model": model, "seed": seed, "off": off, "enhanced": on, "won_back": round(won, 3),
               "precision_change": round(on["precision"] - off["precision"], 4)}  # fmt: skip
        rows.append(row)
        print(f"{model:9s} {seed:4d}  {off['recall']:.3f} / {off['precision']:.3f}    "
              f"{on['recall']:.3f} / {on['precision']:.3f}          {won:6.1%}   {row['precision_change']:+.3f}"
              f"   {off['ms_per_image']:.0f} / {on['ms_per_image']:.0f}", flush=True)  # fmt: skip
    summary = {}
    for label, models in (("tuning", NIGHT_TUNING), ("held out", NIGHT_HELD_OUT), ("all", tuple(NIGHT_MODELS))):
        chosen = [r for r in rows if r["model"] in models]
        if not chosen:
            continue
        per_model = {m: statistics.mean(r["won_back"] for r in chosen if r["model"] == m) for m in models
                     if any(r["model"] == m for r in chosen)}  # fmt: skip
        summary[label] = {
            "won_back": round(statistics.mean(r["won_back"] for r in chosen), 3),
            "precision_change": round(statistics.mean(r["precision_change"] for r in chosen), 4),
            "worst_model_won_back": round(min(per_model.values()), 3),
            "worst_precision_change": round(min(r["precision_change"] for r in chosen), 4),
        }
        s = summary[label]
        print(
            f"mean over {label:8s}: won back {s['won_back']:.1%}, precision {s['precision_change']:+.4f} "
            f"(worst model {s['worst_model_won_back']:.1%}, worst precision {s['worst_precision_change']:+.4f})"
        )
    if args.json:
        args.json.write_text(json.dumps({"clean": clean, "rows": rows, "summary": summary}, indent=2))


if __name__ == "__main__":
    main()
