"""Fast paths of the descriptor layers: the same numbers as the formulas, computed faster.

lessons/06-descriptors-are-networks reads the layers of :mod:`mirkit.features.spectrum` and
:mod:`mirkit.features.layers`, which state each stage as a formula (``Re X = W_re @ frames``,
``y = W @ x``); they call these functions to compute it. Tested against the plain formulas and
against librosa (``tests/test_features.py``, ``tests/test_fast_features.py``).

Memory layout (speed only, not the maths): like librosa, spectrograms are stored frame by
frame -- the F values of one frame are contiguous, i.e. (..., F, T) arrays are transposed views
of (..., T, F) arrays. A frame is then a contiguous row: the FFT runs along contiguous memory,
and a linear stage is one matrix product (all frames x W^T) instead of one per example.
"""
from __future__ import annotations

import numpy as np
import scipy.fft

BLOCK_BYTES = 2 ** 19   # rfft_frames: frames per FFT call so that a windowed block is 512 KB


def frame_rows(shape_lead, T, F, dtype):
    """An empty (..., F, T) array stored frame by frame: the transposed view of (..., T, F)."""
    return np.swapaxes(np.empty(tuple(shape_lead) + (T, F), dtype=dtype), -1, -2)


def per_frame_matmul(W, x):
    """y[..., :, t] = W @ x[..., :, t] for every frame t: (K, D) and (..., D, T) -> (..., K, T).

    Equal to ``W @ x``. When the frames are contiguous rows in memory (our layers' layout), all
    the frames of all the examples form one (frames, D) matrix without a copy, and
    y^T = x^T W^T is a single BLAS call. Any other layout falls back to W @ x, one product per
    example (same numbers).
    """
    rows = np.swapaxes(x, -1, -2)                                   # (..., T, D)
    if x.ndim > 2 and not rows.flags.c_contiguous:
        return W @ x
    y_rows = rows.reshape(-1, rows.shape[-1]) @ W.T                 # (all frames, K)
    return np.swapaxes(y_rows.reshape(rows.shape[:-1] + (W.shape[0],)), -1, -2)


def dft_by_matrices(W_re, W_im, frames, dtype):
    """(Re X, Im X) = (W_re @ frames, W_im @ frames) in ``dtype``, as one (..., 2, F, T) array.

    Returns (X, work): ``work`` is the frames in ``dtype``, each frame contiguous (one copy:
    BLAS needs it, and the DFT's backward pass uses it for dL/dW).
    """
    work = np.swapaxes(np.ascontiguousarray(np.swapaxes(frames, -1, -2), dtype=dtype), -1, -2)
    T = frames.shape[-1]
    out = frame_rows(frames.shape[:-2] + (2,), T, W_re.shape[0], frames.dtype)
    out[..., 0, :, :] = per_frame_matmul(W_re.astype(dtype, copy=False), work)
    out[..., 1, :, :] = per_frame_matmul(W_im.astype(dtype, copy=False), work)
    return out, work


def rfft_frames(frames, window, dtype):
    """The windowed DFT of every frame by the FFT: (..., n_fft, T) -> (..., 2, F, T).

    out[..., 0, k, t] + i out[..., 1, k, t] = rfft(window * frames[..., :, t])[k], computed in
    ``dtype`` (float64 for float32 frames: librosa's float64 window times float32 frames) and
    rounded to the frames' dtype. The FFT is fastest along a contiguous axis, and each frame is
    a contiguous slice of the signal (Frames' output is a view), so frames are transformed as
    rows, by blocks small enough that the windowed frames and their spectra stay in the CPU
    cache; the two block buffers are reused from block to block.
    """
    n_fft, T = frames.shape[-2:]
    F = 1 + n_fft // 2
    lead = frames.shape[:-2]
    out = frame_rows(lead + (2,), T, F, frames.dtype)
    rows = np.swapaxes(frames, -1, -2).reshape((-1, T, n_fft))       # a view for Frames' output
    out_rows = np.swapaxes(out, -1, -2).reshape((-1, 2, T, F))       # a view too
    block = min(T, max(1, BLOCK_BYTES // (np.dtype(dtype).itemsize * n_fft)))
    windowed = np.empty((block, n_fft), dtype=dtype)                 # reused by every block
    spec = np.empty((block, F), dtype=np.result_type(dtype, np.complex64))
    w = window.astype(dtype, copy=False)
    for i in range(rows.shape[0]):
        for b in range(0, T, block):
            n = min(block, T - b)
            np.multiply(rows[i, b:b + n], w, out=windowed[:n])
            np.fft.rfft(windowed[:n], axis=-1, out=spec[:n])
            out_rows[i, 0, b:b + n] = spec[:n].real                   # rounded to the frames' dtype
            out_rows[i, 1, b:b + n] = spec[:n].imag
    return out


def rfft_frames_backward(dout, window):
    """dL/dframes of :func:`rfft_frames`: (..., 2, F, T) -> (..., n_fft, T).

    The adjoint of the windowed real DFT, W_re^T dRe + W_im^T dIm, is
    w[m] Re(sum_k (dRe_k + i dIm_k) e^{+2i pi k m / N}), i.e. N * irfft with the bins
    1 .. N/2-1 halved (irfft counts them twice).
    """
    n_fft = window.size
    F = 1 + n_fft // 2
    g = dout[..., 0, :, :] + 1j * dout[..., 1, :, :]                  # (..., F, T)
    last = F - 1 if n_fft % 2 == 0 else F
    g[..., 1:last, :] *= 0.5
    dx = n_fft * scipy.fft.irfft(g, n=n_fft, axis=-2) * window[:, None]
    return dx.astype(dout.dtype, copy=False)
