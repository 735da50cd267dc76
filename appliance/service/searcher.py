"""Faces in an uploaded photo, found and embedded in a process of their own: the page never runs a net.

The search process starts on the first search and stays (it holds a detector and the recogniser),
boxed like a worker: no token, an address-space limit. It reads the photo itself, so a crafted
image can at worst take that process down; the page answers with the reason either way.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from ..settings import Settings

log = logging.getLogger("appliance.search")
ANSWER_TIMEOUT_S = 30.0
MAX_PHOTO_BYTES = 8 << 20
MAX_PHOTO_PIXELS = 40_000_000


class SearchError(Exception):
    """A photo that cannot be searched with, or a search that could not run; the message says why."""


@dataclass(frozen=True)
class PhotoFace:
    box: tuple[float, float, float, float]
    confidence: float
    embedding: np.ndarray


def faces_in_photo(data: bytes, detector: Any, embedder: Any) -> list[PhotoFace]:
    """Every face of a photo (largest first) with its embedding; SearchError for what is not a photo."""
    import cv2

    if len(data) > MAX_PHOTO_BYTES:
        raise SearchError(f"the photo is larger than {MAX_PHOTO_BYTES >> 20} MB")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        raise SearchError("not a readable image (JPEG, PNG, BMP, WebP or TIFF)")
    if image.shape[0] * image.shape[1] > MAX_PHOTO_PIXELS:
        raise SearchError(f"the photo has more than {MAX_PHOTO_PIXELS:,} pixels")
    found = []
    for face in sorted(detector.detect(image), key=lambda f: -f.size):
        embedding = embedder.embed_face(image, face)
        if embedding is not None:
            found.append(PhotoFace(face.box, face.confidence, embedding))
    return found


def searcher_main(settings: Settings, conn: Connection) -> None:
    """The search process: photos in, faces with embeddings (or the reason there are none) out."""
    import signal

    from ..detect import Detector
    from ..people.embed import FaceEmbedder
    from .worker import limit_address_space

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    detector = Detector(settings.extract.backend, settings.extract.min_face, 1)
    embedder = FaceEmbedder()
    limit_address_space(settings.service.worker_memory_mb)
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            conn.send(("ok", faces_in_photo(data, detector, embedder)))
        except SearchError as exc:
            conn.send(("error", str(exc)))
        except Exception as exc:  # noqa: BLE001 - a photo must never take the search down for good
            log.exception("search failed")
            conn.send(("error", f"the photo could not be searched ({type(exc).__name__})"))


class Searcher:
    """The page's handle on the search process (one search at a time)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._ctx = mp.get_context("spawn")
        self._lock = threading.Lock()
        self._process: Any = None
        self._conn: Connection | None = None

    def _start(self) -> Connection:
        if self._process is not None and self._process.is_alive() and self._conn is not None:
            return self._conn
        here, there = self._ctx.Pipe()
        self._process = self._ctx.Process(
            target=searcher_main, args=(self.settings, there), name="appliance-search", daemon=True
        )
        self._process.start()
        there.close()
        self._conn = here
        return here

    def faces(self, data: bytes) -> list[PhotoFace]:
        if len(data) > MAX_PHOTO_BYTES:
            raise SearchError(f"the photo is larger than {MAX_PHOTO_BYTES >> 20} MB")
        with self._lock:
            conn = self._start()
            conn.send_bytes(data)
            if not conn.poll(ANSWER_TIMEOUT_S):
                self.stop()
                raise SearchError(f"the search took longer than {ANSWER_TIMEOUT_S:.0f} s; try a smaller photo")
            try:
                status, answer = conn.recv()
            except (EOFError, OSError):
                self.stop()
                raise SearchError("the search process stopped on this photo") from None
        if status != "ok":
            raise SearchError(answer)
        return list(answer)

    def stop(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=2)
        self._process, self._conn = None, None
