"""Grouping faces into people: average-linkage agglomerative clustering on cosine similarity.

Two groups merge while the mean similarity between their members is at least the threshold, most
similar first, and never when a member of one "cannot be" a member of the other: two tracks seen at
the same time are two people, and a person said "not the same" stays apart. Groups a person put
together (a merge) start as one. Plain numpy: the sizes here are tracks in a recording or people on
a box, thousands at most.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

MAX_UNITS = 6000  # beyond this the similarity matrix (n^2 floats) is too big for a small box


def average_linkage(
    embeddings: np.ndarray,
    threshold: float,
    cannot: Iterable[tuple[int, int]] = (),
    must: Iterable[tuple[int, int]] = (),
) -> list[int]:
    """A cluster label (0..k-1, in order of first member) for each unit-length row of ``embeddings``."""
    n = len(embeddings)
    if n == 0:
        return []
    if n > MAX_UNITS:
        raise ValueError(f"{n} faces are more than {MAX_UNITS} to cluster at once")
    start = _groups(n, must)
    members = [list(group) for group in start]
    pair_sum = _pair_sums(embeddings.astype(np.float64), start)
    sizes = np.array([len(g) for g in start], dtype=np.float64)
    blocked = _blocked(n, start, cannot)
    active = np.ones(len(start), bool)
    similarity = pair_sum / np.outer(sizes, sizes)
    similarity[blocked] = -np.inf
    np.fill_diagonal(similarity, -np.inf)
    best = similarity.argmax(axis=1)  # each row's most similar other group
    while True:
        rows = np.flatnonzero(active)
        scores = similarity[rows, best[rows]]
        top = int(np.argmax(scores))
        i, j = int(rows[top]), int(best[rows[top]])
        if not np.isfinite(scores[top]) or scores[top] < threshold:
            break
        i, j = min(i, j), max(i, j)
        pair_sum[i, :] += pair_sum[j, :]
        pair_sum[:, i] = pair_sum[i, :]
        sizes[i] += sizes[j]
        blocked[i, :] |= blocked[j, :]
        blocked[:, i] = blocked[i, :]
        members[i].extend(members[j])
        active[j] = False
        row = pair_sum[i, :] / (sizes[i] * sizes)
        row[blocked[i, :] | ~active] = -np.inf
        row[i] = -np.inf
        similarity[i, :] = row
        similarity[:, i] = row
        similarity[j, :] = similarity[:, j] = -np.inf
        best[i] = int(np.argmax(similarity[i]))
        stale = np.flatnonzero(active & ((best == i) | (best == j)))
        best[stale] = similarity[stale].argmax(axis=1)
        better = active & (similarity[:, i] > similarity[np.arange(len(best)), best])
        best[better] = i
    labels = [0] * n
    order = sorted((min(members[k]), k) for k in np.flatnonzero(active))
    for label, (_, k) in enumerate(order):
        for unit in members[k]:
            labels[unit] = label
    return labels


def _groups(n: int, must: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Units joined by "must" links (union-find), in order of their first unit."""
    parent = list(range(n))

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in must:
        parent[root(a)] = root(b)
    groups: dict[int, list[int]] = {}
    for unit in range(n):
        groups.setdefault(root(unit), []).append(unit)
    return sorted(groups.values(), key=min)


def _pair_sums(embeddings: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    """Sum of similarities between the members of each pair of groups."""
    similarity = embeddings @ embeddings.T
    index = np.zeros((len(groups), len(embeddings)))
    for g, group in enumerate(groups):
        index[g, group] = 1.0
    sums = index @ similarity @ index.T
    np.fill_diagonal(sums, 0.0)
    return sums


def _blocked(n: int, groups: list[list[int]], cannot: Iterable[tuple[int, int]]) -> np.ndarray:
    owner = np.empty(n, dtype=np.int64)
    for g, group in enumerate(groups):
        owner[group] = g
    blocked = np.zeros((len(groups), len(groups)), bool)
    for a, b in cannot:
        blocked[owner[a], owner[b]] = blocked[owner[b], owner[a]] = True
    return blocked
