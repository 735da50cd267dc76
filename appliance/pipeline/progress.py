"""What a running extraction counts and reports: where detection ran on each frame, the frames
decoded and analysed, the faces found, where the time went. Enough for a progress bar and a live
preview while it runs, for a part's share of a split recording, and for the manifest's statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ..common.timing import StepClock
from ..detect import Face
from .scan import ScanResult
from .video import Frame

TIME_PREFIX = "ms_"  # a part's time per step, among its counts
PART_COUNTS = ("frames_decoded", "frames_read", "frames_analysed", "detections", "keyframes_checked", "enhanced_frames")
# a part's counts written by an earlier version under another name
FORMER_NAMES = {"detections": "faces"}


class SearchKind(str, Enum):
    """Where detection ran on a frame."""

    FULL = "full"  # the whole frame
    REGIONS = "regions"  # only where it moved
    FOLLOW = "follow"  # only where tracked faces are predicted (motion nearly everywhere)
    SKIPPED = "skipped"  # nowhere: nothing moved


@dataclass
class Progress:
    """What a running extraction reports: enough for a progress bar and a live preview."""

    frames_decoded: int = 0
    frames_read: int = 0  # packets read: the position in the file
    frames_total: int = 0
    duration_s: float = 0.0  # of the footage, as declared (0: unknown)
    frames_analysed: int = 0
    detections: int = 0  # faces found in the analysed frames, counted in each frame
    tracks: int = 0
    elapsed_s: float = 0.0
    frame: Frame | None = field(default=None, repr=False)
    frame_faces: list[Face] = field(default_factory=list, repr=False)
    searches: dict[SearchKind, int] = field(default_factory=lambda: dict.fromkeys(SearchKind, 0))
    keyframes_checked: int = 0
    enhanced_frames: int = 0
    scan: ScanResult | None = field(default=None, repr=False)
    clock: StepClock = field(default_factory=StepClock, repr=False)  # where the time went

    def counts(self) -> dict[str, int]:
        """What a part of a recording adds to the whole's statistics."""
        return {
            **{name: getattr(self, name) for name in PART_COUNTS},
            "tracks": self.tracks,  # the part's own (its job's count), not added up: a merge joins tracks
            "wall_ms": int(self.elapsed_s * 1000),
            **{f"search_{kind.value}": n for kind, n in self.searches.items()},
            **{f"{TIME_PREFIX}{name}": ms for name, ms in self.clock.milliseconds().items()},
        }

    def add_counts(self, counts: dict[str, int]) -> None:
        for name in PART_COUNTS:
            setattr(self, name, getattr(self, name) + counts.get(name, counts.get(FORMER_NAMES.get(name, name), 0)))
        for kind in SearchKind:
            self.searches[kind] += counts.get(f"search_{kind.value}", 0)
        for key, ms in counts.items():
            if key.startswith(TIME_PREFIX):
                self.clock.add(key.removeprefix(TIME_PREFIX), ms / 1000)

    @property
    def fraction(self) -> float:
        if self.frames_total <= 0:
            return 0.0
        return min(self.frames_read / self.frames_total, 1.0)

    @property
    def scan_summary(self) -> str:
        """One line for the page: what the scan decided for this file."""
        found = self.scan
        if found is None:
            return ""
        if found.plan is None:
            return f"decoding every frame: {found.reason}"
        return (
            f"activity scan: {found.active_stretches} active stretch(es), {found.active_s:.0f} s of "
            f"{found.duration_s:.0f} s decoded; still parts checked at keyframes"
        )
