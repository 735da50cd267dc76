"""Frames with timestamps from video files and still images, at an analysis rate.

Frames that are not analysed are only ``grab()``-ed (demuxed and decoded just enough to advance),
never converted to images, so a 5 fps analysis of 25 fps footage costs a fraction of a full decode.
"""

from __future__ import annotations

import math
import os
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
RAW_STREAM_FPS = 25.0  # raw .h264/.h265 streams carry no container timing
MAX_FPS = 1000.0  # a declared rate above this is nonsense: treated as unknown
# a video that ends before this fraction of the frames it declares is truncated (more than a few
# frames declared: short clips often miscount by one or two)
TRUNCATION_FRACTION = 0.9
TRUNCATION_MIN_FRAMES = 10
DEFAULT_MAX_PIXELS = 36_000_000  # see the max_frame_pixels setting
PREFETCH_DEPTH = 4  # decoded frames waiting for the detector (6 MB each at 1080p)


class InputError(Exception):
    """An input that cannot be read as footage; the message says why, for the operator."""


@dataclass(frozen=True)
class Frame:
    index: int  # frame number in the source, from 0
    time_s: float  # presentation time in seconds
    image: np.ndarray  # BGR uint8


@dataclass(frozen=True)
class SourceInfo:
    path: str
    width: int
    height: int
    fps: float
    frames: int  # as declared by the container (0 if unknown)
    duration_s: float
    is_image: bool


def _check_size(path: Path, width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise InputError(
            f"{path.name}: frames of {width}x{height} are larger than the limit of {max_pixels:,} pixels "
            "(setting max_frame_pixels)"
        )


def analysis_step(fps: float, rate: float | None) -> int:
    """Analyse every ``step``-th frame to get about ``rate`` frames per second (None = all)."""
    if not rate or rate <= 0 or fps <= 0:
        return 1
    return max(1, round(fps / rate))


class VideoSource:
    """An opened video file or still image; iterate :meth:`frames` once."""

    def __init__(self, path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"{self.path}: not a file")
        size = self.path.stat().st_size
        if size == 0:
            raise InputError(f"{self.path.name}: empty file (0 bytes)")
        self._capture: cv2.VideoCapture | None = None
        self._image: np.ndarray | None = None
        self.decoded = 0  # frames read so far, analysed or not
        self._fd: int | None = None
        if self.path.suffix.lower() in IMAGE_SUFFIXES:
            # read by Python, decoded from memory: OpenCV crashes on file names that are not UTF-8
            self._image = cv2.imdecode(np.fromfile(self.path, np.uint8), cv2.IMREAD_COLOR)
            if self._image is None:
                raise InputError(f"{self.path.name}: not a readable image")
            h, w = self._image.shape[:2]
            _check_size(self.path, w, h, max_pixels)
            self.info = SourceInfo(str(self.path), w, h, 0.0, 1, 0.0, True)
            return
        cap = cv2.VideoCapture(self._ffmpeg_name(), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            raise InputError(f"{self.path.name}: not a readable video (FFmpeg could not open it)")
        w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if not math.isfinite(fps) or fps <= 0 or fps > MAX_FPS:
            fps = RAW_STREAM_FPS
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        count = max(count, 0)
        if w <= 0 or h <= 0:
            cap.release()
            raise InputError(f"{self.path.name}: no video stream")
        try:
            _check_size(self.path, w, h, max_pixels)
        except InputError:
            cap.release()
            raise
        self._capture = cap
        self.info = SourceInfo(str(self.path), w, h, fps, count, count / fps if count else 0.0, False)

    def _ffmpeg_name(self) -> str:
        """The name FFmpeg opens: the path, or the open file's /proc name when the path is not UTF-8."""
        try:
            str(self.path).encode("utf-8")
            return str(self.path)
        except UnicodeEncodeError:
            self._fd = os.open(self.path, os.O_RDONLY)
            return f"/proc/self/fd/{self._fd}"

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def frames(self, rate: float | None = 5.0) -> Iterator[Frame]:
        """Analysed frames in order; :attr:`decoded` counts every frame read, skipped or not."""
        if self._image is not None:
            self.decoded = 1
            yield Frame(0, 0.0, self._image)
            return
        cap = self._capture
        if cap is None:
            raise InputError(f"{self.path.name}: already closed")
        step = analysis_step(self.info.fps, rate)
        index = 0
        while True:
            if not cap.grab():
                break
            self.decoded += 1
            if index % step == 0:
                ok, image = cap.retrieve()
                if not ok or image is None:
                    break
                msec = cap.get(cv2.CAP_PROP_POS_MSEC)
                time_s = msec / 1000.0 if msec and msec > 0 and math.isfinite(msec) else index / self.info.fps
                if index == 0:
                    time_s = 0.0
                yield Frame(index, time_s, image)
            index += 1
        if self.decoded == 0:
            raise InputError(f"{self.path.name}: no frame could be decoded (corrupt or unsupported video)")
        declared = self.info.frames
        if declared > TRUNCATION_MIN_FRAMES and self.decoded < TRUNCATION_FRACTION * declared:
            raise InputError(f"{self.path.name}: truncated or corrupt: decoded {self.decoded} of {declared} frames")


T = TypeVar("T")
_DONE = object()


def prefetch(items: Iterable[T], depth: int = PREFETCH_DEPTH) -> Iterator[T]:
    """Iterate ``items`` in a background thread, ``depth`` ahead.

    Decoding (FFmpeg) and detection (LiteRT, TensorFlow) both release the GIL, so on two cores the
    frames skipped between analysed ones are decoded while the previous frame is being analysed.
    Exceptions reach the consumer; closing the iterator early stops the thread.
    """
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        buffer.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put((_DONE, None))
        except BaseException as exc:  # handed to the consumer
            buffer.put((_DONE, exc))

    thread = threading.Thread(target=produce, name="decode", daemon=True)
    thread.start()
    try:
        while True:
            item, error = buffer.get()
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
