"""What the result folder holds: one crop per person in ``faces/``, one per track in ``tracks/`` (with
the unenhanced ``originals/`` and ``aligned/`` ones when asked for), the tracks' embeddings, and the
manifest that describes them (its records, the settings used, the run's statistics)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..common.recorded import source_of
from ..detect import Face
from ..output.embeddings import write_embeddings
from ..output.manifest import (
    EMBEDDINGS,
    BestShot,
    Landmarks,
    Manifest,
    PersonBest,
    PersonRecord,
    Quality,
    ScanStats,
    SourceRecord,
    Stats,
    TrackRecord,
)
from ..output.writer import ResultWriter
from ..settings import ExtractSettings, MotionSettings, PeopleSettings, ScanSettings
from .progress import Progress, SearchKind
from .scan import ScanResult
from .track import Track
from .video import SourceInfo


@dataclass(frozen=True)
class PeopleOutput:
    """What was written of the tracks and the people, as the manifest lists it."""

    tracks: list[TrackRecord]
    people: list[PersonRecord]
    embeddings: str | None  # the embeddings file, if the tracks were embedded


def build_manifest(
    *,
    source: SourceRecord,
    backend: str,
    settings: dict[str, Any],
    written: PeopleOutput,
    run: Progress,
    wall_s: float,
    parts: int = 1,
) -> Manifest:
    """The result's manifest: the footage, how it was processed, what was written and what the run
    counted (read now: the time per step includes the people step that wrote the crops)."""
    searches = run.searches
    return Manifest(
        version=__version__,
        source=source,
        backend=backend,
        enhanced_frames=run.enhanced_frames,
        settings=settings,
        tracks=written.tracks,
        people=written.people,
        embeddings=written.embeddings,
        stats=Stats(
            frames_decoded=run.frames_decoded,
            frames_analysed=run.frames_analysed,
            frames_full_detection=searches[SearchKind.FULL],
            frames_region_detection=searches[SearchKind.REGIONS],
            frames_follow_detection=searches[SearchKind.FOLLOW],
            frames_skipped_still=searches[SearchKind.SKIPPED],
            detections=run.detections,
            wall_s=round(wall_s, 3),
            scan=scan_stats(run.scan, frames_decoded=run.frames_decoded, keyframes_checked=run.keyframes_checked),
            parts=parts,
            time_ms=run.clock.milliseconds(),
        ),
    )


def settings_record(
    extract: ExtractSettings, motion: MotionSettings, scan: ScanSettings, people: PeopleSettings
) -> dict[str, Any]:
    """The settings a result was made with, as the manifest keeps them (extraction's at the top)."""
    return {
        **extract.model_dump(mode="json"),
        "motion": motion.model_dump(mode="json"),
        "scan": scan.model_dump(mode="json"),
        "people": people.model_dump(mode="json"),
    }


def scan_stats(found: ScanResult | None, *, frames_decoded: int, keyframes_checked: int) -> ScanStats | None:
    """What the activity scan decided, for the manifest (None: no scan, as for stills or with it off)."""
    if found is None:
        return None
    return ScanStats(
        mode=found.mode,
        reason=found.reason,
        signal=found.signal.value,
        gops=found.gops,
        active_s=round(found.active_s, 3),
        active_stretches=found.active_stretches,
        frames_decoded=frames_decoded,
        keyframes_checked=keyframes_checked,
        still_checks=found.still_checks,
    )


def write_people_output(
    writer: ResultWriter, tracks: list[Track], groups: list[list[Track]], *, aligned: bool, embeddings: bool
) -> PeopleOutput:
    """The tracks' and the people's crops and records (``groups``: each person's tracks), and the tracks'
    embeddings when people are on (``embeddings``)."""
    person_of = {t.id: person for person, group in enumerate(groups, start=1) for t in group}
    numbers = {t.id: number for number, t in enumerate(tracks, start=1)}
    return PeopleOutput(
        tracks=write_tracks(writer, tracks, person_of, aligned),
        people=write_people(writer, groups, numbers),
        embeddings=write_track_embeddings(writer, tracks) if embeddings else None,
    )


def write_tracks(
    writer: ResultWriter, tracks: list[Track], person_of: dict[int, int], aligned: bool
) -> list[TrackRecord]:
    """Each track's crops into ``tracks/`` (numbered in order of appearance) and its record."""
    return [
        _write_track(writer, number, track, person_of[track.id], aligned)
        for number, track in enumerate(tracks, start=1)
    ]


def _write_track(writer: ResultWriter, number: int, track: Track, person: int, aligned: bool) -> TrackRecord:
    if track.best_crop is None:
        raise RuntimeError(f"track {track.id} has no best crop")
    name = writer.image(f"tracks/track-{number:04d}.jpg", track.best_crop)
    original = None
    if track.best_original is not None:
        original = writer.image(f"originals/track-{number:04d}.jpg", track.best_original)
    if aligned and track.best_aligned is not None:
        writer.image(f"aligned/track-{number:04d}.jpg", track.best_aligned)
    best = track.best
    return TrackRecord(
        id=number,
        person=person,
        first_s=round(track.first.time_s, 3),
        last_s=round(track.last.time_s, 3),
        detections=track.detections,
        boxes=[
            (frame, *rounded_box((x1, y1, x2 - x1, y2 - y1))) for frame, (x1, y1, x2, y2) in sorted(track.boxes.items())
        ],
        best=BestShot(
            file=name,
            frame=best.frame,
            time_s=round(best.time_s, 3),
            box=rounded_box(best.face.box),
            confidence=round(best.face.confidence, 5),
            landmarks=landmarks(best.face),
            quality=Quality(**best.quality.rounded()),
            enhanced=original is not None,
            original_file=original,
        ),
    )


def write_people(writer: ResultWriter, groups: list[list[Track]], numbers: dict[int, int]) -> list[PersonRecord]:
    """One crop per person into ``faces/`` (the best shot of all their tracks) and their records.

    ``numbers``: each track's number in the manifest, by track id.
    """
    people = []
    for person, group in enumerate(groups, start=1):
        best = max(group, key=lambda t: t.best.quality.score)
        if best.best_crop is None:
            raise RuntimeError(f"track {best.id} has no best crop")
        name = writer.image(f"faces/person-{person:04d}.jpg", best.best_crop)
        people.append(
            PersonRecord(
                id=person,
                tracks=sorted(numbers[t.id] for t in group),
                first_s=round(min(t.first.time_s for t in group), 3),
                last_s=round(max(t.last.time_s for t in group), 3),
                best=PersonBest(
                    file=name,
                    track=numbers[best.id],
                    time_s=round(best.best.time_s, 3),
                    quality=round(best.best.quality.score, 4),
                ),
            )
        )
    return people


def write_track_embeddings(writer: ResultWriter, tracks: list[Track]) -> str | None:
    """The tracks' embeddings for the people index, by track number; None if there are none."""
    rows = {number: t.embedding for number, t in enumerate(tracks, start=1) if t.embedding is not None}
    if not rows:
        return None
    write_embeddings(writer.path(EMBEDDINGS), rows)
    return EMBEDDINGS


def rounded_box(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    x, y, w, h = box
    return round(x, 1), round(y, 1), round(w, 1), round(h, 1)


def landmarks(face: Face) -> Landmarks:
    points = [(round(x, 1), round(y, 1)) for x, y in face.landmarks]
    return Landmarks(
        left_eye=points[0], right_eye=points[1], nose=points[2], mouth_left=points[3], mouth_right=points[4]
    )


def source_record(info: SourceInfo, digest: str, decoded: int) -> SourceRecord:
    path = Path(info.path)
    return SourceRecord(
        path=path.name,
        sha256=digest,
        size_bytes=path.stat().st_size,
        duration_s=round(info.duration_s, 3),
        fps=round(info.fps, 3),
        frames=info.frames or decoded,
        width=info.width,
        height=info.height,
        recorded_at=info.recorded_at,
        recorded_at_source=source_of(info.recorded_at, path.name),
    )
