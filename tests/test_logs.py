"""Log lines cannot be forged through names that came from outside (issue #12, item 10)."""

from __future__ import annotations

import logging

from appliance.common.logs import OneLineFormatter, escape_controls


def test_a_newline_in_a_footage_name_stays_on_one_line():
    record = logging.LogRecord(
        "appliance.service",
        logging.INFO,
        __file__,
        1,
        "job %d queued: %s",
        (3, "a.mp4\n2026-11-27 ERROR appliance: pwned"),
        None,
    )
    line = OneLineFormatter("%(levelname)s %(message)s").format(record)
    assert "\n" not in line and "a.mp4\\n2026" in line
    assert escape_controls("tab\there\r\x1b[31m") == "tab\\there\\r\\x1b[31m"


def test_tracebacks_keep_their_lines():
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    text = OneLineFormatter("%(message)s").format(record)
    assert text.startswith("failed\nTraceback") and "ValueError: boom" in text
