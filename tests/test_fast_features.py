"""mirkit.features.fast (lessons/06-descriptors-are-networks) against the formulas it computes.

The layers state y = W @ x and Re X = W_re @ frames; the fast functions must give those numbers
for every memory layout they meet (frames as views of a signal, spectrograms stored frame by
frame or not), every batch shape, and both dtypes.
"""
import numpy as np
import pytest

from mirkit import features as mf
from mirkit.features import fast


def _frames(shape_lead, n_fft=64, hop=16, length=500, seed=0, dtype=np.float64):
    y = np.random.default_rng(seed).standard_normal((*shape_lead, length)).astype(dtype)
    return mf.Frames(n_fft, hop)(y)            # a strided view, one frame per column


@pytest.mark.parametrize("lead", [(), (3,), (2, 2)])
@pytest.mark.parametrize("layout", ["frame rows", "C order", "strided"])
def test_per_frame_matmul_is_w_at_x(lead, layout):
    rng = np.random.default_rng(1)
    W = rng.standard_normal((5, 9))
    x = rng.standard_normal((*lead, 11, 9))
    x = {"frame rows": np.swapaxes(x, -1, -2),                       # (..., 9, 11), frames contiguous
         "C order": np.ascontiguousarray(np.swapaxes(x, -1, -2)),
         "strided": np.swapaxes(x, -1, -2)[..., ::2]}[layout]
    np.testing.assert_allclose(fast.per_frame_matmul(W, x), W @ x, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("lead", [(), (3,), (2, 2)])
def test_dft_by_matrices_is_the_two_products(lead):
    frames = _frames(lead)
    W_re, W_im = mf.dft_matrices(64)
    X, work = fast.dft_by_matrices(W_re, W_im, frames, np.float64)
    assert X.shape == (*lead, 2, 33, frames.shape[-1])
    np.testing.assert_allclose(X[..., 0, :, :], W_re @ frames, atol=1e-12)
    np.testing.assert_allclose(X[..., 1, :, :], W_im @ frames, atol=1e-12)
    np.testing.assert_array_equal(work, frames)


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-6)])
@pytest.mark.parametrize("n_fft", [64, 63])
@pytest.mark.parametrize("lead", [(), (3,), (2, 2)])
def test_rfft_frames_equals_the_matrix_dft_forward_and_backward(lead, n_fft, dtype, tol, monkeypatch):
    monkeypatch.setattr(fast, "BLOCK_BYTES", 8 * n_fft * 5)   # blocks of 5 frames, the last partial
    frames = _frames(lead, n_fft=n_fft, dtype=dtype)
    assert frames.shape[-1] % 5 != 0
    window = mf.filters.window("hann", n_fft)
    W_re, W_im = mf.dft_matrices(n_fft, window)
    X = fast.rfft_frames(frames, window, np.float64)
    f64 = frames.astype(np.float64)
    assert X.dtype == dtype
    scale = np.max(np.abs(W_re @ f64))
    assert np.max(np.abs(X[..., 0, :, :] - W_re @ f64)) <= tol * scale
    assert np.max(np.abs(X[..., 1, :, :] - W_im @ f64)) <= tol * scale
    d = np.random.default_rng(2).standard_normal(X.shape).astype(dtype)
    dx = fast.rfft_frames_backward(d.copy(), window)
    ref = W_re.T @ d[..., 0, :, :].astype(np.float64) + W_im.T @ d[..., 1, :, :].astype(np.float64)
    assert dx.dtype == dtype and dx.shape == frames.shape
    assert np.max(np.abs(dx - ref)) <= tol * np.max(np.abs(ref))


def test_frame_rows_are_stored_frame_by_frame():
    a = fast.frame_rows((2,), 7, 5, np.float32)
    assert a.shape == (2, 5, 7) and np.swapaxes(a, -1, -2).flags.c_contiguous
