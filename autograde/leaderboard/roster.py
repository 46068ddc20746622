"""Roster and identity: students, teams, tokens, login sessions (part of ``Leaderboard``), and
``Refused``, the answer to a request the rules refuse.

Secrets are never stored: tokens and session ids are kept as SHA-256 hashes (``models.token_hash``).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, func, select

from .database import naive_utc, utcnow
from .models import LoginSession, Student, Submission, Team, token_hash

SESSION_LIFETIME = timedelta(days=14)

STUDENT_BY_TOKEN = (select(Student.id, Student.name, Team.id, Team.name)
                    .join(Team, Student.team_id == Team.id)
                    .where(Student.token_hash == bindparam("token_hash")))


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


class Roster:
    """Registering the class and telling who is asking (part of ``Leaderboard``)."""

    def _team_named(self, s, team_name):
        """The team called ``team_name``, created if needed, in the session ``s``."""
        team = s.scalar(select(Team).where(Team.name == team_name))
        if team is None:
            team = Team(name=team_name)
            s.add(team)
            s.flush()
        return team

    def _student_named(self, s, name):
        student = s.scalar(select(Student).where(Student.name == name))
        if student is None:
            raise ValueError(f"no student named '{name}'")
        return student

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
                team = self._team_named(s, team_name)
                token = secrets.token_urlsafe(24)
                s.add(Student(name=name, team_id=team.id, token_hash=token_hash(token)))
                issued.append((name, team_name, token))
            self._audit(s, "instructor", "add-students", f"{len(issued)} students", now)
        return issued

    def set_team(self, name, team_name, now=None):
        """Move a student to a team (created if needed), as long as they have not submitted."""
        with self._write() as s:
            student = self._student_named(s, name)
            if s.scalar(select(func.count()).where(Submission.student_id == student.id)):
                raise ValueError(f"'{name}' has already submitted; teams are fixed after that")
            student.team_id = self._team_named(s, team_name).id
            self._audit(s, "instructor", "team", f"{name} -> {team_name}", now)

    def new_token(self, name, now=None):
        token = secrets.token_urlsafe(24)
        with self._write() as s:
            student = self._student_named(s, name)
            student.token_hash = token_hash(token)
            s.execute(LoginSession.__table__.delete().where(LoginSession.student_id == student.id))
            self._audit(s, "instructor", "new-token", name, now)
        return token

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
