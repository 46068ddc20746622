"""Test sounds for the lessons: sines, harmonic tones, chirps, noise, a drum loop, arpeggios
(lessons/00-audio-as-data; lessons/06-descriptors-are-networks reuses the drum loop).

Every function returns a 1-D float64 signal of shape (n_samples,), sampled at ``sr`` Hz, values
in [-1, 1], deterministic (seeded where there is noise). They are also importable from
:mod:`mirkit.signal`.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_positive, check_positive_int

__all__ = ["sine", "tone", "chirp", "white_noise", "drum_loop", "midi_to_hz", "arpeggio"]


def _time(duration: float, sr: float) -> np.ndarray:
    duration = check_positive(duration, "duration (seconds)")
    sr = check_positive(sr, "sr (samples per second)")
    return np.arange(int(round(duration * sr))) / sr


def sine(freq: float, duration: float = 1.0, sr: float = 22050, amplitude: float = 0.5,
         phase: float = 0.0) -> np.ndarray:
    """A sampled sinusoid ``y[n] = amplitude * sin(2*pi*freq*n/sr + phase)``.

    Returns shape (round(duration*sr),). A ``freq`` above sr/2 is allowed on purpose: it aliases
    (see :func:`alias_frequency`).

    Lesson: lessons/00-audio-as-data.
    """
    t = _time(duration, sr)
    return amplitude * np.sin(2 * np.pi * freq * t + phase)


def tone(f0: float, duration: float = 1.0, sr: float = 22050, n_harmonics: int = 6,
         amplitude: float = 0.5, decay: float = 0.0) -> np.ndarray:
    """A harmonic tone: ``sum_h sin(2*pi*h*f0*t) / h`` for h = 1..n_harmonics.

    Harmonics above sr/2 are left out (they would alias). ``decay`` (1/s) applies an
    exponential envelope exp(-decay*t), like a plucked string. Peak normalised to ``amplitude``.
    Returns shape (round(duration*sr),).

    Lesson: lessons/00-audio-as-data.
    """
    t = _time(duration, sr)
    n_harmonics = check_positive_int(n_harmonics, "n_harmonics")
    y = np.zeros_like(t)
    for h in range(1, n_harmonics + 1):
        if h * f0 < sr / 2:
            y += np.sin(2 * np.pi * h * f0 * t) / h
    y *= np.exp(-decay * t)
    peak = np.max(np.abs(y))
    return amplitude * y / peak if peak > 0 else y


def chirp(f_start: float, f_end: float, duration: float = 2.0, sr: float = 22050,
          amplitude: float = 0.5, method: str = "linear") -> np.ndarray:
    """A sweep from f_start to f_end Hz. lessons/00-audio-as-data.

    The phase is the integral of the instantaneous frequency f(t):
    linear f(t) = f0 + (f1 - f0) t / T; exponential f(t) = f0 (f1/f0)^(t/T) (one octave per
    equal time step, as we hear pitch). Returns shape (round(duration*sr),).
    """
    t = _time(duration, sr)
    T = duration
    if method == "linear":
        phase = 2 * np.pi * (f_start * t + (f_end - f_start) * t ** 2 / (2 * T))
    elif method == "exponential":
        if f_start <= 0 or f_end <= 0:
            raise ValueError("an exponential chirp needs f_start > 0 and f_end > 0.")
        k = np.log(f_end / f_start) / T
        phase = 2 * np.pi * f_start * np.expm1(k * t) / k if k != 0 else 2 * np.pi * f_start * t
    else:
        raise ValueError(f"method must be 'linear' or 'exponential', got {method!r}.")
    return amplitude * np.sin(phase)


def white_noise(duration: float = 1.0, sr: float = 22050, amplitude: float = 0.1,
                seed: int = 0) -> np.ndarray:
    """Gaussian white noise of standard deviation ``amplitude``, seeded.

    Lesson: lessons/00-audio-as-data.
    """
    t = _time(duration, sr)
    return amplitude * np.random.default_rng(seed).standard_normal(t.size)


def _kick(sr: float, rng) -> np.ndarray:
    t = np.arange(int(0.25 * sr)) / sr
    # the pitch falls from ~150 Hz to ~50 Hz: the "thump" of a bass drum
    freq = 50 + 100 * np.exp(-t * 30)
    phase = 2 * np.pi * np.cumsum(freq) / sr
    return np.sin(phase) * np.exp(-t * 12)


def _snare(sr: float, rng) -> np.ndarray:
    t = np.arange(int(0.2 * sr)) / sr
    body = 0.5 * np.sin(2 * np.pi * 185 * t) * np.exp(-t * 25)
    rattle = 0.6 * rng.standard_normal(t.size) * np.exp(-t * 18)
    return body + rattle


def _hihat(sr: float, rng) -> np.ndarray:
    t = np.arange(int(0.06 * sr)) / sr
    # a first difference is a crude high-pass filter: it keeps the bright part of the noise
    noise = np.diff(rng.standard_normal(t.size + 1))
    return 0.3 * noise * np.exp(-t * 70)


def drum_loop(sr: float = 22050, bpm: float = 110, bars: int = 2, seed: int = 0,
              amplitude: float = 0.8) -> np.ndarray:
    """A synthesised rock beat (kick, snare, hi-hat) built from decaying sines and noise.

    4/4, eighth-note hi-hats, kick on beats 1 and 3 (plus the "and" of 3), snare on 2 and 4.
    Kick: a sine whose pitch falls from 150 to 50 Hz; snare: a 185 Hz sine plus noise;
    hi-hat: high-passed noise with a very short decay. Seeded, so the loop is always the same.
    Returns shape (round(bars * 4 * 60/bpm * sr),), peak ``amplitude``.

    Lesson: lessons/00-audio-as-data.
    """
    sr = check_positive(sr, "sr")
    bars = check_positive_int(bars, "bars")
    rng = np.random.default_rng(seed)
    beat = 60.0 / check_positive(bpm, "bpm")
    n = int(round(bars * 4 * beat * sr))
    y = np.zeros(n + int(0.3 * sr))
    hits = []
    for bar in range(bars):
        start = bar * 4 * beat
        hits += [("hihat", start + i * beat / 2) for i in range(8)]
        hits += [("kick", start), ("kick", start + 2 * beat), ("kick", start + 2.5 * beat)]
        hits += [("snare", start + beat), ("snare", start + 3 * beat)]
    makers = {"kick": _kick, "snare": _snare, "hihat": _hihat}
    for name, onset in hits:
        sound = makers[name](sr, rng)
        i = int(round(onset * sr))
        y[i:i + sound.size] += sound
    y = y[:n]
    return amplitude * y / np.max(np.abs(y))


def midi_to_hz(midi) -> np.ndarray:
    """Equal temperament: ``f = 440 * 2**((midi - 69) / 12)`` (A4 = MIDI 69 = 440 Hz).

    Lesson: lessons/00-audio-as-data.
    """
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=float) - 69) / 12)


def arpeggio(midi_notes, note_duration: float = 0.25, sr: float = 22050, n_harmonics: int = 4,
             amplitude: float = 0.5) -> np.ndarray:
    """Plucked harmonic tones played one after the other (e.g. [60, 64, 67] = C major).

    Returns shape (len(midi_notes) * round(note_duration*sr),).

    Lesson: lessons/00-audio-as-data.
    """
    notes = [tone(f, note_duration, sr, n_harmonics, amplitude, decay=4.0)
             for f in midi_to_hz(np.atleast_1d(midi_notes))]
    return np.concatenate(notes)
