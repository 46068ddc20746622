"""Each artist's "studio": an effects chain drawn once, applied with :mod:`mirkit.augment`.

GTZAN mixes 1950s mono blues with 2000s hip-hop masters, radio rips and tapes: bandwidth,
noise, reverb, compression and loudness vary between recordings far more than inside one
artist's records. We draw these settings per artist, so a classifier can learn an artist's
sound -- and score too well on a random split, which is the leakage lesson (``lessons/07-classical-mir``).
"""
import numpy as np

from mirkit import augment as A

# older recordings are more likely in some genres (a probability of an "old" studio)
OLD = {"blues": 0.5, "jazz": 0.5, "classical": 0.4, "country": 0.35, "reggae": 0.3, "rock": 0.25,
       "disco": 0.2, "metal": 0.1, "pop": 0.1, "hiphop": 0.1}


def draw_production(genre, rng):
    """A dict of effect settings for one artist (plain numbers, so it is saved with the manifest)."""
    old = bool(rng.random() < OLD.get(genre, 0.2))
    return dict(
        old=old,
        low_shelf_db=float(rng.uniform(-2.5, 2.5)),
        high_shelf_db=float(rng.uniform(-5.5, 0.5) if old else rng.uniform(-2.5, 2.5)),
        peak_hz=float(np.exp(rng.uniform(np.log(200), np.log(4000)))),
        peak_db=float(rng.uniform(-3.5, 3.5)),
        cutoff_hz=float(rng.uniform(5500, 9000) if old else rng.uniform(9000, 11000)),
        rt60=float(rng.uniform(0.3, 1.6)),
        wet=float(rng.uniform(0.05, 0.28)),
        threshold_db=float(rng.uniform(-28, -12)),
        ratio=float(rng.uniform(1.0, 4.0)),
        snr_db=float(rng.uniform(29, 44) if old else rng.uniform(40, 60)),
        noise=str(rng.choice(["white", "pink", "brown"])),
        loudness_db=float(rng.uniform(-24, -14)),
        drive=float(rng.uniform(1.0, 2.0) if rng.random() < 0.2 else 1.0),
    )


def produce(y, sr, prod, rng):
    """Apply an artist's chain to a dry mix ``y`` (T,): EQ, compression, reverb, bandwidth, noise, loudness.

    A little per-track jitter (a different session, a different master) keeps tracks of one
    artist from being identical in sound. Output in [-1, 1].
    """
    j = lambda x, s: x + rng.normal(0, s)
    y = A.normalize_rms(y, -20.0)
    y = A.eq(y, sr, [("lowshelf", 200.0, 0.707, j(prod["low_shelf_db"], 1.5)),
                     ("peak", prod["peak_hz"], 1.0, j(prod["peak_db"], 1.5)),
                     ("highshelf", 3500.0, 0.707, j(prod["high_shelf_db"], 1.5))])
    y = A.compress(y, sr, prod["threshold_db"], prod["ratio"])
    y = A.reverb(y, sr, rt60=prod["rt60"], wet=prod["wet"], rng=rng)
    y = A.lowpass(y, sr, min(j(prod["cutoff_hz"], 500.0), 0.49 * sr))
    y = A.add_noise(y, j(prod["snr_db"], 4.0), rng, prod["noise"])
    y = A.normalize_rms(y, j(prod["loudness_db"], 1.5), peak=10.0)
    if prod["drive"] > 1.0:  # a loud master: soft saturation
        y = A.clip(y * prod["drive"], 1.0, soft=True) / prod["drive"] ** 0.5
    return A.clip(y, 0.999)
