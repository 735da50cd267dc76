"""A case from start to finish: select the appearances, find and check the footage, cut and redact a
clip of each, write the record and the page, and publish the zip.

Reads the outbox and the footage, writes only the zip (and a hidden work folder beside it, removed
at the end): an export never changes the outbox or the footage. A recording that is gone is said in
the record and on the page, and what is left is exported; if nothing at all could be cut the crops
and the record are still handed over.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..output.embeddings import read_embeddings
from ..output.manifest import Manifest
from ..people.embed import mean_embedding
from ..people.index import PeopleIndex
from .appearances import Appearance, CaseError, Selection, select
from .boxes import FaceBoxes
from .clip import ClipError, Picture, write_clip
from .faces import SUBJECT_FOUND, Found, FrameFaces, analysed_stretches
from .package import check_target, write_zip
from .page import case_page
from .record import case_record, write_record
from .redact import Redact, redact_planes
from .sources import Located, locate

Progress = Callable[[float, str], None]
Detect = Callable[[Any], Sequence[Found]]


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

    ``detector``: makes the face search for frames the pipeline did not analyse (from the manifest's
    backend and minimum face, the subject's embedding and the similarity that makes them the same);
    None: the appliance's detector and SFace, loaded only if such frames come up."""
    say = progress or (lambda fraction, message: None)
    if request.pad_s < 0:
        raise CaseError(f"--pad-s {request.pad_s}: the padding cannot be negative")
    check_target(target)
    selection = select(index, outbox, request.people, request.since, request.until, join_gap_s=2 * request.pad_s)
    say(0.02, f"{len(selection.appearances)} appearance(s) found")
    with tempfile.TemporaryDirectory(prefix=".case-", dir=target.parent) as work_dir:
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
    return CaseResult(target, len(rows), sum(1 for r in rows if r.get("clip")), run.notes)


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
        row["crop"] = self._copy_crop(appearance, f"crops/{name}.jpg")
        manifest = self.selection.manifests[appearance.recording]
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
            row.update(self._clip(f"clips/{name}.mp4", source.path, manifest, appearance, start, end))
        except (ClipError, OSError) as exc:
            row["missing"] = f"the clip could not be cut: {exc}"
            self.notes.append(f"{name}: {row['missing']}")
        return row

    def _clip(
        self, relative: str, source: Path, manifest: Manifest, appearance: Appearance, start: float, end: float
    ) -> dict[str, Any]:
        fps = manifest.source.fps or 25.0
        rate = manifest.settings.get("fps")
        interval_s = 1.0 / float(rate) if rate else 1.0 / fps
        faces = FrameFaces(
            FaceBoxes(manifest.tracks, interval_s * fps),
            self._analysed(appearance.recording, manifest, source),
            interval_s,
            detect=lambda image: self._detect(appearance.recording, manifest)(image),
        )
        subjects: set[int | None] = {*self._subjects(appearance.recording), SUBJECT_FOUND}
        blurred = 0

        def change(picture: Picture) -> None:
            nonlocal blurred
            here = faces.at(picture.frame, picture.time_s, picture)
            blurred += redact_planes(picture.planes, here, subjects, self.request.redact)

        target = self.work / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        info = write_clip(source, target, start, end, change, manifest.source.fps or None)
        if faces.unknown:
            self.notes.append(
                f"{target.stem}: {faces.unknown} frame(s) lie outside the stretches the appliance analysed; "
                f"their faces were searched at export ({faces.searched} search(es)): "
                f"{faces.recognised} recognised as the person exported, the others blurred"
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

    def _copy_crop(self, appearance: Appearance, relative: str) -> str | None:
        crop = self.outbox / appearance.crop
        if not crop.is_file():
            self.notes.append(f"{relative}: the crop {appearance.crop} is gone from the outbox")
            return None
        target = self.work / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(crop, target)
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
            }
            for recording, found in self.located.items()
        ]


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
    """The appliance's detector, and SFace to tell the subject's face from others' (``subject``: their
    mean embedding in this recording; None: nobody is recognised, every face found is blurred)."""
    from ..detect import Backend, Detector
    from ..people.embed import FaceEmbedder

    min_face = float(manifest.settings.get("min_face", 20))
    backend: Backend = "tflite" if manifest.backend == "tflite" else "tf" if manifest.backend == "tf" else "auto"
    detector = Detector(backend, min_face)
    embedder = FaceEmbedder() if subject is not None else None

    def search(picture: Any) -> list[Found]:
        image = picture.bgr()
        found = []
        for face in detector.detect(image):
            vector = embedder.embed_face(image, face) if embedder is not None and subject is not None else None
            same = vector is not None and subject is not None and float(vector @ subject) >= threshold
            found.append(Found(face.xyxy, same))
        return found

    return search


__all__ = ["CaseError", "CaseRequest", "CaseResult", "Redact", "export_case"]
