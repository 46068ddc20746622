"""Classical descriptors as neural-network layers (lesson 06).

The lecture's point ("Analogie descripteurs classiques / architectures profondes"): MFCC is a
network applied frame by frame -- framing and window, DFT (linear: a matrix of complex
sinusoids), modulus (pointwise non-linearity), mel filterbank (linear), log (pointwise
non-linearity), DCT (linear). Chroma is DFT -> modulus -> a 12-row linear map; onset strength
is a rectified (ReLU) difference over time. Here each stage is a :class:`mirkit.nn.Layer` with
forward and backward, so a descriptor can be trained end to end like any network.

Layout (librosa's): signals (..., L); frames (..., n_fft, T), one frame per column;
spectrograms (..., F, T), frequency then time; the DFT's output (..., 2, F, T), real and
imaginary parts as two channels. "..." is any batch shape: (), (N,) or (N, C). Every linear
stage is a Parameter ("W", or "W_re"/"W_im" for the DFT) stored in float64; it is cast to the
input's dtype in forward, so float32 signals give float32 features.

Memory layout (speed only, not the maths): like librosa, spectrograms are stored frame by
frame -- the F values of one frame are contiguous, i.e. (..., F, T) arrays are transposed
views of (..., T, F) arrays. A frame is then a contiguous row: the FFT runs along contiguous
memory, and a linear stage is one matrix product (all frames x W^T) instead of one per example.
"""
from __future__ import annotations

import numpy as np
import scipy.fft

from ..nn.base import Layer
from . import filters


def _n_frames(length: int, n_fft: int, hop_length: int, center: bool = True) -> int:
    """Number of frames librosa.stft returns for a signal of this length."""
    padded = length + 2 * (n_fft // 2) if center else length
    return 1 + (padded - n_fft) // hop_length


def _apply_per_frame(W, x):
    """y[..., :, t] = W @ x[..., :, t] for every frame t: (K, D) and (..., D, T) -> (..., K, T).

    When the frames are contiguous rows in memory (our layers' layout), all the frames of all
    the examples form one (frames, D) matrix without a copy, and y^T = x^T W^T is a single
    BLAS call. Any other layout falls back to W @ x, one product per example (same numbers).
    """
    rows = np.swapaxes(x, -1, -2)                                   # (..., T, D)
    if x.ndim > 2 and not rows.flags.c_contiguous:
        return W @ x
    y_rows = rows.reshape(-1, rows.shape[-1]) @ W.T                 # (all frames, K)
    return np.swapaxes(y_rows.reshape(rows.shape[:-1] + (W.shape[0],)), -1, -2)


def _sum_over_frames(dy, x):
    """sum over the batch and time of dy[..., k, t] x[..., d, t]: the gradient of W in y = W @ x."""
    g = dy @ np.swapaxes(x, -1, -2)                     # (..., K, D), one outer product sum per example
    return g.reshape((-1,) + g.shape[-2:]).sum(axis=0)


class Frames(Layer):
    """Cut signals into overlapping frames, one frame per column. Lesson 06 (framing: lesson 00).

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
    """The windowed DFT of each frame as a linear layer. Lesson 06.

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
    fast=True: the same numbers by the FFT (``numpy.fft.rfft``, O(N log N) per frame instead
    of O(N^2)), forward and backward; this layer then has no parameters (nothing to train:
    it *is* the fixed DFT). Like librosa, it transforms blocks of frames per call, small
    enough that the windowed frames and their spectra stay in the CPU cache; the two block
    buffers are reused from block to block. Tested against the matrix version.
    """

    BLOCK_BYTES = 2 ** 19   # fast path: frames per FFT call so the windowed block is 512 KB

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

    def _work_dtype(self, dtype):
        return np.float64 if self.float64_sums else dtype

    def forward(self, frames):
        x = self.check_input(frames)
        if x.ndim < 2 or x.shape[-2] != self.n_fft:
            raise ValueError(f"DFT: expected frames of shape (..., {self.n_fft}, T) (n_fft, T), "
                             f"got {x.shape}: use Frames(n_fft={self.n_fft}) before")
        dtype = self._work_dtype(x.dtype)
        T = x.shape[-1]
        # stored frame by frame (see the module docstring): out is a view of a (..., 2, T, F) array
        out_rows = np.empty(x.shape[:-2] + (2, T, self.n_bins), dtype=x.dtype)
        out = np.swapaxes(out_rows, -1, -2)
        if self.fast:
            self._fft_forward(x, out_rows.reshape((-1, 2, T, self.n_bins)), dtype)
        else:
            # BLAS needs each frame contiguous in memory: (..., T, n_fft) C order, seen transposed
            # (one copy, in the working dtype; backward needs it too)
            work = np.swapaxes(np.ascontiguousarray(np.swapaxes(x, -1, -2), dtype=dtype), -1, -2)
            self.cache = work
            W_re, W_im = (self.params[n].value.astype(dtype, copy=False) for n in ("W_re", "W_im"))
            out[..., 0, :, :] = _apply_per_frame(W_re, work)
            out[..., 1, :, :] = _apply_per_frame(W_im, work)
        return out

    def _fft_forward(self, x, out_rows, dtype):
        """The fast forward: out_rows[i, :, t] = (Re, Im) of rfft(w * frame t of example i),
        computed in dtype. out_rows: (examples, 2, T, F).

        The FFT is fastest along a contiguous axis, and each frame is a contiguous slice of the
        signal, so we transform frames as rows, (T, n_fft) -> (T, F), by blocks of frames (a
        few large vectorised calls, not a loop over frames).
        """
        T = x.shape[-1]
        rows = np.swapaxes(x, -1, -2).reshape((-1, T, self.n_fft))        # a view for Frames' output
        block = min(T, max(1, self.BLOCK_BYTES // (np.dtype(dtype).itemsize * self.n_fft)))
        windowed = np.empty((block, self.n_fft), dtype=dtype)            # reused by every block
        spec = np.empty((block, self.n_bins), dtype=np.result_type(dtype, np.complex64))
        w = self.window.astype(dtype, copy=False)
        for i in range(rows.shape[0]):
            for b in range(0, T, block):
                n = min(block, T - b)
                # float32 frames times the float64 window, summed in float64 (as librosa does)
                np.multiply(rows[i, b:b + n], w, out=windowed[:n])
                np.fft.rfft(windowed[:n], axis=-1, out=spec[:n])
                out_rows[i, 0, b:b + n] = spec[:n].real                   # rounded to x's dtype
                out_rows[i, 1, b:b + n] = spec[:n].imag

    def backward(self, dout):
        x = self.cache
        d_re, d_im = dout[..., 0, :, :], dout[..., 1, :, :]
        if self.fast:
            # the adjoint of the real FFT: Re(sum_k (dRe_k + i dIm_k) e^{+2i pi k m / N}),
            # i.e. N * irfft with the bins 1 .. N/2-1 halved (irfft counts them twice)
            g = d_re + 1j * d_im                                           # (..., F, T)
            last = self.n_bins - 1 if self.n_fft % 2 == 0 else self.n_bins
            g[..., 1:last, :] *= 0.5
            dx = self.n_fft * scipy.fft.irfft(g, n=self.n_fft, axis=-2) * self.window[:, None]
            return dx.astype(dout.dtype, copy=False)
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
    """Power spectrum, the squared modulus: a pointwise non-linearity. Lesson 06.

    (..., 2, F, T) -> (..., F, T).  forward: P = Re^2 + Im^2 = |X|^2.
    backward: dL/dRe = 2 Re dL/dP,  dL/dIm = 2 Im dL/dP.  No parameters.
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
    """Magnitude spectrum, the modulus |X|: a pointwise non-linearity. Lesson 06.

    (..., 2, F, T) -> (..., F, T).  forward: M = sqrt(Re^2 + Im^2).
    backward: dL/dRe = Re / M dL/dM (same for Im), taken as 0 where M = 0 (the kink).
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


class FrameMatrix(Layer):
    """A fixed-size linear map applied to every frame (column): y[..., :, t] = W @ x[..., :, t]. Lesson 06.

    (..., D, T) -> (..., K, T), W of shape (K, D): a Dense layer without bias, shared over time
    (a 1x1 convolution over time). Base class of MelFilterbank, ChromaFilterbank and DCT.
    backward: dL/dx = W^T dL/dy,  dL/dW = sum over batch and time of dL/dy x^T.
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
        return _apply_per_frame(self.W.astype(x.dtype, copy=False), x)

    def backward(self, dout):
        self.set_grad("W", _sum_over_frames(dout, self.cache))
        return self.W.T.astype(dout.dtype, copy=False) @ dout

    def __repr__(self):
        K, D = self.W.shape
        frozen = "" if self.params["W"].trainable else ", frozen"
        return f"{type(self).__name__}(W{(K, D)}{frozen})"


class MelFilterbank(FrameMatrix):
    """Mel filterbank: mel power = M @ power spectrum, (..., F, T) -> (..., n_mels, T). Lesson 06.

    M from :func:`mirkit.features.filters.mel_filterbank` (triangles equally spaced in mel;
    Slaney or HTK mel scale; "slaney" area norm or None). Parameter "W" (n_mels, F).
    Equal to ``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, ...)``.
    """

    def __init__(self, sr: float = 22050, n_fft: int = 2048, n_mels: int = 128, fmin: float = 0.0,
                 fmax: float | None = None, htk: bool = False, norm: str | None = "slaney",
                 trainable: bool = True):
        super().__init__(filters.mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk, norm), trainable)


class ChromaFilterbank(FrameMatrix):
    """Chroma filterbank: chroma = C @ power spectrum, (..., F, T) -> (..., n_chroma, T). Lesson 06.

    The lecture's C(lambda, t) = sum_k W[lambda, k] |S(f_k, t)|^2: row lambda (a pitch class)
    has its non-zero weights on the bins of that class in every octave. C from
    :func:`mirkit.features.filters.chroma_filterbank`. ``tuning`` (fractions of a bin) is given,
    not estimated: tuning estimation is outside the network. Parameter "W" (n_chroma, F).
    """

    def __init__(self, sr: float = 22050, n_fft: int = 2048, n_chroma: int = 12,
                 tuning: float = 0.0, trainable: bool = True):
        super().__init__(filters.chroma_filterbank(sr, n_fft, n_chroma, tuning), trainable)


class DCT(FrameMatrix):
    """Orthonormal DCT-II, keeping n_mfcc coefficients: (..., n_mels, T) -> (..., n_mfcc, T). Lesson 06.

    D from :func:`mirkit.features.filters.dct_matrix`; y = D @ x equals
    ``scipy.fft.dct(x, type=2, norm='ortho', axis=-2)[..., :n_mfcc, :]``, the last step of
    librosa.feature.mfcc. Parameter "W" (n_mfcc, n_mels).
    """

    def __init__(self, n_mels: int = 128, n_mfcc: int = 20, trainable: bool = True):
        super().__init__(filters.dct_matrix(n_mfcc, n_mels), trainable)


class PowerToDb(Layer):
    """Log compression in decibels, with a floor: a pointwise non-linearity (almost). Lesson 06.

    (..., F, T) -> (..., F, T). forward, as ``librosa.power_to_db``:
        y = 10 log10(max(amin, x)) - 10 log10(max(amin, ref)),
        then, if top_db is not None, y = max(y, max(y) - top_db).
    The max is taken **per example**, over the last two axes (F, T): equal to calling
    librosa.power_to_db on each spectrogram of a batch. ref: a float, or "max" for the
    per-example maximum of x (librosa's ref=np.max).
    backward: dy/dx = 10 / (ln(10) x) where x > amin, 0 below the floor amin. Piecewise: the
    top_db clip sends the gradient of clipped entries to the example's maximum (through
    max(y)), and ref="max" likewise. Check gradients away from the kinks.
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
    """Divide each frame by its largest magnitude (max norm): (..., C, T) -> (..., C, T). Lesson 06.

    forward, as ``librosa.util.normalize(x, norm=np.inf, axis=-2)`` (chroma_stft's last step):
        y[:, t] = x[:, t] / m_t,  m_t = max_c |x[c, t]|;  frames with m_t < tiny (the smallest
        positive normal number of the dtype, e.g. silence) are left unchanged.
    backward: with a = argmax_c |x[c, t]|,
        dL/dx[c, t] = dL/dy[c, t] / m_t - [c == a] sign(x[a, t]) sum_c' dL/dy[c', t] x[c', t] / m_t^2.
    No parameters.
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
    """Difference over time with a lag: (..., F, T) -> (..., F, T). Lesson 06.

    forward:  y[..., t] = x[..., t] - x[..., t - lag] for t >= lag, and 0 for the first lag
              frames (nothing to compare with): a causal convolution over time with the kernel
              [1, 0, ..., 0, -1], the "derivative" filter of onset detection.
    backward: dL/dx[t] = dL/dy[t] - dL/dy[t + lag] (each term where it exists). No parameters.
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
    """Average over frequency bands: (..., F, T) -> (..., T). Lesson 06.

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
    """Delay the onset envelope to undo the framing delay: (..., T) -> (..., T). Lesson 06.

    forward, as librosa.onset.onset_strength: with center=True, prepend
    p = n_fft // (2 hop_length) zeros and keep the first T values (librosa's comment:
    "counter-act framing effects"); with center=False, nothing to do (p = 0).
    backward: dL/dx[t] = dL/dy[t + p] (0 for the values shifted out). No parameters.
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
