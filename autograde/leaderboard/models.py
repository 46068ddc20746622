"""The tables: one competition per database, its teams, students, submissions, sessions, audit,
and the lessons' hand-ins (``HandinLesson``, ``Handin``: the grading queue is the table itself).

Times are stored as naive UTC datetimes (engine and transactions: ``database``).
Secrets are never stored: tokens and session ids are kept as SHA-256 hashes (they are long random
strings from ``secrets.token_urlsafe``, so a fast hash is enough).
"""
from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import (Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String,
                        Text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Upload:
    """The columns of a file a student sent (a submission, a hand-in): kept exactly as received,
    with its size and SHA-256."""
    created_at: Mapped[datetime] = mapped_column(DateTime)
    filename: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    raw: Mapped[bytes] = mapped_column(LargeBinary)     # the file exactly as received


class Competition(Base):
    __tablename__ = "competition"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(40))
    id_column: Mapped[str] = mapped_column(String(100))
    label_column: Mapped[str] = mapped_column(String(100))
    labels_json: Mapped[str] = mapped_column(Text)      # the label vocabulary (public)
    ids_json: Mapped[str] = mapped_column(Text)         # the test ids (public)
    truth_json: Mapped[str] = mapped_column(Text)       # hidden: label index of each id
    public_json: Mapped[str] = mapped_column(Text)      # hidden: 1 if the id is public
    public_fraction: Mapped[float] = mapped_column(Float)
    seed: Mapped[int] = mapped_column(Integer)
    daily_limit: Mapped[int] = mapped_column(Integer)
    selections: Mapped[int] = mapped_column(Integer)
    max_bytes: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[datetime | None] = mapped_column(DateTime)
    instructor_token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)


class Team(Base):
    __tablename__ = "team"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class Student(Base):
    __tablename__ = "student"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)


class Submission(Upload, Base):
    __tablename__ = "submission"
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"))
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"))
    status: Mapped[str] = mapped_column(String(10))     # pending | scored | invalid
    errors_json: Mapped[str] = mapped_column(Text, default="[]")
    public_score: Mapped[float | None] = mapped_column(Float)
    private_score: Mapped[float | None] = mapped_column(Float)
    selected: Mapped[bool] = mapped_column(Boolean, default=False)
    scored_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (Index("ix_submission_team_time", "team_id", "created_at"),)


class LoginSession(Base):
    __tablename__ = "login_session"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    student_id: Mapped[int | None] = mapped_column(ForeignKey("student.id"))   # None: instructor
    csrf: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class Audit(Base):
    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(200))     # "instructor", "student:alice", "server"
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="")


class HandinLesson(Base):
    """A lesson students may hand in, with its rules (set by ``leaderboard handin-lesson``)."""
    __tablename__ = "handin_lesson"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)   # "01-artificial-neuron"
    deadline: Mapped[datetime | None] = mapped_column(DateTime)
    max_handins: Mapped[int] = mapped_column(Integer)                  # per student
    max_bytes: Mapped[int] = mapped_column(Integer)


class Handin(Upload, Base):
    """One notebook handed in, and its place in the grading queue.

    ``status``: queued (waiting for a grader) -> grading (claimed by ``claimed_by`` until
    ``lease_until``; a grader that dies lets its lease run out and another takes the job again)
    -> graded (score, feedback) or failed (``problem`` says why, e.g. not a notebook)."""
    __tablename__ = "handin"
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"))
    lesson: Mapped[str] = mapped_column(ForeignKey("handin_lesson.name"))
    request_key: Mapped[str | None] = mapped_column(String(64))   # the client's, for retries
    status: Mapped[str] = mapped_column(String(10))     # queued | grading | graded | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float | None] = mapped_column(Float)
    cells_json: Mapped[str] = mapped_column(Text, default="[]")       # per graded cell
    feedback_html: Mapped[str] = mapped_column(Text, default="")      # without hidden tests
    problem: Mapped[str] = mapped_column(Text, default="")
    graded_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (Index("ix_handin_student_lesson", "student_id", "lesson"),
                      Index("ix_handin_request", "student_id", "request_key", unique=True),
                      Index("ix_handin_queue", "status", "id"))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
