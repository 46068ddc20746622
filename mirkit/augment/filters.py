"""Biquad filter design, after R. Bristow-Johnson's "Audio EQ Cookbook".

Lesson: lessons/08-data-augmentation.

A biquad is the second-order recursive filter

    y[n] = b0 x[n] + b1 x[n-1] + b2 x[n-2] - a1 y[n-1] - a2 y[n-2],

with transfer function H(z) = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2). Every
graphic or parametric equaliser is a cascade of these. With w0 = 2 pi f0 / sr,
alpha = sin(w0) / (2 Q) and A = 10^(gain_db / 40):

    peak:      b = [1 + alpha A, -2 cos w0, 1 - alpha A],  a = [1 + alpha/A, -2 cos w0, 1 - alpha/A]
    lowpass:   b = [(1 - cos w0)/2, 1 - cos w0, (1 - cos w0)/2],  a = [1 + alpha, -2 cos w0, 1 - alpha]
    highpass:  b = [(1 + cos w0)/2, -(1 + cos w0), (1 + cos w0)/2],  a = as lowpass
    shelves:   see the code (they use 2 sqrt(A) alpha).

Coefficients are returned normalised so that a[0] = 1, ready for ``scipy.signal.lfilter``.
"""
import numpy as np
from scipy import signal

KINDS = ("peak", "lowshelf", "highshelf", "lowpass", "highpass")


def biquad(kind, f0, sr, q=0.707, gain_db=0.0):
    """Return ``(b, a)``, each of shape (3,), for one cookbook biquad (formulas in the module docstring).

    kind: one of ``KINDS``; f0: centre or corner frequency in Hz, 0 < f0 < sr/2; q: quality
    factor (bandwidth; 0.707 is the flattest pass/shelf); gain_db: for peak and shelves.
    A peak filter has exactly ``gain_db`` at f0 and 0 dB far from it.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown biquad kind {kind!r}; choose one of {KINDS}")
    if not 0 < f0 < sr / 2:
        raise ValueError(f"f0 must be between 0 and the Nyquist frequency {sr / 2} Hz, got {f0}")
    A = 10.0 ** (gain_db / 40.0)
    w0 = 2 * np.pi * f0 / sr
    cw, alpha = np.cos(w0), np.sin(w0) / (2 * q)
    if kind == "peak":
        b = [1 + alpha * A, -2 * cw, 1 - alpha * A]
        a = [1 + alpha / A, -2 * cw, 1 - alpha / A]
    elif kind == "lowpass":
        b = [(1 - cw) / 2, 1 - cw, (1 - cw) / 2]
        a = [1 + alpha, -2 * cw, 1 - alpha]
    elif kind == "highpass":
        b = [(1 + cw) / 2, -(1 + cw), (1 + cw) / 2]
        a = [1 + alpha, -2 * cw, 1 - alpha]
    else:
        s = 2 * np.sqrt(A) * alpha
        if kind == "lowshelf":
            b = [A * ((A + 1) - (A - 1) * cw + s), 2 * A * ((A - 1) - (A + 1) * cw),
                 A * ((A + 1) - (A - 1) * cw - s)]
            a = [(A + 1) + (A - 1) * cw + s, -2 * ((A - 1) + (A + 1) * cw), (A + 1) + (A - 1) * cw - s]
        else:  # highshelf
            b = [A * ((A + 1) + (A - 1) * cw + s), -2 * A * ((A - 1) + (A + 1) * cw),
                 A * ((A + 1) + (A - 1) * cw - s)]
            a = [(A + 1) - (A - 1) * cw + s, 2 * ((A - 1) - (A + 1) * cw), (A + 1) - (A - 1) * cw - s]
    b, a = np.asarray(b, dtype=np.float64), np.asarray(a, dtype=np.float64)
    return b / a[0], a / a[0]


def frequency_response_db(b, a, freqs, sr):
    """Magnitude response 20 log10 |H(e^{j 2 pi f / sr})| at the given frequencies (Hz), shape (len(freqs),)."""
    _, h = signal.freqz(b, a, worN=np.asarray(freqs, dtype=np.float64), fs=sr)
    return 20 * np.log10(np.abs(h) + 1e-20)


def butter_lowpass(cutoff, sr, order=6):
    """Butterworth low-pass as second-order sections (stable at high orders), for ``scipy.signal.sosfilt``."""
    return signal.butter(order, cutoff, btype="low", fs=sr, output="sos")
