"""``case.json`` and ``SHA256SUMS``: who, what, when, how, and the proof that nothing was altered.

``case.json`` holds the sha256 of every source recording (as the appliance hashed it when it took
the file, checked again now) and of every file exported; ``SHA256SUMS`` lists every file of the
zip but itself in ``sha256sum -c`` format, ``case.json`` included, so one command checks it all.
"""

from __future__ import annotations

import getpass
import json
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import __version__
from ..common.hashing import sha256_file

CASE_JSON = "case.json"
SUMS = "SHA256SUMS"


def exported_files(folder: Path, leave_out: tuple[str, ...] = (CASE_JSON, SUMS)) -> dict[str, str]:
    """Each file under ``folder`` (relative, POSIX) -> its sha256."""
    return {
        p.relative_to(folder).as_posix(): sha256_file(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.relative_to(folder).as_posix() not in leave_out
    }


def case_record(
    folder: Path,
    request: dict[str, Any],
    people: list[dict[str, Any]],
    appearances: list[dict[str, Any]],
    sources: list[dict[str, Any]],
    notes: list[str],
) -> dict[str, Any]:
    return {
        "case": {
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "created_by": _who(),
            "appliance_version": __version__,
            "request": request,
        },
        "people": people,
        "appearances": appearances,
        "sources": sources,
        "notes": notes,
        "files": exported_files(folder),
    }


def write_record(folder: Path, record: dict[str, Any]) -> None:
    """``case.json``, then ``SHA256SUMS`` over everything, ``case.json`` included."""
    (folder / CASE_JSON).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    sums = exported_files(folder, leave_out=(SUMS,))
    (folder / SUMS).write_text("".join(f"{digest}  {name}\n" for name, digest in sums.items()), encoding="utf-8")


def _who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
