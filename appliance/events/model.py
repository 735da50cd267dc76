"""The events: one JSON shape on every channel.

``{"id": 42, "time": "2026-11-27T16:00:00+00:00", "type": "recording.done", "box": "nvr-1", "data": {...}}``

``id`` grows with every event of a box (receivers de-duplicate on it: delivery is at least once);
``type`` is one of :class:`EventType`; ``data`` depends on the type (docs/events.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from ..common.box import box_name


class EventType(str, Enum):
    RECORDING_DONE = "recording.done"
    RECORDING_FAILED = "recording.failed"
    PERSON_SEEN = "person.seen"
    HEALTH = "health"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class NewEvent:
    """An event before the outbox numbered it."""

    type: EventType
    data: dict[str, Any]


@dataclass(frozen=True)
class Event:
    id: int
    time: float
    type: EventType
    data: dict[str, Any]

    def body(self, box: str | None = None) -> dict[str, Any]:
        stamp = datetime.fromtimestamp(self.time, timezone.utc).isoformat()
        return {"id": self.id, "time": stamp, "type": self.type.value, "box": box or box_name(), "data": self.data}

    def to_json(self, box: str | None = None) -> str:
        return json.dumps(self.body(box), separators=(",", ":"))


def recording_done(
    job: int, name: str, output: str, tracks: int, people: int, duration_s: float, link: str
) -> NewEvent:
    return NewEvent(
        EventType.RECORDING_DONE,
        {
            "job": job,
            "recording": name,
            "result": output,
            "tracks": tracks,
            "people": people,
            "duration_s": duration_s,
            "link": link,
        },
    )


def recording_failed(job: int, name: str, reason: str, link: str) -> NewEvent:
    return NewEvent(EventType.RECORDING_FAILED, {"job": job, "recording": name, "reason": reason, "link": link})


def person_seen(
    person: int,
    name: str | None,
    new: bool,
    watched: bool,
    job: int,
    recording: str,
    time_s: float,
    face: str,
    link: str,
) -> NewEvent:
    return NewEvent(
        EventType.PERSON_SEEN,
        {
            "person": person,
            "name": name,
            "new": new,
            "watched": watched,
            "job": job,
            "recording": recording,
            "time_s": time_s,
            "face": face,
            "link": link,
        },
    )


def health(status: str, problems: list[str], previous: str | None) -> NewEvent:
    return NewEvent(EventType.HEALTH, {"status": status, "problems": problems, "previous": previous})
