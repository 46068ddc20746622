"""The course check proves that Run All reaches the end of every blank lesson (autograde/verify.py).

Static checks here (no kernel); ``autograde verify`` applies ``run_all_stops`` to the autograded
blank version of each lesson.
"""
import json
from pathlib import Path

import pytest

from autograde import verify

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted(p.name for p in (ROOT / "solutions").iterdir()
                 if (p / f"{p.name}.ipynb").is_file() and verify.COURSE_LESSON.match(p.name))


def _error_cell(tags=(), gid=None):
    meta = {"tags": list(tags)}
    if gid:
        meta["nbgrader"] = {"grade_id": gid, "grade": True}
    return {"cell_type": "code", "metadata": meta, "source": "x",
            "outputs": [{"output_type": "error", "ename": "ExerciseFailed", "evalue": "no",
                         "traceback": []}]}


def test_an_untagged_error_is_where_run_all_stops():
    ok = {"cell_type": "code", "metadata": {}, "source": "1", "outputs": []}
    nb = {"cells": [ok, _error_cell([verify.RAISES], "ex-a-tests"), _error_cell(gid="ex-b-tests")]}
    (stop,) = verify.run_all_stops(nb)
    assert stop.startswith("cell 3 (ex-b-tests) raises ExerciseFailed")
    # tags are read from the released notebook when the executed one lost them
    released = json.loads(json.dumps(nb))
    released["cells"][2]["metadata"]["tags"] = [verify.RAISES]
    assert verify.run_all_stops(nb, released) == []


def test_conventions_are_named():
    cell = {"cell_type": "code", "metadata": {"nbgrader": {
        "grade": True, "grade_id": "ex-a-tests", "points": 1}},
        "source": "assert f() == 1\n    ### BEGIN HIDDEN TESTS\nassert f(2) == 2\n"}
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# title"}, cell]}
    problems = "\n".join(verify.check_structure(nb, "nb.ipynb", conventions=True))
    assert "cell 2 must be the markdown banner" in problems
    assert "does not wrap its visible tests in `with exercise(N" in problems
    assert "'### BEGIN HIDDEN TESTS' is indented" in problems
    assert f"graded cell 2 (ex-a-tests) lacks the tag '{verify.RAISES}'" in problems


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_lesson_follows_the_conventions(lesson):
    nb = json.loads((ROOT / "solutions" / lesson / f"{lesson}.ipynb").read_text("utf-8"))
    assert verify.check_structure(nb, lesson, conventions=True) == []
