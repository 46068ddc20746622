"""Handing in a lesson notebook through the HTTP API (FastAPI TestClient, injected clock): auth,
the lesson's deadline and limit, the stored bytes, the queue's claims and leases, and the grade
the student sees being the one in the instructor's gradebook. Grading here is the stand-in
``testing.fake_grade`` (the real sandbox: test_handin_grading.py).

The same tests run on SQLite and on a real PostgreSQL server started for the run (skipped, with
the reason, when the PostgreSQL binaries are absent).
"""
import csv
import hashlib
import io
import threading
from datetime import timedelta

import pytest

from autograde.leaderboard import Leaderboard
from autograde.leaderboard.grader import Grader
from autograde.leaderboard.handin import MAX_ATTEMPTS
from autograde.leaderboard.testing import fake_grade, notebook_bytes, write_labels
# the competition's API tests' harness, clock and database fixtures (SQLite, and PostgreSQL when present)
from test_leaderboard_api import START, Served, db_url  # noqa: F401

pytestmark = pytest.mark.xdist_group("leaderboard_api")

LESSON, OTHER = "01-artificial-neuron", "02-backpropagation"


class Course(Served):
    """A class server with two lessons open for hand-in; helpers speak for one student each."""

    def __init__(self, db, tmp_path):
        write_labels(tmp_path / "labels.csv", n=20)
        self.serve(*Leaderboard.create(db, tmp_path / "labels.csv", now=START), [{"name": "alice"}, {"name": "bob"}])
        self.lb.set_handin_lesson(LESSON, deadline=START + timedelta(days=7), max_handins=2)
        self.lb.set_handin_lesson(OTHER)

    def handin(self, who, raw=None, lesson=LESSON, key=""):
        raw = notebook_bytes(text=who) if raw is None else raw
        return self.client.post("/api/handins", headers=self.auth(who),
                                data={"lesson": lesson, "key": key},
                                files={"file": (f"{lesson}.ipynb", raw, "application/json")})

    def grade_all(self):
        """Grade the queue with the stand-in grader; returns how many were graded."""
        grader, n = Grader(self.lb, grade=fake_grade), 0
        while grader.run_once():
            n += 1
        return n


@pytest.fixture
def course(db_url, tmp_path):
    with Course(db_url, tmp_path) as c:
        yield c


def test_auth_is_required_and_scoped(course):
    c = course.client
    files = {"file": ("n.ipynb", notebook_bytes())}
    assert c.post("/api/handins", data={"lesson": LESSON}, files=files).status_code == 401
    assert c.post("/api/handins", data={"lesson": LESSON}, files=files,
                  headers={"Authorization": "Bearer nope"}).status_code == 401
    assert course.handin("instructor").status_code == 403
    h = course.handin("alice").json()["handin"]
    # bob sees neither alice's hand-in nor its feedback; the instructor sees it
    assert c.get("/api/handins", headers=course.auth("bob")).json()["handins"] == []
    assert c.get(f"/api/handins/{h['id']}", headers=course.auth("bob")).status_code == 404
    assert c.get(f"/api/handins/{h['id']}/feedback", headers=course.auth("bob")).status_code == 404
    assert c.get(f"/api/handins/{h['id']}", headers=course.auth("instructor")).status_code == 200
    for path in ("/api/admin/handins", "/api/admin/handins.csv", f"/api/admin/handins/{h['id']}/file"):
        assert c.get(path).status_code == 401
        assert c.get(path, headers=course.auth("alice")).status_code == 403
        assert c.get(path, headers=course.auth("instructor")).status_code == 200


def test_raw_notebook_and_hash_are_stored_before_the_answer(course):
    raw = notebook_bytes(text="exactly these bytes")
    r = course.handin("alice", raw)
    assert r.status_code == 201
    h = r.json()["handin"]
    assert h["status"] == "queued" and h["sha256"] == hashlib.sha256(raw).hexdigest()
    got = course.client.get(f"/api/admin/handins/{h['id']}/file", headers=course.auth("instructor"))
    assert got.content == raw
    assert any(a.action == "handin" and f"#{h['id']}" in a.detail for a in course.lb.audit_log())


def test_limit_per_student_and_lesson(course):
    assert [course.handin("alice").status_code for _ in range(2)] == [201, 201]
    r = course.handin("alice")
    assert r.status_code == 429 and "2 times, the limit" in r.json()["detail"]
    assert course.handin("bob").status_code == 201                 # another student
    assert course.handin("alice", lesson=OTHER).status_code == 201  # another lesson
    assert len(course.lb.student_handins(course.lb.authenticate(course.tokens["alice"]).student_id,
                                         LESSON)) == 2


def test_deadline_refuses_later_hand_ins(course):
    course.clock.t = START + timedelta(days=7) - timedelta(seconds=1)
    assert course.handin("alice").status_code == 201
    course.clock.t = START + timedelta(days=7)
    r = course.handin("bob")
    assert r.status_code == 403 and "deadline" in r.json()["detail"]
    assert course.handin("bob", lesson=OTHER).status_code == 201    # no deadline there
    assert any(a.action == "handin-refused" for a in course.lb.audit_log())


def test_bad_uploads_are_refused_and_not_counted(course):
    r = course.handin("alice", lesson="99-nope")
    assert r.status_code == 404 and LESSON in r.json()["detail"] and OTHER in r.json()["detail"]
    for raw in (b"not json", b'{"no": "cells"}', b"\xff\xfe"):
        r = course.handin("alice", raw)
        assert r.status_code == 422 and "notebook" in r.json()["detail"]
    course.lb.set_handin_lesson(OTHER, max_bytes=100)
    r = course.handin("alice", notebook_bytes(text="x" * 200), lesson=OTHER)
    assert r.status_code == 413 and "Clear the outputs" in r.json()["detail"]
    assert [course.handin("alice").status_code for _ in range(2)] == [201, 201]   # none counted


def test_a_retry_with_the_same_key_is_recorded_once(course):
    first = course.handin("alice", key="k1")
    again = course.handin("alice", key="k1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["handin"]["id"] == first.json()["handin"]["id"]
    assert course.handin("bob", key="k1").status_code == 201       # keys are per student
    assert len(course.lb.all_handins()) == 2


def test_student_sees_the_grade_the_gradebook_holds(course):
    course.handin("alice", notebook_bytes(score=1, text="first"))
    course.handin("alice", notebook_bytes(score=2, text="second"))
    course.handin("bob", notebook_bytes(score=0.5))
    assert course.grade_all() == 3
    mine = course.client.get("/api/handins", headers=course.auth("alice")).json()["handins"]
    assert [(h["status"], h["score"], h["max_score"]) for h in mine] == [("graded", 2, 2),
                                                                        ("graded", 1, 2)]
    assert mine[1]["cells"][0]["message"] == "AssertionError: expected 2"
    fb = course.client.get(f"/api/handins/{mine[0]['id']}/feedback", headers=course.auth("alice"))
    assert fb.headers["content-security-policy"] == "sandbox" and "alice" in fb.text
    # the gradebook: the last hand-in of each student and lesson, the same numbers
    text = course.client.get("/api/admin/handins.csv", headers=course.auth("instructor")).text
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(text))}
    assert (rows["alice"]["total"], rows["alice"]["max"], rows["alice"]["handin"]) == \
        ("2", "2", str(mine[0]["id"]))
    assert rows["bob"]["total"] == "0.5" and rows["bob"]["ex-tests"] == "0.5"
    # and the student's page shows it
    c = course.client
    c.post("/login", data={"token": course.tokens["alice"]})
    page = c.get("/me").text
    assert "Lessons handed in" in page and "2 / 2" in page and "1 / 2" in page


def test_hand_in_from_the_page(course):
    c = course.client
    c.post("/login", data={"token": course.tokens["bob"]})
    csrf = c.get("/me").text.split('name="csrf" value="')[1].split('"')[0]
    files = {"notebook": ("n.ipynb", notebook_bytes(score=2))}
    assert c.post("/me/handin", files=files, data={"lesson": LESSON, "csrf": "forged"}
                  ).status_code == 403
    r = c.post("/me/handin", files=files, data={"lesson": LESSON, "csrf": csrf})
    assert r.status_code == 200 and "received" in r.text
    course.grade_all()
    assert "2 / 2" in c.get("/me").text


def test_claims_never_overlap_and_each_hand_in_is_graded_once(course):
    course.lb.set_handin_lesson(OTHER, max_handins=100)
    for k in range(12):
        course.handin("alice" if k % 2 else "bob", notebook_bytes(text=str(k)), lesson=OTHER)
    claimed, lock = [], threading.Lock()

    def worker(name):
        while (job := course.lb.claim_handin(name)) is not None:
            with lock:
                claimed.append(job[0])
            assert course.lb.finish_handin(job[0], name, graded=True, score=1, max_score=2)

    threads = [threading.Thread(target=worker, args=(f"w{k}",)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(h["id"] for h in course.lb.all_handins())
    assert all(h["status"] == "graded" for h in course.lb.all_handins())


def test_a_lost_lease_is_taken_again_and_only_the_holder_writes(course):
    hid = course.handin("alice").json()["handin"]["id"]
    t0 = START
    assert course.lb.claim_handin("dead", lease=timedelta(seconds=60), now=t0)[0] == hid
    assert course.lb.claim_handin("other", now=t0 + timedelta(seconds=30)) is None   # still held
    assert course.lb.claim_handin("other", now=t0 + timedelta(seconds=61))[0] == hid
    # the first grader comes back: its result is refused, the holder's is kept
    assert not course.lb.finish_handin(hid, "dead", graded=True, score=0, max_score=2)
    assert not course.lb.renew_lease(hid, "dead")
    assert course.lb.finish_handin(hid, "other", graded=True, score=2, max_score=2)
    (h,) = course.lb.all_handins()
    assert (h["status"], h["score"]) == ("graded", 2)


def test_a_notebook_that_kills_every_grader_ends_failed(course):
    hid = course.handin("alice").json()["handin"]["id"]
    t = START
    for k in range(MAX_ATTEMPTS):
        t += timedelta(hours=1)
        assert course.lb.claim_handin(f"g{k}", now=t)[0] == hid
    assert course.lb.claim_handin("last", now=t + timedelta(hours=1)) is None
    (h,) = course.lb.all_handins()
    assert h["status"] == "failed" and f"stopped {MAX_ATTEMPTS} times" in h["problem"]
