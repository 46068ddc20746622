"""Practise the challenge alone: a hidden test set and a local leaderboard (lessons/10-genre-challenge).

In class, the instructor gives you the test tracks (``python -m mirkit.datasets hidden-test``)
and runs the leaderboard; you get its address and your token (MIRKIT_CHALLENGE_URL,
MIRKIT_CHALLENGE_TOKEN). Without a class server, :func:`practice_set` makes a small test set of
artists unseen in the public data, and :func:`PracticeServer` runs a leaderboard for it on your
machine, so the whole protocol -- predictions, file check, submission, score -- can be tried.

The practice answers go straight into the local leaderboard's database and the answer file is
deleted as soon as the set is made: like in class, the only way to learn your test score is to
submit.
"""
from __future__ import annotations

import csv
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

PRACTICE_SEED = 2024  # not secret: this is practice (the class test set's seed is the instructor's secret)
PRACTICE_TRACKS = 4  # per genre: 40 test tracks


def practice_set(preset: str = "small", tracks: int = PRACTICE_TRACKS, root=None) -> Path:
    """The practice test folder, made once per machine (under ``mirkit.datasets.data_root()``).

    It holds ``test/track_NNNN.wav``, ``sample_submission.csv`` and ``genres.csv``, like the
    folder an instructor gives, and -- when the instructor tools are installed -- the local
    leaderboard's database with one student, ``me`` (``leaderboard.sqlite``, ``tokens.csv``).
    The answers are loaded into that database and their file is deleted.
    """
    from mirkit.datasets import data_root, generate_hidden_test
    from mirkit.datasets.cache import DATASET_VERSION, build_once

    base = Path(root) if root is not None else data_root()

    def make(tmp):
        answers = Path(tempfile.mkdtemp(prefix="mirkit-practice-answers-")) / "labels.csv"
        try:
            generate_hidden_test(tmp, answers, preset, PRACTICE_SEED, tracks=tracks)
            if PracticeServer.available():
                _create_leaderboard(tmp, answers)
        finally:  # the answers now live only in the leaderboard's database
            shutil.rmtree(answers.parent, ignore_errors=True)

    return build_once(base / f"practice-challenge-{preset}-{tracks}-v{DATASET_VERSION}", make,
                      "the practice test set")


def _create_leaderboard(folder: Path, answers: Path) -> None:
    roster = folder / "roster.csv"
    roster.write_text("name\nme\n")
    steps = [("create", "--db", str(folder / "leaderboard.sqlite"), "--labels", str(answers),
              "--title", "Practice genre challenge", "--daily-limit", "100",
              "--token-file", str(folder / "instructor-token.txt")),
             ("add-students", "--db", str(folder / "leaderboard.sqlite"), str(roster),
              "--out", str(folder / "tokens.csv"))]
    for step in steps:
        done = subprocess.run([sys.executable, "-m", "autograde", "leaderboard", *step],
                              capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"autograde leaderboard {step[0]} failed: {done.stderr.strip()[-500:]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PracticeServer:
    """A leaderboard on 127.0.0.1 for the practice set, with one student ("me").

    ``with PracticeServer(folder) as server:`` then ``server.url``, ``server.token``. (An answers
    file, if given, builds a missing database; :func:`practice_set` already did.)
    Needs the instructor tools (``pip install -e .[instructor]``; ``make setup`` has them):
    :func:`available` says whether they are installed.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.db = self.folder / "leaderboard.sqlite"
        self.tokens = self.folder / "tokens.csv"
        self.proc = None
        self.url = self.token = None

    @staticmethod
    def available() -> bool:
        try:
            import fastapi  # noqa: F401
            import uvicorn  # noqa: F401
        except ImportError:
            return False
        return True

    def start(self, timeout: float = 60.0) -> "PracticeServer":
        if not self.db.exists():
            raise RuntimeError(f"no practice leaderboard in {self.folder}: the instructor tools were "
                               f"missing when it was made; install them (pip install -e .[instructor]), "
                               f"delete {self.folder} and run practice_set() again")
        with open(self.tokens, newline="") as f:
            self.token = next(csv.DictReader(f))["token"]
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograde", "leaderboard", "serve", "--db", str(self.db),
             "--port", str(port), "--log-level", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the practice leaderboard stopped: {self.proc.stderr.read().decode()[-500:]}")
            try:
                if httpx.get(self.url + "/", timeout=1.0).status_code < 500:
                    return self
            except httpx.HTTPError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"the practice leaderboard did not answer on {self.url} within {timeout:.0f} s")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
