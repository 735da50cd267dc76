"""Detection recall and precision against ground-truth boxes (``appliance eval``).

Matching is greedy by confidence at IoU >= 0.5, as in PASCAL VOC: each detection, most confident
first, takes the unclaimed ground-truth face it overlaps most. Faces smaller than the minimum face
size (shorter side) are don't-care: a detection on one counts neither as a hit nor as a false
positive; so is a detection that matches no face and is itself smaller than the minimum face
(sqrt(w * h)): both sides of the comparison then concern faces of the evaluated size only. A second
detection on a face already claimed is a false positive.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from . import degrade
from .detect.boxes import iou_matrix

SUBSETS = ("wider_easy", "wider_medium", "wider_hard")


@dataclass
class Match:
    hits: int = 0
    false_positives: int = 0
    faces: int = 0  # cared-for ground truth
    detections: int = 0  # counted detections (not on don't-care faces)
    hit_flags: list[bool] = field(default_factory=list)  # per ground-truth face: found?
    care_flags: list[bool] = field(default_factory=list)


def match(gt_boxes: list[list[float]], detections: list[tuple[tuple[float, float, float, float], float]],
          min_face: float, iou_threshold: float = 0.5) -> Match:  # fmt: skip
    """Match ``detections`` ((x, y, w, h), confidence) to ``gt_boxes`` ([x, y, w, h]) of one image."""
    care = [min(b[2], b[3]) >= min_face for b in gt_boxes]
    result = Match(faces=sum(care), hit_flags=[False] * len(gt_boxes), care_flags=care)
    if not detections:
        return result
    order = sorted(range(len(detections)), key=lambda i: -detections[i][1])
    det_xyxy = np.array([[x, y, x + w, y + h] for (x, y, w, h), _ in (detections[i] for i in order)], float)
    if gt_boxes:
        gt_xyxy = np.array([[x, y, x + w, y + h] for x, y, w, h in gt_boxes], float)
        ious = iou_matrix(det_xyxy, gt_xyxy)
    else:
        ious = np.zeros((len(order), 0))
    claimed = [False] * len(gt_boxes)
    sizes = [np.sqrt(max(w, 0) * max(h, 0)) for (_, _, w, h), _ in (detections[i] for i in order)]
    for row, size in zip(ious, sizes, strict=True):
        best = int(row.argmax()) if row.size else -1
        if best < 0 or row[best] < iou_threshold:
            if size < min_face:
                continue  # below the evaluated size and on no annotated face: don't-care
            result.false_positives += 1
            result.detections += 1
            continue
        if not care[best]:
            continue  # on a don't-care face: ignored, whether or not it was claimed
        result.detections += 1
        if claimed[best]:
            result.false_positives += 1
        else:
            claimed[best] = True
            result.hits += 1
            result.hit_flags[best] = True
    return result


def load_subsets(annotations_file: Path) -> dict[str, list[dict]] | None:
    """Per image, per face (in the order of annotations.json): WIDER subset flags, if available."""
    full = annotations_file.with_name("annotations_full.json")
    if not full.exists():
        return None
    data = json.loads(full.read_text())
    return {name: [f for f in entry.get("faces", []) if f.get("in_main_annotations", True)]
            for name, entry in data.items()}  # fmt: skip


def evaluate(
    find: Callable[[np.ndarray], list],
    images: Path,
    annotations_file: Path,
    min_face: float = 20.0,
    degradations: str | None = None,
    seed: int = 0,
    limit: int | None = None,
) -> dict:
    annotations = json.loads(Path(annotations_file).read_text())
    subsets = load_subsets(Path(annotations_file))
    names = degrade.parse(degradations)
    totals = Match()
    per_subset = {s: [0, 0] for s in SUBSETS}  # hits, faces
    small = [0, 0]  # faces of 12 px to min_face: found, total (informative)
    seconds = 0.0
    items = sorted(annotations.items())[:limit] if limit else sorted(annotations.items())
    for name, boxes in items:
        image = cv2.imread(str(Path(images) / name))
        if image is None:
            raise FileNotFoundError(Path(images) / name)
        image = degrade.apply(image, names, name, seed) if names else image
        started = time.perf_counter()
        faces = find(image)
        seconds += time.perf_counter() - started
        dets = [(f.box, f.confidence) for f in faces]
        m = match(boxes, dets, min_face)
        totals.hits += m.hits
        totals.false_positives += m.false_positives
        totals.faces += m.faces
        totals.detections += m.detections
        small_match = match(boxes, dets, 12.0)
        for box, hit in zip(boxes, small_match.hit_flags, strict=True):
            if 12 <= min(box[2], box[3]) < 20:
                small[1] += 1
                small[0] += hit
        if subsets and name in subsets and len(subsets[name]) == len(boxes):
            for face, hit, care in zip(subsets[name], m.hit_flags, m.care_flags, strict=True):
                for subset in SUBSETS:
                    if care and face.get(subset):
                        per_subset[subset][0] += hit
                        per_subset[subset][1] += 1
    recall = totals.hits / totals.faces if totals.faces else 0.0
    precision = totals.hits / totals.detections if totals.detections else 1.0
    result = {
        "images": len(items),
        "faces": totals.faces,
        "detections": totals.detections,
        "hits": totals.hits,
        "false_positives": totals.false_positives,
        "recall": round(recall, 4),
        "precision": round(precision, 4),
        "min_face": min_face,
        "degrade": ",".join(names) or "none",
        "ms_per_image": round(seconds / max(len(items), 1) * 1000, 1),
        "small_faces_12_20": {
            "faces": small[1],
            "found": small[0],
            "recall": round(small[0] / small[1], 4) if small[1] else None,
        },  # fmt: skip
    }
    if subsets:
        result["subsets"] = {
            s: {"faces": f, "recall": round(h / f, 4) if f else None} for s, (h, f) in per_subset.items()
        }
    return result
