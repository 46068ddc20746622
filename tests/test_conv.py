"""Convolution, pooling and batch norm (lesson 05): gradient checks, naive vs fast, errors."""
import numpy as np
import pytest

import mirkit.nn as nn
from mirkit.nn.gradcheck import check_layer

POOL_THRESHOLD = 1e-9  # pooling is piecewise linear: away from ties, finite differences are exact


def _sweep(n, seed):
    """Seeded random conv configurations: (N, C_in, C_out, H, W, kernel, stride, padding, dilation)."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        kh, kw = rng.integers(1, 4, size=2)
        sh, sw = rng.integers(1, 4, size=2)
        dh, dw = rng.integers(1, 3, size=2)
        padding = ["valid", "same", int(rng.integers(0, 3))][rng.integers(0, 3)]
        H, W = rng.integers(4, 10, size=2)
        cfg = (int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(H), int(W),
               (int(kh), int(kw)), (int(sh), int(sw)), padding, (int(dh), int(dw)))
        try:
            nn.conv_output_shape((H, W), (kh, kw), (sh, sw), padding, (dh, dw))
        except ValueError:
            continue  # kernel larger than the input: not a valid configuration
        out.append(cfg)
    return out


def assert_maxpool_naive_equals_fast(x, k, s, rng):
    """Max-pool forward equal exactly, backward to 1e-12 (ties go to the first maximum in both)."""
    y1, c1 = nn.maxpool2d_forward_naive(x, k, s)
    y2, c2 = nn.maxpool2d_forward_fast(x, k, s)
    np.testing.assert_array_equal(y2, y1)
    dy = rng.standard_normal(y1.shape)
    np.testing.assert_allclose(nn.maxpool2d_backward_fast(dy, c2), nn.maxpool2d_backward_naive(dy, c1),
                               rtol=0, atol=1e-12)


CONV_CASES = _sweep(12, seed=1)


@pytest.mark.parametrize("cfg", CONV_CASES, ids=[str(i) for i in range(len(CONV_CASES))])
def test_conv2d_gradcheck_sweep(cfg):
    N, C, K, H, W, k, s, pad, d = cfg
    layer = nn.Conv2D(C, K, k, stride=s, padding=pad, dilation=d, rng=0, dtype=np.float64)
    layer.params["b"].value[:] = np.random.default_rng(1).standard_normal(K)
    x = np.random.default_rng(2).standard_normal((N, C, H, W))
    check_layer(layer, x).assert_ok()


@pytest.mark.parametrize("cfg", CONV_CASES, ids=[str(i) for i in range(len(CONV_CASES))])
def test_conv2d_naive_equals_fast(cfg):
    N, C, K, H, W, k, s, pad, d = cfg
    rng = np.random.default_rng(3)
    x, Wt, b = rng.standard_normal((N, C, H, W)), rng.standard_normal((K, C, *k)), rng.standard_normal(K)
    y1, c1 = nn.conv2d_forward_naive(x, Wt, b, s, pad, d)
    y2, c2 = nn.conv2d_forward_fast(x, Wt, b, s, pad, d)
    assert y1.shape == y2.shape == (N, K, *nn.conv_output_shape((H, W), k, s, pad, d))
    np.testing.assert_allclose(y2, y1, rtol=0, atol=1e-10)
    dy = rng.standard_normal(y1.shape)
    for g_naive, g_fast, name in zip(nn.conv2d_backward_naive(dy, c1), nn.conv2d_backward_fast(dy, c2),
                                     ("dx", "dW", "db")):
        assert g_naive.shape == g_fast.shape, name
        np.testing.assert_allclose(g_fast, g_naive, rtol=0, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("block,parallel_work", [(1, 0), (200, 10 ** 9), (600, 0)])
def test_fast_paths_by_blocks_of_examples_equal_naive(block, parallel_work, monkeypatch):
    # pooling works by blocks of examples (batch_blocks): small CACHE_BLOCKs force several blocks,
    # 1 example each or 2 + 2 + 1; convolution and pooling run on threads unless the work is
    # small (PARALLEL_WORK 0: always on threads if BLAS may use several, 10**9: never)
    import mirkit.nn.fast as fast_module
    monkeypatch.setattr(fast_module, "CACHE_BLOCK", block)
    monkeypatch.setattr(fast_module, "PARALLEL_WORK", parallel_work)
    rng = np.random.default_rng(4)
    x, Wt, b = rng.standard_normal((5, 2, 7, 6)), rng.standard_normal((3, 2, 2, 3)), rng.standard_normal(3)
    y1, c1 = nn.conv2d_forward_naive(x, Wt, b, (2, 1), "same", (1, 2))
    y2, c2 = nn.conv2d_forward_fast(x, Wt, b, (2, 1), "same", (1, 2))
    np.testing.assert_allclose(y2, y1, rtol=0, atol=1e-10)
    dy = rng.standard_normal(y1.shape)
    for g_naive, g_fast in zip(nn.conv2d_backward_naive(dy, c1), nn.conv2d_backward_fast(dy, c2)):
        np.testing.assert_allclose(g_fast, g_naive, rtol=0, atol=1e-10)
    x = np.maximum(x, 0)  # ties
    for k, s in (((2, 2), None), ((3, 2), (1, 2))):
        assert_maxpool_naive_equals_fast(x, k, s, rng)


@pytest.mark.parametrize("k,s,pad,d,T", [(3, 1, "valid", 1, 10), (3, 1, "same", 2, 11), (2, 2, "same", 1, 9),
                                         (3, 1, 2, 3, 8), (5, 3, "valid", 1, 16), (1, 1, "same", 1, 5)])
def test_conv1d_gradcheck(k, s, pad, d, T):
    layer = nn.Conv1D(3, 4, k, stride=s, padding=pad, dilation=d, rng=0, dtype=np.float64)
    layer.params["b"].value[:] = [0.1, -0.2, 0.3, 0.0]
    check_layer(layer, np.random.default_rng(0).standard_normal((2, 3, T))).assert_ok()


def test_conv1d_is_the_dilated_formula_of_the_lecture():
    # (x *_d w)(n) = sum_i w(i) x(n - d i): a causal, flipped version of our cross-correlation
    rng = np.random.default_rng(0)
    x, w, d = rng.standard_normal(20), rng.standard_normal(3), 2
    layer = nn.Conv1D(1, 1, 3, dilation=d, dtype=np.float64)
    layer.params["W"].value[...] = w[::-1].reshape(1, 1, 3)  # flip: convolution vs correlation
    y = layer.forward(x.reshape(1, 1, -1))[0, 0]
    expected = [sum(w[i] * x[n - d * i] for i in range(3)) for n in range(2 * d, 20)]
    np.testing.assert_allclose(y, expected, atol=1e-12)


def test_conv1d_as_matrix_is_the_layer():
    rng = np.random.default_rng(0)
    w, x = rng.standard_normal(3), rng.standard_normal(8)
    M = nn.conv1d_as_matrix(w, 8)
    assert M.shape == (6, 8) and np.count_nonzero(M) == 18
    layer = nn.Conv1D(1, 1, 3, dtype=np.float64)
    layer.params["W"].value[...] = w.reshape(1, 1, 3)
    np.testing.assert_allclose(M @ x, layer.forward(x.reshape(1, 1, -1))[0, 0], atol=1e-12)


@pytest.mark.parametrize("L,k,s,d,before,after", [(10, 3, 1, 1, 1, 1), (10, 4, 1, 1, 1, 2), (10, 3, 2, 1, 0, 1),
                                                  (11, 3, 2, 1, 1, 1), (7, 3, 1, 2, 2, 2), (5, 1, 3, 1, 0, 0)])
def test_same_padding_follows_keras_rule(L, k, s, d, before, after):
    from mirkit.nn.padding import _pad_amounts
    b, a, out = _pad_amounts(L, k, s, d, "same")
    assert (b, a) == (before, after) and out == -(-L // s)


def test_layers_backward_twice_sets_not_adds():
    layer = nn.Conv2D(2, 3, 2, rng=0, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 5))
    dy = np.ones_like(layer.forward(x))
    layer.backward(dy)
    g = layer.params["W"].grad.copy()
    layer.backward(dy)
    np.testing.assert_allclose(layer.params["W"].grad, g)


def test_float32_stays_float32():
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32)
    model = nn.Sequential(nn.Conv2D(1, 4, 3, dtype=np.float32), nn.MaxPool2D(2),
                          nn.BatchNorm(4, dtype=np.float32), nn.GlobalAvgPool(), nn.Flatten())
    y = model.forward(x)
    assert y.dtype == np.float32 and y.shape == (2, 12)
    assert model.backward(np.ones_like(y)).dtype == np.float32


# -- pooling ------------------------------------------------------------------------------------
POOL_CASES = [((2, 2), None, (6, 8)), ((3, 3), (2, 2), (7, 9)), ((2, 3), (1, 2), (5, 7)), ((1, 4), None, (3, 9)),
              ((3, 2), (3, 1), (9, 5))]


@pytest.mark.parametrize("k,s,hw", POOL_CASES)
@pytest.mark.parametrize("cls", [nn.MaxPool2D, nn.AvgPool2D])
def test_pool2d_gradcheck(cls, k, s, hw):
    x = np.random.default_rng(0).standard_normal((2, 3, *hw))  # continuous: no ties
    check_layer(cls(k, s), x, threshold=POOL_THRESHOLD).assert_ok()


@pytest.mark.parametrize("cls", [nn.MaxPool1D, nn.AvgPool1D])
@pytest.mark.parametrize("k,s,T", [(2, None, 9), (3, 2, 10), (4, 1, 7)])
def test_pool1d_gradcheck(cls, k, s, T):
    check_layer(cls(k, s), np.random.default_rng(1).standard_normal((2, 3, T)),
                threshold=POOL_THRESHOLD).assert_ok()


@pytest.mark.parametrize("layer,shape", [(nn.GlobalMaxPool(), (2, 3, 7)), (nn.GlobalAvgPool(), (2, 3, 7)),
                                         (nn.GlobalMaxPool(), (2, 3, 4, 7)), (nn.GlobalAvgPool(), (2, 3, 4, 7)),
                                         (nn.GlobalMaxPool(axis=(-2, -1)), (2, 3, 4, 7)),
                                         (nn.GlobalAvgPool(axis=(2, 3)), (2, 3, 4, 7)), (nn.Flatten(), (2, 3, 4, 5))])
def test_global_pool_and_flatten_gradcheck(layer, shape):
    check_layer(layer, np.random.default_rng(2).standard_normal(shape), threshold=POOL_THRESHOLD).assert_ok()


def test_global_pool_gives_fixed_size_for_any_length():
    for T in (5, 50, 173):
        x = np.random.default_rng(T).standard_normal((2, 4, T))
        assert nn.GlobalMaxPool().forward(x).shape == (2, 4)
        np.testing.assert_allclose(nn.GlobalMaxPool().forward(x), x.max(axis=-1))
        np.testing.assert_allclose(nn.GlobalAvgPool().forward(x), x.mean(axis=-1))


@pytest.mark.parametrize("k,s", [((2, 2), None), ((3, 3), (2, 2)), ((2, 3), (1, 1)), ((3, 2), (3, 1))])
def test_maxpool_naive_equals_fast_including_ties(k, s):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 9, 8))
    x[:, 0] = np.maximum(x[:, 0], 0)  # ReLU-like zeros: ties go to the first maximum in both
    x[1, 2] = 1.0
    assert_maxpool_naive_equals_fast(x, k, s, rng)


def test_maxpool_example_of_the_lecture():
    # cs231n's 4x4 example in the lecture: 2x2 pools, stride 2
    x = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=float)
    np.testing.assert_array_equal(nn.MaxPool2D(2).forward(x[None, None])[0, 0], [[6, 8], [3, 4]])


def test_avgpool_matches_mean():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 8))
    expected = x.reshape(2, 3, 3, 2, 4, 2).mean(axis=(3, 5))
    np.testing.assert_allclose(nn.AvgPool2D(2).forward(x), expected, atol=1e-14)


# -- batch norm ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 6), (3, 3, 4, 5)])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradcheck(shape, training):
    rng = np.random.default_rng(0)
    bn = nn.BatchNorm(3, dtype=np.float64)
    bn.params["gamma"].value[:] = rng.uniform(0.5, 2, 3)
    bn.params["beta"].value[:] = rng.standard_normal(3)
    bn.params["running_mean"].value[:] = rng.standard_normal(3)
    bn.params["running_var"].value[:] = rng.uniform(0.5, 2, 3)
    bn.train() if training else bn.eval()
    x = rng.standard_normal(shape) * 2 + 1
    check_layer(bn, x).assert_ok()


def test_batchnorm_training_normalises_and_updates_running_stats():
    x = np.random.default_rng(0).standard_normal((16, 2, 10)) * 3 + 5
    bn = nn.BatchNorm(2, momentum=0.9, dtype=np.float64)
    y = bn.forward(x)
    np.testing.assert_allclose(y.mean(axis=(0, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2)), x.var(axis=(0, 2)) / (x.var(axis=(0, 2)) + 1e-3), rtol=1e-10)
    np.testing.assert_allclose(bn.params["running_mean"].value, 0.1 * x.mean(axis=(0, 2)), rtol=1e-12)
    bn.eval()
    before = bn.params["running_mean"].value.copy()
    bn.forward(x)
    np.testing.assert_array_equal(bn.params["running_mean"].value, before)


# -- composition and errors -------------------------------------------------------------------------
def test_small_cnn_composes_with_mirkit_and_gradchecks():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Conv2D(1, 3, 3, padding="same", rng=1), nn.ReLU(), nn.MaxPool2D(2),
                          nn.BatchNorm(3), nn.Conv2D(3, 2, (4, 1), rng=2),
                          nn.GlobalMaxPool(), nn.Flatten(), nn.Dense(2, 3, rng=3))
    x = rng.standard_normal((4, 1, 8, 7))
    y = rng.integers(0, 3, 4)
    nn.check_model(model, nn.SoftmaxCrossEntropy(), x, y, n_samples=10).assert_ok()


def test_conv1d_over_time_composes_with_dense():
    model = nn.Sequential(nn.Conv1D(5, 4, 3, padding="same", rng=0), nn.ReLU(), nn.MaxPool1D(2),
                          nn.Conv1D(4, 4, 3, dilation=2, rng=1), nn.GlobalAvgPool(), nn.Dense(4, 2, rng=2))
    x = np.random.default_rng(0).standard_normal((3, 5, 16))
    nn.check_model(model, nn.SoftmaxCrossEntropy(), x, np.array([0, 1, 1]), n_samples=10).assert_ok()


@pytest.mark.parametrize("layer,x,match", [
    (nn.Conv2D(3, 4, 3), np.zeros((2, 3, 8)), r"Conv2D: expected input of shape \(N, 3, H, W\).*got shape \(2, 3, 8\)"),
    (nn.Conv2D(3, 4, 3), np.zeros((2, 8, 8, 3)), r"Conv2D: expected input of shape \(N, 3, H, W\) \(channels first\)"),
    (nn.Conv1D(40, 4, 3), np.zeros((2, 100, 40)), r"Conv1D: expected input of shape \(N, 40, T\).*frequency bands"),
    (nn.Conv2D(1, 4, 5), np.zeros((1, 1, 3, 8)), r"shorter than the \(dilated\) kernel 5.*padding='same'"),
    (nn.MaxPool2D(4), np.zeros((1, 1, 3, 8)), r"smaller than the pool 4x4"),
    (nn.MaxPool1D(2), np.zeros((2, 8)), r"MaxPool1D: expected input of shape \(N, C, T\)"),
    (nn.BatchNorm(3), np.zeros((4, 5)), r"BatchNorm: expected input of shape \(N, 3, ...\)"),
    (nn.GlobalMaxPool(axis=1), np.zeros((2, 3, 4)), r"cannot pool over the batch or channel axis"),
])
def test_clear_errors(layer, x, match):
    with pytest.raises(ValueError, match=match):
        layer.forward(x)


def test_bad_arguments():
    with pytest.raises(ValueError, match="padding must be"):
        nn.Conv2D(1, 1, 3, padding="full")
    with pytest.raises(ValueError, match="C_in=2"):
        nn.conv2d_forward_fast(np.zeros((1, 3, 5, 5)), np.zeros((4, 2, 3, 3)), np.zeros(4))
    with pytest.raises(ValueError, match=r"expected b of shape \(4,\)"):
        nn.conv2d_forward_naive(np.zeros((1, 2, 5, 5)), np.zeros((4, 2, 3, 3)), np.zeros(3))
