"""What a job record in the fleet's Redis may say before this box acts on it.

Whoever can write to the Redis can write a record, so a record is believed only as far as it stays
inside this box's folders: a path with ``..``, an absolute one, one under no known folder or one that
leaves its folder through a symlink makes the record :class:`UnsafeRecord`. Paths are kept relative
to the box's folders (``state:processing/x.mp4``), so boxes that mount the shared folders in
different places read them in their own terms (:class:`PathMap`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ...settings import ServiceSettings


class UnsafeRecord(ValueError):
    """A job record in Redis that this box will not act on (a path outside its folders, a name that is a path)."""


def _inside(root: Path, rest: str, label: str) -> Path:
    """``root / rest`` if it stays inside ``root``: relative, no ``..``, not out through a symlink."""
    if rest == ".":
        return root
    relative = PurePosixPath(rest)
    if not rest or "\0" in rest or relative.is_absolute() or ".." in relative.parts:
        raise UnsafeRecord(f"path {label}:{rest!r} is not a plain path inside the {label} folder")
    path = root / rest
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, os.path.realpath(path)]) != real_root:
        raise UnsafeRecord(f"path {label}:{rest!r} leads out of the {label} folder (through a symlink)")
    return path


@dataclass(frozen=True)
class PathMap:
    """Paths relative to this box's folders, and back (only back into those folders)."""

    roots: tuple[tuple[str, Path], ...]

    @classmethod
    def of(cls, settings: ServiceSettings) -> PathMap:
        return cls((("state", settings.state_dir), ("outbox", settings.outbox_dir), ("inbox", settings.inbox_dir)))

    def to_queue(self, path: str | None) -> str | None:
        if not path:
            return path
        for name, root in self.roots:
            try:
                return f"{name}:{Path(path).relative_to(root)}"
            except ValueError:
                continue
        return path

    def from_queue(self, value: str | None, allowed: tuple[str, ...] | None = None) -> str | None:
        """The path on this box; raises :class:`UnsafeRecord` unless it is inside one of its folders
        (one of ``allowed``, by name, when given)."""
        if not value:
            return value
        name, sep, rest = value.partition(":")
        root = dict(self.roots).get(name) if sep and (allowed is None or name in allowed) else None
        if root is None:
            known = ", ".join(f"{n}:" for n, _ in self.roots if allowed is None or n in allowed)
            raise UnsafeRecord(f"path {value[:200]!r} is not in {known}")
        return str(_inside(root, rest, name))


# where each path of a job record may be: footage in state/ (or left in the inbox), results in the outbox
PATH_FIELDS = {"path": ("state", "inbox"), "source": ("inbox",), "output": ("outbox",)}
SHA256 = re.compile(r"[0-9a-f]{64}")


def check_record(data: Any) -> None:
    """The fields that become file names on this box: a hex digest, a name whose stem is a plain name."""
    if not isinstance(data, dict):
        raise UnsafeRecord("a job record that is not a JSON object")
    if not isinstance(data.get("sha256"), str) or not SHA256.fullmatch(data["sha256"]):
        raise UnsafeRecord(f"job record {data.get('id')!r}: sha256 {str(data.get('sha256'))[:80]!r} is not a digest")
    name = data.get("name")
    if not isinstance(name, str) or "\0" in name or Path(name).stem in ("", ".", ".."):
        raise UnsafeRecord(f"job record {data.get('id')!r}: name {str(name)[:200]!r} is not a file name")
    for number in ("id", "parent", "part"):
        value = data.get(number)
        if (value is not None or number == "id") and (not isinstance(value, int) or isinstance(value, bool)):
            raise UnsafeRecord(f"job record {data.get('id')!r}: {number} {value!r} is not a number")
