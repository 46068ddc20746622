"""The stages after the spectrum, as layers (lessons/06-descriptors-are-networks).

The lecture's point ("Analogie descripteurs classiques / architectures profondes"): MFCC is a
network applied frame by frame -- framing and window, DFT (linear), modulus (pointwise
non-linearity) -- those three in :mod:`mirkit.features.spectrum` -- then the mel filterbank
(linear), log (pointwise non-linearity) and DCT (linear), here. Chroma is DFT -> modulus -> a
12-row linear map -> a per-frame normalisation; onset strength is a rectified (ReLU)
difference over time. Each stage is a :class:`mirkit.nn.Layer` with forward and backward, so a
descriptor can be trained end to end like any network.

Layout as in :mod:`mirkit.features.spectrum`: spectrograms (..., F, T), frequency then time.
Every linear stage is a Parameter "W" stored in float64, cast to the input's dtype in forward.
"""
from __future__ import annotations

import numpy as np

from ..nn.base import Layer
from . import filters
from .fast import per_frame_matmul
from .spectrum import DFT, Frames, Magnitude, Power, _sum_over_frames

__all__ = ["BandMean", "ChromaFilterbank", "DCT", "DFT", "Diff", "FrameMatrix", "FrameNorm",
           "Frames", "Magnitude", "MelFilterbank", "OnsetAlign", "Power", "PowerToDb"]


class FrameMatrix(Layer):
    """A fixed-size linear map applied to every frame (column): y[..., :, t] = W @ x[..., :, t].

    (..., D, T) -> (..., K, T), W of shape (K, D): a Dense layer without bias, shared over time
    (a 1x1 convolution over time). Base class of MelFilterbank, ChromaFilterbank and DCT.
    backward: dL/dx = W^T dL/dy,  dL/dW = sum over batch and time of dL/dy x^T.

    Lesson: lessons/06-descriptors-are-networks.
    """

    def __init__(self, W, trainable: bool = True):
        super().__init__()
        W = np.asarray(W, dtype=np.float64)
        if W.ndim != 2:
            raise ValueError(f"{type(self).__name__}: W must be a matrix, got shape {W.shape}")
        self.add_param("W", W, trainable)

    @property
    def W(self):
        return self.params["W"].value

    def forward(self, x):
        x = self.check_input(x)
        K, D = self.W.shape
        if x.ndim < 2 or x.shape[-2] != D:
            raise ValueError(f"{type(self).__name__}: expected input of shape (..., {D}, T), got "
                             f"{x.shape} (check n_fft / n_mels of the previous stage)")
        self.cache = x
        return per_frame_matmul(self.W.astype(x.dtype, copy=False), x)  # = W @ x

    def backward(self, dout):
        self.set_grad("W", _sum_over_frames(dout, self.cache))
        return self.W.T.astype(dout.dtype, copy=False) @ dout

    def __repr__(self):
        K, D = self.W.shape
        frozen = "" if self.params["W"].trainable else ", frozen"
        return f"{type(self).__name__}(W{(K, D)}{frozen})"


class MelFilterbank(FrameMatrix):
    """Mel filterbank: mel power = M @ power spectrum, (..., F, T) -> (..., n_mels, T).

    M from :func:`mirkit.features.filters.mel_filterbank` (triangles equally spaced in mel;
    Slaney or HTK mel scale; "slaney" area norm or None). Parameter "W" (n_mels, F).
    Equal to ``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, ...)``.

    Lesson: lessons/06-descriptors-are-networks.
    """

    def __init__(self, sr: float = 22050, n_fft: int = 2048, n_mels: int = 128, fmin: float = 0.0,
                 fmax: float | None = None, htk: bool = False, norm: str | None = "slaney",
                 trainable: bool = True):
        super().__init__(filters.mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk, norm), trainable)


class ChromaFilterbank(FrameMatrix):
    """Chroma filterbank: chroma = C @ power spectrum, (..., F, T) -> (..., n_chroma, T).

    The lecture's C(lambda, t) = sum_k W[lambda, k] |S(f_k, t)|^2: row lambda (a pitch class)
    has its non-zero weights on the bins of that class in every octave. C from
    :func:`mirkit.features.filters.chroma_filterbank`. ``tuning`` (fractions of a bin) is given,
    not estimated: tuning estimation is outside the network. Parameter "W" (n_chroma, F).

    Lesson: lessons/06-descriptors-are-networks.
    """

    def __init__(self, sr: float = 22050, n_fft: int = 2048, n_chroma: int = 12,
                 tuning: float = 0.0, trainable: bool = True):
        super().__init__(filters.chroma_filterbank(sr, n_fft, n_chroma, tuning), trainable)


class DCT(FrameMatrix):
    """Orthonormal DCT-II, keeping n_mfcc coefficients: (..., n_mels, T) -> (..., n_mfcc, T).

    D from :func:`mirkit.features.filters.dct_matrix`; y = D @ x equals
    ``scipy.fft.dct(x, type=2, norm='ortho', axis=-2)[..., :n_mfcc, :]``, the last step of
    librosa.feature.mfcc. Parameter "W" (n_mfcc, n_mels).

    Lesson: lessons/06-descriptors-are-networks.
    """

    def __init__(self, n_mels: int = 128, n_mfcc: int = 20, trainable: bool = True):
        super().__init__(filters.dct_matrix(n_mfcc, n_mels), trainable)


class PowerToDb(Layer):
    """Log compression in decibels, with a floor: a pointwise non-linearity (almost).

    (..., F, T) -> (..., F, T). forward, as ``librosa.power_to_db``:
        y = 10 log10(max(amin, x)) - 10 log10(max(amin, ref)),
        then, if top_db is not None, y = max(y, max(y) - top_db).
    The max is taken **per example**, over the last two axes (F, T): equal to calling
    librosa.power_to_db on each spectrogram of a batch. ref: a float, or "max" for the
    per-example maximum of x (librosa's ref=np.max).
    backward: dy/dx = 10 / (ln(10) x) where x > amin, 0 below the floor amin. Piecewise: the
    top_db clip sends the gradient of clipped entries to the example's maximum (through
    max(y)), and ref="max" likewise. Check gradients away from the kinks.

    Lesson: lessons/06-descriptors-are-networks.
    """

    def __init__(self, ref=1.0, amin: float = 1e-10, top_db: float | None = 80.0):
        super().__init__()
        if amin <= 0:
            raise ValueError(f"PowerToDb: amin must be > 0, got {amin}")
        if top_db is not None and top_db < 0:
            raise ValueError(f"PowerToDb: top_db must be >= 0 or None, got {top_db}")
        if not (ref == "max" or np.isscalar(ref)):
            raise ValueError(f"PowerToDb: ref must be a number or 'max', got {ref!r}")
        self.ref, self.amin, self.top_db = ref, float(amin), top_db

    @staticmethod
    def _argmax_mask(v):
        """One-hot (..., F, T) mask of the first maximum of each example."""
        flat = v.reshape(v.shape[:-2] + (-1,))
        mask = np.zeros_like(flat, dtype=bool)
        np.put_along_axis(mask, np.argmax(flat, axis=-1)[..., None], True, axis=-1)
        return mask.reshape(v.shape)

    def forward(self, x):
        x = self.check_input(x)
        if x.ndim < 2:
            raise ValueError(f"PowerToDb: expected (..., F, T), got {x.shape}")
        # the same formula in place on one output array: no (F, T) temporaries
        y = np.maximum(x, self.amin)
        np.log10(y, out=y)
        y *= 10.0
        if self.ref == "max":
            ref = np.max(x, axis=(-2, -1), keepdims=True)
        else:
            ref = np.abs(self.ref)
        y -= 10.0 * np.log10(np.maximum(self.amin, ref))
        clipped = None
        if self.top_db is not None:
            floor = y.max(axis=(-2, -1), keepdims=True) - self.top_db
            clipped = y < floor
            np.maximum(y, floor, out=y)
        self.cache = x, y, clipped
        return y

    def backward(self, dout):
        x, y, clipped = self.cache
        g = np.array(dout, dtype=np.result_type(dout, x), copy=True)     # dL/d(y before the clip)
        if clipped is not None:
            moved = np.sum(np.where(clipped, g, 0), axis=(-2, -1), keepdims=True)
            g = np.where(clipped, 0, g) + moved * self._argmax_mask(y)
        slope = np.where(x > self.amin, 10.0 / (np.log(10.0) * np.maximum(x, self.amin)), 0.0)
        dx = g * slope
        if self.ref == "max":
            m = np.max(x, axis=(-2, -1), keepdims=True)
            ref_slope = np.where(m > self.amin, 10.0 / (np.log(10.0) * np.maximum(m, self.amin)), 0.0)
            dx -= np.sum(g, axis=(-2, -1), keepdims=True) * ref_slope * self._argmax_mask(x)
        return dx.astype(dout.dtype, copy=False)


class FrameNorm(Layer):
    """Divide each frame by its largest magnitude (max norm): (..., C, T) -> (..., C, T).

    forward, as ``librosa.util.normalize(x, norm=np.inf, axis=-2)`` (chroma_stft's last step):
        y[:, t] = x[:, t] / m_t,  m_t = max_c |x[c, t]|;  frames with m_t < tiny (the smallest
        positive normal number of the dtype, e.g. silence) are left unchanged.
    backward: with a = argmax_c |x[c, t]|,
        dL/dx[c, t] = dL/dy[c, t] / m_t - [c == a] sign(x[a, t]) sum_c' dL/dy[c', t] x[c', t] / m_t^2.
    No parameters.

    Lesson: lessons/06-descriptors-are-networks.
    """

    def forward(self, x):
        x = self.check_input(x)
        if x.ndim < 2:
            raise ValueError(f"FrameNorm: expected (..., C, T), got {x.shape}")
        m = np.max(np.abs(x), axis=-2, keepdims=True)
        small = m < np.finfo(x.dtype).tiny
        m = np.where(small, 1.0, m).astype(x.dtype)
        self.cache = x, m, small
        return x / m

    def backward(self, dout):
        x, m, small = self.cache
        a = np.argmax(np.abs(x), axis=-2)[..., None, :]
        onehot = np.zeros(x.shape, dtype=bool)
        np.put_along_axis(onehot, a, True, axis=-2)
        through_max = np.sum(dout * x, axis=-2, keepdims=True) / m ** 2
        dx = dout / m - np.where(onehot & ~small, np.sign(x) * through_max, 0)
        return dx.astype(dout.dtype, copy=False)


class Diff(Layer):
    """Difference over time with a lag: (..., F, T) -> (..., F, T).

    forward:  y[..., t] = x[..., t] - x[..., t - lag] for t >= lag, and 0 for the first lag
              frames (nothing to compare with): a causal convolution over time with the kernel
              [1, 0, ..., 0, -1], the "derivative" filter of onset detection.
    backward: dL/dx[t] = dL/dy[t] - dL/dy[t + lag] (each term where it exists). No parameters.

    Lesson: lessons/06-descriptors-are-networks.
    """

    def __init__(self, lag: int = 1):
        super().__init__()
        self.lag = filters._positive_int(lag, "lag")

    def forward(self, x):
        x = self.check_input(x)
        if x.ndim < 1:
            raise ValueError("Diff: expected (..., T)")
        self.cache = x.shape
        y = np.empty_like(x)
        y[..., :self.lag] = 0
        np.subtract(x[..., self.lag:], x[..., :-self.lag], out=y[..., self.lag:])
        return y

    def backward(self, dout):
        dx = np.zeros(self.cache, dtype=dout.dtype)
        dx[..., self.lag:] += dout[..., self.lag:]
        dx[..., :-self.lag] -= dout[..., self.lag:]
        return dx


class BandMean(Layer):
    """Average over frequency bands: (..., F, T) -> (..., T).

    Lesson: lessons/06-descriptors-are-networks.

    forward: y[t] = (1/F) sum_f x[f, t] (librosa.onset's aggregate=np.mean).
    backward: dL/dx[f, t] = dL/dy[t] / F. No parameters.
    """

    def forward(self, x):
        x = self.check_input(x)
        if x.ndim < 2:
            raise ValueError(f"BandMean: expected (..., F, T), got {x.shape}")
        self.cache = x.shape
        return np.mean(x, axis=-2)

    def backward(self, dout):
        F = self.cache[-2]
        return np.broadcast_to(np.expand_dims(dout, -2) / F, self.cache).copy()


class OnsetAlign(Layer):
    """Delay the onset envelope to undo the framing delay: (..., T) -> (..., T).

    forward, as librosa.onset.onset_strength: with center=True, prepend
    p = n_fft // (2 hop_length) zeros and keep the first T values (librosa's comment:
    "counter-act framing effects"); with center=False, nothing to do (p = 0).
    backward: dL/dx[t] = dL/dy[t + p] (0 for the values shifted out). No parameters.

    Lesson: lessons/06-descriptors-are-networks.
    """

    def __init__(self, n_fft: int = 2048, hop_length: int = 512, center: bool = True):
        super().__init__()
        self.shift = n_fft // (2 * hop_length) if center else 0

    def forward(self, x):
        x = self.check_input(x)
        if x.ndim < 1:
            raise ValueError("OnsetAlign: expected (..., T)")
        y = np.zeros_like(x)
        y[..., self.shift:] = x[..., :max(0, x.shape[-1] - self.shift)]
        return y

    def backward(self, dout):
        dx = np.zeros_like(dout)
        dx[..., :max(0, dout.shape[-1] - self.shift)] = dout[..., self.shift:]
        return dx
