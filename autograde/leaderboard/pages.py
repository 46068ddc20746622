"""The HTML pages: the leaderboard, login, a student's page (submissions and hand-ins), admin.

Identity comes from the session cookie set by the login form; every form also carries the
session's CSRF token (the ``form_*`` dependencies of ``deps`` check it).
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from .api import feedback_page, read_upload
from .deps import (COOKIE, PageUser, competition_info, download, form_instructor, form_student,
                   leaderboard, now, page_instructor, page_student, session)
from .store import SESSION_LIFETIME, Leaderboard, Refused

router = APIRouter()
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters["score"] = lambda v: "" if v is None else f"{v:.5f}"
templates.env.filters["points"] = lambda v: "" if v is None else f"{v:g}"


def render(request, name, status=200, **context):
    context.setdefault("comp", competition_info(request.app.state.leaderboard))
    return templates.TemplateResponse(request, name, context, status_code=status)


@router.get("/", response_class=HTMLResponse)
def page_leaderboard(request: Request, who: PageUser = Depends(session),
                     lb: Leaderboard = Depends(leaderboard)):
    closed = lb.closed
    return render(request, "leaderboard.html", user=who.user, csrf=who.csrf,
                  public=lb.standings(private=False),
                  private=lb.standings(private=True) if closed else None)


@router.get("/login", response_class=HTMLResponse)
def page_login(request: Request):
    return render(request, "login.html", error=None)


@router.post("/login")
def page_login_post(request: Request, token: str = Form(""),
                    lb: Leaderboard = Depends(leaderboard), t: datetime = Depends(now)):
    user = lb.authenticate(token.strip())
    if user is None:
        return render(request, "login.html", status=401,
                      error="Unknown token. Copy it exactly as the instructor gave it.")
    cookie, _ = lb.start_session(user, now=t)
    resp = RedirectResponse("/admin" if user.kind == "instructor" else "/me", status_code=303)
    resp.set_cookie(COOKIE, cookie, httponly=True, samesite="lax",
                    secure=request.app.state.secure_cookies,
                    max_age=int(SESSION_LIFETIME.total_seconds()))
    return resp


@router.post("/logout")
def page_logout(request: Request, csrf: str = Form(""), who: PageUser = Depends(session),
                lb: Leaderboard = Depends(leaderboard), t: datetime = Depends(now)):
    resp = RedirectResponse("/", status_code=303)
    if who.user is not None:
        if csrf != who.csrf:
            raise Refused(403, "The form has expired: reload the page and try again.")
        lb.end_session(request.cookies.get(COOKIE), who.user, now=t)
    resp.delete_cookie(COOKIE)
    return resp


def my_page(request, who: PageUser, status=200, result=None, errors=(), message=None,
            handed=None, handin_message=None):
    lb, t = request.app.state.leaderboard, request.app.state.clock()
    user = who.user
    return render(request, "me.html", status=status, user=user, csrf=who.csrf,
                  subs=lb.team_submissions(user.team_id), result=result, errors=list(errors),
                  message=message, used=lb.used_today(user.team_id, t), closed=lb.closed,
                  lessons=lb.handin_lessons(), handins=lb.student_handins(user.student_id),
                  handed=handed, handin_message=handin_message)


@router.get("/me", response_class=HTMLResponse)
def page_me(request: Request, who: PageUser = Depends(page_student)):
    return my_page(request, who)


@router.post("/me/submit", response_class=HTMLResponse)
def page_submit(request: Request, file: UploadFile = File(...),
                who: PageUser = Depends(form_student), lb: Leaderboard = Depends(leaderboard),
                t: datetime = Depends(now)):
    try:
        sub = lb.submit(who.user, *read_upload(file), now=t)
    except Refused as exc:
        return my_page(request, who, status=exc.status, message=exc.message, errors=exc.errors)
    return my_page(request, who, result=lb.describe(sub, who.user.name, False))


@router.post("/me/select", response_class=HTMLResponse)
def page_select(request: Request, submission: int = Form(...), action: str = Form("select"),
                who: PageUser = Depends(form_student), lb: Leaderboard = Depends(leaderboard),
                t: datetime = Depends(now)):
    try:
        lb.select_final(who.user, submission, action == "select", now=t)
    except Refused as exc:
        return my_page(request, who, status=exc.status, message=exc.message)
    return my_page(request, who)


@router.post("/me/handin", response_class=HTMLResponse)
def page_handin(request: Request, notebook: UploadFile = File(...), lesson: str = Form(...),
                who: PageUser = Depends(form_student), lb: Leaderboard = Depends(leaderboard),
                t: datetime = Depends(now)):
    try:
        handin, _ = lb.handin(who.user, lesson, *read_upload(notebook, f"{lesson}.ipynb"), now=t)
    except Refused as exc:
        return my_page(request, who, status=exc.status, handin_message=exc.message)
    return my_page(request, who, handed=handin)


@router.get("/me/handin/{handin_id}/feedback", response_class=HTMLResponse)
def page_handin_feedback(handin_id: int, who: PageUser = Depends(page_student),
                         lb: Leaderboard = Depends(leaderboard)):
    return feedback_page(lb.handin_feedback(who.user, handin_id))


@router.get("/admin", response_class=HTMLResponse)
def page_admin(request: Request, who: PageUser = Depends(page_instructor),
               lb: Leaderboard = Depends(leaderboard)):
    return render(request, "admin.html", user=who.user, csrf=who.csrf, subs=lb.all_submissions(),
                  audit=lb.audit_log(100), public=lb.standings(private=False),
                  private=lb.standings(private=True), message=None, handins=lb.all_handins())


@router.post("/admin/close", dependencies=[Depends(form_instructor)])
def page_admin_close(lb: Leaderboard = Depends(leaderboard), t: datetime = Depends(now)):
    lb.close(now=t)
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/rescore", dependencies=[Depends(form_instructor)])
def page_admin_rescore(lb: Leaderboard = Depends(leaderboard), t: datetime = Depends(now)):
    lb.rescore(now=t)
    return RedirectResponse("/admin", status_code=303)


@router.get("/admin/export.csv", dependencies=[Depends(page_instructor)])
def page_admin_export(lb: Leaderboard = Depends(leaderboard)):
    return download("scores.csv", lb.export_csv())


@router.get("/admin/file/{sub_id}", dependencies=[Depends(page_instructor)])
def page_admin_file(sub_id: int, lb: Leaderboard = Depends(leaderboard)):
    return download(*lb.raw_file(sub_id))


@router.get("/admin/handins.csv", dependencies=[Depends(page_instructor)])
def page_admin_handin_grades(lb: Leaderboard = Depends(leaderboard)):
    return download("handin-grades.csv", lb.handin_grades_csv())


@router.get("/admin/handin/{handin_id}", dependencies=[Depends(page_instructor)])
def page_admin_handin_file(handin_id: int, lb: Leaderboard = Depends(leaderboard)):
    return download(*lb.handin_file(handin_id), media_type="application/x-ipynb+json",
                    default="handin.ipynb")
