"""mirkit's convolution, pooling and batch norm against Keras 3 (TensorFlow backend), float32.

Keras is channels last: inputs (N, H, W, C) and (N, T, C), kernels (kh, kw, C_in, C_out) and
(k, C_in, C_out); mirkit is channels first with kernels (C_out, C_in, kh, kw). We transpose.
"""
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
keras = pytest.importorskip("keras")

import mirkit.nn as nn  # noqa: E402

pytestmark = pytest.mark.xdist_group("keras_conv")  # one process pays Keras' import time
ATOL = 1e-5


def _keras_out(layer, x_last, training=False):
    return np.asarray(keras.ops.convert_to_numpy(layer(x_last, training=training)))


@pytest.mark.parametrize("k,s,pad,d", [(3, 1, "valid", 1), (3, 1, "same", 1), ((3, 2), (2, 1), "same", 1),
                                       (4, 2, "same", 1), ((2, 3), 3, "valid", 1), (3, 1, "same", 2),
                                       ((3, 2), 1, "valid", (2, 1))])
def test_conv2d_matches_keras(k, s, pad, d):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 11, 10)).astype(np.float32)
    ours = nn.Conv2D(3, 5, k, stride=s, padding=pad, dilation=d, rng=1, dtype=np.float32)
    ours.params["b"].value[:] = rng.standard_normal(5)
    ref = keras.layers.Conv2D(5, k, strides=s, padding=pad, dilation_rate=d)
    ref.build((None, 11, 10, 3))
    ref.set_weights([ours.params["W"].value.transpose(2, 3, 1, 0), ours.params["b"].value])
    expected = _keras_out(ref, x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    y = ours.forward(x)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=0, atol=ATOL)


@pytest.mark.parametrize("k,s,pad,d", [(3, 1, "valid", 1), (3, 1, "same", 1), (3, 1, "valid", 2),
                                       (3, 1, "same", 4), (4, 2, "same", 1), (2, 3, "valid", 1)])
def test_conv1d_matches_keras(k, s, pad, d):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 23)).astype(np.float32)  # e.g. 6 mel bands as channels, 23 frames
    ours = nn.Conv1D(6, 4, k, stride=s, padding=pad, dilation=d, rng=2, dtype=np.float32)
    ours.params["b"].value[:] = rng.standard_normal(4)
    ref = keras.layers.Conv1D(4, k, strides=s, padding=pad, dilation_rate=d)
    ref.build((None, 23, 6))
    ref.set_weights([ours.params["W"].value.transpose(2, 1, 0), ours.params["b"].value])
    expected = _keras_out(ref, x.transpose(0, 2, 1)).transpose(0, 2, 1)
    np.testing.assert_allclose(ours.forward(x), expected, rtol=0, atol=ATOL)


@pytest.mark.parametrize("ours_cls,ref_cls", [(nn.MaxPool2D, keras.layers.MaxPooling2D),
                                              (nn.AvgPool2D, keras.layers.AveragePooling2D)])
@pytest.mark.parametrize("k,s", [(2, None), (3, 2), ((2, 3), (1, 2))])
def test_pool2d_matches_keras(ours_cls, ref_cls, k, s):
    x = np.random.default_rng(2).standard_normal((2, 3, 9, 10)).astype(np.float32)
    expected = _keras_out(ref_cls(k, strides=s), x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(ours_cls(k, s).forward(x), expected, rtol=0, atol=ATOL)


def test_maxpool2d_gradient_matches_tensorflow():
    import tensorflow as tf
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    layer = nn.MaxPool2D(2)
    dy = rng.standard_normal(layer.forward(x).shape).astype(np.float32)
    xt = tf.constant(x.transpose(0, 2, 3, 1))
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_sum(keras.layers.MaxPooling2D(2)(xt) * dy.transpose(0, 2, 3, 1))
    expected = tape.gradient(loss, xt).numpy().transpose(0, 3, 1, 2)
    np.testing.assert_allclose(layer.backward(dy), expected, rtol=0, atol=ATOL)


@pytest.mark.parametrize("shape", [(6, 3, 5, 4), (8, 3)])
def test_batchnorm_matches_keras_training_and_inference(shape):
    rng = np.random.default_rng(4)
    C = shape[1]
    ours = nn.BatchNorm(C, dtype=np.float32)
    ref = keras.layers.BatchNormalization(axis=1)  # channels on axis 1, like ours
    ref.build(shape)
    gamma, beta = rng.uniform(0.5, 2, C).astype(np.float32), rng.standard_normal(C).astype(np.float32)
    ours.params["gamma"].value[:], ours.params["beta"].value[:] = gamma, beta
    ref.set_weights([gamma, beta, np.zeros(C, np.float32), np.ones(C, np.float32)])
    for step in range(3):  # training: batch statistics, and running statistics updated alike
        x = (rng.standard_normal(shape) * 3 + 2).astype(np.float32)
        np.testing.assert_allclose(ours.train().forward(x), _keras_out(ref, x, training=True),
                                   rtol=0, atol=ATOL, err_msg=f"training step {step}")
    mean_ref, var_ref = [np.asarray(w) for w in ref.get_weights()[2:]]
    np.testing.assert_allclose(ours.params["running_mean"].value, mean_ref, rtol=0, atol=ATOL)
    np.testing.assert_allclose(ours.params["running_var"].value, var_ref, rtol=0, atol=ATOL)
    x = (rng.standard_normal(shape) * 3 + 2).astype(np.float32)
    np.testing.assert_allclose(ours.eval().forward(x), _keras_out(ref, x, training=False), rtol=0, atol=ATOL)


def test_global_pools_match_keras():
    x = np.random.default_rng(5).standard_normal((2, 4, 9)).astype(np.float32)
    xl = x.transpose(0, 2, 1)
    np.testing.assert_allclose(nn.GlobalMaxPool().forward(x), _keras_out(keras.layers.GlobalMaxPooling1D(), xl),
                               rtol=0, atol=ATOL)
    np.testing.assert_allclose(nn.GlobalAvgPool().forward(x), _keras_out(keras.layers.GlobalAveragePooling1D(), xl),
                               rtol=0, atol=ATOL)
