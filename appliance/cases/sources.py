"""Finding a result's original recording, and proving it is the one analysed (its sha256).

The service keeps processed footage in ``state/done`` under its own name (``-2``, ``-3`` when a name
was taken); ``appliance extract`` leaves it where it was, so more folders can be given. A file is
the recording only if its sha256 is the manifest's; retention may have deleted it, which an export
reports and works around (the appearance is listed, with its crop, and no clip). A file by the
recording's name that is not the one analysed (edited, truncated, damaged) is reported as altered, with
both hashes, never as gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..common.hashing import sha256_file
from ..output.manifest import SourceRecord


@dataclass(frozen=True)
class Located:
    name: str  # the file name the recording was given
    sha256: str
    size_bytes: int
    path: Path | None  # None: not found
    missing: str | None = None  # why not, for the operator
    found_sha256: str | None = None  # a file by the recording's name whose content is not the one analysed
    altered: bool = False  # that file is there: altered or damaged since the analysis, not gone


def locate(source: SourceRecord, folders: Sequence[Path]) -> Located:
    """The file among ``folders`` whose content is ``source``'s (same size, then same sha256)."""
    stem, suffix = Path(source.path).stem, Path(source.path).suffix
    for candidate in _candidates(folders, stem, suffix):
        if _same_size(candidate, source.size_bytes) and sha256_file(candidate) == source.sha256:
            return Located(source.path, source.sha256, source.size_bytes, candidate)
    for folder in folders:  # renamed: any file of the same size
        for candidate in _files(folder):
            if _same_size(candidate, source.size_bytes) and sha256_file(candidate) == source.sha256:
                return Located(source.path, source.sha256, source.size_bytes, candidate)
    for folder in folders:  # there by its name, but not what was analysed: say so, never "gone"
        named = folder / f"{stem}{suffix}"
        if named.is_file() and not named.is_symlink():
            found = sha256_file(named)
            why = (
                f"the recording {named} is present but altered since it was analysed: sha256 now {found} "
                f"({named.stat().st_size} bytes), analysed {source.sha256} ({source.size_bytes} bytes)"
            )
            return Located(source.path, source.sha256, source.size_bytes, None, why, found, True)
    where = ", ".join(str(f) for f in folders) or "no folder given"
    why = (
        f"the recording {source.path} (sha256 {source.sha256[:12]}…) is gone from {where}: "
        "retention may have removed it"
    )
    return Located(source.path, source.sha256, source.size_bytes, None, why)


def _candidates(folders: Sequence[Path], stem: str, suffix: str) -> list[Path]:
    found: list[Path] = []
    for folder in folders:
        found.append(folder / f"{stem}{suffix}")
        found.extend(sorted(folder.glob(f"{_escape(stem)}-*{_escape(suffix)}")))
    return found


def _files(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_file() and not p.is_symlink())
    except OSError:
        return []


def _same_size(path: Path, size: int) -> bool:
    try:
        return path.is_file() and not path.is_symlink() and path.stat().st_size == size
    except OSError:
        return False


def _escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)
