#!/usr/bin/env python3
"""Choose the people threshold on half of the identity set; confirm it on the other half.

Usage: python scripts/people_threshold.py [--identities ../shared/data/identities] [--json FILE]

The people are split in two (alternately within each source, see
appliance.evaluation.identities.split_people). On the tuning half, every threshold from 0.20 to 0.60 is
tried at full size and at 48, 32 and 24 px faces; among those that never put two people in one
cluster at full size, the chosen one is the highest (keep people apart when unsure) whose mean
B-cubed F1 over the sizes is within 0.005 of the best. The held-back half is then reported at that
threshold only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from appliance.detect import Detector  # noqa: E402
from appliance.evaluation.identities import clustering, embed_photos, load_labels, split_people  # noqa: E402
from appliance.people.cluster import average_linkage  # noqa: E402
from appliance.people.embed import FaceEmbedder  # noqa: E402

SIZES = (None, 48, 32, 24)
TIE = 0.005
THRESHOLDS = [round(t, 3) for t in np.arange(0.20, 0.601, 0.02)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--identities", type=Path, default=REPO.parent / "shared" / "data" / "identities")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    photos = load_labels(args.identities)
    tuning, held_back = split_people(photos)
    detector, embedder = Detector("tflite", 40), FaceEmbedder()
    halves = {}
    for name, people in (("tuning", tuning), ("held back", held_back)):
        subset = [p for p in photos if p.person in people]
        kept, vectors = embed_photos(args.identities, subset, SIZES, detector, embedder)
        halves[name] = ([p.person for p in kept], vectors)
    names, vectors = halves["tuning"]
    sweep = []
    for threshold in THRESHOLDS:
        rows = {size: clustering(average_linkage(vectors[size], threshold), names) for size in SIZES}
        sweep.append((threshold, rows))
        print(
            f"{threshold:.2f} "
            + " ".join(
                f"{'full' if s is None else s}: F1 {r['bcubed_f1']:.3f} "
                f"P {r['pairwise_precision']:.3f} {r['clusters']}/{r['people']}"
                for s, r in rows.items()
            )
        )
    safe = [(t, rows) for t, rows in sweep if rows[None]["pairwise_precision"] == 1.0]
    scores = {t: float(np.mean([r["bcubed_f1"] for r in rows.values()])) for t, rows in safe}
    chosen = max(t for t, score in scores.items() if score >= max(scores.values()) - TIE)
    print(f"\nchosen on the tuning half ({len(tuning)} people): {chosen:.2f}")
    report = {"tuning_people": sorted(tuning), "held_back_people": sorted(held_back), "threshold": chosen, "halves": {}}
    for name, (people_names, half_vectors) in halves.items():
        rows = [
            {
                "face_px": "full" if s is None else s,
                **clustering(average_linkage(half_vectors[s], chosen), people_names),
            }
            for s in SIZES
        ]
        report["halves"][name] = rows
        print(
            f"{name}: "
            + "; ".join(
                f"{r['face_px']}: F1 {r['bcubed_f1']:.3f}, {r['clusters']} clusters for {r['people']} people"
                for r in rows
            )
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
