"""Random, seeded, composable augmentation pipelines.

Lesson: lessons/08-data-augmentation.

A *random transform* draws its parameters from a range, then calls a plain function of
:mod:`mirkit.augment.transforms`::

    pipe = Compose([Gain((-6, 6)), PitchShift((-2, 2), p=0.5), Noise((10, 30))], seed=0)
    y_aug = pipe(y, sr)          # a new random draw at each call
    y_aug = pipe(y, sr, seed=7)  # always the same output for seed 7

Every transform has a probability ``p`` of being applied. ``Compose`` applies them in order;
``OneOf`` applies a single one chosen at random. Outputs are finite and, unless
``limit=False``, scaled back into [-1, 1] if they overshoot.

The order of the random draws is part of the contract (a lesson exercise reproduces it): for
each transform in turn, one ``u = rng.random()``; if ``u < p`` the transform's ``apply`` draws
its own parameters from the same ``rng``, else it is skipped (and draws nothing more).
"""
import numpy as np

from . import transforms as T


class RandomTransform:
    """Base class: ``__call__(y, sr, rng)`` applies ``apply`` with probability ``p``.

    y: (T,) -> (T,) for every subclass (TimeStretch keeps the length by default). Subclasses
    implement ``apply(y, sr, rng)``: draw the parameters, call a function of
    :mod:`mirkit.augment.transforms`. Lesson: lessons/08-data-augmentation.
    """

    def __init__(self, p=1.0):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p}")
        self.p = p

    def __call__(self, y, sr, rng):
        if rng.random() >= self.p:
            return np.asarray(y, dtype=np.float64)
        return self.apply(y, sr, rng)

    def apply(self, y, sr, rng):
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


def _uniform(rng, lo_hi):
    lo, hi = lo_hi
    return rng.uniform(lo, hi)


class Gain(RandomTransform):
    """Gain by a uniform draw in ``db`` (dB): :func:`~mirkit.augment.transforms.gain`."""

    def __init__(self, db=(-6.0, 6.0), p=1.0):
        super().__init__(p)
        self.db = db

    def apply(self, y, sr, rng):
        return T.gain(y, _uniform(rng, self.db))


class TimeShift(RandomTransform):
    """Shift by up to ``max_seconds`` either way (circular)."""

    def __init__(self, max_seconds=1.0, mode="roll", p=1.0):
        super().__init__(p)
        self.max_seconds, self.mode = max_seconds, mode

    def apply(self, y, sr, rng):
        k = int(self.max_seconds * sr)
        return T.time_shift(y, rng.integers(-k, k + 1), self.mode)


class PitchShift(RandomTransform):
    """Transpose by a whole number of semitones drawn in ``steps`` (never 0 when possible)."""

    def __init__(self, steps=(-2, 2), p=1.0):
        super().__init__(p)
        self.steps = steps

    def apply(self, y, sr, rng):
        choices = [s for s in range(self.steps[0], self.steps[1] + 1) if s != 0] or [0]
        return T.pitch_shift(y, sr, int(rng.choice(choices)))


class TimeStretch(RandomTransform):
    """Change tempo by a rate in ``rate``; ``keep_length`` crops or pads back to the input length."""

    def __init__(self, rate=(0.9, 1.1), keep_length=True, p=1.0):
        super().__init__(p)
        self.rate, self.keep_length = rate, keep_length

    def apply(self, y, sr, rng):
        out = T.time_stretch(y, _uniform(rng, self.rate))
        if self.keep_length:
            out = np.resize(out, len(y)) if len(out) < len(y) else out[:len(y)]
        return out


class EQ(RandomTransform):
    """A few random peaking bands (log-uniform centre frequency, gain in ``db``) plus shelves."""

    def __init__(self, n_bands=3, db=(-9.0, 9.0), q=(0.5, 2.0), p=1.0):
        super().__init__(p)
        self.n_bands, self.db, self.q = n_bands, db, q

    def apply(self, y, sr, rng):
        bands = [("peak", float(np.exp(rng.uniform(np.log(80), np.log(0.4 * sr)))),
                  _uniform(rng, self.q), _uniform(rng, self.db)) for _ in range(self.n_bands)]
        bands += [("lowshelf", 200.0, 0.707, _uniform(rng, self.db) / 2),
                  ("highshelf", min(4000.0, 0.4 * sr), 0.707, _uniform(rng, self.db) / 2)]
        return T.eq(y, sr, bands)


class Compress(RandomTransform):
    """Compression with a threshold and a ratio drawn uniformly, then make-up gain to the input's RMS."""

    def __init__(self, threshold_db=(-30.0, -10.0), ratio=(2.0, 8.0), p=1.0):
        super().__init__(p)
        self.threshold_db, self.ratio = threshold_db, ratio

    def apply(self, y, sr, rng):
        thr, ratio = _uniform(rng, self.threshold_db), _uniform(rng, self.ratio)
        out = T.compress(y, sr, thr, ratio)
        # make-up gain: bring the level back to where it was
        return T.gain(out, T.rms_db(y) - T.rms_db(out)) if np.any(out) else out


class Degrade(RandomTransform):
    """One quality loss at random: low-pass, resampling, bit depth or clipping."""

    def __init__(self, p=1.0):
        super().__init__(p)

    def apply(self, y, sr, rng):
        kind = rng.integers(4)
        if kind == 0:
            return T.lowpass(y, sr, rng.uniform(2000, 0.45 * sr))
        if kind == 1:
            return T.resample_degrade(y, sr, int(rng.choice([8000, 11025, 16000])))
        if kind == 2:
            return T.bit_depth(y, int(rng.integers(6, 13)))
        peak = np.max(np.abs(y)) or 1.0
        return T.clip(y, peak * rng.uniform(0.3, 0.8))


class Noise(RandomTransform):
    """Noise at an SNR drawn uniformly in ``snr_db`` (dB), colour drawn among ``colors``."""

    def __init__(self, snr_db=(10.0, 40.0), colors=("white", "pink", "brown"), p=1.0):
        super().__init__(p)
        self.snr_db, self.colors = snr_db, colors

    def apply(self, y, sr, rng):
        return T.add_noise(y, _uniform(rng, self.snr_db), rng, str(rng.choice(self.colors)))


class Reverb(RandomTransform):
    """Reverb in a synthetic room: RT60 (s) and wet fraction drawn uniformly."""

    def __init__(self, rt60=(0.2, 1.5), wet=(0.1, 0.5), p=1.0):
        super().__init__(p)
        self.rt60, self.wet = rt60, wet

    def apply(self, y, sr, rng):
        return T.reverb(y, sr, _uniform(rng, self.rt60), _uniform(rng, self.wet), rng)


def _limit(y):
    y = np.nan_to_num(np.asarray(y, dtype=np.float64))
    top = np.max(np.abs(y)) if len(y) else 0.0
    return y / top if top > 1.0 else y


class Compose:
    """Apply transforms in order. ``seed`` sets the stream of draws; ``seed=`` at call time overrides it.

    ``seed=None`` means seed 0, so that a notebook run twice augments the same way. ``rng=``
    at call time uses that generator instead. transforms: :class:`RandomTransform` objects
    (anything with a probability ``p`` and ``apply(y, sr, rng)``). Shapes: (T,) -> (T,),
    scaled by 1 / max|y| at the end if the peak exceeds 1 (unless ``limit=False``). After a call,
    ``last_applied`` lists the transforms that were applied (the others lost their draw).
    Lesson: lessons/08-data-augmentation.
    """

    def __init__(self, transforms, seed=None, limit=True):
        self.transforms = list(transforms)
        self.rng = np.random.default_rng(0 if seed is None else seed)
        self.limit = limit
        self.last_applied = []

    def __call__(self, y, sr, seed=None, rng=None):
        rng = rng if rng is not None else (np.random.default_rng(seed) if seed is not None else self.rng)
        y = T._as_wave(y)
        self.last_applied = []
        for t in self.transforms:
            if rng.random() < t.p:  # the same draw as RandomTransform.__call__
                y = t.apply(y, sr, rng)
                self.last_applied.append(t)
        return _limit(y) if self.limit else y

    def __repr__(self):
        return "Compose([\n  " + ",\n  ".join(map(repr, self.transforms)) + "\n])"


class OneOf(RandomTransform):
    """Apply exactly one of ``transforms``, chosen uniformly (with probability ``p``)."""

    def __init__(self, transforms, p=1.0):
        super().__init__(p)
        self.transforms = list(transforms)

    def apply(self, y, sr, rng):
        return self.transforms[rng.integers(len(self.transforms))].apply(y, sr, rng)


def default_pipeline(seed=None):
    """A reasonable genre-preserving pipeline to start from (lessons/08-data-augmentation)."""
    return Compose([
        TimeShift(1.0, p=0.5),
        Gain((-6, 6), p=0.5),
        PitchShift((-2, 2), p=0.3),
        TimeStretch((0.9, 1.1), p=0.3),
        EQ(p=0.5),
        Compress(p=0.3),
        Reverb(p=0.3),
        Degrade(p=0.3),
        Noise((15, 40), p=0.5),
    ], seed=seed)
