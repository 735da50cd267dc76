"""The pipeline, top to bottom: footage in, one good crop per person and a manifest out.

open -> for each analysed frame: detect -> score -> track (keep each track's best shot)
-> drop one-frame flickers -> write crops, manifest.json and faces.csv atomically.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .crops import align_face, crop_face
from .detect import Detector, Face
from .detect.boxes import nms
from .enhance import enhance_crop
from .finder import FaceFinder
from .motion import MotionGate
from .outbox import ResultWriter
from .quality import score
from .track import Sighting, Track, Tracker, TrackerSettings
from .video import Frame, VideoSource, prefetch


@dataclass(frozen=True)
class ExtractSettings:
    backend: str = "auto"
    fps: float | None = 5.0  # analysed frames per second; None = every frame
    min_face: float = 20.0
    margin: float = 0.2
    all_crops: bool = False
    aligned: bool = False
    min_track_detections: int = 2  # in videos; a face seen once is usually a false positive
    max_missed_s: float = 1.5
    threads: int = 1
    enhance: str = "auto"  # low-light enhancement: auto (dark frames only), off, stretch, clahe, gamma
    upscale: float = 1.0  # > 1: also find faces down to min_face / upscale px, on an enlarged frame
    motion: bool = True  # skip still frames, detect only in moving regions
    full_every_s: float = 3.0  # while people are tracked, a full-frame pass at least this often
    refresh_s: float = 30.0  # and a full-frame pass this often anyway


@dataclass
class Progress:
    """What a running extraction reports: enough for a progress bar and a live preview."""

    frames_decoded: int = 0
    frames_total: int = 0
    frames_analysed: int = 0
    faces: int = 0
    tracks: int = 0
    elapsed_s: float = 0.0
    frame: Frame | None = field(default=None, repr=False)
    frame_faces: list[Face] = field(default_factory=list, repr=False)

    @property
    def fraction(self) -> float:
        if self.frames_total <= 0:
            return 0.0
        return min(self.frames_decoded / self.frames_total, 1.0)


@dataclass(frozen=True)
class ExtractResult:
    output: Path
    tracks: int
    manifest: dict


class Cancelled(Exception):
    """The extraction was asked to stop (service shutdown); nothing was published."""


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class Extractor:
    def __init__(self, settings: ExtractSettings | None = None, detector: Detector | None = None) -> None:
        self.settings = s = settings or ExtractSettings()
        self.detector = detector or Detector(s.backend, s.min_face, s.threads)
        if detector is not None and detector.settings.min_face != s.min_face:
            self.detector = detector.with_min_face(s.min_face)
        self.finder = FaceFinder(self.detector, s.enhance, s.upscale)

    def run(
        self,
        path: str | os.PathLike[str],
        out_root: str | os.PathLike[str],
        progress: Callable[[Progress], None] | None = None,
        cancel: threading.Event | None = None,
        stem: str | None = None,
    ) -> ExtractResult:
        s = self.settings
        started = time.monotonic()
        with VideoSource(path) as source:
            info = source.info
            digest = sha256_file(path)
            writer = ResultWriter(out_root, stem or Path(path).stem)
            try:
                tracker = Tracker(TrackerSettings(max_missed_s=s.max_missed_s))
                gate = MotionGate(min_face=s.min_face) if s.motion and not info.is_image else None
                state = Progress(frames_total=info.frames)
                stats: dict = {"full": 0, "regions": 0, "skipped": 0}
                last_full = -1e9
                for frame in prefetch(source.frames(s.fps, stats)):
                    if cancel is not None and cancel.is_set():
                        raise Cancelled(str(path))
                    motion = gate.update(frame.image) if gate is not None else None
                    due = frame.time_s - last_full >= (s.full_every_s if tracker.active else s.refresh_s)
                    kind, faces, looked = self._search(frame.image, motion, due)
                    stats[kind] += 1
                    if kind == "full":
                        last_full = frame.time_s
                    if kind != "skipped":
                        self._track(tracker, writer, frame, faces, looked)
                    state.frames_decoded = stats["decoded"]
                    state.frames_analysed += 1
                    state.faces += len(faces)
                    state.tracks = len(tracker.active) + len(tracker.finished)
                    state.elapsed_s = time.monotonic() - started
                    state.frame, state.frame_faces = frame, faces
                    if progress is not None:
                        progress(state)
                min_hits = s.min_track_detections if state.frames_analysed > 1 else 1
                tracks = [t for t in tracker.close() if t.detections >= min_hits]
                wall = time.monotonic() - started
                manifest = self._publish(writer, tracks, info, digest, stats, state, wall)
                output = writer.commit()
            except BaseException:
                writer.abort()
                raise
        return ExtractResult(output, len(tracks), manifest)

    def _search(self, image: np.ndarray, motion, due: bool) -> tuple[str, list[Face], list | None]:
        """Where to look in this frame: everywhere ("full"), where it moves ("regions"), or nowhere.

        Returns the kind, the faces, and the regions searched (None: the whole frame).
        """
        if motion is None or motion.full_frame or due:
            return "full", self.finder.find(image), None
        if motion.moving:
            return "regions", self.detect_regions(image, motion.regions), motion.regions
        return "skipped", [], []

    def detect_regions(self, image: np.ndarray, regions: list[tuple[int, int, int, int]]) -> list[Face]:
        """Faces in the given regions of the frame, in frame coordinates, duplicates on overlaps removed."""
        crops = [image[y1:y2, x1:x2] for x1, y1, x2, y2 in regions]
        found = [
            face.shifted(x1, y1)
            for (x1, y1, _, _), faces in zip(regions, self.finder.find_batch(crops), strict=True)
            for face in faces
        ]  # fmt: skip
        if len(found) < 2:
            return found
        keep = nms(np.array([f.xyxy for f in found]), np.array([f.confidence for f in found]), 0.5, "min")
        return [found[i] for i in sorted(keep)]

    def _track(self, tracker: Tracker, writer: ResultWriter, frame: Frame, faces: list[Face], looked=None) -> None:
        sightings = [Sighting(frame.index, frame.time_s, f, score(f, frame.image)) for f in faces]
        for track, sight, is_best in tracker.update(sightings, frame.time_s, looked):
            if is_best:
                track.best_crop = crop_face(frame.image, sight.face, self.settings.margin)
                # a dark face is saved enhanced, as a person would want to see it, the original beside it
                brighter = enhance_crop(track.best_crop) if self.settings.enhance != "off" else None
                track.best_original = track.best_crop if brighter is not None else None
                track.best_crop = brighter if brighter is not None else track.best_crop
                if self.settings.aligned:
                    track.best_aligned = align_face(frame.image, sight.face)
            if self.settings.all_crops:
                writer.image(
                    f"all/frame-{frame.index:06d}-track-{track.id:04d}.jpg",
                    crop_face(frame.image, sight.face, self.settings.margin),
                )

    def _publish(self, writer, tracks: list[Track], info, digest, stats, state, wall) -> dict:
        s = self.settings
        decoded = stats["decoded"]
        entries, rows = [], []
        for number, track in enumerate(tracks, start=1):
            best = track.best
            name = writer.image(f"faces/track-{number:04d}.jpg", track.best_crop)
            original = None
            if track.best_original is not None:
                original = writer.image(f"originals/track-{number:04d}.jpg", track.best_original)
            if s.aligned and track.best_aligned is not None:
                writer.image(f"aligned/track-{number:04d}.jpg", track.best_aligned)
            face = best.face.to_dict()
            entry = {
                "id": number,
                "first_s": round(track.first.time_s, 3),
                "last_s": round(track.last.time_s, 3),
                "detections": track.detections,
                "best": {
                    "file": name,
                    "frame": best.frame,
                    "time_s": round(best.time_s, 3),
                    **face,
                    "quality": best.quality.to_dict(),
                    "enhanced": original is not None,
                    **({"original_file": original} if original else {}),
                },
            }
            entries.append(entry)
            row = {
                "track": number, "file": name, "first_s": entry["first_s"], "last_s": entry["last_s"],
                "detections": track.detections, "frame": best.frame, "time_s": entry["best"]["time_s"],
                "x": face["box"][0], "y": face["box"][1], "w": face["box"][2], "h": face["box"][3],
                "confidence": face["confidence"], "quality": round(best.quality.score, 4),
            }  # fmt: skip
            for key, (px, py) in face["landmarks"].items():
                row[f"{key}_x"], row[f"{key}_y"] = px, py
            rows.append(row)
        manifest = {
            "version": __version__,
            "source": {
                "path": str(Path(info.path).name),
                "sha256": digest,
                "size_bytes": Path(info.path).stat().st_size,
                "duration_s": round(info.duration_s, 3),
                "fps": round(info.fps, 3),
                "frames": info.frames if info.frames else decoded,
                "width": info.width,
                "height": info.height,
            },
            "backend": self.detector.backend,
            "enhanced_frames": self.finder.enhanced_frames,
            "settings": asdict(s),
            "stats": {
                "frames_decoded": decoded,
                "frames_analysed": state.frames_analysed,
                "frames_full_detection": stats["full"],
                "frames_region_detection": stats["regions"],
                "frames_skipped_still": stats["skipped"],
                "detections": state.faces,
                "wall_s": round(wall, 3),
            },
            "tracks": entries,
        }
        writer.json("manifest.json", manifest)
        writer.csv("faces.csv", rows)
        return manifest


def preview_image(frame: Frame, faces: list[Face], max_side: int = 640) -> np.ndarray:
    """The frame being analysed with its face boxes drawn, downscaled: the original window, headless."""
    import cv2

    image = frame.image
    scale = min(1.0, max_side / max(image.shape[:2]))
    image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image.copy()
    for face in faces:
        x, y, w, h = (int(round(v * scale)) for v in face.box)
        cv2.rectangle(image, (x, y), (x + w, y + h), (0, 200, 0), 2)
    return image
