"""``appliance export``: a person's appearances as a case for an investigator (one zip).

Each appearance's clip cut from the original recording with every other face blurred, the best
crops, ``case.json`` with the sha256 of the footage and of every file, and an ``index.html`` that
opens offline. The same as the export button on a person's page.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
from pathlib import Path

from .common import Subparsers, add_settings, settings_of


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser(
        "export",
        help="a person's appearances as a case: clips, others blurred, hashes",
        epilog="exit status: 0 everything exported; 1 an error (nothing written); 2 no people index; "
        "3 an appearance left out or without its clip (footage or result gone); "
        "4 a recording present but altered since it was analysed (case.json gives both sha256)",
    )
    p.add_argument(
        "person_ids", nargs="+", type=int, metavar="PERSON", help="person id(s), as appliance people list shows"
    )
    p.add_argument(
        "-o", "--out", required=True, type=Path, metavar="CASE.zip", help="the zip to write (never overwritten)"
    )
    p.add_argument("--from", dest="since", metavar="T", help="only appearances from this time (2026-11-27T14:00)")
    p.add_argument("--to", dest="until", metavar="T", help="only appearances until this time")
    p.add_argument(
        "--pad-s", type=_seconds, default=2.0, help="seconds of footage before and after each appearance (2)"
    )
    p.add_argument(
        "--redact",
        choices=["others", "all", "none"],
        default="others",
        help="faces to blur: others (everyone but the person, default), all (public release), none",
    )
    p.add_argument(
        "--footage",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="where the original recordings are (repeatable; default: the service's state/done)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress")
    add_settings(p, "people")
    p.set_defaults(func=cmd_export)


def _inside_appliance(target: Path, folders: list[Path]) -> Path | None:
    """The appliance folder ``target`` would be written in, if any."""
    where = target.resolve().parent
    for folder in folders:
        if where.is_relative_to(folder.resolve()):
            return folder
    return None


def _seconds(text: str) -> float:
    """A finite number of seconds, 0 or more (``nan`` and ``inf`` would export whole recordings)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds, 0 or more")
    return value


def cmd_export(args: argparse.Namespace) -> int:
    from ..cases.appearances import CaseError, parse_time
    from ..cases.export import CaseRequest, export_case
    from ..cases.package import Exists
    from ..cases.redact import Redact
    from ..people.index import PeopleIndex
    from ..service.layout import StateLayout

    settings = settings_of(args).settings
    if not settings.people.enabled:
        print("appliance export: the people feature is off (setting people)", file=sys.stderr)
        return 2
    layout = StateLayout(settings.service.state_dir)
    if not layout.people_database.exists():
        print(f"appliance export: no people index at {layout.people_database}", file=sys.stderr)
        return 2
    index = PeopleIndex(layout.people_database, settings.people.threshold)
    footage = args.footage or [layout.done]
    service = settings.service
    inside = _inside_appliance(args.out, [service.inbox_dir, service.outbox_dir, service.state_dir, *footage])
    if inside is not None:
        print(
            f"appliance export: {args.out} is inside {inside}, one of the appliance's own folders (a zip in the "
            "inbox is taken for a recording; the outbox and the footage are never changed): write it elsewhere",
            file=sys.stderr,
        )
        return 1

    def progress(fraction: float, message: str) -> None:
        if not args.quiet:
            print(f"[{fraction:4.0%}] {message}", file=sys.stderr)

    # stopped (SIGTERM): unwind, so the hidden work folder with the subject's footage is removed now
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        request = CaseRequest(
            tuple(args.person_ids), parse_time(args.since), parse_time(args.until), args.pad_s, Redact(args.redact)
        )
        result = export_case(request, index, settings.service.outbox_dir, footage, args.out, progress)
    except (CaseError, Exists, FileNotFoundError) as exc:
        print(f"appliance export: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a full or read-only disk, a stick pulled out: nothing published
        print(f"appliance export: {args.out} could not be written ({exc}); no zip was published", file=sys.stderr)
        return 1
    for note in result.notes:
        print(f"appliance export: note: {note}", file=sys.stderr)
    for name in result.altered:
        print(
            f"appliance export: ALTERED: {name} is not the recording that was analysed (see case.json)", file=sys.stderr
        )
    left = f", {result.left_out} left out" if result.left_out else ""
    print(f"{result.path}: {result.appearances} appearance(s), {result.clips} clip(s){left}")
    if result.altered:
        return 4
    return 0 if result.clips == result.appearances and not result.left_out else 3
