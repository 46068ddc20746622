"""Input checks shared by :mod:`mirkit.signal` and :mod:`mirkit.sounds` (``lessons/00-audio-as-data``):
each raises a ValueError that says what is wrong and how to fix it."""
from __future__ import annotations

import numpy as np


def check_signal(y, name: str = "y") -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D signal of shape (n_samples,), got shape {y.shape}. "
            "For a stereo signal of shape (2, n) take one channel, y[0], or the mean, y.mean(axis=0)."
        )
    if y.size == 0:
        raise ValueError(f"{name} is empty: a signal needs at least one sample.")
    if not np.issubdtype(y.dtype, np.number) or np.iscomplexobj(y):
        raise ValueError(f"{name} must hold real numbers, got dtype {y.dtype}.")
    return y.astype(np.float64, copy=False)


def check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer (number of samples), got {value!r}.")
    return int(value)


def check_positive(value, name: str) -> float:
    if not np.isscalar(value) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}.")
    return float(value)
