"""Classification metrics: accuracy and the confusion matrix (Lessons 04 and 07).

Both accept labels or scores: integer labels (N,), one-hot rows (N, K) (-> argmax), class
scores or probabilities (N, K) (-> argmax), or one score per example (N,) / (N, 1) for a
binary problem (-> 1 if score > threshold, else 0).
"""
from __future__ import annotations

import numpy as np


def to_labels(y, threshold: float = 0.5):
    """Integer labels from labels, one-hot rows, class scores, or binary scores."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1)
    y = y.reshape(len(y)) if y.ndim == 2 else y
    if y.ndim != 1:
        raise ValueError(f"expected labels (N,) or scores (N, K), got shape {y.shape}")
    if np.issubdtype(y.dtype, np.floating) and np.any(y != np.round(y)):
        return (y > threshold).astype(np.int64)
    return y.astype(np.int64)


def accuracy(y_true, y_pred, threshold: float = 0.5) -> float:
    """Fraction of examples whose predicted label equals the true label.

    y_pred may be labels or scores (argmax / threshold, see :func:`to_labels`);
    use threshold=0 for logits of a single sigmoid output. Lesson 04.
    """
    t, p = to_labels(y_true), to_labels(y_pred, threshold)
    if t.shape != p.shape:
        raise ValueError(f"accuracy: {t.shape[0]} true labels but {p.shape[0]} predictions")
    return float(np.mean(t == p))


def confusion_matrix(y_true, y_pred, n_classes: int | None = None, threshold: float = 0.5):
    """C[i, j] = number of examples of true class i predicted as class j (rows: truth).

    Same convention as ``sklearn.metrics.confusion_matrix``; labels must be 0..n_classes-1.
    The diagonal counts the correct predictions: accuracy = trace(C) / sum(C).
    Shape (n_classes, n_classes), int64. Lessons 04 and 07.
    """
    t, p = to_labels(y_true), to_labels(y_pred, threshold)
    if t.shape != p.shape:
        raise ValueError(f"confusion_matrix: {t.shape[0]} true labels but {p.shape[0]} predictions")
    if n_classes is None:
        n_classes = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    if t.size and (min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= n_classes):
        raise ValueError(f"confusion_matrix: labels must be in 0..{n_classes - 1}")
    C = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(C, (t, p), 1)
    return C
