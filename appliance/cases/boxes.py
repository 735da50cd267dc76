"""Where every face of a recording is in any frame: the tracks' boxes, interpolated and padded.

The pipeline looks at a few frames a second; a clip shows every frame. Between two detections of a
track its box is interpolated linearly and grown by the distance it moved (the face may not move
in a straight line) and by a fixed margin; before its first and after its last detection it is
carried on for two analysis intervals at the speed it had there (a face is on screen a little before
it is first found and after it is last found, and a fast walker leaves a box held still within a
frame or two), grown by the distance it may have gone. Boxes are ``(x1, y1, x2, y2)`` in source pixels.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from ..output.manifest import TrackRecord

Box = tuple[float, float, float, float]

MARGIN = 0.3  # of the face's size, on each side: hair, ears, a box a little off
HOLD_INTERVALS = 2.0  # analysis intervals a box is carried on before the first / after the last detection
STILL_DRIFT = 0.1  # of its size per analysis interval: how far a face seen once may move (no speed known)


@dataclass(frozen=True)
class TrackBoxes:
    """One track's detections: frame numbers (ascending) and their boxes."""

    track: int
    frames: tuple[int, ...]
    boxes: tuple[Box, ...]

    @classmethod
    def of(cls, record: TrackRecord) -> TrackBoxes:
        rows = sorted(record.boxes)
        return cls(record.id, tuple(r[0] for r in rows), tuple((r[1], r[2], r[1] + r[3], r[2] + r[4]) for r in rows))

    def core(self, frame: float, hold: float) -> tuple[Box, float] | None:
        """The interpolated box at ``frame`` and how far it may be off (pixels); None where the track is not."""
        frames = self.frames
        if not frames or frame < frames[0] - hold or frame > frames[-1] + hold:
            return None
        at = bisect.bisect_left(frames, frame)
        if at < len(frames) and frames[at] == frame:
            return self.boxes[at], 0.0
        if at == 0:
            return self._carried(0, 1, frames[0] - frame, hold)
        if at == len(frames):
            return self._carried(-1, -2, frame - frames[-1], hold)
        f0, f1 = frames[at - 1], frames[at]
        b0, b1 = self.boxes[at - 1], self.boxes[at]
        w = (frame - f0) / (f1 - f0)
        box = tuple(a + (b - a) * w for a, b in zip(b0, b1, strict=True))
        moved = max(abs(b - a) for a, b in zip(b0, b1, strict=True))
        return (box[0], box[1], box[2], box[3]), moved / 2

    def _carried(self, end: int, inner: int, frames_away: float, hold: float) -> tuple[Box, float]:
        """The box at the track's ``end`` detection moved ``frames_away`` further at the speed it had
        between it and the ``inner`` one, and how far it may be off: the distance it went at that speed
        (a walker may stop, speed up or turn) and a tenth of its size (seen once: a tenth per interval)."""
        box = self.boxes[end]
        size = max(box[2] - box[0], box[3] - box[1])
        if len(self.frames) < 2:
            return box, STILL_DRIFT * size * frames_away / max(hold / HOLD_INTERVALS, 1.0)
        other = self.boxes[inner]
        step = abs(self.frames[end] - self.frames[inner])
        velocity = [(a - b) / step for a, b in zip(box, other, strict=True)]
        moved = tuple(a + v * frames_away for a, v in zip(box, velocity, strict=True))
        speed = max(abs(v) for v in velocity)
        return (moved[0], moved[1], moved[2], moved[3]), speed * frames_away + STILL_DRIFT * size


def padded(box: Box, slack: float, margin: float = MARGIN) -> Box:
    """``box`` grown by ``margin`` of its size and by ``slack`` pixels on each side."""
    x1, y1, x2, y2 = box
    grow = margin * max(x2 - x1, y2 - y1) + slack
    return x1 - grow, y1 - grow, x2 + grow, y2 + grow


@dataclass(frozen=True)
class FaceAt:
    """A face in one frame: its track (None: found at export time), its box, and the box padded."""

    track: int | None
    core: Box
    padded: Box


class FaceBoxes:
    """All tracks of a recording, asked frame by frame."""

    def __init__(self, tracks: Sequence[TrackRecord], interval_frames: float) -> None:
        self.tracks = [TrackBoxes.of(t) for t in tracks if t.boxes]
        self.hold = max(interval_frames * HOLD_INTERVALS, 1.0)

    def at(self, frame: float) -> list[FaceAt]:
        found = []
        for track in self.tracks:
            here = track.core(frame, self.hold)
            if here is not None:
                box, slack = here
                found.append(FaceAt(track.track, box, padded(box, slack)))
        return found
