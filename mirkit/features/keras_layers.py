"""Keras twins of the descriptor networks.

Lessons: lessons/06-descriptors-are-networks (the networks), lessons/09-keras (Keras).

The same stages as :mod:`mirkit.features.spectrum` and :mod:`mirkit.features.layers`, written
with ``keras.ops`` only (so they run on any Keras backend), initialised from the same matrices (:mod:`mirkit.features.filters`),
trainable or frozen, and equal to the mirkit stacks and to librosa to the same tolerances.
Layout as in mirkit and librosa (not Keras' channels-last): signals (N, L), frames
(N, n_fft, T), DFT output (N, 2, F, T), spectrograms (N, F, T), onset strength (N, T).

Two things Keras does not do for us:
* ``keras.ops.stft(center=True)`` pads by *reflection*; librosa pads with zeros. So
  :class:`Frames` pads with zeros itself and gathers the frames (``ops.take``).
* float32 precision: like librosa (and mirkit's DFT), the DFT sums run in float64 and are
  rounded back to the layer's dtype (``float64_sums=True``). The JAX backend needs
  ``jax_enable_x64`` for this; without it the sums stay float32.
The signal length must be known when the layer is built (``keras.Input(shape=(L,))``).

Stacks: :func:`MelSpectrogram`, :func:`LogMel`, :func:`MFCC`, :func:`Chroma`,
:func:`OnsetStrength` return a ``keras.Sequential`` (frozen unless ``trainable=True``).
"""
from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from . import filters  # noqa: E402


class Frames(keras.layers.Layer):
    """(N, L) -> (N, n_fft, T): zero padding of n_fft//2 each side (center=True), then
    frames[:, m, t] = x_pad[:, t hop + m], gathered with one index matrix (no loop)."""

    def __init__(self, n_fft=2048, hop_length=512, center=True, **kwargs):
        super().__init__(**kwargs)
        self.n_fft, self.hop_length, self.center = int(n_fft), int(hop_length), bool(center)

    def call(self, x):
        length = x.shape[-1]
        if length is None:
            raise ValueError("Frames: the signal length must be static; build the model with "
                             "keras.Input(shape=(L,))")
        pad = self.n_fft // 2 if self.center else 0
        if length + 2 * pad < self.n_fft:
            raise ValueError(f"Frames: {length} samples is shorter than n_fft={self.n_fft}")
        xp = ops.pad(x, [[0, 0]] * (len(x.shape) - 1) + [[pad, pad]])
        n_frames = 1 + (length + 2 * pad - self.n_fft) // self.hop_length
        index = np.arange(self.n_fft)[:, None] + self.hop_length * np.arange(n_frames)[None, :]
        return ops.take(xp, index, axis=-1)

    def get_config(self):
        return {**super().get_config(), "n_fft": self.n_fft, "hop_length": self.hop_length,
                "center": self.center}


class DFT(keras.layers.Layer):
    """(N, n_fft, T) -> (N, 2, F, T): Re X = W_re @ frames, Im X = W_im @ frames, window folded
    into the weights (see mirkit.features.spectrum.DFT). Weights "W_re", "W_im" (F, n_fft)."""

    def __init__(self, n_fft=2048, window="hann", float64_sums=True, **kwargs):
        super().__init__(**kwargs)
        self.n_fft, self.window, self.float64_sums = int(n_fft), window, bool(float64_sums)

    def build(self, input_shape):
        W_re, W_im = filters.dft_matrices(self.n_fft, self.window)
        dtype = "float64" if self.float64_sums else self.variable_dtype
        self.W_re = self.add_weight(shape=W_re.shape, initializer=keras.initializers.Constant(W_re),
                                    dtype=dtype, autocast=False, name="W_re")
        self.W_im = self.add_weight(shape=W_im.shape, initializer=keras.initializers.Constant(W_im),
                                    dtype=dtype, autocast=False, name="W_im")

    def call(self, frames):
        x = ops.cast(frames, self.W_re.dtype)
        re = ops.einsum("km,...mt->...kt", self.W_re, x)
        im = ops.einsum("km,...mt->...kt", self.W_im, x)
        return ops.cast(ops.stack([re, im], axis=-3), self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "n_fft": self.n_fft, "window": self.window,
                "float64_sums": self.float64_sums}


class Power(keras.layers.Layer):
    """(N, 2, F, T) -> (N, F, T): Re^2 + Im^2."""

    def call(self, x):
        re, im = x[..., 0, :, :], x[..., 1, :, :]
        return re * re + im * im


class Magnitude(keras.layers.Layer):
    """(N, 2, F, T) -> (N, F, T): sqrt(Re^2 + Im^2)."""

    def call(self, x):
        return ops.sqrt(x[..., 0, :, :] ** 2 + x[..., 1, :, :] ** 2)


class FrameMatrix(keras.layers.Layer):
    """(N, D, T) -> (N, K, T): y[:, :, t] = W @ x[:, :, t], weight "W" (K, D) from a matrix."""

    def __init__(self, matrix, **kwargs):
        super().__init__(**kwargs)
        self.matrix = np.asarray(matrix, dtype=np.float64)

    def build(self, input_shape):
        self.W = self.add_weight(shape=self.matrix.shape, name="W",
                                 initializer=keras.initializers.Constant(self.matrix))

    def call(self, x):
        return ops.einsum("kd,...dt->...kt", self.W, x)


def MelFilterbank(sr=22050, n_fft=2048, n_mels=128, fmin=0.0, fmax=None, htk=False,
                  norm="slaney", **kwargs):
    """The mel filterbank as a FrameMatrix (weights of mirkit.features.filters.mel_filterbank)."""
    return FrameMatrix(filters.mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk, norm),
                       name=kwargs.pop("name", "mel_filterbank"), **kwargs)


def ChromaFilterbank(sr=22050, n_fft=2048, n_chroma=12, tuning=0.0, **kwargs):
    """The chroma filterbank as a FrameMatrix (tuning given, not estimated)."""
    return FrameMatrix(filters.chroma_filterbank(sr, n_fft, n_chroma, tuning),
                       name=kwargs.pop("name", "chroma_filterbank"), **kwargs)


def DCT(n_mels=128, n_mfcc=20, **kwargs):
    """The orthonormal DCT-II (first n_mfcc rows) as a FrameMatrix."""
    return FrameMatrix(filters.dct_matrix(n_mfcc, n_mels), name=kwargs.pop("name", "dct"), **kwargs)


class PowerToDb(keras.layers.Layer):
    """(N, F, T) -> (N, F, T): 10 log10(max(amin, x)) - 10 log10(max(amin, ref)), then
    max(y, max(y) - top_db) with the max per example (over F and T). ref: a float or "max"."""

    def __init__(self, ref=1.0, amin=1e-10, top_db=80.0, **kwargs):
        super().__init__(**kwargs)
        self.ref, self.amin, self.top_db = ref, float(amin), top_db

    def call(self, x):
        y = 10.0 * ops.log10(ops.maximum(x, self.amin))
        if self.ref == "max":
            ref = ops.max(x, axis=(-2, -1), keepdims=True)
        else:
            ref = ops.convert_to_tensor(abs(float(self.ref)), dtype=x.dtype)
        y = y - 10.0 * ops.log10(ops.maximum(ref, self.amin))
        if self.top_db is not None:
            y = ops.maximum(y, ops.max(y, axis=(-2, -1), keepdims=True) - self.top_db)
        return y

    def get_config(self):
        return {**super().get_config(), "ref": self.ref, "amin": self.amin, "top_db": self.top_db}


class FrameNorm(keras.layers.Layer):
    """(N, C, T) -> (N, C, T): each frame divided by its max |x| (left alone if below tiny)."""

    def call(self, x):
        m = ops.max(ops.abs(x), axis=-2, keepdims=True)
        tiny = float(np.finfo(keras.backend.standardize_dtype(x.dtype)).tiny)
        return x / ops.where(m < tiny, ops.ones_like(m), m)


class Diff(keras.layers.Layer):
    """(N, F, T) -> (N, F, T): x[..., t] - x[..., t - lag], 0 for the first lag frames."""

    def __init__(self, lag=1, **kwargs):
        super().__init__(**kwargs)
        self.lag = int(lag)

    def call(self, x):
        x_late = x[..., self.lag:]
        d = x_late - x[..., :-self.lag] if x.shape[-1] > self.lag else x_late
        return ops.pad(d, [[0, 0]] * (len(x.shape) - 1) + [[x.shape[-1] - d.shape[-1], 0]])

    def get_config(self):
        return {**super().get_config(), "lag": self.lag}


class BandMean(keras.layers.Layer):
    """(N, F, T) -> (N, T): mean over frequency."""

    def call(self, x):
        return ops.mean(x, axis=-2)


class OnsetAlign(keras.layers.Layer):
    """(N, T) -> (N, T): prepend n_fft // (2 hop) zeros (center=True) and keep T values (librosa)."""

    def __init__(self, n_fft=2048, hop_length=512, center=True, **kwargs):
        super().__init__(**kwargs)
        self.n_fft, self.hop_length, self.center = int(n_fft), int(hop_length), bool(center)
        self.shift = self.n_fft // (2 * self.hop_length) if center else 0

    def call(self, x):
        y = ops.pad(x, [[0, 0]] * (len(x.shape) - 1) + [[self.shift, 0]])
        return y[..., :x.shape[-1]]

    def get_config(self):
        return {**super().get_config(), "n_fft": self.n_fft, "hop_length": self.hop_length,
                "center": self.center}


# -- the stacks -------------------------------------------------------------------------------
def _sequential(layers, name, trainable, dtype):
    model = keras.Sequential(layers, name=name)
    model.trainable = trainable   # the setter freezes every sub-layer (the constructor does not)
    if dtype is not None:  # else Keras casts the float64 input to the model's default float32
        model.dtype_policy = keras.dtype_policies.get(dtype)
    return model


# dtype: None (Keras' float32 policy) or "float64"; it is given to every layer.
def _front(n_fft, hop_length, power, float64_sums, kw):
    modulus = Power(**kw) if power == 2 else Magnitude(**kw)
    return [Frames(n_fft, hop_length, **kw), DFT(n_fft, float64_sums=float64_sums, **kw), modulus]


def MelSpectrogram(sr=22050, n_fft=2048, hop_length=512, n_mels=128, fmin=0.0, fmax=None,
                   htk=False, power=2.0, trainable=False, float64_sums=True, dtype=None,
                   _extra=(), name="mel_spectrogram"):
    """Keras twin of mirkit.features.MelSpectrogram: (N, L) -> (N, n_mels, T)."""
    kw = {} if dtype is None else {"dtype": dtype}
    layers = _front(n_fft, hop_length, power, float64_sums, kw) + [
        MelFilterbank(sr, n_fft, n_mels, fmin, fmax, htk, **kw)] + [f(kw) for f in _extra]
    return _sequential(layers, name, trainable, dtype)


def LogMel(sr=22050, n_fft=2048, hop_length=512, n_mels=128, fmin=0.0, fmax=None, htk=False,
           ref=1.0, amin=1e-10, top_db=80.0, trainable=False, float64_sums=True, dtype=None,
           _extra=(), name="log_mel"):
    """Keras twin of mirkit.features.LogMel: (N, L) -> (N, n_mels, T) in dB."""
    return MelSpectrogram(sr, n_fft, hop_length, n_mels, fmin, fmax, htk, 2.0, trainable,
                          float64_sums, dtype,
                          (lambda kw: PowerToDb(ref, amin, top_db, **kw), *_extra), name)


def MFCC(sr=22050, n_mfcc=20, n_fft=2048, hop_length=512, n_mels=128, fmin=0.0, fmax=None,
         htk=False, top_db=80.0, trainable=False, float64_sums=True, dtype=None, name="mfcc"):
    """Keras twin of mirkit.features.MFCC: (N, L) -> (N, n_mfcc, T)."""
    return LogMel(sr, n_fft, hop_length, n_mels, fmin, fmax, htk, top_db=top_db,
                  trainable=trainable, float64_sums=float64_sums, dtype=dtype,
                  _extra=(lambda kw: DCT(n_mels, n_mfcc, **kw),), name=name)


def Chroma(sr=22050, n_fft=2048, hop_length=512, n_chroma=12, tuning=0.0, trainable=False,
           float64_sums=True, dtype=None, name="chroma"):
    """Keras twin of mirkit.features.Chroma: (N, L) -> (N, n_chroma, T)."""
    kw = {} if dtype is None else {"dtype": dtype}
    layers = _front(n_fft, hop_length, 2, float64_sums, kw) + [
        ChromaFilterbank(sr, n_fft, n_chroma, tuning, **kw), FrameNorm(**kw)]
    return _sequential(layers, name, trainable, dtype)


def OnsetStrength(sr=22050, n_fft=2048, hop_length=512, n_mels=128, lag=1, trainable=False,
                  float64_sums=True, dtype=None, name="onset_strength"):
    """Keras twin of mirkit.features.OnsetStrength: (N, L) -> (N, T)."""
    return LogMel(sr, n_fft, hop_length, n_mels, trainable=trainable, float64_sums=float64_sums,
                  dtype=dtype, name=name,
                  _extra=(lambda kw: Diff(lag, **kw), lambda kw: keras.layers.ReLU(**kw),
                          lambda kw: BandMean(**kw), lambda kw: OnsetAlign(n_fft, hop_length, **kw)))
