"""The challenge's protocol helpers and the practice leaderboard (lessons/10-genre-challenge)."""
import csv
import os
import tempfile

import numpy as np
import pytest

from mirkit.challenge import Client, protocol
from mirkit.challenge.practice import PracticeServer, practice_set


def test_ensemble_is_the_weighted_mean_and_checks_its_input():
    rng = np.random.default_rng(0)
    P = [rng.dirichlet(np.ones(4), size=6) for _ in range(3)]
    np.testing.assert_allclose(protocol.ensemble(P, [1, 2, 1]), (P[0] + 2 * P[1] + P[2]) / 4)
    np.testing.assert_allclose(protocol.ensemble(P).sum(1), 1.0)
    for bad in ([P[0], P[1][:5]], []):
        with pytest.raises(ValueError, match="same shape"):
            protocol.ensemble(bad)
    with pytest.raises(ValueError, match=">= 0"):
        protocol.ensemble(P, [1, -1, 1])


def test_choose_by_validation_takes_the_best_and_the_first_on_ties():
    y = np.array([0, 1, 1])
    good = np.eye(2)[y]
    best, acc = protocol.choose_by_validation({"a": 1 - good, "b": good, "c": good}, y)
    assert best == "b" and acc == {"a": 0.0, "b": 1.0, "c": 1.0}
    with pytest.raises(ValueError, match=r"expected \(3, K\)"):
        protocol.choose_by_validation({"x": good[:2]}, y)


def test_write_predictions_is_what_the_leaderboard_reads(tmp_path):
    from autograde.leaderboard import validation

    ids = [f"track_{i:04d}" for i in range(12)]
    P = np.random.default_rng(1).dirichlet(np.ones(10), size=12)
    path = tmp_path / "s.csv"
    protocol.write_predictions(path, ids, P)
    rows = list(csv.DictReader(open(path, newline="")))
    assert [r["track"] for r in rows] == ids
    assert [int(r["genre_id"]) for r in rows] == list(P.argmax(1))
    spec = validation.Spec("track", "genre_id", tuple(ids), tuple(str(k) for k in range(10)), False)
    checked = validation.validate(path.read_bytes(), spec)
    assert checked.ok, checked.messages()
    with pytest.raises(ValueError, match=r"\(12, 10\)"):
        protocol.write_predictions(path, ids, P[:, :9])


@pytest.mark.xdist_group("practice")
def test_practice_set_and_server_score_a_submission_and_keep_no_answers(tmp_path):
    folder = practice_set(tracks=1, root=tmp_path)
    ids = [r["track"] for r in csv.DictReader(open(folder / "sample_submission.csv", newline=""))]
    assert len(ids) == 10
    assert not list(folder.rglob("labels*")), "the answers live only in the leaderboard database"
    with PracticeServer(folder) as server:
        client = Client(server.url, server.token)
        protocol.write_predictions(tmp_path / "p.csv", ids, np.eye(10)[np.zeros(len(ids), int)])
        result = client.submit(tmp_path / "p.csv")
        assert result["status"] == "scored" and 0.0 <= result["public_score"] <= 1.0
    assert practice_set(tracks=1, root=tmp_path) == folder  # made once
    with PracticeServer(folder) as server:  # restarted from its database
        assert len(Client(server.url, server.token).submissions()) == 1
