"""Class scale: two graders (as on two machines) share one class through one PostgreSQL gradebook.

Both are started at once on the same submissions with ``--db postgresql://... --share NAME``;
each claims students from the shared list, so every student is graded exactly once, and the
gradebook (read back with ``autograde export --db``) holds every grade. Skipped, with the
reason, when the PostgreSQL binaries are absent (``.ci/system-deps`` installs them).
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

pytestmark = pytest.mark.xdist_group("grading")  # one class at a time on 2 cores

COURSE = Path(__file__).parent / "fixtures" / "grading" / "course"
LESSON = "yy-grading"
NB = f"{LESSON}.ipynb"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pg_url(pg_server):
    return pg_server.new_database()


def test_two_graders_share_one_class(tmp_path, pg_url):
    shutil.copytree(COURSE, tmp_path / "course")
    sol = json.loads((COURSE / "solutions" / LESSON / NB).read_text("utf-8"))
    blank = json.loads((COURSE / "lessons" / LESSON / NB).read_text("utf-8"))
    students = {f"s{i:02d}": (sol if i % 2 == 0 else blank) for i in range(6)}
    for who, nb in students.items():
        dest = tmp_path / "submitted" / who / LESSON / NB
        dest.parent.mkdir(parents=True)
        dest.write_text(json.dumps(nb), "utf-8")

    def grader(name: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "autograde", "grade", str(tmp_path / "submitted"),
             "--root", str(tmp_path / "course"), "--out", str(tmp_path / name),
             "--db", pg_url, "--share", "class-2026", "--jobs", "1", "--no-feedback"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)})

    procs = {name: grader(name) for name in ("machine-a", "machine-b")}
    logs = {name: p.communicate(timeout=900)[0] for name, p in procs.items()}
    for name, p in procs.items():
        assert p.returncode == 0, logs[name]

    # every student graded by exactly one of the two
    graded_by = {}
    for name in procs:
        report = (tmp_path / name / "grading-report.txt").read_text("utf-8")
        for line in report.splitlines():
            if line.startswith("s") and f"/{LESSON}: graded " in line \
                    and "another grader" not in line:
                graded_by.setdefault(line.split("/")[0], []).append(name)
    assert sorted(graded_by) == sorted(students), logs
    assert all(len(v) == 1 for v in graded_by.values()), graded_by

    out_csv = tmp_path / "class.csv"
    done = subprocess.run([sys.executable, "-m", "autograde", "export", "--db", pg_url,
                           "--csv", str(out_csv)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    with open(out_csv, newline="") as f:
        totals = {r["student"]: r["total"] for r in csv.DictReader(f)}
    assert totals == {who: ("5" if nb is sol else "0") for who, nb in students.items()}

    # a third grader with the same share name finds nothing left to do
    again = subprocess.run(
        [sys.executable, "-m", "autograde", "grade", str(tmp_path / "submitted"),
         "--root", str(tmp_path / "course"), "--out", str(tmp_path / "machine-c"),
         "--db", pg_url, "--share", "class-2026", "--jobs", "1", "--no-feedback"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    report = (tmp_path / "machine-c" / "grading-report.txt").read_text("utf-8")
    assert report.count(f"/{LESSON}: graded by another grader\n") == len(students)
