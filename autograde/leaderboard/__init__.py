"""A self-hosted, Kaggle-style class leaderboard (lesson 10, the genre challenge).

- ``validation``: every problem of a submission CSV, with line numbers and how to fix it;
- ``scoring``: the metrics (via scikit-learn) and the seeded public/private split;
- ``models``: the database tables (SQLite by default, PostgreSQL by URL);
- ``store``: the rules (daily limit, deadline, final selection, close), never losing a submission;
- ``app``: the FastAPI server, JSON API and HTML pages;
- ``cli``: the instructor commands (``autograde leaderboard ...``).
"""
from .store import Leaderboard, Refused  # noqa: F401
