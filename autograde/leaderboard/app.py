"""The web server: a JSON API for the student client and plain HTML pages for browsers.

Identity (FastAPI dependencies, in ``deps``):
- the API (``/api/...``, routes in ``api``) reads ``Authorization: Bearer <token>`` (a student's
  or the instructor's);
- the pages (routes in ``pages``) read a session cookie set by the login form (the cookie is an
  opaque random string whose hash is stored server-side; every form also carries a per-session
  CSRF token).

A student sees the public leaderboard, their own team's submissions and their own hand-ins;
private scores appear nowhere a student can look until the instructor closes the competition.
``create_app(db, clock=...)`` takes the clock as an argument so that the tests can move time past
a deadline or a midnight.
"""
from __future__ import annotations

import gc
import os
import signal
import threading
import time
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse

from . import api, pages, scoring
from .deps import COOKIE, competition_info  # noqa: F401 (COOKIE: the name clients look for)
from .store import Leaderboard, Refused, utcnow

THREADS = 8


def create_app(db, clock=utcnow, secure_cookies=False, recover=True) -> FastAPI:
    """The FastAPI app for the competition in ``db`` (a path, a URL, or a Leaderboard).
    ``recover``: score, at start, what a crash left pending (a server with several worker
    processes does it once, before starting them)."""
    lb = db if isinstance(db, Leaderboard) else Leaderboard(db)

    @asynccontextmanager
    async def lifespan(app):
        lb.comp                   # fail at start, with a clear message, if there is no competition
        lb.ensure_handin_tables()  # a database made before hand-ins existed
        scoring.warm_up()         # import scikit-learn before the first request, not during it
        # requests run in a pool of threads; with Python's GIL more threads do not compute any
        # faster, they only take turns at random, and some requests then wait far longer than
        # others. A few threads are enough to keep the CPU busy while others wait for the disk.
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        lb.open_connections(THREADS + 1)
        if recover:
            lb.score_pending()    # finish what a crash interrupted
        yield

    app = FastAPI(title="mirkit leaderboard", lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.leaderboard, app.state.clock = lb, clock
    app.state.secure_cookies = secure_cookies
    app.include_router(api.router)
    app.include_router(pages.router)
    app.add_exception_handler(Refused, refused)
    return app


async def refused(request: Request, exc: Refused):
    """A refusal: JSON for the API, a redirect (303: to the login page) or a page otherwise."""
    if request.url.path.startswith("/api/"):
        body = {"detail": exc.message}
        if exc.errors:
            body["errors"] = exc.errors
        if exc.submission_id is not None:
            body["submission"] = exc.submission_id
        return JSONResponse(body, status_code=exc.status,
                            headers={"WWW-Authenticate": "Bearer"} if exc.status == 401 else None)
    if exc.status == 303:
        return RedirectResponse(exc.message, status_code=303)
    return pages.render(request, "message.html", status=exc.status, message=exc.message)


def prepare_server_process():
    """For a process that will only serve: import scikit-learn now, then leave every object
    that exists so far out of the garbage collector's scans. Now and then Python's collector
    scans every object, ~150 000 after these imports: a 50-100 ms pause for every request in
    flight, for objects that live as long as the server anyway."""
    scoring.warm_up()
    gc.freeze()


def worker_app():
    """The app of one worker process of ``serve --workers N``: uvicorn starts each worker in a
    new interpreter and builds its app from this name; the settings come by the environment."""
    watch_parent()
    prepare_server_process()
    return create_app(os.environ["MIRKIT_LEADERBOARD_DB"], recover=False,
                      secure_cookies=os.environ.get("MIRKIT_LEADERBOARD_SECURE_COOKIES") == "1")


def watch_parent(interval=1.0):
    """Stop this worker (as Ctrl-C would) if the process that started it dies: a worker left
    behind would keep the port, and the server could not be started again."""
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(interval)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True, name="watch-parent").start()
