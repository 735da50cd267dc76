"""Associate detections across analysed frames into tracks, keeping each track's best shot.

Matching is greedy on a score that mixes box overlap with centre distance from a constant-velocity
prediction, so people walking towards the camera at 5 analysed frames/s stay one track even when
successive boxes barely overlap. Before a track has a velocity (one sighting), a confident face of
the same size may be further away, in proportion to the time since: someone crossing close to the
camera moves more than a face width per analysed frame. A track ends once it has been missed for
``max_missed_s``.
"""

from __future__ import annotations

from collections.abc import KeysView
from dataclasses import dataclass, field

import numpy as np

from ..detect import Face
from ..detect.boxes import iou_matrix
from .quality import Quality


@dataclass
class Sighting:
    frame: int
    time_s: float
    face: Face
    quality: Quality


@dataclass
class Track:
    id: int
    first: Sighting
    last: Sighting
    best: Sighting
    detections: int = 1
    best_crop: np.ndarray | None = field(default=None, repr=False)  # BGR, with margin
    best_aligned: np.ndarray | None = field(default=None, repr=False)
    best_original: np.ndarray | None = field(default=None, repr=False)  # unenhanced, when best_crop is enhanced
    velocity: tuple[float, float] = (0.0, 0.0)  # px/s of the box centre
    unseen_s: float = 0.0  # time looked for (detection ran where it was) and not found
    last_looked_s: float = 0.0
    boxes: dict[int, tuple[float, float, float, float]] = field(default_factory=dict, repr=False)  # frame -> xyxy
    shots: list[tuple[float, np.ndarray]] = field(default_factory=list, repr=False)  # (quality, aligned face)
    embedding: np.ndarray | None = field(default=None, repr=False)
    earlier: int = 0  # sightings found afterwards in frames before the one it was found in (looked back)

    @property
    def frames(self) -> KeysView[int]:
        """The frames it was seen in."""
        return self.boxes.keys()

    def seen(self, frame: int, face: Face) -> None:
        self.boxes[frame] = face.xyxy

    @property
    def found_once(self) -> bool:
        """Seen only where it was found (sightings looked back for do not count)."""
        return self.detections - self.earlier == 1

    def seen_earlier(self, sight: Sighting) -> None:
        """``sight``, from a frame before any of this track's, found by looking back: it is recorded, and
        tracking goes on as if it had not been (the track's speed comes from the sightings after it, and
        its best shot and embedding from the faces tracking found)."""
        self.first = sight
        self.detections += 1
        self.earlier += 1
        self.seen(sight.frame, sight.face)

    def keep_shot(self, quality: float, aligned: np.ndarray | None, keep: int) -> None:
        """Keep the ``keep`` best aligned shots of the face (for its embedding)."""
        if aligned is None or keep <= 0:
            return
        self.shots.append((quality, aligned))
        self.shots.sort(key=lambda shot: -shot[0])
        del self.shots[keep:]

    def wants_shot(self, quality: float, keep: int) -> bool:
        return keep > 0 and (len(self.shots) < keep or quality > self.shots[-1][0])

    def predicted_center(self, time_s: float) -> tuple[float, float]:
        x, y, w, h = self.last.face.box
        dt = time_s - self.last.time_s
        return x + w / 2 + self.velocity[0] * dt, y + h / 2 + self.velocity[1] * dt


@dataclass(frozen=True)
class TrackerSettings:
    max_missed_s: float = 1.5  # end a track after this long looked for and unseen
    max_look_gap_s: float = 0.5  # a look after a longer gap (detection skipped) counts as this long
    min_iou: float = 0.2
    max_center_dist: float = 1.0  # in face sizes, from the predicted centre
    max_first_step: float = 10.0  # face sizes per second a face may move before its velocity is known
    first_step_confidence: float = 0.95  # ... if both sightings are this confident
    first_step_size_ratio: float = 1.25  # ... and this alike in size
    max_size_ratio: float = 1.8
    distance_weight: float = 0.5  # match score = IoU - this x centre distance (in face sizes)
    velocity_smoothing: float = 0.5  # weight of the newest step in the velocity (the rest: the old one)


Pair = tuple[float, int, int]  # match score, track index, sighting index


class Tracker:
    def __init__(self, settings: TrackerSettings | None = None) -> None:
        self.settings = settings or TrackerSettings()
        self.active: list[Track] = []
        self.finished: list[Track] = []
        self._next_id = 1

    def update(
        self, sightings: list[Sighting], time_s: float, looked: list[tuple[int, int, int, int]] | None = None
    ) -> list[tuple[Track, Sighting, bool]]:
        """Assign this frame's sightings to tracks; returns (track, sighting, is_new_best) for each.

        ``looked``: the regions detection ran on (None: the whole frame). A track outside them was
        not looked for, so this frame does not count against it.
        """
        used_t: set[int] = set()
        used_d: set[int] = set()
        results: list[tuple[Track, Sighting, bool]] = []
        for _, ti, di in sorted(self._candidate_pairs(sightings, time_s), reverse=True):
            if ti in used_t or di in used_d:
                continue
            used_t.add(ti)
            used_d.add(di)
            track, sight = self.active[ti], sightings[di]
            results.append((track, sight, self._extend(track, sight, time_s)))
        for ti, track in enumerate(self.active):
            if ti not in used_t and _covered(track, looked):
                track.unseen_s += min(time_s - track.last_looked_s, self.settings.max_look_gap_s)
                track.last_looked_s = time_s
        self._expire()
        for di, sight in enumerate(sightings):
            if di not in used_d:
                track = Track(self._next_id, sight, sight, sight, last_looked_s=time_s)
                self._next_id += 1
                self.active.append(track)
                results.append((track, sight, True))
        return results

    def _candidate_pairs(self, sightings: list[Sighting], time_s: float) -> list[Pair]:
        """Every (track, sighting) pair close enough to be the same face, with its match score."""
        s = self.settings
        if not self.active or not sightings:
            return []
        ious = iou_matrix(np.array([t.last.face.xyxy for t in self.active]), np.array([d.face.xyxy for d in sightings]))
        pairs: list[Pair] = []
        for ti, track in enumerate(self.active):
            cx, cy = track.predicted_center(time_s)
            for di, sight in enumerate(sightings):
                ratio = max(track.last.face.size, 1.0) / max(sight.face.size, 1.0)
                if ratio > s.max_size_ratio or ratio < 1 / s.max_size_ratio:
                    continue
                sx, sy = sight.face.center
                dist = float(np.hypot(sx - cx, sy - cy)) / max(track.last.face.size, sight.face.size, 1.0)
                reach = s.max_center_dist
                if track.found_once and _alike(track.last.face, sight.face, s):  # no speed yet
                    # no velocity yet: someone crossing close to the camera, the same face again
                    reach += s.max_first_step * max(time_s - track.last.time_s, 0.0)
                if ious[ti, di] >= s.min_iou or dist <= reach:
                    pairs.append((float(ious[ti, di]) - s.distance_weight * dist, ti, di))
        return pairs

    def _extend(self, track: Track, sight: Sighting, time_s: float) -> bool:
        """Add ``sight`` to ``track``; True if it is the track's new best shot."""
        dt = sight.time_s - track.last.time_s
        if dt > 0:
            (ox, oy), (nx, ny) = track.last.face.center, sight.face.center
            vx, vy = (nx - ox) / dt, (ny - oy) / dt
            if track.found_once:
                track.velocity = (vx, vy)
            else:
                keep = 1.0 - self.settings.velocity_smoothing
                new = self.settings.velocity_smoothing
                track.velocity = (keep * track.velocity[0] + new * vx, keep * track.velocity[1] + new * vy)
        track.last = sight
        track.detections += 1
        track.unseen_s, track.last_looked_s = 0.0, time_s
        better = sight.quality.score > track.best.quality.score
        if better:
            track.best = sight
        return better

    def _expire(self) -> None:
        keep = []
        for track in self.active:
            if track.unseen_s > self.settings.max_missed_s:
                self.finished.append(track)
            else:
                keep.append(track)
        self.active = keep

    def close(self) -> list[Track]:
        """End every track; all tracks in order of first appearance."""
        self.finished.extend(self.active)
        self.active = []
        return sorted(self.finished, key=lambda t: (t.first.time_s, t.id))


def _covered(track: Track, looked: list[tuple[int, int, int, int]] | None) -> bool:
    if looked is None:
        return True
    cx, cy = track.last.face.center
    return any(x1 <= cx < x2 and y1 <= cy < y2 for x1, y1, x2, y2 in looked)


def _alike(a: Face, b: Face, s: TrackerSettings) -> bool:
    ratio = max(a.size, 1.0) / max(b.size, 1.0)
    confident = min(a.confidence, b.confidence) >= s.first_step_confidence
    return confident and 1 / s.first_step_size_ratio <= ratio <= s.first_step_size_ratio
