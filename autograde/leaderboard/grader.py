"""The grader worker: takes hand-ins from the queue, grades each in the sandbox, writes the grade.

    autograde leaderboard grader --db class.sqlite [--root .] [--threads 2]

Run as many as you like, on as many machines as reach the database (PostgreSQL: claims use
``FOR UPDATE SKIP LOCKED``, so two graders never take the same hand-in). Each grading runs in
its own sandboxed process (``autograde.sandbox.grade_notebook``): a hostile notebook costs its
author their grade, never another student's. While grading, the worker renews its claim (a
lease); if the worker is killed, the lease runs out and another worker grades the hand-in
again. The grade reaches the database only from the worker that holds the claim.
"""
from __future__ import annotations

import importlib
import os
import re
import secrets
import shutil
import socket
import sys
import tempfile
import threading
from pathlib import Path

from .handin import LEASE


def grade_handin(root, lesson, notebook: Path, student: str) -> dict:
    """Grade one notebook with the course's sandboxed grader; returns what the queue stores:
    graded (bool), score, max_score, cells [{name, score, max, passed, message}],
    feedback_html (nbgrader's feedback without hidden-test code), problem ("" if none)."""
    from autograde.sandbox import grade_notebook

    res = grade_notebook(lesson, notebook, root=Path(root), student=student)
    return {"graded": bool(res.graded), "score": res.score, "max_score": res.max_score,
            "cells": [{"name": c["grade_id"], "score": c["points"], "max": c["max_points"],
                       "passed": bool(c["passed"]), "message": c["message"]} for c in res.cells],
            "feedback_html": res.feedback_html or "", "problem": res.problem or ""}


def load_function(spec: str):
    """``module:function`` -> the function (``--grade-function``, for another grader or tests)."""
    module, _, name = spec.partition(":")
    if not module or not name:
        raise ValueError(f"--grade-function must be module:function, got {spec!r}")
    return getattr(importlib.import_module(module), name)


def safe_student_id(name: str, student_id: int) -> str:
    """A folder name nbgrader accepts for a student (names may hold spaces or accents)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.@+-]", "_", name).strip("._")[:80]
    return f"{cleaned or 'student'}-{student_id}"


class Grader:
    """One worker: ``run_once()`` grades one hand-in (False when the queue is empty);
    ``run(stop)`` keeps going until ``stop`` (a threading.Event) is set."""

    def __init__(self, lb, root=".", grade=grade_handin, lease=LEASE, name=None):
        self.lb, self.root, self.grade, self.lease = lb, Path(root).resolve(), grade, lease
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"

    def run_once(self) -> bool:
        claimed = self.lb.claim_handin(self.name, lease=self.lease)
        if claimed is None:
            return False
        handin_id, lesson, raw, student_name, student_id = claimed
        student = safe_student_id(student_name, student_id)
        done = threading.Event()
        keeper = threading.Thread(target=self._keep_lease, args=(handin_id, done), daemon=True)
        keeper.start()
        scratch = Path(tempfile.mkdtemp(prefix="handin-"))
        try:
            notebook = scratch / f"{lesson}.ipynb"
            notebook.write_bytes(raw)
            try:
                result = self.grade(self.root, lesson, notebook, student)
            except Exception as exc:       # the grader's own failure: say it, do not retry forever
                result = {"graded": False, "problem": f"the grader failed: "
                                                      f"{type(exc).__name__}: {exc}"}
        finally:
            done.set()
            keeper.join()
            shutil.rmtree(scratch, ignore_errors=True)
        self.lb.finish_handin(handin_id, self.name, **result)
        return True

    def _keep_lease(self, handin_id, done):
        while not done.wait(self.lease.total_seconds() / 3):
            if not self.lb.renew_lease(handin_id, self.name, lease=self.lease):
                return

    def run(self, stop: threading.Event, poll=2.0):
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception as exc:     # e.g. the database restarting: its lease will run out
                print(f"grader {self.name}: {type(exc).__name__}: {exc}; trying again",
                      file=sys.stderr)
                busy = False
            if not busy:
                stop.wait(poll)

