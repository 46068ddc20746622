"""Submissions and scoring: the daily limit, the deadline, the final selection (part of ``Leaderboard``).

The order of a submission, so that none is ever lost:

1. the file is validated (pure, no database); an invalid file is recorded as ``invalid`` with
   its errors and does not count against the daily limit;
2. in ONE transaction: the team's row is locked, today's count checked, and the submission
   inserted as ``pending`` with its raw bytes and SHA-256, plus its audit line; commit;
3. it is scored, and the scores written in a second transaction (``scored``).

A crash before 2 commits leaves no trace (and the client got no answer); after it, the record is
complete and ``score_pending()`` (run when the server starts) finishes step 3. Step 2 goes
through the group commit (``database.GroupCommit``): no student hears "accepted" before the
commit that holds their submission is done.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, insert, select, update

from . import scoring
from .database import CLOSED_AT, naive_utc, utcnow
from .models import Competition, Submission, Team
from .roster import Refused, User
from .validation import validate

CLOSED = "The competition is closed: no more submissions."

# The statements of the submission path, built once: building a statement costs SQLAlchemy
# several times more than running it.
USED_SINCE = (select(func.count()).select_from(Submission)
              .where(Submission.team_id == bindparam("team_id"), Submission.status != "invalid",
                     Submission.created_at >= bindparam("since")))
INSERT_SUBMISSION = insert(Submission.__table__)
SET_SCORES = update(Submission.__table__).where(Submission.id == bindparam("submission_id"))


class Submissions:
    """Recording, scoring and selecting submissions (part of ``Leaderboard``)."""

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
