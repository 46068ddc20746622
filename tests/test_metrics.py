"""mirkit.nn.metrics' rankings (ROC, AUC, AP, mAP) against scikit-learn, ties and edge cases included."""
import warnings

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

from mirkit import nn


def binary_cases():
    """(name, y_true, scores): random, heavily tied, perfect, reversed, tiny, constant scores."""
    r = np.random.default_rng(0)
    y = r.integers(0, 2, size=200)
    yield "random", y, r.normal(size=200) + y
    yield "ties", y, np.round(r.normal(size=200) + y, 0)      # a handful of distinct scores
    yield "integer scores", y, r.integers(0, 3, size=200)
    yield "perfect", np.r_[np.zeros(5), np.ones(5)].astype(int), np.arange(10.0)
    yield "reversed", np.r_[np.zeros(5), np.ones(5)].astype(int), -np.arange(10.0)
    yield "two examples", np.array([1, 0]), np.array([0.3, 0.3])
    yield "constant scores", np.array([0, 1, 1, 0, 1]), np.full(5, 0.7)
    yield "booleans", np.array([True, False, True, True]), np.array([0.9, 0.1, 0.4, 0.4])
    yield "imbalanced", (r.random(300) < 0.03).astype(int), r.random(300)


@pytest.mark.parametrize("name,y,s", list(binary_cases()), ids=[c[0] for c in binary_cases()])
def test_binary_rankings_match_sklearn(name, y, s):
    fpr, tpr, thr = nn.roc_curve(y, s)
    ref = skm.roc_curve(y, s, drop_intermediate=False)
    for ours, theirs in zip((fpr, tpr, thr), ref):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert nn.roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    assert nn.average_precision(y, s) == pytest.approx(skm.average_precision_score(y, s), abs=1e-12)


def test_auc_is_the_probability_that_a_positive_outranks_a_negative():
    r = np.random.default_rng(1)
    y = r.integers(0, 2, size=80)
    s = np.round(r.normal(size=80) + y, 1)
    pos, neg = s[y == 1][:, None], s[y == 0][None, :]
    mann_whitney = np.mean((pos > neg) + 0.5 * (pos == neg))
    assert nn.roc_auc(y, s) == pytest.approx(mann_whitney, abs=1e-12)


def test_roc_curve_shape_and_ends():
    fpr, tpr, thr = nn.roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert thr[0] == np.inf and np.all(np.diff(thr) < 0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)


def multiclass_scores(seed=2, n=120, k=5):
    r = np.random.default_rng(seed)
    y = np.r_[np.arange(k), r.integers(0, k, size=n - k)]       # every class present
    Z = r.normal(size=(n, k)) + 1.5 * np.eye(k)[y]
    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)           # sklearn's ovr wants probabilities
    return y, P


def test_multiclass_one_vs_rest_auc_matches_sklearn():
    y, P = multiclass_scores()
    assert nn.roc_auc(y, P) == pytest.approx(skm.roc_auc_score(y, P, multi_class="ovr", average="macro"), abs=1e-12)
    per_class = nn.roc_auc(y, P, average=None)
    assert per_class.shape == (5,)
    np.testing.assert_allclose(per_class, [skm.roc_auc_score(y == k, P[:, k]) for k in range(5)], rtol=1e-12)
    # ties in the scores: a coarse rounding
    Pr = np.round(P, 1)
    np.testing.assert_allclose(nn.roc_auc(y, Pr, average=None),
                               [skm.roc_auc_score(y == k, Pr[:, k]) for k in range(5)], rtol=1e-12)


def test_multilabel_auc_and_map_match_sklearn():
    r = np.random.default_rng(3)
    Y = (r.random((90, 6)) < 0.3).astype(int)
    Y[0], Y[1] = 1, 0                                              # every tag has positives and negatives
    S = np.round(r.normal(size=Y.shape) + Y, 1)
    assert nn.roc_auc(Y, S) == pytest.approx(skm.roc_auc_score(Y, S, average="macro"), abs=1e-12)
    np.testing.assert_allclose(nn.roc_auc(Y, S, average=None), skm.roc_auc_score(Y, S, average=None), rtol=1e-12)
    assert nn.mean_average_precision(Y, S) == pytest.approx(skm.average_precision_score(Y, S, average="macro"), abs=1e-12)
    np.testing.assert_allclose(nn.mean_average_precision(Y.astype(bool), S, average=None),
                               skm.average_precision_score(Y, S, average=None), rtol=1e-12)


def test_map_of_labels_binarises_them():
    y, P = multiclass_scores(seed=4)
    ref = skm.average_precision_score(label_binarize(y, classes=range(5)), P, average="macro")
    assert nn.mean_average_precision(y, P) == pytest.approx(ref, abs=1e-12)


def test_a_class_with_all_positives_keeps_its_ap_but_has_no_auc():
    Y = np.array([[1, 0], [1, 1], [1, 0], [1, 1]])
    S = np.array([[0.2, 0.9], [0.5, 0.8], [0.1, 0.1], [0.7, 0.3]])
    assert nn.mean_average_precision(Y, S, average=None)[0] == 1.0
    with pytest.warns(UserWarning, match=r"class\(es\) \[0\]"):
        auc = nn.roc_auc(Y, S, average=None)
    assert np.isnan(auc[0]) and auc[1] == pytest.approx(skm.roc_auc_score(Y[:, 1], S[:, 1]))


def test_absent_class_is_nan_and_left_out_of_the_macro_mean():
    y, P = multiclass_scores(seed=5)
    y = np.where(y == 2, 0, y)                                      # class 2 never occurs
    with pytest.warns(UserWarning, match="no positive"):
        per_class = nn.roc_auc(y, P, average=None)
    assert np.isnan(per_class[2]) and np.all(np.isfinite(np.delete(per_class, 2)))
    with pytest.warns(UserWarning):
        macro = nn.roc_auc(y, P)
    assert macro == pytest.approx(np.mean(np.delete(per_class, 2)))
    with pytest.warns(UserWarning):
        aps = nn.mean_average_precision(y, P, average=None)
    assert np.isnan(aps[2])


@pytest.mark.parametrize("call,match", [
    (lambda: nn.roc_curve([0, 0, 0], [0.1, 0.2, 0.3]), "needs both"),
    (lambda: nn.roc_auc([1, 1], [0.1, 0.2]), "needs both"),
    (lambda: nn.average_precision([0, 0], [0.1, 0.2]), "no positive"),
    (lambda: nn.roc_curve([0, 1, 2], [0.1, 0.2, 0.3]), "0/1"),
    (lambda: nn.roc_curve([0, 1], [0.1, 0.2, 0.3]), r"shapes \(2,\) and \(3,\)"),
    (lambda: nn.roc_curve([0, 1], [0.1, np.nan]), "NaN"),
    (lambda: nn.roc_auc([0, 1, 2], np.eye(3)[:, :2]), r"integers 0\.\.1"),
    (lambda: nn.roc_auc([0.0, 1.0], np.eye(2)), "integers"),
    (lambda: nn.roc_auc(np.zeros((3, 2)), np.zeros((3, 4))), r"labels \(N,\)"),
    (lambda: nn.roc_auc(np.full((2, 2), 2), np.eye(2)), "0/1"),
    (lambda: nn.roc_auc([0, 1], np.zeros((2, 2, 2))), r"\(N,\) or \(N, K\)"),
    (lambda: nn.roc_auc([0, 1], np.eye(2), average="micro"), "'macro' or None"),
    (lambda: nn.mean_average_precision([0, 1], np.array([[0.1, np.inf], [0.2, 0.3]])), "NaN or infinity"),
])
def test_bad_inputs_get_clear_errors(call, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=match):
            call()


def test_binary_scores_as_a_column():
    y = np.array([0, 1, 1, 0, 1])
    s = np.array([0.1, 0.8, 0.3, 0.4, 0.9])
    assert nn.roc_auc(y, s[:, None]) == pytest.approx(skm.roc_auc_score(y, s))
