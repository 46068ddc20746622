"""The web server: a JSON API for the student client and plain HTML pages for browsers.

Identity:
- the API (``/api/...``) reads ``Authorization: Bearer <token>`` (a student's or the instructor's);
- the pages read a session cookie set by the login form (the cookie is an opaque random string whose
  hash is stored server-side; every form also carries a per-session CSRF token).

A student sees the public leaderboard and their own team's submissions; private scores appear
nowhere a student can look until the instructor closes the competition. ``create_app(db, clock=...)``
takes the clock as an argument so that the tests can move time past a deadline or a midnight.
"""
from __future__ import annotations

import gc
import os
import signal
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from . import scoring
from .store import Leaderboard, Refused, User, utcnow

COOKIE = "mirkit_session"
THREADS = 8


def create_app(db, clock=utcnow, secure_cookies=False, recover=True) -> FastAPI:
    """The FastAPI app for the competition in ``db`` (a path, a URL, or a Leaderboard).
    ``recover``: score, at start, what a crash left pending (a server with several worker
    processes does it once, before starting them)."""
    lb = db if isinstance(db, Leaderboard) else Leaderboard(db)
    templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
    templates.env.filters["score"] = lambda v: "" if v is None else f"{v:.5f}"

    @asynccontextmanager
    async def lifespan(app):
        lb.comp                   # fail at start, with a clear message, if there is no competition
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
    app.state.leaderboard = lb

    # ------------------------------------------------------------------ helpers
    def bearer(request: Request) -> User | None:
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            return None
        return lb.authenticate(auth[7:].strip())

    def api_user(request: Request, kind: str):
        user = bearer(request)
        if user is None:
            raise Refused(401, "Missing or unknown token: send 'Authorization: Bearer <your token>'.")
        if user.kind != kind:
            raise Refused(403, "This needs the instructor token." if kind == "instructor"
                          else "This needs a student token.")
        return user

    def page_user(request: Request, kind: str, csrf: str | None = None):
        user, session_csrf = lb.session_user(request.cookies.get(COOKIE), clock())
        if user is None:
            raise Refused(303, "/login")
        if user.kind != kind:
            raise Refused(403, "This page needs the instructor token: log in with it."
                          if kind == "instructor" else "This page is for students.")
        if csrf is not None and csrf != session_csrf:
            raise Refused(403, "The form has expired: reload the page and try again.")
        return user, session_csrf

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused):
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
        return templates.TemplateResponse(request, "message.html",
                                          {"message": exc.message, "comp": info()},
                                          status_code=exc.status)

    def info():
        c = lb.comp
        return {"title": c.title, "metric": c.metric,
                "higher_is_better": scoring.higher_is_better(c.metric),
                "id_column": c.id_column, "label_column": c.label_column,
                "columns": list(lb.spec.columns), "labels": lb.labels, "n_ids": len(lb.ids),
                "daily_limit": c.daily_limit, "selections": c.selections,
                "max_bytes": c.max_bytes, "closed": lb.closed,
                "deadline": c.deadline.isoformat() + "Z" if c.deadline else None}

    def read_upload(file: UploadFile):
        return file.filename or "submission.csv", file.file.read()

    # ------------------------------------------------------------------ JSON API
    @app.get("/api/competition")
    def api_competition():
        return info()

    @app.get("/api/ids")
    def api_ids():
        return {"ids": lb.ids}

    @app.get("/api/leaderboard")
    def api_leaderboard():
        closed = lb.closed
        return {"closed": closed, "public": lb.standings(private=False),
                **({"private": lb.standings(private=True)} if closed else {})}

    @app.get("/api/me")
    def api_me(request: Request):
        user = api_user(request, "student")
        now = clock()
        return {"name": user.name, "team": user.team, "used_today": lb.used_today(user.team_id, now),
                "daily_limit": lb.comp.daily_limit,
                "resets_at": lb.next_reset(now.replace(tzinfo=None)).isoformat() + "Z"}

    @app.post("/api/submissions", status_code=201)
    def api_submit(request: Request, file: UploadFile = File(...)):
        user = api_user(request, "student")
        sub = lb.submit(user, *read_upload(file), now=clock())
        # already plain JSON types: skip FastAPI's generic conversion of the return value
        return JSONResponse({"submission": lb.describe(sub, user.name, private=False)},
                            status_code=201)

    @app.get("/api/submissions")
    def api_submissions(request: Request):
        user = api_user(request, "student")
        return {"team": user.team, "submissions": lb.team_submissions(user.team_id)}

    @app.post("/api/submissions/{sub_id}/select")
    def api_select(request: Request, sub_id: int):
        lb.select_final(api_user(request, "student"), sub_id, True, now=clock())
        return {"selected": sub_id}

    @app.post("/api/submissions/{sub_id}/unselect")
    def api_unselect(request: Request, sub_id: int):
        lb.select_final(api_user(request, "student"), sub_id, False, now=clock())
        return {"unselected": sub_id}

    @app.get("/api/admin/submissions")
    def api_admin_submissions(request: Request):
        api_user(request, "instructor")
        return {"submissions": lb.all_submissions()}

    @app.post("/api/admin/close")
    def api_admin_close(request: Request):
        api_user(request, "instructor")
        lb.close(now=clock())
        return {"closed": True, "private": lb.standings(private=True)}

    @app.post("/api/admin/rescore")
    def api_admin_rescore(request: Request):
        api_user(request, "instructor")
        return {"rescored": lb.rescore(now=clock())}

    @app.get("/api/admin/export.csv")
    def api_admin_export(request: Request):
        api_user(request, "instructor")
        return PlainTextResponse(lb.export_csv(), media_type="text/csv")

    @app.get("/api/admin/submissions/{sub_id}/file")
    def api_admin_file(request: Request, sub_id: int):
        api_user(request, "instructor")
        return download(*lb.raw_file(sub_id))

    def download(filename, raw):
        safe = "".join(ch for ch in filename if ch.isalnum() or ch in "._-") or "submission.csv"
        return Response(raw, media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{safe}"'})

    # ------------------------------------------------------------------ pages
    def render(request, name, status=200, **context):
        context.setdefault("comp", info())
        return templates.TemplateResponse(request, name, context, status_code=status)

    @app.get("/", response_class=HTMLResponse)
    def page_leaderboard(request: Request):
        user, csrf = lb.session_user(request.cookies.get(COOKIE), clock())
        closed = lb.closed
        return render(request, "leaderboard.html", user=user, csrf=csrf,
                      public=lb.standings(private=False),
                      private=lb.standings(private=True) if closed else None)

    @app.get("/login", response_class=HTMLResponse)
    def page_login(request: Request):
        return render(request, "login.html", error=None)

    @app.post("/login")
    def page_login_post(request: Request, token: str = Form("")):
        user = lb.authenticate(token.strip())
        if user is None:
            return render(request, "login.html", status=401,
                          error="Unknown token. Copy it exactly as the instructor gave it.")
        cookie, _ = lb.start_session(user, now=clock())
        resp = RedirectResponse("/admin" if user.kind == "instructor" else "/me", status_code=303)
        resp.set_cookie(COOKIE, cookie, httponly=True, samesite="lax", secure=secure_cookies,
                        max_age=14 * 24 * 3600)
        return resp

    @app.post("/logout")
    def page_logout(request: Request, csrf: str = Form("")):
        user, _ = lb.session_user(request.cookies.get(COOKIE), clock())
        resp = RedirectResponse("/", status_code=303)
        if user is not None:
            page_user(request, user.kind, csrf)
            lb.end_session(request.cookies.get(COOKIE), user, now=clock())
        resp.delete_cookie(COOKIE)
        return resp

    def my_page(request, user, csrf, status=200, result=None, errors=(), message=None):
        now = clock()
        return render(request, "me.html", status=status, user=user, csrf=csrf,
                      subs=lb.team_submissions(user.team_id), result=result, errors=list(errors),
                      message=message, used=lb.used_today(user.team_id, now), closed=lb.closed)

    @app.get("/me", response_class=HTMLResponse)
    def page_me(request: Request):
        return my_page(request, *page_user(request, "student"))

    @app.post("/me/submit", response_class=HTMLResponse)
    def page_submit(request: Request, file: UploadFile = File(...), csrf: str = Form("")):
        user, session_csrf = page_user(request, "student", csrf)
        try:
            sub = lb.submit(user, *read_upload(file), now=clock())
        except Refused as exc:
            return my_page(request, user, session_csrf, status=exc.status, message=exc.message,
                           errors=exc.errors)
        return my_page(request, user, session_csrf, result=lb.describe(sub, user.name, False))

    @app.post("/me/select", response_class=HTMLResponse)
    def page_select(request: Request, submission: int = Form(...), action: str = Form("select"),
                    csrf: str = Form("")):
        user, session_csrf = page_user(request, "student", csrf)
        try:
            lb.select_final(user, submission, action == "select", now=clock())
        except Refused as exc:
            return my_page(request, user, session_csrf, status=exc.status, message=exc.message)
        return my_page(request, user, session_csrf)

    @app.get("/admin", response_class=HTMLResponse)
    def page_admin(request: Request):
        user, csrf = page_user(request, "instructor")
        return render(request, "admin.html", user=user, csrf=csrf, subs=lb.all_submissions(),
                      audit=lb.audit_log(100), public=lb.standings(private=False),
                      private=lb.standings(private=True), message=None)

    @app.post("/admin/close")
    def page_admin_close(request: Request, csrf: str = Form("")):
        page_user(request, "instructor", csrf)
        lb.close(now=clock())
        return RedirectResponse("/admin", status_code=303)

    @app.post("/admin/rescore")
    def page_admin_rescore(request: Request, csrf: str = Form("")):
        page_user(request, "instructor", csrf)
        lb.rescore(now=clock())
        return RedirectResponse("/admin", status_code=303)

    @app.get("/admin/export.csv")
    def page_admin_export(request: Request):
        page_user(request, "instructor")
        return Response(lb.export_csv(), media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="scores.csv"'})

    @app.get("/admin/file/{sub_id}")
    def page_admin_file(request: Request, sub_id: int):
        page_user(request, "instructor")
        return download(*lb.raw_file(sub_id))

    return app


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
