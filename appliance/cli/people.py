"""``appliance people`` and ``appliance search``: the people index from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .common import Subparsers, add_settings, settings_of


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("people", help="list people seen, show one, merge, rename or forget")
    p.add_argument(
        "action", nargs="?", default="list", choices=["list", "show", "merge", "rename", "watch", "unwatch", "forget"]
    )
    p.add_argument("ids", nargs="*", help="show ID | merge KEEP OTHER | rename ID NAME | [un]watch ID | forget ID")
    p.add_argument("--json", action="store_true", help="one JSON object")
    add_settings(p, "people")
    p.set_defaults(func=cmd_people)
    s = sub.add_parser("search", help="the people most like the face in a photo")
    s.add_argument("photo", type=Path)
    s.add_argument("--top", type=int, default=10, help="matches to show (default 10)")
    s.add_argument("--json", action="store_true", help="one JSON object")
    add_settings(s, "search")
    s.set_defaults(func=cmd_search)


def _index(args: argparse.Namespace) -> Any:
    from ..people.index import PeopleIndex
    from ..service.layout import StateLayout

    settings = settings_of(args).settings
    if not settings.people.enabled:
        raise SystemExit("appliance: the people feature is off (setting people)")
    return PeopleIndex(StateLayout(settings.service.state_dir).people_database, settings.people.threshold)


def _stamp(value: float | None) -> str:
    return datetime.fromtimestamp(value, timezone.utc).strftime("%Y-%m-%d %H:%M") if value else "-"


def cmd_people(args: argparse.Namespace) -> int:
    index = _index(args)
    ids = args.ids
    if args.action == "list":
        people = index.people()
        if args.json:
            print(json.dumps({"people": people}))
            return 0
        for p in people:
            first, last = _stamp(p["first_recorded"] or p["first_added"]), _stamp(p["last_recorded"] or p["last_added"])
            print(
                f"#{p['id']:<5} {p['name'] or '':<20} {p['faces']:>4} appearances  {p['recordings']:>3} recordings  "
                f"first {first}  last {last}"
            )
        return 0
    needed = {"show": 1, "merge": 2, "rename": 2, "watch": 1, "unwatch": 1, "forget": 1}[args.action]
    if len(ids) != needed:
        print(f"appliance people {args.action}: needs {needed} argument(s)", file=sys.stderr)
        return 2
    if args.action == "show":
        person = index.person(int(ids[0]))
        if person is None:
            print(f"no person #{ids[0]}", file=sys.stderr)
            return 1
        if args.json:
            print(json.dumps(person))
            return 0
        print(f"#{person['id']} {person['name'] or ''}: {len(person['faces'])} appearances")
        for face in person["faces"]:
            print(f"  {face['title']}  {face['first_s']:.1f}-{face['last_s']:.1f} s  {face['crop']}")
        return 0
    done = {
        "merge": lambda: index.merge(int(ids[0]), int(ids[1])),
        "rename": lambda: index.rename(int(ids[0]), ids[1]),
        "watch": lambda: index.watch(int(ids[0]), True),
        "unwatch": lambda: index.watch(int(ids[0]), False),
        "forget": lambda: index.forget(int(ids[0])) > 0,
    }[args.action]()
    print(("done" if done else "nothing changed") + f": {args.action} {' '.join(ids)}")
    return 0 if done else 1


def cmd_search(args: argparse.Namespace) -> int:
    from ..detect import Detector
    from ..people.embed import FaceEmbedder
    from ..service.searcher import SearchError, faces_in_photo

    index = _index(args)
    settings = settings_of(args).settings
    try:
        faces = faces_in_photo(
            args.photo.read_bytes(), Detector(settings.extract.backend, settings.extract.min_face), FaceEmbedder()
        )
    except (OSError, SearchError) as exc:
        print(f"appliance search: {args.photo}: {exc}", file=sys.stderr)
        return 1
    if not faces:
        print(f"appliance search: {args.photo}: no face found", file=sys.stderr)
        return 1
    matches = index.search(faces[0].embedding, args.top)
    rows = [{**m.face, "similarity": m.similarity, "same_person": m.similarity >= index.threshold} for m in matches]
    if args.json:
        print(json.dumps({"faces_in_photo": len(faces), "matches": rows}))
        return 0
    if len(faces) > 1:
        print(f"{len(faces)} faces in the photo: the largest was searched", file=sys.stderr)
    for row in rows:
        same = "same person" if row["same_person"] else ""
        print(
            f"{row['similarity']:.3f}  #{row['person']} {row['name'] or ''}  {row['title']} at {row['time_s']:.1f} s  "
            f"{row['crop']}  {same}"
        )
    return 0
