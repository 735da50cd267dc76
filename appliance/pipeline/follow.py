"""Following tracked faces: each one looked for where it is predicted to be, not over the whole frame.

When people are in view the motion gate sees change nearly everywhere (bodies, shadows), and a
full-frame search of a 1080p frame costs ~200 ms, most of it PNet over a pyramid whose first level
is larger than the frame. But a tracked face's size and speed are known: a square a few face sizes
wide around its predicted centre, resized so the face is about ``FACE_PX``, holds it, and the
cascade on that small patch costs a few milliseconds (every patch is the same size, so all of a
frame's patches go through each net in one call). New faces are found by the full-frame passes the
pipeline keeps making at a set interval (``motion_busy_full_every_s``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import cv2
import numpy as np

from ..detect import Face, remove_duplicates
from .finder import FaceFinder
from .track import Track

SPAN = 2.5  # a patch's side, in the tracked face's size: room for the face to move and grow
SPAN_NEW = 6.0  # ... for a face seen once: its speed is not known yet
FACE_PX = 48  # the tracked face's size in the patch
# the patch's detector looks for faces down to this size (a face may shrink to 0.6x between looks)
MIN_FACE_PX = 0.6 * FACE_PX
# a track last seen this long ago is not followed (its prediction is stale): the full pass finds it again
MAX_AGE_S = 1.0

Region = tuple[int, int, int, int]


def needs_confirming(track: Track, last_whole_s: float) -> bool:
    """A face the whole search at ``last_whole_s`` found for the first time: the next frame is searched
    whole too. Followed in its patch instead, a new face next to a tracked one was taken into the other's
    track where people cross (the 5-minute sample: 9 people instead of 11, the busy clip at half size
    beside its mirror: 17 tracks of 19; small faces, enlarged in their patches, were also missed)."""
    return track.found_once and track.last.time_s >= last_whole_s


LOOK_BACK_SPAN = 4.0  # the square a new face is looked for in the frame before, in its size
LOOK_BACK_STEP = 1.0  # ... where the face found is at most this many sizes from the last one, and alike in size


def look_back_region(face: Face, width: int, height: int, min_face: float) -> Region:
    """The square around ``face`` where it is looked for in the frame before, kept inside the frame."""
    x, y, w, h = face.box
    side = int(round(min(LOOK_BACK_SPAN * max(face.size, min_face), width, height)))
    x1 = int(round(min(max(x + w / 2 - side / 2, 0), width - side)))
    y1 = int(round(min(max(y + h / 2 - side / 2, 0), height - side)))
    return (x1, y1, x1 + side, y1 + side)


def same_face_before(face: Face, candidates: Sequence[Face]) -> Face | None:
    """Of ``candidates`` (found in the frame before), the one that is ``face`` a step earlier: None if none
    is, or if two could be (in a crowd, a neighbour's face must not be taken for it)."""
    near = []
    for other in candidates:
        ratio = max(face.size, 1.0) / max(other.size, 1.0)
        if not 1 / 1.5 <= ratio <= 1.5:
            continue
        (ax, ay), (bx, by) = face.center, other.center
        if float(np.hypot(ax - bx, ay - by)) / max(face.size, other.size, 1.0) <= LOOK_BACK_STEP:
            near.append(other)
    return near[0] if len(near) == 1 else None


class Patch(NamedTuple):
    """Where to look for one tracked face (frame pixels) and the side it is resized to (the face ~FACE_PX)."""

    region: Region
    pixels: int


def patches_for(tracks: Sequence[Track], time_s: float, width: int, height: int) -> list[Patch]:
    """The square around each recent track's predicted centre, in frame pixels, kept inside the frame."""
    patches = []
    for track in tracks:
        if time_s - track.last.time_s > MAX_AGE_S:
            continue
        cx, cy = track.predicted_center(time_s)
        span = SPAN_NEW if track.found_once else SPAN  # one sighting: its speed is not known
        side = int(round(min(max(span * track.last.face.size, 12), width, height)))
        x1 = int(round(min(max(cx - side / 2, 0), width - side)))
        y1 = int(round(min(max(cy - side / 2, 0), height - side)))
        patches.append(Patch((x1, y1, x1 + side, y1 + side), int(round(span * FACE_PX))))
    return patches


def find_in_patches(
    finder: FaceFinder, image: np.ndarray, patches: Sequence[Patch], denoised: bool = False
) -> list[Face]:
    """Faces in each patch of ``image``, resized to its side (``finder`` looks for faces of MIN_FACE_PX
    and up); in frame pixels, duplicates on overlaps removed."""
    if not patches:
        return []
    pictures = []
    for (x1, y1, x2, y2), pixels in patches:
        crop = image[y1:y2, x1:x2]
        interpolation = cv2.INTER_AREA if crop.shape[0] > pixels else cv2.INTER_LINEAR
        pictures.append(cv2.resize(crop, (pixels, pixels), interpolation=interpolation))
    found = []
    for ((x1, y1, x2, _), pixels), faces in zip(patches, finder.find_batch(pictures, denoised), strict=True):
        factor = (x2 - x1) / pixels
        found += [face.scaled(factor).shifted(x1, y1) for face in faces]
    return remove_duplicates(found)
