"""Pooling and flattening layers, channels first (lessons/05-convolution).

Max pooling is subsampling (the lecture's "sous-échantillonnage"): each output is the maximum
of a pool of kh x kw inputs of one channel, pools starting every s_h rows and s_w columns ("valid": incomplete pools at the
border are dropped, H_out = floor((H - kh) / s_h) + 1):

    y[n, c, i, j] = max_{0 <= p < kh, 0 <= q < kw} x[n, c, i*s_h + p, j*s_w + q]

Backward: the maximum is locally the identity of the winning input and constant in the others,
so dy[n, c, i, j] goes entirely to the argmax of its pool (added up when pools overlap, and the
first maximum wins a tie). Convolution + max pooling gives *local* translation invariance: a
pattern moved by less than the pool size often leaves the pooled output unchanged.

Average pooling replaces the max by the mean; its gradient spreads dy / (kh * kw) evenly.
Global pooling over time turns a variable-length (N, C, T) map into a fixed (N, C) vector
(the lecture's "pooling temporel").

``maxpool2d_forward_naive`` / ``maxpool2d_forward_fast`` (and their ``backward``) share one API,
``forward(x, pool_size, stride) -> (y, cache)``, ``backward(dy, cache) -> dx``; the naive loops
are here, the fast versions (whole-array operations, one per tap of the pool) in
:mod:`mirkit.nn.fast`, and the layers use those.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .base import Layer
from .fast import maxpool2d_backward_fast, maxpool2d_forward_fast
from .padding import _pair, _pool_setup

__all__ = ["AvgPool1D", "AvgPool2D", "Flatten", "GlobalAvgPool", "GlobalMaxPool", "MaxPool1D",
           "MaxPool2D", "avgpool2d_backward", "avgpool2d_forward", "maxpool2d_backward_fast",
           "maxpool2d_backward_naive", "maxpool2d_forward_fast", "maxpool2d_forward_naive"]


def _pool_windows(x, k, s, out):
    """Every pool as a view, (N, C, H_out, W_out, kh, kw)."""
    v = sliding_window_view(x, k, axis=(2, 3))
    return v[:, :, : (out[0] - 1) * s[0] + 1: s[0], : (out[1] - 1) * s[1] + 1: s[1]]


# -- max pooling: naive --------------------------------------------------------------------
def maxpool2d_forward_naive(x, pool_size=2, stride=None):
    """Max pooling with explicit loops. x (N, C, H, W) -> y (N, C, H_out, W_out).

    stride defaults to pool_size (non-overlapping pools, as in Keras).

    Lesson: lessons/05-convolution.
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
    """2-D max pooling, x (N, C, H, W) -> (N, C, H_out, W_out), "valid". lessons/05-convolution.

    forward: y[n,c,i,j] = max_{p,q} x[n, c, i*s_h + p, j*s_w + q]; backward: dy to the argmax.
    stride defaults to pool_size. No parameters.
    """

    _forward = staticmethod(maxpool2d_forward_fast)
    _backward = staticmethod(maxpool2d_backward_fast)


class AvgPool2D(_Pool2D):
    """2-D average pooling, x (N, C, H, W) -> (N, C, H_out, W_out), "valid".

    Lesson: lessons/05-convolution.

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

    forward: y[n,c,t] = max_p x[n, c, t*s + p]; backward: dy to the argmax. lessons/05-convolution.
    """

    _pool2d = MaxPool2D


class AvgPool1D(_Pool1D):
    """Average pooling over time, x (N, C, T) -> (N, C, T_out). lessons/05-convolution.

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

    Turns a variable-length map into a fixed-size vector (the lecture's "pooling temporel").
    axis=(-2, -1) pools over frequency and time. forward: y = max_t x[..., t]; backward: dy to
    the (first) argmax.
    Lesson: lessons/05-convolution.
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
    """Mean over time (the last axis by default): (N, C, T) -> (N, C). lessons/05-convolution.

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
    learns either order. backward: reshape back. lessons/05-convolution.
    """

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim < 2:
            raise ValueError(f"Flatten: expected input of shape (N, ...), got shape {x.shape}")
        self.cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        return np.asarray(dout).reshape(self.cache)
