"""The faces in each frame of a clip: the recording's tracks, and the faces the detector finds in the
frame itself at export time.

The tracks alone leave faces visible: a face seen in one analysed frame only (the pipeline keeps no
track of it), a face seen only between analysed frames, a walker before their first and after their
last detection, and the still stretches the activity scan let the pipeline skip. So every frame of
a clip is searched before it is written (``SEARCH_EVERY``), with the appliance's own detector, and
each face found is blurred unless it is the subject's: it overlaps one of the subject's own track
boxes in that frame, or, where no track can say (outside the analysed stretches), SFace finds it is
the subject at a strict similarity (``STRICT_SIMILARITY``, well above the grouping threshold: a
wrong match would unblur a stranger). What cannot be told apart is blurred.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..output.manifest import Manifest
from .boxes import Box, FaceAt, FaceBoxes, padded

Stretch = tuple[float, float]
DETECTED_SLACK = 0.2  # of a face found at export, in face sizes, on each side: a box a little off
HOLD_FOUND = 3  # frames a face found at export is also blurred before and after (the detector flickers)
FOUND_DRIFT = 0.45  # face sizes a face may move per frame (a walker across a 1080p frame: 0.4)
SEARCH_EVERY = 1  # frames between searches at export (1: every frame; see the report for the cost)
SUBJECT_OVERLAP = 0.3  # intersection over union with a subject's track box that makes a found face theirs
STRICT_SIMILARITY = 0.6  # SFace cosine that makes a face found outside the tracks the subject's (grouping: 0.38)
SUBJECT_FOUND = 0  # the track number of a face found at export and recognised as the subject (tracks count from 1)


@dataclass(frozen=True)
class Found:
    """A face the search found: its box and whether SFace found it is the subject's (only asked where
    no track can say)."""

    box: tuple[float, float, float, float]
    subject: bool = False


def analysed_stretches(manifest: Manifest, source: Path) -> tuple[Stretch, ...] | None:
    """Where the pipeline analysed ``source`` (None: all of it). The scan is read again from the file
    (it decodes nothing): it decides the same as it did, the file being the one the manifest hashed."""
    scanned = manifest.stats.scan
    if scanned is None or scanned.mode != "scan":
        return None
    from ..pipeline.scan import scan
    from ..pipeline.video import VideoSource

    keyframe_s = float(manifest.settings.get("scan", {}).get("keyframe_s", 2.0))
    plan = scan(VideoSource(source), keyframe_s).plan
    return None if plan is None else plan.active


Detect = Callable[[object, bool], Sequence[Found]]  # (the picture, whether to recognise the subject)


@dataclass
class FrameFaces:
    """The faces of each frame of a clip: the tracks', and those :meth:`search` found at export (each
    also held ``HOLD_FOUND`` frames before and after, grown as it may have moved: a face the detector
    finds in one frame and misses in the next, or a walker between two searches, stays blurred)."""

    boxes: FaceBoxes
    analysed: tuple[Stretch, ...] | None
    interval_s: float
    detect: Detect | None = None
    subjects: frozenset[int] = frozenset()
    every: int = SEARCH_EVERY
    searched: int = 0
    unknown: int = 0
    recognised: int = 0  # faces found outside the analysed stretches that SFace says are the subject
    found: dict[int, tuple[FaceAt, ...]] = field(default_factory=dict)

    def known(self, time_s: float) -> bool:
        if self.analysed is None:
            return True
        return any(start <= time_s < end for start, end in self.analysed)

    def search(self, pictures: Iterable[Any]) -> None:
        """The first pass over the clip's frames (each with ``frame``, ``time_s`` and ``bgr()``): the
        faces in every ``every``-th, kept for :meth:`at`."""
        for count, picture in enumerate(pictures):
            known = self.known(picture.time_s)
            self.unknown += not known
            if count % max(self.every, 1):
                continue
            if self.detect is None:
                raise RuntimeError("no detector to search the clip's frames for faces")
            self.found[picture.frame] = tuple(self._search(picture, self.boxes.at(picture.frame), known))
            self.searched += 1

    def at(self, frame: int) -> list[FaceAt]:
        faces = self.boxes.at(frame)
        for away in range(-HOLD_FOUND - self.every + 1, HOLD_FOUND + self.every):
            for face in self.found.get(frame + away, ()):
                if away == 0:
                    faces.append(face)
                elif face.track is None:  # a stranger's face is held; the subject's only where found
                    x1, y1, x2, y2 = face.core
                    slack = (DETECTED_SLACK + FOUND_DRIFT * abs(away)) * max(x2 - x1, y2 - y1)
                    faces.append(FaceAt(None, face.core, padded(face.core, slack)))
        return faces

    def _search(self, picture: Any, faces: Sequence[FaceAt], known: bool) -> list[FaceAt]:
        assert self.detect is not None
        mine = [f.core for f in faces if f.track in self.subjects]
        found = []
        for face in self.detect(picture, not known and bool(self.subjects)):
            x1, y1, x2, y2 = face.box
            theirs = any(_overlap(face.box, box) >= SUBJECT_OVERLAP for box in mine)
            recognised = not theirs and not known and face.subject
            self.recognised += recognised
            track = SUBJECT_FOUND if theirs or recognised else None
            found.append(FaceAt(track, face.box, padded(face.box, DETECTED_SLACK * max(x2 - x1, y2 - y1))))
        return found


def _overlap(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0.0) * max(h, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
