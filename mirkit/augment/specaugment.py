"""SpecAugment-style masking on spectrograms (Park et al. 2019).

Lesson: lessons/08-data-augmentation.

A spectrogram ``S`` has shape (F, T) -- or (..., F, T), e.g. (C, F, T): frequency second to
last, time last, as everywhere in mirkit. A frequency mask sets ``f`` consecutive bins to a
fill value for all frames, S'[f0:f0+f, :] = fill; a time mask sets ``t`` consecutive frames to
it for all bins, S'[:, t0:t0+t] = fill. The network must then recognise the genre with part of
the picture hidden, as a listener does through a passing car. Masks preserve the shape and
everything outside the mask; they break the masked band or span, and (unlike the waveform
transforms) produce no audio: they act on the network's input, after the features.

Random draws, in this order, for each mask: the width w = rng.integers(0, min(max_width,
size) + 1), then the start = rng.integers(0, size - w + 1).
"""
import numpy as np


def _check(S):
    S = np.asarray(S)
    if S.ndim < 2:
        raise ValueError(f"expected a spectrogram of shape (..., F, T), got shape {S.shape}")
    return S.copy()


def _mask_axis(S, axis, max_width, rng, n_masks, fill):
    """Set ``n_masks`` random spans of width 0..max_width along ``axis`` to ``fill``; a new array."""
    S = _check(S)
    if not isinstance(rng, np.random.Generator):
        raise TypeError("SpecAugment masks need a random generator for reproducibility: "
                        f"pass rng=np.random.default_rng(seed), got {type(rng).__name__}")
    fill = S.mean() if fill is None else fill
    size = S.shape[axis]
    for _ in range(n_masks):
        w = int(rng.integers(0, min(max_width, size) + 1))
        start = int(rng.integers(0, size - w + 1))
        index = [slice(None)] * S.ndim
        index[axis] = slice(start, start + w)
        S[tuple(index)] = fill
    return S


def freq_mask(S, max_width, rng, n_masks=1, fill=None):
    """Frequency masks: ``n_masks`` bands of width 0..max_width bins, (..., F, T) -> (..., F, T).

    ``fill`` defaults to the mean of S. Lesson: lessons/08-data-augmentation.
    """
    return _mask_axis(S, -2, max_width, rng, n_masks, fill)


def time_mask(S, max_width, rng, n_masks=1, fill=None):
    """Time masks: ``n_masks`` spans of width 0..max_width frames, (..., F, T) -> (..., F, T).

    ``fill`` defaults to the mean of S. Lesson: lessons/08-data-augmentation.
    """
    return _mask_axis(S, -1, max_width, rng, n_masks, fill)


def spec_augment(S, rng, freq_width=8, time_width=20, n_freq_masks=2, n_time_masks=2, fill=None):
    """Frequency masks, then time masks, as in the paper (without its time warping); one fill
    value for both, the mean of the input unless given. (..., F, T) -> (..., F, T)."""
    fill = np.asarray(S).mean() if fill is None else fill
    S = freq_mask(S, freq_width, rng, n_freq_masks, fill)
    return time_mask(S, time_width, rng, n_time_masks, fill)
