"""Pooling and flattening layers, channels first (lesson 05).

Max pooling is subsampling (seed 000): each output is the maximum of a pool of kh x kw inputs
of one channel, pools starting every s_h rows and s_w columns ("valid": incomplete pools at the
border are dropped, H_out = floor((H - kh) / s_h) + 1):

    y[n, c, i, j] = max_{0 <= p < kh, 0 <= q < kw} x[n, c, i*s_h + p, j*s_w + q]

Backward: the maximum is locally the identity of the winning input and constant in the others,
so dy[n, c, i, j] goes entirely to the argmax of its pool (added up when pools overlap, and the
first maximum wins a tie). Convolution + max pooling gives *local* translation invariance: a
pattern moved by less than the pool size often leaves the pooled output unchanged.

Average pooling replaces the max by the mean; its gradient spreads dy / (kh * kw) evenly.
Global pooling over time turns a variable-length (N, C, T) map into a fixed (N, C) vector
(seed 000: "pooling temporel").

``maxpool2d_forward_naive`` / ``maxpool2d_forward_fast`` (and their ``backward``) share one API,
``forward(x, pool_size, stride) -> (y, cache)``, ``backward(dy, cache) -> dx``; the layers use
the fast one, which loops over the kh*kw taps of a pool (whole-array operations on strided views)
instead of over the pools, a block of examples at a time.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .base import Layer
from .conv import _pair, batch_blocks


def _pool_setup(x, pool_size, stride):
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"pool2d: expected x of shape (N, C, H, W), got shape {x.shape}")
    (kh, kw) = _pair(pool_size, "pool_size")
    (sh, sw) = (kh, kw) if stride is None else _pair(stride, "stride")
    H, W = x.shape[2:]
    if H < kh or W < kw:
        raise ValueError(f"pool2d: input {H}x{W} is smaller than the pool {kh}x{kw}; "
                         f"got x of shape {x.shape}")
    return x, (kh, kw), (sh, sw), ((H - kh) // sh + 1, (W - kw) // sw + 1)


def _pool_windows(x, k, s, out):
    """Every pool as a view, (N, C, H_out, W_out, kh, kw)."""
    v = sliding_window_view(x, k, axis=(2, 3))
    return v[:, :, : (out[0] - 1) * s[0] + 1: s[0], : (out[1] - 1) * s[1] + 1: s[1]]


# -- max pooling: naive --------------------------------------------------------------------
def maxpool2d_forward_naive(x, pool_size=2, stride=None):
    """Max pooling with explicit loops. x (N, C, H, W) -> y (N, C, H_out, W_out). Lesson 05.

    stride defaults to pool_size (non-overlapping pools, as in Keras).
    """
    x, (kh, kw), (sh, sw), (ho, wo) = _pool_setup(x, pool_size, stride)
    N, C = x.shape[:2]
    y = np.zeros((N, C, ho, wo), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(ho):
                for j in range(wo):
                    y[n, c, i, j] = np.max(x[n, c, i * sh: i * sh + kh, j * sw: j * sw + kw])
    return y, (x, (kh, kw), (sh, sw))


def maxpool2d_backward_naive(dy, cache):
    """Route each dy[n, c, i, j] to the (first) argmax of its pool. Returns dx like x."""
    x, (kh, kw), (sh, sw) = cache
    dx = np.zeros_like(x, dtype=np.result_type(dy, x))
    N, C, ho, wo = dy.shape
    for n in range(N):
        for c in range(C):
            for i in range(ho):
                for j in range(wo):
                    pool = x[n, c, i * sh: i * sh + kh, j * sw: j * sw + kw]
                    p, q = np.unravel_index(np.argmax(pool), pool.shape)
                    dx[n, c, i * sh + p, j * sw + q] += dy[n, c, i, j]
    return dx


# -- max pooling: fast ---------------------------------------------------------------------
def _taps(a, k, s, out):
    """Yield (t, view): for each pool tap (p, q), t = p * kw + q and the (N, C, H_out, W_out)
    strided view of the input element at that tap in every pool."""
    for p in range(k[0]):
        for q in range(k[1]):
            yield p * k[1] + q, a[:, :, p: p + (out[0] - 1) * s[0] + 1: s[0],
                                  q: q + (out[1] - 1) * s[1] + 1: s[1]]


def maxpool2d_forward_fast(x, pool_size=2, stride=None):
    """Same as ``maxpool2d_forward_naive``, looping over the kh*kw pool taps instead of the pools.

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
    for blk in batch_blocks(N, x[0].size):
        taps = [np.ascontiguousarray(view) for _, view in _taps(x[blk], k, s, out)]
        yb, argb = y[blk], arg[blk]  # views: filling them fills y and arg
        np.copyto(yb, taps[0])
        for tap in taps[1:]:
            np.maximum(yb, tap, out=yb)
        before = np.ones(yb.shape, dtype=bool)  # no tap so far held the maximum
        for tap in taps[:-1]:
            before &= tap != yb
            argb += before
    return y, (x.shape, x.dtype, arg, k, s)


def maxpool2d_backward_fast(dy, cache):
    """One strided pass per pool tap (p, q): inputs that won their pool get dy, others 0.

    By blocks of examples, like the forward pass."""
    x_shape, dtype, arg, k, s = cache
    dy = np.asarray(dy)
    dx = np.zeros(x_shape, dtype=np.result_type(dy, dtype))
    disjoint = s[0] >= k[0] and s[1] >= k[1]  # each input in at most one pool: no sums needed
    for blk in batch_blocks(x_shape[0], dx[0].size):
        for t, view in _taps(dx[blk], k, s, arg.shape[2:]):
            if disjoint:
                np.multiply(dy[blk], arg[blk] == t, out=view)
            else:
                view += dy[blk] * (arg[blk] == t)
    return dx


# -- average pooling -----------------------------------------------------------------------
def avgpool2d_forward(x, pool_size=2, stride=None):
    """Average pooling: y = mean of each pool. x (N, C, H, W) -> (N, C, H_out, W_out)."""
    x, k, s, out = _pool_setup(x, pool_size, stride)
    return _pool_windows(x, k, s, out).mean(axis=(-2, -1)), (x.shape, x.dtype, k, s)


def avgpool2d_backward(dy, cache):
    """Each input receives dy / (kh * kw) from every pool that contains it."""
    x_shape, dtype, (kh, kw), (sh, sw) = cache
    dy = np.asarray(dy)
    ho, wo = dy.shape[2:]
    dx = np.zeros(x_shape, dtype=np.result_type(dy, dtype))
    share = dy / (kh * kw)
    for p in range(kh):
        for q in range(kw):
            dx[:, :, p: p + (ho - 1) * sh + 1: sh, q: q + (wo - 1) * sw + 1: sw] += share
    return dx


# -- layers ----------------------------------------------------------------------------------
class _Pool2D(Layer):
    expected_ndim = 4
    _forward = _backward = None

    def __init__(self, pool_size=2, stride=None):
        super().__init__()
        self.pool_size = _pair(pool_size, "pool_size")
        self.stride = self.pool_size if stride is None else _pair(stride, "stride")

    def forward(self, x):
        x = self.check_input(x, expected="(N, C, H, W)")
        y, self.cache = type(self)._forward(x, self.pool_size, self.stride)
        return y

    def backward(self, dout):
        return type(self)._backward(dout, self.cache)

    def __repr__(self):
        return f"{type(self).__name__}(pool {self.pool_size}, stride {self.stride})"


class MaxPool2D(_Pool2D):
    """2-D max pooling, x (N, C, H, W) -> (N, C, H_out, W_out), "valid". Lesson 05.

    forward: y[n,c,i,j] = max_{p,q} x[n, c, i*s_h + p, j*s_w + q]; backward: dy to the argmax.
    stride defaults to pool_size. No parameters.
    """

    _forward = staticmethod(maxpool2d_forward_fast)
    _backward = staticmethod(maxpool2d_backward_fast)


class AvgPool2D(_Pool2D):
    """2-D average pooling, x (N, C, H, W) -> (N, C, H_out, W_out), "valid". Lesson 05.

    forward: y[n,c,i,j] = mean_{p,q} x[n, c, i*s_h + p, j*s_w + q]; backward: dy / (kh kw) to
    every input of the pool. stride defaults to pool_size. No parameters.
    """

    _forward = staticmethod(avgpool2d_forward)
    _backward = staticmethod(avgpool2d_backward)


class _Pool1D(Layer):
    """A 1-D pool over time is the 2-D pool of an (N, C, 1, T) view with a 1 x k pool."""

    expected_ndim = 3
    _pool2d = None

    def __init__(self, pool_size=2, stride=None):
        super().__init__()
        self.pool_size = int(pool_size)
        self.stride = self.pool_size if stride is None else int(stride)
        self._inner = type(self)._pool2d((1, self.pool_size), (1, self.stride))

    def forward(self, x):
        x = self.check_input(x, expected="(N, C, T)")
        return self._inner.forward(x[:, :, None, :])[:, :, 0, :]

    def backward(self, dout):
        return self._inner.backward(np.asarray(dout)[:, :, None, :])[:, :, 0, :]

    def __repr__(self):
        return f"{type(self).__name__}(pool {self.pool_size}, stride {self.stride})"


class MaxPool1D(_Pool1D):
    """Max pooling over time, x (N, C, T) -> (N, C, T_out), T_out = floor((T - k) / s) + 1.

    forward: y[n,c,t] = max_p x[n, c, t*s + p]; backward: dy to the argmax. Lesson 05.
    """

    _pool2d = MaxPool2D


class AvgPool1D(_Pool1D):
    """Average pooling over time, x (N, C, T) -> (N, C, T_out). Lesson 05.

    forward: y[n,c,t] = mean_p x[n, c, t*s + p]; backward: dy / k to each input of the pool.
    """

    _pool2d = AvgPool2D


class _GlobalPool(Layer):
    expected_ndim = (3, 4)

    def __init__(self, axis=-1):
        super().__init__()
        self.axis = axis

    def _axes(self, ndim):
        axes = (self.axis,) if isinstance(self.axis, (int, np.integer)) else tuple(self.axis)
        axes = tuple(sorted(a % ndim for a in axes))
        if 0 in axes or 1 in axes:
            raise ValueError(f"{type(self).__name__}: cannot pool over the batch or channel axis "
                             f"(axis={self.axis} for a {ndim}-D input); pool over time (-1)")
        return axes


class GlobalMaxPool(_GlobalPool):
    """Maximum over time (the last axis by default): (N, C, T) -> (N, C), (N, C, F, T) -> (N, C, F).

    Turns a variable-length map into a fixed-size vector (seed 000). axis=(-2, -1) pools over
    frequency and time. forward: y = max_t x[..., t]; backward: dy to the (first) argmax. Lesson 05.
    """

    def forward(self, x):
        x = self.check_input(x, expected="(N, C, T) or (N, C, F, T)")
        axes = self._axes(x.ndim)
        keep = [a for a in range(x.ndim) if a not in axes]
        moved = np.moveaxis(x, axes, range(x.ndim - len(axes), x.ndim))
        flat = moved.reshape(*moved.shape[: len(keep)], -1)
        arg = flat.argmax(axis=-1)
        self.cache = (x.shape, moved.shape, axes, arg)
        return np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]

    def backward(self, dout):
        x_shape, moved_shape, axes, arg = self.cache
        dout = np.asarray(dout)
        dflat = np.zeros((*arg.shape, int(np.prod(moved_shape[arg.ndim:]))), dtype=dout.dtype)
        np.put_along_axis(dflat, arg[..., None], dout[..., None], axis=-1)
        moved = dflat.reshape(moved_shape)
        return np.moveaxis(moved, range(len(x_shape) - len(axes), len(x_shape)), axes)


class GlobalAvgPool(_GlobalPool):
    """Mean over time (the last axis by default): (N, C, T) -> (N, C). Lesson 05.

    forward: y = (1/T) sum_t x[..., t]; backward: dx[..., t] = dy / T. axis=(-2, -1) for both.
    """

    def forward(self, x):
        x = self.check_input(x, expected="(N, C, T) or (N, C, F, T)")
        axes = self._axes(x.ndim)
        self.cache = (x.shape, axes)
        return x.mean(axis=axes)

    def backward(self, dout):
        x_shape, axes = self.cache
        count = int(np.prod([x_shape[a] for a in axes]))
        return np.broadcast_to(np.expand_dims(np.asarray(dout) / count, axes), x_shape).copy()


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...), in C order (channels first, then F, then T).

    Keras' Flatten on channels-last data orders features differently; a Dense layer after it
    learns either order. backward: reshape back. Lesson 05.
    """

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim < 2:
            raise ValueError(f"Flatten: expected input of shape (N, ...), got shape {x.shape}")
        self.cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        return np.asarray(dout).reshape(self.cache)
