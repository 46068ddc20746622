"""Instructor commands: ``autograde leaderboard <command>`` or ``python -m autograde.leaderboard <command>``.

    create        a competition from the hidden labels CSV (prints the instructor token once)
    add-students  register a roster CSV (columns: name, optional team); writes the tokens CSV
    teams         put students in teams from a CSV (columns: name, team)
    token         issue a new token to a student who lost theirs
    serve         run the web server (uvicorn)
    show          print the leaderboard (--private for the final one)
    close         close the competition and reveal the private leaderboard
    export        all submissions and scores, as CSV
    rescore       score every submission again (after correcting the labels)

    handin-lesson open a lesson for hand-in (or change its deadline and limit)
    grader        grade the hand-ins in the queue (run one or more, on any machine)
    handins       the hand-ins' gradebook (last hand-in per student and lesson), as CSV

Every command takes ``--db`` (a file path for SQLite, or a PostgreSQL URL); it defaults to the
environment variable MIRKIT_LEADERBOARD_DB, then to ./leaderboard.sqlite.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
from datetime import datetime, timedelta, timezone

from . import scoring
from .store import Leaderboard

DEFAULT_DB = "leaderboard.sqlite"


def _db(args):
    return args.db or os.environ.get("MIRKIT_LEADERBOARD_DB") or DEFAULT_DB


def _write_secret_file(path, text):
    """Write a file only its owner can read, refusing to overwrite one (its tokens would be lost)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ValueError(f"{path} already exists; choose another file name") from None
    with os.fdopen(fd, "w", newline="") as f:
        f.write(text)


def _deadline(text):
    if not text:
        return None
    t = datetime.fromisoformat(text)
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)     # no zone given: UTC


def cmd_create(args):
    labels = [v.strip() for v in args.label_vocab.split(",")] if args.label_vocab else None
    _, token = Leaderboard.create(
        _db(args), args.labels, title=args.title, metric=args.metric, id_column=args.id_column,
        label_column=args.label_column, labels=labels, public_fraction=args.public_fraction,
        seed=args.seed, daily_limit=args.daily_limit, selections=args.selections,
        deadline=_deadline(args.deadline), max_bytes=args.max_bytes)
    if args.token_file:
        _write_secret_file(args.token_file, token + "\n")
        print(f"competition created in {_db(args)}; instructor token written to {args.token_file}")
    else:
        print(f"competition created in {_db(args)}")
        print(f"instructor token (shown only now, keep it secret): {token}")


def _read_csv(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
                for row in csv.DictReader(f)]
    for row in rows:
        row.setdefault("name", row.get("student", ""))
    return rows


def cmd_add_students(args):
    issued = Leaderboard(_db(args)).add_students(_read_csv(args.roster))
    lines = ["name,team,token"] + [f"{n},{t},{tok}" for n, t, tok in issued]
    if args.out:
        _write_secret_file(args.out, "\n".join(lines) + "\n")
        print(f"{len(issued)} students added; their tokens are in {args.out} "
              "(only place they exist: hand each student their line)")
    else:
        print("\n".join(lines))


def cmd_teams(args):
    lb = Leaderboard(_db(args))
    rows = _read_csv(args.teams)
    for row in rows:
        lb.set_team(row["name"], row["team"])
    print(f"{len(rows)} students placed in teams")


def cmd_token(args):
    print(f"new token for {args.name} (the old one no longer works): "
          f"{Leaderboard(_db(args)).new_token(args.name)}")


def cmd_serve(args):
    import uvicorn

    from .app import create_app, prepare_server_process
    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    if args.workers == 1:
        app = create_app(_db(args), secure_cookies=args.secure_cookies)
        prepare_server_process()
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
        return
    # several processes: scikit-learn and Python run in each, on its own core. Each builds its
    # app from the environment (see app.worker_app); the crash recovery runs once, here.
    lb = Leaderboard(_db(args))
    lb.comp                                 # a clear message if there is no competition
    lb.ensure_handin_tables()               # here, not in N workers at once
    lb.score_pending()
    lb.engine.dispose()
    os.environ["MIRKIT_LEADERBOARD_DB"] = _db(args)
    os.environ["MIRKIT_LEADERBOARD_SECURE_COOKIES"] = "1" if args.secure_cookies else "0"
    uvicorn.run("autograde.leaderboard.app:worker_app", factory=True, workers=args.workers,
                host=args.host, port=args.port, log_level=args.log_level)


def _print_board(rows, label):
    print(f"{'rank':>4}  {label:>12}  {'entries':>7}  team")
    for r in rows:
        print(f"{r['rank']:>4}  {r['score']:>12.5f}  {r['entries']:>7}  {r['team']}")


def cmd_show(args):
    lb = Leaderboard(_db(args))
    _print_board(lb.standings(private=args.private), "private" if args.private else "public")


def cmd_close(args):
    lb = Leaderboard(_db(args))
    lb.close()
    print("competition closed; the private leaderboard is now visible:")
    _print_board(lb.standings(private=True), "private")


def _write_out(text, out, what):
    """``text`` to the file ``out`` (saying so), or to the standard output."""
    if out:
        with open(out, "w", newline="") as f:
            f.write(text)
        print(f"{what} written to {out}")
    else:
        sys.stdout.write(text)


def cmd_export(args):
    _write_out(Leaderboard(_db(args)).export_csv(), args.out, "scores")


def cmd_rescore(args):
    print(f"{Leaderboard(_db(args)).rescore()} submissions rescored")


def cmd_handin_lesson(args):
    lb = Leaderboard(_db(args))
    for name in args.lesson:
        lb.set_handin_lesson(name, deadline=_deadline(args.deadline), max_handins=args.max_handins,
                             max_bytes=args.max_bytes)
    for row in lb.handin_lessons():
        print(f"{row['lesson']}: deadline {row['deadline'] or 'none'}, "
              f"{row['max_handins']} hand-ins per student")


def cmd_grader(args):
    import threading

    from .grader import Grader, grade_handin, load_function
    if args.threads < 1:
        raise ValueError(f"--threads must be at least 1, got {args.threads}")
    lb = Leaderboard(_db(args))
    lb.comp
    lb.ensure_handin_tables()
    grade = load_function(args.grade_function) if args.grade_function else grade_handin
    if args.lease_seconds <= 0:
        raise ValueError(f"--lease-seconds must be positive, got {args.lease_seconds}")
    lease = timedelta(seconds=args.lease_seconds)
    graders = [Grader(lb, args.root, grade=grade, lease=lease) for _ in range(args.threads)]
    if args.until_empty:
        n = 0
        while graders[0].run_once():
            n += 1
        print(f"{n} hand-ins graded; the queue is empty")
        return
    stop = threading.Event()
    threads = [threading.Thread(target=g.run, args=(stop, args.poll), daemon=True)
               for g in graders]
    for t in threads:
        t.start()
    print(f"grading hand-ins from {_db(args)} with {args.threads} thread(s); Ctrl-C stops "
          "(a hand-in being graded is taken again by the next grader)")
    try:
        while any(t.is_alive() for t in threads):
            for t in threads:
                t.join(1.0)
    except KeyboardInterrupt:
        stop.set()


def cmd_handins(args):
    _write_out(Leaderboard(_db(args)).handin_grades_csv(), args.out, "hand-in grades")


def _friendly(command):
    """A user mistake (bad file, bad option) ends with a one-line message, not a traceback."""
    def run(args):
        try:
            return command(args)
        except (ValueError, RuntimeError, OSError) as exc:
            sys.exit(f"error: {exc}")
    run.__name__ = run.__qualname__ = command.__name__
    run.__doc__ = command.__doc__
    return run


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograde")
    add_parser(parser.add_subparsers(dest="command", required=True))
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "leaderboard":
        argv = ["leaderboard"] + argv          # `python -m autograde.leaderboard create ...`
    args = parser.parse_args(argv)
    args.func(args)


def add_parser(subparsers):
    """Add ``leaderboard`` and its commands to an argparse ``subparsers`` object."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="database: a SQLite file path or a postgresql:// URL "
                        f"(default: $MIRKIT_LEADERBOARD_DB or ./{DEFAULT_DB})")
    top = subparsers.add_parser("leaderboard", help="run a Kaggle-style class competition",
                                description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="leaderboard_command", required=True, metavar="command")

    p = sub.add_parser("create", parents=[common], help="create a competition from hidden labels")
    p.add_argument("--labels", required=True, help="hidden labels CSV (an id column and a label column)")
    p.add_argument("--title", default="Genre challenge")
    p.add_argument("--metric", default="accuracy", choices=list(scoring.METRICS))
    p.add_argument("--id-column", default="track")
    p.add_argument("--label-column", default="genre_id")
    p.add_argument("--label-vocab", help="comma-separated labels (default: those found in --labels)")
    p.add_argument("--public-fraction", type=float, default=0.3)
    p.add_argument("--seed", type=int, default=0, help="seed of the public/private split")
    p.add_argument("--daily-limit", type=int, default=5)
    p.add_argument("--selections", type=int, default=2, help="final submissions per team")
    p.add_argument("--deadline", help="ISO date-time, UTC unless a zone is given: 2026-06-30T23:59")
    p.add_argument("--max-bytes", type=int, default=5_000_000)
    p.add_argument("--token-file", help="write the instructor token here instead of printing it")
    p.set_defaults(func=_friendly(cmd_create))

    for name in ("add-students", "roster"):
        p = sub.add_parser(name, parents=[common], help="register students and issue their tokens")
        p.add_argument("roster", help="CSV with a 'name' column and an optional 'team' column")
        p.add_argument("--out", help="write name,team,token here (mode 600) instead of printing")
        p.set_defaults(func=_friendly(cmd_add_students))

    p = sub.add_parser("teams", parents=[common], help="put students in teams (CSV: name,team)")
    p.add_argument("teams")
    p.set_defaults(func=_friendly(cmd_teams))

    p = sub.add_parser("token", parents=[common], help="issue a new token to a student")
    p.add_argument("name")
    p.set_defaults(func=_friendly(cmd_token))

    p = sub.add_parser("serve", parents=[common], help="run the web server")
    p.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to accept other machines")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--secure-cookies", action="store_true", help="behind HTTPS: cookies only over HTTPS")
    p.add_argument("--log-level", default="info")
    p.add_argument("--workers", type=int, default=1,
                   help="server processes (default 1; more use more cores, e.g. 2 or 4)")
    p.set_defaults(func=_friendly(cmd_serve))

    p = sub.add_parser("show", parents=[common], help="print the leaderboard")
    p.add_argument("--private", action="store_true")
    p.set_defaults(func=_friendly(cmd_show))

    p = sub.add_parser("close", parents=[common], help="close and reveal the private leaderboard")
    p.set_defaults(func=_friendly(cmd_close))

    p = sub.add_parser("export", parents=[common], help="all submissions and scores as CSV")
    p.add_argument("--out")
    p.set_defaults(func=_friendly(cmd_export))

    p = sub.add_parser("rescore", parents=[common], help="score every submission again")
    p.set_defaults(func=_friendly(cmd_rescore))

    p = sub.add_parser("handin-lesson", parents=[common],
                       help="open lessons for hand-in (or change their rules)")
    p.add_argument("lesson", nargs="+", help="lesson folder names, e.g. 01-artificial-neuron")
    p.add_argument("--deadline", help="ISO date-time, UTC unless a zone is given (default: none)")
    p.add_argument("--max-handins", type=int, default=3, help="hand-ins per student (default 3)")
    p.add_argument("--max-bytes", type=int, default=20_000_000)
    p.set_defaults(func=_friendly(cmd_handin_lesson))

    p = sub.add_parser("grader", parents=[common], help="grade the queued hand-ins")
    p.add_argument("--root", default=".", help="the course (its solutions/ folder), default .")
    p.add_argument("--threads", type=int, default=1,
                   help="hand-ins graded at once (each in its own sandboxed process)")
    p.add_argument("--poll", type=float, default=2.0, help="seconds between looks at an empty queue")
    p.add_argument("--until-empty", action="store_true", help="stop when the queue is empty")
    p.add_argument("--lease-seconds", type=float, default=600,
                   help="a claim not renewed for this long is taken by another grader")
    p.add_argument("--grade-function", help="module:function to grade with instead of the "
                   "sandbox (same arguments and result as grader.grade_handin)")
    p.set_defaults(func=_friendly(cmd_grader))

    p = sub.add_parser("handins", parents=[common], help="the hand-ins' gradebook as CSV")
    p.add_argument("--out")
    p.set_defaults(func=_friendly(cmd_handins))
    return top


