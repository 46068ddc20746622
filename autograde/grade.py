"""Grading a class: ``autograde grade SUBMISSIONS_DIR`` and ``autograde export``.

Submissions follow nbgrader's layout, ``<student>/<lesson>/<lesson>.ipynb``. Each one is
checked before nbgrader sees it (valid JSON notebook, right file name, every graded cell
present exactly once, no grade_id the gradebook does not know); a bad submission is
reported (student, file, what is wrong) and the rest of the class is graded.

The gradebook is never left half-written: grading runs in a temporary work course on a
copy of ``OUT/gradebook.db``; each student's autograde is rolled back if it fails (bad
notebook, kernel killed by ``os._exit``...), and the final database replaces
``OUT/gradebook.db`` in one atomic rename.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from . import course


@dataclass
class Submission:
    student: str
    lesson: str
    folder: Path
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    graded: bool = False

    @property
    def notebook(self) -> Path:
        return self.folder / f"{self.lesson}.ipynb"


def find_submissions(subm: Path, known: list[str]) -> list[Submission]:
    """Every <student>/<lesson>/ folder, with layout problems already noted."""
    found = []
    for sdir in sorted(p for p in subm.iterdir() if not p.name.startswith(".")):
        if not sdir.is_dir():
            found.append(Submission(sdir.name, "?", subm, [
                f"{sdir}: a file at the top level; expected folders <student>/<lesson>/"]))
            continue
        lessons = sorted(p for p in sdir.iterdir() if not p.name.startswith("."))
        if not any(p.is_dir() for p in lessons):
            found.append(Submission(sdir.name, "?", sdir, [
                f"{sdir}: no lesson folder; expected {sdir.name}/<lesson>/<lesson>.ipynb"]))
            continue
        for ldir in lessons:
            if not ldir.is_dir():
                found.append(Submission(sdir.name, "?", sdir, [
                    f"{ldir}: a stray file; expected {sdir.name}/<lesson>/<lesson>.ipynb"]))
                continue
            sub = Submission(sdir.name, ldir.name, ldir)
            if ldir.name not in known:
                sub.problems.append(f"{ldir}: unknown lesson {ldir.name!r} "
                                    f"(lessons: {', '.join(known) or 'none'})")
            found.append(sub)
    return found


def check_submission(sub: Submission, cells: dict[str, set[str]]) -> None:
    """Validate one submission against the gradebook's cells; fills sub.problems.

    cells: {"graded": grade_ids of graded cells, "known": every grade_id of the source}.
    """
    nb_path = sub.notebook
    if not nb_path.is_file():
        others = sorted(p.name for p in sub.folder.glob("*.ipynb"))
        if others:
            sub.problems.append(f"{sub.folder}: notebook renamed: found {others}, expected "
                                f"{nb_path.name!r}; rename it back to grade it")
        else:
            sub.problems.append(f"{sub.folder}: no notebook; expected {nb_path.name}")
        return
    extra = sorted(p.name for p in sub.folder.glob("*.ipynb") if p != nb_path)
    if extra:
        sub.notes.append(f"{sub.folder}: extra notebooks {extra} are ignored")
    try:
        nb = json.loads(nb_path.read_text("utf-8"))
    except UnicodeDecodeError as exc:
        sub.problems.append(f"{nb_path}: not a text file ({exc})")
        return
    except json.JSONDecodeError as exc:
        sub.problems.append(f"{nb_path}: not valid JSON (line {exc.lineno}, column "
                            f"{exc.colno}: {exc.msg}); the file is damaged")
        return
    import nbformat

    try:
        node = nbformat.from_dict(nb)
        if node.get("nbformat") != 4:
            raise nbformat.ValidationError(f"nbformat {node.get('nbformat')!r}, expected 4")
        with warnings.catch_warnings():  # duplicated cell ids are reported below, not here
            warnings.simplefilter("ignore")
            nbformat.validate(node)
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        sub.problems.append(f"{nb_path}: valid JSON but not a valid notebook ({msg})")
        return

    where: dict[str, list[int]] = {}
    for i, cell in enumerate(nb.get("cells", []), 1):
        gid = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
        if gid is not None:
            where.setdefault(gid, []).append(i)
    for gid, at in where.items():
        if gid not in cells["known"]:
            sub.problems.append(f"{nb_path}: cell {at[0]} has grade_id {gid!r}, unknown to "
                                "the gradebook (cell metadata edited or copied from "
                                "another notebook?)")
        elif len(at) > 1:
            sub.problems.append(f"{nb_path}: grade_id {gid!r} appears {len(at)} times "
                                f"(cells {', '.join(map(str, at))}); a cell was duplicated")
    lost = sorted(cells["graded"] - set(where))
    if lost:
        sub.problems.append(f"{nb_path}: graded cell(s) {lost} missing (deleted?); restore "
                            f"them from lessons/{sub.lesson}/{sub.lesson}.ipynb")


def gradebook_cells(work: Path, lesson: str) -> dict[str, set[str]]:
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url(work)) as gb:
        nb = gb.find_notebook(lesson, lesson)
        return {"graded": {c.name for c in nb.grade_cells},
                "known": {c.name for c in nb.source_cells}
                | {c.name for c in nb.grade_cells} | {c.name for c in nb.solution_cells}}


def _explain_failure(result: dict) -> str:
    text = (result.get("log") or "") + (result.get("error") or "")
    if "DeadKernelError" in text or "Kernel died" in text:
        return ("the kernel died while running the notebook (it calls os._exit/exit(), "
                "kills its own process, or runs out of memory)")
    if "UnresponsiveKernel" in text or "CellTimeoutError" in text or "TimeoutError" in text:
        return "the notebook did not finish in time (an infinite loop?)"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return "nbgrader could not grade it: " + (lines[-1] if lines else "unknown error")


def autograde_one(work: Path, sub: Submission) -> None:
    """Autograde one submission; on failure roll the gradebook back and note the problem."""
    db = work / "gradebook.db"
    snapshot = work / "gradebook.db.snapshot"
    shutil.copy2(db, snapshot)
    dest = work / "submitted" / sub.student / sub.lesson
    shutil.rmtree(dest, ignore_errors=True)
    course.copy_tree(sub.folder, dest)
    result = course.run_converter("autograde", work, sub.lesson, sub.student)
    if result["success"]:
        sub.graded = True
        snapshot.unlink()
    else:
        os.replace(snapshot, db)  # roll back whatever nbgrader wrote for this student
        shutil.rmtree(work / "autograded" / sub.student / sub.lesson, ignore_errors=True)
        sub.problems.append(f"{sub.notebook}: {_explain_failure(result)}")


def gradebook_rows(db_path: Path) -> tuple[list[str], list[dict]]:
    """One row per submission in the gradebook: student, assignment, cells, total, max."""
    from nbgrader.api import Gradebook

    columns: list[str] = []
    rows = []
    with Gradebook("sqlite:///" + str(db_path)) as gb:
        for assignment in sorted(gb.assignments, key=lambda a: a.name):
            for nb in assignment.notebooks:
                for cell in nb.grade_cells:
                    if cell.name not in columns:
                        columns.append(cell.name)
            for sub in sorted(assignment.submissions, key=lambda s: s.student.id):
                row = {"student": sub.student.id, "assignment": assignment.name,
                       "total": f"{sub.score:g}", "max": f"{sub.max_score:g}",
                       "status": "graded"}
                for nb in sub.notebooks:
                    for g in nb.grades:
                        row[g.name] = f"{g.score:g}"
                rows.append(row)
    return columns, rows


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    header = ["student", "assignment", *columns, "total", "max", "status"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, header, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8")
    os.replace(tmp, path)


def _merge_tree(src: Path, dst: Path) -> None:
    """Copy src/<student>/<lesson>/ folders into dst, replacing those folders."""
    if not src.is_dir():
        return
    for sdir in src.iterdir():
        for ldir in sdir.iterdir():
            target = dst / sdir.name / ldir.name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(ldir, target)
            for p in [target, *target.rglob("*")]:
                os.chmod(p, 0o755 if p.is_dir() else 0o644)


def grade(root: Path, submissions: Path, out: Path, feedback: bool = True,
          echo=print) -> list[Submission]:
    """Grade every submission; returns them with .graded and .problems filled in."""
    from tqdm import tqdm

    course.setup_environment()
    root, out = Path(root).resolve(), Path(out).resolve()
    submissions = Path(submissions).resolve()
    if (submissions / "submitted").is_dir():
        submissions = submissions / "submitted"
    if not submissions.is_dir():
        raise course.CourseError(f"{submissions}: no such folder of submissions "
                                 "(layout: <student>/<lesson>/<lesson>.ipynb)")
    known = [n for n in course.find_lessons(root)
             if (root / "solutions" / n / f"{n}.ipynb").is_file()]
    subs = find_submissions(submissions, known)
    if not subs:
        raise course.CourseError(f"{submissions}: empty; expected <student>/<lesson>/ folders")

    work = course.new_work_course("grade")
    try:
        out.mkdir(parents=True, exist_ok=True)
        if (out / "gradebook.db").exists():
            shutil.copy2(out / "gradebook.db", work / "gradebook.db")
        cells = {}
        for lesson in sorted({s.lesson for s in subs if not s.problems}):
            _, result = course.generate_release(root, lesson, work)
            if not result["success"]:
                raise course.CourseError(f"cannot prepare lesson {lesson} for grading "
                                         "(run `autograde verify --lesson "
                                         f"{lesson}`):\n" + course.tail(result))
            cells[lesson] = gradebook_cells(work, lesson)
        for sub in subs:
            if not sub.problems:
                check_submission(sub, cells[sub.lesson])

        todo = [s for s in subs if not s.problems]
        bar = tqdm(todo, desc="grading", unit="student", disable=not todo)
        for sub in bar:
            bar.set_postfix_str(f"{sub.student}/{sub.lesson}")
            autograde_one(work, sub)
        bar.close()

        if feedback:
            for lesson in sorted({s.lesson for s in subs if s.graded}):
                # one nbgrader run per lesson renders every graded student's feedback
                result = course.run_converter("generate_feedback", work, lesson, "*")
                for sub in (s for s in subs if s.graded and s.lesson == lesson):
                    html = work / "feedback" / sub.student / lesson / f"{lesson}.html"
                    if not html.is_file():
                        sub.notes.append(f"{sub.notebook}: no HTML feedback: "
                                         + _explain_failure(result))

        _merge_tree(work / "autograded", out / "autograded")
        _merge_tree(work / "feedback", out / "feedback")
        if (work / "gradebook.db").exists():
            tmp = out / ".gradebook.db.tmp"
            shutil.copy2(work / "gradebook.db", tmp)
            os.replace(tmp, out / "gradebook.db")  # atomic: readers see old or new, never half

        columns, rows = gradebook_rows(out / "gradebook.db") if (out / "gradebook.db").exists() \
            else ([], [])
        failed = {(s.student, s.lesson): s for s in subs if s.problems}
        rows = [r for r in rows if (r["student"], r["assignment"]) not in failed]
        for s in failed.values():
            rows.append({"student": s.student, "assignment": s.lesson,
                         "status": "error: " + " | ".join(s.problems)})
        rows.sort(key=lambda r: (r["assignment"], r["student"]))
        write_csv(out / "grades.csv", columns, rows)
        write_report(out / "grading-report.txt", subs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return subs


def write_report(path: Path, subs: list[Submission]) -> None:
    lines = []
    for s in subs:
        state = "graded" if s.graded else "NOT GRADED"
        lines.append(f"{s.student}/{s.lesson}: {state}")
        lines += [f"  problem: {p}" for p in s.problems]
        lines += [f"  note: {n}" for n in s.notes]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(args) -> int:
    subs = grade(args.root, args.submissions, args.out, feedback=not args.no_feedback)
    bad = [s for s in subs if s.problems]
    for s in subs:
        for n in s.notes:
            print(f"note: {s.student}: {n}")
    graded = sum(s.graded for s in subs)
    out = Path(args.out)
    print(f"graded {graded} submission(s) -> {out / 'grades.csv'}, "
          f"{out / 'feedback'}/<student>/<lesson>/")
    if bad:
        print(f"\n{len(bad)} submission(s) NOT graded; fix and re-run (the others are saved):")
        for s in bad:
            for p in s.problems:
                print(f"  {s.student}: {p}")
        return 1
    return 0


def export_main(args) -> int:
    db = Path(args.out) / "gradebook.db"
    if not db.is_file():
        raise course.CourseError(f"{db}: no gradebook; grade submissions first "
                                 "(autograde grade SUBMISSIONS_DIR --out DIR)")
    course.setup_environment()
    columns, rows = gradebook_rows(db)
    dest = args.csv or Path(args.out) / "grades.csv"
    write_csv(dest, columns, rows)
    print(f"exported {len(rows)} grade row(s) -> {dest}")
    return 0
