"""Metrics against scikit-learn, Kaggle's log-loss clipping, and the seeded public/private split."""
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, log_loss

from autograde.leaderboard import scoring

LABELS = ["blues", "jazz", "rock", "pop"]


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, 200)
    pred = np.where(rng.random(200) < 0.6, truth, rng.integers(0, 4, 200))
    mask = scoring.public_mask(200, 0.3, seed=5)
    return truth, pred, mask


@pytest.mark.parametrize("metric, reference", [
    ("accuracy", accuracy_score), ("balanced_accuracy", balanced_accuracy_score),
    ("macro_f1", lambda y, p: f1_score(y, p, average="macro"))])
def test_label_metrics_match_sklearn(data, metric, reference):
    truth, pred, mask = data
    names = [LABELS[i] for i in pred]
    pub, priv = scoring.score_both(metric, truth, names, LABELS, mask)
    assert pub == pytest.approx(reference(truth[mask], pred[mask]))
    assert priv == pytest.approx(reference(truth[~mask], pred[~mask]))
    assert scoring.higher_is_better(metric)


def test_log_loss_clips_and_normalises_like_kaggle(data):
    truth, _, mask = data
    rng = np.random.default_rng(1)
    proba = rng.random((200, 4)) * 3                  # rows do not sum to one
    proba[0] = [0, 0, 0, 0]                           # all zero: clipped, then uniform
    proba[1, truth[1]] = 0                            # a zero on the true class: finite loss
    ref = np.clip(proba, 1e-15, 1 - 1e-15)
    ref /= ref.sum(axis=1, keepdims=True)
    pub, priv = scoring.score_both("log_loss", truth, proba, LABELS, mask)
    assert pub == pytest.approx(log_loss(truth[mask], ref[mask], labels=range(4)))
    assert priv == pytest.approx(log_loss(truth[~mask], ref[~mask], labels=range(4)))
    assert np.isfinite(priv) and not scoring.higher_is_better("log_loss")


def test_split_is_seeded_and_has_the_requested_size():
    a, b = scoring.public_mask(1000, 0.3, 1), scoring.public_mask(1000, 0.3, 1)
    assert np.array_equal(a, b) and a.sum() == 300
    assert not np.array_equal(a, scoring.public_mask(1000, 0.3, 2))
    assert scoring.public_mask(3, 0.01, 0).sum() == 1       # never an empty part
    with pytest.raises(ValueError, match="between 0 and 1"):
        scoring.public_mask(10, 1.0, 0)


def test_unknown_metric_is_named():
    with pytest.raises(ValueError, match="choose one of accuracy"):
        scoring.check_metric("auc")
