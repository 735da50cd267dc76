"""A case from start to finish: select the appearances, find and check the footage, cut and redact a
clip of each, write the record and the page, and publish the zip.

Reads the outbox and the footage, writes only the zip (and a hidden work folder beside it, removed
at the end): an export never changes the outbox or the footage. A recording that is gone is said in
the record and on the page, and what is left is exported; if nothing at all could be cut the crops
and the record are still handed over.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..output.embeddings import read_embeddings
from ..output.manifest import BestShot, Manifest
from ..people.embed import mean_embedding
from ..people.index import PeopleIndex
from .appearances import Appearance, CaseError, Selection, select
from .boxes import FaceBoxes
from .clip import ClipError, Picture, pictures, write_clip
from .crops import blur_outbox_crop, cut, margin_box, write_jpeg
from .faces import STRICT_SIMILARITY, SUBJECT_FOUND, Found, FrameFaces, analysed_stretches
from .package import check_target, sweep_leftovers, work_prefix, write_zip
from .page import case_page
from .record import case_record, write_record
from .redact import Redact, redact_planes
from .sources import Located, locate

Progress = Callable[[float, str], None]
# the detector's stage thresholds at export, below the pipeline's (0.6, 0.7, 0.8 and its judge): a face
# blurred that was none costs nothing, one missed is a stranger shown. On the busy clip every face that
# the pipeline's detector or the stock MTCNN finds in any frame is found by these within 3 frames
# (HOLD_FOUND), the pipeline's own settings miss a face peeking past a column; the cost per frame is the same
SEARCH_THRESHOLDS = (0.6, 0.6, 0.4)
Detect = Callable[[Any, bool], Sequence[Found]]


@dataclass(frozen=True)
class CaseRequest:
    people: tuple[int, ...]
    since: datetime | None = None
    until: datetime | None = None
    pad_s: float = 2.0
    redact: Redact = Redact.OTHERS

    def as_record(self) -> dict[str, Any]:
        return {
            "people": list(self.people),
            "from": self.since.isoformat() if self.since else None,
            "to": self.until.isoformat() if self.until else None,
            "pad_s": self.pad_s,
            "redact": self.redact.value,
        }


@dataclass(frozen=True)
class CaseResult:
    path: Path
    appearances: int
    clips: int
    notes: list[str]
    left_out: int = 0  # appearances of the people asked for that could not be listed (result gone, no time)
    altered: tuple[str, ...] = ()  # recordings present but not the ones analysed: the operator must know


def export_case(
    request: CaseRequest,
    index: PeopleIndex,
    outbox: Path,
    footage: Sequence[Path],
    target: Path,
    progress: Progress | None = None,
    detector: Callable[[Manifest, np.ndarray | None, float], Detect] | None = None,
) -> CaseResult:
    """Write the case of ``request`` to ``target`` (a new zip); :class:`CaseError` if there is nothing to export.

    ``detector``: makes the face search run on the clip's frames (from the manifest's backend and
    minimum face, the subject's embedding and the people threshold); None: the appliance's detector
    and SFace, loaded when the first clip with faces to blur is cut."""
    say = progress or (lambda fraction, message: None)
    if not math.isfinite(request.pad_s) or request.pad_s < 0:
        raise CaseError(f"--pad-s {request.pad_s}: the padding is a number of seconds, 0 or more")
    check_target(target)
    selection = select(index, outbox, request.people, request.since, request.until, join_gap_s=2 * request.pad_s)
    say(0.02, f"{len(selection.appearances)} appearance(s) found")
    for leftover in sweep_leftovers(target.parent):
        say(0.01, f"removed {leftover.name}, left by an export that was stopped")
    with tempfile.TemporaryDirectory(prefix=work_prefix(), dir=target.parent) as work_dir:
        work = Path(work_dir)
        run = _Run(request, selection, outbox, footage, work, detector or _appliance_detector, index.threshold)
        rows = []
        for number, appearance in enumerate(selection.appearances, start=1):
            say(0.05 + 0.85 * (number - 1) / len(selection.appearances), f"appearance {number}: {appearance.title}")
            rows.append(run.appearance(number, appearance))
        say(0.92, "writing the record")
        record = case_record(work, request.as_record(), _people(selection), rows, run.sources(), run.notes)
        (work / "index.html").write_text(case_page(record), encoding="utf-8")
        record = case_record(work, request.as_record(), _people(selection), rows, run.sources(), run.notes)
        write_record(work, record)
        say(0.96, "writing the zip")
        write_zip(work, target)
    say(1.0, f"written {target.name}")
    altered = tuple(found.name for found in run.located.values() if found.altered)
    clips = sum(1 for r in rows if r.get("clip"))
    return CaseResult(target, len(rows), clips, run.notes, len(selection.left_out), altered)


class _Run:
    """One export's state: the footage found, the notes for the operator."""

    def __init__(
        self,
        request: CaseRequest,
        selection: Selection,
        outbox: Path,
        footage: Sequence[Path],
        work: Path,
        detector: Callable[[Manifest, np.ndarray | None, float], Detect],
        threshold: float,
    ) -> None:
        self.request, self.selection, self.outbox, self.footage, self.work = request, selection, outbox, footage, work
        self.detector = detector
        self.threshold = threshold
        self.notes: list[str] = list(selection.left_out)
        self.located: dict[str, Located] = {}
        self.detects: dict[str, Detect] = {}
        self.analysed: dict[str, tuple[tuple[float, float], ...] | None] = {}

    def appearance(self, number: int, appearance: Appearance) -> dict[str, Any]:
        name = f"{number:03d}-person-{appearance.person}"
        row = _describe(name, appearance)
        manifest = self.selection.manifests[appearance.recording]
        row["crop"] = self._copy_crop(appearance, manifest, f"crops/{name}.jpg")
        source = self._locate(appearance.recording, manifest)
        if source.path is None:
            row["missing"] = source.missing
            return row
        if self.request.redact is not Redact.NONE and not any(t.boxes for t in manifest.tracks):
            row["missing"] = (
                f"{appearance.title} was analysed before the appliance kept every face's boxes, so its other "
                "faces cannot be blurred: analyse it again to export a clip"
            )
            self.notes.append(f"{name}: {row['missing']}")
            return row
        duration = manifest.source.duration_s or appearance.end_s + self.request.pad_s
        start = max(appearance.start_s - self.request.pad_s, 0.0)
        end = min(appearance.end_s + self.request.pad_s, duration)
        try:
            row.update(self._clip(f"clips/{name}.mp4", source.path, manifest, appearance, start, end, row["crop"]))
        except (ClipError, OSError) as exc:
            row["missing"] = f"the clip could not be cut: {exc}"
            self.notes.append(f"{name}: {row['missing']}")
        return row

    def _clip(
        self,
        relative: str,
        source: Path,
        manifest: Manifest,
        appearance: Appearance,
        start: float,
        end: float,
        crop: str | None,
    ) -> dict[str, Any]:
        fps = manifest.source.fps or 25.0
        rate = manifest.settings.get("fps")
        interval_s = 1.0 / float(rate) if rate else 1.0 / fps
        subjects = self._subjects(appearance.recording)
        hiding = self.request.redact is not Redact.NONE
        faces = FrameFaces(
            FaceBoxes(manifest.tracks, interval_s * fps),
            self._analysed(appearance.recording, manifest, source) if hiding else None,
            interval_s,
            detect=(lambda image, recognise: self._detect(appearance.recording, manifest)(image, recognise))
            if hiding
            else None,
            subjects=frozenset(subjects) if self.request.redact is Redact.OTHERS else frozenset(),
        )
        hidden_tracks: set[int | None] = {*subjects, SUBJECT_FOUND}
        blurred = 0
        best = _best_shot(appearance, manifest)
        recut = crop is not None and best is not None and self.request.redact is not Redact.NONE

        def change(picture: Picture) -> None:
            nonlocal blurred, recut
            here = faces.at(picture.frame)
            blurred += redact_planes(picture.planes, here, hidden_tracks, self.request.redact)
            if recut and best is not None and crop is not None and picture.frame == best.frame:
                write_jpeg(cut(picture.bgr(), best, float(manifest.settings.get("margin", 0.2))), self.work / crop)
                recut = False  # the crop now comes from the redacted frame

        if hiding:
            faces.search(pictures(source, start, end, manifest.source.fps or None))
        target = self.work / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        info = write_clip(source, target, start, end, change, manifest.source.fps or None)
        self.notes.append(
            f"{target.stem}: {faces.searched} of {info.frames} frame(s) searched for faces at export, every face "
            f"found blurred unless it is on the person's own track ({faces.unknown} frame(s) outside the "
            f"stretches the appliance analysed, {faces.recognised} face(s) there recognised as the person "
            f"at similarity >= {STRICT_SIMILARITY})"
            if hiding
            else f"{target.stem}: nothing blurred (--redact none)"
        )
        return {
            "clip": relative,
            "clip_start_s": round(info.first_s, 3),
            "clip_end_s": round(info.last_s, 3),
            "clip_frames": info.frames,
            "faces_blurred": blurred,
            "frames_outside_analysis": faces.unknown,
            "frames_searched_at_export": faces.searched,
            "faces_recognised_at_export": faces.recognised,
        }

    def _analysed(self, recording: str, manifest: Manifest, source: Path) -> tuple[tuple[float, float], ...] | None:
        """Where the pipeline analysed the recording (the scan read once per recording)."""
        if recording not in self.analysed:
            self.analysed[recording] = analysed_stretches(manifest, source)
        return self.analysed[recording]

    def _subjects(self, recording: str) -> set[int]:
        """The tracks of ``recording`` that are the people asked for: the faces left unblurred."""
        return {
            face["track"]
            for person in self.selection.people.values()
            for face in person["faces"]
            if face["recording"] == recording
        }

    def _detect(self, recording: str, manifest: Manifest) -> Detect:
        if recording not in self.detects:
            subject = None
            if self.request.redact is Redact.OTHERS:  # with all or none whose face it is changes nothing
                vectors = read_embeddings(self.outbox / recording)
                mine = [vectors[t] for t in sorted(self._subjects(recording)) if t in vectors]
                subject = mean_embedding(mine) if mine else None
            self.detects[recording] = self.detector(manifest, subject, self.threshold)
        return self.detects[recording]

    def _locate(self, recording: str, manifest: Manifest) -> Located:
        if recording not in self.located:
            found = locate(manifest.source, self.footage)
            self.located[recording] = found
            if found.missing:
                self.notes.append(found.missing + "; its appearances are listed without a clip")
        return self.located[recording]

    def _copy_crop(self, appearance: Appearance, manifest: Manifest, relative: str) -> str | None:
        """The outbox crop, as it is with ``none``, else blurred as :mod:`.crops` says (replaced by the
        crop cut from the redacted clip when the clip is cut)."""
        crop = self.outbox / appearance.crop
        if not crop.is_file():
            self.notes.append(f"{relative}: the crop {appearance.crop} is gone from the outbox")
            return None
        target = self.work / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.request.redact is Redact.NONE:
            shutil.copyfile(crop, target)
            return relative
        image = cv2.imread(str(crop))
        best = _best_shot(appearance, manifest)
        if image is None or best is None:
            self.notes.append(f"{relative}: the crop {appearance.crop} cannot be read to blur it: left out")
            return None
        origin = margin_box(best, manifest.source.width, manifest.source.height, manifest.settings.get("margin", 0.2))
        fits = (origin[2] - origin[0], origin[3] - origin[1]) == (image.shape[1], image.shape[0])
        write_jpeg(blur_outbox_crop(image, best, origin, self.request.redact if fits else Redact.ALL), target)
        return relative

    def sources(self) -> list[dict[str, Any]]:
        return [
            {
                "recording": recording,
                "file": found.name,
                "sha256": found.sha256,
                "size_bytes": found.size_bytes,
                "verified": found.path is not None,
                "missing": found.missing,
                "altered": found.altered,
                "found_sha256": found.found_sha256,
            }
            for recording, found in self.located.items()
        ]


def _best_shot(appearance: Appearance, manifest: Manifest) -> BestShot | None:
    """The best shot the appearance's crop is of (its track's, by file; else the best of its tracks)."""
    tracks = [t for t in manifest.tracks if t.id in appearance.tracks]
    for track in tracks:
        if f"{appearance.recording}/{track.best.file}" == appearance.crop:
            return track.best
    return max((t.best for t in tracks), key=lambda b: b.quality.score, default=None)


def _describe(name: str, appearance: Appearance) -> dict[str, Any]:
    started, ended = appearance.started, appearance.ended
    return {
        "id": name,
        "person": appearance.person,
        "recording": appearance.recording,
        "title": appearance.title,
        "tracks": list(appearance.tracks),
        "start_s": appearance.start_s,
        "end_s": appearance.end_s,
        "recorded_at": appearance.recorded_at,
        "time_source": appearance.time_source,
        "started": started.isoformat(sep=" ") if started else None,
        "ended": ended.isoformat(sep=" ") if ended else None,
        "started_epoch": started.timestamp() if started else None,
        "clip": None,
    }


def _people(selection: Selection) -> list[dict[str, Any]]:
    return [
        {
            "id": person,
            "name": found.get("name"),
            "appearances": sum(1 for a in selection.appearances if a.person == person),
        }
        for person, found in selection.people.items()
    ]


def _appliance_detector(manifest: Manifest, subject: np.ndarray | None, threshold: float) -> Detect:
    """The appliance's detector, as the recording was analysed with, and SFace to tell the subject's
    face from others' where asked (``subject``: their mean embedding in this recording; None: nobody
    is recognised). A face is the subject's at ``STRICT_SIMILARITY`` or ``threshold``, the higher:
    a wrong match would unblur a stranger, a missed one only blurs the subject."""
    from ..detect import Backend, Detector
    from ..people.embed import FaceEmbedder

    min_face = float(manifest.settings.get("min_face", 20))
    backend: Backend = "tflite" if manifest.backend == "tflite" else "tf" if manifest.backend == "tf" else "auto"
    detector = Detector(backend, min_face).with_thresholds(SEARCH_THRESHOLDS)
    embedder = FaceEmbedder() if subject is not None else None
    strict = max(threshold, STRICT_SIMILARITY)

    def search(picture: Any, recognise: bool) -> list[Found]:
        image = picture.bgr()
        found = []
        for face in detector.detect(image):
            same = False
            if recognise and embedder is not None and subject is not None:
                vector = embedder.embed_face(image, face)
                same = vector is not None and float(vector @ subject) >= strict
            found.append(Found(face.xyxy, same))
        return found

    return search


__all__ = ["CaseError", "CaseRequest", "CaseResult", "Redact", "export_case"]
