"""Batch normalisation (lessons/06-descriptors-are-networks normalises its learned front end with it).

The lecture's CNNs chain "conv - max pooling - batch norm".

Per channel c (axis 1: features of (N, D), channels of (N, C, T) or (N, C, F, T)), with the
statistics taken over every other axis (the batch and, for maps, every position):

    training:  mu_c = mean(x[:, c]),  var_c = mean((x[:, c] - mu_c)^2)       (biased, as Keras)
               xhat = (x - mu_c) / sqrt(var_c + eps),   y = gamma_c * xhat + beta_c
               running_mean <- momentum * running_mean + (1 - momentum) * mu_c   (same for var)
    inference: the same with running_mean, running_var instead of the batch statistics.

Defaults follow Keras (momentum 0.99, eps 1e-3), so ``keras.layers.BatchNormalization`` with the
same weights gives the same numbers in both modes.

Backward in training mode (m values per channel, sums over them), the batch statistics depend
on x too:

    dbeta = sum dy,   dgamma = sum dy * xhat,   dxhat = dy * gamma
    dx = (1 / (m * sqrt(var + eps))) * (m * dxhat - sum dxhat - xhat * sum(dxhat * xhat))

In inference mode the statistics are constants: dx = dy * gamma / sqrt(running_var + eps)
(the frozen running statistics still get their gradients, as every frozen Parameter does).
"""
from __future__ import annotations

import numpy as np

from .base import Layer


class BatchNorm(Layer):
    """Batch normalisation over axis 1 of (N, C), (N, C, T) or (N, C, F, T).

    Lesson: lessons/06-descriptors-are-networks.

    Parameters: gamma (C,) ones, beta (C,) zeros (trainable); running_mean (C,), running_var
    (C,) (frozen: updated by forward in training mode, used in eval mode, never by optimisers).
    """

    expected_ndim = (2, 3, 4)

    def __init__(self, num_features, momentum=0.99, eps=1e-3, dtype=np.float64):
        super().__init__()
        self.momentum, self.eps = float(momentum), float(eps)
        self.add_param("gamma", np.ones(num_features, dtype=dtype))
        self.add_param("beta", np.zeros(num_features, dtype=dtype))
        self.add_param("running_mean", np.zeros(num_features, dtype=dtype), trainable=False)
        self.add_param("running_var", np.ones(num_features, dtype=dtype), trainable=False)

    def forward(self, x):
        C = self.params["gamma"].value.shape[0]
        x = self.check_input(x, expected=f"(N, {C}, ...)", channels=C,
                             hint=": features or channels on axis 1")
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, C) + (1,) * (x.ndim - 2)  # broadcast per-channel vectors against x
        if self.training:
            mu, var = x.mean(axis=axes), x.var(axis=axes)
            m = self.momentum
            for name, stat in (("running_mean", mu), ("running_var", var)):
                p = self.params[name]
                p.value[...] = m * p.value + (1 - m) * stat
        else:
            mu, var = self.params["running_mean"].value, self.params["running_var"].value
        inv_std = 1.0 / np.sqrt(var + self.eps)
        xhat = (x - mu.reshape(shape)) * inv_std.reshape(shape)
        gamma, beta = self.params["gamma"].value, self.params["beta"].value
        self.cache = (xhat, inv_std, axes, shape, self.training)
        return gamma.reshape(shape) * xhat + beta.reshape(shape)

    def backward(self, dout):
        xhat, inv_std, axes, shape, training = self.cache
        dout = np.asarray(dout)
        gamma = self.params["gamma"].value
        self.set_grad("beta", dout.sum(axis=axes))
        self.set_grad("gamma", (dout * xhat).sum(axis=axes))
        dxhat = dout * gamma.reshape(shape)
        if not training:
            # the running statistics are frozen, but their gradient is still computed (base.py)
            self.set_grad("running_mean", -(dxhat * inv_std.reshape(shape)).sum(axis=axes))
            self.set_grad("running_var", -0.5 * inv_std ** 2 * (dxhat * xhat).sum(axis=axes))
            return dxhat * inv_std.reshape(shape)
        for name in ("running_mean", "running_var"):  # the output does not depend on them
            self.set_grad(name, np.zeros_like(gamma))
        m = dout.size // gamma.shape[0]
        s1 = dxhat.sum(axis=axes).reshape(shape)
        s2 = (dxhat * xhat).sum(axis=axes).reshape(shape)
        return (inv_std.reshape(shape) / m) * (m * dxhat - s1 - xhat * s2)

    def __repr__(self):
        return f"BatchNorm({self.params['gamma'].value.shape[0]}, momentum {self.momentum}, eps {self.eps})"
