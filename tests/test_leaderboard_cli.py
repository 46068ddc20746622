"""The instructor commands, run as `python -m autograde.leaderboard ...` and through add_parser."""
import argparse
import csv
import os
import stat
import subprocess
import sys

import pytest

from autograde.leaderboard import Leaderboard, cli
from autograde.leaderboard.app import create_app
from autograde.leaderboard.testing import submission_bytes, write_labels


class Ran:
    def __init__(self, out, err, code):
        self.stdout, self.stderr, self.returncode = out, err, code


def run(*args, check=True):
    """`python -m autograde.leaderboard ARGS`, in this process (a subprocess costs seconds)."""
    import contextlib
    import io
    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            cli.main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
            if not isinstance(exc.code, int):
                err.write(str(exc.code))
    assert code == 0 or not check, err.getvalue()
    return Ran(out.getvalue(), err.getvalue(), code)


def test_python_dash_m_runs_the_commands(tmp_path):
    done = subprocess.run([sys.executable, "-m", "autograde.leaderboard", "show", "--db",
                           str(tmp_path / "none.sqlite")], capture_output=True, text=True)
    assert done.returncode != 0
    assert "no database" in done.stderr and "run 'leaderboard create --db ...' first" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "none.sqlite").exists()


def test_create_roster_close_export_end_to_end(tmp_path, capsys):
    from fastapi.testclient import TestClient
    ids, truth = write_labels(tmp_path / "hidden.csv", n=20, id_column="clip", label_column="genre")
    db = tmp_path / "c.sqlite"
    roster = tmp_path / "roster.csv"
    roster.write_text("name,team\nana,duo\nben,duo\ncy,\n")
    out = run("create", "--db", db, "--labels", tmp_path / "hidden.csv", "--id-column", "clip",
              "--label-column", "genre", "--metric", "macro_f1", "--deadline", "2030-01-01T00:00")
    token = out.stdout.split("keep it secret): ")[1].strip()
    assert len(token) >= 40
    run("add-students", "--db", db, roster, "--out", tmp_path / "tokens.csv")
    assert stat.S_IMODE(os.stat(tmp_path / "tokens.csv").st_mode) == 0o600
    rows = list(csv.DictReader(open(tmp_path / "tokens.csv")))
    assert [(r["name"], r["team"]) for r in rows] == [("ana", "duo"), ("ben", "duo"), ("cy", "cy")]
    # tokens exist only in that file: the database keeps hashes
    assert not any(r["token"].encode() in db.read_bytes() for r in rows)
    assert token.encode() not in db.read_bytes()
    # refuses to overwrite a tokens file, and to create twice
    again = run("add-students", "--db", db, roster, "--out", tmp_path / "tokens.csv", check=False)
    assert again.returncode != 0 and "error:" in again.stderr and "Traceback" not in again.stderr
    twice = run("create", "--db", db, "--labels", tmp_path / "hidden.csv", check=False)
    assert "already holds a competition" in twice.stderr

    with TestClient(create_app(str(db))) as c:
        r = c.post("/api/submissions", headers={"Authorization": f"Bearer {rows[2]['token']}"},
                   files={"file": ("p.csv", submission_bytes(ids, truth, "clip,genre"))})
        assert r.status_code == 201 and r.json()["submission"]["public_score"] == 1.0
    assert "cy" in run("show", "--db", db).stdout
    closed = run("close", "--db", db).stdout
    assert "private leaderboard" in closed and "cy" in closed
    run("export", "--db", db, "--out", tmp_path / "scores.csv")
    (row,) = list(csv.DictReader(open(tmp_path / "scores.csv")))
    assert row["student"] == "cy" and float(row["private_score"]) == 1.0
    assert "1 submissions rescored" in run("rescore", "--db", db).stdout


def test_add_parser_plugs_into_the_instructor_cli(tmp_path):
    parser = argparse.ArgumentParser(prog="autograde")
    cli.add_parser(parser.add_subparsers(dest="command"))
    write_labels(tmp_path / "l.csv", n=10)
    args = parser.parse_args(["leaderboard", "create", "--db", str(tmp_path / "x.sqlite"),
                              "--labels", str(tmp_path / "l.csv"), "--token-file",
                              str(tmp_path / "instructor.txt")])
    args.func(args)
    token = (tmp_path / "instructor.txt").read_text().strip()
    assert Leaderboard(str(tmp_path / "x.sqlite")).authenticate(token).kind == "instructor"
    bad = parser.parse_args(["leaderboard", "create", "--db", str(tmp_path / "y.sqlite"),
                             "--labels", str(tmp_path / "l.csv"), "--id-column", "nope"])
    with pytest.raises(SystemExit, match="no column 'nope'"):
        bad.func(bad)
    assert not (tmp_path / "y.sqlite").exists()          # a failed create leaves nothing behind


def test_teams_and_new_token(tmp_path):
    write_labels(tmp_path / "l.csv", n=10)
    lb, _ = Leaderboard.create(str(tmp_path / "t.sqlite"), tmp_path / "l.csv")
    (_, _, old), = lb.add_students([{"name": "eve"}])
    lb.set_team("eve", "green")
    assert lb.authenticate(old).team == "green"
    new = lb.new_token("eve")
    assert lb.authenticate(old) is None and lb.authenticate(new).name == "eve"
    with pytest.raises(ValueError, match="no student named 'zed'"):
        lb.set_team("zed", "green")
