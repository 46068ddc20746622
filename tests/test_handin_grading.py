"""Hand-ins graded for real: the HTTP API, the queue, and the sandboxed grader
(``autograde.sandbox.grade_notebook``) on the fixture lesson xx-demo. A hostile notebook is
graded next to two honest ones and harms neither them, the database, nor the course."""
import hashlib
import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from autograde.leaderboard import Leaderboard
from autograde.leaderboard.app import create_app
from autograde.leaderboard.grader import Grader
from autograde.leaderboard.testing import write_labels

pytestmark = pytest.mark.xdist_group("grading")

FIXTURE = Path(__file__).parent / "fixtures" / "course"
LESSON = "xx-demo"

HOSTILE = '''import os, signal, pathlib
for target in {targets!r}:          # the class database, the course's solutions, a neighbour
    for attack in (lambda p: pathlib.Path(p).write_text("owned"), os.remove):
        try:
            attack(target)
        except Exception:
            pass
try:
    os.kill(os.getppid(), signal.SIGKILL)    # and the process that runs this kernel
except Exception:
    pass

def double(x):
    return 2.0 * np.asarray(x, dtype=float)
'''


def notebook(path, replace=None):
    nb = json.loads(Path(path).read_text())
    if replace:
        for cell in nb["cells"]:
            if cell["metadata"].get("nbgrader", {}).get("grade_id") == "ex-double":
                cell["source"] = replace
    return json.dumps(nb).encode()


def test_honest_and_hostile_notebooks_graded_through_the_queue(tmp_path):
    root = tmp_path / "course"
    shutil.copytree(FIXTURE, root)
    solution = root / "solutions" / LESSON / f"{LESSON}.ipynb"
    before = hashlib.sha256(solution.read_bytes()).hexdigest()
    neighbour = tmp_path / "neighbour.txt"
    neighbour.write_text("mine")
    db = tmp_path / "class.sqlite"
    write_labels(tmp_path / "labels.csv", n=20)
    lb, _ = Leaderboard.create(str(db), tmp_path / "labels.csv")
    tokens = {n: t for n, _, t in lb.add_students([{"name": n} for n in ("mallory", "alice", "bob")])}
    lb.set_handin_lesson(LESSON)
    files = {"mallory": notebook(root / "lessons" / LESSON / f"{LESSON}.ipynb",
                                 HOSTILE.format(targets=[str(db), str(solution), str(neighbour)])),
             "alice": notebook(solution),                       # every exercise right
             "bob": notebook(root / "lessons" / LESSON / f"{LESSON}.ipynb")}   # blank

    with TestClient(create_app(lb)) as c:
        auth = {n: {"Authorization": f"Bearer {t}"} for n, t in tokens.items()}
        for name, raw in files.items():                 # mallory first in the queue
            r = c.post("/api/handins", headers=auth[name], data={"lesson": LESSON},
                       files={"file": (f"{LESSON}.ipynb", raw)})
            assert r.status_code == 201, r.text
        grader = Grader(lb, root)
        assert [grader.run_once() for _ in range(4)] == [True, True, True, False]
        got = {n: c.get("/api/handins", headers=auth[n]).json()["handins"][0] for n in files}

    alice, bob, mallory = got["alice"], got["bob"], got["mallory"]
    assert (alice["status"], alice["score"], alice["max_score"]) == ("graded", 5, 5)
    assert all(cell["passed"] for cell in alice["cells"])
    assert (bob["status"], bob["score"]) == ("graded", 0)
    assert all("NotImplementedError" in cell["message"] for cell in bob["cells"])
    # mallory gets at most her own points; nothing outside her sandbox was touched
    assert mallory["status"] in ("graded", "failed") and (mallory["score"] or 0) <= 2
    assert hashlib.sha256(solution.read_bytes()).hexdigest() == before
    assert neighbour.read_text() == "mine"
    assert hashlib.sha256(files["alice"]).hexdigest() == alice["sha256"]
    # the feedback names the failing tests but never shows a hidden test's code
    bob_id = bob["id"]
    with lb.Session() as s:
        from autograde.leaderboard.models import Handin
        html = s.get(Handin, bob_id).feedback_html
    assert html and "rng.normal(size=7)" not in html and "BEGIN HIDDEN TESTS" not in html
    lb.engine.dispose()
