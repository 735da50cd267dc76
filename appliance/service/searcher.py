"""Faces in an uploaded photo, found and embedded in a process of their own: the page never runs a net.

The search process starts on the first search and stays (it holds a detector and the recogniser),
boxed like a worker: it is given the workers' settings (no token, no events' credentials), starts
with none of them in its environment, cannot read the page's process through ``/proc``, and has an
address-space limit. It reads the photo itself, so a crafted image can at worst take that process
down; the page answers with the reason either way.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from ..common.image_header import ImageHeaderError, image_size
from ..settings import Settings
from .pool import shield_from_workers, worker_settings

log = logging.getLogger("appliance.search")
ANSWER_TIMEOUT_S = 30.0
MAX_PHOTO_BYTES = 8 << 20
MAX_PHOTO_PIXELS = 40_000_000
# the detector needs a few hundred bytes per pixel: larger photos are decoded at 1/2, 1/4 or 1/8 of
# their size (JPEG scales while decoding); a face to search with is large in its photo anyway
SEARCHED_PIXELS = 4_000_000
SEARCHES_WAITING = 1  # behind the running one; each holds a web thread, so the rest stay for the page
RETRY_AFTER_S = 10


class SearchError(Exception):
    """A photo that cannot be searched with, or a search that could not run; the message says why."""


class SearchBusy(SearchError):
    """As many searches as may wait already do: this one is refused at once, to be tried again later."""


@dataclass(frozen=True)
class PhotoFace:
    box: tuple[float, float, float, float]
    confidence: float
    embedding: np.ndarray


def check_photo(data: bytes) -> tuple[int, int]:
    """Refuse, from its size and its header alone, a photo too large to decode: a 1 MB PNG may ask for 3 GB."""
    if not data:
        raise SearchError("the photo is empty")
    if len(data) > MAX_PHOTO_BYTES:
        raise SearchError(f"the photo is larger than {MAX_PHOTO_BYTES >> 20} MB")
    try:
        width, height = image_size(data)
    except ImageHeaderError as exc:
        raise SearchError(str(exc)) from None
    if width * height > MAX_PHOTO_PIXELS:
        raise SearchError(f"the photo is {width}x{height}: more than {MAX_PHOTO_PIXELS:,} pixels")
    return width, height


def reduction(width: int, height: int) -> int:
    """1, 2, 4 or 8: the smallest scale-down that brings the photo to ``SEARCHED_PIXELS`` (or the most there is)."""
    for factor in (1, 2, 4):
        if (width // factor) * (height // factor) <= SEARCHED_PIXELS:
            return factor
    return 8


def faces_in_photo(data: bytes, detector: Any, embedder: Any) -> list[PhotoFace]:
    """Every face of a photo (largest first) with its embedding; SearchError for what is not a photo."""
    import cv2

    factor = reduction(*check_photo(data))  # checked again here: this process decodes whatever it is sent
    flags = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4}
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags.get(factor, cv2.IMREAD_REDUCED_COLOR_8))
    if image is None:
        raise SearchError("not a readable image (JPEG, PNG, BMP, WebP or TIFF)")
    if image.shape[0] * image.shape[1] > MAX_PHOTO_PIXELS:
        raise SearchError(f"the photo has more than {MAX_PHOTO_PIXELS:,} pixels")
    found = []
    for face in sorted(detector.detect(image), key=lambda f: -f.size):
        embedding = embedder.embed_face(image, face)
        if embedding is not None:
            box = tuple(v * factor for v in face.box)  # in the photo's own pixels
            found.append(PhotoFace((box[0], box[1], box[2], box[3]), face.confidence, embedding))
    return found


def searcher_main(settings: Settings, conn: Connection) -> None:
    """The search process: photos in, faces with embeddings (or the reason there are none) out."""
    import signal

    from ..detect import Detector
    from ..people.embed import FaceEmbedder
    from .worker_process import limit_address_space

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
    """The page's handle on the search process: one search at a time, a few waiting, the rest refused.

    A search waits in the web server's thread that asked for it; without a bound, a handful of
    uploads would hold every thread and the health check would go unanswered.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = worker_settings(settings)  # what the search process is given: no secret
        self._ctx = mp.get_context("spawn")
        self._lock = threading.Lock()  # the running search
        self._slots = threading.BoundedSemaphore(1 + SEARCHES_WAITING)  # running or waiting
        self._process: Any = None
        self._conn: Connection | None = None

    def _start(self) -> Connection:
        if self._process is not None and self._process.is_alive() and self._conn is not None:
            return self._conn
        shield_from_workers()  # the process inherits the environment: the secrets leave it first
        here, there = self._ctx.Pipe()
        self._process = self._ctx.Process(
            target=searcher_main, args=(self.settings, there), name="appliance-search", daemon=True
        )
        self._process.start()
        there.close()
        self._conn = here
        return here

    def faces(self, data: bytes) -> list[PhotoFace]:
        """The photo's faces; SearchBusy at once when the search and its waiting line are taken."""
        check_photo(data)
        if not self._slots.acquire(blocking=False):
            raise SearchBusy(f"busy: {1 + SEARCHES_WAITING} searches are running or waiting; try again shortly")
        try:
            return self._search(data)
        finally:
            self._slots.release()

    def _search(self, data: bytes) -> list[PhotoFace]:
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
