"""Logging for the service and the command line: one line per event on stderr.

Messages carry names that came from outside (footage file names, client addresses): control
characters in them are escaped, so a file named ``a\\nERROR ...`` cannot forge a log line.
Tracebacks keep their lines.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def escape_controls(text: str) -> str:
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class OneLineFormatter(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(_own_stderr())
    handler.setFormatter(OneLineFormatter(FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


def _own_stderr() -> TextIO:
    """A stream on a copy of stderr's file descriptor: the log goes on reaching the real stderr while
    fd 2 is pointed elsewhere (native libraries' chatter is captured that way while they load, from any
    thread). Where stderr has no descriptor (a test's capture), stderr itself. The stream is closed with
    its handler (``basicConfig(force=True)`` closes the previous one)."""
    try:
        fd = os.dup(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError):
        return sys.stderr
    return os.fdopen(fd, "w", buffering=1, encoding=sys.stderr.encoding or "utf-8", errors="replace")
