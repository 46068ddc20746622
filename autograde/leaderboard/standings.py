"""Standings and export: what students and the instructor read (part of ``Leaderboard``)."""
from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select

from . import scoring
from .models import Audit, Student, Submission, Team
from .roster import Refused


class Standings:
    """The leaderboard, the submission lists, the CSV export, raw files and the audit log."""

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
        return self._audited_file(Submission, sub_id, actor, "download",
                                  f"No submission #{sub_id}.")

    def _audited_file(self, model, row_id, actor, action, missing):
        """(filename, raw bytes) of a stored upload, with an audit line saying who took it."""
        with self._write() as s:
            row = s.get(model, row_id)
            if row is None:
                raise Refused(404, missing)
            self._audit(s, actor, action, f"#{row_id}")
            return row.filename, row.raw

    def audit_log(self, limit=200):
        with self.Session() as s:
            return s.scalars(select(Audit).order_by(Audit.id.desc()).limit(limit)).all()
