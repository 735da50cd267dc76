"""Fitting the small logistic models the detector keeps (the night check, the final judge) on labelled
candidates: the scripts that refit them (``scripts/night_check_fit.py``, ``scripts/recall_sweep.py``)
share this one fit."""

from __future__ import annotations

import numpy as np


def fit_logistic(rows: np.ndarray, labels: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    """Ridge-penalised logistic regression by gradient descent on standardised features (``l2``: the
    penalty on the standardised weights); the weights and bias returned apply to unscaled features."""
    mean, scale = rows.mean(axis=0), rows.std(axis=0) + 1e-6
    z = (rows - mean) / scale
    y = labels.astype(np.float64)
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(4000):
        p = 1.0 / (1.0 + np.exp(-(z @ w + b)))
        w -= 0.5 * (z.T @ (p - y) / len(y) + l2 * w / len(y))
        b -= 0.5 * float(np.mean(p - y))
    weights = w / scale
    return weights, b - float(weights @ mean)
