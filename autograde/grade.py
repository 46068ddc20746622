"""Grading a class: ``autograde grade SUBMISSIONS_DIR`` and ``autograde export``.

Submissions follow nbgrader's layout, ``<student>/<lesson>/<lesson>.ipynb``. Each one is
checked before any code runs (valid JSON notebook, right file name, every graded cell
present exactly once, no grade_id the gradebook does not know); a bad submission is
reported (student, file, what is wrong) and the rest of the class is graded.

Each notebook is then graded in its own sandbox (``autograde.sandbox``: a throw-away copy
of what the lesson needs, no network, limits on memory, CPU, wall time, processes and
output), ``--jobs N`` at a time. A student's failure costs only that student. Results are
written per student under ``OUT/results/`` as they finish, so ``--resume`` goes on after
an interruption without regrading. The gradebook is written by this process only, after
the grading, in submission order: a SQLite gradebook is replaced in one atomic rename (never
left half-written); a PostgreSQL one (``--db postgresql://...``) can be shared by several
graders on several machines that split the class with ``--share NAME``.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from . import course, sandbox


ISOLATION_TEXT = {
    "bubblewrap": "bwrap sandbox: own mount, PID, network and IPC namespaces, no network, "
                  "read-only Python and data, limits on memory/CPU/processes/files/output",
    "rlimits": "fallback: own session, fresh uid when run as root, resource limits, scrubbed "
               "environment; the file system and the network are NOT hidden",
}


@dataclass
class Submission:
    student: str
    lesson: str
    folder: Path
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    graded: bool = False
    result: "sandbox.GradeResult | None" = None
    skipped: bool = False  # graded by another grader of a shared list
    resumed: bool = False  # its stored result was reused (--resume)

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


def gradebook_rows(db: Path | str) -> tuple[list[str], list[dict]]:
    """One row per submission in the gradebook (a file or a URL): student, assignment,
    cells, total, max."""
    from nbgrader.api import Gradebook

    columns: list[str] = []
    rows = []
    with Gradebook(course.sqlalchemy_url(db)) as gb:
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


def _atomic_write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    if isinstance(data, bytes):
        tmp.write_bytes(data)
    else:
        tmp.write_text(data, encoding="utf-8")
    os.replace(tmp, path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class ResultStore:
    """Per-student results under OUT/results/, written as each one finishes (``--resume``)."""

    def __init__(self, out: Path):
        self.out = out
        self.dir = out / "results"

    def path(self, sub: Submission) -> Path:
        return self.dir / sub.student / f"{sub.lesson}.json"

    def load(self, sub: Submission) -> sandbox.GradeResult | None:
        """The stored result of this very notebook (same bytes), else None."""
        p = self.path(sub)
        try:
            data = json.loads(p.read_text("utf-8"))
        except (OSError, json.JSONDecodeError):
            return None
        if data.get("sha256") != _sha256(sub.notebook):
            return None
        return sandbox.GradeResult.from_dict(data)

    def save(self, sub: Submission, res: sandbox.GradeResult) -> None:
        if res.graded:
            rel = Path(sub.student) / sub.lesson
            if res.autograded_notebook:
                _atomic_write(self.out / "autograded" / rel / f"{sub.lesson}.ipynb",
                              res.autograded_notebook)
            if res.feedback_html:
                _atomic_write(self.out / "feedback" / rel / f"{sub.lesson}.html",
                              res.feedback_html)
        data = res.to_dict()
        data["autograded_notebook"] = ""  # kept once, in autograded/
        data["feedback_html"] = ""
        data["sha256"] = _sha256(sub.notebook)
        _atomic_write(self.path(sub), json.dumps(data, indent=1))


class Claims:
    """A shared list of who grades whom, in the class's PostgreSQL gradebook (``--share``).

    Several graders (machines) that use the same share name split the class: each one claims a
    submission before grading it (one INSERT, so two graders never take the same one); a claim
    that is not finished within ``stale`` seconds (its grader died) may be taken again.
    """

    def __init__(self, url: str, share: str, stale: float):
        import socket

        import sqlalchemy as sa

        self.sa, self.share, self.stale = sa, share, stale
        self.grader = f"{socket.gethostname()}:{os.getpid()}"
        self.engine = sa.create_engine(url, pool_pre_ping=True)
        meta = sa.MetaData()
        self.table = sa.Table(
            "autograde_claim", meta,
            sa.Column("share", sa.String(200), primary_key=True),
            sa.Column("lesson", sa.String(200), primary_key=True),
            sa.Column("student", sa.String(200), primary_key=True),
            sa.Column("grader", sa.String(200)), sa.Column("claimed_at", sa.Float),
            sa.Column("done", sa.Boolean, default=False))
        meta.create_all(self.engine, checkfirst=True)

    def take(self, sub: Submission) -> bool:
        sa, t = self.sa, self.table
        key = dict(share=self.share, lesson=sub.lesson, student=sub.student)
        now = time.time()
        with self.engine.begin() as con:
            try:
                with con.begin_nested():
                    con.execute(t.insert().values(**key, grader=self.grader, claimed_at=now,
                                                  done=False))
                return True
            except sa.exc.IntegrityError:
                pass
            stolen = con.execute(t.update().where(
                t.c.share == self.share, t.c.lesson == sub.lesson, t.c.student == sub.student,
                t.c.done.is_(False), t.c.claimed_at < now - self.stale).values(
                grader=self.grader, claimed_at=now))
            return stolen.rowcount == 1

    def finish(self, sub: Submission) -> None:
        t = self.table
        with self.engine.begin() as con:
            con.execute(t.update().where(t.c.share == self.share, t.c.lesson == sub.lesson,
                                         t.c.student == sub.student).values(done=True))


def save_grades(url: str, lesson: str, student: str, res: sandbox.GradeResult) -> None:
    """Write one student's autograde into the gradebook (the single writer's job)."""
    from nbgrader.api import Gradebook

    with Gradebook(url) as gb:
        gb.update_or_create_student(student)
        gb.update_or_create_submission(lesson, student)
        for c in res.cells:
            g = gb.find_grade(c["grade_id"], lesson, lesson, student)
            g.auto_score = c["points"]
            g.needs_manual_grade = False
        gb.db.commit()


def _delete_submission(url: str, lesson: str, student: str) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(url) as gb:
        try:
            gb.remove_submission(lesson, student)
        except MissingEntry:
            pass


def _pg_lock(url: str):
    """A PostgreSQL advisory lock around gradebook set-up, shared by every grader of a class."""
    import contextlib

    import sqlalchemy as sa

    @contextlib.contextmanager
    def held():
        engine = sa.create_engine(url)
        try:
            with engine.connect() as con:
                con.execute(sa.text("SELECT pg_advisory_lock(72741205)"))
                try:
                    yield
                finally:
                    con.execute(sa.text("SELECT pg_advisory_unlock(72741205)"))
        finally:
            engine.dispose()

    return held()


def _ensure_lessons(root: Path, url: str, lessons: list[str]) -> None:
    """Add the lessons to a shared gradebook once, whichever grader comes first."""
    from nbgrader.api import Gradebook, MissingEntry

    with _pg_lock(url):
        missing = []
        with Gradebook(url) as gb:
            for name in lessons:
                try:
                    gb.find_notebook(name, name)
                except MissingEntry:
                    missing.append(name)
        work = course.new_work_course("gradebook")
        try:
            for name in missing:
                _, result = course.generate_release(root, name, work, db_url=url)
                if not result["success"]:
                    raise course.CourseError(f"cannot add lesson {name} to the gradebook:\n"
                                             + course.tail(result))
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def grade(root: Path, submissions: Path, out: Path, feedback: bool = True,
          echo=print, jobs: int | None = None, resume: bool = False, db: str | None = None,
          share: str | None = None, limits: sandbox.Limits | None = None,
          isolation: str | None = None) -> list[Submission]:
    """Grade every submission; returns them with .graded, .problems and .result filled in.

    jobs: notebooks graded at once (default: the number of cores); resume: reuse the stored
    result of every notebook that has not changed since it was graded; db: the gradebook (a
    path or a PostgreSQL URL; default OUT/gradebook.db); share: with a PostgreSQL gradebook,
    the name under which several graders split this class.
    """
    course.setup_environment()
    root, out = Path(root).resolve(), Path(out).resolve()
    submissions = Path(submissions).resolve()
    if (submissions / "submitted").is_dir():
        submissions = submissions / "submitted"
    if not submissions.is_dir():
        raise course.CourseError(f"{submissions}: no such folder of submissions "
                                 "(layout: <student>/<lesson>/<lesson>.ipynb)")
    for inside in (root / "solutions", root / "lessons"):
        if submissions == inside or inside in submissions.parents:
            raise course.CourseError(f"{submissions} is inside the course's {inside.name}/; "
                                     "put the submissions elsewhere")
    jobs = jobs or _default_jobs()
    if jobs < 1:
        raise course.CourseError(f"--jobs {jobs}: give at least 1")
    url = course.sqlalchemy_url(db) if db else None
    shared = bool(url and not url.startswith("sqlite"))
    if share and not shared:
        raise course.CourseError("--share needs a PostgreSQL gradebook (--db postgresql://...)")
    known = [n for n in course.find_lessons(root)
             if (root / "solutions" / n / f"{n}.ipynb").is_file()]
    subs = find_submissions(submissions, known)
    if not subs:
        raise course.CourseError(f"{submissions}: empty; expected <student>/<lesson>/ folders")
    isolation = isolation or sandbox.isolation_available()
    limits = limits or sandbox.Limits()
    out.mkdir(parents=True, exist_ok=True)

    lessons = sorted({s.lesson for s in subs if not s.problems})
    # the workers start (imports: seconds each) while the lessons are prepared
    pool = sandbox.WorkerPool(min(jobs, max(1, len(subs)))) if lessons else None
    try:
        return _grade(root, out, subs, lessons, pool, feedback, echo, jobs, resume, url,
                      shared, share, limits, isolation)
    finally:
        if pool is not None:
            pool.close()


def _grade(root, out, subs, lessons, pool, feedback, echo, jobs, resume, url, shared, share,
           limits, isolation) -> list[Submission]:
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from tqdm import tqdm

    preps = {name: sandbox.prepare_lesson(root, name) for name in lessons}
    if shared:  # grades go to the shared gradebook as they finish: the lessons first
        _ensure_lessons(root, url, lessons)
    for sub in subs:
        if not sub.problems:
            check_submission(sub, preps[sub.lesson].cells)

    store = ResultStore(out)
    claims = Claims(url, share, stale=2 * limits.wall_seconds + 60) if share else None
    todo = []
    for sub in (s for s in subs if not s.problems):
        sub.result = store.load(sub) if resume else None
        sub.resumed = sub.result is not None
        if sub.result is None:
            todo.append(sub)
    if resume and len(todo) < len([s for s in subs if not s.problems]):
        echo(f"resuming: {len([s for s in subs if not s.problems]) - len(todo)} result(s) "
             f"kept from {store.dir}")
    threads = max(1, _default_jobs() // jobs)

    def one(sub: Submission):
        if claims is not None and not claims.take(sub):
            return sub, None
        res = sandbox.grade_notebook(sub.lesson, sub.notebook, limits=limits, root=root,
                                     student=sub.student, prepared=preps[sub.lesson],
                                     feedback=feedback, threads=threads, isolation=isolation,
                                     pool=pool)
        return sub, res

    bar = tqdm(total=len(todo), desc=f"grading ({jobs} job(s), {isolation})",
               unit="notebook", disable=not todo)
    executor = ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = [executor.submit(one, s) for s in todo]
        for fut in as_completed(futures):
            sub, res = fut.result()
            if res is None:
                sub.notes.append("graded by another grader of this class (shared list)")
                sub.skipped = True
            else:
                store.save(sub, res)  # on disk at once: an interrupted run resumes from here
                sub.result = res
                if shared and res.graded:
                    save_grades(url, sub.lesson, sub.student, res)
                if claims is not None:
                    claims.finish(sub)
            bar.set_postfix_str(f"{sub.student}/{sub.lesson}")
            bar.update()
    except BaseException:  # Ctrl-C: stop now; what finished is saved, --resume goes on
        executor.shutdown(wait=False, cancel_futures=True)
        if pool is not None:
            pool.close()
        raise
    executor.shutdown()
    bar.close()

    for sub in subs:
        res = getattr(sub, "result", None)
        if res is None:
            continue
        sub.graded = res.graded
        if res.problem:
            sub.problems.append(f"{sub.notebook}: {res.problem}")
        sub.notes += [f"{sub.notebook}: {n}" for n in res.notes]

    _write_gradebook(root, out, url, shared, subs, lessons)
    db_for_rows = url or course.sqlalchemy_url(out / "gradebook.db")
    have_db = shared or (Path(url[len("sqlite:///"):]) if url else out / "gradebook.db").exists()
    columns, rows = gradebook_rows(db_for_rows) if have_db else ([], [])
    mine = {(s.student, s.lesson): s for s in subs}
    rows = [r for r in rows if (r["student"], r["assignment"]) not in mine
            or mine[(r["student"], r["assignment"])].graded
            or mine[(r["student"], r["assignment"])].skipped]
    for s in subs:
        if s.graded and s.problems:
            for r in rows:
                if (r["student"], r["assignment"]) == (s.student, s.lesson):
                    r["status"] = "graded with a problem: " + " | ".join(s.problems)
        elif not s.graded and not getattr(s, "skipped", False):
            rows.append({"student": s.student, "assignment": s.lesson,
                         "status": "error: " + " | ".join(s.problems)})
    rows.sort(key=lambda r: (r["assignment"], r["student"]))
    write_csv(out / "grades.csv", columns, rows)
    write_report(out / "grading-report.txt", subs, isolation=isolation, jobs=jobs)
    return subs


def _write_gradebook(root: Path, out: Path, url: str | None, shared: bool,
                     subs: list[Submission], lessons: list[str]) -> None:
    """One process writes the gradebook, in submission order, after the grading.

    (A shared PostgreSQL gradebook got each grade as it finished, from this same process.)
    """
    if shared:
        for s in subs:  # reused by --resume: not written by this run yet
            if s.graded and s.resumed:
                save_grades(url, s.lesson, s.student, s.result)
        return
    target = Path(url[len("sqlite:///"):]) if url else out / "gradebook.db"
    work = course.new_work_course("gradebook")
    try:
        todo = list(lessons)
        if target.exists():
            shutil.copy2(target, work / "gradebook.db")
        elif todo:  # a new gradebook: the first lesson's prepared one already has it
            shutil.copy2(sandbox.prepare_lesson(root, todo[0]).template / "gradebook.db",
                         work / "gradebook.db")
            todo = todo[1:]
        for name in todo:
            _, result = course.generate_release(root, name, work)
            if not result["success"]:
                raise course.CourseError(f"cannot add lesson {name} to the gradebook:\n"
                                         + course.tail(result))
        wurl = course.db_url(work)
        for s in subs:
            if s.graded:
                save_grades(wurl, s.lesson, s.student, s.result)
        if (work / "gradebook.db").exists():
            tmp = target.with_name(f".{target.name}.tmp")
            shutil.copy2(work / "gradebook.db", tmp)
            os.replace(tmp, target)  # atomic: readers see old or new, never half
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_report(path: Path, subs: list[Submission], isolation: str = "",
                 jobs: int = 1) -> None:
    lines = [f"isolation: {isolation} ({ISOLATION_TEXT.get(isolation, '?')})",
             f"jobs: {jobs}", ""]
    for s in subs:
        state = ("graded by another grader" if s.skipped else "graded, with a problem"
                 if s.graded and s.problems else "graded" if s.graded else "NOT GRADED")
        if s.result is not None and s.graded:
            state += f" {s.result.score:g}/{s.result.max_score:g}"
        lines.append(f"{s.student}/{s.lesson}: {state}")
        lines += [f"  problem: {p}" for p in s.problems]
        lines += [f"  note: {n}" for n in s.notes]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(args) -> int:
    limits = sandbox.Limits(**{k: v for k, v in {
        "memory_mb": args.memory_mb, "wall_seconds": args.timeout,
        "cpu_seconds": args.cpu_seconds}.items() if v})
    subs = grade(args.root, args.submissions, args.out, feedback=not args.no_feedback,
                 jobs=args.jobs, resume=args.resume, db=args.db, share=args.share,
                 limits=limits, isolation=args.isolation)
    bad = [s for s in subs if s.problems]
    for s in subs:
        for n in s.notes:
            print(f"note: {s.student}: {n}")
    graded = sum(s.graded for s in subs)
    out = Path(args.out)
    print(f"graded {graded} submission(s) -> {out / 'grades.csv'}, "
          f"{out / 'feedback'}/<student>/<lesson>/ (report: {out / 'grading-report.txt'})")
    if bad:
        print(f"\n{len(bad)} submission(s) with a problem; the others are saved:")
        for s in bad:
            for p in s.problems:
                print(f"  {s.student}: {p}")
        return 1
    return 0


def export_main(args) -> int:
    db = getattr(args, "db", None)
    url = course.sqlalchemy_url(db) if db else course.sqlalchemy_url(Path(args.out) / "gradebook.db")
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).is_file():
        raise course.CourseError(f"{url[len('sqlite:///'):]}: no gradebook; grade submissions "
                                 "first (autograde grade SUBMISSIONS_DIR --out DIR)")
    course.setup_environment()
    columns, rows = gradebook_rows(url)
    dest = args.csv or Path(args.out) / "grades.csv"
    write_csv(dest, columns, rows)
    print(f"exported {len(rows)} grade row(s) -> {dest}")
    return 0
