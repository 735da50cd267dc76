"""The case as one zip, published whole or not at all, never over an existing file.

Written under a hidden name beside the target, synced, then linked to its name (``link`` fails if
the name is taken: an export never overwrites) and the hidden name removed; where the file system has
no hard links (FAT and exFAT USB sticks, some shares) the name is claimed with an exclusive create and
the hidden file renamed over that claim (atomic in one folder). Any failure removes the hidden file, so
a failed export leaves no half-written zip; what a killed export left (its hidden work folder and
zip, named with its process id) is removed by the next export into the same folder. Clips are stored as they are (H.264
does not compress further), the rest deflated.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

from ..common.paths import fsync_dir

STORED_SUFFIXES = (".mp4", ".jpg", ".jpeg", ".png")


class Exists(FileExistsError):
    """The target zip is there already: an export never overwrites."""


def check_target(target: Path) -> None:
    """Before any work: a target that cannot be written is an error now, not after the clips are cut."""
    if target.exists() or target.is_symlink():
        raise Exists(f"{target} exists: an export never overwrites; give another name")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"{target.parent} is not a folder: the zip cannot be written there")


def write_zip(folder: Path, target: Path) -> Path:
    """Every file under ``folder`` into ``target`` (paths relative to ``folder``), atomically."""
    check_target(target)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        with zipfile.ZipFile(partial, "w") as archive:
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                name = path.relative_to(folder).as_posix()
                kind = zipfile.ZIP_STORED if path.suffix.lower() in STORED_SUFFIXES else zipfile.ZIP_DEFLATED
                archive.write(path, name, compress_type=kind)
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        _publish(partial, target)
        fsync_dir(target.parent)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _publish(partial: Path, target: Path) -> None:
    try:
        os.link(partial, target)
        return
    except FileExistsError:
        raise Exists(f"{target} appeared while exporting: an export never overwrites") from None
    except OSError:  # no hard links here: claim the name, then rename over the claim
        pass
    try:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except FileExistsError:
        raise Exists(f"{target} appeared while exporting: an export never overwrites") from None
    try:
        os.replace(partial, target)
    except OSError:
        target.unlink(missing_ok=True)  # our empty claim, never someone's zip
        raise


WORK_PREFIX = ".case-"  # + process id + "-": an export's hidden work folder beside its target


def work_prefix() -> str:
    return f"{WORK_PREFIX}{os.getpid()}-"


def sweep_leftovers(folder: Path) -> list[Path]:
    """Remove what killed exports left in ``folder``: work folders and partial zips of processes that
    are gone (a running export's are left alone). They hold the subject's footage: not to be kept."""
    removed = []
    for path in folder.glob(".*"):
        pid = _owner(path.name)
        if pid is None or _alive(pid):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _owner(name: str) -> int | None:
    if name.startswith(WORK_PREFIX):
        text = name[len(WORK_PREFIX) :].split("-", 1)[0]
    elif ".partial-" in name:
        text = name.rsplit(".partial-", 1)[1]
    else:
        return None
    return int(text) if text.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
