"""Convolution benchmark (lesson 05): mirkit fast vs naive vs Keras, on spectrogram-sized work.

Network: batch 32 of 1 x 128 x 128 inputs, Conv 16 3x3 -> ReLU -> MaxPool 2x2 -> Conv 32 3x3
("valid"), float32; one forward + backward (gradients of the input and of every weight).

Printed, all measured in this run:
1. mirkit fast vs mirkit naive: the naive loops run on a subset of the batch and their time is
   scaled linearly to 32 examples (the loops are linear in the batch size), labelled as such;
2. mirkit fast vs Keras 3 (TensorFlow backend, compiled with tf.function, same weights);
3. the GFLOP/s of the fast convolutions (forward + both backward products) as a fraction of
   the float32 matrix-product rate of this machine (numpy @ on 2048 x 2048 matrices).

Timing is interleaved so that mirkit and Keras see the same machine load: after a warm-up,
each of ROUNDS rounds runs Keras, mirkit fast with numpy's default BLAS threads and mirkit
fast with one BLAS thread, each twice in a row with only the second run timed (the steady
state of a training loop), and each gets the median of its rounds. The better of
mirkit's two thread settings is reported, labelled (on a busy 2-core machine, two BLAS threads
waiting for each other can be several times slower); Keras keeps TensorFlow's own threading.
The GFLOP/s figure uses that same thread setting for the convolutions and for the reference
matrix product. The load average is printed with the numbers: they mean little without it.
The CPU time of a step (summed over the process's threads) is printed too: TensorFlow spreads
all of its work over the cores; mirkit's fast convolutions share their examples between as
many threads as BLAS may use (one in the "one BLAS thread" setting), and the ReLU and pooling
run on one thread. On a loaded machine the wall-clock ratio also measures how much CPU each
side gets.
"""
from __future__ import annotations

import os
import time

import numpy as np

N, C, H, W = 32, 1, 128, 128
NAIVE_SUBSET = 1  # examples run through the naive loops
ROUNDS = 7  # interleaved rounds (mirkit and Keras alternate); medians are reported
PAUSE = 0.2  # seconds between two timed runs (see _interleaved)


def _time(fn):
    """(wall-clock time, CPU time of this process summed over its threads) of one call."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def _interleaved(fns, rounds=ROUNDS, pause=PAUSE):
    """Median (wall, CPU) times of each fn in fns (name -> callable), run in turn, round after round.

    The pause lets the worker threads of the previous run go to sleep first: idle TensorFlow
    and OpenBLAS threads spin for a while before sleeping, and would otherwise eat into the
    next run's time on a 2-core machine. After the pause each fn runs once untimed, then once
    timed: a training loop runs its steps back to back, and on a virtual machine the first
    tens of milliseconds after an idle pause run up to twice slower (the cores wake up), which
    would measure the pause rather than the step.
    """
    for fn in fns.values():
        fn()  # warm-up (allocations, BLAS threads, tf.function tracing)
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            time.sleep(pause)
            fn()  # untimed: wakes the cores and this side's threads up again (see the docstring)
            times[name].append(_time(fn))
    return {name: tuple(np.median(t, axis=0)) for name, t in times.items()}


def _conv_flops(n):
    """Multiply-adds x 2 of both convolutions, forward + dW + dx (three products each)."""
    f1 = 2 * n * 16 * 126 * 126 * (1 * 3 * 3)
    f2 = 2 * n * 32 * 61 * 61 * (16 * 3 * 3)
    return 3 * (f1 + f2)


def main():
    import mirkit.nn as nn
    from mirkit.nn.activations import ReLU

    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    model = nn.Sequential(nn.Conv2D(1, 16, 3, rng=0, dtype=np.float32), ReLU(), nn.MaxPool2D(2),
                          nn.Conv2D(16, 32, 3, rng=1, dtype=np.float32))
    y = model.forward(x)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    W1, b1 = model[0].params["W"].value, model[0].params["b"].value
    W2, b2 = model[3].params["W"].value, model[3].params["b"].value
    print(f"input {x.shape} float32, output {y.shape}")

    # -- mirkit fast ----------------------------------------------------------------------------
    from threadpoolctl import threadpool_limits

    def fast():
        model.forward(x)
        return model.backward(dy)

    def fast_one_thread():  # on 2 busy cores one BLAS thread is often faster
        with threadpool_limits(1):
            return fast()

    # -- mirkit naive, on a subset ------------------------------------------------------------
    def naive(n):
        xs, dys = x[:n], dy[:n]
        h1, c1 = nn.conv2d_forward_naive(xs, W1, b1)
        r = np.maximum(h1, 0)
        p1, cp = nn.maxpool2d_forward_naive(r)
        _, c2 = nn.conv2d_forward_naive(p1, W2, b2)
        dp, _, _ = nn.conv2d_backward_naive(dys, c2)
        dr = nn.maxpool2d_backward_naive(dp, cp)
        dx, _, _ = nn.conv2d_backward_naive(dr * (h1 > 0), c1)
        return dx

    t0 = time.perf_counter()
    dx_naive = naive(NAIVE_SUBSET)
    t_naive = (time.perf_counter() - t0) * N / NAIVE_SUBSET
    dx_fast = fast()[:NAIVE_SUBSET]
    agree = np.max(np.abs(dx_naive - dx_fast)) / np.max(np.abs(dx_fast))

    # -- Keras / TensorFlow ---------------------------------------------------------------------
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    kmodel = keras.Sequential([keras.Input((H, W, C)),
                               keras.layers.Conv2D(16, 3, activation="relu"),
                               keras.layers.MaxPooling2D(2),
                               keras.layers.Conv2D(32, 3)])
    kmodel.layers[0].set_weights([W1.transpose(2, 3, 1, 0), b1])
    kmodel.layers[2].set_weights([W2.transpose(2, 3, 1, 0), b2])
    xk = tf.constant(x.transpose(0, 2, 3, 1))
    dyk = tf.constant(dy.transpose(0, 2, 3, 1))

    @tf.function
    def keras_step(xin):
        with tf.GradientTape() as tape:
            tape.watch(xin)
            out = kmodel(xin, training=True)
            loss = tf.reduce_sum(out * dyk)
        return tape.gradient(loss, [xin] + kmodel.trainable_weights)

    def keras_run():
        return [g.numpy() for g in keras_step(xk)]

    dx_keras = keras_run()[0].transpose(0, 3, 1, 2)
    agree_keras = np.max(np.abs(dx_keras - fast())) / np.max(np.abs(dx_keras))

    # -- interleaved timing: Keras, mirkit (default BLAS threads), mirkit (one BLAS thread) ---
    load_before = os.getloadavg()[0]
    t = _interleaved({"keras": keras_run, "default": fast, "one": fast_one_thread})
    load_after = os.getloadavg()[0]
    (t_keras, cpu_keras), (t_fast_default, cpu_default), (t_fast_one, cpu_one) = \
        t["keras"], t["default"], t["one"]
    t_fast = min(t_fast_default, t_fast_one)
    threads = 1 if t_fast_one < t_fast_default else None  # None: numpy's default
    cpu_fast = cpu_one if threads == 1 else cpu_default

    # the convolutions alone, and the machine's float32 matmul rate, with the same BLAS threads
    h = np.maximum(model[0].forward(x), 0)
    p = model[2].forward(h)

    def convs_only():
        _, c1 = nn.conv2d_forward_fast(x, W1, b1)
        _, c2 = nn.conv2d_forward_fast(p, W2, b2)
        nn.conv2d_backward_fast(dy, c2)
        nn.conv2d_backward_fast(h, c1)

    A = rng.standard_normal((2048, 2048)).astype(np.float32)
    B = rng.standard_normal((2048, 2048)).astype(np.float32)
    with threadpool_limits(threads):
        rates = _interleaved({"convs": convs_only, "mm": lambda: A @ B}, rounds=5)
    t_convs, t_mm = rates["convs"][0], rates["mm"][0]

    gflops_mm = 2 * 2048 ** 3 / t_mm / 1e9
    gflops_conv = _conv_flops(N) / t_convs / 1e9

    label = "one BLAS thread" if threads == 1 else "numpy's default BLAS threads"
    print(f"load average (1 min) {load_before:.1f} before timing, {load_after:.1f} after, "
          f"on {os.cpu_count()} CPUs; medians of {ROUNDS} interleaved rounds")
    print(f"mirkit fast  forward+backward: {t_fast * 1e3:8.1f} ms  ({label}; default threads "
          f"{t_fast_default * 1e3:.1f} ms, one thread {t_fast_one * 1e3:.1f} ms)")
    print(f"mirkit naive forward+backward: {t_naive:8.1f} s  (EXTRAPOLATED: measured on "
          f"{NAIVE_SUBSET} of {N} examples, x{N // NAIVE_SUBSET}; max rel. diff of dx {agree:.1e})")
    print(f"keras (TF, tf.function)      : {t_keras * 1e3:8.1f} ms  "
          f"(TensorFlow's own threads; max rel. diff of dx {agree_keras:.1e})")
    print(f"[1] speed-up fast vs naive   : {t_naive / t_fast:8.0f} x   (goal >= 100 x)")
    print(f"[2] mirkit fast / keras time : {t_fast / t_keras:8.2f}     (goal <= 2; wall-clock)")
    print(f"    CPU time per step (all threads of the process): mirkit {cpu_fast * 1e3:.1f} ms, "
          f"keras {cpu_keras * 1e3:.1f} ms, ratio {cpu_fast / cpu_keras:.2f}")
    print("    (on a loaded machine the wall-clock ratio also depends on how many threads each "
          "side keeps busy)")
    print(f"[3] fast conv {gflops_conv:.1f} GFLOP/s = {gflops_conv / gflops_mm:.0%} of float32 "
          f"matmul ({gflops_mm:.1f} GFLOP/s, 2048^2 @ 2048^2, same BLAS threads);")
    print(f"    convolutions alone {t_convs * 1e3:.1f} ms of {t_fast * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
