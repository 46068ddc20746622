"""Convolution layers, naive and fast (lesson 05).

Layout (the package's convention, stated once here for convolution): **channels first**.

* ``Conv1D``: input (N, C_in, T), e.g. a log-mel spectrogram with its F mel bands as channels;
  weights W (C_out, C_in, k), bias b (C_out,); output (N, C_out, T_out).
* ``Conv2D``: input (N, C_in, H, W) -- for a spectrogram (N, C, F, T), frequency then time;
  weights W (C_out, C_in, kh, kw), bias b (C_out,); output (N, C_out, H_out, W_out).

Keras is channels last, (N, H, W, C) with kernels (kh, kw, C_in, C_out): the tests transpose.

The formula. Seed 000 writes the convolutional layer as y[k,f,t] = sum_c sum_p sum_q
W[k,c,p,q] x[c, f-p, t-q]. Deep learning libraries (and mirkit) compute the same thing with the
kernel flipped, a *cross-correlation*, which is what a learned kernel does not care about:

    y[n, k, i, j] = b[k] + sum_c sum_p sum_q W[k, c, p, q] * xpad[n, c, i*s_h + p*d_h, j*s_w + q*d_w]

with stride s, dilation d (seed 001's dilated convolution (x *_d w)(n) = sum_i w(i) x(n - d*i)
looks at one sample in d) and xpad the zero-padded input. It is a dense layer whose weight
matrix is mostly zero (local connectivity) with the same W repeated on every row (weight
sharing): ``conv1d_as_matrix`` builds that matrix for the lesson.

Output size along an axis of length L, effective kernel size K = (k - 1) * d + 1:

* ``"valid"``: no padding, L_out = floor((L - K) / s) + 1;
* ``"same"``: L_out = ceil(L / s), padding P = max((L_out - 1) * s + K - L, 0), with floor(P/2)
  before and the rest after -- exactly Keras' (and TensorFlow's) rule, asymmetric when P is odd;
* an int p: p zeros on both sides, L_out = floor((L + 2p - K) / s) + 1 (a pair of those,
  (p_h, p_w), pads each axis on its own).

Gradients (dy = dL/dy):

    db[k]         = sum_{n,i,j} dy[n, k, i, j]
    dW[k, c, p, q] = sum_{n,i,j} dy[n, k, i, j] * xpad[n, c, i*s_h + p*d_h, j*s_w + q*d_w]
    dxpad[n, c, i*s_h + p*d_h, j*s_w + q*d_w] += sum_k dy[n, k, i, j] * W[k, c, p, q]

Two implementations share one API, ``forward(x, W, b, stride, padding, dilation) -> (y, cache)``
and ``backward(dy, cache) -> (dx, dW, db)``:

* ``conv2d_forward_naive`` / ``conv2d_backward_naive``: explicit loops over (n, k, i, j), the
  formula above read line by line (slow: to read, and to test the fast one against);
* ``conv2d_forward_fast`` / ``conv2d_backward_fast``: im2col by numpy stride tricks
  (``sliding_window_view`` gives every receptive field as a view, no loop; one copy lays them
  out as a matrix per example) and one matrix product; the gradient is two more products and
  a scatter back with one strided add per kernel tap (kh * kw adds per block of examples).

The layers use the fast path. ``Conv1D`` is ``Conv2D`` on an (N, C, 1, T) view.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .base import Layer
from .init import as_rng, get_initializer


# -- sizes and padding ----------------------------------------------------------------------
def _pair(v, name):
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    v = tuple(int(a) for a in v)
    if len(v) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {v}")
    return v


def _pad_amounts(length, k, stride, dilation, padding):
    """(before, after, out_length) for one axis, following the rules in the module docstring."""
    eff = (k - 1) * dilation + 1
    if isinstance(padding, str):
        if padding == "valid":
            before = after = 0
        elif padding == "same":
            out = -(-length // stride)  # ceil
            total = max((out - 1) * stride + eff - length, 0)
            before, after = total // 2, total - total // 2
        else:
            raise ValueError(f"padding must be 'valid', 'same' or an int, got {padding!r}")
    elif isinstance(padding, (int, np.integer)) and padding >= 0:
        before = after = int(padding)
    else:
        raise ValueError(f"padding must be 'valid', 'same' or an int >= 0, got {padding!r}")
    out = (length + before + after - eff) // stride + 1
    if out < 1:
        raise ValueError(f"input length {length} is shorter than the (dilated) kernel {eff} "
                         f"with padding {padding!r}: use padding='same' or a smaller kernel")
    return before, after, out


def conv_output_shape(in_hw, kernel_hw, stride=1, padding="valid", dilation=1):
    """(H_out, W_out) of a 2-D convolution (or pooling) of an (H, W) input."""
    (sh, sw), (dh, dw) = _pair(stride, "stride"), _pair(dilation, "dilation")
    return (_pad_amounts(in_hw[0], kernel_hw[0], sh, dh, _axis_padding(padding, 0))[2],
            _pad_amounts(in_hw[1], kernel_hw[1], sw, dw, _axis_padding(padding, 1))[2])


def _check_conv_args(x, W, b, stride, dilation):
    x, W, b = np.asarray(x), np.asarray(W), np.asarray(b)
    if x.ndim != 4:
        raise ValueError(f"conv2d: expected x of shape (N, C_in, H, W), got shape {x.shape}")
    if W.ndim != 4:
        raise ValueError(f"conv2d: expected W of shape (C_out, C_in, kh, kw), got shape {W.shape}")
    if x.shape[1] != W.shape[1]:
        raise ValueError(f"conv2d: x has {x.shape[1]} channels (axis 1, channels first) but W "
                         f"expects C_in={W.shape[1]}; x shape {x.shape}, W shape {W.shape}")
    if b.shape != (W.shape[0],):
        raise ValueError(f"conv2d: expected b of shape ({W.shape[0]},), got shape {b.shape}")
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    if min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"stride and dilation must be >= 1, got {stride} and {dilation}")
    return x, W, b, stride, dilation


def _axis_padding(padding, axis):
    """The padding of one axis: a string or an int applies to both, a pair gives one per axis."""
    return padding if isinstance(padding, (str, int, np.integer)) else padding[axis]


def _pad(x, stride, dilation, padding, kernel_hw):
    """Zero-pad the last two axes; return xpad, (pad_top, pad_left) and (H_out, W_out)."""
    top, bottom, ho = _pad_amounts(x.shape[2], kernel_hw[0], stride[0], dilation[0],
                                   _axis_padding(padding, 0))
    left, right, wo = _pad_amounts(x.shape[3], kernel_hw[1], stride[1], dilation[1],
                                   _axis_padding(padding, 1))
    if top or bottom or left or right:
        x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    return x, (top, left), (ho, wo)


# -- cache blocking (fast paths) -------------------------------------------------------------
CACHE_BLOCK = 2 ** 18  # array elements (1 MB of float32), about what one core's L2 cache holds


def batch_blocks(n, per_example):
    """Slices of a batch of n examples, each block holding about CACHE_BLOCK elements.

    Every numpy operation is one pass over its arrays. On a whole batch (tens of MB) each pass
    goes through main memory; on a block that fits in the CPU cache it does not, and runs
    several times faster. per_example: the size of the largest temporary for one example.
    """
    step = max(1, CACHE_BLOCK // max(int(per_example), 1))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


# -- naive: loops you can read against the formula ------------------------------------------
def conv2d_forward_naive(x, W, b, stride=1, padding="valid", dilation=1):
    """2-D convolution (cross-correlation) with explicit loops. Lesson 05.

    x (N, C_in, H, W), W (C_out, C_in, kh, kw), b (C_out,) -> y (N, C_out, H_out, W_out).
    Returns (y, cache) for ``conv2d_backward_naive``.
    """
    x, W, b, (sh, sw), (dh, dw) = _check_conv_args(x, W, b, stride, dilation)
    C_out, _, kh, kw = W.shape
    xpad, pads, (ho, wo) = _pad(x, (sh, sw), (dh, dw), padding, (kh, kw))
    N = x.shape[0]
    y = np.zeros((N, C_out, ho, wo), dtype=np.result_type(x, W))
    for n in range(N):
        for k in range(C_out):
            for i in range(ho):
                for j in range(wo):
                    # the receptive field of output (i, j): every channel, kh x kw taps d apart
                    field = xpad[n, :, i * sh: i * sh + (kh - 1) * dh + 1: dh,
                                 j * sw: j * sw + (kw - 1) * dw + 1: dw]
                    y[n, k, i, j] = np.sum(W[k] * field) + b[k]
    cache = (x, W, b, (sh, sw), padding, (dh, dw))
    return y, cache


def conv2d_backward_naive(dy, cache):
    """Gradients of ``conv2d_forward_naive`` with the same loops. Lesson 05.

    dy (N, C_out, H_out, W_out) -> (dx (N, C_in, H, W), dW (C_out, C_in, kh, kw), db (C_out,)).
    """
    x, W, b, (sh, sw), padding, (dh, dw) = cache
    C_out, _, kh, kw = W.shape
    xpad, (top, left), (ho, wo) = _pad(x, (sh, sw), (dh, dw), padding, (kh, kw))
    dxpad = np.zeros_like(xpad, dtype=np.result_type(dy, x))
    dW = np.zeros_like(W, dtype=np.result_type(dy, W))
    db = np.zeros_like(b, dtype=np.result_type(dy, b))
    for n in range(x.shape[0]):
        for k in range(C_out):
            db[k] += np.sum(dy[n, k])
            for i in range(ho):
                for j in range(wo):
                    rows = slice(i * sh, i * sh + (kh - 1) * dh + 1, dh)
                    cols = slice(j * sw, j * sw + (kw - 1) * dw + 1, dw)
                    dW[k] += dy[n, k, i, j] * xpad[n, :, rows, cols]
                    dxpad[n, :, rows, cols] += dy[n, k, i, j] * W[k]
    dx = dxpad[:, :, top: top + x.shape[2], left: left + x.shape[3]]
    return dx, dW, db


# -- fast: stride tricks + one matrix product -----------------------------------------------
def _windows(xpad, kh, kw, stride, dilation, out_hw):
    """Every receptive field as a view, shape (N, C, H_out, W_out, kh, kw) -- no copy."""
    (sh, sw), (dh, dw) = stride, dilation
    v = sliding_window_view(xpad, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(2, 3))
    return v[:, :, : (out_hw[0] - 1) * sh + 1: sh, : (out_hw[1] - 1) * sw + 1: sw, ::dh, ::dw]


def conv2d_forward_fast(x, W, b, stride=1, padding="valid", dilation=1):
    """Same as ``conv2d_forward_naive``, by im2col and one matrix product. Lesson 05.

    im2col copies every receptive field once into ``cols`` of shape (N, C_in*kh*kw, L),
    L = H_out * W_out: for each example, one row per weight of a filter and one column per
    output position. Then y[n] = W_flat @ cols[n] + b with W_flat = W.reshape(C_out, -1), a
    free reshape. ``np.matmul`` broadcasts W_flat over the batch (one BLAS product per example)
    and its result (N, C_out, L) is already channels first: no transposed copy of x, W or y.
    """
    x, W, b, stride, dilation = _check_conv_args(x, W, b, stride, dilation)
    C_out, C_in, kh, kw = W.shape
    xpad, _, (ho, wo) = _pad(x, stride, dilation, padding, (kh, kw))
    win = _windows(xpad, kh, kw, stride, dilation, (ho, wo))  # (N, C_in, H_out, W_out, kh, kw)
    N = x.shape[0]
    # im2col, the one copy: ordered (N, C_in, kh, kw, H_out, W_out) so that the rows of cols[n]
    # follow W's (C_in, kh, kw) order and each innermost run is a stretch of one row of x
    cols = np.ascontiguousarray(win.transpose(0, 1, 4, 5, 2, 3)).reshape(N, C_in * kh * kw, ho * wo)
    y = np.matmul(W.reshape(C_out, -1), cols)  # (N, C_out, L): the matrix product
    y += b[:, None]
    cache = (x.shape, cols, W, stride, padding, dilation)
    return y.reshape(N, C_out, ho, wo), cache


def conv2d_backward_fast(dy, cache):
    """Gradients of ``conv2d_forward_fast``: two matrix products and a col2im scatter-add.

    With dy[n] reshaped to (C_out, L): db sums dy; dW = sum_n dy[n] @ cols[n].T (one small
    (C_out, C_in*kh*kw) product per example, summed); dcols[n] = W_flat.T @ dy[n] holds the
    gradient of every entry of cols[n], and col2im adds each kernel tap's row block of it back
    onto the input positions that tap read (kh * kw strided adds). dx is built by blocks of
    examples (``batch_blocks``) so that dcols is still in the CPU cache when col2im reads it.
    """
    x_shape, cols, W, stride, padding, dilation = cache
    C_out, C_in, kh, kw = W.shape
    N, _, H, Wd = x_shape
    top, bottom, ho = _pad_amounts(H, kh, stride[0], dilation[0], _axis_padding(padding, 0))
    left, right, wo = _pad_amounts(Wd, kw, stride[1], dilation[1], _axis_padding(padding, 1))
    dy = np.asarray(dy).reshape(N, C_out, ho * wo)  # a free view when dy is contiguous
    db = dy.sum(axis=(0, 2))
    dW = np.matmul(dy, cols.transpose(0, 2, 1)).sum(axis=0).reshape(W.shape)
    W_flat_T = W.reshape(C_out, -1).T
    dxpad = np.zeros((N, C_in, H + top + bottom, Wd + left + right), dtype=np.result_type(dy, W))
    (sh, sw), (dh, dw) = stride, dilation
    for blk in batch_blocks(N, cols[0].size):
        dcols = np.matmul(W_flat_T, dy[blk]).reshape(-1, C_in, kh, kw, ho, wo)
        for p in range(kh):  # col2im: each kernel tap sends its gradient back to the inputs it read
            for q in range(kw):
                dxpad[blk, :, p * dh: p * dh + (ho - 1) * sh + 1: sh,
                      q * dw: q * dw + (wo - 1) * sw + 1: sw] += dcols[:, :, p, q]
    dx = dxpad[:, :, top: top + H, left: left + Wd]
    return dx, dW, db


def conv1d_as_matrix(w, T):
    """The dense (T_out, T) matrix M with M @ x == valid 1-D cross-correlation of x with w.

    Each row holds the same kernel w (weight sharing), shifted by one step; everything outside
    the kernel is zero (local connectivity). Lesson 05.
    """
    w = np.asarray(w, dtype=float)
    k = w.size
    if T < k:
        raise ValueError(f"conv1d_as_matrix: T={T} is shorter than the kernel ({k})")
    M = np.zeros((T - k + 1, T))
    for i in range(T - k + 1):
        M[i, i: i + k] = w
    return M


# -- layers -----------------------------------------------------------------------------------
def _init_kernel(init, shape, rng, dtype):
    # fan_in = C_in * kh * kw for channels-first kernels (mirkit.nn.init.fans)
    return np.asarray(get_initializer(init)(shape, as_rng(rng)), dtype=dtype)


class Conv2D(Layer):
    """2-D convolution layer, channels first. Lesson 05.

    x (N, C_in, H, W) -> y (N, C_out, H_out, W_out); for a spectrogram (N, C, F, T).
    Parameters W (C_out, C_in, kh, kw) (He-initialised), b (C_out,) (zeros).
    forward:  y[n,k,i,j] = b[k] + sum_{c,p,q} W[k,c,p,q] xpad[n, c, i*s_h + p*d_h, j*s_w + q*d_w]
    backward: see the module docstring (db, dW, dx by col2im).
    padding: "valid", "same" (Keras' rule), an int or a pair; stride, dilation: int or pair.
    init: "he" (default, for ReLU) or "glorot" (Keras' default); rng: None, a seed or a Generator.
    dtype: float64 like every mirkit layer; float32 is faster (lesson 05 trains its CNN in float32).
    Keras equivalent: ``keras.layers.Conv2D(C_out, (kh, kw))`` with kernel W.transpose(2, 3, 1, 0).
    """

    expected_ndim = 4

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding="valid",
                 dilation=1, init="he", rng=None, dtype=np.float64):
        super().__init__()
        kh, kw = _pair(kernel_size, "kernel_size")
        self.stride, self.dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
        self.padding = padding
        for axis in (0, 1):  # validate the padding argument now, not at the first forward
            _pad_amounts(10 ** 6, 1, 1, 1, _axis_padding(padding, axis))
        self.add_param("W", _init_kernel(init, (out_channels, in_channels, kh, kw), rng, dtype))
        self.add_param("b", np.zeros(out_channels, dtype=dtype))

    def forward(self, x):
        C_in = self.params["W"].value.shape[1]
        x = self.check_input(x, expected=f"(N, {C_in}, H, W)", channels=C_in)
        y, self.cache = conv2d_forward_fast(x, self.params["W"].value, self.params["b"].value,
                                            self.stride, self.padding, self.dilation)
        return y

    def backward(self, dout):
        dx, dW, db = conv2d_backward_fast(dout, self.cache)
        self.set_grad("W", dW)
        self.set_grad("b", db)
        return dx

    def __repr__(self):
        K, C, kh, kw = self.params["W"].value.shape
        return (f"{type(self).__name__}({C} -> {K}, kernel {kh}x{kw}, stride {self.stride}, "
                f"padding {self.padding!r}, dilation {self.dilation})")


class Conv1D(Layer):
    """1-D convolution over time, channels first. Lessons 05 (and seed 001's TCN remark).

    x (N, C_in, T) -> y (N, C_out, T_out); for a spectrogram, the F frequency bands are the
    C_in channels, so every filter spans all frequencies and slides along time only.
    Parameters W (C_out, C_in, k), b (C_out,).
    forward:  y[n,k,t] = b[k] + sum_{c,p} W[k,c,p] xpad[n, c, t*s + p*d]   (d = dilation)
    backward: as Conv2D with a height of 1 (it runs Conv2D's code on an (N, C, 1, T) view).
    padding: "valid", "same" (Keras' rule) or an int; init, rng, dtype as in Conv2D.
    Keras equivalent: ``keras.layers.Conv1D(C_out, k, dilation_rate=d)``, kernel W.transpose(2, 1, 0).
    """

    expected_ndim = 3

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding="valid",
                 dilation=1, init="he", rng=None, dtype=np.float64):
        super().__init__()
        self.kernel_size, self.stride, self.dilation = int(kernel_size), int(stride), int(dilation)
        _pad_amounts(10 ** 6, 1, 1, 1, padding)  # validate the padding argument now
        self.padding = padding
        self.add_param("W", _init_kernel(init, (out_channels, in_channels, self.kernel_size),
                                         rng, dtype))
        self.add_param("b", np.zeros(out_channels, dtype=dtype))

    def _pad2(self):
        # the dummy height axis of length 1 is never padded ("valid" and "same" agree there)
        return self.padding if isinstance(self.padding, str) else (0, int(self.padding))

    def forward(self, x):
        C_in = self.params["W"].value.shape[1]
        x = self.check_input(x, expected=f"(N, {C_in}, T)", channels=C_in,
                             hint=": for a spectrogram, frequency bands are channels")
        W = self.params["W"].value[:, :, None, :]
        y, self.cache = conv2d_forward_fast(x[:, :, None, :], W, self.params["b"].value,
                                            (1, self.stride), self._pad2(), (1, self.dilation))
        return y[:, :, 0, :]

    def backward(self, dout):
        dx, dW, db = conv2d_backward_fast(np.asarray(dout)[:, :, None, :], self.cache)
        self.set_grad("W", dW[:, :, 0, :])
        self.set_grad("b", db)
        return dx[:, :, 0, :]

    def __repr__(self):
        K, C, k = self.params["W"].value.shape
        return (f"Conv1D({C} -> {K}, kernel {k}, stride {self.stride}, padding "
                f"{self.padding!r}, dilation {self.dilation})")
