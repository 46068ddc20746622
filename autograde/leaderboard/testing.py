"""Helpers for the tests and the benchmark: a synthetic competition, a server in a subprocess,
a hand-in grader in a subprocess with a stand-in grading function, and a throwaway PostgreSQL server (Debian's ``postgresql`` binaries, run as the ``postgres``
user when we are root, since PostgreSQL refuses to run as root).
"""
from __future__ import annotations

import glob
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_labels(path, n=40, labels=("0", "1", "2", "3"), seed=0, id_column="track",
                 label_column="genre_id"):
    """A hidden labels CSV like the dataset's hidden-test mode writes; returns (ids, truth)."""
    rng = random.Random(seed)
    ids = [f"t{i:04d}" for i in range(n)]
    truth = [rng.choice(labels) for _ in ids]
    with open(path, "w", newline="") as f:
        f.write(f"{id_column},{label_column}\n")
        f.writelines(f"{i},{t}\n" for i, t in zip(ids, truth))
    return ids, truth


def submission_bytes(ids, preds, header="track,genre_id"):
    return (header + "\n" + "".join(f"{i},{p}\n" for i, p in zip(ids, preds))).encode()


class _ProcessGroup:
    """A subprocess in its own process group (``start_new_session``): see kill()."""
    proc = None

    def kill(self):
        """SIGKILL to the process and every process it started: no chance to clean up, like a
        power cut of the machine."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class ServerProcess(_ProcessGroup):
    """``python -m autograde.leaderboard serve`` in a subprocess on a free loopback port
    (``workers``: its ``--workers``; None leaves the default)."""

    def __init__(self, db, port=None, workers=None):
        self.db, self.port, self.workers = db, port or free_port(), workers
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout=120):       # a loaded 2-core machine: a worker may take ~50 s
        workers = ["--workers", str(self.workers)] if self.workers else []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograde.leaderboard", "serve", "--db", self.db,
             "--port", str(self.port), "--log-level", "warning", *workers],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)                 # its own process group: see kill()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(self.url + "/api/competition", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start in time")


def notebook_bytes(score=1.0, sleep=0.0, text=""):
    """A small notebook for the queue's tests: ``fake_grade`` gives it ``score`` out of 2 after
    ``sleep`` seconds; ``text`` makes notebooks distinct."""
    import json
    nb = {"cells": [{"cell_type": "code", "source": f"# {text}", "metadata": {}, "outputs": [],
                     "execution_count": None}],
          "metadata": {"fake_grade": {"score": score, "sleep": sleep}},
          "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(nb).encode()


def fake_grade(root, lesson, notebook, student):
    """A stand-in for ``grader.grade_handin`` (no kernel, no sandbox): reads the score and the
    time to take from the notebook's metadata (``notebook_bytes``)."""
    import json
    meta = json.loads(Path(notebook).read_text())["metadata"]["fake_grade"]
    time.sleep(meta["sleep"])
    return {"graded": True, "score": meta["score"], "max_score": 2.0,
            "cells": [{"name": "ex-tests", "score": meta["score"], "max": 2.0,
                       "passed": meta["score"] >= 2, "message": "" if meta["score"] >= 2
                       else "AssertionError: expected 2"}],
            "feedback_html": f"<p>{student}: {meta['score']}</p>", "problem": ""}


class GraderProcess(_ProcessGroup):
    """``python -m autograde.leaderboard grader`` in a subprocess, by default with the stand-in
    grading function ``fake_grade``."""

    def __init__(self, db, root=".", grade_function="autograde.leaderboard.testing:fake_grade",
                 lease_seconds=600, threads=1):
        self.cmd = [sys.executable, "-m", "autograde.leaderboard", "grader", "--db", db,
                    "--root", str(root), "--lease-seconds", str(lease_seconds), "--poll", "0.2",
                    "--threads", str(threads)]
        if grade_function:
            self.cmd += ["--grade-function", grade_function]

    def start(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        return self


def postgres_bindir():
    """The directory of initdb/pg_ctl, or None."""
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(os.path.join(d, "initdb"), os.X_OK):
            return d
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def postgres_unavailable():
    """Why a throwaway PostgreSQL cannot be started here, or None if it can."""
    if postgres_bindir() is None:
        return "PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server as"
        if not shutil.which("runuser"):
            return "running as root without runuser to switch to the 'postgres' user"
    return None


class PostgresServer:
    """initdb into a temporary directory, then pg_ctl start on a free loopback port."""

    def __init__(self, fsync=True):
        self.bindir = postgres_bindir()
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="mirkit-pg-")
        self.data = os.path.join(self.dir, "data")
        self.fsync = fsync
        self._n = 0

    def _run(self, *cmd):
        cmd = [os.path.join(self.bindir, cmd[0]), *cmd[1:]]
        if os.geteuid() == 0:          # PostgreSQL will not run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       cwd=self.dir)

    def start(self):
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        try:
            self._run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                      "--no-sync")
            opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                    f"-c max_connections=200 -c fsync={'on' if self.fsync else 'off'}")
            self._run("pg_ctl", "-D", self.data, "-o", opts, "-l",
                      os.path.join(self.dir, "log"), "-w", "-t", "60", "start")
        except subprocess.CalledProcessError as exc:
            log = Path(self.dir, "log")
            raise RuntimeError(f"PostgreSQL did not start: {exc.stderr.decode()[-1000:]} "
                               f"{log.read_text()[-1000:] if log.exists() else ''}") from None
        return self

    def url(self, dbname="postgres"):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def new_database(self):
        """A fresh empty database; returns its URL."""
        import psycopg
        self._n += 1
        name = f"mirkit_{self._n}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self):
        try:
            self._run("pg_ctl", "-D", self.data, "-m", "immediate", "stop")
        except (subprocess.CalledProcessError, FileNotFoundError):
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def kill_during_burst(server, client, n_clients, accepted, stop, at_least, timeout=60.0):
    """Crash test: ``n_clients`` threads run ``client(k)`` against a started ``server`` until
    ``accepted`` holds ``at_least`` entries, then the server is SIGKILLed mid-burst and the
    clients are told to ``stop``. The caller restarts the server and checks what was stored."""
    import threading

    threads = [threading.Thread(target=client, args=(k,)) for k in range(n_clients)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    while len(accepted) < at_least and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill()  # in the middle of the burst
    stop.set()
    for t in threads:
        t.join()
    assert len(accepted) >= at_least, f"only {len(accepted)} accepted before the kill"

