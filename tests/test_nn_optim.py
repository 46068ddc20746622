"""Optimisers: textbook formulas step by step, and the same trajectories as Keras."""
import os

import numpy as np
import pytest

import mirkit.nn as nn
from mirkit.nn.base import Parameter

# A fixed ill-conditioned quadratic f(w) = 1/2 w^T A w - b^T w, gradient A w - b.
A = np.array([[3.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 0.3]])
B = np.array([1.0, -2.0, 0.5])
W0 = np.array([2.0, 1.0, -1.5])


def grad(w):
    return A @ w - B


def run_mirkit(make, steps=100):
    """Trajectory (steps + 1, 3) of a mirkit optimiser on the quadratic."""
    p = Parameter(W0.copy())
    opt = make([("w", p)])
    path = [p.value.copy()]
    for _ in range(steps):
        p.grad = grad(p.value)
        opt.step()
        path.append(p.value.copy())
    return np.array(path)


# -- textbook formulas, written out independently -------------------------------------------
def textbook(name, steps=5, lr=0.05, mu=0.9, rho=0.9, b1=0.9, b2=0.999, eps=1e-7, wd=0.01):
    w = W0.copy()
    v, r, m, s = np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3)
    path = [w.copy()]
    for t in range(1, steps + 1):
        g = grad(w)
        if name == "sgd":
            w = w - lr * g
        elif name == "momentum":
            v = mu * v - lr * g
            w = w + v
        elif name == "nesterov":  # CS231n form: look-ahead written with the old velocity
            v_old = v
            v = mu * v - lr * g
            w = w - mu * v_old + (1 + mu) * v
        elif name == "adagrad":
            r = r + g ** 2
            w = w - lr * g / (np.sqrt(r) + eps)
        elif name == "rmsprop":
            r = rho * r + (1 - rho) * g ** 2
            w = w - lr * g / (np.sqrt(r) + eps)
        elif name in ("adam", "adamw"):
            m = b1 * m + (1 - b1) * g
            s = b2 * s + (1 - b2) * g ** 2
            step = lr * (m / (1 - b1 ** t)) / (np.sqrt(s / (1 - b2 ** t)) + eps)
            w = w - step - (lr * wd * w if name == "adamw" else 0)
        path.append(w.copy())
    return np.array(path)


MIRKIT = {
    "sgd": lambda p: nn.SGD(p, lr=0.05),
    "momentum": lambda p: nn.Momentum(p, lr=0.05, momentum=0.9),
    "nesterov": lambda p: nn.Nesterov(p, lr=0.05, momentum=0.9),
    "adagrad": lambda p: nn.Adagrad(p, lr=0.05, epsilon=1e-7),
    "rmsprop": lambda p: nn.RMSprop(p, lr=0.05, rho=0.9, epsilon=1e-7),
    "adam": lambda p: nn.Adam(p, lr=0.05, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
    "adamw": lambda p: nn.AdamW(p, lr=0.05, weight_decay=0.01, epsilon=1e-7),
}


@pytest.mark.parametrize("name", list(MIRKIT))
def test_matches_textbook_formula_step_by_step(name):
    np.testing.assert_allclose(run_mirkit(MIRKIT[name], steps=5), textbook(name), rtol=1e-13,
                               atol=1e-14)


@pytest.mark.parametrize("name", list(MIRKIT))
def test_descends_the_quadratic(name):
    def f(w):
        return 0.5 * w @ A @ w - B @ w

    f_star = f(np.linalg.solve(A, B))
    path = run_mirkit(MIRKIT[name], steps=400)
    assert f(path[-1]) - f_star < 0.5 * (f(W0) - f_star)


# -- the same trajectories as Keras ----------------------------------------------------------
# Keras (TensorFlow backend) rounds the learning rate and hyper-parameters such as momentum
# and beta_1 to float32 before casting them to the variable's float64. Dyadic values (sums of
# powers of 2) are exact in float32, so both sides then run the same float64 arithmetic.
EPS = 2.0 ** -40  # ~1e-12: Keras adds epsilon inside the square root; a tiny one makes it moot
LR, MU, B1, B2, RHO, WD = 2.0 ** -4, 0.875, 0.875, 1 - 2.0 ** -6, 0.875, 0.125
LR_ADAGRAD, LR_RMSPROP, R0 = 2.0 ** -2, 2.0 ** -6, 0.125
KERAS_PAIRS = {
    "sgd": (lambda p: nn.SGD(p, lr=LR), lambda k: k.optimizers.SGD(learning_rate=LR)),
    "momentum": (lambda p: nn.Momentum(p, lr=LR, momentum=MU),
                 lambda k: k.optimizers.SGD(learning_rate=LR, momentum=MU)),
    "nesterov": (lambda p: nn.Nesterov(p, lr=LR, momentum=MU),
                 lambda k: k.optimizers.SGD(learning_rate=LR, momentum=MU, nesterov=True)),
    "adagrad": (lambda p: nn.Adagrad(p, lr=LR_ADAGRAD, epsilon=EPS, initial_accumulator_value=R0),
                lambda k: k.optimizers.Adagrad(learning_rate=LR_ADAGRAD, epsilon=EPS,
                                               initial_accumulator_value=R0)),
    "rmsprop": (lambda p: nn.RMSprop(p, lr=LR_RMSPROP, rho=RHO, epsilon=EPS),
                lambda k: k.optimizers.RMSprop(learning_rate=LR_RMSPROP, rho=RHO, epsilon=EPS)),
    "adam": (lambda p: nn.Adam(p, lr=LR, beta_1=B1, beta_2=B2, epsilon=EPS),
             lambda k: k.optimizers.Adam(learning_rate=LR, beta_1=B1, beta_2=B2, epsilon=EPS)),
    "adamw": (lambda p: nn.AdamW(p, lr=LR, weight_decay=WD, beta_1=B1, beta_2=B2, epsilon=EPS),
              lambda k: k.optimizers.AdamW(learning_rate=LR, weight_decay=WD, beta_1=B1,
                                           beta_2=B2, epsilon=EPS)),
}


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    return pytest.importorskip("keras")


@pytest.mark.parametrize("name", list(KERAS_PAIRS))
def test_same_trajectory_as_keras(keras, name):
    ours, theirs = KERAS_PAIRS[name]
    var = keras.Variable(W0.copy(), dtype="float64")
    opt = theirs(keras)
    path = [W0.copy()]
    for _ in range(100):
        g = grad(np.asarray(var.numpy()))
        opt.apply_gradients([(keras.ops.convert_to_tensor(g, dtype="float64"), var)])
        path.append(np.asarray(var.numpy()).copy())
    diff = np.abs(run_mirkit(ours, steps=100) - np.array(path)).max()
    # the issue asks for 1e-6; with exact hyper-parameters we agree to ~1e-12
    assert diff < 1e-9, f"{name}: max deviation from Keras {diff:.2e}"


# -- schedules -------------------------------------------------------------------------------
def test_schedules_match_keras(keras):
    sched = keras.optimizers.schedules
    pairs = [(nn.exponential_decay(0.1, 0.5, 10), sched.ExponentialDecay(0.1, 10, 0.5)),
             (nn.cosine_decay(0.1, 50, alpha=0.1), sched.CosineDecay(0.1, 50, alpha=0.1))]
    for ours, theirs in pairs:
        for t in (0, 1, 7, 25, 50, 80):
            assert ours(t) == pytest.approx(float(theirs(t)), rel=1e-6)


def test_step_decay_and_schedule_in_optimizer():
    lr = nn.step_decay(1.0, drop=0.5, every=2)
    assert [lr(t) for t in range(6)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    p = Parameter(np.zeros(1))
    opt = nn.SGD([("w", p)], lr=lr)
    for _ in range(4):
        p.grad = np.ones(1)
        opt.step()
    assert p.value[0] == pytest.approx(-(1 + 1 + 0.5 + 0.5))  # the first step uses lr(0)


def test_frozen_parameters_are_skipped_and_state_is_per_parameter():
    a, b = Parameter(np.ones(2)), Parameter(np.ones(2), trainable=False)
    opt = nn.Momentum([("a", a), ("b", b)], lr=0.1)
    a.grad, b.grad = np.ones(2), np.ones(2)
    opt.step()
    np.testing.assert_array_equal(b.value, 1.0)
    np.testing.assert_allclose(a.value, 0.9)
    assert "v" in opt.state["a"] and opt.state["b"] == {}
    with pytest.raises(ValueError, match="unique"):
        nn.SGD([("a", a), ("a", b)])


def test_optimizer_updates_in_place_and_keeps_dtype():
    layer = nn.Dense(3, 2, rng=0, dtype=np.float32)
    W = layer.params["W"].value
    opt = nn.Adam(layer.named_parameters(), lr=0.1)
    layer.forward(np.ones((4, 3), dtype=np.float32))
    layer.backward(np.ones((4, 2), dtype=np.float32))
    opt.step()
    assert layer.params["W"].value is W and W.dtype == np.float32


def test_optimizer_given_the_model_says_to_pass_named_parameters():
    model = nn.Sequential(nn.Dense(3, 2, rng=0))
    with pytest.raises(TypeError, match="named_parameters"):
        nn.SGD(model)
    with pytest.raises(TypeError, match="named_parameters"):
        nn.Adam(model[0].params)


def test_integer_parameter_becomes_float_and_is_not_truncated():
    p = Parameter([1, 2])
    assert p.value.dtype == np.float64
    p.grad = np.array([1.0, 1.0])
    nn.SGD([("p", p)], lr=0.25).step()
    np.testing.assert_allclose(p.value, [0.75, 1.75])


def test_schedules_reject_zero_steps_with_a_clear_error():
    from mirkit.nn import cosine_decay, exponential_decay, step_decay
    for make in (lambda: step_decay(0.1, every=0), lambda: exponential_decay(0.1, 0.5, 0),
                 lambda: cosine_decay(0.1, decay_steps=0)):
        with pytest.raises(ValueError, match="positive number of steps"):
            make()
