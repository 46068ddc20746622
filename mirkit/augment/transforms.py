"""Label-preserving audio transforms on waveforms.

Lesson: lessons/08-data-augmentation.

Every function takes a mono waveform ``y`` of shape (T,) (float, nominally in [-1, 1]) and
returns a new float64 array; nothing is modified in place. Functions that need randomness take
an ``rng`` (a ``numpy.random.Generator``), so the same seed always gives the same output.

Augmentation turns a labelled set {(x_n, c_n)} into {(x_n, c_n), (t_1(x_n), c_n), ...,
(t_K(x_n), c_n)}: each transform t_k must leave the label unchanged. The lecture's list: time
shift, pitch shift, time stretch, equalisation, dynamic range compression, quality degradation,
additive noise, reverb. A genre does not change when a song is played a little louder, a
semitone higher, in a bigger room or through a worse microphone -- but a key does change under a
pitch shift and a tempo under a time stretch, so whether a transform preserves the label depends
on the task. Each docstring says what the transform preserves and what it breaks. The
synthetic dataset (:mod:`mirkit.datasets`) uses the same functions to give each artist its own
"studio".
"""
import numpy as np
from scipy import signal

from .filters import biquad, butter_lowpass

# ----------------------------------------------------------------------------- helpers


def _as_wave(y, name="y"):
    """Check that ``y`` is a finite 1-D waveform and return it as a float64 copy."""
    y = np.array(y, dtype=np.float64)  # a copy: no transform may hand back the caller's array
    if y.ndim != 1:
        raise ValueError(f"{name} must be a mono waveform of shape (T,), got shape {y.shape}; "
                         "mix to mono first, e.g. y.mean(axis=0)")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{name} contains NaN or inf values")
    return y


def rms_db(y):
    """Root-mean-square level in dB relative to full scale: 20 log10(sqrt(mean(y^2))). (T,) -> float."""
    y = np.asarray(y, dtype=np.float64)
    return 10 * np.log10(np.mean(y ** 2) + 1e-20)


# ----------------------------------------------------------------------------- level


def gain(y, db):
    """Gain: y' = 10^(db/20) y, shape (T,) -> (T,). +6 dB doubles the amplitude, -20 dB divides it by 10.

    Preserves everything but the level (spectrum shape, pitch, tempo, length); breaks the
    loudness, and can push the peak beyond 1 (clipping on export). Lesson: lessons/08-data-augmentation.
    """
    return _as_wave(y) * 10.0 ** (db / 20.0)


def normalize_rms(y, target_db=-20.0, peak=0.99):
    """Scale to an RMS level of ``target_db`` dBFS, then limit the peak to ``peak``. (T,) -> (T,).

    y' = 10^((target_db - rms_db(y))/20) y, then y' peak / max|y'| if max|y'| > peak.
    Loudness differs wildly between recordings; normalising is how a mastering engineer (and a
    careful data scientist) removes it. The peak guard keeps the result inside [-1, 1].
    Lesson: lessons/08-data-augmentation.
    """
    y = _as_wave(y)
    if not np.any(y):
        return y.copy()
    y = y * 10.0 ** ((target_db - rms_db(y)) / 20.0)
    top = np.max(np.abs(y))
    return y * (peak / top) if top > peak else y


# ----------------------------------------------------------------------------- time


def time_shift(y, shift, mode="roll"):
    """Time shift by ``shift`` samples (positive = later), shape (T,) -> (T,).

    ``mode="roll"``: y'[n] = y[(n - shift) mod T] (a loop; the energy sum y^2 is unchanged);
    ``mode="pad"``: y'[n] = y[n - shift] where 0 <= n - shift < T, else 0 (silence comes in, the
    end falls off). Preserves the length, pitch, tempo and timbre; breaks the absolute position
    of events (downbeats, the start of a track) -- statistics pooled over the whole clip do not
    see it at all. Lesson: lessons/08-data-augmentation.
    """
    y = _as_wave(y)
    shift = int(shift)
    if mode == "roll":
        return np.roll(y, shift)
    if mode != "pad":
        raise ValueError(f"mode must be 'roll' or 'pad', got {mode!r}")
    out = np.zeros_like(y)
    shift = max(-len(y), min(shift, len(y)))  # shifted out entirely: silence, not an error
    if shift >= 0:
        out[shift:] = y[:len(y) - shift]
    else:
        out[:shift] = y[-shift:]
    return out


def time_stretch(y, rate):
    """Time stretch: play ``rate`` times faster without changing the pitch (phase vocoder, librosa).

    y'(t) has the short-time spectrum of y at time rate * t: |Y'(t, f)| = |Y(rate t, f)|.
    Shape (T,) -> (round(T / rate),): rate 2 halves the duration. Preserves pitch, key and
    timbre (up to phase-vocoder smearing of attacks); breaks the tempo (BPM x rate) and the
    duration. Lesson: lessons/08-data-augmentation.
    """
    import librosa

    y = _as_wave(y)
    if rate <= 0:
        raise ValueError(f"rate must be > 0, got {rate}")
    return librosa.effects.time_stretch(y, rate=rate).astype(np.float64)


def pitch_shift(y, sr, n_steps):
    """Pitch shift by ``n_steps`` semitones (librosa: a time stretch, then resampling).

    Every frequency is multiplied by 2^(n_steps/12): |Y'(t, f)| ~ |Y(t, f / 2^(n_steps/12))|.
    Shape (T,) -> (T,). Preserves duration and tempo; breaks the key (the chroma rotates by
    n_steps) and, for large shifts, the timbre (formants move too: the "chipmunk" voice).
    Lesson: lessons/08-data-augmentation.
    """
    import librosa

    y = _as_wave(y)
    return librosa.effects.pitch_shift(y, sr=sr, n_steps=n_steps).astype(np.float64)


# ----------------------------------------------------------------------------- spectrum


def eq(y, sr, bands):
    """Equalise with a cascade of biquad filters, shape (T,) -> (T,).

    ``bands`` is a list of ``(kind, f0, q, gain_db)`` with ``kind`` one of ``"peak"``,
    ``"lowshelf"``, ``"highshelf"``, ``"lowpass"``, ``"highpass"`` (see
    :func:`mirkit.augment.filters.biquad`). Each band is the difference equation
    y[n] = b0 x[n] + b1 x[n-1] + b2 x[n-2] - a1 y[n-1] - a2 y[n-2], so the spectrum is
    multiplied by |H(f)|: |Y'(t, f)| = |H(f)| |Y(t, f)|. Preserves pitch, tempo, length and the
    time structure; breaks the spectral envelope (brightness, the balance of bass and treble),
    which is what a different microphone, room or mastering changes.
    Lesson: lessons/08-data-augmentation.
    """
    y = _as_wave(y)
    for kind, f0, q, g in bands:
        b, a = biquad(kind, f0, sr, q=q, gain_db=g)
        y = signal.lfilter(b, a, y)
    return y


def lowpass(y, sr, cutoff, order=6):
    """Low-pass (6th-order Butterworth): |H(f)|^2 = 1 / (1 + (f / cutoff)^(2 order)), (T,) -> (T,).

    An old tape, a cheap codec. Preserves pitch, tempo and length; breaks the brightness (the
    spectral centroid falls) and removes cymbals and sibilants above ``cutoff`` Hz.
    Lesson: lessons/08-data-augmentation.
    """
    y = _as_wave(y)
    if cutoff >= sr / 2:
        return y.copy()
    return signal.sosfilt(butter_lowpass(cutoff, sr, order), y)


# ----------------------------------------------------------------------------- dynamics


def compress(y, sr, threshold_db=-20.0, ratio=4.0, attack=0.005, release=0.1, makeup_db=0.0,
             hop=64):
    """Dynamic range compression: above the threshold, the level grows 1/ratio as fast.

    Static curve, in dB: out = in if in < T, else T + (in - T) / ratio. The level is a
    frame RMS (``hop`` samples) smoothed with an attack time (level rising) and a release
    time (level falling); the gain in dB is the curve minus the level, interpolated back to
    every sample: y'[n] = 10^(g[n]/20) y[n]. Shapes: (T,) -> (T,). Preserves pitch, tempo,
    spectrum shape and length; breaks the dynamics (loud and quiet passages get closer, the
    attacks of drums are flattened), as a radio or a loud master does.
    Lesson: lessons/08-data-augmentation.
    """
    y = _as_wave(y)
    if ratio < 1:
        raise ValueError(f"ratio must be >= 1, got {ratio}")
    n_frames = int(np.ceil(len(y) / hop))
    padded = np.zeros(n_frames * hop)
    padded[:len(y)] = y
    level = 10 * np.log10(np.mean(padded.reshape(n_frames, hop) ** 2, axis=1) + 1e-10)
    # one-pole smoothing, a different time constant going up and going down
    a_att = np.exp(-hop / (attack * sr))
    a_rel = np.exp(-hop / (release * sr))
    smooth = np.empty(n_frames)
    env = level[0]
    for i, x in enumerate(level):
        a = a_att if x > env else a_rel
        env = a * env + (1 - a) * x
        smooth[i] = env
    over = np.maximum(smooth - threshold_db, 0.0)
    gain_db = -over * (1 - 1 / ratio) + makeup_db
    centres = (np.arange(n_frames) + 0.5) * hop
    g = np.interp(np.arange(len(y)), centres, gain_db)
    return y * 10.0 ** (g / 20.0)


def clip(y, threshold=1.0, soft=False):
    """Clipping: y' = clip(y, -threshold, threshold), or soft: y' = threshold tanh(y / threshold).

    Shape (T,) -> (T,). Preserves pitch, tempo and length; breaks the waveform's peaks and adds
    harmonics (distortion: odd harmonics for a symmetric clip), an overdriven recording.
    Lesson: lessons/08-data-augmentation.
    """
    y = _as_wave(y)
    if soft:
        return threshold * np.tanh(y / threshold)
    return np.clip(y, -threshold, threshold)


# ----------------------------------------------------------------------------- quality


def bit_depth(y, bits):
    """Bit-depth reduction: y' = round(y q) / q with q = 2^(bits-1) (clipped to [-1, 1 - 1/q]).

    Shape (T,) -> (T,). The rounding error is at most 1/(2q), so the noise floor is about
    -6 bits dB (lessons/00-audio-as-data). Preserves pitch, tempo, length and the loud parts;
    breaks the quiet parts (fades and reverb tails sink into quantisation noise).
    Lesson: lessons/08-data-augmentation.
    """
    y = _as_wave(y)
    if not 1 <= bits <= 32:
        raise ValueError(f"bits must be in [1, 32], got {bits}")
    q = 2.0 ** (bits - 1)
    return np.clip(np.round(y * q) / q, -1.0, 1.0 - 1.0 / q)


def resample_degrade(y, sr, low_sr):
    """Down-sample to ``low_sr`` and back: everything above low_sr/2 is lost (a telephone at 8 kHz).

    Y'(f) ~ Y(f) for f < low_sr / 2 and 0 above (polyphase filters, scipy). Shape (T,) -> (T,).
    Preserves pitch, tempo and length; breaks the bandwidth (brightness, hi-hats, the air of a
    recording). Lesson: lessons/08-data-augmentation.
    """
    from math import gcd

    y = _as_wave(y)
    low_sr = int(low_sr)
    if low_sr >= sr:
        return y.copy()
    g = gcd(int(sr), low_sr)
    down = signal.resample_poly(y, low_sr // g, int(sr) // g)
    up = signal.resample_poly(down, int(sr) // g, low_sr // g)
    out = np.zeros_like(y)
    n = min(len(y), len(up))
    out[:n] = up[:n]
    return out


def degrade(y, sr, cutoff=None, low_sr=None, bits=None, clip_at=None):
    """Quality degradation, each step optional, in this order: low-pass, resampling, bit depth, clipping.

    Shape (T,) -> (T,); see :func:`lowpass`, :func:`resample_degrade`, :func:`bit_depth` and
    :func:`clip` for what each preserves and breaks. Lesson: lessons/08-data-augmentation.
    """
    y = _as_wave(y)
    if cutoff is not None:
        y = lowpass(y, sr, cutoff)
    if low_sr is not None:
        y = resample_degrade(y, sr, low_sr)
    if bits is not None:
        y = bit_depth(y, bits)
    if clip_at is not None:
        y = clip(y, clip_at)
    return y


# ----------------------------------------------------------------------------- noise


def colored_noise(n, rng, color="white"):
    """Unit-power noise of ``n`` samples: white (flat), pink (1/f power) or brown (1/f^2).

    White Gaussian noise is shaped in the frequency domain (its DFT divided by f^0.5 or f),
    then scaled so that mean(noise^2) = 1. Shape (n,). Lesson: lessons/08-data-augmentation.
    """
    white = rng.standard_normal(n)
    if color == "white":
        noise = white
    else:
        exponent = {"pink": 0.5, "brown": 1.0}.get(color)
        if exponent is None:
            raise ValueError(f"color must be 'white', 'pink' or 'brown', got {color!r}")
        spec = np.fft.rfft(white)
        f = np.arange(len(spec), dtype=np.float64)
        f[0] = 1.0
        noise = np.fft.irfft(spec / f ** exponent, n)
    return noise / np.sqrt(np.mean(noise ** 2) + 1e-20)


def add_noise(y, snr_db, rng, color="white"):
    """Additive noise at a signal-to-noise ratio of exactly ``snr_db`` dB, shape (T,) -> (T,).

    SNR = 10 log10(P_signal / P_noise) with P the mean power, so the noise n (unit power, from
    :func:`colored_noise`) is scaled: y' = y + sqrt(P_y / 10^(snr/10)) n. Preserves pitch,
    tempo and length; breaks the quiet parts and the fine spectral detail (the noise fills the
    valleys of the spectrum), a live recording or a noisy room.
    Lesson: lessons/08-data-augmentation.
    """
    y = _as_wave(y)
    p_signal = np.mean(y ** 2)
    noise = colored_noise(len(y), rng, color)
    return y + noise * np.sqrt(p_signal / 10.0 ** (snr_db / 10.0))


# ----------------------------------------------------------------------------- space


def room_ir(sr, rt60, rng, predelay=0.01, n_early=8):
    """A synthetic room impulse response: direct sound, a few early reflections, a diffuse tail.

    The tail is noise under an exponential envelope that falls by 60 dB in ``rt60`` seconds:
    exp(-6.91 t / rt60) (because ln(10^3) = 6.91). Returns shape (L,) with h[0] = 1,
    L = sr min(rt60, 3) + 1. Lesson: lessons/08-data-augmentation.
    """
    if rt60 <= 0:
        raise ValueError(f"rt60 must be > 0 seconds, got {rt60}")
    n = int(sr * min(rt60, 3.0)) + 1
    t = np.arange(n) / sr
    h = rng.standard_normal(n) * np.exp(-6.91 * t / rt60)
    # the diffuse tail arrives after the pre-delay; make it darker over time, like air and walls
    h[: int(predelay * sr)] = 0.0
    h = signal.lfilter([0.5], [1, -0.5], h)
    h *= 0.3 / (np.sqrt(np.sum(h ** 2)) + 1e-12)
    for _ in range(n_early):
        k = int(rng.uniform(0.002, predelay + 0.03) * sr)
        if k < n:
            h[k] += rng.uniform(-0.4, 0.4)
    h[0] = 1.0
    return h


def reverb(y, sr, rt60=0.6, wet=0.3, rng=None, ir=None):
    """Reverberation: convolve with a room impulse response h and mix, shape (T,) -> (T,).

    w = (h * y)[:T] (convolution, cut to the input length), scaled to the RMS of y, then
    y' = (1 - wet) y + wet w. Pass ``ir`` to use a given response; otherwise one is drawn by
    :func:`room_ir`. Preserves pitch, tempo, length and loudness (roughly); breaks the
    sharpness of onsets and the silence between notes (the tail smears them over time), a
    bigger or more reverberant room. Lesson: lessons/08-data-augmentation.
    """
    y = _as_wave(y)
    if ir is None:
        ir = room_ir(sr, rt60, rng if rng is not None else np.random.default_rng(0))
    wet_sig = signal.fftconvolve(y, ir)[: len(y)]
    # keep the loudness comparable to the dry signal
    wet_sig *= np.sqrt(np.mean(y ** 2) / (np.mean(wet_sig ** 2) + 1e-20))
    return (1 - wet) * y + wet * wet_sig
