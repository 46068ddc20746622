"""``autograde``: the instructor's command line for the mirkit course.

    autograde release [--lesson NAME]          regenerate lessons/ from solutions/
    autograde verify  [--lesson NAME] [--jobs N]   the course check (make verify)
    autograde grade SUBMISSIONS_DIR [--out DIR] [--jobs N] [--resume] [--db URL --share NAME]
                                               grade submitted/<student>/<lesson>/, sandboxed
    autograde export [--out DIR]               grades CSV from an existing gradebook
    autograde leaderboard ...                  (when autograde.leaderboard is installed)

release, verify and grade take ``--root DIR``, the course root (default: this repository).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import course

SLOW_SECONDS = 120  # a lesson's headless run must stay under 2 minutes on 2 cores
DEFAULT_OUT = course.REPO_ROOT / "autograde" / "course"  # git-ignored instructor state


def _add_root(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", type=Path, default=course.REPO_ROOT,
                   help="course root holding solutions/ and lessons/ (default: %(default)s)")


def _note_empty(args) -> None:
    if not args.lesson:
        for name in course.empty_lesson_dirs(args.root):
            print(f"note: skipping solutions/{name}/ (no notebook in it yet)")


def cmd_release(args) -> int:
    _note_empty(args)
    lessons = course.select_lessons(args.root, args.lesson)
    if not lessons:
        print(f"no lessons in {args.root / 'solutions'}: nothing to release")
        return 0
    course.setup_environment()
    failed = []
    for name in lessons:
        try:
            dest = course.release_lesson(args.root, name)
        except course.CourseError as exc:  # release the others, then report
            failed.append(name)
            print(f"FAILED {name}: {exc}", file=sys.stderr)
        else:
            print(f"released {name} -> {dest}")
    if failed:
        print(f"release FAILED for {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def cmd_verify(args) -> int:
    from . import verify

    _note_empty(args)
    lessons = course.select_lessons(args.root, args.lesson)
    orphans = [] if args.lesson else course.orphan_releases(args.root)
    if not lessons and not orphans:
        print(f"no lessons in {args.root / 'solutions'}: nothing to verify "
              "(add solutions/NN-name/NN-name.ipynb)")
        return 0
    course.setup_environment()
    print(f"verifying {len(lessons)} lesson(s) with {args.jobs} job(s); "
          f"kernel python: {course.kernel_python()}", flush=True)
    reports = verify.verify(args.root, lessons, jobs=args.jobs,
                            echo=lambda s: print(s, flush=True))
    # a student version whose source is gone would stay in students' hands forever
    for name in orphans:
        reports.append(verify.LessonReport(name, [
            f"lessons/{name}/ has no source solutions/{name}/{name}.ipynb; "
            f"delete lessons/{name}/ or restore its source"]))
    print()
    print(verify.report_table(reports))
    for r in reports:
        for w in r.warnings:
            print(f"warning: {r.lesson}: {w}")
        slowest = max(r.solution_time or 0, r.blank_time or 0)
        if slowest > SLOW_SECONDS:
            print(f"warning: {r.lesson} runs {slowest:.0f} s, over the {SLOW_SECONDS} s "
                  "budget of a lesson (aim for < 40 s on 2 cores)")
    failed = [r for r in reports if not r.ok]
    for r in failed:
        print(f"\nFAIL {r.lesson}:")
        for p in r.problems:
            print(f"  - {p}")
    if failed:
        print(f"\ncourse check FAILED for {len(failed)} of {len(reports)} lesson(s): "
              + ", ".join(r.lesson for r in failed))
        return 1
    print(f"\ncourse check passed ({len(reports)} lesson(s))")
    return 0


def cmd_grade(args) -> int:
    from . import grade

    return grade.main(args)


def cmd_export(args) -> int:
    from . import grade

    return grade.export_main(args)


def build_parser(leaderboard: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autograde", description="Instructor tools for the mirkit course (wraps nbgrader).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("release", help="regenerate lessons/ from solutions/ (student versions)")
    p.add_argument("--lesson", action="append", metavar="NAME",
                   help="only this lesson (name or unique prefix; repeatable)")
    _add_root(p)
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("verify", help="the course check: solution full marks, blank zero, "
                                      "lessons/ in sync, clean notebooks, timings")
    p.add_argument("--lesson", action="append", metavar="NAME",
                   help="only this lesson (name or unique prefix; repeatable)")
    p.add_argument("--jobs", "-j", type=int, default=2,
                   help="notebooks run at once (a lesson's solution and blank version "
                        "are two jobs)")
    _add_root(p)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("grade", help="autograde submitted/<student>/<lesson>/<lesson>.ipynb "
                                     "into grades.csv and HTML feedback")
    p.add_argument("submissions", type=Path, metavar="SUBMISSIONS_DIR",
                   help="folder laid out as <student>/<lesson>/<lesson>.ipynb "
                        "(or a folder holding submitted/)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help="where the gradebook, grades.csv, feedback/ and autograded/ go "
                        "(default: %(default)s, git-ignored)")
    p.add_argument("--no-feedback", action="store_true", help="skip the HTML feedback")
    p.add_argument("--jobs", "-j", type=int, default=None,
                   help="notebooks graded at once, each in its own sandbox (default: the "
                        "number of cores)")
    p.add_argument("--resume", action="store_true",
                   help="keep the stored result of every notebook unchanged since it was "
                        "graded (OUT/results/); grade only the others")
    p.add_argument("--db", default=None, metavar="URL",
                   help="the gradebook: a file, or postgresql://user@host/db to share one "
                        "class between graders (default: OUT/gradebook.db)")
    p.add_argument("--share", default=None, metavar="NAME",
                   help="with a PostgreSQL --db: graders started with the same NAME split the "
                        "class (each claims a student before grading); use a new NAME to regrade")
    p.add_argument("--isolation", choices=["bubblewrap", "rlimits"], default=None,
                   help="force an isolation (default: bubblewrap where it works, else rlimits)")
    p.add_argument("--memory-mb", type=int, default=None,
                   help="memory of one notebook's kernel (default: 4096)")
    p.add_argument("--cpu-seconds", type=int, default=None,
                   help="CPU time of one notebook's kernel (default: 600)")
    p.add_argument("--timeout", type=int, default=None, metavar="SECONDS",
                   help="wall time to grade one notebook (default: 600)")
    _add_root(p)
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("export", help="write grades.csv from an existing gradebook")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help="folder holding gradebook.db; grades.csv is written there")
    p.add_argument("--csv", type=Path, default=None, help="CSV path (default: OUT/grades.csv)")
    p.add_argument("--db", default=None, metavar="URL",
                   help="the gradebook (a file or postgresql://...; default: OUT/gradebook.db)")
    p.set_defaults(func=cmd_export)

    if not leaderboard:
        return parser
    try:
        from .leaderboard import cli as leaderboard_cli
    except ImportError:  # the leaderboard is optional; its own bugs must still surface
        leaderboard_cli = None
    if leaderboard_cli is not None and hasattr(leaderboard_cli, "add_parser"):
        leaderboard_cli.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # the leaderboard (FastAPI & co.) is imported only when it may be the command
    first = next((a for a in argv if not a.startswith("-")), None)
    wants_board = first not in {"release", "verify", "grade", "export"}
    parser = build_parser(leaderboard=wants_board)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except course.CourseError as exc:
        print(f"autograde {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
