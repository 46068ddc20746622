"""The STFT front end as layers: framing, the DFT, the modulus.

The lecture's MFCC network starts with framing and window, the DFT (linear: a matrix of complex
sinusoids) and the modulus (a pointwise non-linearity); these are those three stages, each a
:class:`mirkit.nn.Layer` with forward and backward. The stages after them (mel, log, DCT,
chroma, onset) are in :mod:`mirkit.features.layers`.

Layout (librosa's): signals (..., L); frames (..., n_fft, T), one frame per column;
spectrograms (..., F, T), frequency then time; the DFT's output (..., 2, F, T), real and
imaginary parts as two channels. "..." is any batch shape: (), (N,) or (N, C). The DFT's
weights are Parameters "W_re"/"W_im" stored in float64; they are cast to the input's dtype in
forward, so float32 signals give float32 features. How the products are computed fast (memory
layout, the FFT): :mod:`mirkit.features.fast`.

Lesson: lessons/06-descriptors-are-networks.
"""
from __future__ import annotations

import numpy as np

from ..nn.base import Layer
from . import fast, filters

__all__ = ["DFT", "Frames", "Magnitude", "Power"]


def _sum_over_frames(dy, x):
    """sum over the batch and time of dy[..., k, t] x[..., d, t]: the gradient of W in y = W @ x."""
    g = dy @ np.swapaxes(x, -1, -2)                     # (..., K, D), one outer product sum per example
    return g.reshape((-1,) + g.shape[-2:]).sum(axis=0)


class Frames(Layer):
    """Cut signals into overlapping frames, one frame per column.

    Lessons: lessons/06-descriptors-are-networks (framing: lessons/00-audio-as-data).

    (..., L) -> (..., n_fft, T),  T = 1 + (L + 2 (n_fft//2) - n_fft) // hop_length.
    forward:  with center=True the signal is padded with n_fft//2 zeros on each side (what
              ``librosa.stft(center=True, pad_mode='constant')`` does, librosa's default),
              then frames[..., m, t] = x_pad[..., t hop + m]. Any length L >= 1 works.
    backward: framing is linear (a 0/1 matrix), so its gradient is the transposed matrix:
              overlap-add. dL/dx[j] = sum of dL/dframes[m, t] over all (m, t) with t hop + m = j,
              then the padding is cropped.
    No parameters. The window is not applied here: it is folded into the DFT weights.
    """

    def __init__(self, n_fft: int = 2048, hop_length: int = 512, center: bool = True):
        super().__init__()
        self.n_fft = filters._positive_int(n_fft, "n_fft")
        self.hop_length = filters._positive_int(hop_length, "hop_length")
        self.center = bool(center)

    def forward(self, x):
        x = self.check_input(x)
        if x.ndim < 1 or x.shape[-1] < 1:
            raise ValueError(f"Frames: expected signals of shape (..., L) with L >= 1, got {x.shape}")
        pad = self.n_fft // 2 if self.center else 0
        xp = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, pad)])
        if xp.shape[-1] < self.n_fft:
            raise ValueError(f"Frames: a signal of {x.shape[-1]} samples is shorter than "
                             f"n_fft={self.n_fft}: use center=True (zero padding) or a smaller n_fft")
        view = np.lib.stride_tricks.sliding_window_view(xp, self.n_fft, axis=-1)
        self.cache = x.shape
        # (..., T, n_fft) -> (..., n_fft, T), frames as columns. No copy: a read-only view into
        # the padded signal (consecutive frames share samples); DFT copies it if it needs to.
        return np.swapaxes(view[..., ::self.hop_length, :], -1, -2)

    def __repr__(self):
        return f"Frames(n_fft={self.n_fft}, hop_length={self.hop_length}, center={self.center})"

    def backward(self, dout):
        length = self.cache[-1]
        n, hop = self.n_fft, self.hop_length
        pad = n // 2 if self.center else 0
        d = np.swapaxes(dout, -1, -2)                       # (..., T, n_fft)
        lead, T = d.shape[:-2], d.shape[-2]
        r = -(-n // hop)                                    # hop-sized blocks in one frame
        d = np.pad(d, [(0, 0)] * (d.ndim - 1) + [(0, r * hop - n)]).reshape(lead + (T, r, hop))
        acc = np.zeros(lead + (T + r, hop), dtype=dout.dtype)
        for j in range(r):  # r = ceil(n_fft / hop) shifted additions, 4 by default: not a loop over frames
            acc[..., j:j + T, :] += d[..., :, j, :]
        return acc.reshape(lead + (-1,))[..., pad:pad + length]


class DFT(Layer):
    """The windowed DFT of each frame as a linear layer.

    Lesson: lessons/06-descriptors-are-networks.

    (..., n_fft, T) -> (..., 2, F, T), F = 1 + n_fft//2; channel 0 is Re X, channel 1 is Im X.
    forward:  Re X = W_re @ frames,  Im X = W_im @ frames, with the window w folded in:
              W_re[k, m] = w[m] cos(2 pi k m / N),  W_im[k, m] = -w[m] sin(2 pi k m / N)
              (see :func:`mirkit.features.filters.dft_matrices`), so that
              X[k, t] = sum_m w[m] frames[m, t] e^{-2i pi k m / N} = librosa.stft(...)[k, t].
    backward: dL/dframes = W_re^T dRe + W_im^T dIm;
              dL/dW_re = sum over batch and time of dRe frames^T (same for W_im).
    Parameters "W_re", "W_im" (F, n_fft): trainable unless ``trainable=False`` or frozen.

    float64_sums (default True): for float32 input the sums are computed in float64 and the
    result rounded to float32 -- librosa does the same (float64 window times float32 frames,
    float64 FFT, stored as complex64). Quiet bins then keep full float32 accuracy, which the
    log of LogMel/onset strength needs; False computes in float32 (less memory traffic, but
    relative errors up to ~1e-4 on the dB of tonal sounds).
    fast=True: the same numbers by the FFT (O(N log N) per frame instead of O(N^2)), forward and
    backward (:func:`mirkit.features.fast.rfft_frames`); this layer then has no parameters
    (nothing to train: it *is* the fixed DFT). Tested against the matrix version.
    """

    def __init__(self, n_fft: int = 2048, window="hann", trainable: bool = True,
                 fast: bool = False, float64_sums: bool = True):
        super().__init__()
        self.n_fft = filters._positive_int(n_fft, "n_fft")
        self.n_bins = 1 + self.n_fft // 2
        self.window = filters.window(window, self.n_fft)
        self.fast = bool(fast)
        self.float64_sums = bool(float64_sums)
        if not self.fast:
            W_re, W_im = filters.dft_matrices(self.n_fft, self.window)
            self.add_param("W_re", W_re, trainable)
            self.add_param("W_im", W_im, trainable)

    def forward(self, frames):
        x = self.check_input(frames)
        if x.ndim < 2 or x.shape[-2] != self.n_fft:
            raise ValueError(f"DFT: expected frames of shape (..., {self.n_fft}, T) (n_fft, T), "
                             f"got {x.shape}: use Frames(n_fft={self.n_fft}) before")
        dtype = np.float64 if self.float64_sums else x.dtype
        if self.fast:
            return fast.rfft_frames(x, self.window, dtype)
        # Re X = W_re @ frames and Im X = W_im @ frames, in dtype; the cache keeps the frames
        X, self.cache = fast.dft_by_matrices(self.params["W_re"].value, self.params["W_im"].value,
                                             x, dtype)
        return X

    def backward(self, dout):
        if self.fast:
            return fast.rfft_frames_backward(dout, self.window)
        x = self.cache
        d_re, d_im = dout[..., 0, :, :], dout[..., 1, :, :]
        W_re, W_im = self.params["W_re"].value, self.params["W_im"].value
        self.set_grad("W_re", _sum_over_frames(d_re, x))
        self.set_grad("W_im", _sum_over_frames(d_im, x))
        dt = dout.dtype
        return W_re.T.astype(dt, copy=False) @ d_re + W_im.T.astype(dt, copy=False) @ d_im

    def __repr__(self):
        if self.fast:
            return f"DFT(n_fft={self.n_fft}, fast FFT, no weights)"
        frozen = "" if self.params["W_re"].trainable else ", frozen"
        return f"DFT(W_re, W_im {(self.n_bins, self.n_fft)}{frozen})"


class Power(Layer):
    """Power spectrum, the squared modulus: a pointwise non-linearity.

    (..., 2, F, T) -> (..., F, T).  forward: P = Re^2 + Im^2 = |X|^2.
    backward: dL/dRe = 2 Re dL/dP,  dL/dIm = 2 Im dL/dP.  No parameters.

    Lesson: lessons/06-descriptors-are-networks.
    """

    def forward(self, x):
        x = self.check_input(x)
        if x.ndim < 3 or x.shape[-3] != 2:
            raise ValueError(f"Power: expected (..., 2, F, T) (real and imaginary channels), got {x.shape}")
        self.cache = x
        # Re^2 + Im^2 written as a sum over the channel axis c: one pass, no temporary arrays
        return np.einsum("...cft,...cft->...ft", x, x)

    def backward(self, dout):
        return 2 * self.cache * np.expand_dims(dout, -3)


class Magnitude(Layer):
    """Magnitude spectrum, the modulus |X|: a pointwise non-linearity.

    (..., 2, F, T) -> (..., F, T).  forward: M = sqrt(Re^2 + Im^2).
    backward: dL/dRe = Re / M dL/dM (same for Im), taken as 0 where M = 0 (the kink).

    Lesson: lessons/06-descriptors-are-networks.
    """

    def forward(self, x):
        x = self.check_input(x)
        if x.ndim < 3 or x.shape[-3] != 2:
            raise ValueError(f"Magnitude: expected (..., 2, F, T), got {x.shape}")
        mag = np.einsum("...cft,...cft->...ft", x, x)      # Re^2 + Im^2 (see Power)
        np.sqrt(mag, out=mag)
        self.cache = x, mag
        return mag

    def backward(self, dout):
        x, mag = self.cache
        scale = np.divide(dout, mag, out=np.zeros_like(mag, dtype=np.result_type(dout, mag)),
                          where=mag > 0)
        return x * np.expand_dims(scale, -3)
