"""Training throughput of an MLP 128-256-256-10 (batch 64, float32): mirkit vs Keras.

Same data, same architecture, same optimiser (Adam, lr 1e-3), same batch size, same run.
Prints the time per epoch of each and the ratio mirkit / Keras (goal: <= 2).
Keras' first epoch includes tracing and compilation, so both are timed on later epochs.

mirkit is timed twice: with numpy's BLAS at its default number of threads, and with one BLAS
thread (threadpoolctl). For (64 x 256) matrices a matrix product takes ~0.1 ms, and waking
and synchronising BLAS threads can cost more than that -- catastrophically more when the
cores are shared with other processes. On such small layers one thread is usually faster.
"""
from __future__ import annotations

import os
import time

import numpy as np

N, D, H, K = 8192, 128, 256, 10
BATCH, EPOCHS = 64, 3


def data(seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((K, D)).astype(np.float32)
    y = rng.integers(0, K, size=N)
    X = centres[y] + rng.standard_normal((N, D)).astype(np.float32)
    return X, y


def time_mirkit(X, y, blas_threads=None):
    import mirkit.nn as nn
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=blas_threads, user_api="blas"):
        return _time_mirkit(nn, X, y)


def _time_mirkit(nn, X, y):
    model = nn.Sequential(nn.Dense(D, H, init="he", rng=0, dtype=np.float32), nn.ReLU(),
                          nn.Dense(H, H, init="he", rng=1, dtype=np.float32), nn.ReLU(),
                          nn.Dense(H, K, rng=2, dtype=np.float32))
    opt = nn.Adam(model.named_parameters(), lr=1e-3)
    loss = nn.SoftmaxCrossEntropy()
    times = []
    for epoch in range(EPOCHS):
        t0 = time.perf_counter()
        hist = nn.fit(model, loss, opt, X, y, epochs=1, batch_size=BATCH, seed=epoch,
                      verbose=False)
        times.append(time.perf_counter() - t0)
    return float(np.median(times[1:])), hist["accuracy"][-1]


def time_keras(X, y):
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((D,)), keras.layers.Dense(H, activation="relu"),
                              keras.layers.Dense(H, activation="relu"), keras.layers.Dense(K)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t0)

    times = []
    hist = model.fit(X, y, batch_size=BATCH, epochs=EPOCHS, verbose=0, callbacks=[Timer()])
    return float(np.median(times[1:])), hist.history["accuracy"][-1]


def main():
    X, y = data()
    steps = int(np.ceil(N / BATCH))
    t_one, acc_m = time_mirkit(X, y, blas_threads=1)
    t_default, _ = time_mirkit(X, y, blas_threads=None)
    t_keras, acc_k = time_keras(X, y)
    print(f"MLP {D}-{H}-{H}-{K}, float32, batch {BATCH}, {N} examples ({steps} steps/epoch), "
          f"Adam, {os.cpu_count()} CPUs")
    for label, t, acc in [("mirkit, 1 BLAS thread", t_one, acc_m),
                          ("mirkit, default BLAS threads", t_default, acc_m),
                          ("keras (tensorflow)", t_keras, acc_k)]:
        print(f"  {label:<29}: {t * 1e3:8.1f} ms/epoch  ({t / steps * 1e6:6.0f} us/step)  "
              f"train acc {acc:.3f}")
    ratio = t_one / t_keras
    print(f"  ratio mirkit / keras = {ratio:.2f} with 1 BLAS thread, "
          f"{t_default / t_keras:.2f} with the default  "
          f"(goal <= 2: {'met' if ratio <= 2 else 'NOT met'})")
    return ratio


if __name__ == "__main__":
    main()
