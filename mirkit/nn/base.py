"""The one contract every mirkit layer and loss follows.

A layer is an object with

* ``forward(x) -> y``: computes the output and keeps in ``self.cache`` what backward needs;
* ``backward(dy) -> dx``: takes dL/dy (same shape as y), returns dL/dx (same shape as x),
  and *sets* the gradient of every parameter, ``self.params[name].grad``.

Gradients are set, not added: calling backward twice with the same ``dy`` gives the same
gradients (micrograd issue #53 was the opposite). Accumulation is explicit: set
``layer.accumulate = True`` (for example to sum gradients over several chunks of a batch),
and call ``zero_grad()`` yourself.

Parameters are :class:`Parameter` objects stored by name in ``layer.params``; optimisers and
the gradient checker only ever see ``named_parameters()``, so they work on any layer.

Layout convention of the whole package: **channels first**. A batch of vectors is (N, D);
a batch of sequences or spectrograms with C channels is (N, C, T) or (N, C, F, T), time last,
as librosa returns spectrograms (frequency, time). Keras uses channels last: the tests transpose.

Lessons: lessons/01-artificial-neuron, lessons/02-backpropagation.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np


class Parameter:
    """A trainable array and its gradient.

    value: float ndarray of any shape, updated in place by optimisers (integers are converted
           to float64: an in-place update of an integer array would truncate every step).
    grad:  ndarray of the same shape, dL/dvalue after the last backward (zeros before).
    trainable: optimisers skip a frozen parameter (its gradient is still computed).
    """

    __slots__ = ("value", "grad", "trainable")

    def __init__(self, value, trainable: bool = True):
        self.value = np.asarray(value)
        if not np.issubdtype(self.value.dtype, np.floating):
            self.value = self.value.astype(np.float64)
        self.grad = np.zeros_like(self.value)
        self.trainable = trainable

    def __repr__(self) -> str:
        flag = "" if self.trainable else ", frozen"
        return f"Parameter(shape={self.value.shape}, dtype={self.value.dtype}{flag})"


class Layer:
    """Base class: forward/backward, named parameters, train/eval mode, input checks.

    Subclasses implement ``forward`` and ``backward`` and call ``add_param`` in ``__init__``.
    ``expected_ndim`` (int or tuple of ints) lets ``check_input`` reject wrong shapes early
    with a message that names the layer.
    """

    expected_ndim: int | tuple[int, ...] | None = None

    def __init__(self):
        self.params: dict[str, Parameter] = {}
        self.cache = None
        self.training = True
        self.accumulate = False

    # -- parameters -------------------------------------------------------------------
    def add_param(self, name: str, value, trainable: bool = True) -> Parameter:
        self.params[name] = Parameter(value, trainable)
        return self.params[name]

    def set_grad(self, name: str, grad) -> None:
        """Store dL/d(param) -- replacing it, or adding to it when ``accumulate`` is on."""
        p = self.params[name]
        grad = np.asarray(grad, dtype=p.value.dtype).reshape(p.value.shape)
        if self.accumulate:
            p.grad = p.grad + grad
        else:
            p.grad = grad

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        for name, p in self.params.items():
            yield prefix + name, p

    def zero_grad(self) -> None:
        for _, p in self.named_parameters():
            p.grad = np.zeros_like(p.value)

    def freeze(self) -> "Layer":
        for _, p in self.named_parameters():
            p.trainable = False
        return self

    def unfreeze(self) -> "Layer":
        for _, p in self.named_parameters():
            p.trainable = True
        return self

    # -- modes ------------------------------------------------------------------------
    def train(self) -> "Layer":
        self.training = True
        return self

    def eval(self) -> "Layer":
        self.training = False
        return self

    # -- the contract -----------------------------------------------------------------
    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, dout):
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def __call__(self, x):
        return self.forward(x)

    # -- input checks -----------------------------------------------------------------
    def check_input(self, x, expected: str | None = None, last_dim: int | None = None,
                    channels: int | None = None, hint: str = ""):
        """Return x as a float ndarray, or raise a ValueError naming this layer.

        expected: a human description of the expected shape, e.g. "(N, D)".
        last_dim: the required size of the last axis, if any.
        channels: the required size of axis 1 (channels first), if any; ``hint`` is added to
        that error (e.g. what the channels are for a spectrogram).
        """
        x = np.asarray(x)
        name = type(self).__name__
        if not np.issubdtype(x.dtype, np.floating):
            if np.issubdtype(x.dtype, np.integer) or x.dtype == bool:
                x = x.astype(np.float64)
            else:
                raise TypeError(f"{name}: expected a float array, got dtype {x.dtype}")
        ndims = self.expected_ndim
        if ndims is not None:
            ndims = (ndims,) if isinstance(ndims, int) else tuple(ndims)
            if x.ndim not in ndims:
                want = expected or " or ".join(f"{d}-D" for d in ndims)
                hint = ""
                if x.ndim + 1 in ndims:
                    hint = " (a single example? add the batch axis: x[None])"
                raise ValueError(f"{name}: expected input of shape {want}, got shape "
                                 f"{x.shape}{hint}")
        if last_dim is not None and x.shape[-1] != last_dim:
            want = expected or f"(..., {last_dim})"
            raise ValueError(f"{name}: expected input of shape {want} with last axis {last_dim}, "
                             f"got shape {x.shape}")
        if channels is not None and (x.ndim < 2 or x.shape[1] != channels):
            want = expected or f"(N, {channels}, ...)"
            raise ValueError(f"{name}: expected input of shape {want} (channels first{hint}), "
                             f"got shape {x.shape}")
        return x

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}{tuple(p.value.shape)}" for k, p in self.params.items())
        return f"{type(self).__name__}({shapes})"


class Sequential(Layer):
    """A stack of layers applied in order: y = f_n(... f_2(f_1(x))).

    forward:  x_{k+1} = f_k(x_k).
    backward: the backprop recursion dL/dx_k = (df_k/dx_k)^T dL/dx_{k+1}, from the last layer
              to the first; each layer fills its own parameter gradients on the way
              (lessons/02-backpropagation).
    Parameter names are "<index>.<name>", e.g. "0.W", "2.b".
    """

    def __init__(self, *layers: Layer):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout):
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def named_parameters(self, prefix: str = ""):
        for i, layer in enumerate(self.layers):
            yield from layer.named_parameters(f"{prefix}{i}.")

    def train(self):
        self.training = True
        for layer in self.layers:
            layer.train()
        return self

    def eval(self):
        self.training = False
        for layer in self.layers:
            layer.eval()
        return self

    @property
    def accumulate(self):
        return all(layer.accumulate for layer in getattr(self, "layers", []))

    @accumulate.setter
    def accumulate(self, value):
        for layer in getattr(self, "layers", []):
            layer.accumulate = value

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __repr__(self) -> str:
        inner = "\n".join(f"  ({i}) {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"
