"""Where the model files are: $APPLIANCE_MODELS_DIR, the source tree's models/, or the install prefix."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def model_folders() -> list[Path]:
    folders = []
    if os.environ.get("APPLIANCE_MODELS_DIR"):
        folders.append(Path(os.environ["APPLIANCE_MODELS_DIR"]))
    folders.append(Path(__file__).resolve().parents[2] / "models")
    folders.append(Path(sys.prefix) / "share" / "face-appliance" / "models")
    return folders


def find_models(*names: str) -> Path:
    """The first folder holding all of ``names``; FileNotFoundError naming where it looked."""
    folders = model_folders()
    for folder in folders:
        if all((folder / name).is_file() for name in names):
            return folder
    raise FileNotFoundError(f"model file(s) {', '.join(names)} not found (looked in {', '.join(map(str, folders))})")
