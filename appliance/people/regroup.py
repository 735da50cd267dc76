"""What a person said about who is who, and re-grouping every track with it kept.

A person's corrections are links between tracks (rows of the index): ``same`` (a merge, and each side
of a split) and ``different`` (a split, "not the same person"). Re-grouping (average linkage over all
tracks) must keep them, and also each recording's own grouping and names: a named person stays whole,
two named people stay apart. New groups take the id of the person most of their tracks had.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

import numpy as np

from .cluster import average_linkage
from .store import CHUNK, PeopleStore, marks, vector

Pairs = list[tuple[int, int]]


def link(db: sqlite3.Connection, pairs: Sequence[tuple[int, int]], kind: str) -> None:
    """Record that each pair of tracks is (``same``) or is not (``different``) one person."""
    now = time.time()
    db.executemany(
        "INSERT OR IGNORE INTO links (a, b, kind, created) VALUES (?, ?, ?, ?)",
        [(min(a, b), max(a, b), kind, now) for a, b in pairs if a != b],
    )


def kept_apart(store: PeopleStore, person: int) -> set[int]:
    """The people said to be someone else than ``person``."""
    rows = store.db().execute(
        "SELECT DISTINCT g.person FROM links l JOIN faces f ON f.id IN (l.a, l.b) "
        "JOIN faces g ON g.id IN (l.a, l.b) AND g.id != f.id WHERE l.kind = 'different' AND f.person = ?",
        (person,),
    )
    return {row["person"] for row in rows}


# -- corrections ----------------------------------------------------------------------------------
def merge(store: PeopleStore, keep: int, other: int) -> bool:
    """``other`` is ``keep``: its tracks move there, and stay together through re-grouping."""
    if keep == other:
        return False
    with store.transaction() as db:
        a = store.track_ids_of(db, keep)
        b = store.track_ids_of(db, other)
        if not a or not b:
            return False
        link(db, [(a[0], track) for track in a[1:] + b], "same")
        name = db.execute("SELECT name FROM people WHERE id=?", (other,)).fetchone()["name"]
        db.execute("UPDATE people SET name=COALESCE(name, ?), updated=? WHERE id=?", (name, time.time(), keep))
        db.execute("UPDATE faces SET person=? WHERE person=?", (keep, other))
        db.execute("DELETE FROM people WHERE id=?", (other,))
    return True


def split(store: PeopleStore, person: int, tracks: Sequence[int]) -> int | None:
    """These tracks of ``person`` are someone else: a new person, kept apart from the rest from now on."""
    now = time.time()
    with store.transaction() as db:
        mine = set(store.track_ids_of(db, person))
        moved = [t for t in tracks if t in mine]
        rest = sorted(mine - set(moved))
        if not moved or not rest:
            return None
        new = store.new_person(db, now)
        db.execute(f"UPDATE faces SET person=? WHERE id IN ({marks(moved)})", (new, *moved))
        link(db, [(moved[0], t) for t in moved[1:]], "same")
        link(db, [(rest[0], t) for t in rest[1:]], "same")
        link(db, [(a, b) for a in moved for b in rest], "different")
    return new


def not_same(store: PeopleStore, a: int, b: int) -> bool:
    """People ``a`` and ``b`` are two people, whatever their tracks' embeddings say."""
    with store.transaction() as db:
        left = store.track_ids_of(db, a)
        right = store.track_ids_of(db, b)
        link(db, [(x, y) for x in left for y in right], "different")
        return bool(left and right)


# -- re-grouping ----------------------------------------------------------------------------------
def regroup(store: PeopleStore, threshold: float) -> dict[str, int]:
    """Group all tracks again (average linkage), keeping what people said; ids follow their tracks."""
    rows = (
        store.db()
        .execute(
            "SELECT f.id, f.person, f.recording, f.local_person, f.first_s, f.last_s, f.embedding, p.name "
            "FROM faces f JOIN people p ON p.id = f.person ORDER BY f.id"
        )
        .fetchall()
    )
    if len(rows) < 2:
        return {"faces": len(rows), "changed": 0}
    position = {row["id"]: i for i, row in enumerate(rows)}
    must, cannot = constraints(store, rows, position)
    labels = average_linkage(np.stack([vector(r["embedding"]) for r in rows]), threshold, cannot, must)
    changed = apply_groups(store, rows, labels)
    return {"faces": len(rows), "changed": changed}


def constraints(store: PeopleStore, rows: Sequence[sqlite3.Row], position: dict[int, int]) -> tuple[Pairs, Pairs]:
    """(must, cannot): pairs of positions in ``rows`` that must be, or cannot be, one person."""
    must: Pairs = []
    cannot: Pairs = []
    for found in store.db().execute("SELECT a, b, kind FROM links"):
        if found["a"] in position and found["b"] in position:
            pair = (position[found["a"]], position[found["b"]])
            (must if found["kind"] == "same" else cannot).append(pair)
    by_recording: dict[tuple[str, int], list[int]] = {}
    for i, row in enumerate(rows):
        by_recording.setdefault((row["recording"], row["local_person"]), []).append(i)
    for members in by_recording.values():  # a recording's own grouping is kept
        must.extend((members[0], m) for m in members[1:])
    named: dict[str, list[int]] = {}
    for i, row in enumerate(rows):  # a named person stays whole, and two named people apart
        if row["name"]:
            named.setdefault(row["name"], []).append(i)
    for members in named.values():
        must.extend((members[0], m) for m in members[1:])
    firsts = sorted(members[0] for members in named.values())
    cannot.extend((a, b) for n, a in enumerate(firsts) for b in firsts[n + 1 :])
    return must, cannot


def apply_groups(store: PeopleStore, rows: Sequence[sqlite3.Row], labels: Sequence[int]) -> int:
    """New groups take the id of the person most of their tracks had (largest groups first). Returns
    the tracks that changed person."""
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(label, []).append(i)
    taken: set[int] = set()
    changed = 0
    now = time.time()
    with store.transaction() as db:
        for members in sorted(groups.values(), key=len, reverse=True):
            votes: dict[int, int] = {}
            for i in members:
                votes[rows[i]["person"]] = votes.get(rows[i]["person"], 0) + 1
            person = next((p for p, _ in sorted(votes.items(), key=lambda v: -v[1]) if p not in taken), None)
            if person is None:
                person = store.new_person(db, now)
            taken.add(person)
            moved = [rows[i]["id"] for i in members if rows[i]["person"] != person]
            for start in range(0, len(moved), CHUNK):
                chunk = moved[start : start + CHUNK]
                db.execute(f"UPDATE faces SET person=? WHERE id IN ({marks(chunk)})", (person, *chunk))
            changed += len(moved)
        store.delete_people_without_tracks(db)
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('regrouped', ?)", (str(now),))
    return changed


def tracks_since_regroup(store: PeopleStore) -> int:
    """Tracks indexed since the last re-grouping (the service re-groups only when some came)."""
    row = store.db().execute("SELECT value FROM meta WHERE key='regrouped'").fetchone()
    since = float(row["value"]) if row else 0.0
    return int(store.db().execute("SELECT COUNT(*) FROM faces WHERE added > ?", (since,)).fetchone()[0])
