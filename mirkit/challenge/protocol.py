"""The challenge's protocol steps, as lessons/10-genre-challenge teaches them (the reference versions).

- :func:`ensemble`: the weighted mean of several models' probabilities,
  ``P(k | x) = sum_m w_m P_m(k | x) / sum_m w_m``;
- :func:`choose_by_validation`: the one decision of the protocol, the candidate with the highest
  validation accuracy (never a test score);
- :func:`write_predictions`: the Kaggle-style file ``track,genre_id`` from test probabilities.
"""
from __future__ import annotations

import numpy as np


def ensemble(probas, weights=None) -> np.ndarray:
    """Weighted mean of a list of (N, K) probability arrays -> (N, K); weights >= 0, not all 0."""
    P = [np.asarray(p, dtype=float) for p in probas]
    if not P or any(p.shape != P[0].shape for p in P):
        raise ValueError(f"ensemble: every model must give an (N, K) array of the same shape, got "
                         f"{[p.shape for p in P]}")
    w = np.ones(len(P)) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (len(P),):
        raise ValueError(f"ensemble: {len(P)} models but {w.size} weights")
    if np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"ensemble: weights must be >= 0 and not all 0, got {w.tolist()}")
    return np.tensordot(w / w.sum(), np.stack(P), axes=1)


def choose_by_validation(valid_probas: dict, y_valid):
    """``(best_name, {name: accuracy})``: validation accuracy (argmax = label) of each candidate
    and the best one (the first in the dict's order on a tie)."""
    y = np.asarray(y_valid)
    accuracies = {}
    for name, p in valid_probas.items():
        p = np.asarray(p)
        if p.ndim != 2 or len(p) != len(y):
            raise ValueError(f"choose_by_validation: {name!r} gives shape {p.shape}, expected "
                             f"({len(y)}, K): one row per validation track")
        accuracies[name] = float(np.mean(p.argmax(axis=1) == y))
    if not accuracies:
        raise ValueError("choose_by_validation: no candidate given")
    best = max(accuracies, key=lambda n: (accuracies[n], -list(accuracies).index(n)))
    return best, accuracies


def write_predictions(path, ids, proba, n_classes: int = 10) -> None:
    """Write ``track,genre_id`` then one line per id, ``genre_id = argmax`` of its probabilities."""
    import csv

    proba = np.asarray(proba)
    if proba.shape != (len(ids), n_classes):
        raise ValueError(f"write_predictions: expected probabilities of shape ({len(ids)}, "
                         f"{n_classes}), one row per test id, got {proba.shape}")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["track", "genre_id"])
        for track, k in zip(ids, proba.argmax(axis=1)):
            w.writerow([track, int(k)])
