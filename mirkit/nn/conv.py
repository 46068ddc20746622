"""Convolution layers, channels first (lessons/05-convolution).

Layout (the package's convention, stated once here for convolution): **channels first**.

* ``Conv1D``: input (N, C_in, T), e.g. a log-mel spectrogram with its F mel bands as channels;
  weights W (C_out, C_in, k), bias b (C_out,); output (N, C_out, T_out).
* ``Conv2D``: input (N, C_in, H, W) -- for a spectrogram (N, C, F, T), frequency then time;
  weights W (C_out, C_in, kh, kw), bias b (C_out,); output (N, C_out, H_out, W_out).

Keras is channels last, (N, H, W, C) with kernels (kh, kw, C_in, C_out): the tests transpose.

The formula. The lecture writes the convolutional layer as y[k,f,t] = sum_c sum_p sum_q
W[k,c,p,q] x[c, f-p, t-q]. Deep learning libraries (and mirkit) compute the same thing with the
kernel flipped, a *cross-correlation*, which is what a learned kernel does not care about:

    y[n, k, i, j] = b[k] + sum_c sum_p sum_q W[k, c, p, q] * xpad[n, c, i*s_h + p*d_h, j*s_w + q*d_w]

with stride s, dilation d (the lecture's dilated convolution (x *_d w)(n) = sum_i w(i) x(n - d*i)
looks at one sample in d) and xpad the zero-padded input. It is a dense layer whose weight
matrix is mostly zero (local connectivity) with the same W repeated on every row (weight
sharing): ``conv1d_as_matrix`` builds that matrix for the lesson. Output sizes and padding
("valid", "same", an int): :mod:`mirkit.nn.padding`.

Gradients (dy = dL/dy):

    db[k]         = sum_{n,i,j} dy[n, k, i, j]
    dW[k, c, p, q] = sum_{n,i,j} dy[n, k, i, j] * xpad[n, c, i*s_h + p*d_h, j*s_w + q*d_w]
    dxpad[n, c, i*s_h + p*d_h, j*s_w + q*d_w] += sum_k dy[n, k, i, j] * W[k, c, p, q]

Two implementations share one API, ``forward(x, W, b, stride, padding, dilation) -> (y, cache)``
and ``backward(dy, cache) -> (dx, dW, db)``:

* ``conv2d_forward_naive`` / ``conv2d_backward_naive`` (here): explicit loops over (n, k, i, j),
  the formula above read line by line (slow: to read, and to test the fast one against);
* ``conv2d_forward_fast`` / ``conv2d_backward_fast`` (:mod:`mirkit.nn.fast`): im2col and
  matrix products, the same numbers. The layers use them. ``Conv1D`` is ``Conv2D`` on an
  (N, C, 1, T) view.
"""
from __future__ import annotations

import numpy as np

from .base import Layer
from .fast import conv2d_backward_fast, conv2d_forward_fast
from .init import as_rng, get_initializer
from .padding import _axis_padding, _check_conv_args, _pad, _pad_amounts, _pair, conv_output_shape

__all__ = ["Conv1D", "Conv2D", "conv1d_as_matrix", "conv2d_backward_fast", "conv2d_backward_naive",
           "conv2d_forward_fast", "conv2d_forward_naive", "conv_output_shape"]


# -- naive: loops you can read against the formula ------------------------------------------
def conv2d_forward_naive(x, W, b, stride=1, padding="valid", dilation=1):
    """2-D convolution (cross-correlation) with explicit loops. lessons/05-convolution.

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
    """Gradients of ``conv2d_forward_naive`` with the same loops. lessons/05-convolution.

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


def conv1d_as_matrix(w, T):
    """The dense (T_out, T) matrix M with M @ x == valid 1-D cross-correlation of x with w.

    Each row holds the same kernel w (weight sharing), shifted by one step; everything outside
    the kernel is zero (local connectivity). lessons/05-convolution.
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
    """2-D convolution layer, channels first. lessons/05-convolution.

    x (N, C_in, H, W) -> y (N, C_out, H_out, W_out); for a spectrogram (N, C, F, T).
    Parameters W (C_out, C_in, kh, kw) (He-initialised), b (C_out,) (zeros).
    forward:  y[n,k,i,j] = b[k] + sum_{c,p,q} W[k,c,p,q] xpad[n, c, i*s_h + p*d_h, j*s_w + q*d_w]
    backward: see the module docstring (db, dW, dx).
    Both run :mod:`mirkit.nn.fast` (im2col and matrix products: the naive loops' numbers, faster).
    padding: "valid", "same" (Keras' rule), an int or a pair; stride, dilation: int or pair.
    init: "he" (default, for ReLU) or "glorot" (Keras' default); rng: None, a seed or a Generator.
    dtype: float64 like every mirkit layer; float32 is faster (lessons/05-convolution trains its
    CNN in float32).
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
    """1-D convolution over time, channels first (a TCN's layer). lessons/05-convolution.

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
