"""The course check (``autograde verify``), lesson by lesson.

For every lesson, in a temporary copy of the course:

(a)+(b) autograde the solution notebook: it executes top to bottom with no error and
        earns full marks on every graded cell;
(c)     autograde the untouched student version: 0 points on every graded cell, no crash;
(d)     lessons/<lesson> is exactly what ``autograde release`` generates today;
(e)     notebooks carry no outputs or execution counts, grade_ids are unique, graded
        cells have points, every solution cell is followed by a graded test cell that
        starts with visible tests; every graded cell carries the notebook tag
        ``raises-exception``; course lessons (``NN-name``) open with the banner that says how
        the notebook works (``BANNER``, second cell) and wrap their visible tests in
        ``with exercise(...)`` (``mirkit.check``), hidden tests staying outside that block;
(f)     the time each notebook takes is recorded for the report;
(g)     "Run All" reaches the end of the blank student version, in JupyterLab and in
        Notebook 7: they stop at the first cell that raises unless it is tagged
        ``raises-exception``. nbgrader's autograde executes every cell whatever happens
        (``allow_errors``), so the cells that raise in the autograded blank run are exactly
        the ones where Run All could stop; each must carry the tag. Grading is unchanged:
        the tag only lets the front end go on, an error still scores 0 (checked by (c)).
"""
from __future__ import annotations

import filecmp
import json
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import course

HIDDEN = "### BEGIN HIDDEN TESTS"
RAISES = "raises-exception"  # JupyterLab's and Notebook 7's "go on after this cell's error" tag
# The second cell of every course lesson, verbatim.
BANNER = ("**How this notebook works.** Run the cells from top to bottom — *Run ▸ Run All Cells* "
          "is fine: a test that fails shows ✗ and the notebook goes on. Where an exercise cell "
          "says `raise NotImplementedError()`, delete that line and write your code. The test "
          "cell under it checks you: ✓ means the visible tests pass; hidden tests grade your "
          "work after you hand it in, so make it right, not just green. The demonstrations after "
          "each exercise use mirkit's own version, so they work even before yours does.")
# Course lessons are named NN-name; other notebooks (test fixtures) skip the course conventions.
COURSE_LESSON = re.compile(r"^\d\d-")


@dataclass
class LessonReport:
    lesson: str
    problems: list[str] = field(default_factory=list)
    solution_score: float | None = None
    blank_score: float | None = None
    max_score: float | None = None
    solution_time: float | None = None
    blank_time: float | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _tags(cell) -> list:
    return cell.get("metadata", {}).get("tags", []) or []


def check_committed(nb: dict, where: str) -> list[str]:
    """(e) for a committed notebook: no outputs, no execution counts."""
    problems = []
    dirty = [i for i, c in enumerate(nb.get("cells", []), 1) if c.get("cell_type") == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    if dirty:
        problems.append(f"{where}: cells {_ranges(dirty)} have outputs or execution counts; "
                        "clear them (Jupyter: Edit > Clear Outputs of All Cells, or "
                        "`jupyter nbconvert --clear-output --inplace NB`)")
    return problems


def check_structure(nb: dict, where: str, conventions: bool = False) -> list[str]:
    """(e) for a source notebook: unique grade_ids, points, a test cell after each exercise,
    the ``raises-exception`` tag on graded cells; with ``conventions`` (course lessons) also
    the banner and ``with exercise(...)`` around the visible tests."""
    problems = []
    cells = nb.get("cells", [])
    if conventions:
        problems += check_conventions(nb, where)
    seen: dict[str, int] = {}
    for i, cell in enumerate(cells, 1):
        meta = _nbgrader(cell)
        if not meta:
            continue
        gid = meta.get("grade_id")
        if not gid:
            problems.append(f"{where}: cell {i} has nbgrader metadata but no grade_id")
        elif gid in seen:
            problems.append(f"{where}: grade_id {gid!r} is used by cells {seen[gid]} and {i}; "
                            "grade_ids must be unique")
        else:
            seen[gid] = i
        if meta.get("grade"):
            points = meta.get("points")
            if not isinstance(points, (int, float)) or points <= 0:
                problems.append(f"{where}: graded cell {i} ({gid}) has points={points!r}; "
                                "give it a positive number of points")
            if RAISES not in _tags(cell):
                problems.append(f"{where}: graded cell {i} ({gid}) lacks the tag "
                                f"'{RAISES}': add it to metadata.tags (JupyterLab: the "
                                "property inspector, Common Tools > Cell Tags) so that "
                                "Run All goes on past a failing test")
        if meta.get("solution") and cell.get("cell_type") == "code":
            nxt = next((j for j in range(i, len(cells)) if cells[j].get("cell_type") == "code"),
                       None)
            test = _nbgrader(cells[nxt]) if nxt is not None else {}
            if not (test.get("grade") and not test.get("solution")):
                problems.append(f"{where}: exercise cell {i} ({gid}) is not followed by a "
                                "graded test cell (grade: true, locked, with points)")
            elif not _has_visible_test(_source(cells[nxt])):
                problems.append(f"{where}: test cell {nxt + 1} ({test.get('grade_id')}) has "
                                "no visible test before '### BEGIN HIDDEN TESTS'; "
                                "start it with an assert that teaches")
    graded = [c for c in cells if _nbgrader(c).get("grade")]
    if not graded:
        problems.append(f"{where}: no graded cell; a lesson needs graded exercises")
    return problems


def check_conventions(nb: dict, where: str) -> list[str]:
    """The course conventions: the banner as the second cell, visible tests that talk."""
    problems = []
    cells = nb.get("cells", [])
    second = cells[1] if len(cells) > 1 else {}
    if second.get("cell_type") != "markdown" or _source(second).strip() != BANNER:
        problems.append(f"{where}: cell 2 must be the markdown banner that says how the "
                        "notebook works, verbatim (autograde/verify.py: BANNER)")
    for i, cell in enumerate(cells, 1):
        meta = _nbgrader(cell)
        if not meta.get("grade") or cell.get("cell_type") != "code":
            continue
        src = _source(cell)
        visible = src.split(HIDDEN, 1)[0]
        gid = meta.get("grade_id")
        if not re.search(r"^with exercise\(", visible, re.M):
            problems.append(f"{where}: test cell {i} ({gid}) does not wrap its visible tests in "
                            "`with exercise(N, \"name\"):` (from mirkit.check import exercise): "
                            "students then get no pass line and a long traceback")
        if HIDDEN in src and not re.search(r"^" + re.escape(HIDDEN), src, re.M):
            problems.append(f"{where}: test cell {i} ({gid}): '{HIDDEN}' is indented; hidden "
                            "tests stay outside the `with exercise(...)` block, as plain asserts")
    return problems


def run_all_stops(executed: dict, released: dict | None = None) -> list[str]:
    """(g) Cells of an executed notebook that raised without the ``raises-exception`` tag.

    Each is a cell where JupyterLab's (and Notebook 7's) Run All would stop. Tags are read
    from ``released`` (the notebook as the student gets it) when given and aligned.
    """
    cells = executed.get("cells", [])
    tagged = cells
    if released is not None and len(released.get("cells", [])) == len(cells):
        tagged = released["cells"]
    stops = []
    for i, (cell, meta_cell) in enumerate(zip(cells, tagged), 1):
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors and RAISES not in _tags(meta_cell) and RAISES not in _tags(cell):
            gid = _nbgrader(cell).get("grade_id")
            label = f"cell {i}" + (f" ({gid})" if gid else "")
            stops.append(f"{label} raises {errors[0].get('ename')} and is not tagged "
                         f"'{RAISES}'")
    return stops


def _has_visible_test(src: str) -> bool:
    visible = src.split(HIDDEN, 1)[0]
    return any(ln.strip() and not ln.strip().startswith("#") for ln in visible.splitlines())


def _ranges(nums: list[int]) -> str:
    return ", ".join(map(str, nums[:12])) + (" ..." if len(nums) > 12 else "")


def compare_release(generated: Path, committed: Path, lesson: str) -> list[str]:
    """(d) committed lessons/<lesson> equals what generate_assignment produces now."""
    fix = f"run `autograde release --lesson {lesson}`"
    if not committed.is_dir():
        return [f"lessons/{lesson}/ is missing; {fix}"]

    def files(folder: Path) -> set[str]:
        return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()
                and not any(part in course.IGNORED for part in p.relative_to(folder).parts)}

    want, have = files(generated), files(committed)
    problems = []
    if want - have:
        problems.append(f"lessons/{lesson}/ lacks {sorted(want - have)}; {fix}")
    if have - want:
        problems.append(f"lessons/{lesson}/ has extra files {sorted(have - want)}; {fix}")
    for rel in sorted(want & have):
        a, b = generated / rel, committed / rel
        if rel.endswith(".ipynb"):
            try:
                same = json.loads(a.read_text("utf-8")) == json.loads(b.read_text("utf-8"))
            except (ValueError, UnicodeDecodeError):
                same = False
        else:
            same = filecmp.cmp(a, b, shallow=False)
        if not same:
            problems.append(f"lessons/{lesson}/{rel} differs from what the release generates "
                            f"from solutions/{lesson}/; {fix} (never edit lessons/ by hand)")
    return problems


def cell_errors(nb_path: Path, skip_exercises: bool = False) -> list[str]:
    """Errors raised by cells of an executed notebook, as 'cell N (grade_id): Ename: value'.

    skip_exercises: ignore exercise cells and graded test cells (they fail when blank).
    """
    nb = json.loads(nb_path.read_text("utf-8"))
    errors = []
    for i, cell in enumerate(nb.get("cells", []), 1):
        meta = _nbgrader(cell)
        if skip_exercises and (meta.get("solution") or meta.get("grade")):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                gid = _nbgrader(cell).get("grade_id")
                label = f"cell {i}" + (f" ({gid})" if gid else "")
                evalue = str(out.get("evalue", ""))[:300]
                errors.append(f"{label}: {out.get('ename')}: {evalue}")
    return errors


def grades(work: Path, lesson: str, student: str) -> list[tuple[str, float | None, float]]:
    """(grade_id, auto_score, max_score) of every graded cell of a submission."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url(work)) as gb:
        sub = gb.find_submission(lesson, student)
        return [(g.name, g.auto_score, g.max_score)
                for nb in sub.notebooks for g in nb.grades]


def autograde_timed(work: Path, lesson: str, student: str, folder: Path) -> tuple[dict, float]:
    course.copy_tree(folder, work / "submitted" / student / lesson)
    start = time.perf_counter()
    result = course.run_converter("autograde", work, lesson, student)
    return result, time.perf_counter() - start


PARTS = ("solution", "blank")


def verify_part(root: str | Path, lesson: str, part: str) -> LessonReport:
    """One half of the course check of a lesson, in its own temporary work course.

    part "solution": static checks (e), release in sync (d), solution autograded (a)+(b);
    part "blank": the generated student version autograded untouched (c).
    The halves are independent, so ``verify`` can run them on two cores at once.
    """
    course.setup_environment()
    root = Path(root)
    rep = LessonReport(lesson)
    src_nb = root / "solutions" / lesson / f"{lesson}.ipynb"
    if not src_nb.is_file():
        if part == "solution":
            rep.problems.append(f"solutions/{lesson}/ has no {lesson}.ipynb "
                                "(one notebook per lesson, named like its folder)")
        return rep
    if part == "solution" and not _static_checks(root, lesson, src_nb, rep):
        return rep

    work = course.new_work_course(f"verify-{lesson}-{part}")
    try:
        generated, result = course.generate_release(root, lesson, work)
        if not result["success"]:
            if part == "solution":  # reported once, not by both halves
                rep.problems.append("nbgrader generate_assignment failed:\n"
                                    + course.tail(result))
            return rep
        if part == "solution":
            rep.problems += compare_release(generated, root / "lessons" / lesson, lesson)
            _check_solution(work, lesson, src_nb.parent, rep)
        else:
            _check_blank(work, lesson, generated, rep)
    except Exception as exc:  # report, never hide: one broken lesson must not stop the rest
        rep.problems.append(f"{part}: unexpected error: {type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rep


def _static_checks(root: Path, lesson: str, src_nb: Path, rep: LessonReport) -> bool:
    """(e) on the committed notebooks; False if the source cannot even be read."""
    others = sorted(p.name for p in src_nb.parent.glob("*.ipynb") if p != src_nb)
    if others:
        rep.problems.append(f"solutions/{lesson}/ has extra notebooks {others}; "
                            "one notebook per lesson")
    try:
        nb = course.read_notebook_json(src_nb)
    except course.CourseError as exc:
        rep.problems.append(str(exc))
        return False
    rep.problems += check_committed(nb, f"solutions/{lesson}/{lesson}.ipynb")
    rep.problems += check_structure(nb, f"solutions/{lesson}/{lesson}.ipynb",
                                    conventions=bool(COURSE_LESSON.match(lesson)))
    committed = root / "lessons" / lesson / f"{lesson}.ipynb"
    if committed.is_file():
        try:
            rep.problems += check_committed(course.read_notebook_json(committed),
                                            f"lessons/{lesson}/{lesson}.ipynb")
        except course.CourseError as exc:
            rep.problems.append(str(exc))
    return True


def _check_solution(work: Path, lesson: str, folder: Path, rep: LessonReport) -> None:
    """(a)+(b): autograding the solution executes it top to bottom; full marks, no error."""
    result, rep.solution_time = autograde_timed(work, lesson, "solution", folder)
    if not result["success"]:
        rep.problems.append("autograding the solution crashed:\n" + course.tail(result))
        return
    executed = work / "autograded" / "solution" / lesson / f"{lesson}.ipynb"
    for err in cell_errors(executed):
        rep.problems.append(f"solution: {err}")
    scores = grades(work, lesson, "solution")
    rep.solution_score = sum(s or 0 for _, s, _ in scores)
    rep.max_score = sum(m for _, _, m in scores)
    for gid, score, top in scores:
        if score is None:
            rep.problems.append(f"solution: cell {gid} needs manual grading; "
                                "the course is graded automatically only")
        elif score != top:
            rep.problems.append(f"solution: cell {gid} scores {score:g}/{top:g}, "
                                "expected full marks")


def _check_blank(work: Path, lesson: str, generated: Path, rep: LessonReport) -> None:
    """(c): the untouched student version scores 0 and does not crash the grader."""
    result, rep.blank_time = autograde_timed(work, lesson, "blank", generated)
    if not result["success"]:
        rep.problems.append("autograding the blank student version crashed:\n"
                            + course.tail(result))
        return
    # A student who has not solved an exercise must still be able to run the rest:
    # only exercise cells and their tests may fail in the blank version.
    executed = work / "autograded" / "blank" / lesson / f"{lesson}.ipynb"
    released = generated / f"{lesson}.ipynb"
    for stop in run_all_stops(json.loads(executed.read_text("utf-8")),
                              json.loads(released.read_text("utf-8"))):
        rep.problems.append(f"blank student version: Run All stops at {stop}: tag it, or "
                            "make the blank version not raise there")
    for err in cell_errors(executed, skip_exercises=True):
        rep.warnings.append(f"blank student version: {err} (demos after an exercise "
                            "should use mirkit's reference so students can go on)")
    scores = grades(work, lesson, "blank")
    rep.blank_score = sum(s or 0 for _, s, _ in scores)
    rep.max_score = sum(m for _, _, m in scores)
    for gid, score, top in scores:
        if score:
            rep.problems.append(f"blank student version: cell {gid} scores "
                                f"{score:g}/{top:g}, expected 0 (free points: the "
                                "tests pass without the student's code)")


def merge(sol: LessonReport, blank: LessonReport) -> LessonReport:
    """The two halves of a lesson's check as one report."""
    return LessonReport(
        sol.lesson, sol.problems + blank.problems, sol.solution_score, blank.blank_score,
        sol.max_score if sol.max_score is not None else blank.max_score,
        sol.solution_time, blank.blank_time, sol.warnings + blank.warnings)


def verify_lesson(root: str | Path, lesson: str) -> LessonReport:
    """The whole course check of one lesson, serially."""
    return merge(*(verify_part(root, lesson, part) for part in PARTS))


def _fmt(score, top) -> str:
    if score is None or top is None:
        return "-"
    return f"{score:g}/{top:g}"


def _sec(t) -> str:
    return "-" if t is None else f"{t:.1f} s"


def report_table(reports: list[LessonReport]) -> str:
    head = ("lesson", "solution", "blank", "time (solution)", "time (blank)", "status")
    rows = [(r.lesson, _fmt(r.solution_score, r.max_score), _fmt(r.blank_score, r.max_score),
             _sec(r.solution_time), _sec(r.blank_time), "ok" if r.ok else "FAIL")
            for r in reports]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = lambda row: "  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip()
    out = [line(head), line(["-" * w for w in widths])] + [line(r) for r in rows]
    return "\n".join(out)


def verify(root: Path, lessons: list[str], jobs: int = 2, echo=print) -> list[LessonReport]:
    """Check ``lessons``, up to ``jobs`` halves at once; reports in lesson order."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    halves: dict[str, dict[str, LessonReport]] = {name: {} for name in lessons}
    reports: dict[str, LessonReport] = {}

    def collect(name: str, part: str, rep: LessonReport) -> None:
        halves[name][part] = rep
        if len(halves[name]) == len(PARTS):
            reports[name] = merge(halves[name]["solution"], halves[name]["blank"])
            _echo_done(echo, reports[name], len(reports), len(lessons))

    tasks = [(name, part) for name in lessons for part in PARTS]
    if jobs <= 1 or not lessons:
        for name, part in tasks:
            collect(name, part, verify_part(root, name, part))
    else:
        # spawn, not fork: each worker starts clean (no inherited zmq or kernel state)
        with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
            futures = {pool.submit(verify_part, str(root), name, part): (name, part)
                       for name, part in tasks}
            for fut in as_completed(futures):
                name, part = futures[fut]
                try:
                    rep = fut.result()
                except Exception as exc:
                    rep = LessonReport(name, [f"{part}: worker crashed: {exc!r}"])
                collect(name, part, rep)
    return [reports[name] for name in lessons]


def _echo_done(echo, rep: LessonReport, done: int, total: int) -> None:
    t = (rep.solution_time or 0) + (rep.blank_time or 0)
    echo(f"[{done}/{total}] {rep.lesson}: {'ok' if rep.ok else 'FAIL'} ({t:.1f} s)")
