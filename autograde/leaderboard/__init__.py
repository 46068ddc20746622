"""A self-hosted, Kaggle-style class leaderboard (the genre challenge), and the class server
students hand their lesson notebooks in to, with a grade back.

- ``validation``: every problem of a submission CSV, with line numbers and how to fix it;
- ``scoring``: the metrics (via scikit-learn) and the seeded public/private split;
- ``models``: the database tables (SQLite by default, PostgreSQL by URL);
- ``store``: ``Leaderboard``, every rule, assembled from one module per concern: ``database``
  (engine, transactions, group commit), ``competition``, ``roster`` (students, tokens,
  sessions), ``submissions`` (recording and scoring), ``standings`` (leaderboard, export),
  ``handin`` (lesson notebooks and the grading queue);
- ``app``: the FastAPI server; ``deps`` (who is asking: FastAPI dependencies), ``api`` (the JSON
  API), ``pages`` (the HTML pages);
- ``grader``: the worker that grades queued hand-ins in the sandbox;
- ``cli``: the instructor commands (``autograde leaderboard ...``).
"""
from .store import Leaderboard, Refused  # noqa: F401
