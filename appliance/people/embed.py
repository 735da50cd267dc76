"""Face embeddings: SFace (128-d, OpenCV Zoo, Apache-2.0) run by OpenCV's FaceRecognizerSF.

A face is aligned on MTCNN's five landmarks to 112x112 (the template SFace was trained on, see
:func:`appliance.pipeline.crops.align_face`) and embedded; embeddings are unit vectors, so the
cosine similarity of two faces is their dot product.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from ..common.models import find_models
from ..detect import Face
from ..detect.align import align_face

SFACE_FILE = "sface.onnx"
EMBEDDING_SIZE = 128
ALIGNED_SIDE = 112


def unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (a zero row stays zero)."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def mean_embedding(vectors: Sequence[np.ndarray]) -> np.ndarray:
    """The direction of several embeddings of one face (their mean, made unit length)."""
    return unit(np.mean(np.asarray(vectors, dtype=np.float32), axis=0))


class FaceEmbedder:
    """SFace through OpenCV: aligned 112x112 BGR face in, 128-d unit vector out (~26 ms on one thread)."""

    def __init__(self, model: Path | None = None) -> None:
        path = model or find_models(SFACE_FILE) / SFACE_FILE
        self.recogniser = cv2.FaceRecognizerSF.create(str(path), "")

    def embed(self, aligned: np.ndarray) -> np.ndarray:
        if aligned.shape[:2] != (ALIGNED_SIDE, ALIGNED_SIDE):
            raise ValueError(f"an aligned face is {ALIGNED_SIDE}x{ALIGNED_SIDE}, not {aligned.shape[:2]}")
        return unit(self.recogniser.feature(aligned).reshape(-1))

    def embed_face(self, frame_bgr: np.ndarray, face: Face) -> np.ndarray | None:
        """The embedding of ``face`` in ``frame_bgr`` (None without landmarks)."""
        aligned = align_face(frame_bgr, face, ALIGNED_SIDE)
        return None if aligned is None else self.embed(aligned)
