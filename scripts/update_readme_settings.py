#!/usr/bin/env python3
"""Write the settings tables from the settings model: every setting in docs/settings.md (what
`appliance config --markdown` prints), the sections and their settings' names in README.md."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from appliance.cli.config import SECTIONS_HEADER, TABLE_HEADER, markdown_table, sections_table  # noqa: E402


def replace_table(path: Path, header: str, table: str) -> None:
    """The table that starts with ``header`` in ``path`` (up to the next blank line) becomes ``table``."""
    text = path.read_text()
    start = text.index(header)
    end = text.index("\n\n", start)
    path.write_text(text[:start] + table + text[end:])


def main() -> None:
    replace_table(REPO / "docs" / "settings.md", TABLE_HEADER, markdown_table())
    replace_table(REPO / "README.md", SECTIONS_HEADER, sections_table())


if __name__ == "__main__":
    main()
