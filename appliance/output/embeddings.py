"""The tracks' face embeddings in a result folder (``embeddings.npz``): biometric data, kept beside the
crops so that the people index can be (re)built from the results, and deleted with them."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from .manifest import EMBEDDINGS


def write_embeddings(path: Path, by_track: dict[int, np.ndarray]) -> None:
    """Track number -> unit embedding, stored as float16 (half the size, the same neighbours)."""
    buffer = io.BytesIO()
    numbers = sorted(by_track)
    np.savez(
        buffer,
        tracks=np.array(numbers, np.int32),
        embeddings=np.stack([by_track[n] for n in numbers]).astype(np.float16),
    )
    path.write_bytes(buffer.getvalue())


def read_embeddings(folder: str | os.PathLike[str]) -> dict[int, np.ndarray]:
    """Track number -> unit embedding (float32); empty if the result has none."""
    path = Path(folder) / EMBEDDINGS
    if not path.is_file():
        return {}
    with np.load(path) as data:
        vectors = data["embeddings"].astype(np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return {int(n): v for n, v in zip(data["tracks"], vectors, strict=True)}
