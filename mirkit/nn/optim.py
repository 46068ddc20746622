"""Optimisers: one contract, one formula each (lessons/03-optimisation).

Every optimiser is an update rule of (parameter w, gradient g, state) -> new w, written in
``update``; the base class ``Optimizer.step`` applies it to every trainable parameter of a
model, keeping one state dict per parameter name. The lesson shows each ``update`` formula.

    opt = Adam(model.named_parameters(), lr=1e-3)
    loss.forward(model.forward(x), y); model.backward(loss.backward()); opt.step()

Names follow Keras (``momentum``, ``rho``, ``beta_1``, ``beta_2``, ``epsilon``,
``weight_decay``, ``initial_accumulator_value``), except ``lr`` = Keras' ``learning_rate``.
Where Keras writes a formula differently (where epsilon goes), the docstring says so; the
tests follow the Keras trajectories to 1e-6 with matching settings.
"""
from __future__ import annotations

import numpy as np


class Optimizer:
    """Base class. Subclasses implement ``update(w, g, state) -> new_w``.

    params: an iterable of (name, Parameter), e.g. ``model.named_parameters()``.
    lr: the learning rate, or a schedule (callable step -> lr) from ``mirkit.nn.schedules``;
        the schedule is called with the number of steps already taken (0 at the first
        update), as Keras does.
    ``self.t`` counts steps (1 during the first update), for bias correction.
    ``state`` is a dict per parameter (velocity, moments, ...), empty before the first step.
    """

    def __init__(self, params, lr=0.01):
        if hasattr(params, "named_parameters"):
            raise TypeError(f"{type(self).__name__}: pass model.named_parameters(), not the model "
                            "itself")
        self.params = list(params)
        if not all(isinstance(item, (tuple, list)) and len(item) == 2 and hasattr(item[1], "grad")
                   for item in self.params):
            raise TypeError(f"{type(self).__name__}: params must be (name, Parameter) pairs, "
                            "as given by model.named_parameters()")
        names = [n for n, _ in self.params]
        if len(set(names)) != len(names):
            raise ValueError("Optimizer: parameter names must be unique")
        self.lr = lr
        self.state = {name: {} for name in names}
        self.t = 0

    @property
    def current_lr(self) -> float:
        """The learning rate of the current (or next) update."""
        return float(self.lr(max(self.t - 1, 0)) if callable(self.lr) else self.lr)

    def step(self):
        self.t += 1
        for name, p in self.params:
            if p.trainable:
                p.value[...] = self.update(p.value, p.grad, self.state[name])

    def zero_grad(self):
        for _, p in self.params:
            p.grad = np.zeros_like(p.value)

    def update(self, w, g, state):
        raise NotImplementedError

    def __repr__(self):
        hyper = {k: v for k, v in vars(self).items() if k not in ("params", "state", "t")}
        return f"{type(self).__name__}({', '.join(f'{k}={v}' for k, v in hyper.items())})"


class SGD(Optimizer):
    """Plain (stochastic) gradient descent: w <- w - lr * g.

    Keras: ``keras.optimizers.SGD(learning_rate=lr)``.
    w, g and every state array have the parameter's shape. lessons/03-optimisation.
    """

    def update(self, w, g, state):
        return w - self.current_lr * g


class Momentum(Optimizer):
    """Heavy-ball momentum: v <- momentum * v - lr * g;  w <- w + v  (v = 0 at start).

    The velocity averages past gradients: steady directions accumulate speed, oscillating
    ones cancel. Keras: ``SGD(learning_rate=lr, momentum=momentum)``, same formula.
    w, g and every state array have the parameter's shape. lessons/03-optimisation.
    """

    def __init__(self, params, lr=0.01, momentum=0.9):
        super().__init__(params, lr)
        self.momentum = momentum

    def update(self, w, g, state):
        v = state.get("v", 0.0)
        v = self.momentum * v - self.current_lr * g
        state["v"] = v
        return w + v


class Nesterov(Optimizer):
    """Nesterov momentum, in the form used by Keras and Sutskever et al. (2013):

        v <- momentum * v - lr * g;   w <- w + momentum * v - lr * g

    i.e. the gradient step is applied after a look-ahead along the new velocity. (Equal to
    CS231n's w <- w - momentum * v_old + (1 + momentum) * v.)
    Keras: ``SGD(learning_rate=lr, momentum=momentum, nesterov=True)``.
    w, g and every state array have the parameter's shape. lessons/03-optimisation.
    """

    def __init__(self, params, lr=0.01, momentum=0.9):
        super().__init__(params, lr)
        self.momentum = momentum

    def update(self, w, g, state):
        lr = self.current_lr
        v = self.momentum * state.get("v", 0.0) - lr * g
        state["v"] = v
        return w + self.momentum * v - lr * g


class Adagrad(Optimizer):
    """Adagrad: per-coordinate steps shrinking with the sum of squared gradients.

        r <- r + g^2;   w <- w - lr * g / (sqrt(r) + epsilon)      (r = r0 at start)

    Keras puts epsilon inside the root, sqrt(r + epsilon), and starts from
    ``initial_accumulator_value`` r0 = 0.1 (ours: 0, the textbook value; pass 0.1 to match).
    w, g and every state array have the parameter's shape. lessons/03-optimisation.
    """

    def __init__(self, params, lr=0.01, epsilon=1e-7, initial_accumulator_value=0.0):
        super().__init__(params, lr)
        self.epsilon = epsilon
        self.initial_accumulator_value = initial_accumulator_value

    def update(self, w, g, state):
        r = state.get("r", self.initial_accumulator_value) + g * g
        state["r"] = r
        return w - self.current_lr * g / (np.sqrt(r) + self.epsilon)


class RMSprop(Optimizer):
    """RMSprop: Adagrad with a leaky (exponential moving) average of squared gradients.

        r <- rho * r + (1 - rho) * g^2;   w <- w - lr * g / (sqrt(r) + epsilon)   (r = 0)

    Keras: ``RMSprop(learning_rate=lr, rho=rho, epsilon=epsilon)``, which puts epsilon
    inside the root, sqrt(r + epsilon).
    w, g and every state array have the parameter's shape. lessons/03-optimisation.
    """

    def __init__(self, params, lr=0.001, rho=0.9, epsilon=1e-7):
        super().__init__(params, lr)
        self.rho = rho
        self.epsilon = epsilon

    def update(self, w, g, state):
        r = self.rho * state.get("r", 0.0) + (1 - self.rho) * g * g
        state["r"] = r
        return w - self.current_lr * g / (np.sqrt(r) + self.epsilon)


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015): momentum + RMSprop, with bias correction.

        m <- beta_1 m + (1 - beta_1) g          (first moment, m = 0 at start)
        v <- beta_2 v + (1 - beta_2) g^2        (second moment, v = 0 at start)
        m_hat = m / (1 - beta_1^t),  v_hat = v / (1 - beta_2^t)   (undo the bias toward 0)
        w <- w - lr * m_hat / (sqrt(v_hat) + epsilon)

    Keras: ``Adam(learning_rate=lr, beta_1, beta_2, epsilon)``; Keras adds epsilon to
    sqrt(v) rather than sqrt(v_hat) (the paper's "efficient version"): equal for small eps.
    w, g and every state array have the parameter's shape. lessons/03-optimisation.
    """

    def __init__(self, params, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(params, lr)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def adam_step(self, g, state):
        """The Adam direction lr * m_hat / (sqrt(v_hat) + eps), updating the moments."""
        m = self.beta_1 * state.get("m", 0.0) + (1 - self.beta_1) * g
        v = self.beta_2 * state.get("v", 0.0) + (1 - self.beta_2) * g * g
        state["m"], state["v"] = m, v
        m_hat = m / (1 - self.beta_1 ** self.t)
        v_hat = v / (1 - self.beta_2 ** self.t)
        return self.current_lr * m_hat / (np.sqrt(v_hat) + self.epsilon)

    def update(self, w, g, state):
        return w - self.adam_step(g, state)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019):

        w <- w - lr * weight_decay * w - lr * m_hat / (sqrt(v_hat) + epsilon)

    The decay shrinks the weights directly instead of going through the gradient (where
    Adam's per-coordinate scaling would weaken it, as it does for an L2 penalty).
    Keras: ``AdamW(learning_rate=lr, weight_decay=weight_decay, ...)`` (default 0.004),
    which also decays the biases, as we do here.
    w, g and every state array have the parameter's shape. lessons/03-optimisation.
    """

    def __init__(self, params, lr=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7):
        super().__init__(params, lr, beta_1, beta_2, epsilon)
        self.weight_decay = weight_decay

    def update(self, w, g, state):
        decayed = w - self.current_lr * self.weight_decay * w
        return decayed - self.adam_step(g, state)


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "adagrad": Adagrad,
              "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW}
