"""This box's name among the fleet's: the ``box`` setting, else the host name.

Workers, events, partial result folders and job records carry it, so that boxes sharing one queue
and one outbox tell their own work from each other's. Each process names itself at start-up
(:func:`name_box`) from its settings.
"""

from __future__ import annotations

import socket

_name = socket.gethostname()


def box_name() -> str:
    return _name


def name_box(name: str) -> None:
    """Use ``name`` for this process (empty: keep the host name)."""
    global _name
    if name:
        _name = name
