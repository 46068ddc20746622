"""The instructor pipeline (autograde/): release, the course check, grading a class.

Runs on a tiny fixture course, tests/fixtures/course/ (lesson xx-demo: two exercises,
5 points), copied to a temporary folder so nothing here writes into the repository.
"""
from __future__ import annotations

import copy
import csv
import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from autograde import cli, course, grade, verify

pytestmark = pytest.mark.xdist_group("grading")  # kernels and classes: one at a time

FIXTURE = Path(__file__).parent / "fixtures" / "course"
LESSON = "xx-demo"
NB = f"{LESSON}.ipynb"


def _copy_course(dest: Path) -> Path:
    shutil.copytree(FIXTURE, dest)
    return dest


def _load(path: Path) -> dict:
    return json.loads(path.read_text("utf-8"))


def _save(nb: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1), "utf-8")


def _gid(cell) -> str | None:
    return (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")


def _with_code(nb: dict, grade_id: str, source: str) -> dict:
    nb = copy.deepcopy(nb)
    cell = next(c for c in nb["cells"] if _gid(c) == grade_id)
    cell["source"] = source
    return nb


# ---------------------------------------------------------------- static checks (no kernel)

def _cell(kind, gid, src="x = 1", points=None, cell_type="code"):
    meta = {"grade": kind == "tests", "solution": kind == "solution",
            "locked": kind != "solution", "task": False, "grade_id": gid, "schema_version": 3}
    if points is not None:
        meta["points"] = points
    cell = {"cell_type": cell_type, "metadata": {"nbgrader": meta}, "source": src}
    if cell_type == "code":
        cell.update(outputs=[], execution_count=None)
    return cell


def test_structure_of_the_fixture_is_clean():
    nb = _load(FIXTURE / "solutions" / LESSON / NB)
    assert verify.check_structure(nb, NB) == []
    assert verify.check_committed(nb, NB) == []


def test_structure_problems_are_named():
    nb = {"cells": [
        _cell("solution", "ex-a", "def f():\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION"),
        _cell("tests", "ex-a-tests", "### BEGIN HIDDEN TESTS\nassert f() is None\n"
                                      "### END HIDDEN TESTS", points=1),
        _cell("solution", "ex-b"),
        _cell("setup", "plot"),
        _cell("tests", "ex-a-tests", "assert True", points=0),
    ]}
    problems = "\n".join(verify.check_structure(nb, "demo.ipynb"))
    assert "cell 2 (ex-a-tests) has no visible test" in problems
    assert "exercise cell 3 (ex-b) is not followed by a graded test cell" in problems
    assert "grade_id 'ex-a-tests' is used by cells 2 and 5" in problems
    assert "points=0" in problems


def test_outputs_and_execution_counts_are_reported():
    nb = _load(FIXTURE / "solutions" / LESSON / NB)
    nb["cells"][1]["execution_count"] = 3
    nb["cells"][3]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hi"}]
    (problem,) = verify.check_committed(nb, "demo.ipynb")
    assert "cells 2, 4 have outputs or execution counts" in problem


def test_lesson_selection(tmp_path):
    root = _copy_course(tmp_path / "course")
    assert course.select_lessons(root, None) == [LESSON]
    assert course.select_lessons(root, ["xx"]) == [LESSON]
    assert course.select_lessons(root, [f"solutions/{LESSON}/"]) == [LESSON]
    with pytest.raises(course.CourseError, match="'zz-nope' does not exist"):
        course.select_lessons(root, ["zz-nope"])


def test_cli_without_lessons_is_a_clear_no_op(tmp_path, capsys):
    (tmp_path / "solutions").mkdir()
    assert cli.main(["verify", "--root", str(tmp_path)]) == 0
    assert "no lessons" in capsys.readouterr().out
    assert cli.main(["verify", "--root", str(tmp_path), "--lesson", "00"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_verify_flags_a_release_without_source(tmp_path, capsys):
    root = _copy_course(tmp_path / "course")
    shutil.rmtree(root / "solutions" / LESSON)
    assert cli.main(["verify", "--root", str(root)]) == 1
    assert f"lessons/{LESSON}/ has no source" in capsys.readouterr().out


def test_parser_has_the_instructor_commands():
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command")
    assert {"release", "verify", "grade", "export"} <= set(sub.choices)


def test_grade_checks_submissions_before_grading(tmp_path):
    sol = _load(FIXTURE / "solutions" / LESSON / NB)
    cells = {"graded": {"ex-double-tests", "ex-energy-tests"},
             "known": {_gid(c) for c in sol["cells"] if _gid(c)}}

    def check(nb=None, name=NB, raw=None):
        folder = tmp_path / f"s{len(list(tmp_path.iterdir()))}" / LESSON
        folder.mkdir(parents=True)
        (folder / name).write_text(raw if raw is not None else json.dumps(nb), "utf-8")
        sub = grade.Submission("s", LESSON, folder)
        grade.check_submission(sub, cells)
        return " ".join(sub.problems)

    assert check(sol) == ""
    assert "not valid JSON" in check(raw="{oops")
    assert "not a valid notebook" in check(raw='{"cells": 3}')
    assert "renamed" in check(sol, name="mine.ipynb")
    broken = copy.deepcopy(sol)
    broken["cells"] = [c for c in broken["cells"] if _gid(c) != "ex-double-tests"]
    assert "['ex-double-tests'] missing" in check(broken)


# ---------------------------------------------------------------- nbgrader + kernels

def _expected_student_cell(src: str) -> str:
    """What nbgrader's generate_assignment must make of a source cell, derived independently."""
    src = re.sub(r"( *)### BEGIN SOLUTION\n.*?### END SOLUTION",
                 lambda m: m.group(1) + "# YOUR CODE HERE\n" + m.group(1)
                 + "raise NotImplementedError()", src, flags=re.S)
    src = re.sub(r"\n?### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS", "", src, flags=re.S)
    return src


def test_release_is_deterministic_and_hides_answers(tmp_path):
    root = _copy_course(tmp_path / "course")
    shutil.rmtree(root / "lessons")
    assert cli.main(["release", "--root", str(root), "--lesson", LESSON]) == 0
    released = root / "lessons" / LESSON / NB
    first = released.read_bytes()
    assert cli.main(["release", "--root", str(root), "--lesson", LESSON]) == 0
    assert released.read_bytes() == first  # deterministic: same source, same bytes
    # cell by cell, the student version is the source with answers and hidden tests removed
    src = _load(root / "solutions" / LESSON / NB)["cells"]
    out = _load(released)["cells"]
    assert [c["cell_type"] for c in out] == [c["cell_type"] for c in src]
    for s_cell, o_cell in zip(src, out):
        text = lambda c: "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        assert text(o_cell) == _expected_student_cell(text(s_cell)), _gid(s_cell)
    text = released.read_text("utf-8")
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    assert "2.0 * np.asarray" not in text and "rng.normal(size=7)" not in text
    assert not (root / "gradebook.db").exists()
    assert sorted(p.name for p in root.iterdir()) == ["lessons", "solutions"]


def test_verify_passes_on_the_fixture(tmp_path, capsys):
    # through the CLI and its process pool, as `make verify` runs it
    root = _copy_course(tmp_path / "course")
    assert cli.main(["verify", "--root", str(root), "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    row = next(ln for ln in out.splitlines() if ln.startswith(LESSON))
    lesson, solution, blank, t_sol, _, t_blank, _, status = row.split()
    assert (solution, blank, status) == ("5/5", "0/5", "ok")
    # a real run: a kernel starts and runs the notebook (never instant), within the budget
    for t in (float(t_sol), float(t_blank)):
        assert 0.3 < t < cli.SLOW_SECONDS, t
    assert "warning" not in out and "course check passed" in out
    assert sorted(p.name for p in root.iterdir()) == ["lessons", "solutions"]  # no state left


def test_verify_catches_a_broken_course(tmp_path):
    root = _copy_course(tmp_path / "course")
    src = root / "solutions" / LESSON / NB
    nb = _load(src)
    # a wrong solution (no full marks), a test that passes without the student's code
    # (free points), and an output left in the committed notebook
    nb = _with_code(nb, "ex-energy", "def energy(x):\n    ### BEGIN SOLUTION\n"
                                     "    return 0.5\n    ### END SOLUTION")
    nb = _with_code(nb, "ex-double-tests", "assert 1 + 1 == 2, 'visible'")
    nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hi"}]
    # a demo that needs the student's function breaks the blank notebook: a warning
    nb["cells"].append({"cell_type": "code", "id": "demo", "metadata": {}, "outputs": [],
                        "execution_count": None, "source": "print(double(np.ones(2)))"})
    _save(nb, src)
    lessons_nb = root / "lessons" / LESSON / NB
    hand_edit = _load(lessons_nb)
    hand_edit["cells"][0]["source"] = "edited by hand"
    _save(hand_edit, lessons_nb)

    rep = verify.verify_lesson(root, LESSON)
    problems = "\n".join(rep.problems)
    assert not rep.ok
    assert "cells 2 have outputs" in problems
    assert f"lessons/{LESSON}/{NB} differs" in problems
    assert "solution: cell ex-energy-tests scores 0/3, expected full marks" in problems
    assert "solution: cell 8 (ex-energy-tests): AssertionError" in problems
    assert "blank student version: cell ex-double-tests scores 2/2, expected 0" in problems
    assert len(rep.warnings) == 1 and "cell 10: NotImplementedError" in rep.warnings[0]


def _make_class(root: Path, subm: Path) -> None:
    sol = _load(root / "solutions" / LESSON / NB)
    blank = _load(root / "lessons" / LESSON / NB)
    put = lambda who, nb, name=NB: _save(nb, subm / who / LESSON / name)
    put("alice", sol)                                        # full marks
    put("bob", blank)                                        # untouched: zero
    cheat = _with_code(blank, "ex-double",                   # nbgrader #1379
                       "class Always:\n    def __eq__(self, other):\n        return True\n"
                       "def double(x):\n    return Always()")
    put("carol", _with_code(cheat, "ex-energy",
                            "def energy(x):\n    return float(sum(v * v for v in x) / len(x))"))
    put("dave", _with_code(sol, "ex-double", "import sys\nsys.exit(0)"))
    put("erin", _with_code(sol, "ex-energy", "import os\nos._exit(1)"))
    (subm / "frank" / LESSON).mkdir(parents=True)
    (subm / "frank" / LESSON / NB).write_text('{"cells": [ truncated', "utf-8")
    put("grace", sol, name="xx-demo (1).ipynb")
    heidi = copy.deepcopy(sol)
    heidi["cells"] = [c for c in heidi["cells"] if _gid(c) != "ex-energy-tests"]
    put("heidi", heidi)
    ivan = copy.deepcopy(sol)
    i = [_gid(c) for c in ivan["cells"]].index("ex-double-tests")
    ivan["cells"].insert(i, copy.deepcopy(ivan["cells"][i]))
    put("ivan", ivan)
    judy = copy.deepcopy(sol)
    judy["cells"][3]["metadata"]["nbgrader"]["grade_id"] = "ex-mystery"
    put("judy", judy)


def _db_rows(db: Path) -> list[tuple]:
    """(student, cell, auto_score) of every grade in a gradebook, after an integrity check."""
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return con.execute(
            "SELECT student.id, base_cell.name, grade.auto_score FROM grade "
            "JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
            "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
            "JOIN student ON submitted_assignment.student_id = student.id "
            "JOIN base_cell ON grade.cell_id = base_cell.id ORDER BY 1, 2").fetchall()


def test_grade_a_class_with_bad_submissions(tmp_path):
    # One class, graded once (each submission starts a kernel): good, blank, cheating and
    # exiting notebooks are graded; broken ones are reported and the rest still graded.
    root = _copy_course(tmp_path / "course")
    _make_class(root, tmp_path / "submitted")
    out = tmp_path / "out"
    assert cli.main(["grade", str(tmp_path), "--root", str(root), "--out", str(out),
                     "--jobs", "2"]) == 1
    with open(out / "grades.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}

    score = lambda who: (rows[who]["ex-double-tests"], rows[who]["ex-energy-tests"],
                         rows[who]["total"], rows[who]["max"])
    assert score("alice") == ("2", "3", "5", "5")
    assert score("bob") == ("0", "0", "0", "5")
    assert score("carol") == ("0", "3", "3", "5")   # the always-equal object earns nothing
    assert score("dave") == ("0", "3", "3", "5")    # sys.exit only fails its own cell
    # os._exit in exercise 2 kills the kernel: exercise 1, graded before, keeps its points
    assert score("erin") == ("2", "0", "2", "5")
    assert rows["erin"]["status"].startswith("graded with a problem: ")
    assert "the kernel died in cell 7" in rows["erin"]["status"]
    for who in ("alice", "bob", "carol", "dave"):
        assert rows[who]["status"] == "graded"
    for who in ("alice", "bob", "carol", "dave", "erin"):
        html = (out / "feedback" / who / LESSON / f"{LESSON}.html").read_text("utf-8")
        assert "ex-double-tests" in html and "double must return an np.ndarray" in html
        # hidden tests are run but never shown (nbgrader #917)
        assert "rng.normal(size=7)" not in html and "hidden tests: run when graded" in html
        graded_nb = (out / "autograded" / who / LESSON / NB).read_text("utf-8")
        assert "rng.normal(size=7)" in graded_nb

    report = (out / "grading-report.txt").read_text()
    assert report.startswith("isolation: ")
    assert f"erin/{LESSON}: graded, with a problem 2/5" in report
    expect = {"frank": "not valid JSON",
              "grace": "notebook renamed: found ['xx-demo (1).ipynb']",
              "heidi": "graded cell(s) ['ex-energy-tests'] missing",
              "ivan": "grade_id 'ex-double-tests' appears 2 times",
              "judy": "grade_id 'ex-mystery', unknown to the gradebook"}
    for who, what in expect.items():
        assert rows[who]["status"].startswith("error: "), who
        assert what in rows[who]["status"], (who, rows[who]["status"])
        assert f"{who}/{LESSON}" in rows[who]["status"]  # names the file
        assert rows[who]["total"] == ""
        assert f"{who}/{LESSON}: NOT GRADED" in report

    # The gradebook holds exactly the graded students ...
    db = out / "gradebook.db"
    before = _db_rows(db)
    assert {r[0] for r in before} == {"alice", "bob", "carol", "dave", "erin"}
    assert ("erin", "ex-double-tests", 2.0) in before and ("erin", "ex-energy-tests", 0.0) in before
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    # ... a second run with only broken submissions leaves it exactly as it was ...
    bad = tmp_path / "bad"
    shutil.copytree(tmp_path / "submitted" / "frank", bad / "frank")
    shutil.copytree(tmp_path / "submitted" / "judy", bad / "judy")
    assert cli.main(["grade", str(bad), "--root", str(root), "--out", str(out)]) == 1
    assert _db_rows(db) == before
    assert cli.main(["export", "--out", str(out), "--csv", str(tmp_path / "export.csv")]) == 0
    with open(tmp_path / "export.csv", newline="") as f:
        exported = {r["student"]: r["total"] for r in csv.DictReader(f)}
    assert exported == {"alice": "5", "bob": "0", "carol": "3", "dave": "3", "erin": "2"}

    # ... and --resume regrades only what changed: alice's stored result is reused, bob's
    # new notebook (now correct) is graded again
    alice_result = out / "results" / "alice" / f"{LESSON}.json"
    stamp = alice_result.stat().st_mtime_ns
    shutil.copy2(root / "solutions" / LESSON / NB, tmp_path / "submitted" / "bob" / LESSON / NB)
    assert cli.main(["grade", str(tmp_path), "--root", str(root), "--out", str(out),
                     "--resume"]) == 1
    assert alice_result.stat().st_mtime_ns == stamp
    with open(out / "grades.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert (rows["alice"]["total"], rows["bob"]["total"]) == ("5", "5")
