"""mirkit.classical: descriptors against librosa, pooling, the cached extraction, the grouped
split, the per-class GMM and the classifier factory (lessons/07-classical-mir)."""
import warnings

import librosa
import numpy as np
import pytest
import soundfile as sf

from mirkit import classical as C

SR = 22050


def music_like(seconds=3.0, seed=0, bpm=120.0):
    """Harmonic tones, clicks on the beat, a little noise and a silent second: every descriptor works."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    y = sum(np.sin(2 * np.pi * 220.0 * k * t) / k for k in range(1, 6)) * 0.2
    beat = (t % (60.0 / bpm)) < 0.01
    y = y + np.where(beat, rng.normal(size=t.size), 0.0) + 0.01 * rng.normal(size=t.size)
    y[int(SR * 1.0):int(SR * 1.5)] = 0.0                       # silent frames
    return y.astype(np.float32)


def librosa_frames(y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.concatenate([
            librosa.feature.mfcc(y=y, sr=SR, n_mfcc=20),
            librosa.feature.chroma_stft(y=y, sr=SR, tuning=0.0),
            librosa.feature.spectral_centroid(y=y, sr=SR),
            librosa.feature.spectral_bandwidth(y=y, sr=SR),
            librosa.feature.spectral_rolloff(y=y, sr=SR),
            librosa.feature.spectral_contrast(y=y, sr=SR),
            librosa.feature.zero_crossing_rate(y, frame_length=2048),
            librosa.feature.rms(y=y),
            librosa.onset.onset_strength(y=y, sr=SR)[None, :],
        ]).astype(np.float64)


def test_frame_descriptors_match_librosa_row_by_row():
    y = music_like()
    ours, ref = C.frame_descriptors(y, SR), librosa_frames(y)
    names = C.frame_descriptor_names()
    assert ours.shape == ref.shape == (45, 1 + len(y) // 512) and len(names) == 45
    for name, a, b in zip(names, ours, ref):
        err = np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12)
        assert err < 1e-4, f"{name}: relative error {err:.1e}"


def test_spectral_shape_matches_librosa_with_silent_frames_and_ties():
    rng = np.random.default_rng(1)
    S = rng.random((513, 40)) ** 4
    S[:, 3] = 0.0                                              # a silent frame
    S[:, 4] = 1.0                                              # a flat one
    ref = np.concatenate([librosa.feature.spectral_centroid(S=S, sr=16000, n_fft=1024),
                          librosa.feature.spectral_bandwidth(S=S, sr=16000, n_fft=1024),
                          librosa.feature.spectral_rolloff(S=S, sr=16000, n_fft=1024)])
    np.testing.assert_allclose(C.spectral_shape(S, 16000), ref, rtol=1e-10, atol=1e-8)
    assert np.all(C.spectral_shape(S, 16000)[:, 3] == 0)


def test_pool_is_statistic_major_and_named():
    F = np.arange(12.0).reshape(2, 6) ** 2
    out = C.pool(F, ("mean", "std", "p10", "p50"))
    expected = np.r_[F.mean(1), F.std(1), np.percentile(F, 10, axis=1), np.median(F, axis=1)]
    np.testing.assert_allclose(out, expected)
    assert C.pooled_names(["a", "b"], ("mean", "std")) == ["mean(a)", "mean(b)", "std(a)", "std(b)"]
    assert C.descriptor_family("p90(contrast_2)") == "contrast" and C.descriptor_family("tempo") == "tempo"


@pytest.mark.parametrize("args,match", [
    ((np.zeros(5),), r"\(F, T\)"),
    ((np.zeros((3, 0)),), "T >= 1"),
    ((np.zeros((3, 4)), ("mean", "median")), "'pNN'"),
    ((np.zeros((3, 4)), ("p101",)), "'pNN'"),
    ((np.zeros((3, 4)), "mean"), "non-empty list"),
])
def test_pool_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        C.pool(*args)


def test_frame_descriptors_bad_input():
    with pytest.raises(ValueError, match="mono"):
        C.frame_descriptors(np.zeros((2, 1000)), SR)


def test_track_descriptors_length_names_and_tempo():
    y = music_like(seconds=6.0, bpm=120.0)
    v = C.track_descriptors(y, SR)
    names = C.descriptor_names()
    assert v.shape == (len(names),) == (226,) and names[-1] == "tempo"
    assert abs(v[-1] - 120.0) < 6.0, f"a click every 0.5 s is about 120 BPM, got {v[-1]:.1f}"
    assert C.track_descriptors(y, SR, stats=("mean",)).shape == (46,)


def tiny_folder(root, n_per_class=3):
    for c, f0 in (("low", 110.0), ("high", 880.0)):
        (root / c).mkdir(parents=True)
        for i in range(n_per_class):
            t = np.arange(SR) / SR
            sf.write(str(root / c / f"{i}.wav"), 0.3 * np.sin(2 * np.pi * f0 * (1 + 0.1 * i) * t), SR)
    return root


def test_track_features_are_cached_and_survive_an_unwritable_cache(tmp_path, monkeypatch):
    from mirkit.datasets import load_dataset

    ds = load_dataset(tiny_folder(tmp_path / "data"))
    cache = tmp_path / "cache"
    X = C.track_features(ds, cache=cache, progress=False)
    assert X.shape == (6, 226) and X.dtype == np.float64
    assert len(list(cache.rglob("*.npy"))) == 6
    calls = []
    monkeypatch.setattr(C, "frame_descriptors", lambda *a, **k: calls.append(1))
    np.testing.assert_array_equal(C.track_features(ds, cache=cache, progress=False), X)
    assert not calls, "the second call reads the cache"
    monkeypatch.undo()
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    with pytest.warns(UserWarning, match="cannot write the feature cache"):
        again = C.track_features(ds, cache=blocked / "cache", progress=False)
    np.testing.assert_allclose(again, X)


def test_track_features_default_cache_lives_under_the_data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("MIRKIT_DATA", str(tmp_path / "root"))
    folder = C._default_cache()
    assert folder.parent == tmp_path / "root" / "cache" and folder.name.startswith("classical-")


def test_grouped_split_never_splits_a_group():
    rng = np.random.default_rng(2)
    groups = rng.choice([f"artist_{i}" for i in range(25)], size=200)
    for seed in range(5):
        train, test = C.grouped_split(groups, test_fraction=0.25, seed=seed)
        assert train.dtype == np.int64 and test.dtype == np.int64
        np.testing.assert_array_equal(np.sort(np.r_[train, test]), np.arange(200))
        assert not set(groups[train]) & set(groups[test])
        biggest = max(np.sum(groups == g) for g in set(groups))
        assert 0.25 * 200 <= len(test) < 0.25 * 200 + biggest
    a, b = C.grouped_split(groups, 0.25, seed=7), C.grouped_split(groups, 0.25, seed=7)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(C.grouped_split(groups, 0.25, seed=8)[1], a[1])


def test_grouped_split_keeps_a_group_for_training_and_checks_input():
    train, test = C.grouped_split(["a", "a", "b"], test_fraction=0.9)
    assert len(train) and len(test)
    with pytest.raises(ValueError, match="one group"):
        C.grouped_split(["a", "a", "a"])
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        C.grouped_split(["a", "b"], test_fraction=1.0)
    with pytest.raises(ValueError, match=r"shape \(N,\)"):
        C.grouped_split(np.zeros((2, 2)))


def blobs(n=40, k=3, d=4, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(k), n)
    return rng.normal(size=(n * k, d)) + 3.0 * np.eye(k, d)[y], y


def test_gmm_classifier_is_bayes_rule_over_per_class_mixtures():
    from sklearn.base import clone
    from sklearn.mixture import GaussianMixture

    X, y = blobs()
    gmm = C.GaussianMixtureClassifier(n_components=2).fit(X, y)
    P = gmm.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    assert np.mean(gmm.predict(X) == y) > 0.9
    log_lik = np.stack([GaussianMixture(2, covariance_type="diag", reg_covar=1e-2, random_state=0)
                        .fit(X[y == k]).score_samples(X) for k in range(3)], axis=1) + np.log(1 / 3)
    ref = np.exp(log_lik - log_lik.max(1, keepdims=True))
    np.testing.assert_allclose(P, ref / ref.sum(1, keepdims=True), rtol=1e-8)
    assert clone(gmm).get_params()["n_components"] == 2
    tiny = C.GaussianMixtureClassifier(n_components=5).fit(X[:4], np.array([0, 0, 1, 1]))  # fewer examples than components
    assert tiny.predict(X[:4]).shape == (4,)
    with pytest.raises(ValueError, match="class 1 has 1 training example"):
        C.GaussianMixtureClassifier().fit(X[:3], np.array([0, 0, 1]))
    with pytest.raises(ValueError, match=r"X \(N, D\)"):
        C.GaussianMixtureClassifier().fit(X[:, 0], y)


@pytest.mark.parametrize("name", C.CLASSIFIERS)
def test_every_named_classifier_is_a_standardising_pipeline_that_learns(name):
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = blobs(seed=1)
    X[:, 0] *= 1000.0                                          # units differ: the scaler matters
    model = C.make_classifier(name, seed=0)
    assert type(model) is Pipeline and type(model.steps[0][1]) is StandardScaler
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert cross_val_score(model, X, y, cv=3).mean() > 0.8
        S = C.class_scores(model.fit(X, y), X)
    assert S.shape == (len(X), 3)


def test_make_classifier_overrides_and_errors():
    assert C.make_classifier("svm", C=3.0).named_steps["clf"].C == 3.0
    with pytest.raises(ValueError, match="choose one of"):
        C.make_classifier("xgboost")
