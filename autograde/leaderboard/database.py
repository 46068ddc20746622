"""The database side: engine setup, the writer lock and group commit, write transactions, audit.

SQLite (a file, in WAL mode, fsync on every commit) by default; PostgreSQL when given a URL
such as ``postgresql://user@host/db``. Times are stored as naive UTC datetimes.

Writes from many requests at once share transactions ("group commit", see ``GroupCommit``): a
commit costs a wait for the disk, and one per submission capped a class at ~100 per second.
Sharing a transaction changes none of the guarantees: each write is still checked, inserted
and committed before anyone hears it was recorded.
"""
from __future__ import annotations

import contextlib
import threading
from datetime import datetime, timezone
from pathlib import Path

try:
    import fcntl
except ImportError:                       # Windows: no flock, SQLite's own waiting remains
    fcntl = None

from sqlalchemy import bindparam, create_engine, event, insert, select
from sqlalchemy.orm import sessionmaker

from .models import Audit, Competition, Team

# built once: building a statement costs SQLAlchemy several times more than running it
CLOSED_AT = select(Competition.closed_at)
LOCK_TEAMS = (select(Team.id).where(Team.id.in_(bindparam("teams", expanding=True)))
              .order_by(Team.id).with_for_update())
INSERT_AUDIT = insert(Audit.__table__)


def utcnow():
    return datetime.now(timezone.utc)


def naive_utc(t: datetime) -> datetime:
    return t.astimezone(timezone.utc).replace(tzinfo=None) if t.tzinfo else t


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


class _Job:
    """One write waiting for a transaction: ``fn(connection)`` and what came of it."""
    __slots__ = ("fn", "durable", "team_id", "done", "result", "error")

    def __init__(self, fn, durable, team_id):
        self.fn, self.durable, self.team_id = fn, durable, team_id
        self.done, self.result, self.error = False, None, None

    def outcome(self):
        if self.error is not None:
            raise self.error
        return self.result


class GroupCommit:
    """Many threads' writes committed together, in one transaction and one wait for the disk.

    A thread queues its job and takes the leader's lock. The first to get it runs every queued
    job, one after the other in ONE transaction (``commit(jobs)``), and commits; the threads
    whose jobs it ran find them done and return at once. While the disk is busy with a commit,
    the next jobs queue up and go together in the next one. A job's results are seen only after
    its commit returned, so nothing is reported as recorded before it is on disk. If the shared
    transaction fails, its jobs are run again one per transaction, so that one bad job fails
    alone.

    This is for SQLite, where one writer at a time holds the database. PostgreSQL runs many
    transactions side by side and itself groups the disk writes of those that commit together,
    so there (``grouped=False``) each job runs in its own transaction, at once.
    """

    def __init__(self, commit, grouped=True):
        self._commit, self.grouped = commit, grouped
        self._queue, self._queue_lock = [], threading.Lock()
        self._leader = threading.Lock()

    def run(self, fn, durable=True, team_id=None):
        """``fn(connection)``'s result, once committed. ``durable=False``: the commit may reach
        the disk a little later (only for what can be recomputed); ``team_id``: a team whose row
        the transaction locks first."""
        job = _Job(fn, durable, team_id)
        if not self.grouped:
            self._run([job])
            return job.outcome()
        with self._queue_lock:
            self._queue.append(job)
        with self._leader:
            if not job.done:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._run(batch)
        return job.outcome()

    def _run(self, batch):
        try:
            results = self._commit(batch)
        except Exception as exc:
            if len(batch) > 1:
                for job in batch:
                    self._run([job])
                return
            batch[0].error = exc
        except BaseException:               # KeyboardInterrupt...: nobody may wait forever
            for job in batch:
                job.error, job.done = RuntimeError("the transaction was interrupted"), True
            raise
        else:
            for job, result in zip(batch, results):
                job.result = result
        for job in batch:
            job.done = True


class WriterLock:
    """One SQLite writer at a time, among threads and processes (a server's workers, the CLI).

    SQLite would make the others wait too, but by polling: a writer that finds the database
    busy sleeps 1, 2, 5, 10... ms and tries again, while a writer in another process may take
    the lock again and again in the meantime. Here they queue on a lock file instead (flock:
    they wake up as soon as it is free). Where flock does not exist (Windows), SQLite's own
    waiting remains."""

    def __init__(self, path):
        self._threads = threading.Lock()
        self._path, self._file = path, None

    def __enter__(self):
        self._threads.acquire()
        if fcntl is not None and self._path:
            try:
                if self._file is None:
                    self._file = open(self._path, "a")   # noqa: SIM115 (kept open: it is the lock)
                fcntl.flock(self._file, fcntl.LOCK_EX)
            except BaseException:
                self._threads.release()
                raise
        return self

    def __exit__(self, *exc):
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
        self._threads.release()


class Database:
    """The engine of the database ``db`` (a file path or a SQLAlchemy URL), its sessions and
    write transactions; the other parts of ``Leaderboard`` build on these."""

    def __init__(self, db: str, must_exist=True):
        url = database_url(str(db))
        if must_exist and url.startswith("sqlite:///") and not Path(url[10:]).exists():
            raise RuntimeError(f"no database {url[10:]}: run 'leaderboard create --db ...' first, "
                               "or give the right --db")
        self.engine = make_engine(str(db))
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.Session = sessionmaker(self.engine, expire_on_commit=False)
        # write transactions start with BEGIN IMMEDIATE on SQLite (see make_engine)
        self._writer = self.engine.execution_options(writer=True)
        # one-statement reads need no transaction: on PostgreSQL, that saves two round trips
        # (BEGIN, ROLLBACK); SQLite, in the same process, hardly notices them
        self._reader = (self.engine if self.is_sqlite
                        else self.engine.execution_options(isolation_level="AUTOCOMMIT"))
        self.WriteSession = sessionmaker(self._writer, expire_on_commit=False)
        # SQLite allows one writer at a time: queue writers here rather than in SQLite's busy loop
        self._write_lock = (WriterLock(url[10:] + "-writer" if url.startswith("sqlite:///")
                                       else None) if self.is_sqlite else contextlib.nullcontext())
        self._commits = GroupCommit(self._commit_jobs, grouped=self.is_sqlite)

    def open_connections(self, n):
        """Open ``n`` pooled database connections now (a server about to start), rather than
        while the first requests wait: a PostgreSQL connection costs the server a new process."""
        conns = [self.engine.connect() for _ in range(n)]
        for conn in conns:
            conn.scalar(CLOSED_AT)
            conn.close()

    def _audit(self, s, actor, action, detail="", now=None):
        """Add an audit line in the transaction of ``s`` (a Session or a Connection)."""
        s.execute(INSERT_AUDIT, dict(at=naive_utc(now or utcnow()), actor=actor, action=action,
                                     detail=detail))

    @contextlib.contextmanager
    def _write(self):
        """A write transaction (ORM session). On SQLite it starts with BEGIN IMMEDIATE, which
        takes the database's write lock at once: what the transaction reads (today's count, the
        number of selections) cannot change before it commits, even when another process (a
        second server worker, an instructor command) writes to the same file."""
        with self._write_lock, self.WriteSession.begin() as s:
            yield s

    def _commit_jobs(self, jobs):
        """Run the jobs of a GroupCommit in one write transaction; returns their results.
        If none of them needs it (scores only), the commit does not wait for the disk."""
        durable = any(job.durable for job in jobs)
        with self._write_lock, self._writer.connect() as conn:
            driver = conn.connection.driver_connection
            if self.is_sqlite:              # (SQLite refuses to change this in a transaction)
                driver.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            try:
                with conn.begin():
                    if not durable and not self.is_sqlite:
                        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                    teams = sorted({job.team_id for job in jobs if job.team_id is not None})
                    if teams and not self.is_sqlite:
                        # lock the teams' rows (in one order: no deadlock); on SQLite, BEGIN
                        # IMMEDIATE already holds the whole database
                        conn.execute(LOCK_TEAMS, {"teams": teams})
                    return [job.fn(conn) for job in jobs]
            finally:
                if self.is_sqlite and not durable:   # back to the default of every connection
                    driver.execute("PRAGMA synchronous=FULL")
