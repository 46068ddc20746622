"""The fixed matrices of classical descriptors: window, DFT, mel, chroma, DCT.

Each function returns the weights of one *linear* stage of a descriptor.
lessons/06-descriptors-are-networks puts them in layers (:mod:`mirkit.features.spectrum`,
:mod:`mirkit.features.layers`) where they become parameters that can be trained.

They follow librosa 0.11 formula for formula, so that the layer stacks reproduce
``librosa.feature.mfcc``, ``chroma_stft``, ``melspectrogram`` and ``onset.onset_strength``.
One detail matters for exact agreement: librosa stores its mel and chroma banks in **float32**
(``dtype=np.float32`` by default), even when the signal is float64. We round the same way and
return float64 arrays holding those float32 values, so float64 features agree to ~1e-15.

Lesson: lessons/06-descriptors-are-networks.
"""
from __future__ import annotations

import numpy as np
import scipy.signal


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or int(value) < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def window(window="hann", n_fft: int = 2048) -> np.ndarray:
    """A periodic analysis window of length n_fft, as librosa.stft uses it.

    Lessons: lessons/00-audio-as-data (windows), lessons/06-descriptors-are-networks.

    window: a name understood by ``scipy.signal.get_window`` ('hann', 'hamming', ...) or an
    array of length n_fft. 'hann': w[m] = 0.5 - 0.5 cos(2 pi m / n_fft). Returns (n_fft,) float64.
    """
    n_fft = _positive_int(n_fft, "n_fft")
    if isinstance(window, str) or isinstance(window, tuple):
        return scipy.signal.get_window(window, n_fft, fftbins=True).astype(np.float64)
    w = np.asarray(window, dtype=np.float64)
    if w.shape != (n_fft,):
        raise ValueError(f"window array must have shape ({n_fft},) = (n_fft,), got {w.shape}")
    return w


def dft_matrices(n_fft: int = 2048, window_spec="hann"):
    """Real and imaginary parts of the windowed DFT, as two (1 + n_fft//2, n_fft) matrices.

    X[k] = sum_m w[m] x[m] exp(-2i pi k m / N), k = 0 .. N//2 (the other bins of a real signal
    are complex conjugates of these), hence

        W_re[k, m] =  w[m] cos(2 pi k m / N),     W_im[k, m] = -w[m] sin(2 pi k m / N),

    and Re X = W_re @ x, Im X = W_im @ x. Row k is a windowed sinusoid of k cycles per frame:
    the "matrix of complex sinusoids" of the lecture. The angle uses (k m mod N) so that it
    stays in [0, 2 pi) and keeps full float64 accuracy.

    Lesson: lessons/06-descriptors-are-networks.
    """
    n_fft = _positive_int(n_fft, "n_fft")
    w = window(window_spec, n_fft)
    k = np.arange(1 + n_fft // 2)[:, None]
    m = np.arange(n_fft)[None, :]
    angle = 2 * np.pi * ((k * m) % n_fft) / n_fft
    return w * np.cos(angle), -w * np.sin(angle)


def fft_frequencies(sr: float, n_fft: int) -> np.ndarray:
    """Frequency of each DFT bin, f_k = k sr / n_fft, k = 0 .. n_fft//2 (librosa's)."""
    return np.fft.rfftfreq(n=n_fft, d=1.0 / sr)


# -- the mel scale ---------------------------------------------------------------------------------
_F_SP = 200.0 / 3          # Slaney: 3 mels per 200 Hz below 1 kHz ...
_MIN_LOG_HZ = 1000.0       # ... then logarithmic above 1 kHz
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(f, htk: bool = False):
    """Hz to mel. HTK: m = 2595 log10(1 + f / 700). Slaney (librosa's default): linear below
    1 kHz (f / (200/3)), logarithmic above (15 + log(f/1000) / (log(6.4)/27)).

    Lesson: lessons/06-descriptors-are-networks.
    """
    f = np.asanyarray(f, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    mels = f / _F_SP
    return np.where(f >= _MIN_LOG_HZ, _MIN_LOG_MEL + np.log(np.maximum(f, _MIN_LOG_HZ) / _MIN_LOG_HZ)
                    / _LOGSTEP, mels)


def mel_to_hz(m, htk: bool = False):
    """Inverse of :func:`hz_to_mel`."""
    m = np.asanyarray(m, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    freqs = _F_SP * m
    return np.where(m >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL)), freqs)


def mel_frequencies(n: int, fmin: float = 0.0, fmax: float = 11025.0, htk: bool = False):
    """n frequencies equally spaced on the mel scale from fmin to fmax (Hz)."""
    mels = np.linspace(hz_to_mel(fmin, htk), hz_to_mel(fmax, htk), n)
    return mel_to_hz(mels, htk)


def mel_filterbank(sr: float, n_fft: int, n_mels: int = 128, fmin: float = 0.0,
                   fmax: float | None = None, htk: bool = False, norm: str | None = "slaney"):
    """The mel filterbank, a (n_mels, 1 + n_fft//2) matrix: mel power = M @ power spectrum.

    Filter i is a triangle over DFT bin frequencies f, rising from f_i to f_{i+1} and falling
    to f_{i+2}, where f_0 < ... < f_{n_mels+1} are equally spaced in mel between fmin and fmax:

        M[i, k] = max(0, min((f_k - f_i) / (f_{i+1} - f_i), (f_{i+2} - f_k) / (f_{i+2} - f_{i+1}))).

    norm="slaney" scales triangle i by 2 / (f_{i+2} - f_i) (constant area, so wide high
    filters do not dominate); norm=None keeps peaks at 1. Equal to
    ``librosa.filters.mel(sr=sr, n_fft=n_fft, ...)``, including its float32 rounding.

    Lesson: lessons/06-descriptors-are-networks.
    """
    n_fft, n_mels = _positive_int(n_fft, "n_fft"), _positive_int(n_mels, "n_mels")
    fmax = float(sr) / 2 if fmax is None else float(fmax)
    if not 0 <= fmin < fmax:
        raise ValueError(f"need 0 <= fmin < fmax, got fmin={fmin}, fmax={fmax}")
    if norm not in ("slaney", None):
        raise ValueError(f"norm must be 'slaney' or None, got {norm!r}")
    f = mel_frequencies(n_mels + 2, fmin, fmax, htk)
    fdiff = np.diff(f)
    ramps = f[:, None] - fft_frequencies(sr, n_fft)[None, :]      # f_i - f_k
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper)).astype(np.float32)  # librosa: float32 bank
    if norm == "slaney":
        enorm = 2.0 / (f[2:n_mels + 2] - f[:n_mels])
        weights = (weights * enorm[:, None]).astype(np.float32)
    return weights.astype(np.float64)


# -- chroma ----------------------------------------------------------------------------------------
def chroma_filterbank(sr: float, n_fft: int, n_chroma: int = 12, tuning: float = 0.0,
                      ctroct: float = 5.0, octwidth: float | None = 2.0, base_c: bool = True):
    """The chroma filterbank, a (n_chroma, 1 + n_fft//2) matrix: chroma = C @ power.

    Row c gathers every DFT bin whose pitch class is close to c, in all octaves: bin k at
    f_k Hz has position b_k = n_chroma log2(f_k / (A440/16)) in chroma bins, with
    A440 = 440 * 2**(tuning / n_chroma); its weight for class c is a Gaussian bump in the
    circular distance d = (b_k - c) wrapped to [-n_chroma/2, n_chroma/2):

        C[c, k] = exp(-0.5 (2 d / width_k)^2),  columns scaled to unit L2 norm,

    then multiplied by a wide Gaussian over octaves centred at octave ``ctroct`` (width
    ``octwidth``), and rolled so that row 0 is C (``base_c``). ``tuning`` (in fractions of a
    chroma bin) is a fixed input here: estimating it (``librosa.estimate_tuning``) is not part of
    the network. Equal to ``librosa.filters.chroma(sr=sr, n_fft=n_fft, tuning=tuning, ...)``.

    Lesson: lessons/06-descriptors-are-networks.
    """
    n_fft, n_chroma = _positive_int(n_fft, "n_fft"), _positive_int(n_chroma, "n_chroma")
    frequencies = np.linspace(0, sr, n_fft, endpoint=False)[1:]
    a440 = 440.0 * 2.0 ** (tuning / n_chroma)
    frqbins = n_chroma * np.log2(frequencies / (float(a440) / 16))
    # the 0 Hz bin has no pitch: librosa puts it 1.5 octaves below bin 1, with a broad bump
    frqbins = np.concatenate(([frqbins[0] - 1.5 * n_chroma], frqbins))
    binwidthbins = np.concatenate((np.maximum(frqbins[1:] - frqbins[:-1], 1.0), [1]))
    D = np.subtract.outer(frqbins, np.arange(0, n_chroma, dtype="d")).T
    n_chroma2 = np.round(float(n_chroma) / 2)
    D = np.remainder(D + n_chroma2 + 10 * n_chroma, n_chroma) - n_chroma2
    wts = np.exp(-0.5 * (2 * D / np.tile(binwidthbins, (n_chroma, 1))) ** 2)
    wts = wts / np.sum(wts ** 2, axis=0, keepdims=True) ** 0.5
    if octwidth is not None:
        wts *= np.tile(np.exp(-0.5 * (((frqbins / n_chroma - ctroct) / octwidth) ** 2)),
                       (n_chroma, 1))
    if base_c:
        wts = np.roll(wts, -3 * (n_chroma // 12), axis=0)
    return wts[:, : 1 + n_fft // 2].astype(np.float32).astype(np.float64)


# -- DCT -------------------------------------------------------------------------------------------
def dct_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Orthonormal DCT-II, the first n_out rows: a (n_out, n_in) matrix.

        D[q, m] = s_q cos(pi q (2m + 1) / (2 n_in)),  s_0 = sqrt(1 / n_in), s_q = sqrt(2 / n_in),

    so that D @ x == scipy.fft.dct(x, type=2, norm='ortho', axis=0)[:n_out]. It is the
    "inverse DFT" at the end of the MFCC chain: a real, even-symmetric Fourier transform of the
    log-mel spectrum, whose first coefficients describe the spectral envelope.

    Lesson: lessons/06-descriptors-are-networks.
    """
    n_out, n_in = _positive_int(n_out, "n_out"), _positive_int(n_in, "n_in")
    if n_out > n_in:
        raise ValueError(f"cannot keep {n_out} DCT coefficients of {n_in} inputs: use n_mfcc <= n_mels")
    q = np.arange(n_out)[:, None]
    m = np.arange(n_in)[None, :]
    D = np.cos(np.pi * q * (2 * m + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
    D[0] /= np.sqrt(2.0)
    return D
