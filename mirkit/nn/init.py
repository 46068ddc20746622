"""Weight initialisation with an explicit random generator.

Why scale: with y = xW and inputs of unit variance, Var(y_j) = fan_in * Var(W). Keeping the
variance of activations (forward) and of gradients (backward) roughly constant across layers
asks for Var(W) ~ 1/fan_in and ~ 1/fan_out.

* Glorot / Xavier (tanh, sigmoid): Var(W) = 2 / (fan_in + fan_out).
* He / Kaiming (ReLU, which zeroes half of its inputs): Var(W) = 2 / fan_in.

A uniform law U(-a, a) has variance a^2 / 3, hence the limits sqrt(6 / ...) below.
Every function takes a ``numpy.random.Generator`` (or an int seed): same seed, same weights.
``rng=None`` draws from the package generator, seeded with 0 at import; ``seed(s)`` resets it.
Keras equivalents: GlorotUniform, GlorotNormal, HeUniform, HeNormal (Keras draws the normal
ones from a truncated normal; ours are plain normals).

Lessons: lessons/01-artificial-neuron, lessons/03-optimisation.
"""
from __future__ import annotations

import numpy as np

_default_rng = np.random.default_rng(0)


def seed(s: int) -> None:
    """Reset the package generator used when a layer gets ``rng=None``."""
    global _default_rng
    _default_rng = np.random.default_rng(s)


def as_rng(rng=None) -> np.random.Generator:
    """A Generator from None (the package generator), an int seed, or a Generator."""
    if rng is None:
        return _default_rng
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be None, an int seed or a numpy.random.Generator, got {type(rng)}")


def fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight array.

    Dense weights are (n_in, n_out). Convolution kernels, channels first, are
    (C_out, C_in, *kernel): fan_in = C_in * prod(kernel), fan_out = C_out * prod(kernel).
    """
    shape = tuple(shape)
    if len(shape) == 1:
        return shape[0], 1
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[2:]))
    return shape[1] * receptive, shape[0] * receptive


def _fans(shape, fan_in, fan_out):
    fi, fo = fans(shape)
    return (fi if fan_in is None else fan_in), (fo if fan_out is None else fan_out)


def glorot_uniform(shape, rng=None, fan_in=None, fan_out=None, dtype=np.float64):
    """W ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out)). Keras' default for Dense."""
    fi, fo = _fans(shape, fan_in, fan_out)
    a = np.sqrt(6.0 / (fi + fo))
    return as_rng(rng).uniform(-a, a, size=shape).astype(dtype)


def glorot_normal(shape, rng=None, fan_in=None, fan_out=None, dtype=np.float64):
    """W ~ N(0, 2 / (fan_in + fan_out))."""
    fi, fo = _fans(shape, fan_in, fan_out)
    return (as_rng(rng).standard_normal(shape) * np.sqrt(2.0 / (fi + fo))).astype(dtype)


def he_normal(shape, rng=None, fan_in=None, fan_out=None, dtype=np.float64):
    """W ~ N(0, 2 / fan_in), for ReLU layers."""
    fi, _ = _fans(shape, fan_in, fan_out)
    return (as_rng(rng).standard_normal(shape) * np.sqrt(2.0 / fi)).astype(dtype)


def he_uniform(shape, rng=None, fan_in=None, fan_out=None, dtype=np.float64):
    """W ~ U(-a, a), a = sqrt(6 / fan_in), for ReLU layers."""
    fi, _ = _fans(shape, fan_in, fan_out)
    a = np.sqrt(6.0 / fi)
    return as_rng(rng).uniform(-a, a, size=shape).astype(dtype)


INITIALIZERS = {"glorot": glorot_uniform, "glorot_uniform": glorot_uniform,
                "glorot_normal": glorot_normal, "xavier": glorot_uniform,
                "he": he_normal, "he_normal": he_normal, "he_uniform": he_uniform}


def get_initializer(name_or_fn):
    """An init function from its name ("glorot", "he", ...) or the function itself."""
    if callable(name_or_fn):
        return name_or_fn
    key = str(name_or_fn).lower()
    if key not in INITIALIZERS:
        raise ValueError(f"unknown init {name_or_fn!r}; choose one of {sorted(INITIALIZERS)}")
    return INITIALIZERS[key]
