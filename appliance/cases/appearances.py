"""What to export: every appearance of the people asked for, from the people index and the manifests.

An appearance is a person's stretch in one recording: their tracks there, joined where less than
``join_gap_s`` apart (a clip each would overlap). It carries the recording's start time when the
recording says it (metadata or file name), so it has a time of day, and the best crop of its tracks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..common.recorded import source_of
from ..output.manifest import Manifest, read_manifest
from ..people.index import PeopleIndex


class CaseError(Exception):
    """Nothing can be exported as asked; the message says why, for the operator."""


@dataclass(frozen=True)
class Appearance:
    person: int
    recording: str  # the result folder's name in the outbox
    title: str  # the recording's file name
    tracks: tuple[int, ...]
    start_s: float
    end_s: float
    crop: str  # the best crop, relative to the outbox
    quality: float
    recorded_at: str | None  # when the recording started (ISO 8601), if it says
    time_source: str | None  # "metadata" or "file name"

    @property
    def started(self) -> datetime | None:
        """The time of day the appearance starts (the recording's clock)."""
        if self.recorded_at is None:
            return None
        return datetime.fromisoformat(self.recorded_at) + timedelta(seconds=self.start_s)

    @property
    def ended(self) -> datetime | None:
        started = self.started
        return None if started is None else started + timedelta(seconds=self.end_s - self.start_s)


@dataclass
class Selection:
    """The appearances to export, the people they are, and what was left out and why."""

    people: dict[int, dict[str, Any]]
    appearances: list[Appearance]
    manifests: dict[str, Manifest]
    left_out: list[str] = field(default_factory=list)


def parse_time(text: str | None) -> datetime | None:
    """``--from``/``--to``: an ISO 8601 date or date and time (``2026-11-27``, ``2026-11-27T14:30``)."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise CaseError(f"{text!r} is not a date and time: write it as 2026-11-27 or 2026-11-27T14:30") from None


def select(
    index: PeopleIndex,
    outbox: Path,
    people: Sequence[int],
    since: datetime | None = None,
    until: datetime | None = None,
    join_gap_s: float = 4.0,
) -> Selection:
    """Every appearance of ``people`` in time order; a :class:`CaseError` when there is none to export."""
    if not people:
        raise CaseError("no person given: appliance people list shows who is known")
    if since is not None and until is not None and (since.tzinfo is None) != (until.tzinfo is None):
        raise CaseError(
            f"--from {since.isoformat()} and --to {until.isoformat()}: one has a time zone and the other not; "
            "give both with a zone (2026-11-27T14:00+01:00) or both without (the box's local time)"
        )
    if since is not None and until is not None and since >= until:
        raise CaseError(f"the window is empty: --from {since.isoformat()} is not before --to {until.isoformat()}")
    known: dict[int, dict[str, Any]] = {}
    for person in dict.fromkeys(people):
        found = index.person(person)
        if found is None:
            raise CaseError(f"no person #{person} in the people index (appliance people list shows who is known)")
        known[person] = found
    selection = Selection(known, [], {})
    every: list[Appearance] = []
    for person, found in known.items():
        every.extend(_appearances(person, found["faces"], outbox, selection, join_gap_s))
    kept = [a for a in every if _within(a, since, until, selection)]
    if every and not kept:
        raise CaseError(_outside(known, every, since, until))
    if not kept:
        raise CaseError("nothing to export: " + ("; ".join(selection.left_out) or "no appearance found"))
    selection.appearances = sorted(kept, key=_order)
    return selection


def _appearances(
    person: int, faces: list[dict[str, Any]], outbox: Path, selection: Selection, join_gap_s: float
) -> list[Appearance]:
    by_recording: dict[str, list[dict[str, Any]]] = {}
    for face in faces:
        by_recording.setdefault(face["recording"], []).append(face)
    found = []
    for recording, rows in by_recording.items():
        manifest = selection.manifests.get(recording) or read_manifest(outbox / recording)
        if manifest is None:
            selection.left_out.append(
                f"#{person} in {rows[0]['title']}: its result ({recording}) is gone from the outbox"
            )
            continue
        selection.manifests[recording] = manifest
        found.extend(_join(person, recording, manifest, sorted(rows, key=lambda r: r["first_s"]), join_gap_s))
    return found


def _join(
    person: int, recording: str, manifest: Manifest, rows: list[dict[str, Any]], join_gap_s: float
) -> list[Appearance]:
    groups: list[list[dict[str, Any]]] = []
    for row in rows:
        if groups and row["first_s"] - max(r["last_s"] for r in groups[-1]) <= join_gap_s:
            groups[-1].append(row)
        else:
            groups.append([row])
    source = manifest.source
    when = source.recorded_at
    return [
        Appearance(
            person=person,
            recording=recording,
            title=source.path,
            tracks=tuple(sorted(r["track"] for r in group)),
            start_s=min(r["first_s"] for r in group),
            end_s=max(r["last_s"] for r in group),
            crop=max(group, key=lambda r: r["quality"])["crop"],
            quality=max(r["quality"] for r in group),
            recorded_at=when,
            time_source=source.recorded_at_source or source_of(when, source.path),
        )
        for group in groups
    ]


def _stamp(moment: datetime) -> float:
    """Seconds since the epoch; a time without a zone is the box's local time (as the index reads it)."""
    return moment.timestamp()


def _within(appearance: Appearance, since: datetime | None, until: datetime | None, selection: Selection) -> bool:
    if since is None and until is None:
        return True
    started, ended = appearance.started, appearance.ended
    if started is None or ended is None:
        selection.left_out.append(
            f"#{appearance.person} in {appearance.title}: the recording gives no time, so it cannot be placed "
            "in the window"
        )
        return False
    return (since is None or _stamp(ended) >= _stamp(since)) and (until is None or _stamp(started) <= _stamp(until))


def _outside(
    known: dict[int, dict[str, Any]], every: list[Appearance], since: datetime | None, until: datetime | None
) -> str:
    who = ", ".join(f"#{p}" for p in known)
    window = f"between {since.isoformat() if since else 'the start'} and {until.isoformat() if until else 'now'}"
    times = sorted(a.started for a in every if a.started is not None)
    seen = f"; seen {times[0].isoformat()} to {times[-1].isoformat()}" if times else "; no recording gives its time"
    return f"{who}: {len(every)} appearance(s), none {window}{seen}"


def _order(appearance: Appearance) -> tuple[float, str, float]:
    started = appearance.started
    return (_stamp(started) if started is not None else float("inf"), appearance.recording, appearance.start_s)
