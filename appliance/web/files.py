"""Result files from the outbox and the workers' live previews: nothing else on the box is served.

Only the types results are made of (JPEG crops, the manifest, the CSV), only from inside a
published result folder, reached without ``..`` or symlinks, never a file with a second hard link
(a link placed in the outbox to a file elsewhere, a key say), and under ``Content-Security-Policy:
sandbox``, so that nothing served can run as the page.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, request, send_file

from ..common.paths import inside_without_symlinks
from .context import context

bp = Blueprint("files", __name__)
RESULT_TYPES = {".jpg": "image/jpeg", ".json": "application/json", ".csv": "text/csv"}
DOWNLOADABLE = {".csv", ".json"}


def safe_outbox_path(outbox: Path, relative: str) -> Path | None:
    """``outbox/relative`` if it is a single-linked result file inside a published result folder."""
    path = inside_without_symlinks(outbox, relative)
    if path is None or len(path.relative_to(outbox.resolve()).parts) < 2 or path.suffix.lower() not in RESULT_TYPES:
        return None
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        return None
    return path


@bp.get("/files/<path:relative>")
def result_file(relative: str) -> Any:
    path = safe_outbox_path(context().outbox, relative)
    if path is None:
        abort(404)
    download = path.suffix in DOWNLOADABLE and "download" in request.args
    response = send_file(path, mimetype=RESULT_TYPES[path.suffix.lower()], as_attachment=download)
    response.headers["Content-Security-Policy"] = "sandbox"
    return response


@bp.get("/preview/<int:job_id>.jpg")
def preview(job_id: int) -> Any:
    path = context().layout.preview(job_id)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="image/jpeg", max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response
