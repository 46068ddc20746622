"""Convolution benchmark (lesson 05): mirkit fast vs naive vs Keras, on spectrogram-sized work.

Network: batch 32 of 1 x 128 x 128 inputs, Conv 16 3x3 -> ReLU -> MaxPool 2x2 -> Conv 32 3x3
("valid"), float32; one forward + backward (gradients of the input and of every weight).

Printed, all measured in this run:
1. mirkit fast vs mirkit naive: the naive loops run on a subset of the batch and their time is
   scaled linearly to 32 examples (the loops are linear in the batch size), labelled as such;
2. mirkit fast vs Keras 3 (TensorFlow backend, compiled with tf.function, same weights);
3. the GFLOP/s of the fast convolutions (forward + both backward products) as a fraction of
   the float32 matrix-product rate of this machine (numpy @ on 2048 x 2048 matrices).

Timings are the best of 3 runs after a warm-up; mirkit fast is timed with numpy's default BLAS
threads and with one thread, and the better is reported (on a busy 2-core machine, two BLAS
threads waiting for each other can be several times slower).
"""
from __future__ import annotations

import os
import time

import numpy as np

N, C, H, W = 32, 1, 128, 128
NAIVE_SUBSET = 1  # examples run through the naive loops


def _best(fn, repeat=3):
    fn()  # warm-up (allocations, BLAS threads, tf.function tracing)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


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

    # -- mirkit fast ------------------------------------------------------------------------
    def fast():
        model.forward(x)
        return model.backward(dy)

    from threadpoolctl import threadpool_limits

    t_fast_default = _best(fast)
    with threadpool_limits(1):  # on 2 busy cores one BLAS thread is often faster
        t_fast_one = _best(fast)
    t_fast = min(t_fast_default, t_fast_one)
    threads = 1 if t_fast_one < t_fast_default else "default"

    # the convolutions alone, for the GFLOP/s figure
    h = np.maximum(model[0].forward(x), 0)
    p = model[2].forward(h)

    def convs_only():
        _, c1 = nn.conv2d_forward_fast(x, W1, b1)
        _, c2 = nn.conv2d_forward_fast(p, W2, b2)
        nn.conv2d_backward_fast(dy, c2)
        nn.conv2d_backward_fast(h, c1)

    if threads == 1:
        with threadpool_limits(1):
            t_convs = _best(convs_only)
    else:
        t_convs = _best(convs_only)

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

    t_keras = _best(keras_run)
    dx_keras = keras_run()[0].transpose(0, 3, 1, 2)
    agree_keras = np.max(np.abs(dx_keras - fast())) / np.max(np.abs(dx_keras))

    # -- machine float32 matmul rate --------------------------------------------------------------
    A = rng.standard_normal((2048, 2048)).astype(np.float32)
    B = rng.standard_normal((2048, 2048)).astype(np.float32)
    t_mm = _best(lambda: A @ B)
    gflops_mm = 2 * 2048 ** 3 / t_mm / 1e9
    gflops_conv = _conv_flops(N) / t_convs / 1e9

    print(f"mirkit fast  forward+backward: {t_fast * 1e3:8.1f} ms  (BLAS threads: default "
          f"{t_fast_default * 1e3:.1f} ms, one {t_fast_one * 1e3:.1f} ms; the better one is used)")
    print(f"mirkit naive forward+backward: {t_naive:8.1f} s  (EXTRAPOLATED: measured on "
          f"{NAIVE_SUBSET} of {N} examples, x{N // NAIVE_SUBSET}; max rel. diff of dx {agree:.1e})")
    print(f"keras (TF, tf.function)      : {t_keras * 1e3:8.1f} ms  (max rel. diff of dx {agree_keras:.1e})")
    print(f"[1] speed-up fast vs naive   : {t_naive / t_fast:8.0f} x   (goal >= 100 x)")
    print(f"[2] mirkit fast / keras time : {t_fast / t_keras:8.2f}     (goal <= 2)")
    print(f"[3] fast conv {gflops_conv:.1f} GFLOP/s = {gflops_conv / gflops_mm:.0%} of float32 "
          f"matmul ({gflops_mm:.1f} GFLOP/s, 2048^2 @ 2048^2); convolutions alone "
          f"{t_convs * 1e3:.1f} ms of {t_fast * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
