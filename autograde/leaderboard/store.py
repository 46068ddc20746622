"""``Leaderboard``: every rule of the competition and of the hand-ins, on top of the database;
used by the web app, the CLI and the grader workers. One class, assembled from one part per
concern, each in its own module:

- ``database``: engine, write transactions, the writer lock and group commit, the audit line;
- ``competition``: creating the competition from the hidden labels, reading it, closing it;
- ``roster``: students, teams, tokens, login sessions (who is asking);
- ``submissions``: recording and scoring submissions, the daily limit, the final selection;
- ``standings``: the leaderboard, submission lists, CSV export, raw files, audit log;
- ``handin``: lesson notebooks handed in, the grading queue, the gradebook.
"""
from __future__ import annotations

from .competition import CompetitionRules, read_labels_csv  # noqa: F401
from .database import Database, GroupCommit, WriterLock, naive_utc, utcnow  # noqa: F401
from .handin import Handins
from .roster import SESSION_LIFETIME, Refused, Roster, User  # noqa: F401
from .standings import Standings
from .submissions import CLOSED, Submissions  # noqa: F401


class Leaderboard(Database, CompetitionRules, Roster, Submissions, Standings, Handins):
    """One competition stored in the database ``db`` (a file path or a SQLAlchemy URL):
    ``Leaderboard(db)`` opens it, ``Leaderboard.create(db, labels_csv, ...)`` makes it."""
