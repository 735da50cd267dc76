"""The pipeline, top to bottom: footage in, one good crop per person and a manifest out.

open -> scan the compressed stream for where anything happens (decoding nothing) -> for each frame
decoded by that plan: where to look (motion) -> detect -> score -> track (keep each track's best
shot) -> drop one-frame flickers -> write crops, manifest.json and faces.csv atomically.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from ..common.hashing import sha256_file
from ..common.prefetch import prefetch
from ..common.timing import StepClock, step
from ..detect import Detector, Face, remove_duplicates
from ..detect.boxes import iou_matrix
from ..output.manifest import Manifest
from ..output.writer import ResultWriter
from ..people.embed import FaceEmbedder
from ..settings import ExtractSettings, MotionSettings, PeopleSettings, ScanSettings
from . import follow
from .crops import align_face, crop_face
from .denoise import NEIGHBOURS, denoise, luma
from .enhance import DARK_LUMA, enhance_crop, is_dark
from .finder import FaceFinder
from .grouping import EmbeddingAhead, embed_tracks, group_tracks
from .motion import MotionGate, MotionResult
from .parts import ALL_CROPS, PartResult, SplitPlan, copy_all_crops, load_part, merge_parts, plan_parts, save_part
from .progress import Progress, SearchKind
from .publish import build_manifest, settings_record, source_record, write_people_output
from .quality import score
from .scan import ScanResult, scan
from .track import Sighting, Track, Tracker
from .video import DecodePlan, Frame, VideoSource, Window

# followed frames kept for looking back (a second at the default 5 frames/s; 6 MB each at 1080p)
LOOK_BACK_FRAMES = 6
MIN_TRACK_DETECTIONS = 2  # in videos: a face seen in one analysed frame only is usually a false positive

Region = tuple[int, int, int, int]


@dataclass(frozen=True)
class ExtractResult:
    output: Path
    tracks: int
    manifest: Manifest


class CancelToken(Protocol):
    """Anything that says whether to stop: a ``threading.Event``, the workers' shared stop flag."""

    def is_set(self) -> bool: ...


class Cancelled(Exception):
    """The extraction was asked to stop (service shutdown); nothing was published."""


class Extractor:
    """Runs the pipeline on one input at a time; keeps its detector (and its nets) between inputs."""

    def __init__(
        self,
        settings: ExtractSettings | None = None,
        detector: Detector | None = None,
        motion: MotionSettings | None = None,
        scan: ScanSettings | None = None,
        people: PeopleSettings | None = None,
    ) -> None:
        self.settings = s = settings or ExtractSettings()
        self.motion = motion or MotionSettings()
        self.scan = scan or ScanSettings()
        self.people = people or PeopleSettings()
        self._embedder: FaceEmbedder | None = None
        self.detector = detector or Detector(s.backend, s.min_face, s.threads)
        if detector is not None and detector.settings.min_face != s.min_face:
            self.detector = detector.with_min_face(s.min_face)
        self.finder = FaceFinder(self.detector, s.enhance, s.upscale)
        # a followed face was judged when a whole search first found it; in its patch ONet's threshold
        # decides (the judge's second opinions were a third of following's time, for the same faces)
        self.follower = FaceFinder(self.detector.with_min_face(follow.MIN_FACE_PX).without_judge(), s.enhance)

    def run(
        self,
        path: str | os.PathLike[str],
        out_root: str | os.PathLike[str],
        progress: Callable[[Progress], None] | None = None,
        cancel: CancelToken | None = None,
        stem: str | None = None,
        digest: str | None = None,
        scanned: ScanResult | None = None,
    ) -> ExtractResult:
        """Extract the faces of ``path`` into a new folder under ``out_root``; returns where.

        ``digest``: the file's sha256 if already known (the service hashed it when it took the file);
        ``scanned``: the activity scan, if it was read already (by :meth:`plan`).
        """
        started = time.monotonic()
        source = VideoSource(path, self.settings.max_frame_pixels)
        clock = StepClock()
        with source, ResultWriter(out_root, stem or Path(path).stem) as writer, clock.current():
            with step("hash"):
                digest = digest or sha256_file(path)
            with step("scan"):
                scanned = self._scan(source, scanned)
            state = Progress(
                frames_total=source.info.frames, duration_s=source.info.duration_s, scan=scanned, clock=clock
            )
            plan = scanned.plan if scanned is not None else None
            ahead = EmbeddingAhead(self.embedder(), MIN_TRACK_DETECTIONS) if self.people.enabled else None
            try:
                found = self._analyse(
                    source, state, started, progress, cancel, plan, keep_all=self._all_crops(writer), ahead=ahead
                )
            finally:
                if ahead is not None:
                    with step("people"):
                        ahead.wait()
            min_hits = MIN_TRACK_DETECTIONS if state.frames_analysed > 1 else 1
            tracks = [t for t in found if t.detections >= min_hits]
            manifest = self._manifest(writer, tracks, source, digest, state, time.monotonic() - started)
            with step("write"):
                writer.manifest(manifest)
                output = writer.commit()
        return ExtractResult(output, len(tracks), manifest)

    def _all_crops(self, writer: ResultWriter) -> Callable[[str, np.ndarray], object] | None:
        """Where every detection's crop goes (setting all_crops), or None."""
        if not self.settings.all_crops:
            return None
        return lambda name, image: writer.image(f"{ALL_CROPS}/{name}", image)

    def _scan(self, source: VideoSource, scanned: ScanResult | None = None) -> ScanResult | None:
        """The activity scan (None: off, or a still image); a raw stream's length comes from its packets."""
        if not self.scan.enabled or source.info.is_image:
            return None
        scanned = scanned or scan(source, self.scan.keyframe_s)
        if scanned.frames and not source.info.frames:
            # a raw stream declares no length: the packets counted give it (a declared count is kept,
            # so that a truncated file is still found out)
            source.info = replace(source.info, frames=scanned.frames, duration_s=scanned.frames / source.info.fps)
        return scanned

    # -- long recordings in parts ------------------------------------------------------------
    def plan(self, path: str | os.PathLike[str], split_s: float) -> SplitPlan:
        """How to process ``path``: whole, or in parts of about ``split_s`` seconds of analysis (decodes nothing)."""
        source = VideoSource(path, self.settings.max_frame_pixels)
        if source.info.is_image or not source.seekable or not 0 < split_s < source.info.duration_s:
            return plan_parts((), 0.0, None, 0.0)  # whole (a recording shorter than split_s never needs a scan here)
        scanned = self._scan(source)
        if scanned is not None:
            keyframes, duration = scanned.keyframes, scanned.duration_s
        else:
            keyframes = tuple(p.time_s for p in source.packets() if p.keyframe)
            duration = source.info.duration_s
        split = plan_parts(keyframes, duration, scanned.plan if scanned else None, split_s)
        return SplitPlan(split.parts, scanned, split.reason)

    def run_part(
        self,
        path: str | os.PathLike[str],
        plan: SplitPlan,
        number: int,
        work: str | os.PathLike[str],
        progress: Callable[[Progress], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> Path:
        """Analyse part ``number`` of ``plan`` into ``work/part-NNN`` (replacing an earlier try); returns it."""
        started = time.monotonic()
        part = plan.parts[number - 1]
        source = VideoSource(path, self.settings.max_frame_pixels)
        info = source.info
        end = min(part.until_s, info.duration_s or part.until_s)
        frames = int(round((end - part.start_s) * info.fps)) if math.isfinite(end) else info.frames
        decode = plan.scan.plan if plan.scan is not None else None
        clock = StepClock()
        with source, ResultWriter(work, f"part-{number:03d}") as writer, clock.current():
            state = Progress(frames_total=frames, duration_s=max(end - part.start_s, 0.0), scan=plan.scan, clock=clock)
            keep_all = self._all_crops(writer)
            tracks = self._analyse(source, state, started, progress, cancel, decode, part.window, keep_all)
            save_part(writer.tmp, PartResult(number, tracks, state.counts()))
            return writer.replace(f"part-{number:03d}")

    def merge(
        self,
        path: str | os.PathLike[str],
        plan: SplitPlan,
        folders: list[Path],
        out_root: str | os.PathLike[str],
        stem: str | None = None,
        digest: str | None = None,
    ) -> ExtractResult:
        """The parts' tracks joined into one result folder, published like an unsplit run's."""
        started = time.monotonic()
        source = VideoSource(path, self.settings.max_frame_pixels)
        results = [load_part(folder) for folder in folders]
        state = Progress(frames_total=source.info.frames, duration_s=source.info.duration_s, scan=plan.scan)
        for result in results:
            state.add_counts(result.counts)
        interval = (source.info.fps / self.settings.fps) if self.settings.fps else 1.0
        found = merge_parts(results, plan, tolerance=max(int(interval // 2), 0))
        tracks = [t for t in found if t.detections >= MIN_TRACK_DETECTIONS]
        with source, ResultWriter(out_root, stem or Path(path).stem) as writer:
            digest = digest or sha256_file(path)
            if self.settings.all_crops:
                copy_all_crops(results, writer.tmp)
            wall = time.monotonic() - started + sum(r.counts.get("wall_ms", 0) for r in results) / 1000
            manifest = self._manifest(writer, tracks, source, digest, state, wall, parts=len(results))
            writer.manifest(manifest)
            output = writer.commit()
        return ExtractResult(output, len(tracks), manifest)

    def _analyse(
        self,
        source: VideoSource,
        state: Progress,
        started: float,
        progress: Callable[[Progress], None] | None,
        cancel: CancelToken | None,
        plan: DecodePlan | None,
        window: Window | None = None,
        keep_all: Callable[[str, np.ndarray], object] | None = None,
        ahead: EmbeddingAhead | None = None,
    ) -> list[Track]:
        """Every analysed frame through motion, detection and tracking; every track, in order of appearance.

        ``ahead``: where ended tracks are embedded while the analysis goes on (an unsplit run's)."""
        tracker = Tracker()
        gate = MotionGate(min_face=self.settings.min_face) if self.motion.enabled and not source.info.is_image else None
        last_full = -1e9
        offered = 0  # tracks ended and handed to ``ahead``
        enhanced_before = self.finder.enhanced_frames
        clock = state.clock
        # dark frames come with their predecessors, to be denoised with them (enhancement on); the decoder
        # measures luma its own way (FFmpeg's grey), so its bound has a margin: the denoiser decides
        neighbours = NEIGHBOURS if self.settings.enhance != "off" else 0
        decoded = clock.timed(
            "decode", source.frames(self.settings.fps, plan, window, neighbours=neighbours, dark_luma=DARK_LUMA + 5)
        )
        # frames followed since the last whole search, where its new faces are looked back for (the latest few)
        since_whole: deque[Frame] = deque(maxlen=LOOK_BACK_FRAMES)
        for frame, motion in clock.timed("wait", prefetch(_gated(decoded, gate, clock))):
            if cancel is not None and cancel.is_set():
                raise Cancelled(str(source.path))
            searching = time.perf_counter()
            since_full = frame.time_s - last_full
            followed = self._follow(frame, motion, tracker, since_full)
            if followed is not None:
                kind, faces, looked = followed
            else:
                kind, faces, looked = self._search(frame, motion, since_full >= self._full_every(frame, tracker))
            clock.add(f"detect_{kind.value}", time.perf_counter() - searching)
            state.searches[kind] += 1
            state.keyframes_checked += frame.still
            if kind is SearchKind.FULL:
                last_full = frame.time_s
            if kind is not SearchKind.SKIPPED:
                with step("track"):
                    self._track(tracker, frame, faces, looked, keep_all)
                if ahead is not None and len(tracker.finished) > offered:
                    ahead.offer(tracker.finished[offered:])
                    offered = len(tracker.finished)
            state.detections += self._keep_or_look_back(kind, tracker, frame, since_whole)
            _count(state, source, tracker, frame, faces, started)
            if progress is not None:
                progress(state)
        state.frames_decoded, state.frames_read = source.decoded, source.read
        state.enhanced_frames = self.finder.enhanced_frames - enhanced_before
        state.elapsed_s = time.monotonic() - started
        return tracker.close()

    def _keep_or_look_back(self, kind: SearchKind, tracker: Tracker, frame: Frame, since_whole: deque[Frame]) -> int:
        """A followed frame is kept; after a whole search its new faces are looked back for in the frames
        kept, which are then let go. Returns the sightings added."""
        if kind is SearchKind.FOLLOW:
            since_whole.append(frame)
            return 0
        if kind is not SearchKind.FULL or not since_whole:
            return 0
        with step("look_back"):
            added = self._look_back(tracker, frame, since_whole)
        since_whole.clear()
        return added

    def _look_back(self, tracker: Tracker, frame: Frame, followed: Sequence[Frame]) -> int:
        """Faces this whole search found for the first time, looked for back through the frames followed
        since the last whole search, where nobody looked but around the tracked faces: someone in view for
        less than the interval between whole searches would otherwise be seen once and dropped as a flicker
        (an adversarial review's clip: a face over the busy clip for 0.8 s, found 4 times by the every-frame
        search). Each step back must find one face alike in size within LOOK_BACK_STEP sizes, and none
        that another track holds; the sightings are recorded, tracking goes on as before. Returns how many."""
        added = 0
        for track in [t for t in tracker.active if t.detections == 1 and t.first.frame == frame.index]:
            face = track.first.face
            for earlier in reversed(followed):
                width, height = earlier.size
                region = follow.look_back_region(face, width, height, self.settings.min_face)
                found = follow.same_face_before(face, self.detect_regions(earlier.image, [region], earlier.denoised))
                if found is None or _taken(found, earlier.index, tracker):
                    break
                track.seen_earlier(Sighting(earlier.index, earlier.time_s, found, track.first.quality))
                face, added = found, added + 1
        return added

    def _full_every(self, frame: Frame, tracker: Tracker) -> float:
        """How long a frame may go without a full-frame pass: in still stretches the people tracked are
        standing still (the scan saw nothing move), so they need none; elsewhere as motion gating says."""
        if frame.still:
            return self.scan.refresh_s
        return self.motion.full_every_s if tracker.active else self.motion.refresh_s

    def _follow(
        self, frame: Frame, motion: MotionResult | None, tracker: Tracker, since_full_s: float
    ) -> tuple[SearchKind, list[Face], list[Region] | None] | None:
        """With motion nearly everywhere (not a change of the whole scene), people tracked and a full
        pass less than ``busy_full_every_s`` ago: the tracked faces looked for where they are predicted,
        not the whole frame searched (a face the last whole search found for the first time is confirmed
        by a whole search of this frame). None: search as usual."""
        if motion is None or not motion.full_frame or motion.scene_changed or frame.still:
            return None
        if since_full_s >= self.motion.busy_full_every_s:
            return None
        if any(follow.needs_confirming(track, frame.time_s - since_full_s) for track in tracker.active):
            return None
        if self.settings.enhance != "off" and not frame.denoised and is_dark(frame.image):
            # at night faces come and go with the noise: the whole frame (and its views) each time, unless
            # the frame was denoised with its neighbours (video): then its faces hold as in daylight
            return None
        width, height = frame.size
        patches = follow.patches_for(tracker.active, frame.time_s, width, height)
        if not patches:
            return None
        faces = follow.find_in_patches(self.follower, frame.image, patches, frame.denoised)
        return SearchKind.FOLLOW, faces, [patch.region for patch in patches]

    def _search(
        self, frame: Frame, motion: MotionResult | None, due: bool
    ) -> tuple[SearchKind, list[Face], list[Region] | None]:
        """Where to look in this frame: everywhere, where it moves, or nowhere.

        Returns the kind, the faces, and the regions searched (None: the whole frame).
        """
        if motion is None or motion.full_frame or due:
            return SearchKind.FULL, self.finder.find(frame.image, frame.denoised), None
        if motion.moving:
            return SearchKind.REGIONS, self.detect_regions(frame.image, motion.regions, frame.denoised), motion.regions
        return SearchKind.SKIPPED, [], []

    def detect_regions(self, image: np.ndarray, regions: list[Region], denoised: bool = False) -> list[Face]:
        """Faces in the given regions of the frame, in frame coordinates, duplicates on overlaps removed."""
        crops = [image[y1:y2, x1:x2] for x1, y1, x2, y2 in regions]
        found = [
            face.shifted(x1, y1)
            for (x1, y1, _, _), faces in zip(regions, self.finder.find_batch(crops, denoised), strict=True)
            for face in faces
        ]
        return remove_duplicates(found)

    def _track(
        self,
        tracker: Tracker,
        frame: Frame,
        faces: list[Face],
        looked: list[Region] | None,
        keep_all: Callable[[str, np.ndarray], object] | None,
    ) -> None:
        s = self.settings
        sightings = [Sighting(frame.index, frame.time_s, f, score(f, frame.image)) for f in faces]
        shots = self.people.shots if self.people.enabled else 0
        for track, sight, is_best in tracker.update(sightings, frame.time_s, looked):
            track.seen(frame.index, sight.face)
            if track.wants_shot(sight.quality.score, shots):
                track.keep_shot(sight.quality.score, align_face(frame.image, sight.face), shots)
            if is_best:
                crop = crop_face(frame.image, sight.face, s.margin)
                # a dark face is saved enhanced, as a person would want to see it, the original beside it
                brighter = enhance_crop(crop) if s.enhance != "off" else None
                track.best_crop = brighter if brighter is not None else crop
                track.best_original = crop if brighter is not None else None
                if s.aligned:
                    track.best_aligned = align_face(frame.image, sight.face)
            if keep_all is not None:
                name = f"frame-{frame.index:06d}-track-{track.id:04d}.jpg"
                keep_all(name, crop_face(frame.image, sight.face, s.margin))

    def _manifest(
        self,
        writer: ResultWriter,
        tracks: list[Track],
        source: VideoSource,
        digest: str,
        state: Progress,
        wall: float,
        parts: int = 1,
    ) -> Manifest:
        """The tracks grouped into people and written (each track a person with people off), and the
        manifest that describes them."""
        with step("people"):
            groups = self._groups(tracks)
            written = write_people_output(
                writer, tracks, groups, aligned=self.settings.aligned, embeddings=self.people.enabled
            )
        return build_manifest(
            source=source_record(source.info, digest, state.frames_decoded),
            backend=self.detector.backend,
            settings=settings_record(self.settings, self.motion, self.scan, self.people),
            written=written,
            run=state,
            wall_s=wall,
            parts=parts,
        )

    def embedder(self) -> FaceEmbedder:
        """SFace, loaded on first use and kept for the next input."""
        if self._embedder is None:
            self._embedder = FaceEmbedder()
        return self._embedder

    def _groups(self, tracks: list[Track]) -> list[list[Track]]:
        if self.people.enabled and tracks:
            embed_tracks(tracks, self.embedder())
            return group_tracks(tracks, self.people)
        return [[track] for track in tracks]


def _count(
    state: Progress, source: VideoSource, tracker: Tracker, frame: Frame, faces: list[Face], started: float
) -> None:
    """An analysed frame's counts in the progress."""
    state.frames_decoded, state.frames_read = source.decoded, source.read
    state.frames_analysed += 1
    state.detections += len(faces)
    state.tracks = len(tracker.active) + len(tracker.finished)
    state.elapsed_s = time.monotonic() - started
    state.frame, state.frame_faces = frame, faces


def _taken(face: Face, frame: int, tracker: Tracker) -> bool:
    """Whether a track already holds ``face`` in ``frame`` (a face looked back for would be that one)."""
    held = [t.boxes[frame] for t in (*tracker.active, *tracker.finished) if frame in t.boxes]
    return bool(held) and float(iou_matrix(np.array([face.xyxy]), np.array(held)).max()) >= 0.3


def _gated(
    frames: Iterable[Frame], gate: MotionGate | None, clock: StepClock
) -> Iterator[tuple[Frame, MotionResult | None]]:
    """Each frame with what the motion gate says of it, and its full picture made where detection will
    look at it. Runs in the decoding thread (:func:`prefetch`), so on two cores the gate and the
    picture's colour conversion overlap the previous frame's detection instead of following it."""
    for frame in frames:
        started = time.perf_counter()
        motion = gate.update(frame) if gate is not None else None
        clock.add("motion", time.perf_counter() - started)
        if motion is None or motion.moving:
            started = time.perf_counter()
            frame.given, frame.decoded = frame.image, None  # the decoder's picture goes back to its pool
            clock.add("picture", time.perf_counter() - started)
            if frame.neighbours and is_dark(frame.image):
                started = time.perf_counter()
                frame.use(denoise(frame.image, [luma(n.to_ndarray(format="bgr24")) for n in frame.neighbours]))
                frame.denoised = True
                clock.add("denoise", time.perf_counter() - started)
        frame.neighbours = []  # their pictures go back to the decoder's pool
        yield frame, motion
