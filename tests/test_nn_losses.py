"""Losses of mirkit.nn: gradient checks, formulas vs Keras, stability for extreme logits."""
import os

import numpy as np
import pytest

import mirkit.nn as nn


def batch_sizes(seed):
    rng = np.random.default_rng(seed)
    return [(1, int(rng.integers(2, 6)))] + [(int(rng.integers(2, 9)), int(rng.integers(2, 6)))
                                              for _ in range(2)]


def cases(name, rng, n, k):
    """(loss, pred, target) for one loss and one shape."""
    z = rng.standard_normal((n, k))
    labels = rng.integers(0, k, size=n)
    if name == "mse":
        return nn.MSE(), z, rng.standard_normal((n, k))
    if name == "cosine":
        return nn.CosineDistance(), z, rng.standard_normal((n, k))
    if name == "hinge":
        return nn.Hinge(), z[:, :1], rng.choice([-1.0, 1.0], size=(n, 1))
    if name == "multiclass_hinge":
        return nn.MulticlassHinge(), z, labels
    if name == "softmax_ce_labels":
        return nn.SoftmaxCrossEntropy(), z, labels
    if name == "softmax_ce_onehot":
        return nn.SoftmaxCrossEntropy(), z, np.eye(k)[labels]
    if name == "softmax_ce_soft":
        return nn.SoftmaxCrossEntropy(), z, nn.softmax(rng.standard_normal((n, k)))
    if name == "categorical_ce":
        return nn.CategoricalCrossEntropy(), nn.softmax(z), labels
    if name == "bce_logits":
        return nn.BinaryCrossEntropyWithLogits(), z, rng.random((n, k))
    raise KeyError(name)


NAMES = ["mse", "cosine", "hinge", "multiclass_hinge", "softmax_ce_labels", "softmax_ce_onehot",
         "softmax_ce_soft", "categorical_ce", "bce_logits"]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("name", NAMES)
def test_loss_gradients(name, seed):
    rng = np.random.default_rng(seed)
    for n, k in batch_sizes(seed):
        loss, pred, target = cases(name, rng, n, k)
        # -log p has large higher derivatives where p is small: a smaller h limits truncation
        h = 1e-6 if name == "categorical_ce" else 1e-5
        report = nn.check_loss(loss, pred, target, h=h)
        assert report.passed, f"{name} {pred.shape}\n{report}"


def test_loss_values_match_keras():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    z, labels = rng.standard_normal((6, 4)), rng.integers(0, 4, size=6)
    onehot = np.eye(4)[labels]
    pm = rng.choice([-1.0, 1.0], size=(6, 1))
    t01 = rng.integers(0, 2, size=(6, 4)).astype(float)
    ks = keras.losses
    p = nn.softmax(z)
    pairs = [
        (nn.MSE()(z, onehot), ks.MeanSquaredError()(onehot, z)),
        (nn.SoftmaxCrossEntropy()(z, labels),
         ks.SparseCategoricalCrossentropy(from_logits=True)(labels, z)),
        (nn.SoftmaxCrossEntropy()(z, onehot),
         ks.CategoricalCrossentropy(from_logits=True)(onehot, z)),
        (nn.CategoricalCrossEntropy()(p, onehot), ks.CategoricalCrossentropy()(onehot, p)),
        (nn.BinaryCrossEntropyWithLogits()(z, t01),
         ks.BinaryCrossentropy(from_logits=True)(t01, z)),
        (nn.Hinge()(z[:, :1], pm), ks.Hinge()(pm, z[:, :1])),
        (nn.CosineDistance()(z, onehot + 0.1), 1 + ks.CosineSimilarity()(onehot + 0.1, z)),
    ]
    for ours, theirs in pairs:
        assert ours == pytest.approx(float(theirs), rel=1e-5)


def test_multiclass_hinge_formula():
    s = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])  # CS231n's example
    y = np.array([0, 1, 2])
    assert nn.MulticlassHinge()(s, y) == pytest.approx((2.9 + 0 + 12.9) / 3)


@pytest.mark.parametrize("scale", [1e2, 1e4, 1e8])
def test_losses_finite_for_extreme_logits(scale):
    z = np.array([[scale, -scale, 0.0], [-scale, scale, scale], [0.0, 0.0, -scale]])
    labels = np.array([1, 0, 2])  # each the worst possible class
    for loss, target in [(nn.SoftmaxCrossEntropy(), labels),
                         (nn.BinaryCrossEntropyWithLogits(), np.eye(3)[labels])]:
        value = loss.forward(z, target)
        grad = loss.backward()
        assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert nn.SoftmaxCrossEntropy()(z, labels) == pytest.approx((5 * scale + 2 * np.log(2)) / 3)
    # correct and confident: loss ~ 0, not NaN
    assert nn.SoftmaxCrossEntropy()(np.array([[scale, -scale]]), [0]) == pytest.approx(0, abs=1e-30)
    bce = nn.BinaryCrossEntropyWithLogits()
    assert bce(np.array([scale, -scale]), [1, 0]) == pytest.approx(0, abs=1e-30)


def test_decision_rules():
    z = np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0]])
    np.testing.assert_array_equal(nn.SoftmaxCrossEntropy().predict_labels(z), [1, 0])
    bce = nn.BinaryCrossEntropyWithLogits()
    np.testing.assert_array_equal(bce.predict_labels(z), [[1, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(bce.predict_labels(z[:, :1] - 0.5), [0, 1])
    np.testing.assert_array_equal(nn.Hinge().predict_labels(np.array([[-0.2], [0.3]])), [-1, 1])


def test_l2_penalty_value_and_gradient():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Dense(3, 4, rng=0), nn.Tanh(), nn.Dense(4, 2, rng=1))
    for _, p in model.named_parameters():
        p.value[...] = rng.standard_normal(p.value.shape)
    x, y, lam = rng.standard_normal((5, 3)), rng.integers(0, 2, size=5), 0.3
    loss = nn.SoftmaxCrossEntropy()

    def total():
        return loss.forward(model.forward(x), y) + nn.l2_penalty(model, lam, add_grad=False)

    weights = [p.value for k, p in model.named_parameters() if k.endswith("W")]  # no biases
    expected = lam / 2 * sum(np.sum(w ** 2) for w in weights)
    assert nn.l2_penalty(model, lam, add_grad=False) == pytest.approx(expected)
    loss.forward(model.forward(x), y)
    model.backward(loss.backward())
    nn.l2_penalty(model, lam)
    analytic = {k: p.grad.copy() for k, p in model.named_parameters()}
    arrays = {k: p.value for k, p in model.named_parameters()}
    nn.gradcheck.compare(analytic, arrays, total, h=1e-5, threshold=1e-6).assert_ok()


def test_loss_errors_are_clear():
    with pytest.raises(ValueError, match=r"MSE.*\(2, 3\).*\(3, 2\)"):
        nn.MSE()(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="labels must be in 0..2"):
        nn.SoftmaxCrossEntropy()(np.zeros((2, 3)), [0, 3])
    with pytest.raises(ValueError, match=r"\(N, K\)"):
        nn.SoftmaxCrossEntropy()(np.zeros(3), [0, 1, 2])
    with pytest.raises(ValueError, match="-1 or \\+1"):
        nn.Hinge()(np.zeros(3), [0, 1, 1])


def test_multiclass_hinge_keeps_float32_and_rejects_soft_labels():
    z = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    loss = nn.MulticlassHinge()
    loss.forward(z, np.array([0, 1, 2, 1]))
    assert loss.backward().dtype == np.float32
    with pytest.raises(ValueError, match="one-hot"):
        loss.forward(z, np.full((4, 3), 1 / 3))


def test_hinge_with_the_wrong_number_of_targets_says_so():
    with pytest.raises(ValueError, match="one target per score"):
        nn.Hinge().forward(np.zeros((5, 1)), np.ones(4))
