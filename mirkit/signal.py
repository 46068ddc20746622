"""Audio as data: sampling, quantisation, framing, windows, DFT, STFT, decibels, mel.

Plain numpy functions, the reference versions that later lessons import
(lessons/06-descriptors-are-networks rewrites the STFT, the mel filterbank and the log as
network layers in :mod:`mirkit.features`). The test sounds (``sine``, ``tone``, ``drum_loop``,
...) are in :mod:`mirkit.sounds` and importable from here too.

Conventions, as in librosa:

* a signal is a 1-D float array ``y`` of shape (n,), sampled at ``sr`` Hz, values in [-1, 1];
* frames are **columns**: ``frame(y, ...)`` has shape (frame_length, n_frames), and a
  spectrogram has shape (n_bins, n_frames) -- frequency first, time last;
* ``stft(y, n_fft, hop_length)`` equals ``librosa.stft(y, n_fft=n_fft, hop_length=hop_length,
  window='hann', center=True, pad_mode='constant')`` (checked in tests/test_signal.py).

The equations are the ones of the lecture:

    x[n] = x(n / sr)                                        sampling
    X[k, p] = sum_n w[n] x[n + p*hop] exp(-2i*pi*k*n / N)   STFT (N = n_fft)

Lesson: lessons/00-audio-as-data.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ._checks import check_positive, check_positive_int, check_signal
from .sounds import arpeggio, chirp, drum_loop, midi_to_hz, sine, tone, white_noise

__all__ = [
    "sine", "tone", "chirp", "white_noise", "drum_loop", "midi_to_hz", "arpeggio",
    "alias_frequency", "quantise", "snr_db",
    "frame", "get_window", "dft_matrix", "dft", "stft", "istft", "spectrogram",
    "fft_frequencies", "frames_to_time",
    "power_to_db", "amplitude_to_db", "hz_to_mel", "mel_to_hz",
]


# ----------------------------------------------------------------------------- sampling, quantisation
def alias_frequency(freq, sr: float):
    """The frequency (Hz, in [0, sr/2]) at which a sinusoid of ``freq`` Hz is heard once sampled at sr.

    Sampling cannot tell f from f + m*sr (for any integer m), nor f from -f, so the apparent
    frequency is the distance from f to the nearest multiple of sr:
    ``f_alias = |f - sr * round(f / sr)|``. Below Nyquist (f <= sr/2) it is f itself.
    Lesson: lessons/00-audio-as-data.
    """
    sr = check_positive(sr, "sr")
    f = np.abs(np.asarray(freq, dtype=float))
    out = np.abs(f - sr * np.round(f / sr))
    return float(out) if out.ndim == 0 else out


def quantise(x, bits: int) -> np.ndarray:
    """Uniform quantisation to ``bits`` bits, like integer PCM (16 bits: 65536 levels).

    Step ``delta = 2 / 2**bits`` over [-1, 1); each sample is rounded to the nearest level
    ``delta * round(x / delta)`` and clipped to the integer range [-2**(bits-1), 2**(bits-1) - 1].
    The rounding error is at most delta/2, roughly uniform, so for a full-scale sine
    SNR ~ 6.02 * bits + 1.76 dB: every extra bit buys about 6 dB.
    Input any shape; output the same shape, float64.

    Lesson: lessons/00-audio-as-data.
    """
    bits = check_positive_int(bits, "bits")
    x = np.asarray(x, dtype=float)
    delta = 2.0 / 2 ** bits
    levels = np.clip(np.round(x / delta), -(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return levels * delta


def snr_db(clean, noisy) -> float:
    """Signal-to-noise ratio ``10 log10(sum clean^2 / sum (noisy - clean)^2)`` in dB.

    Lesson: lessons/00-audio-as-data.
    """
    clean = np.asarray(clean, dtype=float)
    noisy = np.asarray(noisy, dtype=float)
    if clean.shape != noisy.shape:
        raise ValueError(f"clean and noisy must have the same shape, got {clean.shape} and {noisy.shape}.")
    noise = np.sum((noisy - clean) ** 2)
    return float("inf") if noise == 0 else float(10 * np.log10(np.sum(clean ** 2) / noise))


# ----------------------------------------------------------------------------- framing and windows
def frame(y, frame_length: int, hop_length: int, center: bool = False) -> np.ndarray:
    """Cut a signal into overlapping frames, one frame per **column**. lessons/00-audio-as-data.

    ``frames[:, p] = y[p*hop_length : p*hop_length + frame_length]``, for
    ``p = 0 .. n_frames-1`` with ``n_frames = 1 + (n - frame_length) // hop_length``
    (a trailing piece shorter than a frame is dropped), as ``librosa.util.frame``.

    With ``center=True`` the signal is first padded with ``frame_length // 2`` zeros on each
    side, as ``librosa.stft(center=True, pad_mode='constant')`` does, so that frame p is centred
    on sample p*hop_length.

    y: (n,) -> frames: (frame_length, n_frames), float64, a copy (librosa returns a read-only view).
    """
    y = check_signal(y)
    frame_length = check_positive_int(frame_length, "frame_length")
    hop_length = check_positive_int(hop_length, "hop_length")
    if center:
        y = np.pad(y, frame_length // 2, mode="constant")
    if y.size < frame_length:
        raise ValueError(
            f"the signal has {y.size} samples, fewer than frame_length={frame_length}: "
            "use a smaller frame_length (n_fft), a longer signal, or center=True (pads "
            "frame_length//2 zeros on each side)."
        )
    n_frames = 1 + (y.size - frame_length) // hop_length
    # index[m, p] = m + p*hop: one fancy-indexing gather, no Python loop
    index = np.arange(frame_length)[:, None] + hop_length * np.arange(n_frames)[None, :]
    return y[index]


def get_window(window: str, n: int) -> np.ndarray:
    """A *periodic* analysis window of length n, as ``scipy.signal.get_window(window, n)``.

    'hann':    w[m] = 0.5 - 0.5 cos(2 pi m / n)
    'hamming': w[m] = 0.54 - 0.46 cos(2 pi m / n)
    'boxcar' (or 'rectangular'): w[m] = 1
    Periodic (denominator n, not n - 1) because the window is repeated frame after frame, as
    the DFT sees it; this is librosa's convention. Returns shape (n,).

    Lesson: lessons/00-audio-as-data.
    """
    n = check_positive_int(n, "window length n")
    if n == 1:
        return np.ones(1)  # scipy's convention: a one-sample window is just [1]
    m = np.arange(n)
    if window == "hann":
        return 0.5 - 0.5 * np.cos(2 * np.pi * m / n)
    if window == "hamming":
        return 0.54 - 0.46 * np.cos(2 * np.pi * m / n)
    if window in ("boxcar", "rectangular", "ones"):
        return np.ones(n)
    raise ValueError(f"unknown window {window!r}: use 'hann', 'hamming' or 'boxcar'.")


# ----------------------------------------------------------------------------- DFT and STFT
def dft_matrix(n: int) -> np.ndarray:
    """The n x n DFT matrix ``F[k, m] = exp(-2i pi k m / n)``. lessons/00-audio-as-data.

    Row k is a complex sinusoid of k cycles per n samples; ``F @ x`` correlates x with each of
    them. Returns complex128, shape (n, n). (lessons/06-descriptors-are-networks: the DFT is a
    linear layer with these weights.)
    """
    n = check_positive_int(n, "n")
    k = np.arange(n)
    return np.exp(-2j * np.pi * np.outer(k, k) / n)


def dft(x) -> np.ndarray:
    """The DFT by a matrix product, ``X = F @ x``, along axis 0. lessons/00-audio-as-data.

    ``X[k] = sum_m x[m] exp(-2i pi k m / N)``. x: (N,) or (N, n_frames) (frames as columns) ->
    complex (N,) or (N, n_frames), equal to ``np.fft.fft(x, axis=0)``. O(N^2) operations
    where the FFT needs O(N log N): see bench/bench_signal.py.
    """
    x = np.asarray(x)
    if x.ndim not in (1, 2) or x.shape[0] == 0:
        raise ValueError(f"x must have shape (N,) or (N, n_frames) with N >= 1, got {x.shape}.")
    return dft_matrix(x.shape[0]) @ x


def stft(y, n_fft: int = 2048, hop_length: int | None = None, window: str = "hann",
         center: bool = True) -> np.ndarray:
    """Short-time Fourier transform, one spectrum per column. lessons/00-audio-as-data.

    ``X[k, p] = sum_{m=0}^{N-1} w[m] y[m + p*hop] exp(-2i pi k m / N)``, N = n_fft,
    for k = 0 .. N/2 only: y is real, so X[N-k] = conj(X[k]) and the rest is redundant.

    y: (n,) -> complex (1 + n_fft//2, n_frames). hop_length defaults to n_fft // 4.
    center=True pads n_fft//2 zeros on each side (any n >= 1 works); center=False needs
    n >= n_fft. Equal to librosa.stft(y, n_fft=n_fft, hop_length=hop_length, window=window,
    center=center, pad_mode='constant').
    """
    n_fft = check_positive_int(n_fft, "n_fft")
    hop_length = n_fft // 4 if hop_length is None else hop_length
    hop_length = check_positive_int(hop_length, "hop_length")
    frames = frame(y, n_fft, hop_length, center=center)
    w = get_window(window, n_fft)
    return np.fft.rfft(w[:, None] * frames, axis=0)


def istft(X, hop_length: int | None = None, length: int | None = None,
          window: str = "hann", n_fft: int | None = None) -> np.ndarray:
    """Inverse of :func:`stft` (center=True) by weighted overlap-add. lessons/00-audio-as-data.

    Each column is inverted (``np.fft.irfft``), windowed again, and added back at its place
    p*hop_length; dividing by the sum of the squared windows undoes the two windowings:
    ``y[n] = sum_p w[n - pH] x_p[n - pH] / sum_p w[n - pH]^2``. Finally the n_fft//2 samples of
    padding are removed. Exact (to rounding) where that sum is non-zero, e.g. Hann with
    hop <= n_fft/2. Equal to ``librosa.istft(X, hop_length=..., length=...)``.

    X: complex (1 + n_fft//2, n_frames) -> y: (length,), by default
    (n_frames - 1) * hop_length + n_fft - 2 * (n_fft // 2) samples (the padding removed).
    n_fft defaults to 2 * (n_bins - 1); pass it for an odd n_fft.
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"X must be an STFT of shape (1 + n_fft//2, n_frames), got shape {X.shape}.")
    n_fft = 2 * (X.shape[0] - 1) if n_fft is None else check_positive_int(n_fft, "n_fft")
    if X.shape[0] != 1 + n_fft // 2:
        raise ValueError(f"X has {X.shape[0]} frequency rows but n_fft={n_fft} needs 1 + n_fft//2 = "
                         f"{1 + n_fft // 2}: pass the n_fft used by stft.")
    hop_length = n_fft // 4 if hop_length is None else check_positive_int(hop_length, "hop_length")
    n_frames = X.shape[1]
    w = get_window(window, n_fft)
    frames = w[:, None] * np.fft.irfft(X, n=n_fft, axis=0)
    y = np.zeros(n_fft + hop_length * (n_frames - 1))
    norm = np.zeros_like(y)
    for p in range(n_frames):
        y[p * hop_length:p * hop_length + n_fft] += frames[:, p]
        norm[p * hop_length:p * hop_length + n_fft] += w ** 2
    # where no window overlaps (norm ~ 0) there is nothing to undo: leave the sum as it is
    tiny = norm > np.finfo(float).tiny
    y[tiny] /= norm[tiny]
    y = y[n_fft // 2:]  # undo the centring pad at the start
    if length is None:  # and at the end
        return y[:y.size - n_fft // 2]
    return np.pad(y, (0, max(0, length - y.size)))[:length]


def spectrogram(y, n_fft: int = 2048, hop_length: int | None = None, power: float = 1.0,
                window: str = "hann", center: bool = True) -> np.ndarray:
    """``|X[k, p]| ** power`` of the STFT: power=1 magnitude, power=2 power.

    The phase angle(X) is thrown away: it looks random but is needed to resynthesise the sound.
    y: (n,) -> (1 + n_fft//2, n_frames), float64, >= 0.

    Lesson: lessons/00-audio-as-data.
    """
    return np.abs(stft(y, n_fft, hop_length, window, center)) ** power


def fft_frequencies(sr: float, n_fft: int) -> np.ndarray:
    """Centre frequency of each STFT bin, ``f_k = k * sr / n_fft``, k = 0..n_fft//2.

    Lesson: lessons/00-audio-as-data.
    """
    n_fft = check_positive_int(n_fft, "n_fft")
    return np.arange(1 + n_fft // 2) * check_positive(sr, "sr") / n_fft


def frames_to_time(frames, sr: float, hop_length: int) -> np.ndarray:
    """Time (s) of frame p, ``p * hop_length / sr`` (its centre when center=True).

    Lesson: lessons/00-audio-as-data.
    """
    return np.asarray(frames, dtype=float) * hop_length / check_positive(sr, "sr")


# ----------------------------------------------------------------------------- log compression
def power_to_db(S, ref: float | Callable = 1.0, amin: float = 1e-10, top_db: float | None = 80.0):
    """Power to decibels: ``10 log10(max(S, amin)) - 10 log10(max(ref, amin))``.

    ``ref`` may be a function of S, e.g. ``np.max`` (0 dB at the loudest bin). ``amin`` avoids
    log(0); ``top_db`` floors the output at ``max - top_db`` so silence does not dominate a plot.
    Same as ``librosa.power_to_db``. Any shape in, same shape out.

    Lesson: lessons/00-audio-as-data.
    """
    S = np.asarray(S)
    if np.iscomplexobj(S):
        raise ValueError("power_to_db expects power |X|**2, got complex values: pass np.abs(X)**2.")
    if amin <= 0:
        raise ValueError(f"amin must be > 0, got {amin}.")
    ref_value = ref(S) if callable(ref) else ref
    log_spec = 10.0 * np.log10(np.maximum(amin, S))
    # in place, as librosa: a float32 S stays float32 (np.abs(1.0) is a float64 scalar)
    log_spec -= 10.0 * np.log10(np.maximum(amin, np.abs(ref_value)))
    if top_db is not None:
        if top_db < 0:
            raise ValueError(f"top_db must be non-negative, got {top_db}.")
        log_spec = np.maximum(log_spec, log_spec.max() - top_db)
    return log_spec


def amplitude_to_db(S, ref: float | Callable = 1.0, amin: float = 1e-5, top_db: float | None = 80.0):
    """Amplitude to decibels: ``20 log10(|S|)``, i.e. power_to_db(|S|**2). lessons/00-audio-as-data.

    Same as ``librosa.amplitude_to_db``. Any shape in, same shape out.
    """
    magnitude = np.abs(np.asarray(S))
    ref_value = ref(magnitude) if callable(ref) else np.abs(ref)
    return power_to_db(magnitude ** 2, ref=ref_value ** 2, amin=amin ** 2, top_db=top_db)


# ----------------------------------------------------------------------------- mel scale
_F_SP = 200.0 / 3            # Slaney: 3 mels per 200 Hz below 1 kHz (linear part)
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP          # = 15 mels at 1 kHz
_LOGSTEP = np.log(6.4) / 27.0               # above 1 kHz: 27 mels per factor 6.4 in frequency


def hz_to_mel(freq, htk: bool = False):
    """Hertz to mels, as ``librosa.hz_to_mel``. lessons/00-audio-as-data.

    htk=True:  m = 2595 log10(1 + f / 700)
    htk=False (Slaney, librosa's default): m = 3 f / 200 below 1 kHz,
               m = 15 + 27 ln(f / 1000) / ln(6.4) above (linear, then logarithmic).
    Scalar in, float out; array in, array of the same shape out.
    """
    f = np.asarray(freq, dtype=float)
    if htk:
        mel = 2595.0 * np.log10(1.0 + f / 700.0)
    else:
        safe = np.maximum(f, _MIN_LOG_HZ)  # avoid log of 0 in the branch that is not used
        mel = np.where(f >= _MIN_LOG_HZ, _MIN_LOG_MEL + np.log(safe / _MIN_LOG_HZ) / _LOGSTEP, f / _F_SP)
    return float(mel) if mel.ndim == 0 else mel


def mel_to_hz(mels, htk: bool = False):
    """Mels to hertz, the inverse of :func:`hz_to_mel` (same ``htk`` switch).

    htk=True:  f = 700 (10^(m / 2595) - 1)
    htk=False: f = 200 m / 3 below 15 mels, f = 1000 * 6.4^((m - 15) / 27) above.

    Lesson: lessons/00-audio-as-data.
    """
    m = np.asarray(mels, dtype=float)
    if htk:
        f = 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    else:
        f = np.where(m >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL)), _F_SP * m)
    return float(f) if f.ndim == 0 else f
