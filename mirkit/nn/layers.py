"""Layers with parameters, and dropout.

Every layer follows the contract of :mod:`mirkit.nn.base`: ``forward(x)`` returns y and keeps
what backward needs; ``backward(dy)`` returns dL/dx and sets the gradient of each parameter.
The activation layers live in :mod:`mirkit.nn.activations` and are re-exported here.

Lessons: lessons/01-artificial-neuron, lessons/02-backpropagation, lessons/04-classification.
"""
from __future__ import annotations

import numpy as np

from .activations import (Heaviside, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh,
                          get_activation)
from .base import Layer, Sequential
from .init import as_rng, get_initializer, glorot_uniform

__all__ = ["Neuron", "Dense", "Dropout", "Sequential", "Heaviside", "Identity", "Sigmoid",
           "Tanh", "ReLU", "LeakyReLU", "Softmax"]


class Neuron(Layer):
    """One artificial neuron: y = f(w . x + b). (N, D) -> (N, 1). lessons/01-artificial-neuron.

    Parameters: "w" of shape (D,), "b" a scalar (shape ()).
    Forward:  z_n = sum_d w_d x_nd + b,   y_n = f(z_n).
    Gradient (lessons/02-backpropagation), with dz = dL/dy * f'(z) of shape (N,):
        dL/dw = sum_n dz_n x_n,   dL/db = sum_n dz_n,   dL/dx_n = dz_n w.
    ``activation``: "heaviside" (the perceptron; cannot be trained by gradient), "sigmoid",
    "tanh", "relu", "identity", or an activation layer.
    """

    expected_ndim = 2

    def __init__(self, n_in: int, activation="sigmoid", rng=None, dtype=np.float64):
        super().__init__()
        self.n_in = int(n_in)
        self.activation = get_activation(activation)
        self.add_param("w", glorot_uniform((self.n_in,), as_rng(rng), fan_in=self.n_in,
                                           fan_out=1, dtype=dtype))
        self.add_param("b", np.zeros((), dtype=dtype))

    def forward(self, x):
        x = self.check_input(x, expected=f"(N, {self.n_in})", last_dim=self.n_in)
        self.cache = x
        z = x @ self.params["w"].value + self.params["b"].value
        return self.activation.forward(z[:, None])

    def backward(self, dout):
        x = self.cache
        dz = self.activation.backward(dout)[:, 0]
        self.set_grad("w", x.T @ dz)
        self.set_grad("b", dz.sum())
        return dz[:, None] * self.params["w"].value

    def __repr__(self):
        return f"Neuron(n_in={self.n_in}, activation={type(self.activation).__name__})"


class Dense(Layer):
    """Fully connected layer: y = x W + b. (N, n_in) -> (N, n_out).

    Parameters: "W" of shape (n_in, n_out), "b" of shape (n_out,) (zeros at start).
    A row of x is one example, so x W is the batch version of W^T x in the lecture notes.
    Gradient (lessons/02-backpropagation), with dy = dL/dy of shape (N, n_out):
        dL/dW = x^T dy,   dL/db = sum_n dy_n,   dL/dx = dy W^T.
    ``init``: "glorot" (uniform, Keras' default) or "he" (normal, for ReLU), or a function
    of (shape, rng) from :mod:`mirkit.nn.init`. ``rng``: None, an int seed or a Generator.
    Keras equivalent: ``keras.layers.Dense(n_out)`` with the same kernel W and bias b.

    Lessons: lessons/01-artificial-neuron, lessons/02-backpropagation.
    """

    expected_ndim = 2

    def __init__(self, n_in: int, n_out: int, init="glorot", rng=None, dtype=np.float64):
        super().__init__()
        self.n_in, self.n_out = int(n_in), int(n_out)
        W = get_initializer(init)((self.n_in, self.n_out), as_rng(rng))
        self.add_param("W", np.asarray(W, dtype=dtype))
        self.add_param("b", np.zeros(self.n_out, dtype=dtype))

    def forward(self, x):
        x = self.check_input(x, expected=f"(N, {self.n_in})", last_dim=self.n_in)
        self.cache = x
        return x @ self.params["W"].value + self.params["b"].value

    def backward(self, dout):
        x = self.cache
        self.set_grad("W", x.T @ dout)
        self.set_grad("b", dout.sum(axis=0))
        return dout @ self.params["W"].value.T

    def __repr__(self):
        return f"Dense({self.n_in} -> {self.n_out}, {self.params['W'].value.dtype})"


class Dropout(Layer):
    """Inverted dropout. Any shape -> same shape (lessons/04-classification).

    Training: each unit is kept with probability 1 - p, and kept units are scaled by
    1 / (1 - p), so that E[y] = x and nothing changes at test time:
        m = 1[u >= p] / (1 - p) with u ~ U(0, 1),   y = x * m,   dL/dx = dL/dy * m.
    Evaluation (``layer.eval()``): y = x.
    The mask comes from ``rng`` (None, an int seed or a Generator): reproducible runs.
    Set ``reuse_mask = True`` to keep the last mask (for gradient checks: the forward must be
    a fixed function of x).
    Keras equivalent: ``keras.layers.Dropout(p)``.
    """

    def __init__(self, p: float = 0.5, rng=None):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p is the probability to DROP a unit, in [0, 1); got {p}")
        self.p = float(p)
        self.rng = as_rng(rng)
        self.mask = None
        self.reuse_mask = False

    def forward(self, x):
        x = self.check_input(x)
        if not self.training or self.p == 0:
            self.cache = None
            return x
        if not (self.reuse_mask and self.mask is not None and self.mask.shape == x.shape):
            keep = self.rng.random(x.shape) >= self.p
            self.mask = keep.astype(x.dtype) / (1 - self.p)
        self.cache = self.mask
        return x * self.mask

    def backward(self, dout):
        return dout if self.cache is None else dout * self.cache

    def __repr__(self):
        return f"Dropout(p={self.p})"
