"""Metrics and the public/private split, as Kaggle does them, computed with scikit-learn.

- ``accuracy`` (default), ``balanced_accuracy`` and ``macro_f1`` take one label per id;
- ``log_loss`` takes one probability per label and id. As on Kaggle, each probability is clipped
  to [1e-15, 1 - 1e-15] and each row is divided by its sum before the loss is computed, so a
  confident wrong answer costs about 34.5 nats instead of infinity.

The test ids are split once, with a seeded generator, into a public part (scored at once and
shown on the leaderboard) and a private part (hidden until the competition closes). Only the
server knows which id is where.
"""
from __future__ import annotations

import numpy as np

CLIP = 1e-15


def sklearn_metrics():
    """scikit-learn's metrics, imported on first use: the import takes seconds, and the CLI
    commands that never score should not pay for it."""
    from sklearn import metrics
    return metrics


def warm_up():
    """Import scikit-learn and call every metric once. The server does this before it accepts
    connections: done in the background instead, the import held the interpreter for seconds
    while the first students' requests waited."""
    for name in METRICS:
        proba = uses_probabilities(name)
        preds = [[0.9, 0.1], [0.2, 0.8]] if proba else ["a", "b"]
        score_both(name, [0, 1, 0, 1], preds * 2, ("a", "b"), [True, True, False, False])


def _log_loss(y_true, proba, n_labels):
    p = np.clip(np.asarray(proba, dtype=float), CLIP, 1 - CLIP)
    p /= p.sum(axis=1, keepdims=True)
    return float(sklearn_metrics().log_loss(y_true, p, labels=np.arange(n_labels)))


# name -> (function(y_true, y_pred, n_labels), higher is better, uses probabilities)
METRICS = {
    "accuracy": (lambda y, p, n: float(sklearn_metrics().accuracy_score(y, p)), True, False),
    "balanced_accuracy": (lambda y, p, n: float(sklearn_metrics().balanced_accuracy_score(y, p)),
                          True, False),
    "macro_f1": (lambda y, p, n: float(sklearn_metrics().f1_score(y, p, average="macro",
                                                                   zero_division=0)), True, False),
    "log_loss": (_log_loss, False, True),
}


def check_metric(name):
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}: choose one of {', '.join(METRICS)}")
    return name


def higher_is_better(metric):
    return METRICS[metric][1]


def uses_probabilities(metric):
    return METRICS[metric][2]


def public_mask(n_ids, fraction, seed):
    """Boolean mask of the public ids: round(fraction * n) of them, chosen by a seeded permutation."""
    if not 0 < fraction < 1:
        raise ValueError(f"public fraction must be between 0 and 1 (exclusive), got {fraction}")
    n_public = min(max(int(round(fraction * n_ids)), 1), n_ids - 1)
    mask = np.zeros(n_ids, dtype=bool)
    mask[np.random.default_rng(seed).permutation(n_ids)[:n_public]] = True
    return mask


def score(metric, truth, predictions, labels, mask):
    """Score ``predictions`` (label strings, or rows of probabilities in ``labels`` order) on the
    ids where ``mask`` is True. ``truth`` holds label indices into ``labels``."""
    return _score(metric, np.asarray(truth), _as_array(metric, predictions, labels), len(labels),
                  np.asarray(mask, dtype=bool))


def score_both(metric, truth, predictions, labels, public):
    """(public score, private score) of one submission.

    scikit-learn checks the types of every argument of its metrics at each call, which costs
    more than the metric itself on 1000 ids; the arguments are built right here (arrays of
    label indices of equal length), so that check is skipped. The computation is the same."""
    from sklearn import config_context
    y, p = np.asarray(truth), _as_array(metric, predictions, labels)
    public = np.asarray(public, dtype=bool)
    with config_context(skip_parameter_validation=True):
        return (_score(metric, y, p, len(labels), public),
                _score(metric, y, p, len(labels), ~public))


def _as_array(metric, predictions, labels):
    """The predictions as an array: label indices, or (n, C) probabilities."""
    if uses_probabilities(metric):
        return np.asarray(predictions, dtype=float)
    index = {lab: i for i, lab in enumerate(labels)}
    return np.fromiter(map(index.__getitem__, predictions), dtype=np.int64,
                       count=len(predictions))


def _score(metric, y, p, n_labels, mask):
    return METRICS[metric][0](y[mask], p[mask], n_labels)
