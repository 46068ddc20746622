"""The sandbox's pieces: feedback without hidden code, the fallback isolation, plain nbgrader.

The whole adversarial corpus is in test_grade_corpus.py; here, the parts that can be checked
on their own, and the ``rlimits`` fallback on a small class.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograde import cli, course, sandbox

pytestmark = pytest.mark.xdist_group("grading")  # one class at a time on 2 cores

COURSE = Path(__file__).parent / "fixtures" / "grading" / "course"
LESSON = "yy-grading"
NB = f"{LESSON}.ipynb"
REPO = Path(__file__).resolve().parent.parent


def _graded_cell(src, outputs):
    return {"cell_type": "code", "source": src, "outputs": outputs, "execution_count": 1,
            "metadata": {"nbgrader": {"grade": True, "grade_id": "t", "points": 1}}}


def test_strip_hidden_keeps_the_message_and_drops_the_code():
    src = ("with exercise(1):\n    assert f(1) == 2, 'visible'\n### BEGIN HIDDEN TESTS\n"
           "assert f(37) == 74, 'f is wrong on a large input'\n### END HIDDEN TESTS")
    err = {"output_type": "error", "ename": "AssertionError",
           "evalue": "f is wrong on a large input",
           "traceback": ["----> 4 assert f(37) == 74, 'f is wrong on a large input'"]}
    visible = {"output_type": "error", "ename": "ExerciseFailed", "evalue": "✗ exercise 1: visible",
               "traceback": ["✗ exercise 1: visible", "  failed test, line 2: assert f(1) == 2"]}
    nb = {"cells": [_graded_cell(src, [err]), _graded_cell(src, [visible])]}
    out = sandbox.strip_hidden(nb)
    text = json.dumps(out)
    assert "f(37)" not in text and "74" not in text
    assert "f is wrong on a large input" in text            # the message stays
    assert out["cells"][0]["source"].startswith("with exercise(1):\n    assert f(1) == 2")
    assert sandbox.HIDDEN_NOTE in out["cells"][0]["source"]
    assert out["cells"][1]["outputs"][0]["traceback"] == visible["traceback"]  # visible: as is
    assert "f(37)" in json.dumps(nb)                          # the input is not modified
    # an unterminated hidden block is still hidden to the end of the cell
    cut = sandbox.strip_hidden({"cells": [_graded_cell("x = 1\n### BEGIN HIDDEN TESTS\nsecret()",
                                                       [])]})
    assert "secret" not in json.dumps(cut)


def test_needed_presets_and_limits_round_trip():
    text = json.dumps({"source": 'ds = load_dataset(preset_path("small"))\npreset_path( "tiny")'})
    assert sandbox.needed_presets(text) == ["small", "tiny"]
    assert sandbox.needed_presets("no data here") == []
    lim = sandbox.Limits(memory_mb=100, processes=3)
    assert sandbox.Limits.from_dict(lim.__dict__) == lim
    res = sandbox.GradeResult("l", "s", score=1.0, cells=[{"grade_id": "a"}], problem="p")
    assert sandbox.GradeResult.from_dict(json.loads(json.dumps(res.to_dict()))) == res


def test_grade_notebook_refuses_a_strange_student_id(tmp_path):
    prep = sandbox.PreparedLesson(LESSON, tmp_path, {}, {}, str(tmp_path))
    res = sandbox.grade_notebook(LESSON, tmp_path / "x.ipynb", prepared=prep,
                                 student="../../etc")
    assert not res.graded and "student id" in res.problem


def test_rlimits_fallback_grades_a_small_class(tmp_path, monkeypatch):
    """Without bubblewrap: limits, a scrubbed environment, no process left, others graded."""
    monkeypatch.setenv(sandbox.SANDBOX_ENV, "rlimits")
    monkeypatch.setenv("MIRKIT_TEST_SECRET", "fallback-secret-91")
    shutil.copytree(COURSE, tmp_path / "course")
    sol = json.loads((COURSE / "solutions" / LESSON / NB).read_text("utf-8"))
    marker = "fallback-leftover-3c1"

    def with_code(gid, code):
        nb = json.loads(json.dumps(sol))
        next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id")
             == gid)["source"] = code
        return nb

    solve = "def scale(x, a):\n    return a * np.asarray(x, dtype=float)\n"
    class_ = {
        "alice": sol,
        "exits": with_code("ex-energy", "import os\nos._exit(1)"),
        "spins": with_code("ex-energy", "while True:\n    pass"),
        "hogs": with_code("ex-scale", "big = np.ones(8 * 1024**3 // 8)\n" + solve),
        "leaves": with_code("ex-scale", "import subprocess, sys\nsubprocess.Popen([sys.executable,"
                            f" '-c', 'import time; time.sleep(600)  # {marker}'], "
                            "start_new_session=True)\n" + solve),
        "env": with_code("ex-scale", "import os\nprint('ENV', sorted(os.environ))\n" + solve),
    }
    for who, nb in class_.items():
        dest = tmp_path / "submitted" / who / LESSON / NB
        dest.parent.mkdir(parents=True)
        dest.write_text(json.dumps(nb), "utf-8")
    out = tmp_path / "out"
    assert cli.main(["grade", str(tmp_path / "submitted"), "--root", str(tmp_path / "course"),
                     "--out", str(out), "--jobs", "2", "--memory-mb", "1024",
                     "--cpu-seconds", "10"]) == 1
    with open(out / "grades.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert (out / "grading-report.txt").read_text().startswith("isolation: rlimits")
    assert rows["alice"]["total"] == "5" and rows["alice"]["status"] == "graded"
    assert rows["exits"]["total"] == "2" and "kernel died in cell 8" in rows["exits"]["status"]
    assert rows["spins"]["total"] == "2" and "CPU time limit" in rows["spins"]["status"]
    assert rows["hogs"]["ex-scale-tests"] == "0" and rows["hogs"]["ex-energy-tests"] == "3"
    assert "memory limit (1024 MB) reached in cell 4" in rows["hogs"]["status"]
    assert rows["leaves"]["total"] == "5" and rows["env"]["total"] == "5"
    graded = (out / "autograded" / "env" / LESSON / NB).read_text("utf-8")
    assert "ENV" in graded and "MIRKIT_TEST_SECRET" not in graded
    left = [p for p in Path("/proc").iterdir() if p.name.isdigit()
            and marker.encode() in _cmdline(p)]
    assert left == []


def _cmdline(p: Path) -> bytes:
    try:
        return (p / "cmdline").read_bytes()
    except OSError:
        return b""


def test_plain_nbgrader_with_the_course_config_is_headless(tmp_path):
    """`nbgrader autograde --JupyterApp.config_file=autograde/nbgrader_config.py`, MIRKIT_HEADLESS unset: the
    widget cell runs its function once instead of waiting for a slider."""
    root = tmp_path / "course"
    shutil.copytree(COURSE, root)
    env = {k: v for k, v in os.environ.items() if k != "MIRKIT_HEADLESS"}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    common = [f"--JupyterApp.config_file={course.CONFIG_FILE}", f"--CourseDirectory.root={root}"]
    nbgrader = str(Path(sys.executable).parent / "nbgrader")
    subprocess.run([nbgrader, "generate_assignment", LESSON, "--force", *common], env=env,
                   cwd=root, check=True, capture_output=True, timeout=300)
    dest = root / "submitted" / "alice" / LESSON
    dest.mkdir(parents=True)
    shutil.copy2(root / "solutions" / LESSON / NB, dest / NB)
    done = subprocess.run([nbgrader, "autograde", LESSON, "--force", *common], env=env,
                          cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    nb = json.loads((root / "autograded" / "alice" / LESSON / NB).read_text("utf-8"))
    widget_cell = next(c for c in nb["cells"] if "interact(" in "".join(c["source"]))
    text = json.dumps(widget_cell["outputs"])
    assert "a slider would move a = 1.0" in text, text
    assert "widget-view" not in text
    # and loading the config changes nothing for other kernels (JupyterLab keeps widgets)
    probe = subprocess.run([sys.executable, "-c", (
        "import os; from traitlets.config.loader import PyFileConfigLoader as L; "
        f"L('nbgrader_config.py', {str(course.CONFIG_FILE.parent)!r}).load_config(); "
        "print(os.environ.get('MIRKIT_HEADLESS'))")], env=env, capture_output=True, text=True)
    assert probe.stdout.strip() == "None", probe.stdout + probe.stderr
