#!/usr/bin/env python3
"""Write the settings table in README.md from the settings model (what `appliance config --markdown` prints)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from appliance.cli.config import markdown_table  # noqa: E402

HEADER = "| setting | environment | flag | default | meaning |"


def main() -> None:
    readme = REPO / "README.md"
    text = readme.read_text()
    start = text.index(HEADER)
    end = text.index("\n\n", start)
    readme.write_text(text[:start] + markdown_table() + text[end:])


if __name__ == "__main__":
    main()
