"""Classification metrics, from scratch (lessons/04-classification, lessons/07-classical-mir).

Decisions: ``accuracy`` and ``confusion_matrix`` accept labels or scores: integer labels (N,),
one-hot rows (N, K) (-> argmax), class scores or probabilities (N, K) (-> argmax), or one score
per example (N,) / (N, 1) for a binary problem (-> 1 if score > threshold, else 0).

Rankings: ``roc_curve``, ``roc_auc``, ``average_precision`` and ``mean_average_precision`` judge
scores without choosing a threshold: how well does sorting the examples by score put the
positives first? They equal scikit-learn's ``roc_curve(drop_intermediate=False)``,
``roc_auc_score`` and ``average_precision_score``, ties included (tested). Multi-class and
multi-label problems are scored one class against the rest (lessons/07-classical-mir;
lessons/09-keras scores its multi-label tagger with the mAP).
"""
from __future__ import annotations

import warnings

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
    use threshold=0 for logits of a single sigmoid output. lessons/04-classification.
    """
    t, p = to_labels(y_true), to_labels(y_pred, threshold)
    if t.shape != p.shape:
        raise ValueError(f"accuracy: {t.shape[0]} true labels but {p.shape[0]} predictions")
    return float(np.mean(t == p))


def confusion_matrix(y_true, y_pred, n_classes: int | None = None, threshold: float = 0.5):
    """C[i, j] = number of examples of true class i predicted as class j (rows: truth).

    Same convention as ``sklearn.metrics.confusion_matrix``; labels must be 0..n_classes-1.
    The diagonal counts the correct predictions: accuracy = trace(C) / sum(C).
    Shape (n_classes, n_classes), int64. lessons/04-classification, lessons/07-classical-mir.
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


# ------------------------------------------------------------------ rankings: ROC, AUC, AP


def _binary_inputs(y_true, scores, name):
    """Check and convert a binary problem: targets (N,) in {0, 1} and finite scores (N,)."""
    t, s = np.asarray(y_true), np.asarray(scores, dtype=np.float64)
    if t.ndim != 1 or s.ndim != 1 or len(t) != len(s):
        raise ValueError(f"{name}: expected binary targets (N,) and one score per example (N,), got "
                         f"shapes {t.shape} and {s.shape}; for K classes, pass column k: "
                         "(y == k, scores[:, k])")
    if t.dtype != bool and not np.all((t == 0) | (t == 1)):
        raise ValueError(f"{name}: binary targets must be 0/1 or booleans, got values "
                         f"{np.unique(t)[:6]}; for class k against the rest, pass y == k")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{name}: the scores contain NaN or infinity")
    return t.astype(bool), s


def _ranked_counts(t, s):
    """True and false positives above each distinct threshold, scores sorted high to low.

    Returns (tps, fps, thresholds), each (M,), M = number of distinct scores: predicting
    "positive" for every score >= thresholds[i] finds tps[i] positives and fps[i] negatives.
    Tied scores are one threshold: they are all in or all out.
    """
    order = np.argsort(-s, kind="stable")
    s, t = s[order], t[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps = np.cumsum(t)[last_of_tie]
    fps = last_of_tie + 1 - tps
    return tps, fps, s[last_of_tie]


def roc_curve(y_true, scores):
    """ROC curve of one binary problem: (fpr, tpr, thresholds). lessons/07-classical-mir.

    y_true (N,) 0/1 or bool; scores (N,), higher = more likely positive. For every distinct
    threshold h (high to low, after h = +inf where nothing is predicted positive):
        tpr(h) = #{positives with score >= h} / #positives    (recall, sensitivity)
        fpr(h) = #{negatives with score >= h} / #negatives    (1 - specificity)
    Shapes (M + 1,), from (0, 0) to (1, 1). Same as ``sklearn.metrics.roc_curve(...,
    drop_intermediate=False)``. Raises ValueError if y_true has only one class.
    """
    t, s = _binary_inputs(y_true, scores, "roc_curve")
    n_pos, n_neg = int(t.sum()), int((~t).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"roc_curve: y_true has {n_pos} positives and {n_neg} negatives; a ROC "
                         "curve needs both (is this class absent from the test set?)")
    tps, fps, thr = _ranked_counts(t, s)
    return np.r_[0.0, fps / n_neg], np.r_[0.0, tps / n_pos], np.r_[np.inf, thr]


def _per_class(metric, y_true, scores, name, average):
    """metric(column k targets, column k scores) for each class k; "macro" mean or the array."""
    y, S = np.asarray(y_true), np.asarray(scores, dtype=np.float64)
    if S.ndim == 1 or (S.ndim == 2 and S.shape[1] == 1 and y.ndim == 1):
        return metric(y, S.reshape(len(S)))
    if S.ndim != 2:
        raise ValueError(f"{name}: expected scores (N,) or (N, K), got shape {S.shape}")
    N, K = S.shape
    if y.shape == (N,):
        if not np.issubdtype(y.dtype, np.integer) or y.min(initial=0) < 0 or y.max(initial=0) >= K:
            raise ValueError(f"{name}: labels must be integers 0..{K - 1} (one per column of the "
                             f"scores), got values {np.unique(y)[:6]}")
        T = y[:, None] == np.arange(K)
    elif y.shape == (N, K):
        if y.dtype != bool and not np.all((y == 0) | (y == 1)):
            raise ValueError(f"{name}: an indicator matrix (N, K) holds 0/1 (or booleans), got values "
                             f"{np.unique(y)[:6]}")
        T = y.astype(bool)                        # multi-label indicator matrix
    else:
        raise ValueError(f"{name}: expected labels (N,) = ({N},) or an indicator matrix (N, K) = "
                         f"({N}, {K}) matching scores {S.shape}, got {y.shape}")
    if not np.all(np.isfinite(S)):
        raise ValueError(f"{name}: the scores contain NaN or infinity")
    values = np.full(K, np.nan)
    missing = []
    for k in range(K):
        try:
            values[k] = metric(T[:, k], S[:, k])
        except ValueError:  # inputs are checked above: only a class without positives (or negatives) lands here
            missing.append(k)
    if missing:
        warnings.warn(f"{name}: class(es) {missing} have no positive (or no negative) example; "
                      "their value is NaN and the macro average leaves them out", stacklevel=3)
    if average is None:
        return values
    if average != "macro":
        raise ValueError(f"{name}: average must be 'macro' or None, got {average!r}")
    return float(np.nanmean(values)) if len(missing) < K else float("nan")


def _binary_auc(y_true, scores):
    fpr, tpr, _ = roc_curve(y_true, scores)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))   # trapezoids


def roc_auc(y_true, scores, average="macro"):
    """Area under the ROC curve; one class against the rest for K classes. lessons/07-classical-mir.

    Binary: y_true (N,) 0/1, scores (N,) -> float, the trapezoidal area under :func:`roc_curve`;
    it equals the probability that a random positive scores higher than a random negative
    (ties count 1/2): 0.5 is chance, 1 a perfect ranking.
    K classes: y_true labels (N,) in 0..K-1 or a multi-label indicator (N, K), scores (N, K):
    AUC_k of (y == k, scores[:, k]); average="macro" -> their mean (float), None -> (K,).
    A class with no positive or no negative gets NaN (with a warning) and is left out of
    the mean. Same as ``sklearn.metrics.roc_auc_score`` (multi_class="ovr" for labels).
    """
    return _per_class(_binary_auc, y_true, scores, "roc_auc", average)


def average_precision(y_true, scores):
    """Average precision of one binary ranking: float in [0, 1]. lessons/07-classical-mir.

    Going down the scores (high to low, tied scores together), each threshold h has a
    precision P(h) = TP / (TP + FP) and a recall R(h) = TP / #positives;
        AP = sum_h (R(h) - R(previous h)) P(h),
    the area under the precision-recall curve as a step function: the mean of the precision
    at the rank of each positive (without ties). Same as
    ``sklearn.metrics.average_precision_score``. Raises ValueError if there is no positive.
    """
    t, s = _binary_inputs(y_true, scores, "average_precision")
    n_pos = int(t.sum())
    if n_pos == 0:
        raise ValueError("average_precision: y_true has no positive example; precision and recall "
                         "are undefined (is this class absent?)")
    tps, fps, _ = _ranked_counts(t, s)
    precision, recall = tps / (tps + fps), tps / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def mean_average_precision(y_true, scores, average="macro"):
    """mAP: the average precision of each class (column), then their mean. lessons/07-classical-mir.

    y_true: a multi-label indicator (N, K) (tagging: several tags per track) or labels (N,)
    in 0..K-1; scores (N, K). average="macro" -> float, None -> the K APs. A class without
    any positive gets NaN (with a warning) and is left out of the mean. Same as
    ``sklearn.metrics.average_precision_score(Y, scores, average="macro")`` (labels binarised).
    lessons/09-keras scores a multi-label tagger with it.
    """
    return _per_class(average_precision, y_true, scores, "mean_average_precision", average)
