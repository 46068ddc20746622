"""mirkit.deep: chunking, track decisions, normalisation, the Keras CNN and the mirkit->Keras bridge."""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np
import pytest

from mirkit import deep, nn


# -- chunking ---------------------------------------------------------------------------------
def test_chunk_shapes_and_content():
    S = np.arange(3 * 10).reshape(3, 10).astype(float)       # (F=3, T=10)
    C = deep.chunk(S, 4)
    assert C.shape == (2, 3, 4)                                # 1 + (10 - 4) // 4 = 2, last 2 frames dropped
    np.testing.assert_array_equal(C[1], S[:, 4:8])
    C = deep.chunk(S, 4, hop=2)
    assert C.shape == (4, 3, 4)                                # 1 + (10 - 4) // 2
    for i in range(4):
        np.testing.assert_array_equal(C[i], S[:, 2 * i:2 * i + 4])
    assert deep.chunk(S, 10).shape == (1, 3, 10)               # exactly one chunk
    y = np.arange(7.0)
    np.testing.assert_array_equal(deep.chunk(y, 3), [[0, 1, 2], [3, 4, 5]])   # 1-D signals too


def test_chunk_short_input_errors_or_pads():
    S = np.arange(6.0).reshape(2, 3)
    with pytest.raises(ValueError, match="fewer than size=5.*pad=True"):
        deep.chunk(S, 5)
    C = deep.chunk(S, 5, pad=True)
    assert C.shape == (1, 2, 5)
    np.testing.assert_array_equal(C[0, 0], [0, 1, 2, 0, 1])    # wrap-around repeat
    with pytest.raises(ValueError, match="no frames"):
        deep.chunk(np.zeros((4, 0)), 2)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            deep.chunk(S, bad)
    with pytest.raises(ValueError, match="hop must be a positive integer"):
        deep.chunk(S, 2, hop=0)


def test_chunk_tracks_keeps_the_track_index_and_labels():
    tracks = [np.zeros((2, 8)), np.ones((2, 4)), 2 * np.ones((2, 13))]
    X, track, y = deep.chunk_tracks(tracks, 4, labels=[5, 6, 7])
    assert X.shape == (2 + 1 + 3, 2, 4)
    np.testing.assert_array_equal(track, [0, 0, 1, 2, 2, 2])
    np.testing.assert_array_equal(y, [5, 5, 6, 7, 7, 7])
    np.testing.assert_array_equal(X[track == 2], 2.0)
    with pytest.raises(ValueError, match="3 tracks but 2 labels"):
        deep.chunk_tracks(tracks, 4, labels=[1, 2])
    with pytest.raises(ValueError, match="same n_mels"):
        deep.chunk_tracks([np.zeros((2, 8)), np.zeros((3, 8))], 4)
    with pytest.raises(ValueError, match="no tracks"):
        deep.chunk_tracks([], 4)


# -- aggregation ------------------------------------------------------------------------------
def test_aggregate_mean_and_vote_by_hand():
    P = np.array([[0.6, 0.4], [0.1, 0.9], [0.2, 0.8],     # track 0: 3 chunks
                  [0.55, 0.45]])                          # track 1: 1 chunk
    track = np.array([0, 0, 0, 1])
    np.testing.assert_allclose(deep.aggregate(P, track, "mean"), [[0.3, 0.7], [0.55, 0.45]])
    np.testing.assert_allclose(deep.aggregate(P, track, "vote"), [[1 / 3, 2 / 3], [1, 0]])
    np.testing.assert_array_equal(deep.track_decision(P, track, "mean"), [1, 0])
    # mean and vote disagree: one very confident chunk against two hesitant ones
    P = np.array([[0.0, 1.0], [0.6, 0.4], [0.6, 0.4]])
    track = np.zeros(3, dtype=int)
    assert deep.track_decision(P, track, "mean")[0] == 1
    assert deep.track_decision(P, track, "vote")[0] == 0


def test_vote_tie_goes_to_the_higher_mean_probability():
    P = np.array([[0.51, 0.49, 0.0], [0.0, 0.9, 0.1]])   # one vote each for classes 0 and 1
    assert deep.track_decision(P, np.array([0, 0]), "vote")[0] == 1


def test_aggregate_errors():
    P = np.full((3, 2), 0.5)
    with pytest.raises(ValueError, match="one track index per chunk"):
        deep.aggregate(P, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"tracks \[1\] have no chunk"):
        deep.aggregate(P, np.array([0, 0, 2]))
    with pytest.raises(ValueError, match="out of range for n_tracks=2"):
        deep.aggregate(P, np.array([0, 1, 2]), n_tracks=2)
    with pytest.raises(ValueError, match="no chunks"):
        deep.aggregate(np.zeros((0, 2)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match="'mean' or 'vote'"):
        deep.aggregate(P, np.array([0, 0, 1]), "median")
    with pytest.raises(ValueError, match="integer track indices"):
        deep.aggregate(P, np.array([0.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match=r"\(M, K\)"):
        deep.aggregate(np.ones(3), np.array([0, 0, 1]))


# -- normalisation ----------------------------------------------------------------------------
def test_normalisation_per_band():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 4, 30)) * np.array([1, 2, 3, 4])[:, None] + np.array([-50, -10, 0, 5])[:, None]
    mean, std = deep.normalisation_stats(X)
    assert mean.shape == std.shape == (4, 1)
    Z = deep.normalise(X, mean, std)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z.mean(axis=(0, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(Z.std(axis=(0, 2)), 1, atol=1e-4)
    m1, s1 = deep.normalisation_stats(X, per_band=False)
    assert m1.shape == (1, 1) and np.isclose(m1[0, 0], X.mean(), rtol=1e-5)
    _, s0 = deep.normalisation_stats(np.zeros((2, 3, 4)))
    assert np.all(s0 > 0)                                            # a silent band: no division by 0
    with pytest.raises(ValueError, match=r"\(M, F, T\)"):
        deep.normalisation_stats(np.zeros((3, 4)))


def test_log_mel_matches_librosa():
    import librosa

    y = np.random.default_rng(1).normal(size=22050).astype(np.float32)
    S = deep.log_mel(y, 22050, n_mels=32, n_fft=1024, hop_length=512)
    ref = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=22050, n_fft=1024, hop_length=512,
                                                             n_mels=32), ref=1.0, top_db=80.0)
    assert S.shape == (32, 1 + 22050 // 512)
    np.testing.assert_allclose(S, ref, atol=1e-4)
    with pytest.raises(ValueError, match="mono"):
        deep.log_mel(np.zeros((2, 100)))


# -- the Keras CNN ----------------------------------------------------------------------------
@pytest.mark.parametrize("pooling", deep.POOLINGS)
def test_build_cnn_shapes_any_length(pooling):
    m = deep.build_cnn((16, None), n_classes=5, filters=(4, 8), pooling=pooling, compile=False)
    for T in (8, 23):
        P = np.asarray(m(np.zeros((3, 16, T), np.float32)))
        assert P.shape == (3, 5)
        np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-5)    # softmax rows


def test_build_cnn_filter_shapes_and_multilabel():
    for shape, kernel in deep.FILTER_SHAPES.items():
        m = deep.build_cnn((16, 32), 3, filters=(4,), filter_shape=shape, compile=False)
        assert m.get_layer("conv1").kernel.shape == kernel + (1, 4)
    m = deep.build_cnn((16, 32), 3, filters=(4,), filter_shape=(5, 2), multilabel=True)
    assert m.get_layer("conv1").kernel.shape == (5, 2, 1, 4)
    P = np.asarray(m(np.random.default_rng(0).normal(size=(2, 16, 32)).astype(np.float32)))
    assert P.shape == (2, 3) and np.all((P > 0) & (P < 1)) and not np.allclose(P.sum(1), 1)
    assert m.loss == "binary_crossentropy"
    a = deep.build_cnn((16, 32), 3, filters=(4,), seed=1, compile=False)
    b = deep.build_cnn((16, 32), 3, filters=(4,), seed=1, compile=False)
    np.testing.assert_array_equal(a.get_layer("conv1").kernel.numpy(), b.get_layer("conv1").kernel.numpy())


def test_build_cnn_errors():
    with pytest.raises(ValueError, match=r"\(F, T\)"):
        deep.build_cnn((1, 16, 32))
    with pytest.raises(ValueError, match="filter_shape must be one of"):
        deep.build_cnn((16, 32), filter_shape="diagonal")
    with pytest.raises(ValueError, match="pooling must be one of"):
        deep.build_cnn((16, 32), pooling="attention")
    with pytest.raises(ValueError, match="halve the 4 bands"):
        deep.build_cnn((4, 32), filters=(4, 8, 16))
    with pytest.raises(ValueError, match="halve the 2 frames"):
        deep.build_cnn((16, 2), filters=(4, 8))


def test_cnn_learns_a_toy_problem():
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 8, 16)).astype(np.float32)
    y = (np.arange(64) % 2)
    X[y == 1, :4] += 1.5                                              # class 1: louder low bands
    m = deep.build_cnn((8, 16), 2, filters=(4,), dropout=0.0, learning_rate=1e-2)
    m.fit(X, y, epochs=15, batch_size=16, verbose=0)
    assert float(np.mean(m.predict(X, verbose=0).argmax(1) == y)) > 0.9


# -- the bridge -------------------------------------------------------------------------------
def test_mirkit_to_keras_same_outputs_conv_net():
    rng = np.random.default_rng(0)
    net = nn.Sequential(nn.Conv2D(1, 4, 3, padding="same", rng=0), nn.BatchNorm(4), nn.ReLU(),
                        nn.MaxPool2D(2), nn.Conv2D(4, 3, (3, 1), rng=1), nn.Tanh(),
                        nn.Flatten(), nn.Dense(3 * 2 * 8, 5, rng=2), nn.Softmax())
    bn = net[1].params
    bn["gamma"].value[:] = rng.uniform(0.5, 2, 4)
    bn["beta"].value[:] = rng.normal(size=4)
    bn["running_mean"].value[:] = rng.normal(size=4)
    bn["running_var"].value[:] = rng.uniform(0.5, 2, 4)
    net.eval()
    x = rng.normal(size=(3, 1, 8, 16))
    k = deep.mirkit_to_keras(net, (1, 8, 16))
    np.testing.assert_allclose(np.asarray(k(x.astype(np.float32), training=False)), net.forward(x),
                               atol=1e-5)


def test_mirkit_to_keras_dense_and_global_pool():
    rng = np.random.default_rng(1)
    mlp = nn.Sequential(nn.Dense(6, 7, rng=0), nn.ReLU(), nn.Dense(7, 3, rng=1), nn.Sigmoid())
    x = rng.normal(size=(4, 6))
    np.testing.assert_allclose(np.asarray(deep.mirkit_to_keras(mlp, (6,))(x.astype(np.float32))),
                               mlp.forward(x), atol=1e-6)
    cnn = nn.Sequential(nn.Conv2D(2, 3, 3, rng=0), nn.ReLU(), nn.GlobalAvgPool(axis=(2, 3)),
                        nn.Dense(3, 2, rng=1))
    x = rng.normal(size=(2, 2, 6, 9))
    np.testing.assert_allclose(np.asarray(deep.mirkit_to_keras(cnn, (2, 6, 9))(x.astype(np.float32))),
                               cnn.forward(x), atol=1e-5)
    with pytest.raises(ValueError, match="no Keras twin"):
        deep.mirkit_to_keras(nn.Sequential(nn.Conv1D(2, 3, 3)), (2, 9))
    with pytest.raises(ValueError, match="stride 1"):
        deep.mirkit_to_keras(nn.Sequential(nn.Conv2D(1, 2, 3, stride=2)), (1, 8, 8))
