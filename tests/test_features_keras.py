"""Keras twins of the descriptor networks: equal to mirkit and librosa, trainable or frozen (lesson 06).

Relative error max|a - b| / max|b| per example: <= 1e-5 (float32), <= 1e-8 (float64).
"""
import os
import warnings

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import librosa  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mirkit import features as mf  # noqa: E402
from mirkit.features import keras_layers as kl  # noqa: E402

pytestmark = pytest.mark.xdist_group("keras")
SR = 22050
TOL = {"float32": 1e-5, "float64": 1e-8}


def rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return max(np.max(np.abs(x - y)) / (np.max(np.abs(y)) or 1.0) for x, y in zip(a, b))


def batch(length, dtype):
    rng = np.random.default_rng(length)
    t = np.arange(length) / SR
    tone = sum(np.sin(2 * np.pi * 196.0 * k * t) / k for k in range(1, 7))
    bursts = np.where((t % 0.25) < 0.03, rng.standard_normal(length), 0.0)
    return np.stack([rng.standard_normal(length), tone, bursts]).astype(dtype)


def librosa_ref(name, Y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = {"mfcc": lambda y: librosa.feature.mfcc(y=y, sr=SR, **kw),
             "chroma": lambda y: librosa.feature.chroma_stft(y=y, sr=SR, tuning=0.0, **kw),
             "onset": lambda y: librosa.onset.onset_strength(y=y, sr=SR, **kw),
             "logmel": lambda y: librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=SR, **kw)),
             "mel": lambda y: librosa.feature.melspectrogram(y=y, sr=SR, **kw)}[name]
        return np.stack([f(y) for y in Y])


TWINS = {"mfcc": (kl.MFCC, mf.MFCC), "chroma": (kl.Chroma, mf.Chroma),
         "onset": (kl.OnsetStrength, mf.OnsetStrength), "logmel": (kl.LogMel, mf.LogMel),
         "mel": (kl.MelSpectrogram, mf.MelSpectrogram)}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(TWINS))
def test_keras_twin_equals_mirkit_and_librosa(name, dtype):
    Y = batch(SR // 2 + 77, dtype)
    k_net, m_net = TWINS[name]
    out_k = k_net(sr=SR, dtype=None if dtype == "float32" else dtype)(Y)
    out_k = keras.ops.convert_to_numpy(out_k)
    assert out_k.dtype == np.dtype(dtype)
    ref = librosa_ref(name, Y)
    assert rel_err(out_k, ref) <= TOL[dtype]
    assert rel_err(out_k, m_net(sr=SR)(Y)) <= TOL[dtype]


@pytest.mark.parametrize("length", [1, 700, 2048])
def test_keras_twin_short_signals_and_other_parameters(length):
    Y = batch(length, "float64")
    params = dict(n_fft=1024, hop_length=256, n_mels=64)
    out = kl.MFCC(SR, n_mfcc=13, dtype="float64", **params)(Y)
    assert rel_err(out, librosa_ref("mfcc", Y, n_mfcc=13, **params)) <= TOL["float64"]
    out = kl.OnsetStrength(SR, lag=2, dtype="float64", **params)(Y)
    assert rel_err(out, librosa_ref("onset", Y, lag=2, **params)) <= TOL["float64"]
    out = kl.Chroma(SR, n_fft=1024, hop_length=256, dtype="float64")(Y)
    assert rel_err(out, librosa_ref("chroma", Y, n_fft=1024, hop_length=256)) <= TOL["float64"]


def test_keras_twin_frozen_by_default_and_trainable():
    frozen, trainable = kl.MFCC(SR, n_fft=256, hop_length=128, n_mels=16, n_mfcc=8), \
        kl.MFCC(SR, n_fft=256, hop_length=128, n_mels=16, n_mfcc=8, trainable=True)
    x = batch(1000, "float32")
    frozen(x), trainable(x)
    assert len(frozen.trainable_weights) == 0 and len(frozen.weights) == 4
    assert sorted(w.name for w in trainable.trainable_weights) == ["W", "W", "W_im", "W_re"]


def _classifier(front):
    return keras.Sequential([front, keras.layers.GlobalAveragePooling1D(data_format="channels_first"),
                             keras.layers.Dense(2)])


def test_keras_twin_trains_end_to_end_and_frozen_stays_put():
    rng = np.random.default_rng(0)
    n, sr = 32, 8000
    t = np.arange(1024) / sr
    labels = rng.integers(0, 2, n)
    f0 = np.where(labels == 0, 300.0, 1200.0) * rng.uniform(0.9, 1.1, n)
    X = (np.sin(2 * np.pi * f0[:, None] * t) + 0.3 * rng.standard_normal((n, t.size))).astype("float32")
    keras.utils.set_random_seed(0)
    results = {}
    for trainable in (False, True):
        front = kl.MFCC(sr, n_fft=128, hop_length=64, n_mels=16, n_mfcc=8, trainable=trainable)
        model = _classifier(front)
        model.compile(optimizer=keras.optimizers.Adam(1e-2),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model(X[:2])
        mel_before = keras.ops.convert_to_numpy(front.layers[3].W).copy()
        hist = model.fit(X, labels, epochs=4, batch_size=16, verbose=0, shuffle=False)
        mel_after = keras.ops.convert_to_numpy(front.layers[3].W)
        results[trainable] = (hist.history["loss"], np.abs(mel_after - mel_before).max())
    assert results[False][1] == 0.0                       # frozen front end: weights unchanged
    assert results[True][1] > 0.0                         # trained front end: the mel bank moved
    assert results[True][0][-1] < results[True][0][0]     # and the loss went down


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="uses tf.GradientTape")
def test_keras_gradients_equal_mirkit_backward():
    """dL/dW of every linear stage, Keras (autodiff) vs mirkit (hand-written backward)."""
    import tensorflow as tf

    Y = batch(3000, "float64")
    kw = dict(n_fft=256, hop_length=64, n_mels=20, n_mfcc=6)
    k_net, m_net = kl.MFCC(SR, dtype="float64", trainable=True, **kw), mf.MFCC(SR, trainable=True, **kw)
    dout = np.random.default_rng(1).standard_normal(m_net(Y).shape)
    m_net.backward(dout)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(k_net(Y) * dout)
    grads = tape.gradient(loss, k_net.trainable_weights)
    keras_grads = {id(w): g.numpy() for w, g in zip(k_net.trainable_weights, grads)}
    pairs = [(k_net.layers[1].W_re, m_net[1].params["W_re"]), (k_net.layers[1].W_im, m_net[1].params["W_im"]),
             (k_net.layers[3].W, m_net[3].params["W"]), (k_net.layers[5].W, m_net[5].params["W"])]
    for w, p in pairs:
        np.testing.assert_allclose(keras_grads[id(w)], p.grad, rtol=1e-7,
                                   atol=1e-9 * np.abs(p.grad).max(), err_msg=w.name)
