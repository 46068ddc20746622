"""Every rule of the class leaderboard, through its HTTP API (FastAPI TestClient, injected clock).

The same tests run on SQLite and on a real PostgreSQL server started for the run (skipped, with
the reason, when the PostgreSQL binaries are absent).
"""
import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sklearn.metrics import accuracy_score

from autograde.leaderboard import Leaderboard
from autograde.leaderboard.app import create_app
from autograde.leaderboard.models import Competition, Submission
from autograde.leaderboard.testing import submission_bytes, write_labels

pytestmark = pytest.mark.xdist_group("leaderboard_api")

START = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
DEADLINE = datetime(2026, 3, 9, 12, 0, tzinfo=timezone.utc)
N, LABELS = 40, ("0", "1", "2", "3")


class Clock:
    def __init__(self, t):
        self.t = t

    def __call__(self):
        return self.t

    def advance(self, **kw):
        self.t += timedelta(**kw)




@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "comp.sqlite")
    return request.getfixturevalue("pg_server").new_database()


class Served:
    """A class server for tests: ``lb`` behind a started TestClient on a fake clock (from START);
    ``auth(name)`` speaks for one student, or for "instructor". A context manager: leaving it
    stops the client and the database engine."""

    def serve(self, lb, instructor, students):
        self.lb, self.instructor = lb, instructor
        self.tokens = {name: tok for name, _, tok in lb.add_students(students)}
        self.clock = Clock(START)
        self.client = TestClient(create_app(self.lb, clock=self.clock))
        self.client.__enter__()

    def auth(self, who):
        token = self.instructor if who == "instructor" else self.tokens[who]
        return {"Authorization": f"Bearer {token}"}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.client.__exit__(None, None, None)
        self.lb.engine.dispose()


class Comp(Served):
    """A competition, its tokens, and a TestClient; helpers speak for one student each."""

    def __init__(self, db, tmp_path, metric="accuracy", **options):
        self.ids, self.truth = write_labels(tmp_path / "labels.csv", n=N, labels=LABELS, seed=1)
        opts = dict(metric=metric, daily_limit=3, selections=2, deadline=DEADLINE,
                    public_fraction=0.5, seed=7, now=START)
        opts.update(options)
        self.serve(*Leaderboard.create(db, tmp_path / "labels.csv", **opts),
                   [{"name": "alice", "team": "red"}, {"name": "bob", "team": "red"}, {"name": "carol"}])

    def submit(self, who, preds=None, raw=None, name="preds.csv"):
        raw = raw if raw is not None else submission_bytes(self.ids, preds if preds is not None
                                                           else self.truth)
        return self.client.post("/api/submissions", headers=self.auth(who),
                                files={"file": (name, raw, "text/csv")})

    def noisy(self, n_wrong, seed=0):
        """The truth with n_wrong predictions changed."""
        preds = list(self.truth)
        for i in np.random.default_rng(seed).choice(N, n_wrong, replace=False):
            preds[i] = LABELS[(LABELS.index(preds[i]) + 1) % len(LABELS)]
        return preds

    @property
    def public(self):
        return np.array(json.loads(self.lb.comp.public_json), dtype=bool)


@pytest.fixture
def comp(db_url, tmp_path):
    with Comp(db_url, tmp_path) as c:
        yield c


def test_public_score_is_sklearn_accuracy_on_the_public_ids(comp):
    preds = comp.noisy(13)
    r = comp.submit("alice", preds)
    assert r.status_code == 201, r.text
    sub = r.json()["submission"]
    pub = comp.public
    y, p = np.array(comp.truth), np.array(preds)
    assert sub["public_score"] == pytest.approx(accuracy_score(y[pub], p[pub]))
    assert sub["status"] == "scored" and "private_score" not in sub
    assert pub.sum() == N // 2     # public fraction 0.5


def test_daily_limit_is_per_team_and_resets_at_utc_midnight(comp):
    assert comp.submit("alice").status_code == 201
    assert comp.submit("bob").status_code == 201            # same team "red"
    assert comp.submit("alice").status_code == 201
    r = comp.submit("bob")
    assert r.status_code == 429 and "midnight UTC" in r.json()["detail"]
    assert comp.submit("carol").status_code == 201          # another team is not affected
    comp.clock.t = START.replace(hour=23, minute=59, second=59)
    assert comp.submit("alice").status_code == 429
    comp.clock.advance(seconds=2)                            # 00:00:01 UTC the next day
    assert comp.submit("alice").status_code == 201
    me = comp.client.get("/api/me", headers=comp.auth("bob")).json()
    assert me["used_today"] == 1 and me["daily_limit"] == 3


def test_invalid_file_does_not_count_against_the_limit(comp):
    for _ in range(5):
        r = comp.submit("alice", raw=b"track;genre_id\n")
        assert r.status_code == 422
    for _ in range(3):
        assert comp.submit("alice").status_code == 201
    subs = comp.client.get("/api/submissions", headers=comp.auth("alice")).json()["submissions"]
    assert [s["status"] for s in subs].count("invalid") == 5      # kept, with their errors
    assert all(s["errors"] for s in subs if s["status"] == "invalid")


def test_invalid_file_lists_every_problem_with_line_numbers(comp):
    raw = submission_bytes(comp.ids[:-2] + ["nope"], ["9"] + list(comp.truth[1:-2]) + ["1"])
    body = comp.submit("alice", raw=raw).json()
    assert body["errors"] == [
        "line 2: genre_id '9' is not a known label. Use one of: '0', '1', '2', '3'.",
        "line 40: track 'nope' is not in the test set. Write only ids from the test set's id list.",
        "The file has 39 data lines but must have exactly 40, one per test id.",
        "2 test ids are missing ('t0038', 't0039'). Write one line for every id of the test set."]


def test_messages_do_not_depend_on_hidden_labels_or_split(tmp_path):
    """Two competitions with the same ids but other hidden labels and another public/private
    split answer an invalid file with exactly the same words."""
    raw = submission_bytes([f"t{i:04d}" for i in range(30)] + ["zzz"], ["5"] * 31)
    answers = []
    for seed in (1, 2):
        (tmp_path / str(seed)).mkdir()
        write_labels(tmp_path / str(seed) / "labels.csv", n=N, labels=LABELS, seed=seed)
        lb, _ = Leaderboard.create(str(tmp_path / f"{seed}.sqlite"),
                                   tmp_path / str(seed) / "labels.csv", seed=seed)
        (_, _, tok), = lb.add_students([{"name": "alice"}])
        with TestClient(create_app(lb)) as c:
            answers.append(c.post("/api/submissions", headers={"Authorization": f"Bearer {tok}"},
                                  files={"file": ("p.csv", raw)}).json())
        lb.engine.dispose()
    assert answers[0]["errors"] == answers[1]["errors"] and len(answers[0]["errors"]) == 21   # 20 listed + "... and N more"
    text = " ".join(answers[0]["errors"]).lower()
    assert not any(w in text for w in ("public", "private", "hidden"))


def test_deadline_refuses_later_submissions(comp):
    comp.clock.t = DEADLINE - timedelta(seconds=1)
    assert comp.submit("alice").status_code == 201
    comp.clock.t = DEADLINE
    r = comp.submit("alice")
    assert r.status_code == 403 and "deadline" in r.json()["detail"]


def test_final_selection_up_to_k(comp):
    ids = [comp.submit("alice", comp.noisy(k, seed=k)).json()["submission"]["id"] for k in (1, 2, 3)]
    h = comp.auth("bob")
    assert comp.client.post(f"/api/submissions/{ids[0]}/select", headers=h).status_code == 200
    assert comp.client.post(f"/api/submissions/{ids[1]}/select", headers=h).status_code == 200
    r = comp.client.post(f"/api/submissions/{ids[2]}/select", headers=h)
    assert r.status_code == 409 and "unselect one first" in r.json()["detail"]
    assert comp.client.post(f"/api/submissions/{ids[0]}/unselect", headers=h).status_code == 200
    assert comp.client.post(f"/api/submissions/{ids[2]}/select", headers=h).status_code == 200
    # another team cannot touch red's submissions, nor select an invalid one
    assert comp.client.post(f"/api/submissions/{ids[0]}/select",
                            headers=comp.auth("carol")).status_code == 404
    bad = comp.submit("alice", raw=b"x").json()["submission"]
    assert comp.client.post(f"/api/submissions/{bad}/unselect", headers=h).status_code == 409


def _private_of(comp, sub_id):
    with comp.lb.Session() as s:
        return s.get(Submission, sub_id).private_score


def test_private_leaderboard_uses_selection_or_best_public(comp):
    pub = comp.public
    # red: three entries; selects the one with the worst public score
    red = {k: comp.submit("alice", comp.noisy(k, seed=k)).json()["submission"] for k in (2, 10, 20)}
    comp.client.post(f"/api/submissions/{red[20]['id']}/select", headers=comp.auth("alice"))
    # carol selects nothing: her 2 best public entries count
    carol = {k: comp.submit("carol", comp.noisy(k, seed=50 + k)).json()["submission"]
             for k in (0, 5, 30)}
    r = comp.client.post("/api/admin/close", headers=comp.auth("instructor"))
    assert r.status_code == 200
    board = {row["team"]: row for row in comp.client.get("/api/leaderboard").json()["private"]}
    assert board["red"]["score"] == pytest.approx(_private_of(comp, red[20]["id"]))
    best_two = sorted(carol.values(), key=lambda s: -s["public_score"])[:2]
    assert board["carol"]["score"] == pytest.approx(max(_private_of(comp, s["id"]) for s in best_two))
    assert pub.any()


def test_ties_go_to_the_earlier_submission(comp):
    comp.submit("carol", comp.truth)
    comp.clock.advance(minutes=5)
    comp.submit("alice", comp.truth)
    rows = comp.client.get("/api/leaderboard").json()["public"]
    assert [(r["rank"], r["team"]) for r in rows] == [(1, "carol"), (2, "red")]
    assert rows[0]["score"] == rows[1]["score"] == 1.0
    comp.client.post("/api/admin/close", headers=comp.auth("instructor"))
    rows = comp.client.get("/api/leaderboard").json()["private"]
    assert [r["team"] for r in rows] == ["carol", "red"]


def test_closed_competition_refuses_submissions_and_reveals_private(comp):
    sub = comp.submit("alice", comp.noisy(7)).json()["submission"]
    assert "private" not in comp.client.get("/api/leaderboard").json()
    comp.client.post("/api/admin/close", headers=comp.auth("instructor"))
    r = comp.submit("alice")
    assert r.status_code == 403 and "closed" in r.json()["detail"]
    mine = comp.client.get("/api/submissions", headers=comp.auth("alice")).json()["submissions"]
    assert mine[0]["private_score"] == pytest.approx(_private_of(comp, sub["id"]))
    assert comp.client.post(f"/api/submissions/{sub['id']}/unselect",
                            headers=comp.auth("alice")).status_code == 403


def test_private_scores_absent_from_student_views_before_close(comp):
    preds = comp.noisy(11, seed=4)
    sub = comp.submit("alice", preds).json()["submission"]
    private = _private_of(comp, sub["id"])
    assert f"{private:.5f}" != f"{sub['public_score']:.5f}"
    c = comp.client
    c.post("/login", data={"token": comp.tokens["alice"]})
    texts = [c.get(p).text for p in ("/", "/me")]
    texts += [c.get(p, headers=comp.auth("alice")).text for p in
              ("/api/submissions", "/api/leaderboard", "/api/me", "/api/competition", "/api/ids")]
    for text in texts:
        assert "private_score" not in text
        assert f"{private:.5f}" not in text and repr(private) not in text
    # the instructor sees it
    admin = c.get("/api/admin/submissions", headers=comp.auth("instructor")).json()
    assert admin["submissions"][0]["private_score"] == pytest.approx(private)


def test_auth_is_required_and_scoped(comp):
    c = comp.client
    files = {"file": ("p.csv", submission_bytes(comp.ids, comp.truth))}
    assert c.post("/api/submissions", files=files).status_code == 401
    assert c.post("/api/submissions", files=files,
                  headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    assert c.get("/api/submissions").status_code == 401
    assert c.post("/api/submissions", files=files, headers=comp.auth("instructor")).status_code == 403
    for path in ("/api/admin/submissions", "/api/admin/export.csv"):
        assert c.get(path).status_code == 401
        assert c.get(path, headers=comp.auth("alice")).status_code == 403
    assert c.post("/api/admin/close", headers=comp.auth("carol")).status_code == 403
    assert c.post("/api/admin/rescore", headers=comp.auth("carol")).status_code == 403
    # a team sees only its own submissions
    comp.submit("alice")
    assert c.get("/api/submissions", headers=comp.auth("carol")).json()["submissions"] == []
    assert len(c.get("/api/submissions", headers=comp.auth("bob")).json()["submissions"]) == 1
    assert not comp.lb.closed


def test_pages_need_a_session_and_a_csrf_token(comp):
    c = comp.client
    assert c.get("/me", follow_redirects=False).status_code == 303
    assert c.get("/admin", follow_redirects=False).status_code == 303
    assert c.post("/login", data={"token": "wrong"}).status_code == 401
    r = c.post("/login", data={"token": comp.tokens["carol"]}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/me"
    assert "httponly" in r.headers["set-cookie"].lower()
    assert comp.tokens["carol"] not in r.headers["set-cookie"]
    assert c.get("/admin").status_code == 403                    # a student on the admin page
    files = {"file": ("p.csv", submission_bytes(comp.ids, comp.truth))}
    assert c.post("/me/submit", files=files, data={"csrf": "forged"}).status_code == 403
    page = c.get("/me").text
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    r = c.post("/me/submit", files=files, data={"csrf": csrf})
    assert r.status_code == 200 and "scored 1.00000" in r.text
    c.post("/logout", data={"csrf": csrf})
    assert c.get("/me", follow_redirects=False).status_code == 303
    c.post("/login", data={"token": comp.instructor})
    assert "All submissions" in c.get("/admin").text


def test_raw_file_and_hash_are_stored_and_downloadable(comp):
    import hashlib
    raw = b"\xef\xbb\xbf" + submission_bytes(comp.ids, comp.truth).replace(b"\n", b"\r\n")
    sub = comp.submit("alice", raw=raw, name="my preds.csv").json()["submission"]   # BOM + CRLF
    assert sub["status"] == "scored" and sub["sha256"] == hashlib.sha256(raw).hexdigest()
    r = comp.client.get(f"/api/admin/submissions/{sub['id']}/file", headers=comp.auth("instructor"))
    assert r.content == raw
    export = comp.client.get("/api/admin/export.csv", headers=comp.auth("instructor")).text
    assert export.splitlines()[0].startswith("submission,team,student")
    assert sub["sha256"] in export


def test_audit_log_records_who_did_what(comp):
    comp.submit("alice")
    comp.submit("carol", raw=b"")
    comp.client.post("/api/admin/close", headers=comp.auth("instructor"))
    comp.submit("alice")
    log = [(a.actor, a.action) for a in comp.lb.audit_log()][::-1]
    assert log == [("instructor", "create"), ("instructor", "add-students"),
                   ("student:alice", "submit"), ("student:carol", "invalid"),
                   ("instructor", "close"), ("student:alice", "refused")]


def test_pending_submissions_are_scored_at_startup(comp):
    """What a crash between 'recorded' and 'scored' leaves behind is finished at restart."""
    import hashlib
    raw = submission_bytes(comp.ids, comp.truth)
    user = comp.lb.authenticate(comp.tokens["alice"])
    with comp.lb.Session.begin() as s:
        s.add(Submission(team_id=user.team_id, student_id=user.student_id,
                         created_at=START.replace(tzinfo=None), filename="p.csv", size=len(raw),
                         sha256=hashlib.sha256(raw).hexdigest(), raw=raw, status="pending"))
    with TestClient(create_app(comp.lb.engine.url.render_as_string(hide_password=False))):
        pass
    subs = comp.lb.all_submissions()
    assert [s["status"] for s in subs] == ["scored"] and subs[0]["public_score"] == 1.0


def test_rescore_after_corrected_labels_matches_sklearn(comp):
    """The instructor corrects some hidden labels; rescoring gives scikit-learn's accuracy on
    the corrected labels (computed here from the labels, not from earlier scores)."""
    preds = {k: comp.noisy(k, seed=k) for k in (3, 9)}
    for k in preds:
        comp.submit("alice", preds[k])
    corrected = list(comp.truth)
    for i in range(0, N, 4):                     # every fourth label was wrong
        corrected[i] = LABELS[(LABELS.index(corrected[i]) + 1) % len(LABELS)]
    with comp.lb.Session.begin() as s:
        c = s.get(Competition, 1)
        c.truth_json = json.dumps([LABELS.index(t) for t in corrected])
    comp.lb.refresh()
    r = comp.client.post("/api/admin/rescore", headers=comp.auth("instructor"))
    assert r.json() == {"rescored": 2}
    pub, y = comp.public, np.array(corrected)
    for sub, k in zip(comp.lb.all_submissions(), preds):
        p = np.array(preds[k])
        assert sub["public_score"] == pytest.approx(accuracy_score(y[pub], p[pub]))
        assert sub["private_score"] == pytest.approx(accuracy_score(y[~pub], p[~pub]))
        assert sub["public_score"] < 1 - k / N   # the correction changed the scores


def test_log_loss_competition_takes_probabilities(db_url, tmp_path):
    with Comp(db_url, tmp_path, metric="log_loss") as c:
        header = "track," + ",".join(LABELS)
        raw = (header + "\n" + "".join(
            f"{i}," + ",".join("1" if lab == t else "0" for lab in LABELS) + "\n"
            for i, t in zip(c.ids, c.truth))).encode()
        sub = c.submit("alice", raw=raw).json()["submission"]
        assert sub["public_score"] == pytest.approx(0, abs=1e-12)      # clipped: not exactly 0
        assert c.client.get("/api/competition").json()["columns"] == ["track", *LABELS]


def test_oversized_file_is_refused_without_keeping_its_bytes(db_url, tmp_path):
    with Comp(db_url, tmp_path, max_bytes=2_000) as c:
        raw = submission_bytes(c.ids, c.truth) + b"#" * 2_000
        r = c.submit("alice", raw=raw)
        assert r.status_code == 422
        assert r.json()["errors"] == ["The file is 2.3 kB; the limit is 2.0 kB. Send only the "
                                      "columns track,genre_id, one line per test id."]
        (sub,) = c.lb.all_submissions()
        assert sub["size"] == len(raw) and sub["status"] == "invalid"
        assert c.lb.raw_file(sub["id"])[1] == b""
