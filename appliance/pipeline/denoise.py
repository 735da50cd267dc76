"""Temporal denoising of a dark video frame: its decoded neighbours aligned to it and averaged in.

Sensor noise is new in every frame, the faces are not: averaging ``n`` aligned frames divides the
noise's standard deviation by about sqrt(n). Each neighbour is aligned to the analysed frame by dense
optical flow (OpenCV's DIS) computed on a downscaled, contrast-stretched luminance, where the noise is
averaged away and the flow stays cheap, then its full-size luminance is warped and averaged in.
Where the alignment fails (a limb moved differently, something appeared) the warped neighbour
disagrees with the frame by more than the noise does; it is weighted down there, so moving faces stay
sharp and nothing is ghosted in. Only the luminance is averaged (the detector's evidence, and a
third of the work of the colour image); the colour, at half resolution in the footage anyway, is
smoothed in the frame itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import cv2
import numpy as np

FLOW_WIDTH = 480  # the luminance the flow is computed on is downscaled to this width
# agreement between a warped neighbour and the frame, on the blurred small luminance, in units of the
# typical disagreement (the median: the noise level where most of the picture aligns): beyond this
# many, the neighbour is not used there
AGREEMENT_UNITS = 3.0
MIN_NOISE = 1.0  # grey levels: a floor for the noise level of a clean, static scene
CHROMA_SMOOTHING = 4  # the colour planes are averaged over blocks this wide and scaled back
MAX_NEIGHBOURS = 7  # 8 frames in all: the noise divided by 2.8
NEIGHBOURS = 4  # the frames before a dark analysed frame averaged into it in video (5 in all)


@cache
def _flow_engine() -> cv2.DISOpticalFlow:
    return cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_FAST)


def luma(image: np.ndarray) -> np.ndarray:
    """A BGR frame's luminance, as its denoised copy will hold it."""
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def _small(plane: np.ndarray) -> np.ndarray:
    """``plane`` :data:`FLOW_WIDTH` wide (aspect kept), area-averaged: the noise is averaged down with it."""
    height, width = plane.shape[:2]
    small_width = min(FLOW_WIDTH, width)
    size = (small_width, max(int(round(height * small_width / width)), 1))
    return cv2.resize(plane, size, interpolation=cv2.INTER_AREA)


def _stretched(plane: np.ndarray, low: float, high: float) -> np.ndarray:
    """The small luminance mapped from [low, high] onto 0-255: a dark frame's faces get gradients the
    flow can follow (the same mapping for the frame and its neighbours)."""
    scale = 255.0 / max(high - low, 8.0)
    return cv2.convertScaleAbs(plane, alpha=scale, beta=-low * scale)


def denoise(image: np.ndarray, neighbours: Sequence[np.ndarray]) -> np.ndarray:
    """``image`` (BGR uint8) with its luminance averaged with the ``neighbours``' (luminance planes of
    the same size, see :func:`luma`), each aligned to it; where one does not agree with the frame
    after alignment, the frame's own pixels stand in for it. ``image`` itself if there are none."""
    height, width = image.shape[:2]
    neighbours = [n for n in neighbours if n.shape == (height, width)][:MAX_NEIGHBOURS]
    if not neighbours:
        return image
    reference, red, blue = cv2.split(cv2.cvtColor(image, cv2.COLOR_BGR2YCrCb))
    small = _small(reference)
    low, high = (float(v) for v in np.percentile(small, (1, 99.5)))
    target = _stretched(small, low, high)
    scale = np.array([width / target.shape[1], height / target.shape[0]], np.float32)
    # the small grid in full-size pixels: scaled up bilinearly, it is the full-size grid (a linear map)
    origin = (_grid(target.shape[1], target.shape[0]) + 0.5) * scale - 0.5
    total = reference.astype(np.uint16)
    for neighbour in neighbours:
        moving = _stretched(_small(neighbour), low, high)
        flow = _flow_engine().calc(target, moving, np.zeros((*target.shape, 2), np.float32))
        agrees = cv2.resize(_agreement(target, moving, flow), (width, height), interpolation=cv2.INTER_NEAREST)
        where = cv2.resize(origin + flow * scale, (width, height), interpolation=cv2.INTER_LINEAR)
        aligned = reference.copy()
        cv2.copyTo(_warped(neighbour, where), agrees, aligned)
        total = np.asarray(cv2.add(total, aligned, dtype=cv2.CV_16U))
    averaged = cv2.convertScaleAbs(total, alpha=1.0 / (len(neighbours) + 1))
    return cv2.cvtColor(cv2.merge([averaged, _smoothed(red), _smoothed(blue)]), cv2.COLOR_YCrCb2BGR)


def _smoothed(chroma: np.ndarray) -> np.ndarray:
    """A colour plane averaged over blocks and scaled back: its noise smoothed, its detail is the
    footage's half resolution anyway."""
    height, width = chroma.shape[:2]
    size = (max(width // CHROMA_SMOOTHING, 1), max(height // CHROMA_SMOOTHING, 1))
    return cv2.resize(cv2.resize(chroma, size, interpolation=cv2.INTER_AREA), (width, height))


def _agreement(target: np.ndarray, moving: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """A 0/1 mask of the small pixels where ``moving`` warped by ``flow`` matches ``target`` within the noise."""
    height, width = target.shape
    warped = _warped(moving, _grid(width, height) + flow)
    difference = cv2.GaussianBlur(cv2.absdiff(warped, target), (0, 0), 1.5)
    noise = max(float(np.median(difference)), MIN_NOISE)
    return (difference <= AGREEMENT_UNITS * noise).astype(np.uint8)


def _warped(plane: np.ndarray, where: np.ndarray) -> np.ndarray:
    """``plane`` sampled at ``where`` (each pixel's source x, y): a neighbour moved onto the frame."""
    return cv2.remap(plane, where, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)  # type: ignore[call-overload]


@cache
def _grid(width: int, height: int) -> np.ndarray:
    """Each pixel's own (x, y) as a float32 map for ``cv2.remap``: the identity warp."""
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    grid = np.dstack([xs, ys])
    grid.setflags(write=False)
    return grid
