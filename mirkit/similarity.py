"""Search by similarity: embeddings trained with a triplet loss, and retrieval metrics (lessons/12-similarity-search).

An embedding network f maps a track to a point of R^d; similar tracks should be close. Three
tracks make a **triplet**: an anchor a, a positive p (same genre, same artist, or another crop
of the same track) and a negative n. With squared Euclidean distances ``D(a, p) = ||f(a) - f(p)||^2``
the triplet loss with margin alpha is

    L = mean over triplets of max(0, D(a, p) - D(a, n) + alpha).

A triplet is *easy* when D(a, n) > D(a, p) + alpha (loss 0, no gradient), *semi-hard* when
D(a, p) < D(a, n) < D(a, p) + alpha, *hard* when D(a, n) < D(a, p). Random triplets are
mostly easy after a few steps, hence **mining**: choose the negatives that still teach.

Searching: rank the database by distance to the query; score the ranking with recall@k,
MAP@k and nDCG@k (relevance: same label as the query).
"""
from __future__ import annotations

import numpy as np

from .nn.base import Layer
from .nn.losses import Loss


class L2Normalize(Layer):
    """Project each row on the unit sphere: (N, D) -> (N, D).

    forward:  y = x / ||x||   (||x|| floored at eps so a zero row stays finite)
    backward: dx = (dy - y (y . dy)) / ||x||   (the part of dy along y is removed: moving
              along y does not change the direction)
    On the unit sphere ||a - b||^2 = 2 - 2 a.b: squared distance and cosine rank alike.
    """

    expected_ndim = 2

    def __init__(self, eps: float = 1e-12):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        self.check_input(x)
        norm = np.maximum(np.linalg.norm(x, axis=1, keepdims=True), self.eps)
        y = x / norm
        self.cache = (y, norm)
        return y

    def backward(self, dout):
        y, norm = self.cache
        return (dout - y * np.sum(y * dout, axis=1, keepdims=True)) / norm


def pairwise_sq_distances(A, B=None) -> np.ndarray:
    """Squared Euclidean distances: (N, D), (M, D) -> (N, M); ``D[i, j] = ||a_i - b_j||^2``.

    Expanded as ||a||^2 + ||b||^2 - 2 a.b (one matrix product), clipped at 0 against rounding.
    """
    A = np.asarray(A, dtype=float)
    B = A if B is None else np.asarray(B, dtype=float)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[1]:
        raise ValueError(f"need two (N, D) and (M, D) arrays with the same D, got {A.shape} and {B.shape}")
    d = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
    return np.maximum(d, 0.0)


class TripletLoss(Loss):
    """Triplet loss on a batch of embeddings: forward(E (N, D), triplets (M, 3) ints) -> float.

    forward:  L = (1/M) sum_m max(0, ||e_a - e_p||^2 - ||e_a - e_n||^2 + margin)
    backward: for each active triplet (loss > 0), with c = 1/M,
              dL/de_a += 2c (e_n - e_p),  dL/de_p += 2c (e_p - e_a),  dL/de_n += 2c (e_a - e_n)
              (a track may appear in many triplets: its gradients add up, ``np.add.at``).
    Follows the :class:`mirkit.nn.Loss` contract, so ``mirkit.nn.check_loss`` checks it.
    """

    def __init__(self, margin: float = 0.2):
        if margin < 0:
            raise ValueError(f"the margin must be >= 0, got {margin}")
        self.margin = margin

    def forward(self, pred, target) -> float:
        E = np.asarray(pred, dtype=float)
        T = np.asarray(target)
        if E.ndim != 2:
            raise ValueError(f"TripletLoss: embeddings must be (N, D), got shape {E.shape}")
        if T.ndim != 2 or T.shape[1] != 3 or not np.issubdtype(T.dtype, np.integer):
            raise ValueError(f"TripletLoss: triplets must be an (M, 3) integer array of row indices "
                             f"(anchor, positive, negative), got {T.shape} {T.dtype}")
        if T.size and (T.min() < 0 or T.max() >= len(E)):
            raise ValueError(f"TripletLoss: triplet indices must be in 0..{len(E) - 1}")
        a, p, n = E[T[:, 0]], E[T[:, 1]], E[T[:, 2]]
        d_ap, d_an = ((a - p) ** 2).sum(1), ((a - n) ** 2).sum(1)
        losses = np.maximum(0.0, d_ap - d_an + self.margin)
        self.cache = (E, T, losses > 0)
        return float(losses.mean()) if len(T) else 0.0

    def backward(self, dout: float = 1.0):
        E, T, active = self.cache
        grad = np.zeros_like(E)
        if not len(T):
            return grad
        c = 2.0 * dout / len(T)
        ia, ip, i_n = T[active, 0], T[active, 1], T[active, 2]
        a, p, n = E[ia], E[ip], E[i_n]
        np.add.at(grad, ia, c * (n - p))
        np.add.at(grad, ip, c * (p - a))
        np.add.at(grad, i_n, c * (a - n))
        return grad

    def __repr__(self):
        return f"TripletLoss(margin={self.margin})"


def positive_pairs(labels) -> np.ndarray:
    """Every (anchor, positive) pair of distinct items with the same label: (P, 2) ints."""
    labels = np.asarray(labels)
    same = labels[:, None] == labels[None, :]
    np.fill_diagonal(same, False)
    return np.argwhere(same)


def random_triplets(labels, n_triplets: int, rng) -> np.ndarray:
    """Random mining: (n_triplets, 3) with a random positive pair and a random negative each."""
    labels = np.asarray(labels)
    pairs = positive_pairs(labels)
    if not len(pairs):
        raise ValueError("no two items share a label: there is no positive pair to build triplets from")
    chosen = pairs[rng.integers(0, len(pairs), n_triplets)]
    negatives = np.empty(n_triplets, dtype=int)
    for k, a in enumerate(chosen[:, 0]):
        others = np.flatnonzero(labels != labels[a])
        negatives[k] = rng.choice(others)
    return np.column_stack([chosen, negatives])


def semi_hard_negatives(distances, labels, anchors, positives) -> np.ndarray:
    """Semi-hard mining: one negative per (anchor, positive) pair, (P,) ints.

    For each pair, among the negatives farther than the positive (D[a, n] > D[a, p]) take the
    closest one: it is semi-hard if within the margin, the least easy otherwise. If every
    negative is closer than the positive (all hard), take the farthest negative. (The rule of
    FaceNet's semi-hard mining, as TensorFlow Addons' TripletSemiHardLoss implements it.)
    distances: (N, N) squared distances; labels: (N,); anchors, positives: (P,) indices.
    """
    D = np.asarray(distances, dtype=float)
    labels = np.asarray(labels)
    anchors, positives = np.asarray(anchors), np.asarray(positives)
    d_ap = D[anchors, positives][:, None]  # (P, 1)
    d_an = D[anchors]  # (P, N)
    is_neg = labels[None, :] != labels[anchors][:, None]
    if not is_neg.any(axis=1).all():
        raise ValueError("an anchor has no negative (every item shares its label)")
    farther = is_neg & (d_an > d_ap)
    closest_farther = np.argmin(np.where(farther, d_an, np.inf), axis=1)
    farthest = np.argmax(np.where(is_neg, d_an, -np.inf), axis=1)
    return np.where(farther.any(axis=1), closest_farther, farthest)


def search(queries, database, k: int, exclude_self: bool = False) -> np.ndarray:
    """The k nearest database items of each query: (Q, D), (N, D) -> (Q, k) indices, nearest first.

    exclude_self: the queries are the database itself (Q = N) and a query must not find
    itself. Ties go to the lower index (stable sort).
    """
    D = pairwise_sq_distances(queries, database)
    if exclude_self:
        if D.shape[0] != D.shape[1]:
            raise ValueError(f"exclude_self needs queries == database, got {D.shape[0]} queries and {D.shape[1]} items")
        np.fill_diagonal(D, np.inf)
    k_max = D.shape[1] - (1 if exclude_self else 0)
    if not 1 <= k <= k_max:
        raise ValueError(f"k must be in 1..{k_max}, got {k}")
    return np.argsort(D, axis=1, kind="stable")[:, :k]


def relevance(ranked, query_labels, database_labels) -> np.ndarray:
    """0/1 relevance of each ranked item: (Q, k) indices -> (Q, k) floats, 1 where labels match."""
    return (np.asarray(database_labels)[ranked] == np.asarray(query_labels)[:, None]).astype(float)


def _check_rel(rel, n_relevant, k):
    rel = np.asarray(rel, dtype=float)
    n_relevant = np.asarray(n_relevant, dtype=float)
    if rel.ndim != 2 or n_relevant.shape != (rel.shape[0],):
        raise ValueError(f"rel must be (Q, K) and n_relevant (Q,), got {rel.shape} and {n_relevant.shape}")
    if not 1 <= k <= rel.shape[1]:
        raise ValueError(f"k must be in 1..{rel.shape[1]} (the ranked lists' length), got {k}")
    return rel[:, :k], n_relevant


def recall_at_k(rel, n_relevant, k: int) -> float:
    """Mean over queries of (relevant items in the top k) / (relevant items in the database).

    rel: (Q, K) 0/1 in ranked order; n_relevant: (Q,) totals (queries with none are skipped).
    """
    rel, n = _check_rel(rel, n_relevant, k)
    keep = n > 0
    return float(np.mean(rel[keep].sum(1) / n[keep]))


def map_at_k(rel, n_relevant, k: int) -> float:
    """MAP@k: mean over queries of AP@k = (1 / min(k, R)) sum_{i<=k} P@i rel_i.

    P@i is the precision of the top i; R the number of relevant items of the query. With k = N
    it is the usual average precision (``sklearn.metrics.average_precision_score`` per query).
    """
    rel, n = _check_rel(rel, n_relevant, k)
    precision = np.cumsum(rel, axis=1) / np.arange(1, rel.shape[1] + 1)
    keep = n > 0
    ap = (precision * rel).sum(1)[keep] / np.minimum(k, n[keep])
    return float(np.mean(ap))


def ndcg_at_k(rel, n_relevant, k: int) -> float:
    """nDCG@k with binary relevance: DCG = sum_{i<=k} rel_i / log2(i + 1), divided by the DCG of
    the ideal ranking (min(k, R) relevant items first)."""
    rel, n = _check_rel(rel, n_relevant, k)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = rel @ discount
    ideal = np.array([discount[: int(min(k, r))].sum() for r in n])
    keep = n > 0
    return float(np.mean(dcg[keep] / ideal[keep]))


def retrieval_report(embeddings, labels, k: int = 10, groups=None) -> dict:
    """Leave-one-out search inside a set: each item queries all the others.

    Relevance: same label. groups: optional (N,) group of each item (the artist): items of the
    query's own group are removed from its candidates (the "artist filter" of MIREX's
    similarity evaluations), so that finding a genre cannot be done by finding the artist.
    Returns recall@k, MAP@k and nDCG@k as a dict.
    """
    labels = np.asarray(labels)
    D = pairwise_sq_distances(embeddings)
    hidden = np.eye(len(labels), dtype=bool)
    if groups is not None:
        groups = np.asarray(groups)
        hidden |= groups[:, None] == groups[None, :]
    D[hidden] = np.inf
    k_max = int((~hidden).sum(1).min())
    if not 1 <= k <= k_max:
        raise ValueError(f"k must be in 1..{k_max} (the fewest candidates a query has), got {k}")
    ranked = np.argsort(D, axis=1, kind="stable")[:, :k]
    rel = relevance(ranked, labels, labels)
    n_rel = ((labels[:, None] == labels[None, :]) & ~hidden).sum(1)
    return {f"recall@{k}": recall_at_k(rel, n_rel, k), f"MAP@{k}": map_at_k(rel, n_rel, k),
            f"nDCG@{k}": ndcg_at_k(rel, n_rel, k)}
