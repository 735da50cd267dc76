"""Frames with timestamps from video files and still images: one reader (PyAV, FFmpeg's libraries).

Three ways to read a video, all from this class:

- :meth:`VideoSource.packets`: every packet's time, size and keyframe flag, decoding nothing (the
  activity scan, ~1000x real time);
- :meth:`VideoSource.frames` with no plan: every frame decoded, a few per second analysed;
- with a :class:`DecodePlan`: active stretches decoded as above, still stretches only at their
  keyframes (a keyframe decodes alone), at most one every ``keyframe_every_s``.

Frames are handed over as decoded; the pixels a step needs are made on demand (a small grey picture
for the motion gate, the full BGR image only when detection runs), so a frame nobody looks at
closely costs its decode and little else.
"""

from __future__ import annotations

import bisect
import logging
import math
import os
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from ..common.image_header import ImageHeaderError, image_size
from ..common.recorded import recording_start

log = logging.getLogger("appliance.video")

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
# FFmpeg demuxers the appliance opens: recording containers and raw camera streams. Playlists and
# other indirections (hls, concat, ...) are refused: a crafted one could make FFmpeg read other files.
CONTAINER_FORMATS = "mov,matroska,avi,mpegts,h264,hevc,mpeg,mpegvideo,flv,asf,dhav,mjpeg"
RAW_STREAM_FPS = 25.0  # a raw stream that declares no rate at all
MAX_FPS = 1000.0  # a declared rate above this is nonsense: treated as unknown
# a video that ends before this fraction of the frames it declares is truncated (more than a few
# frames declared: short clips often miscount by one or two)
TRUNCATION_FRACTION = 0.9
TRUNCATION_MIN_FRAMES = 10
DEFAULT_MAX_PIXELS = 36_000_000  # see the max_frame_pixels setting
DEMUXED_KEPT = 64  # packet times remembered to find each frame's predecessor (B-frames reorder a few)
DARK_SAMPLE_WIDTH = 160  # an analysed frame's luminance is measured this wide (whether it is dark)
PACKET_HEAD_BYTES = 4096  # of each packet, when its headers are wanted (the scan's slice QP)


class InputError(Exception):
    """An input that cannot be read as footage; the message says why, for the operator."""


@dataclass
class Frame:
    """A frame: its number, its time, and its pixels made on demand from the decoded picture."""

    index: int  # frame number in the source, from 0
    time_s: float  # presentation time in seconds
    decoded: av.VideoFrame | None = field(default=None, repr=False)
    still: bool = False  # a keyframe checked in a still stretch (the activity scan saw nothing there)
    given: np.ndarray | None = field(default=None, repr=False)  # a still image's pixels, or a frame's made early
    # a dark analysed frame's decoded predecessors, oldest first (``neighbours`` of :meth:`VideoSource.frames`)
    neighbours: list[av.VideoFrame] = field(default_factory=list, repr=False)
    denoised: bool = False  # its picture is a denoised copy, its neighbours averaged in

    @cached_property
    def image(self) -> np.ndarray:
        """BGR uint8, full size."""
        if self.given is not None:
            return self.given
        if self.decoded is None:
            raise ValueError("a frame with no pixels")
        return self.decoded.to_ndarray(format="bgr24")

    def use(self, image: np.ndarray) -> None:
        """Make ``image`` (BGR, full size: a denoised copy) this frame's picture from now on."""
        self.given = self.__dict__["image"] = image

    @property
    def size(self) -> tuple[int, int]:
        if self.given is not None:
            return self.given.shape[1], self.given.shape[0]
        if self.decoded is None:
            raise ValueError("a frame with no pixels")
        return self.decoded.width, self.decoded.height

    def grey(self, width: int) -> np.ndarray:
        """A grey picture ``width`` wide (aspect kept), scaled by FFmpeg straight from the decoded planes."""
        w, h = self.size
        height = max(int(h * width / w), 1)
        if self.decoded is not None and "image" not in self.__dict__:
            picture = self.decoded.reformat(width=width, height=height, format="gray", interpolation="AREA")
            return picture.to_ndarray()
        small = cv2.resize(self.image, (width, height), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)


@dataclass(frozen=True)
class SourceInfo:
    path: str
    width: int
    height: int
    fps: float
    frames: int  # as declared by the container (0 if unknown)
    duration_s: float  # as declared (0 if unknown)
    is_image: bool
    codec: str = ""
    recorded_at: str | None = None  # when the recording started (ISO 8601), from its metadata or name


@dataclass(frozen=True)
class PacketInfo:
    """One compressed frame, as the demuxer gives it: no decoding."""

    index: int  # in decode order
    time_s: float  # presentation time (estimated from the index where the stream has none)
    size: int
    keyframe: bool
    head: bytes | None = None  # the packet's first bytes, only when asked for (slice headers)


@dataclass(frozen=True)
class DecodePlan:
    """Where to decode everything: time ranges (start, end) in seconds; elsewhere keyframes only."""

    active: tuple[tuple[float, float], ...]
    keyframe_every_s: float

    def is_active(self, time_s: float) -> bool:
        return any(start <= time_s < end for start, end in self.active)


@dataclass(frozen=True)
class Window:
    """A part of a recording: from its keyframe at ``start_s`` to the keyframe at or after ``end_s``.

    Cut points are keyframes, so a part decodes on its own and two parts that share a keyframe
    interval decode it alike (closed GOPs; an open GOP's leading pictures are concealed by FFmpeg).
    """

    start_s: float
    end_s: float

    def holds(self, time_s: float) -> bool:
        return self.start_s - KEY_TOLERANCE_S <= time_s < self.end_s - KEY_TOLERANCE_S


KEY_TOLERANCE_S = 1e-3  # packet times are rounded to the stream's time base


def _check_size(path: Path, width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise InputError(
            f"{path.name}: frames of {width}x{height} are larger than the limit of {max_pixels:,} pixels "
            "(setting max_frame_pixels)"
        )


RAW_FORMATS = ("h264", "hevc", "mpegvideo", "mjpeg")  # elementary streams: no container timing


def _rate(stream: Any, raw: bool) -> float:
    """Frames per second: the container's; for a raw stream, the rate its own headers give (the
    demuxer otherwise assumes 25); else 25."""
    rates = (stream.guessed_rate, stream.average_rate) if raw else (stream.average_rate, stream.guessed_rate)
    for rate in (*rates, stream.base_rate):
        if rate and 0 < float(rate) <= MAX_FPS and math.isfinite(float(rate)):
            return float(rate)
    return RAW_STREAM_FPS


class VideoSource:
    """An opened video file or still image. :meth:`frames` may be iterated once, :meth:`packets` any time."""

    def __init__(self, path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"{self.path}: not a file")
        if self.path.stat().st_size == 0:
            raise InputError(f"{self.path.name}: empty file (0 bytes)")
        self._image: np.ndarray | None = None
        self.seekable = False  # has timestamps to cut it into parts by (not a still, not a raw stream)
        self.decoded = 0  # frames decoded so far
        self.read = 0  # packets read so far (every frame passes, decoded or not)
        if self.path.suffix.lower() in IMAGE_SUFFIXES:
            # sized from its header first: a small file may ask the decoder for gigabytes
            with open(self.path, "rb") as handle:
                try:
                    w, h = image_size(handle)
                except ImageHeaderError as exc:
                    raise InputError(f"{self.path.name}: {exc}") from None
                _check_size(self.path, w, h, max_pixels)
                handle.seek(0)
                data = np.fromfile(handle, np.uint8)
            # read by Python, decoded from memory: OpenCV crashes on file names that are not UTF-8
            self._image = cv2.imdecode(data, cv2.IMREAD_COLOR)
            if self._image is None:
                raise InputError(f"{self.path.name}: not a readable image")
            h, w = self._image.shape[:2]
            _check_size(self.path, w, h, max_pixels)
            self.info = SourceInfo(str(self.path), w, h, 0.0, 1, 0.0, True)
            return
        with self._open() as container:
            stream = container.streams.video[0]
            codec = stream.codec_context
            w, h = codec.width, codec.height
            if w <= 0 or h <= 0:
                raise InputError(f"{self.path.name}: no picture size in the video stream")
            _check_size(self.path, w, h, max_pixels)
            raw = container.format.name in RAW_FORMATS
            self.seekable = not raw and bool(stream.time_base)
            fps = _rate(stream, raw)
            count = max(int(stream.frames or 0), 0)
            duration = _duration(stream, container)
            start = recording_start(self.path.name, {**container.metadata, **stream.metadata})
            started = start.at if start is not None else None
        self.info = SourceInfo(
            str(self.path), w, h, fps, count, duration or (count / fps if count else 0.0), False, codec.name, started
        )

    def _open(self) -> Any:
        try:
            container = av.open(str(self.path), container_options={"format_whitelist": CONTAINER_FORMATS})
        except (av.error.FFmpegError, ValueError) as exc:
            why = getattr(exc, "strerror", None) or str(exc)
            raise InputError(f"{self.path.name}: not a readable video (FFmpeg could not open it: {why})") from None
        if not container.streams.video:
            container.close()
            raise InputError(f"{self.path.name}: no video stream")
        return container

    def close(self) -> None:
        """Nothing stays open between reads; kept for ``with``."""

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- packets, decoding nothing ------------------------------------------------------------
    def extradata(self) -> bytes | None:
        """The codec's configuration record (H.264 in MP4: the ``avcC`` with the parameter sets)."""
        if self._image is not None:
            return None
        with self._open() as container:
            data = container.streams.video[0].codec_context.extradata
        return bytes(data) if data else None

    def packets(self, with_head: bool = False) -> Iterator[PacketInfo]:
        """Every packet of the video stream in decode order: time, size, keyframe flag (and first bytes)."""
        if self._image is not None:
            return
        with self._open() as container:
            stream = container.streams.video[0]
            base = float(stream.time_base) if stream.time_base else 0.0
            start = _start_s(stream)
            index = 0
            try:
                for packet in container.demux(stream):
                    if packet.size == 0:
                        continue
                    time_s = (packet.pts * base - start) if packet.pts is not None else index / self.info.fps
                    head = bytes(memoryview(packet)[:PACKET_HEAD_BYTES]) if with_head else None
                    yield PacketInfo(index, time_s, packet.size, bool(packet.is_keyframe), head)
                    index += 1
            except av.error.FFmpegError as exc:
                log.warning("%s: reading stopped after %d packets: %s", self.path.name, index, exc)

    def keyframes_at(self, times: Sequence[float]) -> Iterator[Frame]:
        """The keyframes that start at ``times`` (seconds, as the scan found them), each decoded alone.

        A file with timestamps is sought to each one (a few packets read); a raw stream is read once
        from the start. A keyframe that cannot be found or decoded is left out; an error reading the
        file is raised (the caller decides what not finding them means)."""
        if self._image is not None or not times:
            return
        wanted = sorted(times)
        with self._open() as container:
            stream = container.streams.video[0]
            decoder = _keyframe_decoder(stream.codec_context)
            found: Iterator[tuple[float, Any]]
            if self.seekable:
                found = ((t, _keyframe_at(container, stream, t)) for t in wanted)
            else:
                found = _keyframes_in_order(container, stream, wanted, self.info.fps)
            for time_s, packet in found:
                if packet is None:
                    continue
                for frame in _decode_alone(decoder, packet, time_s, self.info.fps):
                    self.decoded += 1
                    yield frame

    # -- frames -------------------------------------------------------------------------------
    def frames(
        self,
        rate: float | None = 5.0,
        plan: DecodePlan | None = None,
        window: Window | None = None,
        skip_unused: bool = True,
        neighbours: int = 0,
        dark_luma: float = 0.0,
    ) -> Iterator[Frame]:
        """The frames to analyse, in order: about ``rate`` a second (None: all) where decoding everything,
        and the checked keyframes of still stretches; only those of ``window`` when given.
        ``skip_unused``: frames that no other frame refers to and no analysis takes are not decoded.
        ``neighbours``: while the analysed frames are dark (mean luma below ``dark_luma``), each comes
        with up to this many frames decoded just before it (decoded for it if skipping would not)."""
        if self._image is not None:
            self.decoded = self.read = 1
            yield Frame(0, 0.0, given=self._image)
            return
        with self._open() as container:
            yield from _Decoder(self, container, rate, plan, window, skip_unused, neighbours, dark_luma).frames()
        if self.read == 0 or self.decoded == 0:
            raise InputError(f"{self.path.name}: no frame could be decoded (corrupt or unsupported video)")
        declared = self.info.frames
        if window is None and declared > TRUNCATION_MIN_FRAMES and self.read < TRUNCATION_FRACTION * declared:
            raise InputError(f"{self.path.name}: truncated or corrupt: read {self.read} of {declared} frames")


def _keyframe_decoder(codec: Any) -> Any:
    """A decoder for keyframes alone, skipping the loop filter (the picture is for comparing, ~15 %
    cheaper); separate from any decoder whose state matters."""
    decoder = av.CodecContext.create(codec.name, "r")
    decoder.extradata = codec.extradata
    decoder.options = {"skip_loop_filter": "all"}
    return decoder


def _decode_alone(decoder: Any, packet: Any, time_s: float, fps: float) -> Iterator[Frame]:
    try:
        pictures = [*decoder.decode(packet), *decoder.decode(None)]
    except av.error.FFmpegError:
        pictures = []
    decoder.flush_buffers()
    for picture in pictures[:1]:
        yield Frame(int(round(time_s * fps)), time_s, picture, still=True)


def _packet_time_s(packet: Any, stream: Any, index: int, fps: float) -> float:
    base = float(stream.time_base) if stream.time_base else 0.0
    if packet.pts is not None and base:
        return float(packet.pts * base - _start_s(stream))
    return index / fps


SEEK_BACK_S = (0.0, 5.0, 30.0)  # a seek may land after its target (MPEG-TS has no index): try earlier


def _keyframe_at(container: Any, stream: Any, time_s: float) -> Any:
    """The keyframe packet at ``time_s`` (within the time base's rounding), sought to: from a seek at or
    before it, packets are read forward to it. None if there is none."""
    base = float(stream.time_base)
    for back_s in SEEK_BACK_S:
        target = max(time_s - back_s, 0.0)
        container.seek(int((target + _start_s(stream)) / base), stream=stream, backward=True, any_frame=False)
        for packet in container.demux(stream):
            if packet.size == 0 or not packet.is_keyframe or packet.pts is None:
                continue
            found = _packet_time_s(packet, stream, 0, 1.0)
            if found < time_s - KEY_TOLERANCE_S:
                continue  # before it: read on
            if found <= time_s + KEY_TOLERANCE_S:
                return packet
            break  # landed past it: seek further back
        if target == 0.0:
            return None
    return None


def _keyframes_in_order(container: Any, stream: Any, wanted: list[float], fps: float) -> Iterator[tuple[float, Any]]:
    """One pass from the start: the keyframe packets at the ``wanted`` times (sorted)."""
    index, position = 0, 0
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            time_s = _packet_time_s(packet, stream, index, fps)
            index += 1
            while position < len(wanted) and wanted[position] < time_s - KEY_TOLERANCE_S:
                position += 1
            if position == len(wanted):
                return
            if packet.is_keyframe and abs(time_s - wanted[position]) <= KEY_TOLERANCE_S:
                yield time_s, packet
                position += 1
    except av.error.FFmpegError:
        return


class _Decoder:
    """One pass over the packets: decodes what the plan asks for, yields the frames to analyse."""

    def __init__(
        self,
        source: VideoSource,
        container: Any,
        rate: float | None,
        plan: DecodePlan | None,
        window: Window | None,
        skip_unused: bool = True,
        neighbours: int = 0,
        dark_luma: float = 0.0,
    ) -> None:
        self.source = source
        self.container = container
        self.stream = container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self.codec = self.stream.codec_context
        self.fps = source.info.fps
        self.base = float(self.stream.time_base) if self.stream.time_base else 0.0
        self.start = _start_s(self.stream)
        self.interval = 1.0 / rate if rate else 0.0
        self.plan = plan
        self.window = window
        self.next_analysis = window.start_s if window else 0.0
        self.grid_origin = self.next_analysis
        self.skip_unused = skip_unused and bool(self.interval)
        self.demuxed_times: list[float] = []  # recent packet times, sorted: which frame precedes which
        self.tolerance = 0.5 / self.fps
        self.next_check = window.start_s if window else 0.0
        self.output_base = 0  # display index of the first frame since the decoder was last restarted
        self.outputs = 0
        self.keyframes: Any = None  # the decoder for still stretches' keyframes, made when first needed
        self.neighbours = neighbours  # frames handed with a dark analysed frame (see VideoSource.frames)
        self.dark_luma = dark_luma
        self.dark = False  # the last analysed frame was dark: the next ones' predecessors are kept
        self.recent: deque[tuple[float, av.VideoFrame]] = deque(maxlen=max(neighbours, 1))

    def frames(self) -> Iterator[Frame]:
        index = 0
        decoding = True  # feeding the decoder contiguous packets (not skipping)
        started = self.window is None
        if self.window is not None:
            self._seek(self.window.start_s)
        try:
            for packet in self.container.demux(self.stream):
                if packet.size == 0:
                    continue
                time_s = self._packet_time(packet, index)
                if not started:  # before the window (the seek landed on an earlier keyframe)
                    if not (packet.is_keyframe and self.window.holds(time_s)):  # type: ignore[union-attr]
                        continue
                    started = True
                elif self.window is not None and packet.is_keyframe and not self.window.holds(time_s):
                    break  # the keyframe that ends the window: everything before it is decoded
                self.source.read += 1
                active = self.plan is None or self.plan.is_active(time_s)
                if not active:
                    if decoding:  # leaving an active stretch: finish its frames
                        yield from self._drain()
                        decoding = False
                    if packet.is_keyframe and time_s >= self.next_check:
                        self.next_check = time_s + self.plan.keyframe_every_s  # type: ignore[union-attr]
                        yield from self._check_keyframe(packet, index, time_s)
                elif decoding or packet.is_keyframe:
                    if not decoding:
                        self.output_base, decoding = index, True
                    yield from self._decode(packet)
                index += 1
            if decoding:
                yield from self._drain()
        except av.error.FFmpegError as exc:
            log.warning("%s: reading stopped after %d packets: %s", self.source.path.name, index, exc)

    def _seek(self, time_s: float) -> None:
        """To the keyframe at or before ``time_s`` (only streams with timestamps are cut into windows)."""
        if time_s <= KEY_TOLERANCE_S or not self.base:
            return
        target = int((time_s + self.start) / self.base)
        self.container.seek(target, stream=self.stream, backward=True, any_frame=False)

    def _packet_time(self, packet: Any, index: int) -> float:
        if packet.pts is not None:
            return float(packet.pts * self.base - self.start)
        return index / self.fps

    def _check_keyframe(self, packet: Any, index: int, time_s: float) -> Iterator[Frame]:
        """A still stretch's keyframe, decoded alone by a second decoder that skips the loop filter
        (the picture is for comparing, ~15 % cheaper) and keeps the main one's state untouched."""
        if self.keyframes is None:
            self.keyframes = _keyframe_decoder(self.codec)
        for frame in _decode_alone(self.keyframes, packet, time_s, self.fps):
            self.source.decoded += 1
            if not self.base:
                frame.index = index
            yield frame

    def _decode(self, packet: Any, still: bool = False) -> Iterator[Frame]:
        if self.skip_unused and packet.pts is not None and self.base:
            # a frame no reference needs and no analysis takes is not decoded at all (B-frames, mostly)
            time_s = float(packet.pts * self.base - self.start)
            wanted = self._may_be_analysed(time_s) or (self.dark and self._is_neighbour(time_s))
            self.codec.skip_frame = "DEFAULT" if wanted else "NONREF"  # a reference frame is decoded anyway
        try:
            decoded = self.codec.decode(packet)
        except av.error.InvalidDataError:
            return  # a damaged packet: FFmpeg conceals what it can in the frames that follow
        for picture in decoded:
            yield from self._emit(picture, still)

    def _drain(self, still: bool = False) -> Iterator[Frame]:
        """Everything the decoder still holds, then a fresh start (the next packet may be far ahead)."""
        try:
            for picture in self.codec.decode(None):
                yield from self._emit(picture, still)
        except av.error.FFmpegError:
            pass
        self.codec.flush_buffers()
        self.outputs = 0
        self.demuxed_times.clear()
        self.recent.clear()

    def _emit(self, picture: av.VideoFrame, still: bool) -> Iterator[Frame]:
        self.source.decoded += 1
        index = self.output_base + self.outputs
        self.outputs += 1
        if picture.pts is not None and self.base:
            time_s = float(picture.pts * self.base - self.start)
            index = max(int(round(time_s * self.fps)), 0)
        else:
            time_s = index / self.fps
        if still:
            yield Frame(index, time_s, picture, still=True)
            return
        if time_s + self.tolerance >= self.next_analysis:
            self.next_analysis = self._grid_after(time_s + self.tolerance) if self.interval else time_s
            frame = Frame(index, time_s, picture)
            if self.neighbours:
                self._hand_neighbours(frame)
            yield frame
        elif self.dark:
            self.recent.append((time_s, picture))

    # A dark analysed frame comes with the frames just before it (temporal denoising). Whether the next
    # analysed frame will be dark is judged from the last one (night does not fall in a fifth of a
    # second); only then are its predecessors kept, and decoded where skipping would leave them out,
    # so footage that is not dark decodes and holds exactly what it did without this.
    def _hand_neighbours(self, frame: Frame) -> None:
        reach = (self.neighbours + 0.5) / self.fps
        frame.neighbours = [p for t, p in self.recent if frame.time_s - reach <= t < frame.time_s][-self.neighbours :]
        self.recent.clear()
        self.dark = float(frame.grey(DARK_SAMPLE_WIDTH).mean()) < self.dark_luma

    def _is_neighbour(self, time_s: float) -> bool:
        """Whether the frame at ``time_s`` is one of the ``neighbours`` before the next analysed frame."""
        if not self.interval:
            return True
        steps = math.ceil((time_s - self.tolerance - self.grid_origin) / self.interval)
        point = max(self.grid_origin + max(steps, 0) * self.interval, self.next_analysis)
        return point - time_s <= (self.neighbours + 0.5) / self.fps

    # Analysed frames are the first at or after each point of a fixed grid (``interval`` apart, from the
    # start): which frames those are follows from their times alone, so a packet can be judged before
    # it is decoded (a frame whose time is not just past a grid point is never analysed).
    def _grid_after(self, time_s: float) -> float:
        """The first grid point after ``time_s``."""
        steps = math.floor((time_s - self.grid_origin) / self.interval) + 1
        return self.grid_origin + max(steps, 0) * self.interval

    def _may_be_analysed(self, time_s: float) -> bool:
        """Whether the frame at ``time_s`` would be analysed if every frame were decoded: a grid point lies
        between the frame before it and it (or the point the analysis waits for now does).

        The frame before it is the latest one demuxed so far with an earlier time. A frame no other
        refers to comes after all the frames before it in decode order, so for the frames that can be
        skipped this is exact, whatever the gaps between frames (variable frame rates); for the others
        it can only say yes too often, and they are decoded anyway."""
        before = self._earlier(time_s)
        if before is None:
            return True
        low, high = before + self.tolerance, time_s + self.tolerance
        return self._grid_after(low) <= high + 1e-9 or low < self.next_analysis <= high + 1e-9

    def _earlier(self, time_s: float) -> float | None:
        """The latest frame time demuxed so far before ``time_s`` (None: none since the last restart);
        ``time_s`` is remembered for the frames after it."""
        seen = self.demuxed_times
        at = bisect.bisect_left(seen, time_s)
        before = seen[at - 1] if at else None
        seen.insert(at, time_s)
        if len(seen) > DEMUXED_KEPT:
            del seen[: len(seen) - DEMUXED_KEPT]
        return before


def _start_s(stream: Any) -> float:
    if stream.start_time is not None and stream.time_base:
        return float(stream.start_time * stream.time_base)
    return 0.0


def _duration(stream: Any, container: Any) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return float(Fraction(container.duration, av.time_base))
    return 0.0
