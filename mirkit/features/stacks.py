"""Ready-made descriptor networks: each one a :class:`mirkit.nn.Sequential` of feature layers (lesson 06).

    MelSpectrogram = Frames -> DFT -> Power -> MelFilterbank          == librosa.feature.melspectrogram
    LogMel         = MelSpectrogram -> PowerToDb                       == librosa.power_to_db(melspectrogram)
    MFCC           = LogMel -> DCT                                     == librosa.feature.mfcc
    Chroma         = Frames -> DFT -> Power -> ChromaFilterbank -> FrameNorm
                                                                       == librosa.feature.chroma_stft(tuning=...)
    OnsetStrength  = LogMel -> Diff -> ReLU -> BandMean -> OnsetAlign  == librosa.onset.onset_strength

Input: a signal (L,) or a batch (N, L) (any leading shape); output: (F, T) or (N, F, T) like
librosa ((T,) / (N, T) for onset strength). Defaults are librosa 0.11's. The agreement with
librosa is tested to a relative error max|a - b| / max|b| (per example) <= 1e-5 in float32 and
<= 1e-8 in float64. For a batch, top_db is applied per example (librosa, given the whole batch
at once, would use the batch's maximum).

``trainable=False`` (default): a descriptor is a frozen network; ``unfreeze()`` (or
``trainable=True``) lets an optimiser train its linear stages (DFT, mel/chroma, DCT).
``fast=True`` computes the DFT with the FFT (no DFT weights); see :class:`~mirkit.features.layers.DFT`.
"""
from __future__ import annotations

from ..nn.activations import ReLU
from ..nn.base import Sequential
from .layers import (DFT, BandMean, ChromaFilterbank, DCT, Diff, FrameNorm, Frames, Magnitude,
                     MelFilterbank, OnsetAlign, Power, PowerToDb)


def _spectrum(n_fft, hop_length, window, center, power, fast, float64_sums):
    """Frames -> DFT -> Power (or Magnitude for power=1): the STFT front end."""
    if power not in (1, 1.0, 2, 2.0):
        raise ValueError(f"power must be 1 (magnitude) or 2 (power), got {power}")
    modulus = Power() if power == 2 else Magnitude()
    return [Frames(n_fft, hop_length, center),
            DFT(n_fft, window, fast=fast, float64_sums=float64_sums), modulus]


class FeatureNetwork(Sequential):
    """A Sequential that remembers its settings; frozen unless trainable=True. Lesson 06."""

    def _finish(self, trainable):
        if not trainable:
            self.freeze()

    def __repr__(self):
        inner = "\n".join(f"  ({i}) {layer!r}" for i, layer in enumerate(self.layers))
        return f"{type(self).__name__}(\n{inner}\n)"


class MelSpectrogram(FeatureNetwork):
    """Mel power spectrogram: (..., L) -> (..., n_mels, T). Lesson 06.

    Frames -> DFT -> Power -> MelFilterbank; equal to ``librosa.feature.melspectrogram(y=y,
    sr=sr, n_fft=..., hop_length=..., n_mels=..., fmin=..., fmax=..., htk=..., power=...)``.
    """

    def __init__(self, sr: float = 22050, n_fft: int = 2048, hop_length: int = 512,
                 n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None,
                 htk: bool = False, norm="slaney", power: float = 2.0, window="hann",
                 center: bool = True, trainable: bool = False, fast: bool = False,
                 float64_sums: bool = True, _extra=()):
        self.sr, self.n_fft, self.hop_length, self.n_mels = sr, n_fft, hop_length, n_mels
        super().__init__(*_spectrum(n_fft, hop_length, window, center, power, fast, float64_sums),
                         MelFilterbank(sr, n_fft, n_mels, fmin, fmax, htk, norm), *_extra)
        self._finish(trainable)


class LogMel(MelSpectrogram):
    """Log-mel spectrogram in dB: (..., L) -> (..., n_mels, T). Lesson 06.

    MelSpectrogram -> PowerToDb(ref, amin, top_db); equal to
    ``librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, ...), ref=..., top_db=...)``.
    """

    def __init__(self, sr: float = 22050, n_fft: int = 2048, hop_length: int = 512,
                 n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None,
                 htk: bool = False, ref=1.0, amin: float = 1e-10, top_db: float | None = 80.0,
                 trainable: bool = False, fast: bool = False, float64_sums: bool = True, _extra=()):
        super().__init__(sr, n_fft, hop_length, n_mels, fmin, fmax, htk, trainable=True, fast=fast,
                         float64_sums=float64_sums, _extra=(PowerToDb(ref, amin, top_db), *_extra))
        self._finish(trainable)


class MFCC(LogMel):
    """Mel-frequency cepstral coefficients: (..., L) -> (..., n_mfcc, T). Lesson 06.

    Frames -> DFT -> Power -> MelFilterbank -> PowerToDb -> DCT: linear, non-linear, linear,
    non-linear, linear -- the lecture's MFCC network. Equal to
    ``librosa.feature.mfcc(y=y, sr=sr, n_mfcc=..., n_fft=..., hop_length=..., n_mels=...)``.
    """

    def __init__(self, sr: float = 22050, n_mfcc: int = 20, n_fft: int = 2048,
                 hop_length: int = 512, n_mels: int = 128, fmin: float = 0.0,
                 fmax: float | None = None, htk: bool = False, top_db: float | None = 80.0,
                 trainable: bool = False, fast: bool = False, float64_sums: bool = True):
        self.n_mfcc = n_mfcc
        super().__init__(sr, n_fft, hop_length, n_mels, fmin, fmax, htk, top_db=top_db,
                         trainable=True, fast=fast, float64_sums=float64_sums,
                         _extra=(DCT(n_mels, n_mfcc),))
        self._finish(trainable)


class Chroma(FeatureNetwork):
    """Chromagram from the power spectrum: (..., L) -> (..., n_chroma, T). Lesson 06.

    Frames -> DFT -> Power -> ChromaFilterbank -> FrameNorm; equal to
    ``librosa.feature.chroma_stft(y=y, sr=sr, tuning=tuning, ...)``. librosa estimates the
    tuning from the signal when tuning=None; that estimation (a pitch histogram) is not part of
    the network, so here ``tuning`` is given (0.0: A4 = 440 Hz).
    """

    def __init__(self, sr: float = 22050, n_fft: int = 2048, hop_length: int = 512,
                 n_chroma: int = 12, tuning: float = 0.0, trainable: bool = False,
                 fast: bool = False, float64_sums: bool = True):
        self.sr, self.n_fft, self.hop_length = sr, n_fft, hop_length
        super().__init__(*_spectrum(n_fft, hop_length, "hann", True, 2, fast, float64_sums),
                         ChromaFilterbank(sr, n_fft, n_chroma, tuning), FrameNorm())
        self._finish(trainable)


class OnsetStrength(LogMel):
    """Onset strength envelope (spectral flux of the log-mel): (..., L) -> (..., T). Lesson 06.

    LogMel -> Diff(lag) -> ReLU -> BandMean -> OnsetAlign: "rectified difference" of the
    lecture: o[t] = mean_f max(0, S[f, t] - S[f, t - lag]) (0 for t < lag), then delayed by
    n_fft // (2 hop) frames to undo the delay of centred framing, as librosa does. Equal to ``librosa.onset.onset_strength(y=y, sr=sr, ...)`` with
    its defaults lag=1, max_size=1 (no maximum filter across bands), aggregate=np.mean.
    """

    def __init__(self, sr: float = 22050, n_fft: int = 2048, hop_length: int = 512,
                 n_mels: int = 128, lag: int = 1, trainable: bool = False, fast: bool = False,
                 float64_sums: bool = True):
        super().__init__(sr, n_fft, hop_length, n_mels, trainable=True, fast=fast,
                         float64_sums=float64_sums,
                         _extra=(Diff(lag), ReLU(), BandMean(), OnsetAlign(n_fft, hop_length)))
        self._finish(trainable)
