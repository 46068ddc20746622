"""DFT by matrix product (mirkit.signal.dft, O(N^2)) vs the FFT (numpy, O(N log N)), and
mirkit.signal.stft vs librosa.stft, in the same run (lesson 00)."""
import time

import librosa
import numpy as np

from mirkit import signal as ms


def _best(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    rng = np.random.default_rng(0)
    print("DFT of 64 frames: matrix product F @ x vs np.fft.fft")
    print(f"{'N':>6} {'matrix (ms)':>12} {'fft (ms)':>10} {'ratio':>8} {'max |diff|':>11}")
    for n in (64, 256, 1024, 2048):
        x = rng.standard_normal((n, 64))
        t_mat = _best(lambda: ms.dft(x))
        t_fft = _best(lambda: np.fft.fft(x, axis=0))
        err = np.max(np.abs(ms.dft(x) - np.fft.fft(x, axis=0)))
        print(f"{n:>6} {t_mat * 1e3:>12.2f} {t_fft * 1e3:>10.3f} {t_mat / t_fft:>8.0f} {err:>11.1e}")

    y = ms.drum_loop(sr=22050, bars=8)
    t_ms = _best(lambda: ms.stft(y, 2048, 512))
    t_lr = _best(lambda: librosa.stft(y, n_fft=2048, hop_length=512))
    err = np.max(np.abs(ms.stft(y, 2048, 512) - librosa.stft(y, n_fft=2048, hop_length=512)))
    print(f"\nstft of {y.size / 22050:.1f} s (n_fft 2048, hop 512): mirkit {t_ms * 1e3:.1f} ms, "
          f"librosa {t_lr * 1e3:.1f} ms, ratio {t_ms / t_lr:.2f}, max |diff| {err:.1e}")


if __name__ == "__main__":
    main()
