"""``appliance export``: a person's appearances as a case for an investigator (one zip).

Each appearance's clip cut from the original recording with every other face blurred, the best
crops, ``case.json`` with the sha256 of the footage and of every file, and an ``index.html`` that
opens offline. The same as the export button on a person's page.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import Subparsers, add_settings, settings_of


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("export", help="a person's appearances as a case: clips, others blurred, hashes")
    p.add_argument(
        "person_ids", nargs="+", type=int, metavar="PERSON", help="person id(s), as appliance people list shows"
    )
    p.add_argument(
        "-o", "--out", required=True, type=Path, metavar="CASE.zip", help="the zip to write (never overwritten)"
    )
    p.add_argument("--from", dest="since", metavar="T", help="only appearances from this time (2026-11-27T14:00)")
    p.add_argument("--to", dest="until", metavar="T", help="only appearances until this time")
    p.add_argument("--pad-s", type=float, default=2.0, help="seconds of footage before and after each appearance (2)")
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

    def progress(fraction: float, message: str) -> None:
        if not args.quiet:
            print(f"[{fraction:4.0%}] {message}", file=sys.stderr)

    try:
        request = CaseRequest(
            tuple(args.person_ids), parse_time(args.since), parse_time(args.until), args.pad_s, Redact(args.redact)
        )
        result = export_case(request, index, settings.service.outbox_dir, footage, args.out, progress)
    except (CaseError, Exists, FileNotFoundError) as exc:
        print(f"appliance export: {exc}", file=sys.stderr)
        return 1
    for note in result.notes:
        print(f"appliance export: note: {note}", file=sys.stderr)
    print(f"{result.path}: {result.appearances} appearance(s), {result.clips} clip(s)")
    return 0 if result.clips == result.appearances else 3
