"""Numpy box utilities for the MTCNN cascade.

Boxes are float arrays of shape (N, 4) as ``x1, y1, x2, y2`` in pixels; scores are (N,).
"""

from __future__ import annotations

import numpy as np

CELL_SIZE = 12  # PNet's receptive field in pixels
CELL_STRIDE = 2  # PNet's output stride


def pyramid_scales(
    width: int, height: int, min_face: float, factor: float = 0.709, min_size: int = CELL_SIZE
) -> list[float]:
    """Scales at which PNet's 12 px window sees faces from ``min_face`` px up to the whole frame.

    The ``mtcnn`` package counts its scales from the unscaled frame, so above ``min_face=20`` its
    last scales shrink the frame below 12 px and it returns nothing; here the pyramid stops there.
    """
    if min_face < min_size:
        raise ValueError(f"min_face must be >= {min_size} px, got {min_face}")
    scale = min_size / float(min_face)
    side = min(width, height) * scale
    scales = []
    while side >= min_size:
        scales.append(scale)
        scale *= factor
        side *= factor
    return scales


def iou_matrix(a: np.ndarray, b: np.ndarray, method: str = "union") -> np.ndarray:
    """Pairwise overlap of boxes ``a`` (N, 4) and ``b`` (M, 4), by union or by the smaller area."""
    ax1, ay1, ax2, ay2 = (a[:, i : i + 1] for i in range(4))
    bx1, by1, bx2, by2 = (b[:, i] for i in range(4))
    iw = np.clip(np.minimum(ax2, bx2) - np.maximum(ax1, bx1), 0, None)
    ih = np.clip(np.minimum(ay2, by2) - np.maximum(ay1, by1), 0, None)
    inter = iw * ih
    area_a = (ax2 - ax1) * (ay2 - ay1)
    area_b = (bx2 - bx1) * (by2 - by1)
    denom = np.minimum(area_a, area_b) if method == "min" else area_a + area_b - inter
    return inter / np.maximum(denom, 1e-9)


STRIP_BOXES = 256  # boxes per strip in NMS: smaller strips, fewer neighbours to compare


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, method: str = "union") -> np.ndarray:
    """Non-maximum suppression as the ``mtcnn`` package does it; returns kept indices, best first.

    A box is dropped when any higher-scored box overlaps it by more than ``threshold``, whether or
    not that box was kept itself ("fast NMS"). It suppresses a little more than greedy NMS; the
    cascade keeps it so its proposals, and so its faces, are those of the reference package.

    Only boxes that intersect can overlap, so each box is compared with its neighbours along x only
    (boxes sorted by left edge, compared in strips): the same boxes are kept as comparing every pair,
    but a noisy night frame's 17,000 PNet proposals cost a few comparisons each instead of 17,000.
    """
    order = np.argsort(-scores, kind="stable")
    ranked = boxes[order].astype(np.float64, copy=False)
    return order[~_dropped_by_strips(ranked, threshold, method)]


def _dropped_by_strips(ranked: np.ndarray, threshold: float, method: str) -> np.ndarray:
    """Fast NMS's verdict for boxes given best first, comparing each only with boxes it may intersect."""
    n = len(ranked)
    if n == 0:
        return np.zeros(0, dtype=bool)
    by_left = np.argsort(ranked[:, 0], kind="stable")
    lefts = ranked[by_left, 0]
    widest = float(np.max(ranked[:, 2] - ranked[:, 0]))
    dropped = np.zeros(n, dtype=bool)
    for start in range(0, n, STRIP_BOXES):
        rows = by_left[start : start + STRIP_BOXES]  # ranks of a strip of boxes, neighbours along x
        lo = np.searchsorted(lefts, lefts[start] - widest, side="left")
        hi = np.searchsorted(lefts, float(np.max(ranked[rows, 2])), side="right")
        cols = by_left[lo:hi]
        overlap = iou_matrix(ranked[rows], ranked[cols], method)
        dropped[rows] = ((overlap > threshold) & (cols[None, :] < rows[:, None])).any(axis=1)
    return dropped


def square(boxes: np.ndarray) -> np.ndarray:
    """Grow each box to a square around its centre (the next net's input is square)."""
    out = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    out[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    out[:, 2] = out[:, 0] + side
    out[:, 3] = out[:, 1] + side
    return out


def regress(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Apply RNet/ONet box offsets (fractions of the box size) to ``boxes``."""
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    return boxes + offsets * np.stack([w, h, w, h], axis=1)


def pnet_candidates(prob: np.ndarray, reg: np.ndarray, scale: float, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Turn one PNet output map (h, w) / (h, w, 4) into boxes in frame pixels with scores."""
    ys, xs = np.nonzero(prob > threshold)
    if ys.size == 0:
        return np.empty((0, 4)), np.empty((0,))
    scores = prob[ys, xs].astype(np.float64)
    offsets = reg[ys, xs].astype(np.float64)
    # The reference's window is [2i + 1, 2i + 12]: the original MATLAB code's 1-based corners.
    x1 = xs * CELL_STRIDE + 1
    y1 = ys * CELL_STRIDE + 1
    side = CELL_SIZE - 1
    boxes = np.stack([x1, y1, x1 + side, y1 + side], axis=1).astype(np.float64)
    boxes = boxes + offsets * side
    return boxes / scale, scores


def clip_boxes(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Clamp boxes to the frame (never mirror: the original script used ``abs()``)."""
    out = boxes.copy()
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, width - 1)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, height - 1)
    return out
