"""Grading a class: ``autograde grade`` serial vs ``--jobs 2`` vs plain ``nbgrader autograde``.

One run grades N submissions (half the solution, half the untouched student version) of
lesson 01 and of a heavier lesson three ways, and prints the times and the ratios:

- ``autograde grade --jobs 1``: sandboxed, one notebook at a time;
- ``autograde grade --jobs 2``: sandboxed, two at a time (the goal: 100 students of lesson 01
  in under 5 minutes on 2 cores);
- ``nbgrader autograde`` with the course config: nbgrader alone, serial, no sandbox, no
  feedback (the reference).

``python -m bench grade``. N: ``MIRKIT_BENCH_GRADE_N`` (default 100; the lessons after the
first: ``MIRKIT_BENCH_GRADE_N_HEAVY``, default N); lessons: ``MIRKIT_BENCH_GRADE_LESSONS``
(default ``01,04``). Timings depend on the machine and its
load; the ratios are what to compare.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograde import course, sandbox

REPO = Path(__file__).resolve().parent.parent


def _class(folder: Path, lesson: str, n: int) -> None:
    sol = (REPO / "solutions" / lesson / f"{lesson}.ipynb").read_text("utf-8")
    blank = (REPO / "lessons" / lesson / f"{lesson}.ipynb").read_text("utf-8")
    for i in range(n):
        dest = folder / f"student{i:03d}" / lesson / f"{lesson}.ipynb"
        dest.parent.mkdir(parents=True)
        dest.write_text(sol if i % 2 == 0 else blank, "utf-8")


def _autograde(subm: Path, out: Path, jobs: int) -> float:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "autograde", "grade", str(subm), "--out",
                           str(out), "--jobs", str(jobs)], cwd=REPO, capture_output=True,
                          text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"autograde grade --jobs {jobs} failed:\n{done.stdout[-2000:]}"
                           f"{done.stderr[-2000:]}")
    return seconds


def _plain_nbgrader(subm: Path, lesson: str, work: Path) -> float:
    """nbgrader generate_assignment + autograde of the whole class, as nbgrader alone does it."""
    course.copy_tree(REPO / "solutions" / lesson, work / "solutions" / lesson)
    shutil.copytree(subm, work / "submitted")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    common = [f"--JupyterApp.config_file={course.CONFIG_FILE}", f"--CourseDirectory.root={work}"]
    nbgrader = [str(Path(sys.executable).parent / "nbgrader")]
    subprocess.run([*nbgrader, "generate_assignment", lesson, "--force", *common], env=env,
                   cwd=work, check=True, capture_output=True)
    t0 = time.perf_counter()
    done = subprocess.run([*nbgrader, "autograde", lesson, "--force", *common], env=env,
                          cwd=work, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader autograde failed:\n{done.stdout[-1500:]}{done.stderr[-1500:]}")
    return seconds


def _check(out: Path, n: int) -> None:
    """Every solution earns full marks and every blank notebook 0, as in the course check."""
    import csv

    with open(out / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == n, f"{len(rows)} grade rows for {n} students"
    for r in rows:
        want = r["max"] if int(r["student"][-3:]) % 2 == 0 else "0"
        assert r["status"] == "graded" and r["total"] == want, r


def bench_lesson(lesson: str, n: int) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"bench-grade-{lesson}-") as tmp:
        tmp = Path(tmp)
        _class(tmp / "submitted", lesson, n)
        sandbox.prepare_lesson(REPO, lesson)  # presets generated once, before any timing
        serial = _autograde(tmp / "submitted", tmp / "out1", jobs=1)
        _check(tmp / "out1", n)
        parallel = _autograde(tmp / "submitted", tmp / "out2", jobs=2)
        _check(tmp / "out2", n)
        plain = _plain_nbgrader(tmp / "submitted", lesson, tmp / "nbgrader")
    return {"lesson": lesson, "n": n, "serial": serial, "jobs2": parallel, "nbgrader": plain}


def main() -> None:
    n = int(os.environ.get("MIRKIT_BENCH_GRADE_N", "100"))
    n_heavy = int(os.environ.get("MIRKIT_BENCH_GRADE_N_HEAVY", str(n)))
    wanted = os.environ.get("MIRKIT_BENCH_GRADE_LESSONS", "01,04").split(",")
    lessons = course.select_lessons(REPO, [w.strip() for w in wanted if w.strip()])
    print(f"isolation: {sandbox.isolation_available()}; {n} submissions of the first lesson, "
          f"{n_heavy} of the others "
          f"(half solution, half blank); cores: {os.cpu_count()}; "
          f"load average: {os.getloadavg()[0]:.1f}", flush=True)
    header = (f"{'lesson':28} {'N':>4} {'serial s':>9} {'jobs=2 s':>9} {'nbgrader s':>11} "
              f"{'serial/jobs2':>13} {'jobs2/nbgrader':>15} {'s/notebook (jobs=2)':>20}")
    print(header)
    results = []
    for i, lesson in enumerate(lessons):
        r = bench_lesson(lesson, n if i == 0 else n_heavy)
        results.append(r)
        print(f"{r['lesson']:28} {r['n']:4d} {r['serial']:9.1f} {r['jobs2']:9.1f} "
              f"{r['nbgrader']:11.1f} {r['serial'] / r['jobs2']:13.2f} "
              f"{r['jobs2'] / r['nbgrader']:15.2f} {r['jobs2'] / r['n']:20.2f}", flush=True)
    first = next((r for r in results if r["lesson"].startswith("01")), None)
    if first:
        per100 = first["jobs2"] * 100 / first["n"]
        print(f"goal: 100 students of lesson 01 in < 300 s with --jobs 2 -> "
              f"{per100:.0f} s ({'met' if per100 < 300 else 'NOT met'})")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
