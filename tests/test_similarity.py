"""mirkit.similarity (lessons/12-similarity-search): gradients, mining and metrics against references."""
import numpy as np
import pytest
from sklearn.metrics import average_precision_score, ndcg_score

from mirkit import nn
from mirkit import similarity as S


def test_l2_normalize_forward_and_gradient():
    x = np.random.default_rng(42).normal(size=(5, 4))  # not seed 0: check_layer draws dout with it
    layer = S.L2Normalize()
    np.testing.assert_allclose(np.linalg.norm(layer.forward(x), axis=1), 1.0)
    assert nn.check_layer(layer, x).passed


def test_triplet_loss_value_and_gradient():
    rng = np.random.default_rng(1)
    E = rng.normal(size=(8, 3))
    T = np.array([[0, 1, 2], [0, 1, 3], [4, 5, 6], [7, 6, 0], [2, 3, 1]])
    loss = S.TripletLoss(margin=0.5)
    d = lambda i, j: np.sum((E[i] - E[j]) ** 2)
    expected = np.mean([max(0, d(a, p) - d(a, n) + 0.5) for a, p, n in T])
    assert loss.forward(E, T) == pytest.approx(expected)
    margins = [d(a, p) - d(a, n) + 0.5 for a, p, n in T]
    assert min(abs(m) for m in margins) > 1e-3, "no triplet on the hinge's kink"
    assert nn.check_loss(loss, E, T).passed


def test_triplet_loss_rejects_bad_input():
    loss = S.TripletLoss()
    with pytest.raises(ValueError, match=r"\(M, 3\) integer"):
        loss.forward(np.zeros((4, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="0..3"):
        loss.forward(np.zeros((4, 2)), np.array([[0, 1, 9]]))
    with pytest.raises(ValueError, match="margin"):
        S.TripletLoss(margin=-1)


def _semi_hard_reference(D, labels, a, p):
    negs = [n for n in range(len(labels)) if labels[n] != labels[a]]
    farther = [n for n in negs if D[a, n] > D[a, p]]
    if farther:
        return min(farther, key=lambda n: (D[a, n], n))
    return max(negs, key=lambda n: (D[a, n], -n))


@pytest.mark.parametrize("seed", range(5))
def test_semi_hard_mining_equals_a_loop(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(20, 3))
    labels = rng.integers(0, 3, 20)
    D = S.pairwise_sq_distances(X)
    pairs = S.positive_pairs(labels)
    got = S.semi_hard_negatives(D, labels, pairs[:, 0], pairs[:, 1])
    want = [_semi_hard_reference(D, labels, a, p) for a, p in pairs]
    np.testing.assert_array_equal(got, want)
    assert np.all(labels[got] != labels[pairs[:, 0]])


def test_random_triplets_are_valid():
    rng = np.random.default_rng(0)
    labels = np.array([0, 0, 1, 1, 2, 2, 2])
    T = S.random_triplets(labels, 50, rng)
    assert T.shape == (50, 3)
    assert np.all(labels[T[:, 0]] == labels[T[:, 1]]) and np.all(T[:, 0] != T[:, 1])
    assert np.all(labels[T[:, 0]] != labels[T[:, 2]])
    with pytest.raises(ValueError, match="no two items share a label"):
        S.random_triplets(np.arange(4), 3, rng)


def test_pairwise_distances_and_search():
    rng = np.random.default_rng(2)
    A, B = rng.normal(size=(6, 4)), rng.normal(size=(9, 4))
    ref = ((A[:, None] - B[None]) ** 2).sum(-1)
    np.testing.assert_allclose(S.pairwise_sq_distances(A, B), ref, atol=1e-12)
    top = S.search(A, B, 3)
    np.testing.assert_array_equal(top, np.argsort(ref, axis=1)[:, :3])
    self_top = S.search(B, B, 2, exclude_self=True)
    assert not np.any(self_top == np.arange(9)[:, None])
    with pytest.raises(ValueError, match="k must be in 1..8"):
        S.search(B, B, 9, exclude_self=True)


def _loop_metrics(rel_full, k):
    rec, ap, nd = [], [], []
    for row in rel_full:
        R = row.sum()
        if R == 0:
            continue
        top = row[:k]
        rec.append(top.sum() / R)
        hits, s = 0, 0.0
        for i, r in enumerate(top, 1):
            if r:
                hits += 1
                s += hits / i
        ap.append(s / min(k, R))
        dcg = sum(r / np.log2(i + 1) for i, r in enumerate(top, 1))
        idcg = sum(1 / np.log2(i + 1) for i in range(1, int(min(k, R)) + 1))
        nd.append(dcg / idcg)
    return np.mean(rec), np.mean(ap), np.mean(nd)


@pytest.mark.parametrize("k", [1, 3, 10, 30])
def test_retrieval_metrics_equal_loops_and_scikit_learn(k):
    rng = np.random.default_rng(k)
    Q, N = 12, 30
    scores = rng.normal(size=(Q, N))
    truth = (rng.random((Q, N)) < 0.3).astype(float)
    truth[0] = 0  # a query with no relevant item is skipped
    order = np.argsort(-scores, axis=1)
    rel = np.take_along_axis(truth, order, axis=1)
    n_rel = truth.sum(1)
    rec, ap, nd = _loop_metrics(rel, k)
    assert S.recall_at_k(rel, n_rel, k) == pytest.approx(rec)
    assert S.map_at_k(rel, n_rel, k) == pytest.approx(ap)
    assert S.ndcg_at_k(rel, n_rel, k) == pytest.approx(nd)
    keep = n_rel > 0
    assert S.ndcg_at_k(rel, n_rel, k) == pytest.approx(ndcg_score(truth[keep], scores[keep], k=k))
    if k == N:
        sk = np.mean([average_precision_score(truth[q], scores[q]) for q in np.flatnonzero(keep)])
        assert S.map_at_k(rel, n_rel, k) == pytest.approx(sk)


def test_map_at_full_length_is_sklearn_average_precision():
    rng = np.random.default_rng(5)
    scores = rng.normal(size=(8, 25))
    truth = (rng.random((8, 25)) < 0.4).astype(float)
    truth[:, 0] = 1
    rel = np.take_along_axis(truth, np.argsort(-scores, axis=1), axis=1)
    sk = np.mean([average_precision_score(truth[q], scores[q]) for q in range(8)])
    assert S.map_at_k(rel, truth.sum(1), 25) == pytest.approx(sk)


def test_training_with_triplets_separates_classes():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(3, 10))
    labels = np.repeat(np.arange(3), 20)
    X = centers[labels] * 0.6 + rng.normal(size=(60, 10))
    before = S.retrieval_report(X, labels, k=5)["MAP@5"]
    model = nn.Sequential(nn.Dense(10, 16, rng=rng), nn.ReLU(), nn.Dense(16, 4, rng=rng), S.L2Normalize())
    opt = nn.Adam(model.named_parameters(), lr=0.01)
    loss = S.TripletLoss(margin=0.3)
    for _ in range(150):
        E = model.forward(X)
        pairs = S.positive_pairs(labels)
        neg = S.semi_hard_negatives(S.pairwise_sq_distances(E), labels, pairs[:, 0], pairs[:, 1])
        loss.forward(E, np.column_stack([pairs, neg]))
        model.backward(loss.backward())
        opt.step()
    after = S.retrieval_report(model.forward(X), labels, k=5)["MAP@5"]
    assert after > before + 0.1


def test_artist_filter_removes_the_query_artist():
    # an embedding that knows the genre a little and the artist a lot
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    artists = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    E = np.hstack([np.eye(2)[labels], 0.5 * np.eye(4)[artists]])
    plain = S.retrieval_report(E, labels, k=1)
    assert plain["recall@1"] == pytest.approx(1 / 3)  # the same-artist twin: 1 of 3 same-genre tracks
    filtered = S.retrieval_report(E, labels, k=1, groups=artists)
    assert filtered["MAP@1"] == pytest.approx(1.0)  # the nearest other-artist track has the genre
    assert filtered["recall@1"] == pytest.approx(1 / 2)  # 1 of the 2 same-genre tracks by other artists
    with pytest.raises(ValueError, match="k must be in 1..6"):
        S.retrieval_report(E, labels, k=7, groups=artists)
