"""A detected face: its box, the nets' confidence, its landmarks and the final judge's probability.

Its own module so that what ranks and describes faces (the cascade, the final judge, alignment) can
share it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


@dataclass(frozen=True)
class Face:
    """One detected face in frame pixels: box ``[x, y, w, h]``, ONet confidence, five landmarks, and the
    final judge's probability (``score``; None where no judge ran), which ranks faces better."""

    box: tuple[float, float, float, float]
    confidence: float
    landmarks: tuple[tuple[float, float], ...] = field(default=())
    score: float | None = None

    @property
    def rank(self) -> float:
        """What orders faces from surest to least sure: the judge's probability, else ONet's confidence."""
        return self.confidence if self.score is None else self.score

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        x, y, w, h = self.box
        return (x, y, x + w, y + h)

    @property
    def center(self) -> tuple[float, float]:
        x, y, w, h = self.box
        return x + w / 2, y + h / 2

    @property
    def size(self) -> float:
        """Face size in pixels: the geometric mean of the box sides."""
        return float(np.sqrt(max(self.box[2], 0) * max(self.box[3], 0)))

    def shifted(self, dx: float, dy: float) -> Face:
        """The same face in a frame whose origin is ``(-dx, -dy)`` from this one's."""
        x, y, w, h = self.box
        marks = tuple((px + dx, py + dy) for px, py in self.landmarks)
        return Face((x + dx, y + dy, w, h), self.confidence, marks, self.score)

    def scaled(self, factor: float) -> Face:
        """The same face in a frame resized by ``factor``."""
        return Face(
            tuple(v * factor for v in self.box),  # type: ignore[arg-type]
            self.confidence,
            tuple((px * factor, py * factor) for px, py in self.landmarks),
            self.score,
        )

    def to_dict(self) -> dict:
        return {
            "box": [round(v, 1) for v in self.box],
            "confidence": round(self.confidence, 5),
            "landmarks": {
                name: [round(px, 1), round(py, 1)]
                for name, (px, py) in zip(LANDMARK_NAMES, self.landmarks, strict=False)
            },
        }
