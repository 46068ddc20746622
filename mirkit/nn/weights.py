"""Saving and restoring a model's weights (lessons/03-optimisation: early stopping keeps the best).

``get_weights``/``set_weights`` copy parameter values by name ("0.W", "2.b", as
``named_parameters`` gives them); ``save_weights``/``load_weights`` do the same through a .npz
file, one array per parameter.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["get_weights", "load_weights", "save_weights", "set_weights"]


def get_weights(model) -> dict:
    """A copy of every parameter value, by name."""
    return {name: p.value.copy() for name, p in model.named_parameters()}


def set_weights(model, weights: dict, source: str = "weights") -> None:
    """Copy values into the parameters (in place, so optimisers keep their references).

    Raises a ValueError listing missing, unexpected and wrongly shaped parameters.
    """
    params = dict(model.named_parameters())
    missing = sorted(set(params) - set(weights))
    unexpected = sorted(set(weights) - set(params))
    wrong = [f"{k}: model {params[k].value.shape}, {source} {np.shape(weights[k])}"
             for k in params if k in weights and params[k].value.shape != np.shape(weights[k])]
    if missing or unexpected or wrong:
        lines = [f"{source} do not match the model:"]
        if missing:
            lines.append(f"  missing parameters: {missing}")
        if unexpected:
            lines.append(f"  unexpected parameters: {unexpected}")
        if wrong:
            lines.append("  wrong shapes: " + "; ".join(wrong))
        lines.append("  Build the same architecture (same layers, same sizes) before loading.")
        raise ValueError("\n".join(lines))
    for name, p in params.items():
        p.value[...] = weights[name]


def _npz_path(path) -> Path:
    """``path`` with ".npz" appended unless it already ends with it (as np.savez does)."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
    return path


def save_weights(model, path) -> Path:
    """Save every parameter to a .npz file, one array per parameter name (e.g. "0.W")."""
    path = _npz_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **get_weights(model))
    return path


def load_weights(model, path) -> None:
    """Load a .npz written by ``save_weights`` into ``model`` (names and shapes must match).

    ``path`` may be given as it was to ``save_weights``, with or without ".npz".
    """
    if not Path(path).exists():
        path = _npz_path(path)  # save_weights(model, "w") wrote w.npz
    with np.load(path) as data:
        set_weights(model, {k: data[k] for k in data.files}, source=f"weights in {path}")
