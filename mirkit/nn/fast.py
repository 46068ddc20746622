"""Fast convolution and max pooling: the same numbers as the readable loops, for training.

lessons/05-convolution reads the loops of :mod:`mirkit.nn.conv` and :mod:`mirkit.nn.pool`;
the layers run these versions, which share their API and are tested against them
(``tests/test_conv.py``, ``tests/test_fast_nn.py``). Nothing here changes the maths.

Convolution, im2col. For one example, im2col copies every receptive field once into a matrix
``cols`` of shape (C_in*kh*kw, L), L = H_out * W_out: one row per weight of a filter, one column
per output position. Then the convolution is one matrix product, and so are its gradients:

    y     = W_flat @ cols + b          W_flat = W.reshape(C_out, C_in*kh*kw), a free reshape
    dW    = sum_n dy[n] @ cols[n]^T    (C_out, L) @ (L, C_in*kh*kw), computed transposed
    dcols = W_flat^T @ dy[n]           then col2im: each kernel tap (p, q) adds its rows of dcols
                                       back onto the inputs it read (kh * kw strided additions)

Why it is fast: the matrix products run in BLAS. How it stays fast:

* one example at a time, with buffers reused from example to example: an example's ``cols``
  (about 2 MB for a 16-channel 63 x 63 map) stays in the CPU cache between the copy that fills
  it and the product that reads it; a whole batch of them would not (tens of MB).
* with stride 1 (the usual case), outputs are computed on rows of the full padded width and the
  extra ones cropped (:func:`_flat_windows`): im2col and col2im then move a few long runs of
  memory per channel instead of one short run per output row.
* backward builds ``cols`` again instead of keeping the batch's copy from forward: a copy from
  the cache costs less than writing and re-reading a batch-sized array in main memory.
* the examples are shared between threads (one per core BLAS may use, see :func:`threads`),
  each running BLAS on one thread: numpy releases the GIL in copies and matrix products, and a
  few large independent products keep two cores busy better than many small multi-threaded ones.

ReLU (``relu_forward_fast``, ``relu_backward_fast``): the same two numpy lines as
:class:`mirkit.nn.ReLU`'s formula, run on blocks of examples shared between threads (on a
spectrogram batch they are passes over tens of MB, limited by memory traffic per core).

Memory (:func:`keep_freed_memory`, called on import): glibc hands every array above 32 MB
straight back to the system when it is freed, so the next step's array of the same size is
page-faulted in again and zeroed by the kernel: one more pass over memory per big array, about
a fifth of a training step on spectrogram batches. mirkit asks glibc to keep freed memory for
reuse instead, as TensorFlow's and PyTorch's allocators do. ``MIRKIT_MALLOC=system`` turns it off.

Max pooling loops over the kh*kw taps of a pool (whole-array operations on strided views)
instead of over the pools, a block of examples at a time (:func:`batch_blocks`), the blocks
shared between threads like the convolution's examples (pooling is limited by memory traffic:
two threads help less than they do for the matrix products).
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from .padding import _check_conv_args, _conv_pads, _pad, _pool_setup

PARALLEL_WORK = 2 ** 22  # multiply-adds per call below which threads cost more than they save


# -- memory ------------------------------------------------------------------------------------
def _glibc():
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (AttributeError, ValueError, OSError):  # not a glibc system
        return False


def keep_freed_memory(limit=2 ** 30):
    """Let glibc reuse freed blocks of up to ``limit`` bytes instead of returning them to the
    system (see the module docstring). True if it was set; a no-op (False) off glibc or with
    ``MIRKIT_MALLOC=system``. The process keeps its peak memory until it exits."""
    if os.environ.get("MIRKIT_MALLOC") == "system" or not _glibc():
        return False
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # from <malloc.h>
    # big blocks from the heap, not from mmap; and the heap's free top kept, not trimmed
    return bool(libc.mallopt(M_MMAP_THRESHOLD, int(limit)) and libc.mallopt(M_TRIM_THRESHOLD, int(limit)))


keep_freed_memory()


# -- threads ---------------------------------------------------------------------------------
_blas_controller = None
_pool, _pool_pid = None, None


def _blas():
    global _blas_controller
    if _blas_controller is None:
        from threadpoolctl import ThreadpoolController
        _blas_controller = ThreadpoolController()
    return _blas_controller


def threads():
    """Threads the fast convolution uses: as many as BLAS may (``threadpoolctl.threadpool_limits(1)``
    gives one), at most the number of CPUs."""
    counts = [lib["num_threads"] for lib in _blas().info() if lib["user_api"] == "blas"]
    return max(1, min(counts + [os.cpu_count() or 1]))


def _on_threads(items, work, multiply_adds):
    """Call ``work(item, buffers)`` for every item (an example, a block of examples); ``buffers``
    is a dict of arrays that one thread reuses from item to item.

    Several threads take items in turn (so a thread slowed by the machine's load takes fewer);
    BLAS is limited to one thread meanwhile, so that the threads do not compete inside BLAS.
    Small jobs (``multiply_adds`` below PARALLEL_WORK) stay on the calling thread.
    """
    global _pool, _pool_pid
    items = list(items)
    k = min(threads(), len(items)) if multiply_adds >= PARALLEL_WORK else 1
    if k <= 1:
        buffers = {}
        for item in items:
            work(item, buffers)
        return
    if _pool is None or _pool_pid != os.getpid() or _pool._max_workers < k:
        _pool, _pool_pid = ThreadPoolExecutor(k, thread_name_prefix="mirkit"), os.getpid()
    todo, lock = iter(items), threading.Lock()

    def worker():
        buffers = {}
        while True:
            with lock:
                item = next(todo, None)
            if item is None:
                return
            work(item, buffers)

    with _blas().limit(limits=1, user_api="blas"):
        futures = [_pool.submit(worker) for _ in range(k)]
        errors = [f.exception() for f in futures]  # wait for every thread before going on
    for error in errors:
        if error is not None:
            raise error


def _buffer(buffers, name, shape, dtype):
    b = buffers.get(name)
    if b is None or b.shape != shape or b.dtype != dtype:
        b = buffers[name] = np.empty(shape, dtype)
    return b


# -- convolution -------------------------------------------------------------------------------
def _windows(xpad, kh, kw, stride, dilation, out_hw):
    """Every receptive field as a view, (N, C, kh, kw, H_out, W_out) -- no copy.

    Axes in W's (C_in, kh, kw) order then the output position, so that copying example n of
    this view fills its ``cols`` matrix row by row, each innermost run a stretch of one row of x.
    """
    (sh, sw), (dh, dw) = stride, dilation
    v = sliding_window_view(xpad, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(2, 3))
    v = v[:, :, : (out_hw[0] - 1) * sh + 1: sh, : (out_hw[1] - 1) * sw + 1: sw, ::dh, ::dw]
    return v.transpose(0, 1, 4, 5, 2, 3)


def _flat_windows(xpad, kh, kw, dilation, out_hw):
    """Stride 1: the receptive fields on rows of the full padded width, (N, C, kh, kw, H_out * Wp).

    With stride 1, tap (p, q) of output (i, j) reads xpad[i + p d_h, j + q d_w], which in a
    channel stored row after row is element (i Wp + j) + (p d_h Wp + q d_w): for each tap, the
    outputs of *all* rows are one contiguous run of the channel, H_out * Wp long, if we also
    compute the Wp - W_out outputs j >= W_out that wrap onto the next row (and crop them).
    Long runs make im2col and col2im a few long copies instead of many short ones.
    xpad must be followed in memory by (kw - 1) d_w readable elements (the last run's wrap).
    """
    N, C, Hp, Wp = xpad.shape
    (dh, dw), step = dilation, xpad.itemsize
    return as_strided(xpad, (N, C, kh, kw, out_hw[0] * Wp),
                      (C * Hp * Wp * step, Hp * Wp * step, dh * Wp * step, dw * step, step),
                      writeable=False)


def _padded_flat(x, pads, tail, dtype):
    """x zero-padded on its last two axes, in a buffer with `tail` more zeros after its end."""
    (top, bottom), (left, right) = pads
    N, C, H, W = x.shape
    shape = (N, C, H + top + bottom, W + left + right)
    buf = np.zeros(int(np.prod(shape)) + tail, dtype=dtype)
    xpad = buf[: buf.size - tail].reshape(shape)
    xpad[:, :, top: top + H, left: left + W] = x
    return xpad


def _cols(win, n, buffers):
    """cols of example n, (C_in*kh*kw, L), in this thread's reused buffer."""
    cols = _buffer(buffers, "cols", win.shape[1:], win.dtype)
    np.copyto(cols, win[n])
    return cols.reshape(-1, int(np.prod(win.shape[4:])))


def conv2d_forward_fast(x, W, b, stride=1, padding="valid", dilation=1):
    """Same as :func:`mirkit.nn.conv2d_forward_naive`, by im2col and one matrix product per example.

    x (N, C_in, H, W), W (C_out, C_in, kh, kw), b (C_out,) -> y (N, C_out, H_out, W_out), cache.
    """
    x, W, b, stride, dilation = _check_conv_args(x, W, b, stride, dilation)
    C_out, C_in, kh, kw = W.shape
    pads, (ho, wo) = _conv_pads(x.shape[2:], (kh, kw), stride, dilation, padding)
    dtype = np.result_type(x, W)
    flat = stride == (1, 1)
    if flat:
        xpad = _padded_flat(x, pads, (kw - 1) * dilation[1], dtype)
        win = _flat_windows(xpad, kh, kw, dilation, (ho, wo))
    else:
        xpad, _, _ = _pad(x.astype(dtype, copy=False), stride, dilation, padding, (kh, kw))
        win = _windows(xpad, kh, kw, stride, dilation, (ho, wo))
    Wp = xpad.shape[3]
    W_flat = W.reshape(C_out, -1).astype(dtype, copy=False)
    bias = b.astype(dtype, copy=False)[:, None, None]
    N = x.shape[0]
    y = np.empty((N, C_out, ho, wo), dtype=dtype)

    def one(n, buffers):
        cols = _cols(win, n, buffers)
        if flat:  # outputs on the full padded width, then the W_out real ones (+ b, same pass)
            y_full = _buffer(buffers, "y", (C_out, ho * Wp), dtype)
            np.matmul(W_flat, cols, out=y_full)
            np.add(y_full.reshape(C_out, ho, Wp)[:, :, :wo], bias, out=y[n])
        else:
            np.matmul(W_flat, cols, out=y[n].reshape(C_out, -1))
            y[n] += bias

    _on_threads(range(N), one, y.size * W_flat.shape[1])
    cache = (x.shape, win, W, stride, pads, dilation)
    return y, cache


def conv2d_backward_fast(dy, cache):
    """Gradients of :func:`conv2d_forward_fast`: two matrix products and a col2im per example.

    dy (N, C_out, H_out, W_out) -> (dx (N, C_in, H, W), dW (C_out, C_in, kh, kw), db (C_out,)).
    """
    x_shape, win, W, (sh, sw), ((top, bottom), (left, right)), (dh, dw) = cache
    C_out, C_in, kh, kw = W.shape
    N, _, H, Wd = x_shape
    Hp, Wp = H + top + bottom, Wd + left + right
    dy = np.asarray(dy)
    ho, wo = dy.shape[2:]
    dtype = np.result_type(dy, W, win)
    dy = dy.astype(dtype, copy=False)
    W_flat_T = np.ascontiguousarray(W.reshape(C_out, -1).T, dtype=dtype)
    dW_T_parts = np.empty((N, C_in * kh * kw, C_out), dtype=dtype)  # dW^T: the faster product
    db_parts = np.empty((N, C_out), dtype=dtype)
    dxpad = np.zeros((N, C_in, Hp, Wp), dtype=dtype)
    flat = (sh, sw) == (1, 1)
    L = ho * Wp if flat else ho * wo

    def one(n, buffers):
        if flat:  # dy on the full padded width: zeros for the wrapped outputs (they were cropped)
            d = _buffer(buffers, "dy", (C_out, ho, Wp), dtype)
            d[:, :, wo:] = 0
            d[:, :, :wo] = dy[n]
            d = d.reshape(C_out, L)
        else:
            d = dy[n].reshape(C_out, L)
        d.sum(axis=1, out=db_parts[n])  # the wrapped outputs are 0: they add nothing to db
        # (dy[n] @ cols^T)^T; np.dot, not matmul: matmul did not run this long, thin product on
        # two threads at once here (numpy 2.4, OpenBLAS), np.dot does
        np.dot(_cols(win, n, buffers), d.T, out=dW_T_parts[n])
        dcols = _buffer(buffers, "dcols", (C_in * kh * kw, L), dtype)
        np.matmul(W_flat_T, d, out=dcols)
        dcols = dcols.reshape(C_in, kh, kw, L)
        dx = dxpad[n].reshape(C_in, Hp * Wp) if flat else dxpad[n]
        for p in range(kh):  # col2im: each kernel tap sends its gradient back to the inputs it read
            for q in range(kw):
                if flat:  # one run per channel; the wrapped tail past the channel's end is 0
                    start = p * dh * Wp + q * dw
                    run = min(L, Hp * Wp - start)
                    dx[:, start: start + run] += dcols[:, p, q, :run]
                else:
                    dx[:, p * dh: p * dh + (ho - 1) * sh + 1: sh,
                       q * dw: q * dw + (wo - 1) * sw + 1: sw] += dcols[:, p, q].reshape(C_in, ho, wo)

    _on_threads(range(N), one, 2 * dy.size * W_flat_T.shape[0])
    db = db_parts.sum(axis=0)
    dW = dW_T_parts.sum(axis=0).T.reshape(W.shape)
    return dxpad[:, :, top: top + H, left: left + Wd], dW, db


# -- ReLU --------------------------------------------------------------------------------------
def relu_forward_fast(z):
    """Same as ``(z > 0, np.maximum(z, 0))``: returns (mask, y), by blocks of examples on threads."""
    z = np.asarray(z)
    if z.ndim == 0 or len(z) == 0:  # no examples to share out
        return z > 0, np.maximum(z, 0)
    mask, y = np.empty(z.shape, dtype=bool), np.empty_like(z)

    def block(blk, _):
        np.greater(z[blk], 0, out=mask[blk])
        np.maximum(z[blk], 0, out=y[blk])

    _on_threads(batch_blocks(len(z), z[0].size), block, z.size)
    return mask, y


def relu_backward_fast(dout, mask):
    """Same as ``dout * mask``, by blocks of examples on threads."""
    dout = np.asarray(dout)
    if dout.ndim == 0 or len(dout) == 0 or dout.shape != mask.shape:  # nothing to share, or broadcasting
        return dout * mask
    dz = np.empty(dout.shape, dtype=np.result_type(dout, mask))

    def block(blk, _):
        np.multiply(dout[blk], mask[blk], out=dz[blk])

    _on_threads(batch_blocks(len(dout), dout[0].size), block, dout.size)
    return dz


# -- max pooling ---------------------------------------------------------------------------------
CACHE_BLOCK = 2 ** 18  # array elements (1 MB of float32), about what one core's L2 cache holds


def batch_blocks(n, per_example):
    """Slices of a batch of n examples, each block holding about CACHE_BLOCK elements.

    Every numpy operation is one pass over its arrays. On a whole batch (tens of MB) each pass
    goes through main memory; on a block that fits in the CPU cache it does not, and runs
    several times faster. per_example: the size of the largest temporary for one example.
    """
    step = max(1, CACHE_BLOCK // max(int(per_example), 1))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


def _taps(a, k, s, out):
    """Yield (t, view): for each pool tap (p, q), t = p * kw + q and the (N, C, H_out, W_out)
    strided view of the input element at that tap in every pool."""
    for p in range(k[0]):
        for q in range(k[1]):
            yield p * k[1] + q, a[:, :, p: p + (out[0] - 1) * s[0] + 1: s[0],
                                  q: q + (out[1] - 1) * s[1] + 1: s[1]]


def maxpool2d_forward_fast(x, pool_size=2, stride=None):
    """Same as :func:`mirkit.nn.maxpool2d_forward_naive`, looping over the kh*kw pool taps.

    Each tap (the input element at offset (p, q) of every pool) is copied once into a contiguous
    array: numpy's loops run several times faster on contiguous data than on stride-2 views.
    Then the running maximum over the taps, and, for backward, the index of the first tap
    holding it (ties go to the first maximum, as np.argmax does in the naive loop): that index
    is the number of taps *before* the first maximum, so it is counted with one comparison and
    one addition per tap (masked assignments are much slower in numpy). The work goes by blocks
    of examples (``batch_blocks``) so that these temporaries stay in the CPU cache.
    """
    x, k, s, out = _pool_setup(x, pool_size, stride)
    N, C = x.shape[:2]
    y = np.empty((N, C, *out), dtype=x.dtype)
    arg = np.zeros((N, C, *out), dtype=np.int8 if k[0] * k[1] < 128 else np.int64)

    def block(blk, _):
        taps = [np.ascontiguousarray(view) for _, view in _taps(x[blk], k, s, out)]
        yb, argb = y[blk], arg[blk]  # views: filling them fills y and arg
        np.copyto(yb, taps[0])
        for tap in taps[1:]:
            np.maximum(yb, tap, out=yb)
        before = np.ones(yb.shape, dtype=bool)  # no tap so far held the maximum
        for tap in taps[:-1]:
            before &= tap != yb
            argb += before

    _on_threads(batch_blocks(N, x[0].size), block, x.size)
    return y, (x.shape, x.dtype, arg, k, s)


def maxpool2d_backward_fast(dy, cache):
    """One strided pass per pool tap (p, q): inputs that won their pool get dy, others 0.

    By blocks of examples, like the forward pass."""
    x_shape, dtype, arg, k, s = cache
    dy = np.asarray(dy)
    disjoint = s[0] >= k[0] and s[1] >= k[1]  # each input in at most one pool: no sums needed
    # pools that tile the input exactly write every element of dx once: no zeros needed first
    tiled = s == k and arg.shape[2] * k[0] == x_shape[2] and arg.shape[3] * k[1] == x_shape[3]
    dx = (np.empty if tiled else np.zeros)(x_shape, dtype=np.result_type(dy, dtype))

    def block(blk, _):
        for t, view in _taps(dx[blk], k, s, arg.shape[2:]):
            if disjoint:
                np.multiply(dy[blk], arg[blk] == t, out=view)
            else:
                view += dy[blk] * (arg[blk] == t)

    _on_threads(batch_blocks(x_shape[0], dx[0].size), block, dx.size)
    return dx
