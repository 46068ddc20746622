"""FastAPI dependencies: who is asking, for the JSON API (a bearer token) and the pages (a
session cookie, and the form's CSRF token), declared once and named in each route's signature.

The app keeps its ``Leaderboard`` in ``app.state.leaderboard`` and its clock in
``app.state.clock`` (the tests move time past a deadline or a midnight).
The two that read the database (``bearer_user``, ``session``) are plain functions, which
FastAPI runs in the thread pool, as it runs the routes: on the event loop, their reads would
hold up every other request waiting to be parsed. The others only look at what those found,
and are ``async``: no trip to the thread pool for them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import Depends, Form, Request
from fastapi.responses import Response

from . import scoring
from .store import Leaderboard, Refused, User

COOKIE = "mirkit_session"


async def leaderboard(request: Request) -> Leaderboard:
    return request.app.state.leaderboard


async def now(request: Request) -> datetime:
    return request.app.state.clock()


def bearer_user(request: Request, lb: Leaderboard = Depends(leaderboard)) -> User | None:
    """The user of ``Authorization: Bearer <token>``, or None (no header, unknown token)."""
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        return None
    return lb.authenticate(auth[7:].strip())


def _required(user: User | None, kind: str) -> User:
    if user is None:
        raise Refused(401, "Missing or unknown token: send 'Authorization: Bearer <your token>'.")
    if user.kind != kind:
        raise Refused(403, "This needs the instructor token." if kind == "instructor"
                      else "This needs a student token.")
    return user


async def api_student(user: User | None = Depends(bearer_user)) -> User:
    return _required(user, "student")


async def api_instructor(user: User | None = Depends(bearer_user)) -> User:
    return _required(user, "instructor")


async def api_user(user: User | None = Depends(bearer_user)) -> User:
    """A student or the instructor."""
    if user is None:
        return _required(user, "student")
    return user


@dataclass
class PageUser:
    user: User | None
    csrf: str | None


def session(request: Request, lb: Leaderboard = Depends(leaderboard),
            t: datetime = Depends(now)) -> PageUser:
    """The logged-in user of the session cookie (``user`` None when logged out)."""
    return PageUser(*lb.session_user(request.cookies.get(COOKIE), t))


def _page(who: PageUser, kind: str, csrf: str | None = None) -> PageUser:
    if who.user is None:
        raise Refused(303, "/login")
    if who.user.kind != kind:
        raise Refused(403, "This page needs the instructor token: log in with it."
                      if kind == "instructor" else "This page is for students.")
    if csrf is not None and csrf != who.csrf:
        raise Refused(403, "The form has expired: reload the page and try again.")
    return who


async def page_student(who: PageUser = Depends(session)) -> PageUser:
    return _page(who, "student")


async def page_instructor(who: PageUser = Depends(session)) -> PageUser:
    return _page(who, "instructor")


async def form_student(who: PageUser = Depends(session), csrf: str = Form("")) -> PageUser:
    """A student's form: logged in, and the form carries the session's CSRF token."""
    return _page(who, "student", csrf)


async def form_instructor(who: PageUser = Depends(session), csrf: str = Form("")) -> PageUser:
    return _page(who, "instructor", csrf)


def competition_info(lb: Leaderboard) -> dict:
    """The public facts of the competition (``/api/competition``, and every page's header)."""
    c = lb.comp
    return {"title": c.title, "metric": c.metric,
            "higher_is_better": scoring.higher_is_better(c.metric),
            "id_column": c.id_column, "label_column": c.label_column,
            "columns": list(lb.spec.columns), "labels": lb.labels, "n_ids": len(lb.ids),
            "daily_limit": c.daily_limit, "selections": c.selections,
            "max_bytes": c.max_bytes, "closed": lb.closed,
            "deadline": c.deadline.isoformat() + "Z" if c.deadline else None}


def download(filename, raw, media_type="text/csv", default="submission.csv"):
    """A file the browser saves (``filename`` cleaned: it comes from a student)."""
    safe = "".join(ch for ch in filename if ch.isalnum() or ch in "._-") or default
    return Response(raw, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{safe}"'})
