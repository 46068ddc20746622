"""mirkit.nn.fast (lessons/05-convolution) against the readable loops of mirkit.nn.conv and pool.

The fast convolution has two layouts (stride 1: runs over the full padded width; other strides:
exact windows) and runs on one or several threads: every combination must give the naive
loops' numbers, in float64 and in float32.
"""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import mirkit.nn as nn
import mirkit.nn.fast as fast

CASES = [  # (N, C_in, C_out, H, W, kernel, stride, padding, dilation)
    (3, 1, 4, 12, 11, (3, 3), 1, "valid", 1),       # stride 1: the full-width layout
    (3, 2, 3, 9, 10, (3, 2), 1, "same", (2, 1)),    # odd "same" padding, dilation
    (2, 3, 2, 8, 7, (1, 3), 1, 2, (1, 2)),          # int padding, wrapped runs longer than a row
    (3, 2, 3, 9, 9, (3, 3), (2, 1), "same", 1),     # stride: the exact-window layout
    (2, 2, 2, 10, 9, (2, 2), (1, 3), "valid", 2),
]


def _naive_and_fast(case, dtype, rng):
    N, C, K, H, W, k, s, pad, d = case
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    Wt = rng.standard_normal((K, C, *k)).astype(dtype)
    b = rng.standard_normal(K).astype(dtype)
    y1, c1 = nn.conv2d_forward_naive(x.astype(np.float64), Wt.astype(np.float64), b.astype(np.float64),
                                     s, pad, d)
    y2, c2 = fast.conv2d_forward_fast(x, Wt, b, s, pad, d)
    dy = rng.standard_normal(y1.shape)
    return (y1, *nn.conv2d_backward_naive(dy, c1)), (y2, *fast.conv2d_backward_fast(dy.astype(dtype), c2))


@pytest.mark.parametrize("on_threads", [False, True])
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-10), (np.float32, 2e-5)])
@pytest.mark.parametrize("case", CASES, ids=[str(i) for i in range(len(CASES))])
def test_fast_conv_equals_naive(case, dtype, tol, on_threads, monkeypatch):
    monkeypatch.setattr(fast, "PARALLEL_WORK", 0 if on_threads else 10 ** 12)
    monkeypatch.setattr(fast, "threads", lambda: 2 if on_threads else 1)
    naive, quick = _naive_and_fast(case, dtype, np.random.default_rng(5))
    for name, a, b in zip(("y", "dx", "dW", "db"), naive, quick):
        assert b.shape == a.shape and b.dtype == dtype, name
        scale = max(1.0, float(np.max(np.abs(a))))
        assert np.max(np.abs(b - a)) <= tol * scale, f"{name}: {np.max(np.abs(b - a)):.2e}"


def test_threads_follow_the_blas_limit():
    with threadpool_limits(1, user_api="blas"):
        assert fast.threads() == 1
    assert 1 <= fast.threads() <= max(1, __import__("os").cpu_count())


def test_small_jobs_stay_on_the_calling_thread(monkeypatch):
    import threading
    seen = set()
    monkeypatch.setattr(fast, "threads", lambda: 2)
    fast._on_threads(range(4), lambda i, buf: seen.add(threading.get_ident()), multiply_adds=10)
    assert seen == {threading.get_ident()}
    seen.clear()
    monkeypatch.setattr(fast, "PARALLEL_WORK", 0)
    done = []
    fast._on_threads(range(40), lambda i, buf: done.append(i), multiply_adds=1)
    assert sorted(done) == list(range(40))   # every item once, whichever thread took it


def test_buffers_are_reused_per_thread():
    sizes = []

    def work(i, buffers):
        b = fast._buffer(buffers, "cols", (3, 4), np.float32)
        sizes.append(id(b))

    fast._on_threads(range(5), work, multiply_adds=0)
    assert len(set(sizes)) == 1


def test_fast_conv_input_errors_name_the_problem():
    x, W, b = np.zeros((2, 3, 8, 8)), np.zeros((4, 2, 3, 3)), np.zeros(4)
    with pytest.raises(ValueError, match="3 channels"):
        fast.conv2d_forward_fast(x, W, b)
    with pytest.raises(ValueError, match="shorter than the"):
        fast.conv2d_forward_fast(np.zeros((1, 2, 2, 2)), W, b)


@pytest.mark.parametrize("k,s,hw", [((2, 2), None, (8, 9)), ((2, 2), None, (8, 10)),  # cropped, tiled
                                     ((3, 2), (1, 2), (8, 9))])                     # overlapping
def test_fast_maxpool_on_threads_equals_naive(k, s, hw, monkeypatch):
    monkeypatch.setattr(fast, "PARALLEL_WORK", 0)
    monkeypatch.setattr(fast, "threads", lambda: 2)
    monkeypatch.setattr(fast, "CACHE_BLOCK", 100)      # one example per block: 6 blocks
    rng = np.random.default_rng(7)
    x = np.maximum(rng.standard_normal((6, 2, *hw)), 0)   # zeros: ties go to the first maximum
    y1, c1 = nn.maxpool2d_forward_naive(x, k, s)
    y2, c2 = fast.maxpool2d_forward_fast(x, k, s)
    np.testing.assert_array_equal(y2, y1)
    dy = rng.standard_normal(y1.shape)
    np.testing.assert_allclose(fast.maxpool2d_backward_fast(dy, c2), nn.maxpool2d_backward_naive(dy, c1),
                               rtol=0, atol=1e-12)   # overlapping pools add in another order


def test_an_error_on_a_thread_reaches_the_caller(monkeypatch):
    monkeypatch.setattr(fast, "PARALLEL_WORK", 0)
    monkeypatch.setattr(fast, "threads", lambda: 2)

    def work(i, buffers):
        if i == 3:
            raise ValueError("example 3 is broken")

    with pytest.raises(ValueError, match="example 3"):
        fast._on_threads(range(8), work, multiply_adds=1)


@pytest.mark.parametrize("shape", [(5, 3, 7, 6), (4, 9), (11,), (), (0, 4)])
@pytest.mark.parametrize("on_threads", [False, True])
def test_fast_relu_equals_its_formula(shape, on_threads, monkeypatch):
    monkeypatch.setattr(fast, "PARALLEL_WORK", 0 if on_threads else 10 ** 12)
    monkeypatch.setattr(fast, "threads", lambda: 2 if on_threads else 1)
    monkeypatch.setattr(fast, "CACHE_BLOCK", 8)  # several blocks even for these small arrays
    rng = np.random.default_rng(3)
    z = rng.standard_normal(shape).astype(np.float32)
    if z.size:
        z.flat[0] = 0.0  # the kink: derivative 0
    mask, y = fast.relu_forward_fast(z)
    np.testing.assert_array_equal(mask, z > 0)
    np.testing.assert_array_equal(y, np.maximum(z, 0))
    assert y.dtype == z.dtype
    dout = rng.standard_normal(shape)
    np.testing.assert_array_equal(fast.relu_backward_fast(dout, mask), dout * (z > 0))


MMAPPED = """
import ctypes, numpy as np
import mirkit.nn.fast as fast

class Info(ctypes.Structure):  # glibc's struct mallinfo2
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
before = libc.mallinfo2().hblkhd
a = np.empty(2 ** 24, dtype=np.float32)  # 64 MB
print(libc.mallinfo2().hblkhd - before)  # bytes of it that malloc took with mmap
"""


@pytest.mark.skipif(not fast._glibc(), reason="keep_freed_memory only acts on glibc")
@pytest.mark.parametrize("setting", ["default", "system"])
def test_keep_freed_memory_takes_big_arrays_from_the_heap(setting):
    """With mirkit's setting a 64 MB array comes from the heap (reused after free, no page faults
    again); with MIRKIT_MALLOC=system glibc maps it with mmap, and unmaps it on free."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "MIRKIT_MALLOC": setting}
    out = subprocess.run([sys.executable, "-c", MMAPPED], env=env, capture_output=True, text=True, check=True)
    mmapped = int(out.stdout.split()[-1])
    assert (mmapped == 0) if setting == "default" else (mmapped >= 2 ** 26), mmapped


def test_keep_freed_memory_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("MIRKIT_MALLOC", "system")
    assert fast.keep_freed_memory() is False
    monkeypatch.delenv("MIRKIT_MALLOC")
    assert fast.keep_freed_memory() is fast._glibc()
