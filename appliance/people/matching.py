"""The people index's vector maths: a new recording's people to known people, people like a person, and
search over every indexed track (with the matrix kept between searches).

All cosine similarity on unit-length embeddings (one per track). Reads rows through ``store``;
writes nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .embed import EMBEDDING_SIZE
from .store import NewTrack, PeopleStore, vector


@dataclass(frozen=True)
class Match:
    """A search's hit: the track (``face``: its row, under the key callers read) and how alike it is."""

    face: dict[str, Any]
    similarity: float


def match_people(
    known_rows: Sequence[sqlite3.Row], local: Mapping[int, Sequence[NewTrack]], threshold: float
) -> dict[int, int]:
    """Each of a recording's people (number -> their tracks) to the known person most like them
    (average similarity over all pairs of tracks), best pairs first, a known person taken once, none
    below ``threshold``. ``known_rows``: every indexed track's ``person`` and ``embedding``."""
    if not known_rows:
        return {}
    known = np.stack([vector(r["embedding"]) for r in known_rows])
    owners, position = np.unique(np.array([r["person"] for r in known_rows]), return_inverse=True)
    counts = np.bincount(position)
    scores: list[tuple[float, int, int]] = []
    for number, group in local.items():
        similarity = np.stack([t.embedding for t in group]) @ known.T  # (tracks here, tracks known)
        mean = np.bincount(position, weights=similarity.sum(axis=0)) / (counts * len(group))
        best = np.argsort(-mean)[: len(local)]  # enough candidates for every person here
        scores.extend((float(mean[k]), number, int(owners[k])) for k in best)
    assigned: dict[int, int] = {}
    taken: set[int] = set()
    for score, number, person in sorted(scores, reverse=True):
        if score < threshold:
            break
        if number not in assigned and person not in taken:
            assigned[number] = person
            taken.add(person)
    return assigned


def similar_people(
    rows: Sequence[sqlite3.Row], person: int, apart: set[int], floor: float, threshold: float, top: int
) -> list[tuple[float, int]]:
    """(similarity, person) of the people most like ``person`` (average similarity of their tracks to
    ``person``'s mean embedding) from ``floor`` up to ``threshold``, best first; people in ``apart``
    (said to be someone else) left out. ``rows``: every track's ``person`` and ``embedding``."""
    mine = [r for r in rows if r["person"] == person]
    if not mine:
        return []
    theirs = [r for r in rows if r["person"] != person and r["person"] not in apart]
    if not theirs:
        return []
    mean = np.stack([vector(r["embedding"]) for r in mine]).mean(axis=0)
    similarity = np.stack([vector(r["embedding"]) for r in theirs]) @ mean
    owners = np.array([r["person"] for r in theirs])
    scores = {int(p): float(similarity[owners == p].mean()) for p in np.unique(owners)}
    return sorted(((s, p) for p, s in scores.items() if floor <= s < threshold), reverse=True)[:top]


class Gallery:
    """Search over every indexed track. The embeddings are stacked into one matrix once per version of
    the index (every transaction moves it on), not once per search."""

    def __init__(self, store: PeopleStore) -> None:
        self._store = store
        self._matrix: tuple[int, np.ndarray, list[int]] | None = None  # (version, embeddings, row ids)

    def _current(self) -> tuple[np.ndarray, list[int]]:
        version = self._store.version()
        if self._matrix is None or self._matrix[0] != version:
            rows = self._store.embeddings(self._store.db(), "id, embedding")
            matrix = np.stack([vector(r["embedding"]) for r in rows]) if rows else np.empty((0, EMBEDDING_SIZE))
            self._matrix = (version, matrix.astype(np.float32), [r["id"] for r in rows])
        _, matrix, ids = self._matrix
        return matrix, ids

    def search(self, embedding: np.ndarray, top: int = 10) -> list[Match]:
        """The tracks most like ``embedding`` (cosine similarity), best first."""
        matrix, ids = self._current()
        if not ids:
            return []
        similarity = matrix @ np.asarray(embedding, dtype=np.float32)
        best = np.argsort(-similarity)[:top]
        found = self._store.match_rows([ids[i] for i in best])
        return [Match(found[ids[i]], round(float(similarity[i]), 4)) for i in best if ids[i] in found]
