"""The faces in each frame of a clip: from the recording's tracks where the pipeline analysed it, found
by the detector at export time where it did not.

The activity scan lets the pipeline skip still stretches (only their keyframes are checked), so a
clip's pad can reach frames whose faces nobody knows. Those are searched before they are written,
once per analysis interval, each face found held (padded) until the next search; the export counts
them and says so in ``case.json``. A face found there has no track: it is blurred unless the
search recognises it as the subject (SFace, at the people threshold, against the subject's own tracks
in that recording); what it cannot recognise (no landmarks, no embedding) is blurred.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..output.manifest import Manifest
from .boxes import FaceAt, FaceBoxes, padded

Stretch = tuple[float, float]
DETECTED_SLACK = 0.5  # of a face found at export, in face sizes: it may move until the next search
SUBJECT_FOUND = 0  # the track number of a face found at export and recognised as the subject (tracks count from 1)


@dataclass(frozen=True)
class Found:
    """A face the search found: its box and whether it is the subject's."""

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


@dataclass
class FrameFaces:
    """Asked in frame order: the faces of each frame, and how many frames had to be searched at export."""

    boxes: FaceBoxes
    analysed: tuple[Stretch, ...] | None
    interval_s: float
    detect: Callable[[object], Sequence[Found]] | None = None
    searched: int = 0
    unknown: int = 0
    recognised: int = 0  # faces found at export that are the subject (left sharp with ``others``)
    _last_search: float | None = None
    _held: tuple[FaceAt, ...] = ()

    def known(self, time_s: float) -> bool:
        if self.analysed is None:
            return True
        return any(start <= time_s < end for start, end in self.analysed)

    def at(self, frame: int, time_s: float, image: object) -> list[FaceAt]:
        faces = self.boxes.at(frame)
        if self.known(time_s):
            self._last_search = None
            return faces
        self.unknown += 1
        if self._last_search is None or time_s - self._last_search >= self.interval_s - 1e-6:
            self._held = tuple(self._search(image))
            self._last_search = time_s
            self.searched += 1
        return [*faces, *self._held]

    def _search(self, image: object) -> list[FaceAt]:
        if self.detect is None:
            raise RuntimeError("frames outside the analysed stretches and no detector to search them")
        found = []
        for face in self.detect(image):
            x1, y1, x2, y2 = face.box
            self.recognised += face.subject
            track = SUBJECT_FOUND if face.subject else None
            found.append(FaceAt(track, face.box, padded(face.box, DETECTED_SLACK * max(x2 - x1, y2 - y1))))
        return found
