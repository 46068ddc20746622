"""Classical MIR: hand-made descriptors, their statistics over a track, classic classifiers.

Lesson: lessons/07-classical-mir (the genre challenge starts from it).

    X = track_features(ds)                     # (N, D): one vector per track, cached on disk
    names = descriptor_names()                 # D names, "mean(mfcc_3)", ..., "tempo"
    train, test = grouped_split(ds.artists, test_fraction=0.3, seed=0)
    model = make_classifier("svm").fit(X[train], ds.labels[train])

The chain, per track:

1. **frame descriptors** (:func:`frame_descriptors`), one column per STFT frame, shape (F, T):
   MFCC, chroma and onset strength from mirkit's descriptor layers
   (lessons/06-descriptors-are-networks), spectral centroid, bandwidth and roll-off
   (:func:`spectral_shape`), spectral contrast, zero-crossing rate and RMS (librosa's);
2. **statistics pooling** (:func:`pool`): mean, standard deviation and percentiles of each row
   over time, shape (F * n_stats,) -- the track's length no longer matters;
3. plus the **tempo** (one number per track, from the onset strength autocorrelation).

Classifiers (:func:`make_classifier`): standardisation then SVM, random forest, kNN, one
Gaussian mixture per class (:class:`GaussianMixtureClassifier`), LightGBM, logistic
regression, in one scikit-learn ``Pipeline``.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import tempfile
import warnings
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from .features.layers import (DCT, DFT, BandMean, ChromaFilterbank, Diff, FrameNorm, Frames,
                              MelFilterbank, OnsetAlign, Power, PowerToDb)
from .nn.activations import ReLU
from .nn.base import Sequential

__all__ = ["STATS", "CLASSIFIERS", "spectral_shape", "frame_descriptors", "frame_descriptor_names", "pool",
           "pooled_names", "track_descriptors", "descriptor_names", "track_features",
           "descriptor_family", "grouped_split", "GaussianMixtureClassifier",
           "make_classifier", "class_scores"]

STATS = ("mean", "std", "p10", "p50", "p90")
CLASSIFIERS = ("logreg", "svm", "knn", "rf", "gmm", "lgbm")
N_CONTRAST_BANDS = 6  # librosa's default: 6 octave bands + 1 for the rest -> 7 rows


def frame_descriptor_names(n_mfcc: int = 20) -> list[str]:
    """Names of the rows of :func:`frame_descriptors`, in order. lessons/07-classical-mir."""
    return ([f"mfcc_{i}" for i in range(n_mfcc)]
            + [f"chroma_{p}" for p in ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")]
            + ["centroid", "bandwidth", "rolloff"]
            + [f"contrast_{b}" for b in range(N_CONTRAST_BANDS + 1)]
            + ["zcr", "rms", "onset"])


@functools.lru_cache(maxsize=4)
def _networks(sr, n_fft, hop_length, n_mels, n_mfcc):
    """The descriptor networks of lesson 06, sharing one power spectrogram (one FFT per frame)."""
    power = Sequential(Frames(n_fft, hop_length), DFT(n_fft, fast=True), Power())
    log_mel = Sequential(MelFilterbank(sr, n_fft, n_mels), PowerToDb())
    mfcc = DCT(n_mels, n_mfcc)
    chroma = Sequential(ChromaFilterbank(sr, n_fft), FrameNorm())
    onset = Sequential(Diff(1), ReLU(), BandMean(), OnsetAlign(n_fft, hop_length))
    return power, log_mel, mfcc, chroma, onset


def spectral_shape(S, sr: int = 22050, roll_percent: float = 0.85):
    """Spectral centroid, bandwidth and roll-off of a magnitude spectrogram: (K, T) -> (3, T).

    With f_k = k sr / n_fft the bin frequencies and p_k(t) = S[k, t] / sum_j S[j, t] each frame's
    spectrum read as a distribution over frequency:

    - centroid  c(t) = sum_k f_k p_k(t): where the mass of the spectrum is ("brightness");
    - bandwidth b(t) = sqrt(sum_k p_k(t) (f_k - c(t))^2): its spread around the centroid;
    - roll-off  r(t) = the smallest f_k with sum_{j <= k} S[j, t] >= roll_percent sum_j S[j, t].

    Silent frames give 0. Equal to librosa's ``feature.spectral_centroid``,
    ``spectral_bandwidth`` and ``spectral_rolloff`` given ``S=`` (tested).
    lessons/07-classical-mir.
    """
    S = np.asarray(S)
    f = np.linspace(0, sr / 2, S.shape[0], dtype=S.dtype)[:, None]
    total = S.sum(axis=0, keepdims=True)
    p = S / np.where(total > np.finfo(S.dtype).tiny, total, 1)
    centroid = (f * p).sum(axis=0)
    bandwidth = np.sqrt((p * (f - centroid) ** 2).sum(axis=0))
    reached = np.cumsum(S, axis=0) >= roll_percent * total
    rolloff = f[np.argmax(reached, axis=0), 0]
    return np.stack([centroid, bandwidth, rolloff])


def frame_descriptors(y, sr: int = 22050, n_fft: int = 2048, hop_length: int = 512,
                      n_mels: int = 128, n_mfcc: int = 20):
    """Frame-level descriptors of a signal: (L,) -> (F, T), F = n_mfcc + 25. lessons/07-classical-mir.

    Rows (names: :func:`frame_descriptor_names`), from the power spectrogram P = |STFT|^2
    (one FFT per frame, shared by all):

    - MFCC (n_mfcc rows) and chroma (12): mirkit's layer stacks, equal to librosa's
      ``feature.mfcc`` and ``feature.chroma_stft(tuning=0)`` (lessons/06-descriptors-are-networks);
    - spectral centroid, bandwidth, roll-off of the magnitude sqrt(P): :func:`spectral_shape`;
    - spectral contrast (7 rows): peak minus valley, in dB, in each octave band (tonal vs
      noisy), librosa's ``feature.spectral_contrast``;
    - zero-crossing rate: the fraction of sign changes of y in the frame (noisiness,
      percussion), and RMS, sqrt(mean y^2) over the frame (loudness): librosa's;
    - onset strength: rectified log-mel flux (lessons/06-descriptors-are-networks).

    T = 1 + L // hop_length, as librosa with center=True.
    """
    import librosa

    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"frame_descriptors: expected a mono signal of shape (L,), got {y.shape}; "
                         "mix a stereo signal down with y.mean(axis=0) first")
    power, log_mel, mfcc, chroma, onset = _networks(sr, n_fft, hop_length, n_mels, n_mfcc)
    P = power.forward(y)                       # (1 + n_fft/2, T) power spectrogram
    S = np.sqrt(P)                             # magnitude, what spectral shape features use
    L = log_mel.forward(P)
    rows = [
        mfcc.forward(L), chroma.forward(P), spectral_shape(S, sr),
        librosa.feature.spectral_contrast(S=S, sr=sr, n_fft=n_fft, hop_length=hop_length,
                                          n_bands=N_CONTRAST_BANDS),
        librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop_length),
        librosa.feature.rms(y=y, frame_length=n_fft, hop_length=hop_length),
        onset.forward(L)[None, :],
    ]
    T = P.shape[-1]
    return np.concatenate([np.asarray(r, dtype=np.float64)[:, :T] for r in rows], axis=0)


def _stat(frames, stat):
    if stat == "mean":
        return frames.mean(axis=-1)
    if stat == "std":
        return frames.std(axis=-1)
    if isinstance(stat, str) and stat[:1] == "p" and stat[1:].isdigit() and 0 <= int(stat[1:]) <= 100:
        return np.percentile(frames, int(stat[1:]), axis=-1)
    raise ValueError(f"unknown statistic {stat!r}: use 'mean', 'std' or 'pNN' (a percentile, "
                     "e.g. 'p10', 'p50' for the median, 'p90')")


def pool(frames, stats=STATS):
    """Statistics of each row over time: (F, T) -> (F * len(stats),). lessons/07-classical-mir.

    out = [stat_1(row_1), ..., stat_1(row_F), stat_2(row_1), ...]: statistic-major, e.g. all F
    means, then all F standard deviations (population std, ddof=0), then the percentiles
    ('p10' is numpy's ``percentile(row, 10)``, linear interpolation). A track of any length
    becomes one fixed-size vector, which is what a classical classifier needs.
    """
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 2 or frames.shape[1] == 0:
        raise ValueError(f"pool: expected frame features of shape (F, T) with T >= 1, got {frames.shape}")
    if isinstance(stats, str) or len(stats) == 0:
        raise ValueError(f"pool: stats must be a non-empty list such as {STATS}, got {stats!r}")
    return np.concatenate([_stat(frames, s) for s in stats])


def pooled_names(names, stats=STATS) -> list[str]:
    """Names of :func:`pool`'s output: "mean(mfcc_0)", ... (same order). lessons/07-classical-mir."""
    return [f"{s}({n})" for s in stats for n in names]


def track_descriptors(y, sr: int = 22050, stats=STATS, n_mfcc: int = 20, hop_length: int = 512):
    """One vector per track: pooled frame descriptors, then the tempo. (L,) -> (D,).

    D = (n_mfcc + 25) * len(stats) + 1 (226 with the defaults). Tempo in BPM is librosa's
    ``feature.tempo`` of mirkit's onset strength (the peak of its autocorrelation, weighted
    towards 120 BPM). Names: :func:`descriptor_names`. lessons/07-classical-mir.
    """
    import librosa

    frames = frame_descriptors(y, sr, hop_length=hop_length, n_mfcc=n_mfcc)
    tempo = librosa.feature.tempo(onset_envelope=frames[-1].astype(np.float64), sr=sr,
                                  hop_length=hop_length)[0]
    return np.concatenate([pool(frames, stats), [tempo]])


def descriptor_names(stats=STATS, n_mfcc: int = 20) -> list[str]:
    """The D names of :func:`track_descriptors`'s output. lessons/07-classical-mir."""
    return pooled_names(frame_descriptor_names(n_mfcc), stats) + ["tempo"]


def descriptor_family(name: str) -> str:
    """'mean(mfcc_3)' -> 'mfcc', 'p90(contrast_2)' -> 'contrast', 'tempo' -> 'tempo'."""
    inner = name[name.find("(") + 1:name.rfind(")")] if "(" in name else name
    return inner.split("_")[0]


# ------------------------------------------------------------------ a whole dataset, cached


def _default_cache() -> Path:
    from .datasets import data_root

    # the descriptors' source is part of the folder name: edit one and nothing stale is read
    code = [_networks.__wrapped__, spectral_shape, frame_descriptors, _stat, pool, track_descriptors]
    digest = hashlib.sha1("".join(inspect.getsource(f) for f in code).encode()).hexdigest()[:10]
    return data_root() / "cache" / f"classical-{digest}"


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
        return True
    except OSError:
        return False


def track_features(ds, cache="auto", n_jobs: int = 1, progress: bool = True, **params):
    """:func:`track_descriptors` of every track of a Dataset: (N, D). lessons/07-classical-mir.

    cache: "auto" (a folder under ``mirkit.datasets.data_root()/cache``), a folder, or None.
    Each track is computed once, then read from the disk cache (``Dataset.features``). A cache
    that cannot be written (a read-only folder, a full disk) is not an error: the features are
    computed without it, with a warning.
    params: passed to :func:`track_descriptors` (stats, n_mfcc, hop_length).
    """
    folder = _default_cache() if cache == "auto" else (Path(cache) if cache is not None else None)
    if folder is not None and not _writable(folder):
        warnings.warn(f"cannot write the feature cache {folder}: computing without it", stacklevel=2)
        folder = None
    try:
        X = ds.features(track_descriptors, cache=folder, n_jobs=n_jobs, progress=progress, **params)
    except OSError as exc:  # the disk filled up or became read-only half-way
        if folder is None:
            raise
        warnings.warn(f"feature cache {folder} failed ({exc}): computing without it", stacklevel=2)
        X = ds.features(track_descriptors, cache=None, n_jobs=n_jobs, progress=progress, **params)
    return X.astype(np.float64)


# ------------------------------------------------------------------ splits


def grouped_split(groups, test_fraction: float = 0.3, seed: int = 0):
    """Indices (train, test) such that no group (artist) is on both sides. lessons/07-classical-mir.

    The distinct groups are shuffled (``np.random.default_rng(seed)``) and moved to the test
    side one by one until it holds at least ``test_fraction`` of the items. Returns two sorted
    int64 arrays that partition 0..N-1. Why: tracks of one artist share a sound (instruments,
    studio), so a test track whose artist is in the training set is partly recognised by its
    artist, not its genre, and the test accuracy overestimates generalisation.
    """
    groups = np.asarray(groups)
    if groups.ndim != 1 or groups.size < 2:
        raise ValueError(f"grouped_split: expected one group (artist) per item, shape (N,) with N >= 2, "
                         f"got shape {groups.shape}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"grouped_split: test_fraction must be in (0, 1), got {test_fraction}")
    names, codes = np.unique(groups, return_inverse=True)
    if len(names) < 2:
        raise ValueError("grouped_split: all items belong to one group; two groups at least are needed")
    order = np.random.default_rng(seed).permutation(len(names))
    sizes = np.bincount(codes)[order]
    # the first k groups of the shuffled order go to test, k the smallest count reaching the target
    k = int(np.searchsorted(np.cumsum(sizes), test_fraction * groups.size)) + 1
    k = min(k, len(names) - 1)                     # keep one group at least for training
    is_test = np.isin(codes, order[:k])
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


# ------------------------------------------------------------------ classifiers


class GaussianMixtureClassifier(ClassifierMixin, BaseEstimator):
    """One Gaussian mixture per class, then Bayes' rule. lessons/07-classical-mir.

    fit:     for each class k, a GMM p(x | k) = sum_m pi_km N(x; mu_km, Sigma_km) fitted by EM
             (``sklearn.mixture.GaussianMixture``) on the examples of class k; prior
             P(k) = N_k / N.
    predict_proba: P(k | x) = P(k) p(x | k) / sum_j P(j) p(x | j), computed from the log
             likelihoods (a softmax over k, so that no density underflows).
    X (N, D) -> probabilities (N, K). The classic classifier of genre recognition before deep
    learning (Tzanetakis and Cook 2002). Diagonal covariances by default: with a few dozen
    tracks per class, a full D x D covariance cannot be estimated.
    """

    def __init__(self, n_components: int = 2, covariance_type: str = "diag",
                 reg_covar: float = 1e-2, random_state: int = 0):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.random_state = random_state

    def fit(self, X, y):
        from sklearn.mixture import GaussianMixture

        X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
        if X.ndim != 2 or len(X) != len(y):
            raise ValueError(f"fit: expected X (N, D) and y (N,), got {X.shape} and {y.shape}")
        self.classes_ = np.unique(y)
        self.models_, self.log_prior_ = [], np.log(np.array([np.mean(y == c) for c in self.classes_]))
        for c in self.classes_:
            Xc = X[y == c]
            if len(Xc) < 2:
                raise ValueError(f"fit: class {c} has {len(Xc)} training example; a Gaussian "
                                 "needs 2 at least (merge rare classes or gather more tracks)")
            m = min(self.n_components, len(Xc))  # EM needs at least one example per component
            self.models_.append(GaussianMixture(m, covariance_type=self.covariance_type,
                                                reg_covar=self.reg_covar,
                                                random_state=self.random_state).fit(Xc))
        return self

    def log_joint(self, X):
        """log P(k) + log p(x | k), shape (N, K)."""
        X = np.asarray(X, dtype=np.float64)
        return np.stack([g.score_samples(X) for g in self.models_], axis=1) + self.log_prior_

    def predict_proba(self, X):
        J = self.log_joint(X)
        J = np.exp(J - J.max(axis=1, keepdims=True))
        return J / J.sum(axis=1, keepdims=True)

    def predict(self, X):
        return self.classes_[np.argmax(self.log_joint(X), axis=1)]


def make_classifier(name: str = "svm", seed: int = 0, **params):
    """A scikit-learn Pipeline: standardisation, then the named classifier. lessons/07-classical-mir.

    name: "logreg" (logistic regression), "svm" (RBF kernel), "knn" (k nearest neighbours),
    "rf" (random forest), "gmm" (:class:`GaussianMixtureClassifier`), "lgbm" (LightGBM,
    gradient-boosted trees). params override the classifier's settings (e.g. ``C=1.0``).
    Standardisation z = (x - mean) / std, with the training set's statistics (the Pipeline
    refits them on each training set, so nothing of the test set leaks into them): SVM, kNN and
    GMM measure distances and would otherwise be ruled by the descriptors with the largest
    units (tempo in BPM, centroid in Hz); trees do not care but it does not hurt them.
    """
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    if name == "logreg":
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(**{"C": 0.1, "max_iter": 5000, **params})
    elif name == "svm":
        from sklearn.svm import SVC

        clf = SVC(**{"C": 10.0, "gamma": "scale", **params})
    elif name == "knn":
        from sklearn.neighbors import KNeighborsClassifier

        clf = KNeighborsClassifier(**{"n_neighbors": 5, **params})
    elif name == "rf":
        from sklearn.ensemble import RandomForestClassifier

        clf = RandomForestClassifier(**{"n_estimators": 300, "random_state": seed, "n_jobs": 1, **params})
    elif name == "gmm":
        clf = GaussianMixtureClassifier(**{"random_state": seed, **params})
    elif name == "lgbm":
        from lightgbm import LGBMClassifier

        clf = LGBMClassifier(**{"n_estimators": 60, "learning_rate": 0.1, "num_leaves": 7,
                                "min_child_samples": 5, "colsample_bytree": 0.5, "subsample": 0.8,
                                "subsample_freq": 1, "random_state": seed, "n_jobs": 1,
                                "verbose": -1, **params})
    else:
        raise ValueError(f"unknown classifier {name!r}; choose one of {CLASSIFIERS}")
    return Pipeline([("scale", StandardScaler()), ("clf", clf)])


def class_scores(model, X):
    """Per-class scores (N, K) of a fitted classifier, for ROC curves: probabilities if it has
    them (``predict_proba``), else its decision function (an SVM's). lessons/07-classical-mir."""
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(X))
    S = np.asarray(model.decision_function(X))
    return S if S.ndim == 2 else np.stack([-S, S], axis=1)
