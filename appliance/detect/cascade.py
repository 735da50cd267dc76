"""The MTCNN cascade (Zhang et al. 2016) in numpy, independent of how the three nets run.

PNet proposes windows over a scale pyramid, RNet refines them on 24x24 patches and ONet on
48x48 patches, adding five landmarks. A :class:`NetRunner` runs the nets (TensorFlow or TFLite);
everything else, and so every decision about which faces come out, lives here, so both backends
give the same faces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

import cv2
import numpy as np

from ..common.timing import step
from . import boxes as bx
from .face import Face
from .judge import ENLARGED, Judge
from .judge import rows as judge_rows

# One helper thread per process resizes pyramid levels while PNet runs (see Cascade._stage_pnet);
# shared by every cascade, so detectors made for other minimum face sizes add no threads.
_RESIZER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pyramid")
# The lanes after the caller's own (Cascade ``lanes``): threads that run nets beside it. Shared by every
# cascade of the process, and sized by the largest ``lanes`` asked for.
_LANES: list[ThreadPoolExecutor] = []
# RNet/ONet batches smaller than this run in one lane: handing them over costs more than it saves
MIN_LANE_PATCHES = 32

T = TypeVar("T")
R = TypeVar("R")


class NetRunner(Protocol):
    """Runs the three MTCNN nets on normalised RGB float32 input ((pixel - 127.5) / 128)."""

    name: str

    def pnet(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, H, W, 3) -> face probability (N, h, w) and box offsets (N, h, w, 4)."""
        ...

    def rnet(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 24, 24, 3) -> face probability (N,) and box offsets (N, 4)."""
        ...

    def onet(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(N, 48, 48, 3) -> face probability (N,), box offsets (N, 4), landmarks (N, 10)."""
        ...


@dataclass(frozen=True)
class CascadeSettings:
    """Detection parameters; the defaults are those of the ``mtcnn`` package 1.0."""

    min_face: float = 20.0
    scale_factor: float = 0.709
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.8)
    nms_pnet_scale: float = 0.5
    nms_pnet: float = 0.7
    nms_rnet: float = 0.7
    nms_onet: float = 0.7
    # the final judge (judge.py): ONet's candidates from the judge's floor, kept by its model (on the
    # dev photos' held-out half: recall 0.704 -> 0.732 at the same precision, 0.922 -> 0.920, and
    # 12-20 px faces found 170 -> 186; docs/detection-quality.md)
    judge: bool = True
    # None: the judge's own rule (judge.json); a number: faces kept from this probability whatever ONet
    # said (a recall/precision sweep)
    judge_threshold: float | None = None


def normalise(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB -> the nets' input range, ``(pixel - 127.5) / 128`` as the ``mtcnn`` package does it.

    One pass in OpenCV (``pixel / 128 - 127.5 / 128``, exact in float32 for 8-bit pixels): a sixth of
    the numpy expression's time on a 1080p frame, the same values.
    """
    return cv2.addWeighted(rgb, 1.0 / 128.0, rgb, 0.0, -127.5 / 128.0, dtype=cv2.CV_32F)


def extract_patches(image: np.ndarray, boxes: np.ndarray, size: int, chunk: int = 512) -> np.ndarray:
    """Bilinear ``size``x``size`` samples of each box from a normalised image, zero outside the frame.

    Same sampling as ``tf.image.crop_and_resize`` as the ``mtcnn`` package calls it (box corners
    divided by the frame size, corner-aligned grid), so RNet/ONet see what they saw in the package.
    The four neighbours are gathered by flat index (``np.take``: twice as fast as 2-D fancy indexing)
    and blended in place; the values are the same.
    """
    height, width = image.shape[:2]
    flat = image.reshape(-1, image.shape[2])
    out = np.empty((len(boxes), size, size, image.shape[2]), dtype=np.float32)
    steps = np.arange(size, dtype=np.float64) / max(size - 1, 1)
    for start in range(0, len(boxes), chunk):
        b = boxes[start : start + chunk].astype(np.float64)
        ys = (b[:, 1:2] / height) * (height - 1) + steps * ((b[:, 3:4] - b[:, 1:2]) / height) * (height - 1)
        xs = (b[:, 0:1] / width) * (width - 1) + steps * ((b[:, 2:3] - b[:, 0:1]) / width) * (width - 1)
        inside = ((ys >= 0) & (ys <= height - 1))[:, :, None] & ((xs >= 0) & (xs <= width - 1))[:, None, :]
        y0 = np.clip(np.floor(ys), 0, height - 1).astype(np.int64)
        x0 = np.clip(np.floor(xs), 0, width - 1).astype(np.int64)
        wy = (ys - y0)[:, :, None, None].astype(np.float32)
        wx = (xs - x0)[:, None, :, None].astype(np.float32)
        rows0, rows1 = (y0 * width)[:, :, None], (np.minimum(y0 + 1, height - 1) * width)[:, :, None]
        cols0, cols1 = x0[:, None, :], np.minimum(x0 + 1, width - 1)[:, None, :]
        top = np.take(flat, rows0 + cols0, axis=0)
        right = np.take(flat, rows0 + cols1, axis=0)
        right -= top
        right *= wx
        top += right  # the top row blended across
        bottom = np.take(flat, rows1 + cols0, axis=0)
        right = np.take(flat, rows1 + cols1, axis=0)
        right -= bottom
        right *= wx
        bottom += right  # the bottom row blended across
        bottom -= top
        bottom *= wy
        top += bottom  # and the two blended down
        top *= inside[..., None]
        out[start : start + chunk] = top
    return out


def split_levels(scales: Sequence[float], lanes: int) -> list[list[int]]:
    """The pyramid levels (indices of ``scales``) each lane runs: largest first, each to the lane with the
    least work so far (work ~ the level's area). For two lanes the first level (half of all the
    work, as the scale factor ~0.71 halves the area each step) runs beside all the others."""
    split: list[list[int]] = [[] for _ in range(lanes)]
    work = [0.0] * lanes
    for k in sorted(range(len(scales)), key=lambda k: -scales[k]):
        lane = work.index(min(work))
        split[lane].append(k)
        work[lane] += scales[k] ** 2
    return split


class Cascade:
    """MTCNN over one or more RGB frames, with the nets run by ``runner``."""

    def __init__(self, runner: NetRunner, settings: CascadeSettings | None = None, lanes: int = 1) -> None:
        """``lanes``: how many net calls may run at once (threads; the runner must allow it, as both do:
        TFLite keeps interpreters per thread). A 1080p frame's pyramid is split so that its largest
        level (half of PNet's work) runs beside all the others, and large RNet/ONet batches in halves:
        on two cores a whole-frame search takes ~0.6x the time, with the same faces."""
        self.runner = runner
        self.settings = settings or CascadeSettings()
        self.lanes = max(int(lanes), 1)
        while len(_LANES) < self.lanes - 1:
            _LANES.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"net-lane-{len(_LANES) + 1}"))

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Faces in one RGB uint8 frame."""
        return self.detect_batch([rgb])[0]

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[list[Face]]:
        """Faces in each of several RGB uint8 frames; same-sized frames share PNet/RNet/ONet calls."""
        if not frames:
            return []
        frames = [normalise(f) for f in frames]
        proposals = self._stage_pnet(frames)
        refined = self._stage_rnet(frames, proposals)
        return self._stage_onet(frames, refined)

    def face_scores(self, rgb: np.ndarray, boxes_xyxy: np.ndarray, squared: bool = False) -> np.ndarray:
        """ONet's face probability for each box in ``rgb``, as a second opinion on faces found elsewhere.

        The boxes are squared as the cascade squares its candidates, so ONet sees what it is used to
        (``squared``: they are already, as the caller placed them).
        """
        if len(boxes_xyxy) == 0:
            return np.empty(0, dtype=np.float32)
        boxes = np.asarray(boxes_xyxy, dtype=np.float64)
        patches = extract_patches(normalise(rgb), boxes if squared else bx.square(boxes), 48)
        return np.asarray(self.runner.onet(patches)[0], dtype=np.float32).reshape(-1)

    # -- stage 1 -----------------------------------------------------------------------------
    def _stage_pnet(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        s = self.settings
        per_frame: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in frames]
        groups: dict[tuple[int, int], list[int]] = {}
        for i, frame in enumerate(frames):
            groups.setdefault(frame.shape[:2], []).append(i)
        for (height, width), idx in groups.items():
            scales = bx.pyramid_scales(width, height, s.min_face, s.scale_factor)

            def level(scale: float, idx: list[int] = idx, width: int = width, height: int = height) -> np.ndarray:
                size = (max(int(width * scale), 1), max(int(height * scale), 1))
                return np.stack([cv2.resize(frames[i], size, interpolation=cv2.INTER_AREA) for i in idx])

            def candidates(
                scale: float, batch: np.ndarray, idx: list[int] = idx
            ) -> list[tuple[np.ndarray, np.ndarray] | None]:
                with step("pnet"):
                    prob, reg = self.runner.pnet(batch)
                found: list[tuple[np.ndarray, np.ndarray] | None] = []
                for j in range(len(idx)):
                    boxes, scores = bx.pnet_candidates(prob[j], reg[j], scale, s.thresholds[0])
                    keep = bx.nms(boxes, scores, s.nms_pnet_scale) if len(boxes) else None
                    found.append((boxes[keep], scores[keep]) if keep is not None else None)
                return found

            for level_found in self._by_level(scales, level, candidates):
                for i, at_level in zip(idx, level_found, strict=True):
                    if at_level is not None:
                        per_frame[i].append(at_level)
        out = []
        for found in per_frame:
            if not found:
                out.append(np.empty((0, 4)))
                continue
            boxes = np.concatenate([b for b, _ in found])
            scores = np.concatenate([c for _, c in found])
            keep = bx.nms(boxes, scores, s.nms_pnet)
            out.append(bx.square(boxes[keep]))
        return out

    def _by_level(self, scales: Sequence[float], make: Callable[[float], T], use: Callable[[float, T], R]) -> list[R]:
        """``use(scale, make(scale))`` for each pyramid level, in the order of ``scales``: with one lane the
        next level is made (resized) in a helper thread while this one is used (both release the GIL, so
        on two cores the resizing, a quarter of a 1080p frame's time, is hidden); with more, the levels
        are shared between the lanes (:func:`split_levels`), each making and using its own."""
        if self.lanes == 1:
            return [use(scale, made) for scale, made in zip(scales, _RESIZER.map(make, scales), strict=True)]

        def run(levels: list[int]) -> dict[int, R]:
            return {k: use(scales[k], make(scales[k])) for k in levels}

        mine, *others = split_levels(scales, self.lanes)
        futures = [lane.submit(copy_context().run, run, levels) for lane, levels in zip(_LANES, others, strict=False)]
        done = run(mine)
        for future in futures:
            done.update(future.result())
        return [done[k] for k in range(len(scales))]

    def _net_on_boxes(
        self,
        name: str,
        net: Callable[[np.ndarray], tuple],
        frames: Sequence[np.ndarray],
        boxes: Sequence[np.ndarray],
        size: int,
    ) -> tuple:
        """``net`` on the ``size`` x ``size`` patch of every box of every frame, outputs in that order. A
        large batch is split over the lanes, each sampling its own patches (numpy and the nets release
        the GIL); every patch's output is what one call gives it."""
        owner = np.repeat(np.arange(len(frames)), [len(b) for b in boxes])
        flat = np.concatenate([b for b in boxes if len(b)])

        def run(lo: int, hi: int) -> tuple:
            rows, owners = flat[lo:hi], owner[lo:hi]
            patches = np.concatenate([extract_patches(frames[i], rows[owners == i], size) for i in np.unique(owners)])
            with step(name):
                return net(patches)

        parts = max(min(self.lanes, len(flat) // MIN_LANE_PATCHES), 1)
        bounds = np.linspace(0, len(flat), parts + 1).astype(int)
        chunks = list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))
        futures = [
            lane.submit(copy_context().run, run, *chunk) for lane, chunk in zip(_LANES, chunks[1:], strict=False)
        ]
        outputs = [run(*chunks[0]), *(future.result() for future in futures)]
        if len(outputs) == 1:
            return outputs[0]
        return tuple(np.concatenate(column) for column in zip(*outputs, strict=True))

    # -- stage 2 -----------------------------------------------------------------------------
    def _stage_rnet(self, frames: Sequence[np.ndarray], proposals: list[np.ndarray]) -> list[np.ndarray]:
        s = self.settings
        counts = [len(p) for p in proposals]
        if sum(counts) == 0:
            return proposals
        prob, offsets = self._net_on_boxes("rnet", self.runner.rnet, frames, proposals, 24)
        out, start = [], 0
        for boxes, n in zip(proposals, counts, strict=True):
            p, o = prob[start : start + n], offsets[start : start + n]
            start += n
            mask = p > s.thresholds[1]
            if not mask.any():
                out.append(np.empty((0, 4)))
                continue
            boxes, scores = bx.regress(boxes[mask], o[mask].astype(np.float64)), p[mask]
            keep = bx.nms(boxes, scores, s.nms_rnet)
            out.append(bx.square(boxes[keep]))
        return out

    # -- stage 3 -----------------------------------------------------------------------------
    def _stage_onet(self, frames: Sequence[np.ndarray], refined: list[np.ndarray]) -> list[list[Face]]:
        s = self.settings
        counts = [len(r) for r in refined]
        if sum(counts) == 0:
            return [[] for _ in frames]
        prob, offsets, marks = self._net_on_boxes("onet", self.runner.onet, frames, refined, 48)
        results: list[list[Face]] = []
        start = 0
        for frame, boxes, n in zip(frames, refined, counts, strict=True):
            p, o, m = prob[start : start + n], offsets[start : start + n], marks[start : start + n]
            start += n
            mask = p > (Judge.load().floor if s.judge else s.thresholds[2])
            if not mask.any():
                results.append([])
                continue
            boxes, p, o, m = boxes[mask], p[mask], o[mask].astype(np.float64), m[mask].astype(np.float64)
            w = boxes[:, 2:3] - boxes[:, 0:1] + 1
            h = boxes[:, 3:4] - boxes[:, 1:2] + 1
            lx = w * m[:, 0:5] + boxes[:, 0:1] - 1
            ly = h * m[:, 5:10] + boxes[:, 1:2] - 1
            boxes = bx.regress(boxes, o)
            keep = bx.nms(boxes, p, s.nms_onet, method="min")
            height, width = frame.shape[:2]
            clipped = bx.clip_boxes(boxes[keep], width, height)
            faces = []
            for k, (x1, y1, x2, y2) in zip(keep, clipped, strict=True):
                marks_k = tuple((float(lx[k, j]), float(ly[k, j])) for j in range(5))
                faces.append(Face((float(x1), float(y1), float(x2 - x1), float(y2 - y1)), float(p[k]), marks_k))
            results.append(faces)
        return self._judged(frames, results) if s.judge else results

    def _judged(self, frames: Sequence[np.ndarray], found: list[list[Face]]) -> list[list[Face]]:
        """The faces the final judge keeps in each of ``frames`` (normalised): one ONet and one RNet call
        for all of them (a batch of followed faces' patches is many small frames)."""
        boxes = [np.array([f.xyxy for f in faces], dtype=np.float64).reshape(-1, 4) for faces in found]
        if sum(len(b) for b in boxes) == 0:
            return found
        with step("judge"):
            opinions = self.second_opinions(frames, boxes)
            judge = Judge.load()
            flat = [face for faces in found for face in faces]
            probabilities = judge.probabilities(judge_rows(flat, opinions))
        out, start = [], 0
        for faces in found:
            scored = [
                replace(f, score=float(p))
                for f, p in zip(faces, probabilities[start : start + len(faces)], strict=True)
            ]
            start += len(faces)
            out.append([face for face in scored if self._judge_keeps(judge, face)])
        return out

    def _judge_keeps(self, judge: Judge, face: Face) -> bool:
        if self.settings.judge_threshold is not None:
            return face.rank >= self.settings.judge_threshold
        return judge.keeps(face.rank, face.confidence, self.settings.thresholds[2])

    def second_opinions(self, frames: Sequence[np.ndarray], boxes_xyxy: Sequence[np.ndarray]) -> np.ndarray:
        """The nets' second opinions of final boxes (one (N, 4) array per normalised frame), one row (4)
        per box, all frames' boxes in order: ONet on the box, on its mirror image and on the box grown
        by ``ENLARGED``, and RNet on the box (one ONet and one RNet call)."""
        small, large, grown = [], [], []
        for frame, boxes in zip(frames, boxes_xyxy, strict=True):
            if not len(boxes):
                continue
            squared = bx.square(boxes)
            centre, half = (squared[:, :2] + squared[:, 2:]) / 2, (squared[:, 2:] - squared[:, :2]) / 2 * ENLARGED
            large.append(extract_patches(frame, squared, 48))
            grown.append(extract_patches(frame, np.hstack([centre - half, centre + half]), 48))
            small.append(extract_patches(frame, squared, 24))
        patches = np.concatenate(large)
        onet = np.asarray(self.runner.onet(np.concatenate([patches, patches[:, :, ::-1], *grown]))[0])
        rnet = np.asarray(self.runner.rnet(np.concatenate(small))[0])
        return np.column_stack([*onet.reshape(3, -1), rnet.reshape(-1)])
