"""The people index: every person seen on this box, across recordings, with a person's corrections.

A new recording's people (as the recording grouped its tracks) are matched against the known people
by average cosine similarity at the people threshold, each known person taken by at most one of
them, and are new people otherwise. A periodic re-grouping (average linkage over all tracks)
corrects early mistakes; what a person said stays true through it: a merge ("same" links), a split
and "not the same person" ("different" links), names (two named people are never merged). Deleting
a recording's results deletes its tracks; ``forget`` deletes a person and everything known of them here.

This class is the one door the service, the page, the CLI and cases use; the work is done by
``store`` (SQLite: schema, transactions, rows), ``matching`` (the vector maths and the search
matrix) and ``regroup`` (the corrections' links and re-grouping). The index holds one row per
*track*; its read-back keys say ``faces`` for them (``count()["faces"]``, a card's ``faces``,
``person()["faces"]``, ``Match.face``), as they always have.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import matching, regroup
from .matching import Gallery, Match
from .store import NewTrack, PeopleStore, Seen

NewFace = NewTrack  # the name callers used before the glossary (a track to be indexed)

__all__ = ["Match", "NewFace", "NewTrack", "PeopleIndex", "Seen"]


class PeopleIndex:
    def __init__(self, path: str | Path, threshold: float) -> None:
        self.path = str(path)
        self.threshold = threshold
        self._store = PeopleStore(self.path)
        self._gallery = Gallery(self._store)

    # -- adding recordings ------------------------------------------------------------------------
    def has_recording(self, recording: str) -> bool:
        return self._store.has_recording(recording)

    def add_recording(
        self,
        recording: str,
        title: str,
        faces: Sequence[NewTrack],
        job: int | None = None,
        recorded_at: float | None = None,
    ) -> dict[int, Seen]:
        """Index a recording's tracks (``faces``; once); its people's numbers -> who they are on this box."""
        if not faces:
            return {}
        if self._store.has_recording(recording):
            return self._store.seen_in(recording, new=set())
        new: set[int] = set()
        local: dict[int, list[NewTrack]] = {}
        for track in faces:
            local.setdefault(track.local_person, []).append(track)
        now = time.time()
        with self._store.transaction() as db:
            assigned = matching.match_people(self._store.embeddings(db, "person, embedding"), local, self.threshold)
            for number, group in local.items():
                if number not in assigned:
                    assigned[number] = self._store.new_person(db, now)
                    new.add(assigned[number])
                self._store.add_tracks(db, assigned[number], recording, title, job, recorded_at, group, now)
        return self._store.seen_in(recording, new)

    # -- reading ----------------------------------------------------------------------------------
    def people(self, hidden: bool = False) -> list[dict[str, Any]]:
        """A card per person (the hidden ones only when asked for); ``faces`` counts their tracks."""
        return self._store.people(hidden)

    def person(self, person: int) -> dict[str, Any] | None:
        """A person and their tracks (``faces``) in time order, or None."""
        return self._store.person(person)

    def count(self) -> dict[str, int]:
        """People and tracks (``faces``) in the index."""
        return self._store.count()

    def version(self) -> int:
        return self._store.version()

    def search(self, embedding: np.ndarray, top: int = 10) -> list[Match]:
        """The tracks most like ``embedding`` (cosine similarity), best first."""
        return self._gallery.search(embedding, top)

    def similar_people(self, person: int, floor: float, top: int = 5) -> list[dict[str, Any]]:
        """The people most like ``person`` (average similarity of their tracks) from ``floor`` up to the
        threshold: "possibly the same person", for a person to decide. People said to be someone else
        ("not the same") are left out."""
        rows = self._store.embeddings(self._store.db())
        apart = regroup.kept_apart(self._store, person)
        near = matching.similar_people(rows, person, apart, floor, self.threshold, top)
        if not near:
            return []
        cards = {c["id"]: c for c in self.people(hidden=True)}
        return [{**cards[p], "similarity": round(s, 3)} for s, p in near if p in cards]

    # -- corrections ------------------------------------------------------------------------------
    def watch(self, person: int, watched: bool) -> bool:
        """Say (or stop saying) when this person is seen: ``person.seen`` events with ``watched``."""
        return self._store.update_person(person, watched=int(watched))

    def hide(self, person: int, hidden: bool) -> bool:
        """Leave a person off the grid (or show them again): nothing of them is deleted."""
        return self._store.update_person(person, hidden=int(hidden))

    def choose_photo(self, person: int, face: int) -> bool:
        """The track (``face``: its row id) whose crop stands for ``person`` on the page (one of their own)."""
        return self._store.choose_photo(person, face)

    def rename(self, person: int, name: str | None) -> bool:
        return self._store.update_person(person, name=name or None)

    def merge(self, keep: int, other: int) -> bool:
        """``other`` is ``keep``: its tracks move there, and stay together through re-grouping."""
        return regroup.merge(self._store, keep, other)

    def split(self, person: int, faces: Sequence[int]) -> int | None:
        """These tracks (``faces``: row ids) of ``person`` are someone else: a new person, kept apart."""
        return regroup.split(self._store, person, faces)

    def not_same(self, a: int, b: int) -> bool:
        """People ``a`` and ``b`` are two people, whatever their tracks say."""
        return regroup.not_same(self._store, a, b)

    # -- forgetting -------------------------------------------------------------------------------
    def forget(self, person: int) -> int:
        """Delete a person: their tracks (embeddings), links and name. Returns the tracks deleted."""
        return self._store.forget(person)

    def forget_recording(self, recording: str) -> int:
        """A recording's results were deleted: so are its tracks (and people left with none)."""
        return self._store.forget_recording(recording)

    # -- re-grouping ------------------------------------------------------------------------------
    def regroup(self) -> dict[str, int]:
        """Group all tracks again (average linkage), keeping what people said; ids follow their tracks."""
        return regroup.regroup(self._store, self.threshold)

    def faces_since_regroup(self) -> int:
        """Tracks indexed since the last re-grouping."""
        return regroup.tracks_since_regroup(self._store)
