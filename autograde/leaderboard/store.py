"""Every rule of the competition, on top of the database; used by the web app and the CLI.

The order of a submission, so that none is ever lost:

1. the file is validated (pure, no database); an invalid file is recorded as ``invalid`` with
   its errors and does not count against the daily limit;
2. in ONE transaction: the team's row is locked, today's count checked, and the submission
   inserted as ``pending`` with its raw bytes and SHA-256, plus its audit line; commit;
3. it is scored, and the scores written in a second transaction (``scored``).

A crash before 2 commits leaves no trace (and the client got no answer); after it, the record is
complete and ``score_pending()`` (run when the server starts) finishes step 3.

Writes from many requests at once share transactions ("group commit", see ``GroupCommit``): a
commit costs a wait for the disk, and one per submission capped a class at ~100 per second.
Sharing a transaction changes none of the above: each submission is still checked, inserted
and committed before it is scored, and no student hears "accepted" before that commit is done.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

try:
    import fcntl
except ImportError:                       # Windows: no flock, SQLite's own waiting remains
    fcntl = None

import numpy as np
from sqlalchemy import bindparam, func, insert, inspect, select, update
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import sessionmaker

from . import scoring
from .models import (Audit, Base, Competition, LoginSession, Student, Submission, Team,
                     database_url, make_engine, token_hash)
from .validation import Spec, validate

SESSION_LIFETIME = timedelta(days=14)
CLOSED = "The competition is closed: no more submissions."

# The statements of the submission path, built once: building a statement costs SQLAlchemy
# several times more than running it.
CLOSED_AT = select(Competition.closed_at)
STUDENT_BY_TOKEN = (select(Student.id, Student.name, Team.id, Team.name)
                    .join(Team, Student.team_id == Team.id)
                    .where(Student.token_hash == bindparam("token_hash")))
USED_SINCE = (select(func.count()).select_from(Submission)
              .where(Submission.team_id == bindparam("team_id"), Submission.status != "invalid",
                     Submission.created_at >= bindparam("since")))
LOCK_TEAMS = (select(Team.id).where(Team.id.in_(bindparam("teams", expanding=True)))
              .order_by(Team.id).with_for_update())
INSERT_SUBMISSION = insert(Submission.__table__)
INSERT_AUDIT = insert(Audit.__table__)
SET_SCORES = update(Submission.__table__).where(Submission.id == bindparam("submission_id"))


def utcnow():
    return datetime.now(timezone.utc)


def naive_utc(t: datetime) -> datetime:
    return t.astimezone(timezone.utc).replace(tzinfo=None) if t.tzinfo else t


class Refused(Exception):
    """A request the rules refuse; ``status`` is the HTTP status the web app answers with."""

    def __init__(self, status, message, errors=(), submission_id=None):
        super().__init__(message)
        self.status, self.message, self.errors = status, message, list(errors)
        self.submission_id = submission_id


@dataclass
class User:
    kind: str                   # "student" or "instructor"
    student_id: int | None = None
    name: str = "instructor"
    team_id: int | None = None
    team: str = ""

    @property
    def actor(self):
        return "instructor" if self.kind == "instructor" else f"student:{self.name}"


def read_labels_csv(path, id_column, label_column):
    """(ids, labels) from the hidden labels CSV, with a clear error for every kind of mistake."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        cols = [c.strip() for c in reader.fieldnames or []]
        for col in (id_column, label_column):
            if col not in cols:
                raise ValueError(f"{path}: no column '{col}' (columns: {', '.join(cols)}); "
                                 "give the right names with --id-column / --label-column")
        reader.fieldnames = cols
        ids, labels, seen = [], [], set()
        for row in reader:
            tid, lab = row[id_column].strip(), (row[label_column] or "").strip()
            if not tid and not lab:
                continue
            if not tid or not lab:
                raise ValueError(f"{path}, line {reader.line_num}: empty id or label")
            if tid in seen:
                raise ValueError(f"{path}, line {reader.line_num}: id '{tid}' appears twice")
            seen.add(tid)
            ids.append(tid)
            labels.append(lab)
    if len(ids) < 2:
        raise ValueError(f"{path}: needs at least 2 labelled ids, found {len(ids)}")
    return ids, labels


def _sort_labels(labels):
    labels = sorted(set(labels))
    try:
        return sorted(labels, key=int)          # 0, 1, 2, ..., 10 rather than 0, 1, 10, 2
    except ValueError:
        return labels


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


class Leaderboard:
    """One competition stored in the database ``db`` (a file path or a SQLAlchemy URL)."""

    def __init__(self, db: str, must_exist=True):
        url = database_url(str(db))
        if must_exist and url.startswith("sqlite:///") and not Path(url[10:]).exists():
            raise RuntimeError(f"no database {url[10:]}: run 'leaderboard create --db ...' first, "
                               "or give the right --db")
        self.engine = make_engine(str(db))
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.Session = sessionmaker(self.engine, expire_on_commit=False)
        # write transactions start with BEGIN IMMEDIATE on SQLite (see models.make_engine)
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
        self._comp = None

    # ------------------------------------------------------------------ setup
    @classmethod
    def create(cls, db, labels_csv, *, title="Genre challenge", metric="accuracy",
               id_column="track", label_column="genre_id", labels=None, public_fraction=0.3,
               seed=0, daily_limit=5, selections=2, deadline=None, max_bytes=5_000_000, now=None):
        """Create the competition; returns (Leaderboard, instructor token). The token is shown once."""
        scoring.check_metric(metric)
        lb = cls(db, must_exist=False)       # the engine connects lazily: nothing is created yet
        url = database_url(str(db))
        if not url.startswith("sqlite:///") or Path(url[10:]).exists():
            if inspect(lb.engine).has_table("competition"):
                raise ValueError("this database already holds a competition; use another --db")
        ids, truth = read_labels_csv(labels_csv, id_column, label_column)
        vocab = list(labels) if labels else _sort_labels(truth)
        unknown = sorted(set(truth) - set(vocab))
        if unknown:
            raise ValueError(f"labels {unknown[:5]} of {labels_csv} are not in the vocabulary {vocab}")
        if daily_limit < 1 or selections < 1:
            raise ValueError("the daily limit and the number of selections must be at least 1")
        mask = scoring.public_mask(len(ids), public_fraction, seed)
        Base.metadata.create_all(lb.engine)
        token = secrets.token_urlsafe(32)
        now = naive_utc(now or utcnow())
        with lb.Session.begin() as s:
            if s.scalar(select(func.count()).select_from(Competition)):
                raise ValueError("this database already holds a competition; use another --db")
            index = {lab: i for i, lab in enumerate(vocab)}
            s.add(Competition(
                id=1, title=title, metric=metric, id_column=id_column, label_column=label_column,
                labels_json=json.dumps(vocab), ids_json=json.dumps(ids),
                truth_json=json.dumps([index[t] for t in truth]),
                public_json=json.dumps(mask.astype(int).tolist()), public_fraction=public_fraction,
                seed=seed, daily_limit=daily_limit, selections=selections, max_bytes=max_bytes,
                deadline=naive_utc(deadline) if deadline else None,
                instructor_token_hash=token_hash(token), created_at=now, closed_at=None))
            lb._audit(s, "instructor", "create", f"{title}: {len(ids)} ids, metric {metric}", now)
        return lb, token

    @property
    def comp(self) -> Competition:
        """The competition row, read once (only close() changes it, and it refreshes this)."""
        if self._comp is None:
            try:
                with self.Session() as s:
                    self._comp = s.get(Competition, 1)
            except (OperationalError, ProgrammingError):
                self._comp = None                      # no tables: not a leaderboard database
            if self._comp is None:
                raise RuntimeError("no competition in this database: run 'leaderboard create' first")
            c = self._comp
            self.ids = json.loads(c.ids_json)
            self.labels = json.loads(c.labels_json)
            self.truth = np.asarray(json.loads(c.truth_json), dtype=np.int64)
            self.public = np.asarray(json.loads(c.public_json), dtype=bool)
            self.spec = Spec(c.id_column, c.label_column, tuple(self.ids), tuple(self.labels),
                             scoring.uses_probabilities(c.metric), c.max_bytes)
        return self._comp

    def open_connections(self, n):
        """Open ``n`` pooled database connections now (a server about to start), rather than
        while the first requests wait: a PostgreSQL connection costs the server a new process."""
        conns = [self.engine.connect() for _ in range(n)]
        for conn in conns:
            conn.scalar(CLOSED_AT)
            conn.close()

    def refresh(self):
        self._comp = None
        return self.comp

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
        If none of them needs it (scores only: see _score), the commit does not wait for the
        disk."""
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

    def add_students(self, rows, now=None):
        """rows: dicts with 'name' and optional 'team'. Returns [(name, team, token)]: the only
        time the tokens exist in clear."""
        issued = []
        with self._write() as s:
            for row in rows:
                name = (row.get("name") or "").strip()
                team_name = (row.get("team") or "").strip() or name
                if not name:
                    raise ValueError(f"a roster line has no name: {row}")
                if s.scalar(select(Student).where(Student.name == name)):
                    raise ValueError(f"student '{name}' is already registered "
                                     "(use 'leaderboard token' to issue a new token)")
                team = s.scalar(select(Team).where(Team.name == team_name))
                if team is None:
                    team = Team(name=team_name)
                    s.add(team)
                    s.flush()
                token = secrets.token_urlsafe(24)
                s.add(Student(name=name, team_id=team.id, token_hash=token_hash(token)))
                issued.append((name, team_name, token))
            self._audit(s, "instructor", "add-students", f"{len(issued)} students", now)
        return issued

    def set_team(self, name, team_name, now=None):
        """Move a student to a team (created if needed), as long as they have not submitted."""
        with self._write() as s:
            student = s.scalar(select(Student).where(Student.name == name))
            if student is None:
                raise ValueError(f"no student named '{name}'")
            if s.scalar(select(func.count()).where(Submission.student_id == student.id)):
                raise ValueError(f"'{name}' has already submitted; teams are fixed after that")
            team = s.scalar(select(Team).where(Team.name == team_name))
            if team is None:
                team = Team(name=team_name)
                s.add(team)
                s.flush()
            student.team_id = team.id
            self._audit(s, "instructor", "team", f"{name} -> {team_name}", now)

    def new_token(self, name, now=None):
        token = secrets.token_urlsafe(24)
        with self._write() as s:
            student = s.scalar(select(Student).where(Student.name == name))
            if student is None:
                raise ValueError(f"no student named '{name}'")
            student.token_hash = token_hash(token)
            s.execute(LoginSession.__table__.delete().where(LoginSession.student_id == student.id))
            self._audit(s, "instructor", "new-token", name, now)
        return token

    # ------------------------------------------------------------------ identity
    def authenticate(self, token: str | None) -> User | None:
        if not token:
            return None
        h = token_hash(token)
        if secrets.compare_digest(h, self.comp.instructor_token_hash):
            return User("instructor")
        with self._reader.connect() as conn:        # plain rows: no ORM objects needed here
            row = conn.execute(STUDENT_BY_TOKEN, {"token_hash": h}).first()
        return None if row is None else User("student", *row)

    def start_session(self, user: User, now=None):
        """A login session: returns (cookie value, csrf token). Only the cookie's hash is stored."""
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(16)
        now = naive_utc(now or utcnow())
        with self._write() as s:
            s.add(LoginSession(id_hash=token_hash(cookie), student_id=user.student_id, csrf=csrf,
                               expires_at=now + SESSION_LIFETIME))
            self._audit(s, user.actor, "login", "", now)
        return cookie, csrf

    def session_user(self, cookie, now=None):
        """(User, csrf) for a session cookie, or (None, None)."""
        if not cookie:
            return None, None
        with self.Session() as s:
            sess = s.get(LoginSession, token_hash(cookie))
            if sess is None or sess.expires_at < naive_utc(now or utcnow()):
                return None, None
            if sess.student_id is None:
                return User("instructor"), sess.csrf
            student = s.get(Student, sess.student_id)
            team = s.get(Team, student.team_id)
        return User("student", student.id, student.name, team.id, team.name), sess.csrf

    def end_session(self, cookie, user, now=None):
        with self._write() as s:
            s.execute(LoginSession.__table__.delete()
                      .where(LoginSession.id_hash == token_hash(cookie or "")))
            self._audit(s, user.actor, "logout", "", now)

    # ------------------------------------------------------------------ submissions
    def submit(self, user: User, filename: str, raw: bytes, now=None) -> Submission:
        """Record and score one submission; raises Refused (with every problem of the file)."""
        comp = self.comp
        now = naive_utc(now or utcnow())
        if user.kind != "student":
            raise Refused(403, "Only students submit; the instructor token cannot.")
        sha = hashlib.sha256(raw).hexdigest()
        late = None
        if comp.deadline is not None and now >= comp.deadline:
            late = (f"The deadline ({comp.deadline:%Y-%m-%d %H:%M} UTC) has passed: "
                    "no more submissions.")
        checked = validate(raw, self.spec)
        # an oversized file is refused without keeping its bytes (its size and hash are kept)
        row = dict(team_id=user.team_id, student_id=user.student_id, created_at=now,
                   filename=filename[:300], size=len(raw), sha256=sha,
                   raw=raw if len(raw) <= comp.max_bytes else b"",
                   errors_json=json.dumps(checked.messages()), selected=False,
                   status="pending" if checked.ok else "invalid")

        def record(conn):
            """Step 2, inside the transaction: the new id, or the Refused to raise."""
            refusal = CLOSED if conn.scalar(CLOSED_AT) is not None else late
            if refusal:
                self._audit(conn, user.actor, "refused", f"{filename} sha256={sha}: {refusal}", now)
                return Refused(403, refusal)
            # the team's row is locked (PostgreSQL) or the database is (SQLite), so that two
            # parallel uploads cannot both take the last slot of the day
            if checked.ok and self._used_today(conn, user.team_id, now) >= comp.daily_limit:
                self._audit(conn, user.actor, "refused", f"{filename} sha256={sha}: daily limit",
                            now)
                return Refused(429, f"Your team has used its {comp.daily_limit} submissions "
                                    f"for today; the count resets at midnight UTC "
                                    f"({self.next_reset(now):%Y-%m-%d %H:%M} UTC).")
            sub_id = conn.execute(INSERT_SUBMISSION, row).inserted_primary_key[0]
            self._audit(conn, user.actor, "submit" if checked.ok else "invalid",
                        f"#{sub_id} {filename} sha256={sha} {len(raw)} bytes", now)
            return sub_id

        sub_id = self._commits.run(record, team_id=user.team_id)
        if isinstance(sub_id, Refused):
            raise sub_id
        if not checked.ok:
            raise Refused(422, f"The file has {checked.total} problem(s); it was not scored and "
                               "does not count against your daily limit.",
                          checked.messages(), sub_id)
        scores = self._score(sub_id, checked.predictions)
        row.update(scores)
        return Submission(id=sub_id, **row)      # as stored (committed): what the student is told

    @staticmethod
    def next_reset(now):
        return datetime(now.year, now.month, now.day) + timedelta(days=1)

    def _used_today(self, s, team_id, now):
        return s.scalar(USED_SINCE, {"team_id": team_id,
                                     "since": datetime(now.year, now.month, now.day)})

    def used_today(self, team_id, now=None):
        with self.Session() as s:
            return self._used_today(s, team_id, naive_utc(now or utcnow()))

    def _score(self, sub_id, predictions=None, now=None):
        """Step 3: score a recorded submission and store its scores; returns what was stored.
        The commit need not reach the disk at once: if the scores are lost in a power cut, the
        submission is still recorded as 'pending' (that commit was durable) and is scored again
        when the server starts."""
        comp = self.comp
        status, errors, pub, priv = "scored", "[]", None, None
        if predictions is None:
            with self.Session() as s:
                raw = s.get(Submission, sub_id).raw
            checked = validate(raw, self.spec)
            if not checked.ok:   # only possible after the instructor changed the rules
                status, errors = "invalid", json.dumps(checked.messages())
            predictions = checked.predictions
        if status == "scored":
            pub, priv = scoring.score_both(comp.metric, self.truth, predictions, self.labels,
                                           self.public)
        values = dict(status=status, errors_json=errors, public_score=pub, private_score=priv,
                      scored_at=naive_utc(now or utcnow()))
        self._commits.run(lambda conn: conn.execute(SET_SCORES, {"submission_id": sub_id, **values}),
                          durable=False)
        return values

    def score_pending(self):
        """Score what a crash left pending; returns how many."""
        with self.Session() as s:
            ids = s.scalars(select(Submission.id).where(Submission.status == "pending")).all()
        for sub_id in ids:
            self._score(sub_id)
        if ids:
            with self._write() as s:
                self._audit(s, "server", "score-pending", f"{len(ids)} submissions")
        return len(ids)

    def rescore(self, now=None):
        """Validate and score every recorded submission again (after the labels were corrected)."""
        with self.Session() as s:
            ids = s.scalars(select(Submission.id).where(Submission.status != "invalid")
                            .order_by(Submission.id)).all()
        for sub_id in ids:
            self._score(sub_id, now=now)
        with self._write() as s:
            self._audit(s, "instructor", "rescore", f"{len(ids)} submissions", now)
        return len(ids)

    def select_final(self, user: User, sub_id: int, selected: bool, now=None):
        comp = self.comp
        with self._write() as s:
            s.execute(select(Team.id).where(Team.id == user.team_id).with_for_update())
            sub = s.get(Submission, sub_id)
            if sub is None or sub.team_id != user.team_id:
                raise Refused(404, f"Your team has no submission #{sub_id}.")
            if s.scalar(select(Competition.closed_at)) is not None:
                raise Refused(403, "The competition is closed: the final selection is fixed.")
            if sub.status != "scored":
                raise Refused(409, f"Submission #{sub_id} was not scored, so it cannot be selected.")
            if selected and not sub.selected:
                n = s.scalar(select(func.count()).select_from(Submission).where(
                    Submission.team_id == user.team_id, Submission.selected.is_(True)))
                if n >= comp.selections:
                    raise Refused(409, f"Your team has already selected {comp.selections} "
                                       "submissions; unselect one first.")
            sub.selected = selected
            self._audit(s, user.actor, "select" if selected else "unselect", f"#{sub_id}", now)

    # ------------------------------------------------------------------ reading
    def team_submissions(self, team_id):
        with self.Session() as s:
            rows = s.execute(select(Submission, Student.name)
                             .join(Student, Submission.student_id == Student.id)
                             .where(Submission.team_id == team_id)
                             .order_by(Submission.id.desc())).all()
        return [self.describe(sub, who, private=self.closed) for sub, who in rows]

    def all_submissions(self):
        with self.Session() as s:
            rows = s.execute(select(Submission, Student.name, Team.name)
                             .join(Student, Submission.student_id == Student.id)
                             .join(Team, Submission.team_id == Team.id)
                             .order_by(Submission.id)).all()
        out = []
        for sub, who, team in rows:
            d = self.describe(sub, who, private=True)
            d["team"] = team
            out.append(d)
        return out

    def describe(self, sub, who, private):
        """A submission as a dict; the private score only when ``private`` is True."""
        d = {"id": sub.id, "student": who, "created_at": sub.created_at.isoformat() + "Z",
             "filename": sub.filename, "size": sub.size, "sha256": sub.sha256,
             "status": sub.status, "errors": json.loads(sub.errors_json),
             "public_score": sub.public_score, "selected": sub.selected}
        if private:
            d["private_score"] = sub.private_score
        return d

    @property
    def closed(self):
        """Read from the database each time: the CLI may close while the server runs."""
        self.comp
        with self._reader.connect() as conn:
            return conn.scalar(CLOSED_AT) is not None

    def _key(self, score, created_at, sub_id):
        """Sort key: best score first; ties go to the earlier submission."""
        sign = -1 if scoring.higher_is_better(self.comp.metric) else 1
        return (sign * score, created_at, sub_id)

    def standings(self, private=False):
        """Leaderboard rows: rank, team, score, entries, last entry (private needs close)."""
        self.comp
        with self.Session() as s:
            subs = s.execute(select(Submission.id, Submission.team_id, Submission.created_at,
                                    Submission.public_score, Submission.private_score,
                                    Submission.selected)
                             .where(Submission.status == "scored")).all()
            teams = dict(s.execute(select(Team.id, Team.name)).all())
        by_team = {}
        for row in subs:
            by_team.setdefault(row.team_id, []).append(row)
        board = []
        for team_id, rows in by_team.items():
            by_public = sorted(rows, key=lambda r: self._key(r.public_score, r.created_at, r.id))
            if private:
                chosen = [r for r in rows if r.selected] or by_public[:self.comp.selections]
                best = min(chosen, key=lambda r: self._key(r.private_score, r.created_at, r.id))
                score = best.private_score
            else:
                best = by_public[0]
                score = best.public_score
            board.append({"team": teams[team_id], "score": score, "entries": len(rows),
                          "last": max(r.created_at for r in rows).isoformat() + "Z",
                          "_key": self._key(score, best.created_at, best.id)})
        board.sort(key=lambda r: r.pop("_key"))
        for rank, row in enumerate(board, start=1):
            row["rank"] = rank
        return board

    def close(self, now=None):
        with self._write() as s:
            comp = s.get(Competition, 1)
            if comp.closed_at is None:
                comp.closed_at = naive_utc(now or utcnow())
            self._audit(s, "instructor", "close", "", now)
        self.refresh()

    def export_csv(self) -> str:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["submission", "team", "student", "created_at", "status", "public_score",
                    "private_score", "selected", "filename", "sha256"])
        for d in self.all_submissions():
            w.writerow([d["id"], d["team"], d["student"], d["created_at"], d["status"],
                        d["public_score"], d["private_score"], int(d["selected"]), d["filename"],
                        d["sha256"]])
        with self._write() as s:
            self._audit(s, "instructor", "export", "all scores")
        return out.getvalue()

    def raw_file(self, sub_id, actor="instructor"):
        with self._write() as s:
            sub = s.get(Submission, sub_id)
            if sub is None:
                raise Refused(404, f"No submission #{sub_id}.")
            self._audit(s, actor, "download", f"#{sub_id}")
            return sub.filename, sub.raw

    def audit_log(self, limit=200):
        with self.Session() as s:
            return s.scalars(select(Audit).order_by(Audit.id.desc()).limit(limit)).all()
