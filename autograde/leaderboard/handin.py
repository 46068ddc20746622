"""Handing in a lesson notebook, with a grade back (part of ``Leaderboard``).

The same server and tokens as the challenge. The order of a hand-in, so that none is lost:

1. the upload is checked (pure: a JSON notebook, not too large); a file that is not a notebook
   is refused (422) and does not count against the lesson's limit;
2. in ONE transaction: the student's row is locked (PostgreSQL; SQLite holds the whole database
   with BEGIN IMMEDIATE), the lesson's deadline and the student's count of hand-ins checked,
   and the notebook inserted as ``queued`` with its raw bytes and SHA-256, plus its audit line;
   commit (durable); only then does the student hear "accepted";
3. a grader worker (``leaderboard grader``, any number of them, on any machine that reaches the
   database) claims the oldest queued hand-in, grades it in the sandbox and writes the score.

The queue is the ``handin`` table itself. A claim is one transaction: ``SELECT ... FOR UPDATE
SKIP LOCKED`` on PostgreSQL (many graders claim side by side, never the same row), the single
writer on SQLite. A claim is a lease: the grader renews it while it works; a grader that is
killed lets it run out, and the next claim takes the hand-in again (at most ``MAX_ATTEMPTS``
times: a notebook that kills every grader is marked failed, with the reason). A result is
written only by the grader that holds the claim, so a hand-in is graded into the record once.

Each upload may carry a ``key`` chosen by the client: the same key again (a retry after the
connection broke, when the first attempt may or may not have been recorded) returns the
recorded hand-in instead of adding a second one.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import defer

from .database import naive_utc, utcnow
from .models import Base, Handin, HandinLesson, Student
from .roster import Refused, User

MAX_ATTEMPTS = 3
LEASE = timedelta(minutes=10)
DEFAULT_MAX_HANDINS = 3
DEFAULT_MAX_BYTES = 20_000_000
HANDIN_TABLES = [HandinLesson.__table__, Handin.__table__]
LIGHT = (defer(Handin.raw), defer(Handin.feedback_html))      # lists need neither


def notebook_problem(raw: bytes) -> str | None:
    """What makes ``raw`` not a notebook nbgrader can grade, or None."""
    try:
        nb = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return ("The file is not a Jupyter notebook (not JSON): hand in the .ipynb file itself, "
                "saved from JupyterLab (File > Save Notebook), not an export.")
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return "The file is JSON but not a notebook (no list of 'cells'): hand in the .ipynb file."
    return None


class Handins:
    """Lessons open for hand-in, the hand-ins, and the grading queue (part of ``Leaderboard``)."""

    def ensure_handin_tables(self):
        """Create the hand-in tables in a database made before they existed (no-op otherwise)."""
        Base.metadata.create_all(self.engine, tables=HANDIN_TABLES)

    # ------------------------------------------------------------------ the instructor's rules
    def set_handin_lesson(self, name, *, deadline=None, max_handins=DEFAULT_MAX_HANDINS,
                          max_bytes=DEFAULT_MAX_BYTES, now=None):
        """Open lesson ``name`` (``01-artificial-neuron``) for hand-in, or change its rules."""
        name = name.strip().strip("/")
        if not name or "/" in name or name.endswith(".ipynb"):
            raise ValueError(f"give the lesson's folder name, e.g. 01-artificial-neuron, "
                             f"not {name!r}")
        if max_handins < 1 or max_bytes < 1:
            raise ValueError("--max-handins and --max-bytes must be at least 1")
        self.ensure_handin_tables()
        with self._write() as s:
            row = s.get(HandinLesson, name) or HandinLesson(name=name)
            row.deadline = naive_utc(deadline) if deadline else None
            row.max_handins, row.max_bytes = max_handins, max_bytes
            s.add(row)
            self._audit(s, "instructor", "handin-lesson",
                        f"{name}: deadline {row.deadline}, {max_handins} hand-ins", now)

    def handin_lessons(self):
        with self.Session() as s:
            rows = s.scalars(select(HandinLesson).order_by(HandinLesson.name)).all()
        return [{"lesson": r.name, "max_handins": r.max_handins, "max_bytes": r.max_bytes,
                 "deadline": r.deadline.isoformat() + "Z" if r.deadline else None} for r in rows]

    # ------------------------------------------------------------------ the student's side
    def handin(self, user: User, lesson: str, filename: str, raw: bytes, key=None, now=None):
        """Record and queue one notebook; returns (hand-in as a dict, True if new). Raises
        Refused (unknown lesson, deadline, limit, not a notebook, too large)."""
        now = naive_utc(now or utcnow())
        if user.kind != "student":
            raise Refused(403, "Only students hand in; the instructor token cannot.")
        key = (key or "")[:64] or None
        with self.Session() as s:
            rules = s.get(HandinLesson, lesson)
            open_now = [r.name for r in s.scalars(select(HandinLesson).order_by(HandinLesson.name))]
        if rules is None:
            raise Refused(404, f"Lesson {lesson!r} is not open for hand-in; open now: "
                               f"{', '.join(open_now) or 'none (ask your instructor)'}. The lesson "
                               "is the notebook's folder name, e.g. 01-artificial-neuron.")
        if len(raw) > rules.max_bytes:
            raise Refused(413, f"The notebook is {len(raw) / 1e6:.1f} MB; the limit is "
                               f"{rules.max_bytes / 1e6:.1f} MB. Clear the outputs "
                               "(Edit > Clear Outputs of All Cells), save, and hand in again.")
        problem = notebook_problem(raw)
        if problem:
            raise Refused(422, problem)
        sha = hashlib.sha256(raw).hexdigest()
        with self._write() as s:
            s.execute(select(Student.id).where(Student.id == user.student_id).with_for_update())
            if key is not None:
                again = s.scalar(select(Handin).where(Handin.student_id == user.student_id,
                                                      Handin.request_key == key))
                if again is not None:
                    return self._describe_handin(again), False
            used = s.scalar(select(func.count()).select_from(Handin).where(
                Handin.student_id == user.student_id, Handin.lesson == lesson))
            if rules.deadline is not None and now >= rules.deadline:
                refusal = Refused(403, f"The deadline of {lesson} "
                                       f"({rules.deadline:%Y-%m-%d %H:%M} UTC) has passed: "
                                       "no more hand-ins.")
            elif used >= rules.max_handins:
                refusal = Refused(429, f"You have handed in {lesson} {used} times, the limit; "
                                       "your last hand-in is the one that counts.")
            else:
                refusal = None
                h = Handin(student_id=user.student_id, lesson=lesson, created_at=now,
                           filename=filename[:300], size=len(raw), sha256=sha, raw=raw,
                           request_key=key, status="queued", attempts=0)
                s.add(h)
                s.flush()
            # the refusal is kept in the audit log too: the transaction commits either way
            self._audit(s, user.actor, "handin-refused" if refusal else "handin",
                        f"{lesson} sha256={sha}: {refusal.message}" if refusal else
                        f"#{h.id} {lesson} sha256={sha} {len(raw)} bytes", now)
        if refusal:
            raise refusal
        return self._describe_handin(h), True

    def student_handins(self, student_id, lesson=None):
        """A student's hand-ins, newest first, with score and feedback (never the raw file)."""
        q = select(Handin).options(*LIGHT).where(Handin.student_id == student_id)
        if lesson is not None:
            q = q.where(Handin.lesson == lesson)
        with self.Session() as s:
            rows = s.scalars(q.order_by(Handin.id.desc())).all()
            limits = dict(s.execute(select(HandinLesson.name, HandinLesson.max_handins)).all())
        out = []
        for h in rows:
            d = self._describe_handin(h)
            d["max_handins"] = limits.get(h.lesson)
            out.append(d)
        return out

    def get_handin(self, user: User, handin_id):
        """One hand-in: a student sees only their own."""
        with self.Session() as s:
            h = s.get(Handin, handin_id)
            who = s.get(Student, h.student_id).name if h is not None else None
        if h is None or (user.kind == "student" and h.student_id != user.student_id):
            raise Refused(404, f"You have no hand-in #{handin_id}.")
        d = self._describe_handin(h)
        d["student"] = who
        return d

    def handin_feedback(self, user: User, handin_id) -> str:
        """The grader's full feedback page of one hand-in (a student: only their own)."""
        self.get_handin(user, handin_id)
        with self.Session() as s:
            return s.scalar(select(Handin.feedback_html).where(Handin.id == handin_id)) or ""

    def _describe_handin(self, h):
        return {"id": h.id, "lesson": h.lesson, "created_at": h.created_at.isoformat() + "Z",
                "filename": h.filename, "size": h.size, "sha256": h.sha256, "status": h.status,
                "score": h.score, "max_score": h.max_score, "cells": json.loads(h.cells_json),
                "problem": h.problem, "feedback": h.graded_at is not None,
                "graded_at": h.graded_at.isoformat() + "Z" if h.graded_at else None}

    # ------------------------------------------------------------------ the queue
    def claim_handin(self, worker: str, lease=LEASE, now=None):
        """Take the oldest hand-in waiting for a grader (or whose grader's lease ran out):
        returns (id, lesson, raw, student name, student id) or None. Claimed in one transaction, so two graders never
        take the same one; after MAX_ATTEMPTS lost leases the hand-in is marked failed."""
        while True:
            now = naive_utc(now or utcnow())
            with self._write() as s:
                h = s.scalar(select(Handin)
                             .where(or_(Handin.status == "queued",
                                        (Handin.status == "grading") & (Handin.lease_until < now)))
                             .order_by(Handin.id).limit(1).with_for_update(skip_locked=True))
                if h is None:
                    return None
                if h.attempts >= MAX_ATTEMPTS:
                    h.status, h.claimed_by, h.lease_until = "failed", None, None
                    h.problem = (f"The grader stopped {h.attempts} times while running this "
                                 "notebook (it may kill its own kernel, or run out of memory or "
                                 "time); ask your instructor.")
                    h.graded_at = now
                    self._audit(s, "server", "handin-failed", f"#{h.id}: {h.attempts} attempts",
                                now)
                    continue
                h.status, h.claimed_by = "grading", worker
                h.lease_until, h.attempts = now + lease, h.attempts + 1
                name = s.scalar(select(Student.name).where(Student.id == h.student_id))
                return h.id, h.lesson, h.raw, name, h.student_id

    def renew_lease(self, handin_id, worker, lease=LEASE, now=None):
        """Keep a claim while grading; False if the claim was lost (another grader has it)."""
        now = naive_utc(now or utcnow())
        with self._write() as s:
            done = s.execute(update(Handin)
                             .where(Handin.id == handin_id, Handin.claimed_by == worker,
                                    Handin.status == "grading")
                             .values(lease_until=now + lease))
            return done.rowcount == 1

    def finish_handin(self, handin_id, worker, *, graded, score=None, max_score=None, cells=(),
                      feedback_html="", problem="", now=None):
        """Write a grader's result, if it still holds the claim; returns True if written.
        ``graded`` False: nothing could be graded (status failed, ``problem`` says why); a
        graded notebook may have a ``problem`` too (its kernel died part-way: later cells 0)."""
        now = naive_utc(now or utcnow())
        with self._write() as s:
            done = s.execute(update(Handin)
                             .where(Handin.id == handin_id, Handin.claimed_by == worker,
                                    Handin.status == "grading")
                             .values(status="graded" if graded else "failed",
                                     score=score if graded else None,
                                     max_score=max_score if graded else None,
                                     cells_json=json.dumps(list(cells)),
                                     feedback_html=feedback_html, problem=problem or "",
                                     graded_at=now, lease_until=None))
            if done.rowcount != 1:
                return False
            self._audit(s, f"grader:{worker}", "handin-graded",
                        f"#{handin_id} " + (f"{score:g}/{max_score:g}" if graded else "failed"),
                        now)
        return True

    # ------------------------------------------------------------------ the instructor's view
    def all_handins(self):
        with self.Session() as s:
            rows = s.execute(select(Handin, Student.name).options(*LIGHT)
                             .join(Student, Handin.student_id == Student.id)
                             .order_by(Handin.id)).all()
        out = []
        for h, who in rows:
            d = self._describe_handin(h)
            d["student"] = who
            out.append(d)
        return out

    def handin_file(self, handin_id, actor="instructor"):
        return self._audited_file(Handin, handin_id, actor, "handin-download",
                                  f"No hand-in #{handin_id}.")

    def handin_grades_csv(self) -> str:
        """The gradebook: one row per student and lesson, from their LAST hand-in (the one that
        counts, as in nbgrader), in the columns of ``autograde grade``'s grades.csv."""
        latest = {}
        for d in self.all_handins():
            latest[(d["lesson"], d["student"])] = d
        columns = []
        for d in latest.values():
            for c in d["cells"]:
                if c["name"] not in columns:
                    columns.append(c["name"])
        out = io.StringIO()
        w = csv.DictWriter(out, ["student", "assignment", *columns, "total", "max", "status",
                                 "handin", "sha256"], restval="", lineterminator="\n")
        w.writeheader()
        for (lesson, student), d in sorted(latest.items()):
            row = {"student": student, "assignment": lesson, "handin": d["id"],
                   "sha256": d["sha256"], "status": d["status"]}
            if d["status"] == "graded":
                row.update({c["name"]: f"{c['score']:g}" for c in d["cells"]},
                           total=f"{d['score']:g}", max=f"{d['max_score']:g}")
            elif d["problem"]:
                row["status"] = "error: " + d["problem"]
            w.writerow(row)
        return out.getvalue()
