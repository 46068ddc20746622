"""The real server (uvicorn in a subprocess on loopback): 50 clients at once, and a SIGKILL in the
middle of a burst of submissions. SQLite, and PostgreSQL when its binaries are present; one server
process, and two (``--workers 2``: the daily limit must hold across processes too)."""
import hashlib
import threading

import httpx
import numpy as np
import pytest
from sqlalchemy import select

from autograde.leaderboard import Leaderboard
from autograde.leaderboard.models import Submission
from autograde.leaderboard.testing import (PostgresServer, ServerProcess, kill_during_burst, postgres_unavailable,
                                           submission_bytes, write_labels)

pytestmark = pytest.mark.xdist_group("leaderboard")

N_CLIENTS, CROWD, LIMIT = 50, 10, 3


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield str(tmp_path / "comp.sqlite")
        return
    reason = postgres_unavailable()
    if reason:
        pytest.skip(f"no PostgreSQL for the PostgreSQL variant: {reason}")
    with PostgresServer(fsync=False) as pg:
        yield pg.new_database()


def make_competition(db, tmp_path, n_students, crowd=0, daily_limit=LIMIT):
    """n_students students; the last ``crowd`` of them share the team 'crowd'."""
    ids, truth = write_labels(tmp_path / "labels.csv", n=200)
    lb, instructor = Leaderboard.create(db, tmp_path / "labels.csv", daily_limit=daily_limit)
    roster = [{"name": f"s{k:02d}", "team": "crowd" if k >= n_students - crowd else ""}
              for k in range(n_students)]
    tokens = [tok for _, _, tok in lb.add_students(roster)]
    lb.engine.dispose()
    return ids, truth, instructor, tokens


def a_file(ids, truth, seed):
    """A distinct, valid submission per seed."""
    rng = np.random.default_rng(seed)
    preds = [t if rng.random() < 0.7 else str(rng.integers(0, 4)) for t in truth]
    return submission_bytes(ids, preds)


def admin_submissions(url, instructor):
    r = httpx.get(url + "/api/admin/submissions", headers={"Authorization": f"Bearer {instructor}"})
    return {s["id"]: s for s in r.json()["submissions"]}


@pytest.mark.parametrize("workers", [1, 2])
def test_fifty_clients_at_once_each_accepted_submission_recorded_once(db_url, tmp_path, workers):
    ids, truth, instructor, tokens = make_competition(db_url, tmp_path, N_CLIENTS, crowd=CROWD)
    results, barrier = [], threading.Barrier(N_CLIENTS)

    def client(k):
        with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {tokens[k]}"}) as http:
            barrier.wait()
            raw = a_file(ids, truth, seed=k)
            r = http.post(server.url + "/api/submissions", files={"file": ("p.csv", raw)})
            results.append((k, r.status_code, r.json(), hashlib.sha256(raw).hexdigest()))

    with ServerProcess(db_url, workers=workers) as server:
        threads = [threading.Thread(target=client, args=(k,)) for k in range(N_CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        recorded = admin_submissions(server.url, instructor)

    codes = [code for _, code, _, _ in results]
    assert len(results) == N_CLIENTS and set(codes) <= {201, 429}, codes
    accepted = {body["submission"]["id"]: sha for _, code, body, sha in results if code == 201}
    solo = N_CLIENTS - CROWD
    # every solo student got in; the crowd's team got exactly its daily limit
    assert len(accepted) == solo + LIMIT == codes.count(201)
    assert sum(1 for k, code, _, _ in results if k >= solo and code == 201) == LIMIT
    # each accepted submission is recorded exactly once, with the bytes the client sent
    assert set(recorded) == set(accepted)
    assert all(recorded[i]["sha256"] == sha and recorded[i]["status"] == "scored"
               for i, sha in accepted.items())


def test_sigkill_during_a_burst_loses_nothing_the_clients_saw_accepted(tmp_path):
    db_url = str(tmp_path / "comp.sqlite")      # PostgreSQL's own durability is not ours to test
    ids, truth, instructor, tokens = make_competition(db_url, tmp_path, 10, daily_limit=1000)
    accepted, stop = {}, threading.Event()

    def client(k):
        with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {tokens[k]}"}) as http:
            j = 0
            while not stop.is_set():
                raw = a_file(ids, truth, seed=1000 * k + j)
                j += 1
                try:
                    r = http.post(server.url + "/api/submissions", files={"file": ("p.csv", raw)})
                except httpx.TransportError:
                    return                                  # the server is gone
                if r.status_code == 201:
                    accepted[r.json()["submission"]["id"]] = hashlib.sha256(raw).hexdigest()

    server = ServerProcess(db_url).start()
    kill_during_burst(server, client, 10, accepted, stop, at_least=20)

    with ServerProcess(db_url, port=server.port) as restarted:
        recorded = admin_submissions(restarted.url, instructor)
    missing = set(accepted) - set(recorded)
    assert not missing, f"accepted but lost: {sorted(missing)}"
    assert all(recorded[i]["sha256"] == sha for i, sha in accepted.items())
    # every record, even one whose answer never reached its client, is complete and scored
    assert all(s["status"] == "scored" and s["public_score"] is not None for s in recorded.values())
    lb = Leaderboard(db_url)
    with lb.Session() as s:
        assert all(hashlib.sha256(raw).hexdigest() == sha
                   for raw, sha in s.execute(select(Submission.raw, Submission.sha256)))
    lb.engine.dispose()
