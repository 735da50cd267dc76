"""Result files from the outbox and the workers' live previews: nothing else on the box is served."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, request, send_file

from ..common.paths import inside_without_symlinks
from .context import context

bp = Blueprint("files", __name__)
DOWNLOADABLE = {".csv", ".json"}


def safe_outbox_path(outbox: Path, relative: str) -> Path | None:
    """``outbox/relative`` if it is a file inside the outbox, reached without ``..`` or symlinks."""
    path = inside_without_symlinks(outbox, relative)
    if path is None or not path.is_file() or not path.resolve().is_relative_to(outbox.resolve()):
        return None
    return path


@bp.get("/files/<path:relative>")
def result_file(relative: str) -> Any:
    path = safe_outbox_path(context().outbox, relative)
    if path is None:
        abort(404)
    return send_file(path, as_attachment=path.suffix in DOWNLOADABLE and "download" in request.args)


@bp.get("/preview/<int:worker>.jpg")
def preview(worker: int) -> Any:
    path = context().layout.preview(worker)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="image/jpeg", max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response
