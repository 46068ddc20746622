"""The database: one competition per database, its teams, students, submissions, sessions, audit.

SQLite (a file, in WAL mode, fsync on every commit) by default; PostgreSQL when given a URL
such as ``postgresql://user@host/db``. Times are stored as naive UTC datetimes.
Secrets are never stored: tokens and session ids are kept as SHA-256 hashes (they are long random
strings from ``secrets.token_urlsafe``, so a fast hash is enough).
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from sqlalchemy import (Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String,
                        Text, create_engine, event)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


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


class Submission(Base):
    __tablename__ = "submission"
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"))
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    filename: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    raw: Mapped[bytes] = mapped_column(LargeBinary)     # the file exactly as received
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


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def database_url(db: str) -> str:
    """A SQLAlchemy URL from a URL or a plain file path (a path means SQLite)."""
    if "://" not in db:
        return f"sqlite:///{Path(db).expanduser().resolve()}"
    if db.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + db.split("://", 1)[1]
    return db


def make_engine(db: str):
    url = database_url(db)
    if not url.startswith("sqlite"):
        # No ping before every checkout: it cost a round trip per query (about 1 ms of server
        # CPU per submission, the difference for the p99 goal). If PostgreSQL restarts, the
        # request that meets a dead connection fails with an error (nothing was accepted, so
        # nothing is lost; the student submits again) and SQLAlchemy then renews the whole pool.
        return create_engine(url, pool_size=20, max_overflow=30, pool_pre_ping=False)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                           pool_size=20, max_overflow=30)

    @event.listens_for(engine, "connect")
    def _sqlite_settings(dbapi_connection, _record):
        # let SQLAlchemy, not the sqlite3 module, decide where transactions begin
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")      # readers never wait for the writer
        cur.execute("PRAGMA synchronous=FULL")      # a commit is on disk when it returns
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn):
        # a writer takes the write lock at once (IMMEDIATE): a plain BEGIN would let another
        # process write between this transaction's reads and its writes, and then fail
        writer = conn.get_execution_options().get("writer", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine
