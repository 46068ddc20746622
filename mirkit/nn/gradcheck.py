"""Gradient checking by centred finite differences (lessons/02-backpropagation).

For a scalar function L(theta), the centred difference

    dL/dtheta_i  ~  (L(theta + h e_i) - L(theta - h e_i)) / (2h)

has an error of about h^2 |L'''| / 6 (truncation) plus eps |L| / h (round-off): too large an h
and the Taylor expansion is poor, too small and floating point noise dominates (the V-shaped
curve of lessons/02-backpropagation). The two balance at h ~ eps^(1/3) ~ 1e-5 in float64 when
L and its derivatives are of order 1: our default. (A function with large higher derivatives,
such as -log p for small p, wants a smaller h.)

A layer's gradient is checked through the scalar L = sum(forward(x) * dout) for a random dout:
then dL/dx is exactly what ``backward(dout)`` must return, and dL/dW what it must store.
Coordinates whose true gradient is far below the others (~1e-6 of them) sit at the
round-off floor and can show relative errors above 1e-7 even for a correct gradient.

Relative error, as in CS231n: rel(a, b) = |a - b| / max(|a| + |b|, 1e-8), maximised over the
checked coordinates. Thresholds we use (float64): a correct layer gives <= 1e-7
(``THRESHOLD``); between 1e-7 and 1e-4 look again (a kink such as ReLU at 0 can do it);
above 1e-4 the gradient is wrong.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

THRESHOLD = 1e-7  # float64, smooth layers and losses
FLOOR = 1e-8  # below this, |a| + |b| is treated as zero-gradient noise


def rel_error(a, b, floor: float = FLOOR) -> float:
    """Maximum element-wise relative error |a - b| / max(|a| + |b|, floor)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)))


def _coordinates(shape, n_samples, rng):
    """All coordinates of an array, or a random sample of n_samples of them (for big weights)."""
    size = int(np.prod(shape))
    if n_samples is None or n_samples >= size:
        flat = np.arange(size)
    else:
        flat = rng.choice(size, size=n_samples, replace=False)
    return [np.unravel_index(i, shape) for i in flat]


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-5,
                       n_samples: int | None = None, seed: int = 0, coords=None, df=None):
    """Centred finite-difference gradient of the scalar ``f()`` with respect to ``x``.

    ``x`` is perturbed in place (and restored), so ``f`` must read it: a closure over the
    array, or a layer whose parameter value is ``x``. Returns (grad, coords): grad has x's
    shape, filled at the checked coordinates only (NaN elsewhere when sampling).

    With ``df`` (an array), ``f()`` returns an array y and the gradient is that of
    sum(y * df), computed as sum((y(x + h) - y(x - h)) * df) / (2h): subtracting the outputs
    before summing them loses less to round-off (CS231n's ``eval_numerical_gradient_array``).
    """
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"numerical_gradient: x must be a float array, got {x.dtype}")
    rng = np.random.default_rng(seed)
    if coords is None:
        coords = _coordinates(x.shape, n_samples, rng)
    grad = np.full(x.shape, np.nan) if len(coords) < x.size else np.zeros(x.shape)
    for idx in coords:
        old = x[idx]
        x[idx] = old + h
        if df is None:
            f_plus = float(f())
            x[idx] = old - h
            f_minus = float(f())
            x[idx] = old
            grad[idx] = (f_plus - f_minus) / (2 * h)
        else:
            y_plus = np.array(f(), dtype=np.float64)  # copies: f may return x itself
            x[idx] = old - h
            y_minus = np.array(f(), dtype=np.float64)
            x[idx] = old
            grad[idx] = np.sum((y_plus - y_minus) * df) / (2 * h)
    return grad, coords


@dataclass
class GradCheckReport:
    """One line per checked array: max relative error and the worst coordinate."""

    threshold: float
    rows: dict = field(default_factory=dict)  # name -> (max_rel_error, worst_index, analytic, numeric)

    @property
    def max_error(self) -> float:
        return max((r[0] for r in self.rows.values()), default=0.0)

    @property
    def passed(self) -> bool:
        return self.max_error <= self.threshold

    def __str__(self) -> str:
        lines = [f"gradient check (threshold {self.threshold:.0e}): "
                 f"{'PASSED' if self.passed else 'FAILED'}, max relative error {self.max_error:.2e}"]
        for name, (err, idx, a, n) in self.rows.items():
            mark = "ok " if err <= self.threshold else "BAD"
            lines.append(f"  {mark} {name:<12} rel.err {err:.2e}  worst at {idx}: "
                         f"analytic {a:+.6e}, numeric {n:+.6e}")
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle):  # nice display in notebooks
        p.text(str(self))

    def assert_ok(self) -> "GradCheckReport":
        if not self.passed:
            raise AssertionError(str(self))
        return self


def compare(analytic: dict, arrays: dict, scalar_fn: Callable[[], float], h: float = 1e-5,
            n_samples: int | None = None, seed: int = 0,
            threshold: float = THRESHOLD, df=None) -> GradCheckReport:
    """Check analytic gradients {name: dL/darray} against finite differences of scalar_fn.

    ``arrays`` maps the same names to the arrays scalar_fn reads (they are perturbed in place).
    With ``df``, scalar_fn returns an array and the scalar is sum(scalar_fn() * df).
    """
    report = GradCheckReport(threshold)
    for name, x in arrays.items():
        numeric, coords = numerical_gradient(scalar_fn, x, h=h, n_samples=n_samples, seed=seed,
                                             df=df)
        a = np.asarray(analytic[name], dtype=np.float64)
        if a.shape != x.shape:
            raise ValueError(f"gradient of {name!r} has shape {a.shape}, expected {x.shape}")
        a_s = np.array([a[c] for c in coords], dtype=np.float64)
        n_s = np.array([numeric[c] for c in coords], dtype=np.float64)
        errs = np.abs(a_s - n_s) / np.maximum(np.abs(a_s) + np.abs(n_s), FLOOR)
        worst = int(np.argmax(errs)) if errs.size else 0
        worst_idx = tuple(int(i) for i in coords[worst]) if coords else ()
        report.rows[name] = (float(errs.max()) if errs.size else 0.0, worst_idx,
                             float(a_s[worst]) if errs.size else 0.0,
                             float(n_s[worst]) if errs.size else 0.0)
    return report


def check_layer(layer, x, dout=None, h: float = 1e-5, n_samples: int | None = None,
                seed: int = 0, threshold: float = THRESHOLD, wrt_input: bool = True) -> GradCheckReport:
    """Check ``layer.backward`` against finite differences, for the input and every parameter.

    The layer's forward must be deterministic (Dropout: set ``reuse_mask = True``, or eval()).
    x is copied to float64 first. Returns a GradCheckReport; call ``.assert_ok()`` in tests.
    """
    rng = np.random.default_rng(seed)
    x = np.array(x, dtype=np.float64)
    y = layer.forward(x)
    dout = rng.standard_normal(np.shape(y)) if dout is None else np.asarray(dout, dtype=np.float64)
    dx = layer.backward(dout)
    analytic, arrays = {}, {}
    if wrt_input:
        analytic["x"], arrays["x"] = dx, x
    for name, p in layer.named_parameters():
        analytic[name] = np.array(p.grad, copy=True)
        arrays[name] = p.value

    return compare(analytic, arrays, lambda: layer.forward(x), h=h, n_samples=n_samples,
                   seed=seed, threshold=threshold, df=dout)


def check_loss(loss, pred, target, h: float = 1e-5, threshold: float = THRESHOLD) -> GradCheckReport:
    """Check ``loss.backward()`` (dL/dpred) of a loss with forward(pred, target) -> scalar."""
    pred = np.array(pred, dtype=np.float64)
    loss.forward(pred, target)
    analytic = {"pred": np.array(loss.backward(), dtype=np.float64)}
    return compare(analytic, {"pred": pred}, lambda: loss.forward(pred, target), h=h,
                   threshold=threshold)


def check_model(model, loss, x, target, h: float = 1e-5, n_samples: int | None = 20,
                seed: int = 0, threshold: float = THRESHOLD) -> GradCheckReport:
    """Check every parameter gradient of ``loss(model(x), target)`` (sampled coordinates)."""
    x = np.array(x, dtype=np.float64)
    loss.forward(model.forward(x), target)
    model.backward(loss.backward())
    analytic, arrays = {}, {}
    for name, p in model.named_parameters():
        analytic[name] = np.array(p.grad, copy=True)
        arrays[name] = p.value
    return compare(analytic, arrays, lambda: loss.forward(model.forward(x), target), h=h,
                   n_samples=n_samples, seed=seed, threshold=threshold)
