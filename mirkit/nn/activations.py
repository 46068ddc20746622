"""Activation functions: element-wise non-linearities, and softmax.

Each activation exists twice: a plain function (``sigmoid(z)``) for plots and formulas, and a
layer (``Sigmoid()``) with the forward/backward contract of :mod:`mirkit.nn.base`.
Element-wise layers accept any shape; backward multiplies dL/dy by the local derivative:

    dL/dz = dL/dy * f'(z)          (element-wise, so the Jacobian is diagonal)

Lessons: lessons/01-artificial-neuron, lessons/02-backpropagation, lessons/04-classification.
"""
from __future__ import annotations

import numpy as np

from .base import Layer
from .fast import relu_backward_fast, relu_forward_fast


# -- plain functions ------------------------------------------------------------------------
def heaviside(z):
    """H(z) = 1 if z >= 0 else 0: the threshold unit of the perceptron.

    Lesson: lessons/01-artificial-neuron.
    """
    z = np.asarray(z)
    return (z >= 0).astype(z.dtype if np.issubdtype(z.dtype, np.floating) else np.float64)


def sigmoid(z):
    """sigma(z) = 1 / (1 + exp(-z)), computed without overflow for any z.

    exp(-|z|) is always in (0, 1]; for z < 0 we use the equal form exp(z) / (1 + exp(z)).

    Lesson: lessons/01-artificial-neuron.
    """
    z = np.asarray(z)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def relu(z):
    """ReLU(z) = max(0, z) (lessons/01-artificial-neuron)."""
    return np.maximum(z, 0)


def leaky_relu(z, alpha=0.01):
    """LeakyReLU(z) = z if z > 0 else alpha * z (lessons/01-artificial-neuron)."""
    z = np.asarray(z)
    return np.where(z > 0, z, alpha * z)


def log_softmax(z, axis=-1):
    """log softmax(z)_k = z_k - logsumexp(z), stable: the max is subtracted first.

    logsumexp(z) = m + log(sum_j exp(z_j - m)) with m = max_j z_j, so every exp is <= 1 and
    the largest is exactly 1: no overflow, and no log(0) for the largest class.

    Lesson: lessons/04-classification.
    """
    z = np.asarray(z)
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(z, axis=-1):
    """softmax(z)_k = exp(z_k) / sum_j exp(z_j) over ``axis``; stable for any z.

    Lesson: lessons/04-classification.
    """
    z = np.asarray(z)
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


# -- layers ---------------------------------------------------------------------------------
class Heaviside(Layer):
    """Step activation y = H(z) = 1[z >= 0]. Any shape. Forward only.

    Lesson: lessons/01-artificial-neuron.

    Gradient: none usable. H'(z) = 0 for every z != 0 and H is not differentiable at 0, so
    backpropagation would send back zeros: gradient descent cannot learn through a step. This
    is why the smooth sigmoid replaced it (lessons/02-backpropagation). Train a perceptron with the perceptron
    rule instead (lessons/01-artificial-neuron).
    """

    def forward(self, z):
        z = self.check_input(z)
        return heaviside(z)

    def backward(self, dout):
        raise RuntimeError(
            "Heaviside cannot be trained by gradient descent: its derivative is 0 everywhere "
            "except at z = 0, where it does not exist, so backprop would only pass zeros. "
            "Use Sigmoid (its smooth version) or train a single unit with the perceptron rule.")


class Sigmoid(Layer):
    """y = sigma(z) = 1 / (1 + exp(-z)). Any shape -> same shape.

    Gradient: dL/dz = dL/dy * y * (1 - y)   (the output y is all backward needs).

    Lessons: lessons/01-artificial-neuron, lessons/02-backpropagation.
    """

    def forward(self, z):
        z = self.check_input(z)
        y = sigmoid(z)
        self.cache = y
        return y

    def backward(self, dout):
        y = self.cache
        return dout * y * (1 - y)


class Tanh(Layer):
    """y = tanh(z). Any shape -> same shape.

    Gradient: dL/dz = dL/dy * (1 - y^2).

    Lessons: lessons/01-artificial-neuron, lessons/02-backpropagation.
    """

    def forward(self, z):
        z = self.check_input(z)
        y = np.tanh(z)
        self.cache = y
        return y

    def backward(self, dout):
        y = self.cache
        return dout * (1 - y * y)


class ReLU(Layer):
    """y = max(0, z). Any shape -> same shape.

    Gradient: dL/dz = dL/dy * 1[z > 0]  (we take 0 as the derivative at the kink z = 0).

    Lessons: lessons/01-artificial-neuron, lessons/02-backpropagation.
    """

    def forward(self, z):
        z = self.check_input(z)
        # self.cache, y = z > 0, np.maximum(z, 0): the same, split over the CPU cores (mirkit.nn.fast)
        self.cache, y = relu_forward_fast(z)
        return y

    def backward(self, dout):
        return relu_backward_fast(dout, self.cache)  # dout * self.cache, on the CPU cores


class LeakyReLU(Layer):
    """y = z if z > 0 else alpha * z. Any shape -> same shape.

    Lesson: lessons/01-artificial-neuron.

    Gradient: dL/dz = dL/dy * (1 if z > 0 else alpha). A small alpha keeps units from dying.
    """

    def __init__(self, alpha: float = 0.01):
        super().__init__()
        self.alpha = alpha

    def forward(self, z):
        z = self.check_input(z)
        self.cache = z > 0
        return np.where(self.cache, z, self.alpha * z)

    def backward(self, dout):
        return np.where(self.cache, dout, self.alpha * dout)

    def __repr__(self):
        return f"LeakyReLU(alpha={self.alpha})"


class Identity(Layer):
    """y = z (a linear output, for regression). Any shape -> same shape.

    Gradient: dL/dz = dL/dy.

    Lesson: lessons/01-artificial-neuron.
    """

    def forward(self, z):
        return self.check_input(z)

    def backward(self, dout):
        return dout


class Softmax(Layer):
    """y_k = exp(z_k) / sum_j exp(z_j) over the last axis. (..., K) -> (..., K).

    Gradient: the Jacobian is dy_k/dz_j = y_k (delta_kj - y_j), so
        dL/dz = y * (dL/dy - sum_k dL/dy_k * y_k).
    For classification use the fused ``SoftmaxCrossEntropy`` loss on the logits: its
    gradient, softmax(z) - t, is simpler and more accurate.

    Lesson: lessons/04-classification.
    """

    def forward(self, z):
        z = self.check_input(z)
        y = softmax(z, axis=-1)
        self.cache = y
        return y

    def backward(self, dout):
        y = self.cache
        return y * (dout - np.sum(dout * y, axis=-1, keepdims=True))


ACTIVATIONS = {"heaviside": Heaviside, "sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU,
               "leaky_relu": LeakyReLU, "identity": Identity, "linear": Identity,
               "softmax": Softmax}


def get_activation(name_or_layer) -> Layer:
    """A fresh activation layer from its name ("sigmoid", "relu", ...), or the layer itself."""
    if isinstance(name_or_layer, Layer):
        return name_or_layer
    if name_or_layer is None:
        return Identity()
    key = str(name_or_layer).lower()
    if key not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name_or_layer!r}; choose one of "
                         f"{sorted(ACTIVATIONS)}")
    return ACTIVATIONS[key]()
