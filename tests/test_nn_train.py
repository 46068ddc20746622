"""Training loop, metrics, mini-batches, early stopping and saving weights."""
import numpy as np
import pytest

import mirkit.nn as nn


def mlp(sizes, act=nn.Tanh, seed=0):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Dense(a, b, rng=seed + i))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def test_mlp_learns_xor():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    model = mlp([2, 8, 2])
    loss = nn.SoftmaxCrossEntropy()
    hist = nn.fit(model, loss, nn.Adam(model.named_parameters(), lr=0.05), X, y, epochs=300,
                  batch_size=4, verbose=False)
    assert hist["accuracy"][-1] == 1.0
    np.testing.assert_array_equal(nn.predict_classes(model, X, loss), y)


def test_mlp_two_moons_generalises():
    from sklearn.datasets import make_moons
    X, y = make_moons(600, noise=0.1, random_state=0)
    Xte, yte = make_moons(400, noise=0.1, random_state=1)
    model = mlp([2, 32, 32, 2], act=nn.ReLU)
    loss = nn.SoftmaxCrossEntropy()
    hist = nn.fit(model, loss, nn.Adam(model.named_parameters(), lr=0.01), X, y, epochs=60,
                  batch_size=32, validation_data=(Xte, yte), seed=0, verbose=False)
    assert hist["val_accuracy"][-1] >= 0.97
    assert nn.accuracy(yte, nn.predict(model, Xte)) == pytest.approx(hist["val_accuracy"][-1])
    assert set(hist.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(hist["loss"]) == 60 and hist["loss"][-1] < hist["loss"][0]


def test_binary_output_with_bce_and_dropout_and_l2():
    from sklearn.datasets import make_moons
    X, y = make_moons(400, noise=0.1, random_state=2)
    model = nn.Sequential(nn.Dense(2, 32, rng=0), nn.ReLU(), nn.Dropout(0.1, rng=1),
                          nn.Dense(32, 1, rng=2))
    loss = nn.BinaryCrossEntropyWithLogits()
    hist = nn.fit(model, loss, nn.Adam(model.named_parameters(), lr=0.02), X, y[:, None],
                  epochs=60, batch_size=32, l2=1e-4, verbose=False)
    assert nn.evaluate(model, loss, X, y[:, None])["accuracy"] >= 0.95
    assert hist["loss"][-1] < hist["loss"][0]


def test_fit_is_deterministic():
    from sklearn.datasets import make_moons
    X, y = make_moons(200, noise=0.2, random_state=0)
    runs = []
    for _ in range(2):
        model = mlp([2, 8, 2], seed=3)
        nn.fit(model, nn.SoftmaxCrossEntropy(), nn.SGD(model.named_parameters(), lr=0.1), X, y,
               epochs=3, batch_size=16, seed=7, verbose=False)
        runs.append(nn.train.get_weights(model))
    for k in runs[0]:
        np.testing.assert_array_equal(runs[0][k], runs[1][k])


def test_early_stopping_restores_best_weights():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 10)), rng.integers(0, 2, size=40)  # noise: over-fits
    Xv, yv = rng.standard_normal((40, 10)), rng.integers(0, 2, size=40)
    model = mlp([10, 64, 2])
    loss = nn.SoftmaxCrossEntropy()
    stop = nn.EarlyStopping(patience=3)
    hist = nn.fit(model, loss, nn.Adam(model.named_parameters(), lr=0.01), X, y, epochs=200,
                  batch_size=8, validation_data=(Xv, yv), early_stopping=stop, verbose=False)
    assert hist.stopped_epoch is not None and hist.stopped_epoch < 199
    assert hist.stopped_epoch == hist.best_epoch + 3
    best = hist["val_loss"][hist.best_epoch]
    assert best == min(hist["val_loss"])
    assert nn.evaluate(model, loss, Xv, yv)["loss"] == pytest.approx(best, rel=1e-12)


def test_minibatches_cover_data_once_and_are_seeded():
    X, y = np.arange(10)[:, None], np.arange(10)
    batches = list(nn.minibatches(X, y, batch_size=4, rng=0))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate([b[1] for b in batches])) == list(range(10))
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0], yb)
    again = [b[1] for b in nn.minibatches(X, y, batch_size=4, rng=0)]
    np.testing.assert_array_equal(np.concatenate(again), np.concatenate([b[1] for b in batches]))
    assert [len(b) for b in nn.minibatches(X, batch_size=None)] == [10]  # full batch
    ordered = np.concatenate([b for b in nn.minibatches(X, batch_size=3, shuffle=False)])
    np.testing.assert_array_equal(ordered, X)
    with pytest.raises(ValueError, match="10 examples but y has 9"):
        list(nn.minibatches(X, y[:9]))


def test_metrics_match_sklearn():
    from sklearn.metrics import accuracy_score, confusion_matrix
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, size=200)
    scores = rng.standard_normal((200, 4)) + 2 * np.eye(4)[y_true]
    y_pred = scores.argmax(axis=1)
    assert nn.accuracy(y_true, scores) == pytest.approx(accuracy_score(y_true, y_pred))
    assert nn.accuracy(np.eye(4)[y_true], y_pred) == pytest.approx(accuracy_score(y_true, y_pred))
    np.testing.assert_array_equal(nn.confusion_matrix(y_true, scores, 4),
                                  confusion_matrix(y_true, y_pred, labels=range(4)))
    binary = nn.confusion_matrix([0, 1, 1], [0.2, 0.9, 0.4], 2)  # probabilities, threshold 0.5
    np.testing.assert_array_equal(binary, [[1, 0], [1, 1]])
    with pytest.raises(ValueError, match="0..1"):
        nn.confusion_matrix([0, 2], [0, 1], n_classes=2)


def test_save_load_round_trip(tmp_path):
    model = mlp([3, 5, 2], seed=0)
    path = nn.save_weights(model, tmp_path / "weights")
    assert path.suffix == ".npz"
    other = mlp([3, 5, 2], seed=10)
    x = np.random.default_rng(0).standard_normal((4, 3))
    assert not np.allclose(other.forward(x), model.forward(x))
    nn.load_weights(other, path)
    np.testing.assert_array_equal(other.forward(x), model.forward(x))
    with pytest.raises(ValueError, match=r"wrong shapes: 0.W: model \(3, 6\)"):
        nn.load_weights(mlp([3, 6, 2]), path)
    with pytest.raises(ValueError, match="missing parameters"):
        nn.load_weights(mlp([3, 5, 5, 2]), path)


def test_fit_errors():
    model = mlp([2, 3, 2])
    with pytest.raises(ValueError, match="X has 4 examples but y has 3"):
        nn.fit(model, nn.SoftmaxCrossEntropy(), nn.SGD(model.named_parameters()),
               np.zeros((4, 2)), np.zeros(3, dtype=int), verbose=False)
    with pytest.raises(ValueError, match=r"Dense.*\(N, 2\).*\(4, 3\)"):
        nn.fit(model, nn.SoftmaxCrossEntropy(), nn.SGD(model.named_parameters()),
               np.zeros((4, 3)), np.zeros(4, dtype=int), verbose=False)


def test_load_weights_accepts_the_path_given_to_save_weights(tmp_path):
    model = nn.Sequential(nn.Dense(3, 2, rng=0))
    written = nn.save_weights(model, tmp_path / "w")
    assert written.name == "w.npz"
    other = nn.Sequential(nn.Dense(3, 2, rng=1))
    nn.load_weights(other, tmp_path / "w")
    assert np.array_equal(other[0].params["W"].value, model[0].params["W"].value)


def test_accuracy_of_a_multilabel_tagger_is_per_tag():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    T = (X @ rng.standard_normal((3, 4)) > 0).astype(float)  # four tags, (N, 4)
    model = nn.Sequential(nn.Dense(3, 4, rng=0))
    loss = nn.BinaryCrossEntropyWithLogits()
    hist = nn.fit(model, loss, nn.Adam(model.named_parameters(), lr=0.05), X, T, epochs=30,
                  validation_data=(X, T), verbose=False)
    out = nn.predict(model, X)
    assert hist["val_accuracy"][-1] == pytest.approx(np.mean((out > 0) == T.astype(bool)))
    assert hist["val_accuracy"][-1] > 0.9


def test_early_stopping_reused_after_a_fit_without_validation_watches_val_loss():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 10)), rng.integers(0, 2, size=40)
    Xv, yv = rng.standard_normal((40, 10)), rng.integers(0, 2, size=40)
    stop = nn.EarlyStopping(patience=3)
    model = mlp([10, 8, 2])
    nn.fit(model, nn.SoftmaxCrossEntropy(), nn.SGD(model.named_parameters()), X, y, epochs=2,
           early_stopping=stop, verbose=False)  # no validation data: watches "loss"
    assert stop.monitor == "val_loss"
    hist = nn.fit(model, nn.SoftmaxCrossEntropy(), nn.Adam(model.named_parameters(), lr=0.01),
                  X, y, epochs=5, validation_data=(Xv, yv), early_stopping=stop, verbose=False)
    assert stop.best == min(hist["val_loss"][: stop.best_epoch + 1])
