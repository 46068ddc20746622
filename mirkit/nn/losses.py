"""Loss functions and the L2 weight penalty.

Lessons: lessons/02-backpropagation, lessons/04-classification.

Contract, like a layer's: ``forward(pred, target) -> float`` (the loss, averaged over the
batch) keeps what backward needs; ``backward(dout=1.0) -> dL/dpred`` (same shape as pred).
``predict_labels(pred)`` is the decision rule that turns the network's output into labels
(argmax for softmax, sign for hinge, ...), used by the accuracy metric.

Averaging: over the N examples of the batch (and over the outputs for MSE and BCE), as Keras
does, so the gradient carries a 1/N.
"""
from __future__ import annotations

import numpy as np

from .activations import log_softmax, sigmoid, softmax


def _as_float(pred):
    pred = np.asarray(pred)
    if not np.issubdtype(pred.dtype, np.floating):
        pred = pred.astype(np.float64)
    return pred


def _same_shape(name, pred, target):
    if pred.shape != target.shape:
        raise ValueError(f"{name}: predictions have shape {pred.shape} but targets have shape "
                         f"{target.shape}; they must match")


def _one_hot_targets(name, logits, target):
    """Integer labels (N,) or one-hot / probability rows (N, K) -> float (N, K) rows."""
    target = np.asarray(target)
    if logits.ndim != 2:
        raise ValueError(f"{name}: expected scores of shape (N, K), got shape {logits.shape}")
    n, k = logits.shape
    if target.ndim == 1 or (target.ndim == 2 and target.shape[1] == 1 and k > 1):
        labels = target.reshape(-1)
        if labels.shape[0] != n:
            raise ValueError(f"{name}: {n} score rows but {labels.shape[0]} labels")
        if not np.issubdtype(labels.dtype, np.integer):
            if np.any(labels != np.round(labels)):
                raise ValueError(f"{name}: labels of shape (N,) must be integers 0..K-1")
            labels = labels.astype(np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= k):
            raise ValueError(f"{name}: labels must be in 0..{k - 1}, got range "
                             f"{labels.min()}..{labels.max()}")
        t = np.zeros((n, k), dtype=logits.dtype)
        t[np.arange(n), labels] = 1
        return t
    if target.shape != logits.shape:
        raise ValueError(f"{name}: targets must be integer labels of shape ({n},) or one-hot "
                         f"rows of shape {logits.shape}, got shape {target.shape}")
    return target.astype(logits.dtype, copy=False)


class Loss:
    """Base class: ``forward(pred, target) -> float``, ``backward(dout=1.0) -> dL/dpred``."""

    def __call__(self, pred, target):
        return self.forward(pred, target)

    def forward(self, pred, target) -> float:
        raise NotImplementedError

    def backward(self, dout: float = 1.0):
        raise NotImplementedError

    def predict_labels(self, pred):
        """Decision rule from network outputs to labels (classification losses)."""
        pred = np.asarray(pred)
        if pred.ndim == 2 and pred.shape[1] > 1:
            return np.argmax(pred, axis=1)
        return pred.reshape(len(pred), -1)[:, 0]

    def __repr__(self):
        return f"{type(self).__name__}()"


class MSE(Loss):
    """Mean squared error, L = mean((p - t)^2) over all entries (lessons/02-backpropagation).

    Shapes: pred and target identical, e.g. (N, D).  Gradient: dL/dp = 2 (p - t) / size.
    Keras: ``keras.losses.MeanSquaredError()``.
    """

    def forward(self, pred, target):
        pred = _as_float(pred)
        target = np.asarray(target, dtype=pred.dtype)
        _same_shape("MSE", pred, target)
        diff = pred - target
        self.cache = diff
        return float(np.mean(diff * diff))

    def backward(self, dout=1.0):
        diff = self.cache
        return dout * 2 * diff / diff.size


class CosineDistance(Loss):
    """Cosine distance, L = mean_n (1 - cos(p_n, t_n)) over rows (lessons/04-classification).

    Shapes: pred and target (N, D).  cos = p.t / (|p| |t|) (norms floored at eps).
    Gradient: d cos / dp = t / (|p| |t|) - cos * p / |p|^2,  dL/dp_n = -(d cos_n/dp_n) / N.
    Keras: ``keras.losses.CosineSimilarity`` returns -cos; this is 1 + that.
    """

    def __init__(self, eps: float = 1e-12):
        self.eps = eps

    def forward(self, pred, target):
        pred = _as_float(pred)
        target = np.asarray(target, dtype=pred.dtype)
        _same_shape("CosineDistance", pred, target)
        if pred.ndim != 2:
            raise ValueError(f"CosineDistance: expected (N, D) arrays, got shape {pred.shape}")
        p_norm = np.maximum(np.linalg.norm(pred, axis=1, keepdims=True), self.eps)
        t_norm = np.maximum(np.linalg.norm(target, axis=1, keepdims=True), self.eps)
        cos = np.sum(pred * target, axis=1, keepdims=True) / (p_norm * t_norm)
        self.cache = pred, target, p_norm, t_norm, cos
        return float(np.mean(1 - cos))

    def backward(self, dout=1.0):
        p, t, p_norm, t_norm, cos = self.cache
        dcos = t / (p_norm * t_norm) - cos * p / p_norm ** 2
        return -dout * dcos / len(p)


class Hinge(Loss):
    """Binary hinge loss, L = mean(max(0, 1 - t * p)) with targets t in {-1, +1}.

    Shapes: pred (N,) or (N, 1) scores, target the same shape.  Decision: sign(p).
    Gradient: dL/dp = -t * 1[t p < 1] / size  (0 at the kink t p = 1).
    Keras: ``keras.losses.Hinge()`` (which also maps {0, 1} targets to {-1, +1}).

    Lesson: lessons/04-classification.
    """

    def forward(self, pred, target):
        pred = _as_float(pred)
        target = np.asarray(target, dtype=pred.dtype)
        if target.size != pred.size:
            raise ValueError(f"Hinge: {pred.shape} scores but targets of shape {target.shape}; "
                             "give one target per score")
        target = target.reshape(pred.shape)
        if not np.all(np.abs(target) == 1):
            raise ValueError("Hinge: targets must be -1 or +1 (convert 0/1 labels with 2*y - 1)")
        margin = target * pred
        self.cache = target, margin < 1
        return float(np.mean(np.maximum(0, 1 - margin)))

    def backward(self, dout=1.0):
        target, active = self.cache
        return -dout * target * active / target.size

    def predict_labels(self, pred):
        return np.where(np.asarray(pred).reshape(len(pred), -1)[:, 0] >= 0, 1, -1)


class MulticlassHinge(Loss):
    """Multiclass SVM (Weston-Watkins, CS231n) loss over scores s (N, K), labels y.

    L = mean_n sum_{j != y_n} max(0, s_nj - s_ny + 1).
    Gradient: for each active margin (s_nj - s_ny + 1 > 0, j != y_n): +1/N on s_nj and
    -1/N on s_ny.  Targets: integer labels (N,) or one-hot (N, K).  Decision: argmax.

    Lesson: lessons/04-classification.
    """

    def forward(self, pred, target):
        pred = _as_float(pred)
        t = _one_hot_targets("MulticlassHinge", pred, target)
        if not np.all((t == 0) | (t == 1)) or not np.all(t.sum(axis=1) == 1):
            raise ValueError("MulticlassHinge: targets must be integer labels (N,) or one-hot rows "
                             "(exactly one 1 per row); soft or smoothed labels need a "
                             "cross-entropy loss")
        onehot = t.astype(bool)
        correct = pred[onehot].reshape(-1, 1)
        margins = np.where(onehot, 0, np.maximum(0, pred - correct + 1))
        self.cache = onehot, margins > 0, pred.dtype
        return float(np.sum(margins) / len(pred))

    def backward(self, dout=1.0):
        onehot, active, dtype = self.cache
        grad = active.astype(dtype)
        grad[onehot] = -active.sum(axis=1)
        return dout * grad / len(grad)


class SoftmaxCrossEntropy(Loss):
    """Softmax + categorical cross-entropy on logits, fused and stable.

    Lesson: lessons/04-classification.

    Shapes: logits z (N, K); targets integer labels (N,) or one-hot/probability rows (N, K).
    L = -mean_n sum_k t_nk log softmax(z_n)_k, with log softmax = z - logsumexp(z) computed
    after subtracting max(z): finite for logits of any size (no exp overflow, no log 0).
    Gradient: dL/dz = (softmax(z) - t) / N  -- the fused form, no division by p.
    Decision: argmax_k z_k.  Keras: ``CategoricalCrossentropy(from_logits=True)`` (or
    ``SparseCategoricalCrossentropy`` for integer labels).
    """

    def forward(self, pred, target):
        z = _as_float(pred)
        t = _one_hot_targets("SoftmaxCrossEntropy", z, target)
        logp = log_softmax(z, axis=1)
        self.cache = logp, t
        return float(-np.sum(t * logp) / len(z))

    def backward(self, dout=1.0):
        logp, t = self.cache
        return dout * (np.exp(logp) - t) / len(t)


class CategoricalCrossEntropy(Loss):
    """Categorical cross-entropy on probabilities p (after a Softmax layer).

    L = -mean_n sum_k t_nk log p_nk, p clipped to [eps, 1] so that log 0 never happens.
    Gradient: dL/dp = -t / p / N (zero where p was clipped).  Prefer the fused, more
    accurate ``SoftmaxCrossEntropy`` on logits.  Keras: ``CategoricalCrossentropy()``.

    Lesson: lessons/04-classification.
    """

    def __init__(self, eps: float = 1e-12):
        self.eps = eps

    def forward(self, pred, target):
        p = _as_float(pred)
        t = _one_hot_targets("CategoricalCrossEntropy", p, target)
        clipped = np.clip(p, self.eps, 1.0)
        self.cache = clipped, t, (p >= self.eps) & (p <= 1.0)
        return float(-np.sum(t * np.log(clipped)) / len(p))

    def backward(self, dout=1.0):
        p, t, inside = self.cache
        return -dout * t / p * inside / len(p)


class BinaryCrossEntropyWithLogits(Loss):
    """Binary cross-entropy on logits z, one independent sigmoid per output.

    For multilabel tagging: targets t in [0, 1], same shape as z, e.g. (N, K) or (N,).
    L = mean(-t log sigma(z) - (1 - t) log(1 - sigma(z))) over all entries, written stably as
        max(z, 0) - z t + log(1 + exp(-|z|))   (finite for any z).
    Gradient: dL/dz = (sigma(z) - t) / size.  Decision: z > 0 (i.e. sigma(z) > 0.5).
    Keras: ``keras.losses.BinaryCrossentropy(from_logits=True)``.

    Lesson: lessons/04-classification.
    """

    def forward(self, pred, target):
        z = _as_float(pred)
        t = np.asarray(target, dtype=z.dtype)
        if t.shape != z.shape and t.size == z.size:
            t = t.reshape(z.shape)  # (N,) labels for an (N, 1) output
        _same_shape("BinaryCrossEntropyWithLogits", z, t)
        self.cache = z, t
        return float(np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))))

    def backward(self, dout=1.0):
        z, t = self.cache
        return dout * (sigmoid(z) - t) / z.size

    def predict_labels(self, pred):
        pred = np.asarray(pred)
        labels = (pred > 0).astype(np.int64)
        return labels[:, 0] if labels.ndim == 2 and labels.shape[1] == 1 else labels


def l2_penalty(model, lam: float, add_grad: bool = True) -> float:
    """L2 weight penalty R = lam/2 * sum ||W||^2 over the weights of ``model``.

    Weights are the parameters named "W" or "w" (or ending in ".W"/".w"): biases are not
    penalised. Gradient: dR/dW = lam * W; with ``add_grad`` it is ADDED to each weight's
    ``grad``, so call this after ``model.backward``. Returns R, to add to the data loss.
    With plain SGD this is weight decay: W <- W - lr (g + lam W).
    Keras: ``kernel_regularizer=keras.regularizers.L2(lam / 2)`` (Keras has no 1/2).

    Lesson: lessons/04-classification.
    """
    total = 0.0
    for name, p in model.named_parameters():
        if name.rsplit(".", 1)[-1] not in ("W", "w"):
            continue
        total += 0.5 * lam * float(np.sum(p.value * p.value))
        if add_grad:
            p.grad = p.grad + lam * p.value
    return total


# Short names, as in the lectures.
CrossEntropy = SoftmaxCrossEntropy
BCEWithLogits = BinaryCrossEntropyWithLogits
