"""When a recording started: from its container's metadata or from a date and time in its file name,
and which of the two said so (an investigator must know whether a time is the camera's or a name's).

The video reader (``appliance/pipeline/video.py``) takes a recording's start from
:func:`recording_start`; a manifest keeps only the time, and :func:`source_of` tells afterwards which
of the two gave it. Names as recorders write them: ``cam1_20261127_143005.mp4``,
``2026-11-27 14.30.05.mkv``, ``ch01_20261127143005.mp4``, ``RecS01_20261127_143005_143105.mp4`` (the
first stamp is the start).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

METADATA = "metadata"
FILE_NAME = "file name"

_STAMP = re.compile(
    r"(?<!\d)(20\d\d)[-_.]?(0[1-9]|1[0-2])[-_.]?(0[1-9]|[12]\d|3[01])[-_ T.]?([01]\d|2[0-3])[-_.:h]?([0-5]\d)"
    r"[-_.:m]?([0-5]\d)(?!\d)"
)


@dataclass(frozen=True)
class RecordingStart:
    at: str  # ISO 8601, as the recording says it (with a zone only if it gives one)
    source: str  # METADATA or FILE_NAME


def from_metadata(metadata: dict[str, str]) -> RecordingStart | None:
    stamp = metadata.get("creation_time")
    if not stamp or stamp.startswith("1970"):
        return None
    try:
        return RecordingStart(datetime.fromisoformat(stamp.replace("Z", "+00:00")).isoformat(), METADATA)
    except ValueError:
        return None


def from_name(name: str) -> RecordingStart | None:
    found = _STAMP.search(name)
    if not found:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in found.groups())
        return RecordingStart(datetime(year, month, day, hour, minute, second).isoformat(), FILE_NAME)
    except ValueError:
        return None


def recording_start(name: str, metadata: dict[str, str]) -> RecordingStart | None:
    """The container's ``creation_time`` first (the camera's clock), else the file name's stamp."""
    return from_metadata(metadata) or from_name(name)


def source_of(recorded_at: str | None, name: str) -> str | None:
    """Which of the two gave ``recorded_at`` (as a manifest holds it) for the file ``name``: the name
    when its stamp says the same time, else the metadata (the pipeline reads the metadata first)."""
    if recorded_at is None:
        return None
    named = from_name(name)
    return FILE_NAME if named is not None and named.at == recorded_at else METADATA
