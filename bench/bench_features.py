"""Descriptor networks (mirkit.features) vs librosa: time ratio and relative error, same run.

On one 30 s clip at 22050 Hz and on a batch of 32 such clips (float32), for MFCC, Chroma and
OnsetStrength:
  * "fft":    the DFT stage computed by numpy.fft.rfft (float64 sums, then float32; fixed DFT),
  * "fft32":  the same with float32 sums (larger errors on the dB of quiet bins),
  * "matrix": the trainable DFT, a (F, n_fft) matrix product per frame: O(n_fft^2) per frame
              instead of O(n_fft log n_fft) -- the price of learning the front end.
ratio = mirkit time / librosa time (< 1 means mirkit is faster). The two are timed in
alternation, librosa then mirkit, several times; the times shown are medians and the ratio is
the median of the per-pair ratios: on a shared machine both see the same load (the load
average is printed before and after).
err = max over examples of max|a - b| / max|b|.
"""
from __future__ import annotations

import os
import time
import warnings

import numpy as np

SR = 22050


def _clips(n, seconds=30, seed=0):
    """Tonal clips with noise bursts: sums of harmonics of random notes, plus drum-like bursts."""
    rng = np.random.default_rng(seed)
    t = np.arange(seconds * SR) / SR
    out = np.empty((n, t.size), dtype=np.float32)
    for i in range(n):
        f0 = 110 * 2 ** (rng.integers(0, 36, size=int(seconds * 2)) / 12)   # a note every 0.5 s
        f = np.repeat(f0, t.size // f0.size + 1)[:t.size]
        phase = 2 * np.pi * np.cumsum(f) / SR
        y = sum(np.sin(k * phase) / k for k in range(1, 6))
        y += np.where((t % 0.5) < 0.02, rng.standard_normal(t.size), 0.0)
        out[i] = 0.3 * y
    return out


def _seconds(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _interleaved(fn_ref, fn, repeats):
    """Run fn_ref and fn in alternation, so that both see the same load. Returns the median
    times of each and the median of the per-pair ratios fn / fn_ref."""
    times = np.array([(_seconds(fn_ref), _seconds(fn)) for _ in range(repeats)])
    t_ref, t = np.median(times, axis=0)
    return t_ref, t, np.median(times[:, 1] / times[:, 0])


def _load():
    return "load average (1, 5, 15 min): " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def _rel(a, b):
    a, b = np.atleast_2d(a.astype(np.float64)), np.atleast_2d(b.astype(np.float64))
    a, b = a.reshape(-1 if a.ndim > 2 else 1, *a.shape[-2:]), b.reshape(-1 if b.ndim > 2 else 1, *b.shape[-2:])
    return max(np.max(np.abs(x - y)) / np.max(np.abs(y)) for x, y in zip(a, b))


def main():
    import librosa

    from mirkit import features as mf

    warnings.simplefilter("ignore")
    refs = {
        "MFCC": lambda y: librosa.feature.mfcc(y=y, sr=SR),
        "Chroma": lambda y: librosa.feature.chroma_stft(y=y, sr=SR, tuning=0.0),
        "OnsetStrength": lambda y: librosa.onset.onset_strength(y=y, sr=SR),
    }
    variants = {"fft": dict(fast=True), "fft32": dict(fast=True, float64_sums=False),
                "matrix": dict(fast=False)}
    clips = _clips(32)
    print(f"float32 input, sr={SR}, n_fft=2048, hop=512; ratio = mirkit / librosa time "
          f"(medians of interleaved runs; < 1: mirkit faster); err = max|a-b|/max|b| per example")
    print(f"{os.cpu_count()} CPUs, {_load()}")
    print(f"{'input':<16}{'network':<15}{'variant':<8}{'librosa s':>10}{'mirkit s':>10}"
          f"{'ratio':>8}{'max rel err':>13}")
    for label, y, repeats in [("one 30 s clip", clips[0], 15), ("batch 32 x 30 s", clips, 5)]:
        for name, ref_fn in refs.items():
            # reference values example by example (given a batch at once, librosa's top_db
            # would use the batch's maximum); librosa's *time* on the whole batch at once
            ref = np.stack([ref_fn(c) for c in y]) if y.ndim == 2 else ref_fn(y)
            for variant, kw in variants.items():
                # the O(n_fft^2) matrix DFT on 32 clips takes a minute: time it on 4
                y_run = y[:4] if (variant == "matrix" and y.ndim == 2) else y
                net = getattr(mf, name)(sr=SR, **kw)
                err = _rel(net(y_run), ref[:len(y_run)] if y.ndim == 2 else ref)
                t_lib, t_mk, ratio = _interleaved(lambda: ref_fn(y_run), lambda: net(y_run),
                                           repeats if variant != "matrix" else 1)
                shown = label if y_run is y else f"batch {len(y_run)} x 30 s"
                print(f"{shown:<16}{name:<15}{variant:<8}{t_lib:>10.4f}{t_mk:>10.4f}"
                      f"{ratio:>7.2f}x{err:>13.1e}", flush=True)
    print(_load())


if __name__ == "__main__":
    main()
