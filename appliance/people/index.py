"""The people index: every person seen on this box, across recordings, with a person's corrections.

SQLite beside the job store (``state/people.sqlite``). A face row is one track of one recording:
its embedding, its crop (relative to the outbox), when it was seen. A new recording's people (as
the recording grouped its tracks) are matched against the known people by average cosine
similarity at the people threshold, each known person taken by at most one of them, and are new
people otherwise. A periodic re-grouping (average linkage over all faces) corrects early mistakes;
what a person said stays true through it: a merge ("same" links), a split and "not the same
person" ("different" links), names (two named people are never merged). Deleting a recording's
results deletes its faces; ``forget`` deletes a person and everything known of them here.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..common.sqlite import DurableDb
from .cluster import average_linkage
from .embed import EMBEDDING_SIZE

SCHEMA = """
CREATE TABLE IF NOT EXISTS people (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, created REAL NOT NULL, updated REAL NOT NULL,
    watched INTEGER NOT NULL DEFAULT 0, hidden INTEGER NOT NULL DEFAULT 0, photo INTEGER
);
CREATE TABLE IF NOT EXISTS faces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person INTEGER NOT NULL REFERENCES people(id),
    recording TEXT NOT NULL,            -- the result folder's name in the outbox
    title TEXT NOT NULL,                -- the recording as a person knows it (its file name)
    job INTEGER,
    track INTEGER NOT NULL,             -- the track's number in that recording
    local_person INTEGER NOT NULL,      -- the person's number in that recording
    first_s REAL NOT NULL, last_s REAL NOT NULL, time_s REAL NOT NULL,
    crop TEXT NOT NULL,                 -- relative to the outbox
    quality REAL NOT NULL,
    recorded_at REAL,                   -- when the recording started, if known
    embedding BLOB NOT NULL,
    added REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS faces_person ON faces(person);
CREATE INDEX IF NOT EXISTS faces_recording ON faces(recording);
CREATE TABLE IF NOT EXISTS links (
    a INTEGER NOT NULL, b INTEGER NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('same', 'different')),
    created REAL NOT NULL, PRIMARY KEY (a, b, kind)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class NewFace:
    """A track of a recording, to be indexed."""

    track: int
    local_person: int
    first_s: float
    last_s: float
    time_s: float
    crop: str
    quality: float
    embedding: np.ndarray


@dataclass(frozen=True)
class Seen:
    """A recording's person as the index knows them."""

    person: int
    new: bool
    name: str | None = None
    watched: bool = False


@dataclass(frozen=True)
class Match:
    face: dict[str, Any]
    similarity: float


def _blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def _vector(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


class PeopleIndex:
    def __init__(self, path: str | Path, threshold: float) -> None:
        self.path = str(path)
        self.threshold = threshold
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._store = DurableDb(self.path, foreign_keys=True)
        self._db().executescript(SCHEMA)
        columns = {row["name"] for row in self._db().execute("PRAGMA table_info(people)")}
        if "watched" not in columns:  # an index made before the watch list
            self._db().execute("ALTER TABLE people ADD COLUMN watched INTEGER NOT NULL DEFAULT 0")
        if "hidden" not in columns:  # an index made before hiding and choosing the photo
            self._db().execute("ALTER TABLE people ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0")
            self._db().execute("ALTER TABLE people ADD COLUMN photo INTEGER")  # the face chosen to stand for them
        self._matrix: tuple[int, np.ndarray, list[int]] | None = None  # (version, embeddings, face ids)

    def _db(self) -> sqlite3.Connection:
        return self._store.connection()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A transaction that also moves the index's version on (the search matrix is rebuilt after it)."""
        with self._store.transaction() as db:
            yield db
            db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version'")
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('version', '1')")

    # -- adding recordings ------------------------------------------------------------------------
    def has_recording(self, recording: str) -> bool:
        return self._db().execute("SELECT 1 FROM faces WHERE recording=? LIMIT 1", (recording,)).fetchone() is not None

    def add_recording(
        self,
        recording: str,
        title: str,
        faces: Sequence[NewFace],
        job: int | None = None,
        recorded_at: float | None = None,
    ) -> dict[int, Seen]:
        """Index a recording's faces (once); its people's numbers -> who they are on this box."""
        if not faces:
            return {}
        if self.has_recording(recording):
            return self._seen_in(recording, new=set())
        new: set[int] = set()
        local: dict[int, list[NewFace]] = {}
        for face in faces:
            local.setdefault(face.local_person, []).append(face)
        now = time.time()
        with self._tx() as db:
            assigned = self._match_people(db, local)
            for number, group in local.items():
                if number not in assigned:
                    assigned[number] = self._new_person(db, now)
                    new.add(assigned[number])
                person = assigned[number]
                db.execute("UPDATE people SET updated=? WHERE id=?", (now, person))
                for face in group:
                    db.execute(
                        "INSERT INTO faces (person, recording, title, job, track, local_person, first_s, last_s, "
                        "time_s, crop, quality, recorded_at, embedding, added) VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            person,
                            recording,
                            title,
                            job,
                            face.track,
                            number,
                            face.first_s,
                            face.last_s,
                            face.time_s,
                            face.crop,
                            face.quality,
                            recorded_at,
                            _blob(face.embedding),
                            now,
                        ),
                    )
        return self._seen_in(recording, new)

    def _seen_in(self, recording: str, new: set[int]) -> dict[int, Seen]:
        rows = self._db().execute(
            "SELECT DISTINCT f.local_person, p.id, p.name, p.watched FROM faces f JOIN people p ON p.id = f.person "
            "WHERE f.recording = ?",
            (recording,),
        )
        return {r["local_person"]: Seen(r["id"], r["id"] in new, r["name"], bool(r["watched"])) for r in rows}

    def watch(self, person: int, watched: bool) -> bool:
        """Say (or stop saying) when this person is seen: ``person.seen`` events with ``watched``."""
        with self._tx() as db:
            done = db.execute("UPDATE people SET watched=?, updated=? WHERE id=?", (int(watched), time.time(), person))
            return done.rowcount == 1

    def _match_people(self, db: sqlite3.Connection, local: dict[int, list[NewFace]]) -> dict[int, int]:
        """Each of a recording's people to the known person most like them (average similarity over
        all pairs of faces), best pairs first, a known person taken once."""
        rows = db.execute("SELECT person, embedding FROM faces").fetchall()
        if not rows:
            return {}
        known = np.stack([_vector(r["embedding"]) for r in rows])
        owners, position = np.unique(np.array([r["person"] for r in rows]), return_inverse=True)
        counts = np.bincount(position)
        scores: list[tuple[float, int, int]] = []
        for number, group in local.items():
            similarity = np.stack([f.embedding for f in group]) @ known.T  # (faces here, faces known)
            mean = np.bincount(position, weights=similarity.sum(axis=0)) / (counts * len(group))
            best = np.argsort(-mean)[: len(local)]  # enough candidates for every person here
            scores.extend((float(mean[k]), number, int(owners[k])) for k in best)
        assigned: dict[int, int] = {}
        taken: set[int] = set()
        for score, number, person in sorted(scores, reverse=True):
            if score < self.threshold:
                break
            if number not in assigned and person not in taken:
                assigned[number] = person
                taken.add(person)
        return assigned

    # -- reading ----------------------------------------------------------------------------------
    def people(self, hidden: bool = False) -> list[dict[str, Any]]:
        """A card per person: name, faces, recordings, first and last seen, the best face (the hidden
        ones only when asked for)."""
        rows = (
            self._db()
            .execute(
                "SELECT p.id, p.name, p.watched, p.hidden, COUNT(f.id) AS faces, "
                "COUNT(DISTINCT f.recording) AS recordings, "
                "MIN(f.added) AS first_added, MAX(f.added) AS last_added, MIN(f.recorded_at) AS first_recorded, "
                "MAX(f.recorded_at) AS last_recorded FROM people p JOIN faces f ON f.person = p.id "
                f"{'' if hidden else 'WHERE p.hidden = 0 '}GROUP BY p.id ORDER BY MAX(f.added) DESC, p.id DESC"
            )
            .fetchall()
        )
        best = self._best_faces()
        return [{**dict(row), "best": best.get(row["id"])} for row in rows]

    def _best_faces(self) -> dict[int, dict[str, Any]]:
        """Each person's photo: the face chosen for them, else their best."""
        rows = self._db().execute(
            "SELECT person, crop, recording, quality, id AS face FROM faces f WHERE quality = "
            "(SELECT MAX(quality) FROM faces g WHERE g.person = f.person) GROUP BY person"
        )
        best = {row["person"]: dict(row) for row in rows}
        chosen = self._db().execute(
            "SELECT f.person, f.crop, f.recording, f.quality, f.id AS face FROM people p "
            "JOIN faces f ON f.id = p.photo AND f.person = p.id"
        )
        best.update({row["person"]: {**dict(row), "chosen": True} for row in chosen})
        return best

    def person(self, person: int) -> dict[str, Any] | None:
        row = self._db().execute("SELECT * FROM people WHERE id=?", (person,)).fetchone()
        if row is None:
            return None
        faces = (
            self._db()
            .execute(
                "SELECT id, recording, title, job, track, local_person, first_s, last_s, time_s, crop, quality, "
                "recorded_at, added FROM faces WHERE person=? "
                "ORDER BY COALESCE(recorded_at, added), recording, first_s",
                (person,),
            )
            .fetchall()
        )
        return {**dict(row), "faces": [dict(f) for f in faces], "best": self._best_faces().get(person)}

    def count(self) -> dict[str, int]:
        row = self._db().execute("SELECT COUNT(DISTINCT person) AS people, COUNT(*) AS faces FROM faces").fetchone()
        return {"people": row["people"], "faces": row["faces"]}

    def version(self) -> int:
        row = self._db().execute("SELECT value FROM meta WHERE key='version'").fetchone()
        return int(row["value"]) if row else 0

    def search(self, embedding: np.ndarray, top: int = 10) -> list[Match]:
        """The faces most like ``embedding`` (cosine similarity), best first."""
        version = self.version()
        if self._matrix is None or self._matrix[0] != version:
            rows = self._db().execute("SELECT id, embedding FROM faces ORDER BY id").fetchall()
            matrix = np.stack([_vector(r["embedding"]) for r in rows]) if rows else np.empty((0, EMBEDDING_SIZE))
            self._matrix = (version, matrix.astype(np.float32), [r["id"] for r in rows])
        _, matrix, ids = self._matrix
        if not ids:
            return []
        similarity = matrix @ np.asarray(embedding, dtype=np.float32)
        best = np.argsort(-similarity)[:top]
        wanted = [ids[i] for i in best]
        found = {
            r["id"]: dict(r)
            for r in self._db().execute(
                f"SELECT f.id, f.person, p.name, f.recording, f.title, f.track, f.time_s, f.crop, f.recorded_at "
                f"FROM faces f JOIN people p ON p.id = f.person WHERE f.id IN ({','.join('?' * len(wanted))})",
                wanted,
            )
        }
        return [Match(found[ids[i]], round(float(similarity[i]), 4)) for i in best if ids[i] in found]

    def similar_people(self, person: int, floor: float, top: int = 5) -> list[dict[str, Any]]:
        """The people most like ``person`` (average similarity over all pairs of their faces) from
        ``floor`` up to the threshold: "possibly the same person", for a person to decide. People
        said to be someone else ("not the same") are left out."""
        rows = self._db().execute("SELECT id, person, embedding FROM faces").fetchall()
        mine = [r for r in rows if r["person"] == person]
        if not mine:
            return []
        apart = self._kept_apart(person)
        theirs = [r for r in rows if r["person"] != person and r["person"] not in apart]
        if not theirs:
            return []
        mean = np.stack([_vector(r["embedding"]) for r in mine]).mean(axis=0)
        similarity = np.stack([_vector(r["embedding"]) for r in theirs]) @ mean
        owners = np.array([r["person"] for r in theirs])
        scores = {int(p): float(similarity[owners == p].mean()) for p in np.unique(owners)}
        near = sorted(((s, p) for p, s in scores.items() if floor <= s < self.threshold), reverse=True)[:top]
        cards = {c["id"]: c for c in self.people(hidden=True)}
        return [{**cards[p], "similarity": round(s, 3)} for s, p in near if p in cards]

    def _kept_apart(self, person: int) -> set[int]:
        rows = self._db().execute(
            "SELECT DISTINCT g.person FROM links l JOIN faces f ON f.id IN (l.a, l.b) "
            "JOIN faces g ON g.id IN (l.a, l.b) AND g.id != f.id WHERE l.kind = 'different' AND f.person = ?",
            (person,),
        )
        return {row["person"] for row in rows}

    # -- corrections ------------------------------------------------------------------------------
    def hide(self, person: int, hidden: bool) -> bool:
        """Leave a person off the grid (or show them again): nothing of them is deleted."""
        with self._tx() as db:
            done = db.execute("UPDATE people SET hidden=?, updated=? WHERE id=?", (int(hidden), time.time(), person))
            return done.rowcount == 1

    def choose_photo(self, person: int, face: int) -> bool:
        """The face that stands for ``person`` on the page (one of their own)."""
        with self._tx() as db:
            mine = db.execute("SELECT 1 FROM faces WHERE id=? AND person=?", (face, person)).fetchone()
            if mine is None:
                return False
            db.execute("UPDATE people SET photo=?, updated=? WHERE id=?", (face, time.time(), person))
            return True

    def rename(self, person: int, name: str | None) -> bool:
        with self._tx() as db:
            done = db.execute("UPDATE people SET name=?, updated=? WHERE id=?", (name or None, time.time(), person))
            return done.rowcount == 1

    def merge(self, keep: int, other: int) -> bool:
        """``other`` is ``keep``: its faces move there, and stay together through re-grouping."""
        if keep == other:
            return False
        with self._tx() as db:
            a = [r["id"] for r in db.execute("SELECT id FROM faces WHERE person=?", (keep,))]
            b = [r["id"] for r in db.execute("SELECT id FROM faces WHERE person=?", (other,))]
            if not a or not b:
                return False
            self._link(db, [(a[0], face) for face in a[1:] + b], "same")
            name = db.execute("SELECT name FROM people WHERE id=?", (other,)).fetchone()["name"]
            db.execute("UPDATE people SET name=COALESCE(name, ?), updated=? WHERE id=?", (name, time.time(), keep))
            db.execute("UPDATE faces SET person=? WHERE person=?", (keep, other))
            db.execute("DELETE FROM people WHERE id=?", (other,))
        return True

    def split(self, person: int, faces: Sequence[int]) -> int | None:
        """These faces of ``person`` are someone else: a new person, kept apart from the rest from now on."""
        now = time.time()
        with self._tx() as db:
            mine = {r["id"] for r in db.execute("SELECT id FROM faces WHERE person=?", (person,))}
            moved = [f for f in faces if f in mine]
            rest = sorted(mine - set(moved))
            if not moved or not rest:
                return None
            new = self._new_person(db, now)
            db.execute(f"UPDATE faces SET person=? WHERE id IN ({','.join('?' * len(moved))})", (new, *moved))
            self._link(db, [(moved[0], f) for f in moved[1:]], "same")
            self._link(db, [(rest[0], f) for f in rest[1:]], "same")
            self._link(db, [(a, b) for a in moved for b in rest], "different")
        return new

    def not_same(self, a: int, b: int) -> bool:
        """People ``a`` and ``b`` are two people, whatever their faces say."""
        with self._tx() as db:
            left = [r["id"] for r in db.execute("SELECT id FROM faces WHERE person=?", (a,))]
            right = [r["id"] for r in db.execute("SELECT id FROM faces WHERE person=?", (b,))]
            self._link(db, [(x, y) for x in left for y in right], "different")
            return bool(left and right)

    @staticmethod
    def _new_person(db: sqlite3.Connection, now: float) -> int:
        cursor = db.execute("INSERT INTO people (created, updated) VALUES (?, ?)", (now, now))
        if cursor.lastrowid is None:
            raise sqlite3.DatabaseError("no id for a new person")
        return int(cursor.lastrowid)

    @staticmethod
    def _link(db: sqlite3.Connection, pairs: Sequence[tuple[int, int]], kind: str) -> None:
        now = time.time()
        db.executemany(
            "INSERT OR IGNORE INTO links (a, b, kind, created) VALUES (?, ?, ?, ?)",
            [(min(a, b), max(a, b), kind, now) for a, b in pairs if a != b],
        )

    # -- forgetting -------------------------------------------------------------------------------
    def forget(self, person: int) -> int:
        """Delete a person: their faces (embeddings), links and name. Returns the faces deleted."""
        with self._tx() as db:
            faces = [r["id"] for r in db.execute("SELECT id FROM faces WHERE person=?", (person,))]
            self._delete_faces(db, faces)
            db.execute("DELETE FROM people WHERE id=?", (person,))
        return len(faces)

    def forget_recording(self, recording: str) -> int:
        """A recording's results were deleted: so are its faces (and people left with none)."""
        with self._tx() as db:
            faces = [r["id"] for r in db.execute("SELECT id FROM faces WHERE recording=?", (recording,))]
            self._delete_faces(db, faces)
            db.execute("DELETE FROM people WHERE id NOT IN (SELECT DISTINCT person FROM faces)")
        return len(faces)

    @staticmethod
    def _delete_faces(db: sqlite3.Connection, faces: Sequence[int]) -> None:
        for start in range(0, len(faces), 500):
            chunk = faces[start : start + 500]
            marks = ",".join("?" * len(chunk))
            db.execute(f"DELETE FROM links WHERE a IN ({marks}) OR b IN ({marks})", (*chunk, *chunk))
            db.execute(f"DELETE FROM faces WHERE id IN ({marks})", chunk)

    # -- re-grouping ------------------------------------------------------------------------------
    def regroup(self) -> dict[str, int]:
        """Group all faces again (average linkage), keeping what people said; ids follow their faces."""
        db = self._db()
        rows = db.execute(
            "SELECT f.id, f.person, f.recording, f.local_person, f.first_s, f.last_s, f.embedding, p.name "
            "FROM faces f JOIN people p ON p.id = f.person ORDER BY f.id"
        ).fetchall()
        if len(rows) < 2:
            return {"faces": len(rows), "changed": 0}
        position = {row["id"]: i for i, row in enumerate(rows)}
        must, cannot = self._constraints(rows, position)
        labels = average_linkage(np.stack([_vector(r["embedding"]) for r in rows]), self.threshold, cannot, must)
        changed = self._apply_groups(rows, labels)
        return {"faces": len(rows), "changed": changed}

    def _constraints(
        self, rows: Sequence[sqlite3.Row], position: dict[int, int]
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        must: list[tuple[int, int]] = []
        cannot: list[tuple[int, int]] = []
        for link in self._db().execute("SELECT a, b, kind FROM links"):
            if link["a"] in position and link["b"] in position:
                pair = (position[link["a"]], position[link["b"]])
                (must if link["kind"] == "same" else cannot).append(pair)
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

    def _apply_groups(self, rows: Sequence[sqlite3.Row], labels: Sequence[int]) -> int:
        """New groups take the id of the person most of their faces had (largest groups first)."""
        groups: dict[int, list[int]] = {}
        for i, label in enumerate(labels):
            groups.setdefault(label, []).append(i)
        taken: set[int] = set()
        changed = 0
        now = time.time()
        with self._tx() as db:
            for members in sorted(groups.values(), key=len, reverse=True):
                votes: dict[int, int] = {}
                for i in members:
                    votes[rows[i]["person"]] = votes.get(rows[i]["person"], 0) + 1
                person = next((p for p, _ in sorted(votes.items(), key=lambda v: -v[1]) if p not in taken), None)
                if person is None:
                    person = self._new_person(db, now)
                taken.add(person)
                moved = [rows[i]["id"] for i in members if rows[i]["person"] != person]
                for start in range(0, len(moved), 500):
                    chunk = moved[start : start + 500]
                    db.execute(
                        f"UPDATE faces SET person=? WHERE id IN ({','.join('?' * len(chunk))})", (person, *chunk)
                    )
                changed += len(moved)
            db.execute("DELETE FROM people WHERE id NOT IN (SELECT DISTINCT person FROM faces)")
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('regrouped', ?)", (str(now),))
        return changed

    def faces_since_regroup(self) -> int:
        row = self._db().execute("SELECT value FROM meta WHERE key='regrouped'").fetchone()
        since = float(row["value"]) if row else 0.0
        return int(self._db().execute("SELECT COUNT(*) FROM faces WHERE added > ?", (since,)).fetchone()[0])
