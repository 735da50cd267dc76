"""The people index's storage: the SQLite schema, its connection and transactions, and the rows.

One file (``state/people.sqlite``) beside the job store. A row of the table ``faces`` is one *track* of
one recording (see the glossary in docs/architecture.md): its embedding, its crop (relative to the
outbox), when it was seen. The table and the keys read back keep the name ``faces`` so that an index
made by an earlier version opens unchanged and the page, the CLI and cases read the same keys.
Nothing here decides who is who: matching (``matching``) and re-grouping (``regroup``) do, through
the rows and transactions here.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..common.sqlite import DurableDb

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
CHUNK = 500  # ids per statement: well inside SQLite's limit on bound parameters


@dataclass(frozen=True)
class NewTrack:
    """A track of a recording, to be indexed: its numbers there, its best shot and its embedding."""

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


def blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def vector(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.float32)


def marks(ids: Sequence[object]) -> str:
    """``?,?,...``: one placeholder per id, for ``IN (...)``."""
    return ",".join("?" * len(ids))


class PeopleStore:
    """The index's file: opened (and brought up to this schema), read, and written in transactions."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._durable = DurableDb(self.path, foreign_keys=True)
        self.db().executescript(SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Columns an index made by an earlier version lacks."""
        columns = {row["name"] for row in self.db().execute("PRAGMA table_info(people)")}
        if "watched" not in columns:  # an index made before the watch list
            self.db().execute("ALTER TABLE people ADD COLUMN watched INTEGER NOT NULL DEFAULT 0")
        if "hidden" not in columns:  # an index made before hiding and choosing the photo
            self.db().execute("ALTER TABLE people ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0")
            self.db().execute("ALTER TABLE people ADD COLUMN photo INTEGER")  # the track chosen to stand for them

    def db(self) -> sqlite3.Connection:
        return self._durable.connection()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A transaction that also moves the index's version on (the search matrix is rebuilt after it)."""
        with self._durable.transaction() as db:
            yield db
            db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'version'")
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('version', '1')")

    def version(self) -> int:
        row = self.db().execute("SELECT value FROM meta WHERE key='version'").fetchone()
        return int(row["value"]) if row else 0

    # -- recordings -------------------------------------------------------------------------------
    def has_recording(self, recording: str) -> bool:
        return self.db().execute("SELECT 1 FROM faces WHERE recording=? LIMIT 1", (recording,)).fetchone() is not None

    def seen_in(self, recording: str, new: set[int]) -> dict[int, Seen]:
        """A recording's people's numbers -> who they are on this box (``new``: people it created)."""
        rows = self.db().execute(
            "SELECT DISTINCT f.local_person, p.id, p.name, p.watched FROM faces f JOIN people p ON p.id = f.person "
            "WHERE f.recording = ?",
            (recording,),
        )
        return {r["local_person"]: Seen(r["id"], r["id"] in new, r["name"], bool(r["watched"])) for r in rows}

    @staticmethod
    def add_tracks(
        db: sqlite3.Connection, person: int, recording: str, title: str, job: int | None,
        recorded_at: float | None, tracks: Sequence[NewTrack], now: float,
    ) -> None:  # fmt: skip
        """A recording's tracks that are ``person``, as rows (inside the caller's transaction)."""
        db.execute("UPDATE people SET updated=? WHERE id=?", (now, person))
        for track in tracks:
            db.execute(
                "INSERT INTO faces (person, recording, title, job, track, local_person, first_s, last_s, "
                "time_s, crop, quality, recorded_at, embedding, added) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    person, recording, title, job, track.track, track.local_person, track.first_s, track.last_s,
                    track.time_s, track.crop, track.quality, recorded_at, blob(track.embedding), now,
                ),
            )  # fmt: skip

    @staticmethod
    def new_person(db: sqlite3.Connection, now: float) -> int:
        cursor = db.execute("INSERT INTO people (created, updated) VALUES (?, ?)", (now, now))
        if cursor.lastrowid is None:
            raise sqlite3.DatabaseError("no id for a new person")
        return int(cursor.lastrowid)

    # -- reading ----------------------------------------------------------------------------------
    def people(self, hidden: bool = False) -> list[dict[str, Any]]:
        """A card per person: name, tracks (``faces``), recordings, first and last seen, the best crop
        (the hidden ones only when asked for)."""
        rows = (
            self.db()
            .execute(
                "SELECT p.id, p.name, p.watched, p.hidden, COUNT(f.id) AS faces, "
                "COUNT(DISTINCT f.recording) AS recordings, "
                "MIN(f.added) AS first_added, MAX(f.added) AS last_added, MIN(f.recorded_at) AS first_recorded, "
                "MAX(f.recorded_at) AS last_recorded FROM people p JOIN faces f ON f.person = p.id "
                f"{'' if hidden else 'WHERE p.hidden = 0 '}GROUP BY p.id ORDER BY MAX(f.added) DESC, p.id DESC"
            )
            .fetchall()
        )
        best = self.best_tracks()
        return [{**dict(row), "best": best.get(row["id"])} for row in rows]

    def best_tracks(self) -> dict[int, dict[str, Any]]:
        """Each person's photo: the track chosen for them, else their best (``face``: the track's row id)."""
        rows = self.db().execute(
            "SELECT person, crop, recording, quality, id AS face FROM faces f WHERE quality = "
            "(SELECT MAX(quality) FROM faces g WHERE g.person = f.person) GROUP BY person"
        )
        best = {row["person"]: dict(row) for row in rows}
        chosen = self.db().execute(
            "SELECT f.person, f.crop, f.recording, f.quality, f.id AS face FROM people p "
            "JOIN faces f ON f.id = p.photo AND f.person = p.id"
        )
        best.update({row["person"]: {**dict(row), "chosen": True} for row in chosen})
        return best

    def person(self, person: int) -> dict[str, Any] | None:
        """A person with their tracks (``faces``) in time order, or None."""
        row = self.db().execute("SELECT * FROM people WHERE id=?", (person,)).fetchone()
        if row is None:
            return None
        tracks = (
            self.db()
            .execute(
                "SELECT id, recording, title, job, track, local_person, first_s, last_s, time_s, crop, quality, "
                "recorded_at, added FROM faces WHERE person=? "
                "ORDER BY COALESCE(recorded_at, added), recording, first_s",
                (person,),
            )
            .fetchall()
        )
        return {**dict(row), "faces": [dict(t) for t in tracks], "best": self.best_tracks().get(person)}

    def count(self) -> dict[str, int]:
        """People and tracks indexed (``faces``: the tracks, under the key callers have always read)."""
        row = self.db().execute("SELECT COUNT(DISTINCT person) AS people, COUNT(*) AS faces FROM faces").fetchone()
        return {"people": row["people"], "faces": row["faces"]}

    def track_ids_of(self, db: sqlite3.Connection, person: int) -> list[int]:
        return [r["id"] for r in db.execute("SELECT id FROM faces WHERE person=?", (person,))]

    def embeddings(self, db: sqlite3.Connection, columns: str = "id, person, embedding") -> list[sqlite3.Row]:
        """Every track's embedding with ``columns`` (in row id order)."""
        return db.execute(f"SELECT {columns} FROM faces ORDER BY id").fetchall()

    def match_rows(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """What a search shows of each of these tracks, by row id."""
        rows = self.db().execute(
            "SELECT f.id, f.person, p.name, f.recording, f.title, f.track, f.time_s, f.crop, f.recorded_at "
            f"FROM faces f JOIN people p ON p.id = f.person WHERE f.id IN ({marks(ids)})",
            list(ids),
        )
        return {r["id"]: dict(r) for r in rows}

    # -- a person's own changes -------------------------------------------------------------------
    def update_person(self, person: int, **values: object) -> bool:
        """Set ``values`` (columns of ``people``) and ``updated``; False if there is no such person."""
        columns: Mapping[str, object] = {**values, "updated": time.time()}
        assignments = ", ".join(f"{column}=?" for column in columns)
        with self.transaction() as db:
            done = db.execute(f"UPDATE people SET {assignments} WHERE id=?", (*columns.values(), person))
            return done.rowcount == 1

    def choose_photo(self, person: int, track: int) -> bool:
        """The track (row id) whose crop stands for ``person`` on the page (one of their own)."""
        with self.transaction() as db:
            mine = db.execute("SELECT 1 FROM faces WHERE id=? AND person=?", (track, person)).fetchone()
            if mine is None:
                return False
            db.execute("UPDATE people SET photo=?, updated=? WHERE id=?", (track, time.time(), person))
            return True

    # -- forgetting -------------------------------------------------------------------------------
    def forget(self, person: int) -> int:
        """Delete a person: their tracks (embeddings), links and name. Returns the tracks deleted."""
        with self.transaction() as db:
            tracks = self.track_ids_of(db, person)
            self.delete_tracks(db, tracks)
            db.execute("DELETE FROM people WHERE id=?", (person,))
        return len(tracks)

    def forget_recording(self, recording: str) -> int:
        """A recording's results were deleted: so are its tracks (and people left with none)."""
        with self.transaction() as db:
            tracks = [r["id"] for r in db.execute("SELECT id FROM faces WHERE recording=?", (recording,))]
            self.delete_tracks(db, tracks)
            self.delete_people_without_tracks(db)
        return len(tracks)

    @staticmethod
    def delete_tracks(db: sqlite3.Connection, tracks: Sequence[int]) -> None:
        for start in range(0, len(tracks), CHUNK):
            chunk = tracks[start : start + CHUNK]
            db.execute(f"DELETE FROM links WHERE a IN ({marks(chunk)}) OR b IN ({marks(chunk)})", (*chunk, *chunk))
            db.execute(f"DELETE FROM faces WHERE id IN ({marks(chunk)})", chunk)

    @staticmethod
    def delete_people_without_tracks(db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM people WHERE id NOT IN (SELECT DISTINCT person FROM faces)")
