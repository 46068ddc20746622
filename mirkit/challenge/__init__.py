"""Take part in the class genre challenge (lessons/10-genre-challenge) from Python or from the command line.

    from mirkit.challenge import Client, write_submission
    client = Client()                                   # URL and token from the environment
    write_submission("preds.csv", test_ids, predicted_genres, expected_ids=client.ids())
    client.submit("preds.csv")                         # -> your public score
    client.submissions()                                # your team's history

or ``python -m mirkit.challenge submit preds.csv``.

Handing in a lesson notebook, with a grade back (same server, same token)::

    python -m mirkit.challenge handin lessons/01-artificial-neuron/01-artificial-neuron.ipynb

or ``Client().handin(path)`` (waits for the grade and returns it), or ``handin_button()`` in the
last cell of a lesson. The server address and your token come from
the arguments ``url=``/``token=`` (``--url``/``--token``), else from the environment variables
MIRKIT_CHALLENGE_URL and MIRKIT_CHALLENGE_TOKEN. Every failure raises ``ChallengeError`` with a
message that says what to do.
"""
from __future__ import annotations

import csv
import json
import os
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx

URL_VAR, TOKEN_VAR = "MIRKIT_CHALLENGE_URL", "MIRKIT_CHALLENGE_TOKEN"


class ChallengeError(Exception):
    """A submission or request that did not go through; ``errors`` lists the file's problems."""

    def __init__(self, message, errors=()):
        self.errors = list(errors)
        super().__init__("\n".join([message] + [f"  - {e}" for e in self.errors]))


def _shown(values, n=3):
    values = list(values)
    return ", ".join(repr(v) for v in values[:n]) + (", ..." if len(values) > n else "")


def id_problems(ids, expected_ids):
    """What is wrong with a list of ids, compared with the test set's ids (empty list: nothing)."""
    ids = [str(i) for i in ids]
    expected = {str(i) for i in expected_ids}
    problems = []
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    if dupes:
        problems.append(f"{len(dupes)} ids appear more than once ({_shown(dupes)}): keep one line per id")
    unknown = [i for i in dict.fromkeys(ids) if i not in expected]
    if unknown:
        problems.append(f"{len(unknown)} ids are not in the test set ({_shown(unknown)})")
    missing = sorted(expected - set(ids))
    if missing:
        problems.append(f"{len(missing)} test ids are missing ({_shown(missing)}): "
                        "predict every id of the test set")
    return problems


def write_submission(path, ids, predictions, *, id_column="track", label_column="genre_id",
                     labels=None, expected_ids=None):
    """Write a submission CSV.

    predictions: one label per id (shape (N,)), or, for a log-loss competition, one row of
    probabilities per id (shape (N, C)) with ``labels`` naming the C columns.
    expected_ids: the test set's ids (``Client().ids()``); when given, the ids are checked first.
    """
    ids = [str(i) for i in ids]
    rows = [list(p) if hasattr(p, "__len__") and not isinstance(p, str) else p for p in predictions]
    if len(rows) != len(ids):
        raise ValueError(f"{len(ids)} ids but {len(rows)} predictions: give one prediction per id")
    proba = bool(rows) and isinstance(rows[0], list)
    if proba and (labels is None or len(labels) != len(rows[0])):
        raise ValueError("probability rows need labels=[...] naming their columns, one per column")
    if expected_ids is not None:
        problems = id_problems(ids, expected_ids)
        if problems:
            raise ValueError("the ids do not match the test set: " + "; ".join(problems))
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([id_column] + ([str(lab) for lab in labels] if proba else [label_column]))
        for i, p in zip(ids, rows):
            w.writerow([i] + ([repr(float(v)) for v in p] if proba else [_label(p)]))
    return Path(path)


def _label(p):
    """3 rather than 3.0 or np.int64(3)."""
    if hasattr(p, "item"):
        p = p.item()
    if isinstance(p, float) and p.is_integer():
        p = int(p)
    return str(p)


class Client:
    """Talks to the class leaderboard server over HTTP."""

    def __init__(self, url=None, token=None, *, http=None, timeout=60.0):
        self.url = (url or os.environ.get(URL_VAR) or "").rstrip("/")
        self.token = token or os.environ.get(TOKEN_VAR)
        if not self.url and http is None:
            raise ChallengeError(f"No server address: pass url=... (--url) or set {URL_VAR}, "
                                 "e.g. http://192.168.1.10:8000")
        self.http = http or httpx.Client(base_url=self.url, timeout=timeout)

    def _request(self, method, path, auth=True, retries=0, **kw):
        """``retries``: times to try again, 1, 2, 4... s apart, when the server cannot be
        reached (only for requests that are safe to repeat)."""
        headers = {}
        if auth:
            if not self.token:
                raise ChallengeError(f"No token: pass token=... (--token) or set {TOKEN_VAR} "
                                     "to the token your instructor gave you.")
            headers["Authorization"] = f"Bearer {self.token}"
        for attempt in range(retries + 1):
            try:
                resp = self.http.request(method, path, headers=headers, **kw)
                break
            except httpx.TransportError as exc:
                if attempt == retries:
                    raise ChallengeError(
                        f"Cannot reach the leaderboard at {self.url or 'the server'} "
                        f"({type(exc).__name__}: {exc}). Check the address ({URL_VAR} or "
                        "--url), your network, and that the server is running.") from None
                time.sleep(2 ** attempt)
        try:
            body = resp.json()
        except ValueError:
            body = {"detail": resp.text[:300]}
        if resp.status_code == 401:
            raise ChallengeError("The server does not know this token. Copy it exactly as your "
                                 f"instructor gave it ({TOKEN_VAR} or --token).")
        if resp.status_code >= 500:
            raise ChallengeError(f"The leaderboard had an internal error ({resp.status_code}); your "
                                 "file was not accepted. Try again in a moment; if it persists, "
                                 "tell your instructor.")
        if resp.status_code >= 400:
            detail = body.get("detail") if isinstance(body, dict) else str(body)
            if not isinstance(detail, str):          # a malformed request (FastAPI's own format)
                detail = f"the server refused the request: {detail}"
            raise ChallengeError(f"Refused ({resp.status_code}): {detail}",
                                 body.get("errors", []) if isinstance(body, dict) else [])
        return body

    def competition(self):
        """Title, metric, columns, labels, daily limit, deadline, ..."""
        return self._request("GET", "/api/competition", auth=False)

    def ids(self):
        """The ids of the test set (all of them: which ones are public is not revealed)."""
        return self._request("GET", "/api/ids", auth=False)["ids"]

    def check(self, path):
        """Problems of the file's header and ids, found locally before sending (empty: none)."""
        info = self.competition()
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
            rows = [r for r in csv.reader(f) if any(v.strip() for v in r)]
        if not rows:
            return ["the file is empty"]
        header = [h.strip() for h in rows[0]]
        if sorted(header) != sorted(info["columns"]):
            return [f"the header is {','.join(header)!r} but must be {','.join(info['columns'])!r}"]
        col = header.index(info["id_column"])
        return id_problems([r[col].strip() if len(r) > col else "" for r in rows[1:]], self.ids())

    def submit(self, path, check=True):
        """Send a submission; returns it (id, status, public score). Raises ChallengeError."""
        path = Path(path)
        if not path.is_file():
            raise ChallengeError(f"No file {path}: write it first (write_submission).")
        if check:
            problems = self.check(path)
            if problems:
                raise ChallengeError(f"{path} was not sent: fix it first.", problems)
        files = {"file": (path.name, path.read_bytes(), "text/csv")}
        return self._request("POST", "/api/submissions", files=files)["submission"]

    def submissions(self):
        """Your team's submissions, newest first."""
        return self._request("GET", "/api/submissions")["submissions"]

    def select(self, submission_id, selected=True):
        """Choose (or with selected=False, drop) one of your final submissions."""
        action = "select" if selected else "unselect"
        return self._request("POST", f"/api/submissions/{int(submission_id)}/{action}")

    def leaderboard(self):
        return self._request("GET", "/api/leaderboard", auth=False)

    # ------------------------------------------------------------------ lesson hand-ins
    def handin_lessons(self):
        """The lessons open for hand-in: name, deadline, hand-ins allowed per student."""
        return self._request("GET", "/api/handin/lessons", auth=False)["lessons"]

    def handin(self, path, lesson=None, wait=True, timeout=900.0, poll=2.0, on_wait=None):
        """Hand in a lesson notebook; returns the hand-in (id, status, and once graded: score,
        max_score, cells with each exercise's points and message).

        lesson: the lesson's folder name; by default the notebook's file name without .ipynb.
        wait: poll until the grade is back (or ``timeout`` seconds), calling ``on_wait(handin)``
        at each poll; False returns at once with status 'queued'. If the connection breaks,
        the upload is sent again with the same key: the server records it once."""
        path = Path(path)
        if not path.is_file():
            raise ChallengeError(f"No file {path}: give the path of your lesson notebook (.ipynb).")
        raw = path.read_bytes()
        try:
            nb = json.loads(raw.decode("utf-8-sig"))
            ok = isinstance(nb, dict) and isinstance(nb.get("cells"), list)
        except (UnicodeDecodeError, ValueError):
            ok = False
        if not ok:
            raise ChallengeError(f"{path} is not a Jupyter notebook: hand in the .ipynb file "
                                 "itself, saved from JupyterLab.")
        lesson = lesson or path.stem
        data = {"lesson": lesson, "key": uuid.uuid4().hex}
        files = {"file": (path.name, raw, "application/x-ipynb+json")}
        handin = self._request("POST", "/api/handins", data=data, files=files,
                               retries=3)["handin"]
        if not wait:
            return handin
        stop = time.monotonic() + timeout
        while handin["status"] in ("queued", "grading") and time.monotonic() < stop:
            if on_wait:
                on_wait(handin)
            time.sleep(poll)
            handin = self._request("GET", f"/api/handins/{handin['id']}", retries=3)["handin"]
        return handin

    def handins(self, lesson=None):
        """Your hand-ins, newest first, with their grades."""
        params = {"lesson": lesson} if lesson else None
        return self._request("GET", "/api/handins", params=params)["handins"]


def submit(path, url=None, token=None):
    """Send ``path`` to the leaderboard: ``mirkit.challenge.submit("preds.csv")``."""
    return Client(url, token).submit(path)


def handin(path, lesson=None, url=None, token=None, wait=True):
    """Hand in a lesson notebook and wait for its grade: ``mirkit.challenge.handin("01-....ipynb")``."""
    return Client(url, token).handin(path, lesson=lesson, wait=wait)


def describe_grade(h):
    """A hand-in's outcome in words, one line per exercise (the CLI and the button print it)."""
    if h["status"] in ("queued", "grading"):
        return (f"hand-in #{h['id']} of {h['lesson']} is {h['status']}: the grade is not back "
                "yet (`python -m mirkit.challenge handins` shows it later)")
    if h["status"] == "failed":
        return f"hand-in #{h['id']} of {h['lesson']} could not be graded: {h['problem']}"
    lines = [f"hand-in #{h['id']} of {h['lesson']}: {h['score']:g} / {h['max_score']:g} points"]
    for c in h["cells"]:
        mark = "✓" if c["passed"] else "✗"
        lines.append(f"  {mark} {c['name']}: {c['score']:g} / {c['max']:g}"
                     + (f"  {c['message']}" if c["message"] and not c["passed"] else ""))
    if h["problem"]:
        lines.append(f"  note: {h['problem']}")
    return "\n".join(lines)


from .button import handin_button  # noqa: E402  (uses Client, defined above)
