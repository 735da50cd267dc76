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
from typing import Any

import cv2
import numpy as np

from ..detect.boxes import iou_matrix
from ..settings.model import MIN_FACE_FLOOR
from . import degrade
from .curve import curve, summary

SUBSETS = ("wider_easy", "wider_medium", "wider_hard")
HALVES = ("a", "b")
IOU_MATCH = 0.5  # PASCAL VOC's overlap for a detection to count as finding a face
# faces from MTCNN's smallest window up to the minimum face: reported apart (what upscaling is for)
SMALL_FACE_FLOOR = MIN_FACE_FLOOR


@dataclass
class Match:
    hits: int = 0
    false_positives: int = 0
    faces: int = 0  # cared-for ground truth
    detections: int = 0  # counted detections (not on don't-care faces)
    hit_flags: list[bool] = field(default_factory=list)  # per ground-truth face: found?
    care_flags: list[bool] = field(default_factory=list)
    scored: list[tuple[float, bool]] = field(default_factory=list)  # per counted detection: confidence, hit?


def match(
    gt_boxes: list[list[float]],
    detections: list[tuple[tuple[float, float, float, float], float]],
    min_face: float,
    iou_threshold: float = IOU_MATCH,
) -> Match:
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
    confidences = [float(detections[i][1]) for i in order]
    for row, size, confidence in zip(ious, sizes, confidences, strict=True):
        best = int(row.argmax()) if row.size else -1
        if best < 0 or row[best] < iou_threshold:
            if size < min_face:
                continue  # below the evaluated size and on no annotated face: don't-care
            result.false_positives += 1
            result.detections += 1
            result.scored.append((confidence, False))
            continue
        if not care[best]:
            continue  # on a don't-care face: ignored, whether or not it was claimed
        result.detections += 1
        if claimed[best]:
            result.false_positives += 1
            result.scored.append((confidence, False))
        else:
            claimed[best] = True
            result.hits += 1
            result.hit_flags[best] = True
            result.scored.append((confidence, True))
    return result


def load_subsets(annotations_file: Path) -> dict[str, list[dict]] | None:
    """Per image, per face (in the order of annotations.json): WIDER subset flags, if available."""
    full = annotations_file.with_name("annotations_full.json")
    if not full.exists():
        return None
    data = json.loads(full.read_text())
    return {
        name: [f for f in entry.get("faces", []) if f.get("in_main_annotations", True)] for name, entry in data.items()
    }


@dataclass
class Tally:
    """Counts over a set of photos."""

    totals: Match = field(default_factory=Match)
    subsets: dict[str, list[int]] = field(default_factory=lambda: {s: [0, 0] for s in SUBSETS})  # hits, faces
    small: list[int] = field(default_factory=lambda: [0, 0])  # faces below min_face: found, total
    seconds: float = 0.0
    swept: Match = field(default_factory=Match)  # every detection, for the curve (see evaluate)

    def add(
        self,
        m: Match,
        boxes: list[list[float]],
        small_hits: list[bool],
        min_face: float,
        subset_faces: list[dict] | None,
    ) -> None:
        for name in ("hits", "false_positives", "faces", "detections"):
            setattr(self.totals, name, getattr(self.totals, name) + getattr(m, name))
        for box, hit in zip(boxes, small_hits, strict=True):
            if SMALL_FACE_FLOOR <= min(box[2], box[3]) < min_face:
                self.small[1] += 1
                self.small[0] += hit
        if subset_faces is not None and len(subset_faces) == len(boxes):
            for face, hit, care in zip(subset_faces, m.hit_flags, m.care_flags, strict=True):
                for subset in SUBSETS:
                    if care and face.get(subset):
                        self.subsets[subset][0] += hit
                        self.subsets[subset][1] += 1


def split_half(names: list[str], half: str) -> list[str]:
    """The fixed two halves of a photo set: ``a`` the 1st, 3rd, 5th ... name in sorted order, ``b`` the
    others. Sorted WIDER names run by event, so each half has every event; a rule is chosen on one
    half and confirmed on the other."""
    if half not in HALVES:
        raise ValueError(f"half must be one of {', '.join(HALVES)}, got {half!r}")
    return sorted(names)[HALVES.index(half) :: 2]


def evaluate(
    find: Callable[[np.ndarray], list],
    images: Path,
    annotations_file: Path,
    min_face: float = 20.0,
    degradations: str | None = None,
    seed: int = 0,
    limit: int | None = None,
    operating: Callable[[Any], bool] | None = None,
    half: str | None = None,
    keep_scored: bool = False,
) -> dict:
    """Recall and precision of ``find`` on the annotated photos, optionally degraded first, and the
    recall/precision curve over its confidences.

    ``operating``: ``find`` was run with a lower floor so that the curve reaches below the operating
    point; the operating point counts only the faces this says the configured detector keeps (a less
    sure detection changes nothing about the surer ones: matching is greedy).
    ``half``: only that half of the photos (:func:`split_half`), to choose on one and confirm on the other.
    ``keep_scored``: the report also holds every counted detection's (confidence, hit), to redraw the curve.
    """
    annotations = json.loads(Path(annotations_file).read_text())
    subsets = load_subsets(Path(annotations_file))
    names = degrade.parse(degradations)
    tally = Tally()
    items = sorted(annotations.items())
    if half is not None:
        chosen = set(split_half(list(annotations), half))
        items = [item for item in items if item[0] in chosen]
    items = items[:limit] if limit else items
    for name, boxes in items:
        image = cv2.imread(str(Path(images) / name))
        if image is None:
            raise FileNotFoundError(Path(images) / name)
        image = degrade.apply(image, names, name, seed) if names else image
        started = time.perf_counter()
        faces = find(image)
        tally.seconds += time.perf_counter() - started
        swept = [(f.box, f.rank) for f in faces]
        dets = swept if operating is None else [(f.box, f.rank) for f in faces if operating(f)]
        small_hits = match(boxes, dets, SMALL_FACE_FLOOR).hit_flags
        tally.add(match(boxes, dets, min_face), boxes, small_hits, min_face, (subsets or {}).get(name))
        tally.swept.scored += match(boxes, swept, min_face).scored
    result = _report(tally, len(items), min_face, names, bool(subsets))
    result["curve"] = summary(curve(tally.swept.scored, tally.totals.faces))
    result["curve"]["lowest_confidence"] = min((c for c, _ in tally.swept.scored), default=None)
    if keep_scored:
        result["scored"] = tally.swept.scored
    return result


def _report(tally: Tally, images: int, min_face: float, names: list[str], with_subsets: bool) -> dict:
    t = tally.totals
    result = {
        "images": images,
        "faces": t.faces,
        "detections": t.detections,
        "hits": t.hits,
        "false_positives": t.false_positives,
        "recall": round(t.hits / t.faces if t.faces else 0.0, 4),
        "precision": round(t.hits / t.detections if t.detections else 1.0, 4),
        "min_face": min_face,
        "degrade": ",".join(names) or "none",
        "ms_per_image": round(tally.seconds / max(images, 1) * 1000, 1),
        "small_faces": {
            "min_px": SMALL_FACE_FLOOR,
            "max_px": min_face,
            "faces": tally.small[1],
            "found": tally.small[0],
            "recall": round(tally.small[0] / tally.small[1], 4) if tally.small[1] else None,
        },
    }
    if with_subsets:
        result["subsets"] = {
            s: {"faces": f, "recall": round(h / f, 4) if f else None} for s, (h, f) in tally.subsets.items()
        }
    return result
