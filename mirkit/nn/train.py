"""Training: mini-batches, the fit loop, early stopping, predictions.

One training step is the whole of backpropagation-based learning:

    out = model.forward(xb)                 # forward pass, caches kept
    value = loss.forward(out, yb)           # scalar loss
    model.backward(loss.backward())         # gradients of every parameter
    optimizer.step()                        # w <- update(w, g, state)

``fit`` repeats it over shuffled mini-batches for several epochs, records a ``History``
(loss and metrics per epoch, train and validation, Keras' key names) and can stop early.
Saving and loading weights: :mod:`mirkit.nn.weights` (re-exported here).

Lessons: lessons/03-optimisation, lessons/04-classification.
"""
from __future__ import annotations

import numpy as np

from .init import as_rng
from .losses import l2_penalty
from .metrics import to_labels
from .weights import get_weights, load_weights, save_weights, set_weights

__all__ = ["EarlyStopping", "History", "evaluate", "fit", "get_weights", "load_weights",
           "minibatches", "predict", "predict_classes", "save_weights", "set_weights", "train_step"]


# -- data -----------------------------------------------------------------------------------
def minibatches(X, y=None, batch_size: int | None = 32, shuffle: bool = True, rng=None):
    """Yield mini-batches (xb, yb) -- or xb alone when y is None -- covering X once.

    batch_size: 1 is stochastic gradient descent, None (all N examples) is batch gradient
    descent, anything between is mini-batch gradient descent (lessons/03-optimisation).

    shuffle: visit the examples in a random order (from ``rng``: an int seed or a Generator;
    pass the same Generator every epoch to get a new order each epoch, reproducibly).
    The last batch is smaller when batch_size does not divide N.
    """
    X = np.asarray(X)
    n = len(X)
    if y is not None and len(y) != n:
        raise ValueError(f"minibatches: X has {n} examples but y has {len(y)}")
    if batch_size is None:
        batch_size = max(n, 1)
    if batch_size < 1:
        raise ValueError(f"minibatches: batch_size must be >= 1, got {batch_size}")
    order = as_rng(rng).permutation(n) if shuffle else np.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        if y is None:
            yield X[idx]
        else:
            yield X[idx], np.asarray(y)[idx]


# -- one step, predictions, evaluation ------------------------------------------------------
def train_step(model, loss, optimizer, xb, yb, l2: float = 0.0):
    """One gradient step on a mini-batch; returns (loss value incl. L2 penalty, outputs)."""
    out = model.forward(xb)
    value = loss.forward(out, yb)
    model.backward(loss.backward())
    if l2:
        value += l2_penalty(model, l2)
    optimizer.step()
    return value, out


def predict(model, X, batch_size: int | None = None):
    """Model outputs for X in evaluation mode (no dropout), in batches if batch_size is set."""
    was_training = model.training
    model.eval()
    try:
        X = np.asarray(X)
        if batch_size is None or batch_size >= len(X):
            return model.forward(X)
        return np.concatenate([model.forward(xb) for xb in
                               minibatches(X, batch_size=batch_size, shuffle=False)])
    finally:
        if was_training:
            model.train()


def predict_classes(model, X, loss=None, batch_size: int | None = None):
    """Predicted labels: the decision rule of ``loss`` if given, else argmax / threshold 0.5."""
    out = predict(model, X, batch_size)
    return loss.predict_labels(out) if loss is not None else to_labels(out)


def _metric_values(metrics, loss, y, out) -> dict:
    values = {}
    for m in metrics:
        if m == "accuracy":
            pred = loss.predict_labels(out)
            if pred.ndim == 2:  # multilabel: the fraction of right (example, tag) decisions
                values["accuracy"] = float(np.mean(pred == (np.asarray(y).reshape(pred.shape) > 0.5)))
            else:
                values["accuracy"] = float(np.mean(to_labels(y) == pred))
        elif callable(m):
            values[m.__name__] = float(m(y, out))
        else:
            raise ValueError(f"unknown metric {m!r}: use 'accuracy' or a function (y_true, out)")
    return values


def evaluate(model, loss, X, y, metrics=("accuracy",), batch_size: int | None = None) -> dict:
    """{"loss": ..., "accuracy": ...} of the model on (X, y), in evaluation mode."""
    out = predict(model, X, batch_size)
    return {"loss": float(loss.forward(out, y)), **_metric_values(metrics, loss, y, out)}


# -- the loop -------------------------------------------------------------------------------
class History:
    """Per-epoch records: ``history["loss"]``, ``["val_loss"]``, ``["accuracy"]``, ...

    ``history.history`` is the dict of lists (as in Keras); ``best_epoch`` and
    ``stopped_epoch`` are set by early stopping (0-based epochs).
    """

    def __init__(self):
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None

    def append(self, epoch: int, values: dict) -> None:
        self.epoch.append(epoch)
        for k, v in values.items():
            self.history.setdefault(k, []).append(v)

    def __getitem__(self, key):
        return self.history[key]

    def __contains__(self, key):
        return key in self.history

    def __repr__(self):
        last = {k: round(v[-1], 4) for k, v in self.history.items()}
        return f"History({len(self.epoch)} epochs, last: {last})"

    def plot(self, keys=("loss", "val_loss"), ax=None):
        """Learning curves of the given keys against the epoch (matplotlib)."""
        import matplotlib.pyplot as plt
        ax = ax or plt.gca()
        for k in keys:
            if k in self.history:
                ax.plot(np.arange(1, len(self.history[k]) + 1), self.history[k], label=k)
        if self.best_epoch is not None:
            ax.axvline(self.best_epoch + 1, color="gray", ls=":", label="best epoch")
        ax.set_xlabel("epoch")
        ax.legend()
        return ax


class EarlyStopping:
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs; with ``restore_best`` put back the weights of the best epoch.
    Lesson: lessons/03-optimisation.

    monitor: a History key, "val_loss" by default ("loss" when there is no validation data).
    Losses are minimised, other metrics maximised. The best weights are restored when
    training ends, whether it stopped early or ran all its epochs.
    Keras: ``keras.callbacks.EarlyStopping(patience=..., restore_best_weights=True)``.
    """

    def __init__(self, patience: int = 5, monitor: str = "val_loss", min_delta: float = 0.0,
                 restore_best: bool = True):
        self.patience, self.monitor = patience, monitor
        self.min_delta, self.restore_best = min_delta, restore_best
        self.reset()

    def reset(self):
        self.best, self.best_epoch, self.best_weights, self.wait = None, None, None, 0

    def _improved(self, value) -> bool:
        if self.best is None:
            return True
        if "loss" in self.monitor:
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def update(self, epoch: int, logs: dict, model) -> bool:
        """Record one epoch; return True when training should stop."""
        key = self.monitor
        if key not in logs and key.startswith("val_") and key[4:] in logs:
            key = key[4:]  # no validation data: watch the training value
        if key not in logs:
            raise KeyError(f"EarlyStopping: no {self.monitor!r} in the history "
                           f"(available: {sorted(logs)}); pass validation_data or monitor='loss'")
        value = logs[key]
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self.best_weights = get_weights(model)
            return False
        self.wait += 1
        return self.wait >= self.patience


def _model_dtype(model):
    for _, p in model.named_parameters():
        return p.value.dtype
    return None


def fit(model, loss, optimizer, X, y, epochs: int = 10, batch_size: int | None = 32,
        validation_data=None, metrics=("accuracy",), early_stopping=None,
        patience: int | None = None, l2: float = 0.0, seed=0, shuffle: bool = True,
        verbose: bool = True) -> History:
    """Train ``model`` by mini-batch gradient descent; return the History.

    X, y: training data (N, ...) and targets. validation_data: (X_val, y_val) or None.
    batch_size: examples per step; None for full-batch gradient descent.
    metrics: "accuracy" (uses ``loss.predict_labels``; for multilabel targets (N, K), the
    fraction of right (example, tag) decisions, Keras' binary accuracy) and/or functions
    f(y_true, outputs).
    Training metrics are measured on the mini-batch outputs as they are produced (as Keras
    does); validation ones on the whole validation set in evaluation mode (no dropout).
    "loss" includes the L2 penalty when l2 > 0 (it is what is minimised); "val_loss" not.
    early_stopping: an EarlyStopping, or give ``patience`` for the default one.
    seed: int or Generator for the shuffling. Float inputs are cast to the model's dtype
    (float32 models train on float32 data). verbose: a tqdm bar over the epochs.

    Lessons: lessons/03-optimisation, lessons/04-classification.
    """
    from tqdm.auto import tqdm

    dtype = _model_dtype(model)
    X = np.asarray(X)
    if dtype is not None and np.issubdtype(X.dtype, np.floating):
        X = X.astype(dtype, copy=False)
    y = np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"fit: X has {len(X)} examples but y has {len(y)}")
    if validation_data is not None:
        X_val, y_val = validation_data
        X_val = np.asarray(X_val)
        if dtype is not None and np.issubdtype(X_val.dtype, np.floating):
            X_val = X_val.astype(dtype, copy=False)
        validation_data = X_val, np.asarray(y_val)
    if early_stopping is None and patience is not None:
        early_stopping = EarlyStopping(patience=patience)
    if early_stopping is not None:
        early_stopping.reset()
    rng = as_rng(seed)
    history = History()

    bar = tqdm(range(epochs), desc="epochs", disable=not verbose, leave=False)
    for epoch in bar:
        model.train()
        total, outputs, targets = 0.0, [], []
        for xb, yb in minibatches(X, y, batch_size, shuffle=shuffle, rng=rng):
            value, out = train_step(model, loss, optimizer, xb, yb, l2)
            total += value * len(xb)
            if metrics:
                outputs.append(out)
                targets.append(yb)
        logs = {"loss": total / len(X)}
        if metrics:
            logs.update(_metric_values(metrics, loss, np.concatenate(targets),
                                       np.concatenate(outputs)))
        if validation_data is not None:
            val = evaluate(model, loss, *validation_data, metrics=metrics)
            logs.update({f"val_{k}": v for k, v in val.items()})
        history.append(epoch, logs)
        bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()})
        if early_stopping is not None and early_stopping.update(epoch, logs, model):
            history.stopped_epoch = epoch
            break
    model.train()
    if early_stopping is not None:
        history.best_epoch = early_stopping.best_epoch
        if early_stopping.restore_best and early_stopping.best_weights is not None:
            set_weights(model, early_stopping.best_weights)
    return history
