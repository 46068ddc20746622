"""Learning-rate schedules: callables step -> lr, to pass as an optimiser's ``lr``.

``step`` is the number of updates already made (0 for the first), as in Keras.

    opt = SGD(model.named_parameters(), lr=cosine_decay(0.1, decay_steps=1000))

Lesson: lessons/03-optimisation.
"""
from __future__ import annotations

import math


def _positive(name: str, value) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be a positive number of steps, got {value!r}")


def step_decay(lr0: float, drop: float = 0.5, every: int = 10):
    """lr(t) = lr0 * drop^floor(t / every): multiply by ``drop`` every ``every`` steps.

    lessons/03-optimisation.
    """
    _positive("every", every)

    def lr(t):
        return lr0 * drop ** (t // every)
    return lr


def exponential_decay(lr0: float, decay_rate: float, decay_steps: int):
    """lr(t) = lr0 * decay_rate^(t / decay_steps).

    Keras: ``keras.optimizers.schedules.ExponentialDecay(lr0, decay_steps, decay_rate)``.
    lessons/03-optimisation.
    """
    _positive("decay_steps", decay_steps)

    def lr(t):
        return lr0 * decay_rate ** (t / decay_steps)
    return lr


def cosine_decay(lr0: float, decay_steps: int, alpha: float = 0.0):
    """lr(t) = lr0 * ((1 - alpha) * (1 + cos(pi * min(t, T) / T)) / 2 + alpha), T = decay_steps.

    Falls from lr0 to alpha * lr0 along half a cosine, then stays there.
    Keras: ``keras.optimizers.schedules.CosineDecay(lr0, decay_steps, alpha)``. lessons/03-optimisation.
    """
    _positive("decay_steps", decay_steps)

    def lr(t):
        cosine = 0.5 * (1 + math.cos(math.pi * min(t, decay_steps) / decay_steps))
        return lr0 * ((1 - alpha) * cosine + alpha)
    return lr
