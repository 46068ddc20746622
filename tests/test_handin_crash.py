"""Nothing handed in is lost or recorded twice when the server or a grader is killed (SIGKILL:
no chance to clean up, like a power cut). The server is uvicorn in a subprocess on loopback
(SQLite: PostgreSQL's own durability is not ours to test); the graders are
``autograde leaderboard grader`` subprocesses with the stand-in grading function."""
import hashlib
import threading
import time
import uuid

import httpx
import pytest
from sqlalchemy import select

from autograde.leaderboard import Leaderboard
from autograde.leaderboard.models import Handin
from autograde.leaderboard.testing import (GraderProcess, ServerProcess, kill_during_burst, notebook_bytes,
                                           write_labels)

pytestmark = pytest.mark.xdist_group("leaderboard")

LESSON = "01-artificial-neuron"


def make_class(tmp_path, n_students):
    db = str(tmp_path / "class.sqlite")
    write_labels(tmp_path / "labels.csv", n=20)
    lb, instructor = Leaderboard.create(db, tmp_path / "labels.csv")
    tokens = [tok for _, _, tok in lb.add_students([{"name": f"s{k:02d}"}
                                                    for k in range(n_students)])]
    lb.set_handin_lesson(LESSON, max_handins=10_000)
    return db, lb, instructor, tokens


def recorded(lb):
    with lb.Session() as s:
        return s.execute(select(Handin.id, Handin.request_key, Handin.sha256, Handin.raw,
                                Handin.status, Handin.attempts)).all()


def test_sigkill_during_a_burst_of_hand_ins_loses_and_duplicates_nothing(tmp_path):
    db, lb, instructor, tokens = make_class(tmp_path, 8)
    accepted, unanswered, stop = {}, {}, threading.Event()   # key -> (id, sha) / (raw, token)

    def post(http, key, raw):
        return http.post(server.url + "/api/handins", data={"lesson": LESSON, "key": key},
                         files={"file": (f"{LESSON}.ipynb", raw)})

    def client(k):
        with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {tokens[k]}"}) as http:
            while not stop.is_set():
                key = uuid.uuid4().hex
                raw = notebook_bytes(text=key)
                try:
                    r = post(http, key, raw)
                except httpx.TransportError:
                    unanswered[key] = (raw, tokens[k])       # recorded or not: nobody knows
                    return
                assert r.status_code == 201, r.text
                accepted[key] = (r.json()["handin"]["id"], hashlib.sha256(raw).hexdigest())

    server = ServerProcess(db).start()
    kill_during_burst(server, client, len(tokens), accepted, stop, at_least=30)

    with ServerProcess(db, port=server.port) as server:
        # the clients whose answer was lost send again, with the same key (as Client.handin does)
        for key, (raw, token) in unanswered.items():
            with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {token}"}) as http:
                r = post(http, key, raw)
            assert r.status_code in (200, 201), r.text
            accepted[key] = (r.json()["handin"]["id"], hashlib.sha256(raw).hexdigest())
    rows = recorded(lb)
    by_key = {}
    for row in rows:
        by_key.setdefault(row.request_key, []).append(row)
    lost = [key for key in accepted if key not in by_key]
    duplicated = [key for key, rs in by_key.items() if len(rs) > 1]
    assert not lost and not duplicated, f"lost {lost}, duplicated {duplicated}"
    assert len(rows) == len(accepted)
    assert all(by_key[key][0].id == i and by_key[key][0].sha256 == sha
               for key, (i, sha) in accepted.items())
    assert all(hashlib.sha256(r.raw).hexdigest() == r.sha256 and r.status == "queued"
               for r in rows)
    lb.engine.dispose()


def test_sigkill_of_a_grader_mid_grading_loses_nothing(tmp_path):
    db, lb, _, tokens = make_class(tmp_path, 2)
    for k in range(8):
        user = lb.authenticate(tokens[k % 2])
        lb.handin(user, LESSON, "n.ipynb", notebook_bytes(score=k % 3, sleep=1.0, text=str(k)))
    victim = GraderProcess(db, lease_seconds=2).start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:          # wait until the victim is in the middle of one
        held = [r for r in recorded(lb) if r.status == "grading"]
        if held:
            break
        time.sleep(0.05)
    assert held, "the grader never claimed a hand-in"
    victim.kill()
    with GraderProcess(db, lease_seconds=2), GraderProcess(db, lease_seconds=2):
        while time.monotonic() < deadline + 60:
            rows = recorded(lb)
            if all(r.status == "graded" for r in rows):
                break
            time.sleep(0.2)
    assert [r.status for r in rows] == ["graded"] * 8
    # the one the victim held was graded again, by another grader, and written once
    assert {r.id: r.attempts for r in rows}[held[0].id] == 2
    graded_lines = [a for a in lb.audit_log(1000) if a.action == "handin-graded"]
    assert sorted(int(a.detail.split()[0][1:]) for a in graded_lines) == sorted(r.id for r in rows)
    scores = {h["id"]: h["score"] for h in lb.all_handins()}
    assert sorted(scores.values()) == sorted(float(k % 3) for k in range(8))
    lb.engine.dispose()
