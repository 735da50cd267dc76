"""How well faces are grouped into people (``appliance eval --identities``): verification and clustering.

Each photo's largest face is found (MTCNN) and embedded (SFace) at full size and at CCTV sizes: the
photo shrunk so that the face is N px wide, then blurred and JPEG-compressed as a camera would, and
the face aligned there on the landmarks found at full size (so that the figure is about recognition,
not detection). Reported per size:

- verification over all pairs: the true-accept rate at a false-accept rate of 1e-2 and 1e-3;
- clustering at the people threshold (average linkage, as the appliance groups): pairwise precision
  and recall, B-cubed F1, and the number of clusters against the number of people.

``labels.json``: ``{"images": [{"file": "person_a/1.jpg", "person": "person_a"}, ...]}``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..detect import Detector, Face
from ..detect.align import align_face
from ..people.cluster import average_linkage
from ..people.embed import FaceEmbedder

CCTV_BLUR_SIGMA = 0.7  # the optics and the demosaicing of a cheap camera, at the face's size
CCTV_JPEG_QUALITY = 60
FARS = (1e-2, 1e-3)


@dataclass(frozen=True)
class Photo:
    file: str
    person: str


def load_labels(folder: Path) -> list[Photo]:
    data = json.loads((folder / "labels.json").read_text())
    return [Photo(item["file"], item["person"]) for item in data["images"]]


def split_people(photos: Sequence[Photo]) -> tuple[set[str], set[str]]:
    """People into two halves, alternately in sorted order within each source (the prefix before '_'):
    one to choose rules on, one kept back to confirm them."""
    by_source: dict[str, list[str]] = {}
    for person in sorted({p.person for p in photos}):
        by_source.setdefault(person.split("_")[0], []).append(person)
    tuning = {person for people in by_source.values() for person in people[0::2]}
    return tuning, {p.person for p in photos} - tuning


def cctv(image: np.ndarray, face: Face, width_px: int) -> tuple[np.ndarray, Face]:
    """The photo as a camera would record it with this face ``width_px`` wide, and the face there."""
    scale = width_px / max(face.box[2], 1.0)
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), CCTV_BLUR_SIGMA)
    ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, CCTV_JPEG_QUALITY])
    if not ok:
        raise ValueError("JPEG encoding failed")
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if decoded is None:
        raise ValueError("JPEG decoding failed")
    return decoded, face.scaled(scale)


def embed_photos(
    folder: Path, photos: Sequence[Photo], sizes: Sequence[int | None], detector: Detector, embedder: FaceEmbedder
) -> tuple[list[Photo], dict[int | None, np.ndarray]]:
    """The photos whose face was found, and their embeddings at each size (None: full size)."""
    kept: list[Photo] = []
    vectors: dict[int | None, list[np.ndarray]] = {size: [] for size in sizes}
    for photo in photos:
        image = cv2.imread(str(folder / photo.file))
        if image is None:
            raise FileNotFoundError(folder / photo.file)
        faces = detector.detect(image)
        if not faces:
            continue
        face = max(faces, key=lambda f: f.size)
        kept.append(photo)
        for size in sizes:
            picture, where = (image, face) if size is None else cctv(image, face, size)
            aligned = align_face(picture, where)
            if aligned is None:
                raise ValueError(f"{photo.file}: no landmarks")
            vectors[size].append(embedder.embed(aligned))
    return kept, {size: np.stack(v) for size, v in vectors.items()}


def verification(embeddings: np.ndarray, people: Sequence[str]) -> dict[str, float | None]:
    similarity = embeddings @ embeddings.T
    labels = np.array(people)
    upper = np.triu_indices(len(labels), k=1)
    same = labels[upper[0]] == labels[upper[1]]
    genuine, impostor = similarity[upper][same], np.sort(similarity[upper][~same])[::-1]
    out: dict[str, float | None] = {}
    for far in FARS:
        allowed = int(np.floor(far * len(impostor)))
        if allowed < 1:
            out[f"tar_at_far_{far:.0e}".replace("e-0", "e-")] = None
            continue
        threshold = impostor[allowed - 1]  # accept above the allowed-th best impostor
        out[f"tar_at_far_{far:.0e}".replace("e-0", "e-")] = round(float(np.mean(genuine > threshold)), 4)
    return out


def clustering(labels: Sequence[int], people: Sequence[str]) -> dict[str, float | int]:
    truth, found = np.array(people), np.array(labels)
    same_truth = truth[:, None] == truth[None, :]
    same_found = found[:, None] == found[None, :]
    off = ~np.eye(len(truth), dtype=bool)
    both = (same_truth & same_found & off).sum()
    precision = both / max((same_found & off).sum(), 1)
    recall = both / max((same_truth & off).sum(), 1)
    overlap = (same_truth & same_found).sum(axis=1)
    b_precision = float(np.mean(overlap / same_found.sum(axis=1)))
    b_recall = float(np.mean(overlap / same_truth.sum(axis=1)))
    return {
        "people": len(set(people)),
        "clusters": len(set(labels)),
        "bcubed_f1": round(2 * b_precision * b_recall / (b_precision + b_recall), 4),
        "pairwise_precision": round(float(precision), 4),
        "pairwise_recall": round(float(recall), 4),
    }


def evaluate_identities(
    folder: Path,
    sizes: Sequence[int | None],
    threshold: float,
    detector: Detector,
    embedder: FaceEmbedder,
    people: set[str] | None = None,
) -> dict[str, Any]:
    """The report: per size, clustering and verification figures (``people``: only these)."""
    photos = [p for p in load_labels(folder) if people is None or p.person in people]
    kept, vectors = embed_photos(folder, photos, sizes, detector, embedder)
    names = [p.person for p in kept]
    rows = []
    for size in sizes:
        labels = average_linkage(vectors[size], threshold)
        rows.append(
            {
                "face_px": "full" if size is None else size,
                **clustering(labels, names),
                **verification(vectors[size], names),
            }
        )
    return {"images": len(photos), "faces_found": len(kept), "threshold": threshold, "sizes": rows}
