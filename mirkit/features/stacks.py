"""Ready-made descriptor networks, each an explicit list of stages.

Each network is a :class:`mirkit.nn.Sequential` whose constructor lists its layers in order,
so that the list *is* the descriptor:

    MelSpectrogram = Frames -> DFT -> Power -> MelFilterbank          == librosa.feature.melspectrogram
    LogMel         = Frames -> DFT -> Power -> MelFilterbank -> PowerToDb
                                                                       == librosa.power_to_db(melspectrogram)
    MFCC           = Frames -> DFT -> Power -> MelFilterbank -> PowerToDb -> DCT
                                                                       == librosa.feature.mfcc
    Chroma         = Frames -> DFT -> Power -> ChromaFilterbank -> FrameNorm
                                                                       == librosa.feature.chroma_stft(tuning=...)
    OnsetStrength  = Frames -> DFT -> Power -> MelFilterbank -> PowerToDb -> Diff -> ReLU
                     -> BandMean -> OnsetAlign                         == librosa.onset.onset_strength

Input: a signal (L,) or a batch (N, L) (any leading shape); output: (F, T) or (N, F, T) like
librosa ((T,) / (N, T) for onset strength). Defaults are librosa 0.11's. The agreement with
librosa is tested to a relative error max|a - b| / max|b| (per example) <= 1e-5 in float32 and
<= 1e-8 in float64. For a batch, top_db is applied per example (librosa, given the whole batch
at once, would use the batch's maximum).

``trainable=False`` (default): a descriptor is a frozen network; ``unfreeze()`` (or
``trainable=True``) lets an optimiser train its linear stages (DFT, mel/chroma, DCT).
``fast=True`` computes the DFT with the FFT (no DFT weights); see :class:`~mirkit.features.spectrum.DFT`.
float64_sums: see the DFT too.

Lesson: lessons/06-descriptors-are-networks.
"""
from __future__ import annotations

from ..nn.activations import ReLU
from ..nn.base import Sequential
from .layers import (DFT, BandMean, ChromaFilterbank, DCT, Diff, FrameNorm, Frames, Magnitude,
                     MelFilterbank, OnsetAlign, Power, PowerToDb)

__all__ = ["Chroma", "FeatureNetwork", "LogMel", "MFCC", "MelSpectrogram", "OnsetStrength"]


def _modulus(power):
    """Power() (|X|^2) for power=2, Magnitude() (|X|) for power=1."""
    if power not in (1, 1.0, 2, 2.0):
        raise ValueError(f"power must be 1 (magnitude) or 2 (power), got {power}")
    return Power() if power == 2 else Magnitude()


class FeatureNetwork(Sequential):
    """A Sequential of descriptor stages, frozen unless trainable=True, that remembers its
    settings (sr, n_fft, hop_length). lessons/06-descriptors-are-networks."""

    def __init__(self, stages, trainable=False, sr=22050, n_fft=2048, hop_length=512):
        super().__init__(*stages)
        self.sr, self.n_fft, self.hop_length = sr, n_fft, hop_length
        if not trainable:
            self.freeze()

    def __repr__(self):
        inner = "\n".join(f"  ({i}) {layer!r}" for i, layer in enumerate(self.layers))
        return f"{type(self).__name__}(\n{inner}\n)"


class MelSpectrogram(FeatureNetwork):
    """Mel power spectrogram: (..., L) -> (..., n_mels, T).

    Lesson: lessons/06-descriptors-are-networks.

    Equal to ``librosa.feature.melspectrogram(y=y, sr=sr, n_fft=..., hop_length=...,
    n_mels=..., fmin=..., fmax=..., htk=..., power=...)``.
    """

    def __init__(self, sr: float = 22050, n_fft: int = 2048, hop_length: int = 512,
                 n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None,
                 htk: bool = False, norm="slaney", power: float = 2.0, window="hann",
                 center: bool = True, trainable: bool = False, fast: bool = False,
                 float64_sums: bool = True):
        super().__init__([
            Frames(n_fft, hop_length, center),                      # cut into frames (linear)
            DFT(n_fft, window, fast=fast, float64_sums=float64_sums),  # windowed DFT (linear)
            _modulus(power),                                        # |X|^2 (pointwise)
            MelFilterbank(sr, n_fft, n_mels, fmin, fmax, htk, norm),  # mel bands (linear)
        ], trainable, sr, n_fft, hop_length)
        self.n_mels = n_mels


class LogMel(FeatureNetwork):
    """Log-mel spectrogram in dB: (..., L) -> (..., n_mels, T).

    Lesson: lessons/06-descriptors-are-networks.

    Equal to ``librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, ...), ref=...,
    amin=..., top_db=...)``.
    """

    def __init__(self, sr: float = 22050, n_fft: int = 2048, hop_length: int = 512,
                 n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None,
                 htk: bool = False, ref=1.0, amin: float = 1e-10, top_db: float | None = 80.0,
                 trainable: bool = False, fast: bool = False, float64_sums: bool = True):
        super().__init__([
            Frames(n_fft, hop_length),                              # cut into frames (linear)
            DFT(n_fft, fast=fast, float64_sums=float64_sums),       # windowed DFT (linear)
            Power(),                                                # |X|^2 (pointwise)
            MelFilterbank(sr, n_fft, n_mels, fmin, fmax, htk),      # mel bands (linear)
            PowerToDb(ref, amin, top_db),                           # decibels (pointwise log)
        ], trainable, sr, n_fft, hop_length)
        self.n_mels = n_mels


class MFCC(FeatureNetwork):
    """Mel-frequency cepstral coefficients: (..., L) -> (..., n_mfcc, T).

    The lecture's MFCC network, after framing: linear, non-linear, linear, non-linear, linear.
    Equal to ``librosa.feature.mfcc(y=y, sr=sr, n_mfcc=..., n_fft=..., hop_length=..., n_mels=...)``.

    Lesson: lessons/06-descriptors-are-networks.
    """

    def __init__(self, sr: float = 22050, n_mfcc: int = 20, n_fft: int = 2048,
                 hop_length: int = 512, n_mels: int = 128, fmin: float = 0.0,
                 fmax: float | None = None, htk: bool = False, top_db: float | None = 80.0,
                 trainable: bool = False, fast: bool = False, float64_sums: bool = True):
        super().__init__([
            Frames(n_fft, hop_length),                              # cut into frames
            DFT(n_fft, fast=fast, float64_sums=float64_sums),       # 1. windowed DFT (linear)
            Power(),                                                # 2. |X|^2 (pointwise)
            MelFilterbank(sr, n_fft, n_mels, fmin, fmax, htk),      # 3. mel bands (linear)
            PowerToDb(top_db=top_db),                               # 4. decibels (pointwise log)
            DCT(n_mels, n_mfcc),                                    # 5. cepstrum (linear)
        ], trainable, sr, n_fft, hop_length)
        self.n_mels, self.n_mfcc = n_mels, n_mfcc


class Chroma(FeatureNetwork):
    """Chromagram from the power spectrum: (..., L) -> (..., n_chroma, T).

    Equal to ``librosa.feature.chroma_stft(y=y, sr=sr, tuning=tuning, ...)``. librosa estimates
    the tuning from the signal when tuning=None; that estimation (a pitch histogram) is not part
    of the network, so here ``tuning`` is given (0.0: A4 = 440 Hz).

    Lesson: lessons/06-descriptors-are-networks.
    """

    def __init__(self, sr: float = 22050, n_fft: int = 2048, hop_length: int = 512,
                 n_chroma: int = 12, tuning: float = 0.0, trainable: bool = False,
                 fast: bool = False, float64_sums: bool = True):
        super().__init__([
            Frames(n_fft, hop_length),                              # cut into frames (linear)
            DFT(n_fft, fast=fast, float64_sums=float64_sums),       # windowed DFT (linear)
            Power(),                                                # |X|^2 (pointwise)
            ChromaFilterbank(sr, n_fft, n_chroma, tuning),          # fold bins into pitch classes (linear)
            FrameNorm(),                                            # max = 1 in every frame
        ], trainable, sr, n_fft, hop_length)


class OnsetStrength(FeatureNetwork):
    """Onset strength envelope (spectral flux of the log-mel): (..., L) -> (..., T).
    lessons/06-descriptors-are-networks.

    The lecture's "rectified difference": o[t] = mean_f max(0, S[f, t] - S[f, t - lag])
    (0 for t < lag) on the log-mel S, then delayed by n_fft // (2 hop) frames to undo the delay
    of centred framing, as librosa does. Equal to ``librosa.onset.onset_strength(y=y, sr=sr, ...)``
    with its defaults lag=1, max_size=1 (no maximum filter across bands), aggregate=np.mean.
    """

    def __init__(self, sr: float = 22050, n_fft: int = 2048, hop_length: int = 512,
                 n_mels: int = 128, lag: int = 1, trainable: bool = False, fast: bool = False,
                 float64_sums: bool = True):
        super().__init__([
            Frames(n_fft, hop_length),                              # cut into frames (linear)
            DFT(n_fft, fast=fast, float64_sums=float64_sums),       # windowed DFT (linear)
            Power(),                                                # |X|^2 (pointwise)
            MelFilterbank(sr, n_fft, n_mels),                       # mel bands (linear)
            PowerToDb(),                                            # decibels (pointwise log)
            Diff(lag),                                              # S[t] - S[t - lag] (linear)
            ReLU(),                                                 # keep the increases
            BandMean(),                                             # mean over bands (linear)
            OnsetAlign(n_fft, hop_length),                          # undo the framing delay
        ], trainable, sr, n_fft, hop_length)
        self.n_mels = n_mels
