"""Layers of mirkit.nn: gradient checks (float64, <= 1e-7), contract, input checks."""
import numpy as np
import pytest

import mirkit.nn as nn
from mirkit.nn.gradcheck import THRESHOLD


def away_from_zero(x, margin=1e-3):
    """Move inputs off the kink of ReLU-like layers, where finite differences are invalid."""
    return np.where(x >= 0, x + margin, x - margin)


def random_shapes(seed):
    """A few seeded (N, D, K) sizes, always including a batch of one example."""
    rng = np.random.default_rng(seed)
    return [(1, int(rng.integers(1, 6)), int(rng.integers(1, 6)))] + \
        [tuple(int(v) for v in rng.integers(1, 7, size=3)) for _ in range(3)]


ELEMENTWISE = [nn.Sigmoid, nn.Tanh, nn.ReLU, lambda: nn.LeakyReLU(0.1), nn.Softmax,
               nn.Identity]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("make", ELEMENTWISE,
                         ids=["sigmoid", "tanh", "relu", "leaky_relu", "softmax", "identity"])
def test_activation_gradients(make, seed):
    rng = np.random.default_rng(seed)
    for n, d, _ in random_shapes(seed):
        # unit-scale inputs: deep in a sigmoid's tails y' ~ 1e-5 and no finite difference
        # in float64 reaches 1e-7 relative error (round-off ~ 1e-16 / (h y'))
        x = away_from_zero(rng.standard_normal((n, d)))
        report = nn.check_layer(make(), x, seed=seed)
        assert report.passed, str(report)
    # activations accept any shape, e.g. (N, C, T)
    nn.check_layer(make(), away_from_zero(rng.standard_normal((2, 3, 4))), seed=seed).assert_ok()


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("init", ["glorot", "he"])
def test_dense_gradients(seed, init):
    rng = np.random.default_rng(seed)
    for n, d, k in random_shapes(seed):
        layer = nn.Dense(d, k, init=init, rng=seed)
        layer.params["b"].value[...] = rng.standard_normal(k)
        nn.check_layer(layer, rng.standard_normal((n, d)), seed=seed).assert_ok()


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "identity"])
def test_neuron_gradients(seed, activation):
    rng = np.random.default_rng(seed)
    for n, d, _ in random_shapes(seed):
        neuron = nn.Neuron(d, activation=activation, rng=seed)
        neuron.params["b"].value[...] = 0.3
        x = rng.standard_normal((n, d))
        if activation == "relu":  # keep pre-activations off the kink
            z = x @ neuron.params["w"].value + 0.3
            x = x[np.abs(z) > 1e-3] if np.any(np.abs(z) > 1e-3) else x
        y = neuron.forward(x)
        assert y.shape == (len(x), 1)
        nn.check_layer(neuron, x, seed=seed).assert_ok()


def test_neuron_formula():
    neuron = nn.Neuron(3, activation="sigmoid", rng=0)
    w, b = neuron.params["w"].value, 0.5
    neuron.params["b"].value[...] = b
    x = np.array([[1.0, -2.0, 0.5]])
    assert neuron.forward(x)[0, 0] == pytest.approx(1 / (1 + np.exp(-(x[0] @ w + b))))


@pytest.mark.parametrize("seed", range(3))
def test_dropout_gradients_with_fixed_mask(seed):
    rng = np.random.default_rng(seed)
    for n, d, _ in random_shapes(seed):
        drop = nn.Dropout(0.4, rng=seed)
        drop.reuse_mask = True
        nn.check_layer(drop, rng.standard_normal((n, d)), seed=seed).assert_ok()


def test_dropout_is_inverted_and_has_modes():
    drop = nn.Dropout(0.25, rng=0)
    x = np.ones((2000, 50))
    y = drop.forward(x)
    assert set(np.unique(y)) <= {0.0, 1 / 0.75}
    assert abs(np.mean(y == 0) - 0.25) < 0.01
    assert abs(y.mean() - 1.0) < 0.02  # inverted: E[y] = x
    dx = drop.backward(np.ones_like(x))
    np.testing.assert_array_equal(dx, y)  # the same mask in backward
    drop.eval()
    np.testing.assert_array_equal(drop.forward(x), x)
    np.testing.assert_array_equal(drop.backward(x), x)
    # deterministic given the seed
    np.testing.assert_array_equal(nn.Dropout(0.5, rng=3).forward(x),
                                  nn.Dropout(0.5, rng=3).forward(x))
    with pytest.raises(ValueError, match="probability"):
        nn.Dropout(1.0)


def test_mlp_gradients_check_model():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Dense(5, 7, rng=1), nn.Tanh(), nn.Dense(7, 6, rng=2), nn.Sigmoid(),
                          nn.Dense(6, 4, rng=3))
    x, y = rng.standard_normal((8, 5)), rng.integers(0, 4, size=8)
    # A whole network, checked through its output and through the loss. A composition has a
    # few gradient coordinates far smaller than the rest (here ~1e-6), at the round-off floor
    # eps |L| / h of finite differences: checked to 1e-6 (single layers: 1e-7, above).
    report = nn.check_layer(model, x, threshold=1e-6)
    assert report.passed, str(report)
    report = nn.check_model(model, nn.SoftmaxCrossEntropy(), x, y, n_samples=None,
                            threshold=1e-6)
    assert report.passed, str(report)


def test_heaviside_forward_only():
    h = nn.Heaviside()
    np.testing.assert_array_equal(h.forward(np.array([-2.0, 0.0, 3.0])), [0.0, 1.0, 1.0])
    with pytest.raises(RuntimeError, match="derivative is 0"):
        h.backward(np.ones(3))
    with pytest.raises(RuntimeError, match="gradient"):
        nn.Neuron(2, activation="heaviside", rng=0).backward(np.ones((1, 1)))


def test_functions_match_layers_and_are_stable():
    z = np.array([[-1e4, 0.0, 1e4], [-800.0, 1.0, 800.0]])
    assert np.all(np.isfinite(nn.sigmoid(z)))
    np.testing.assert_allclose(nn.sigmoid(np.array([-800.0, 0.0, 800.0])), [0.0, 0.5, 1.0])
    s = nn.softmax(z)
    assert np.all(np.isfinite(s)) and np.allclose(s.sum(axis=1), 1)
    assert np.all(np.isfinite(nn.log_softmax(z)))
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(nn.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-15)
    np.testing.assert_array_equal(nn.ReLU().forward(x), nn.relu(x))
    np.testing.assert_array_equal(nn.LeakyReLU(0.2).forward(x), nn.leaky_relu(x, 0.2))


def test_backward_twice_gives_same_gradients():
    """Regression test for micrograd #53: a second backward must not double the gradients."""
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Dense(3, 4, rng=0), nn.ReLU(), nn.Dense(4, 2, rng=1))
    x, dout = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    model.forward(x)
    dx1 = model.backward(dout)
    first = {k: p.grad.copy() for k, p in model.named_parameters()}
    dx2 = model.backward(dout)
    np.testing.assert_array_equal(dx1, dx2)
    for k, p in model.named_parameters():
        np.testing.assert_array_equal(p.grad, first[k])


def test_accumulate_sums_gradients():
    rng = np.random.default_rng(1)
    model = nn.Sequential(nn.Dense(3, 4, rng=0), nn.Tanh(), nn.Dense(4, 2, rng=1))
    x, dout = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    model.forward(x)
    model.backward(dout)
    full = {k: p.grad.copy() for k, p in model.named_parameters()}
    model.accumulate = True
    model.zero_grad()
    for part in (slice(0, 2), slice(2, 6)):  # two chunks of the batch sum to the whole
        model.forward(x[part])
        model.backward(dout[part])
    for k, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, full[k], rtol=1e-12, atol=1e-14)
    assert model.accumulate


def test_float32_path_stays_float32():
    layer = nn.Dense(4, 3, rng=0, dtype=np.float32)
    x = np.ones((2, 4), dtype=np.float32)
    y = layer.forward(x)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == layer.params["W"].grad.dtype == np.float32
    for act in (nn.Sigmoid(), nn.Tanh(), nn.ReLU(), nn.Softmax(), nn.Dropout(0.5, rng=0)):
        assert act.forward(x).dtype == np.float32


def test_init_is_seeded_and_scaled():
    a = nn.Dense(200, 300, rng=5).params["W"].value
    b = nn.Dense(200, 300, rng=np.random.default_rng(5)).params["W"].value
    np.testing.assert_array_equal(a, b)
    assert abs(a.var() - 2 / 500) < 2e-4  # Glorot: Var = 2 / (fan_in + fan_out)
    assert np.abs(a).max() <= np.sqrt(6 / 500)
    he = nn.Dense(200, 300, init="he", rng=5).params["W"].value
    assert abs(he.var() - 2 / 200) < 5e-4
    w = nn.init.he_uniform((8, 4, 3, 3), rng=0)  # conv kernel (C_out, C_in, kh, kw)
    assert np.abs(w).max() <= np.sqrt(6 / 36)
    assert nn.init.fans((8, 4, 3, 3)) == (36, 72)
    with pytest.raises(ValueError, match="unknown init"):
        nn.Dense(2, 2, init="zeros?")


def test_input_errors_name_layer_and_shapes():
    with pytest.raises(ValueError, match=r"Dense.*\(N, 3\).*\(4, 5\)"):
        nn.Dense(3, 2, rng=0).forward(np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"Dense.*\(N, 3\).*\(3,\)"):
        nn.Dense(3, 2, rng=0).forward(np.zeros(3))
    with pytest.raises(ValueError, match=r"Neuron.*\(N, 2\)"):
        nn.Neuron(2, rng=0).forward(np.zeros((1, 3)))
    with pytest.raises(TypeError, match="Sigmoid.*dtype"):
        nn.Sigmoid().forward(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="unknown activation"):
        nn.Neuron(2, activation="softsign")

