"""The competition itself: created from the hidden labels CSV, read once, closed by the instructor."""
from __future__ import annotations

import csv
import json
import secrets
from pathlib import Path

import numpy as np
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from . import scoring
from .database import CLOSED_AT, database_url, naive_utc, utcnow
from .models import Base, Competition, token_hash
from .validation import Spec


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


class CompetitionRules:
    """Creating, reading and closing the competition (part of ``Leaderboard``)."""

    _comp = None

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

    def refresh(self):
        self._comp = None
        return self.comp

    @property
    def closed(self):
        """Read from the database each time: the CLI may close while the server runs."""
        self.comp
        with self._reader.connect() as conn:
            return conn.scalar(CLOSED_AT) is not None

    def close(self, now=None):
        with self._write() as s:
            comp = s.get(Competition, 1)
            if comp.closed_at is None:
                comp.closed_at = naive_utc(now or utcnow())
            self._audit(s, "instructor", "close", "", now)
        self.refresh()
