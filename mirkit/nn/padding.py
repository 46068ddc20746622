"""Output sizes and zero padding of convolutions and pools (lessons/05-convolution).

Along an axis of length L, a kernel of size k with dilation d spans K = (k - 1) * d + 1 inputs:

* ``"valid"``: no padding, L_out = floor((L - K) / s) + 1;
* ``"same"``: L_out = ceil(L / s), padding P = max((L_out - 1) * s + K - L, 0), with floor(P/2)
  before and the rest after -- exactly Keras' (and TensorFlow's) rule, asymmetric when P is odd;
* an int p: p zeros on both sides, L_out = floor((L + 2p - K) / s) + 1 (a pair of those,
  (p_h, p_w), pads each axis on its own).

Shared by the readable layers (:mod:`mirkit.nn.conv`, :mod:`mirkit.nn.pool`) and the fast
paths (:mod:`mirkit.nn.fast`), so that they agree on every size.
"""
from __future__ import annotations

import numpy as np


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


def _axis_padding(padding, axis):
    """The padding of one axis: a string or an int applies to both, a pair gives one per axis."""
    return padding if isinstance(padding, (str, int, np.integer)) else padding[axis]


def conv_output_shape(in_hw, kernel_hw, stride=1, padding="valid", dilation=1):
    """(H_out, W_out) of a 2-D convolution (or pooling) of an (H, W) input.

    Lesson: lessons/05-convolution.
    """
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


def _conv_pads(x_hw, kernel_hw, stride, dilation, padding):
    """((top, bottom), (left, right)) zeros and (H_out, W_out) of a 2-D convolution."""
    top, bottom, ho = _pad_amounts(x_hw[0], kernel_hw[0], stride[0], dilation[0],
                                   _axis_padding(padding, 0))
    left, right, wo = _pad_amounts(x_hw[1], kernel_hw[1], stride[1], dilation[1],
                                   _axis_padding(padding, 1))
    return ((top, bottom), (left, right)), (ho, wo)


def _pad(x, stride, dilation, padding, kernel_hw):
    """Zero-pad the last two axes; return xpad, (pad_top, pad_left) and (H_out, W_out)."""
    ((top, bottom), (left, right)), out_hw = _conv_pads(x.shape[2:], kernel_hw, stride, dilation,
                                                        padding)
    if top or bottom or left or right:
        x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    return x, (top, left), out_hw


def _pool_setup(x, pool_size, stride):
    """Check a pooling input; return x, (kh, kw), (s_h, s_w) and (H_out, W_out) ("valid")."""
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
