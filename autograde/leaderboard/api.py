"""The JSON API (``/api/...``) for the student client (``mirkit.challenge``) and scripts.

Identity comes from ``Authorization: Bearer <token>`` through the dependencies of ``deps``;
a ``Refused`` becomes ``{"detail": ..., "errors": [...]}`` with its status (see ``app``).
"""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse

from .deps import (api_instructor, api_student, api_user, competition_info, download,
                   leaderboard, now)
from .store import Leaderboard, User

router = APIRouter(prefix="/api")


def read_upload(file: UploadFile, default="submission.csv"):
    return file.filename or default, file.file.read()


@router.get("/competition")
def api_competition(lb: Leaderboard = Depends(leaderboard)):
    return competition_info(lb)


@router.get("/ids")
def api_ids(lb: Leaderboard = Depends(leaderboard)):
    return {"ids": lb.ids}


@router.get("/leaderboard")
def api_leaderboard(lb: Leaderboard = Depends(leaderboard)):
    closed = lb.closed
    return {"closed": closed, "public": lb.standings(private=False),
            **({"private": lb.standings(private=True)} if closed else {})}


@router.get("/me")
def api_me(user: User = Depends(api_student), lb: Leaderboard = Depends(leaderboard),
           t: datetime = Depends(now)):
    return {"name": user.name, "team": user.team, "used_today": lb.used_today(user.team_id, t),
            "daily_limit": lb.comp.daily_limit,
            "resets_at": lb.next_reset(t.replace(tzinfo=None)).isoformat() + "Z"}


@router.post("/submissions", status_code=201)
def api_submit(file: UploadFile = File(...), user: User = Depends(api_student),
               lb: Leaderboard = Depends(leaderboard), t: datetime = Depends(now)):
    sub = lb.submit(user, *read_upload(file), now=t)
    # already plain JSON types: skip FastAPI's generic conversion of the return value
    return JSONResponse({"submission": lb.describe(sub, user.name, private=False)},
                        status_code=201)


@router.get("/submissions")
def api_submissions(user: User = Depends(api_student), lb: Leaderboard = Depends(leaderboard)):
    return {"team": user.team, "submissions": lb.team_submissions(user.team_id)}


@router.post("/submissions/{sub_id}/select")
def api_select(sub_id: int, user: User = Depends(api_student),
               lb: Leaderboard = Depends(leaderboard), t: datetime = Depends(now)):
    lb.select_final(user, sub_id, True, now=t)
    return {"selected": sub_id}


@router.post("/submissions/{sub_id}/unselect")
def api_unselect(sub_id: int, user: User = Depends(api_student),
                 lb: Leaderboard = Depends(leaderboard), t: datetime = Depends(now)):
    lb.select_final(user, sub_id, False, now=t)
    return {"unselected": sub_id}


@router.get("/admin/submissions", dependencies=[Depends(api_instructor)])
def api_admin_submissions(lb: Leaderboard = Depends(leaderboard)):
    return {"submissions": lb.all_submissions()}


@router.post("/admin/close", dependencies=[Depends(api_instructor)])
def api_admin_close(lb: Leaderboard = Depends(leaderboard), t: datetime = Depends(now)):
    lb.close(now=t)
    return {"closed": True, "private": lb.standings(private=True)}


@router.post("/admin/rescore", dependencies=[Depends(api_instructor)])
def api_admin_rescore(lb: Leaderboard = Depends(leaderboard), t: datetime = Depends(now)):
    return {"rescored": lb.rescore(now=t)}


@router.get("/admin/export.csv", dependencies=[Depends(api_instructor)])
def api_admin_export(lb: Leaderboard = Depends(leaderboard)):
    return PlainTextResponse(lb.export_csv(), media_type="text/csv")


@router.get("/admin/submissions/{sub_id}/file", dependencies=[Depends(api_instructor)])
def api_admin_file(sub_id: int, lb: Leaderboard = Depends(leaderboard)):
    return download(*lb.raw_file(sub_id))


# ---------------------------------------------------------------------- hand-ins
@router.get("/handin/lessons")
def api_handin_lessons(lb: Leaderboard = Depends(leaderboard)):
    """The lessons open for hand-in, their deadlines and limits (public)."""
    return {"lessons": lb.handin_lessons()}


@router.post("/handins", status_code=201)
def api_handin(file: UploadFile = File(...), lesson: str = Form(...), key: str = Form(""),
               user: User = Depends(api_student), lb: Leaderboard = Depends(leaderboard),
               t: datetime = Depends(now)):
    """Hand in a notebook: 201 when recorded and queued; 200 when ``key`` names a hand-in
    already recorded (a retry), which is returned as it is now."""
    handin, new = lb.handin(user, lesson, *read_upload(file, f"{lesson}.ipynb"), key=key, now=t)
    return JSONResponse({"handin": handin}, status_code=201 if new else 200)


@router.get("/handins")
def api_handins(lesson: str | None = None, user: User = Depends(api_student),
                lb: Leaderboard = Depends(leaderboard)):
    return {"student": user.name, "handins": lb.student_handins(user.student_id, lesson)}


@router.get("/handins/{handin_id}")
def api_handin_one(handin_id: int, user: User = Depends(api_user),
                   lb: Leaderboard = Depends(leaderboard)):
    return {"handin": lb.get_handin(user, handin_id)}


@router.get("/handins/{handin_id}/feedback")
def api_handin_feedback(handin_id: int, user: User = Depends(api_user),
                        lb: Leaderboard = Depends(leaderboard)):
    return feedback_page(lb.handin_feedback(user, handin_id))


def feedback_page(html):
    """The grader's feedback page, served so that nothing in it can run: it shows the outputs
    of the student's own code, which may hold any HTML."""
    return HTMLResponse(html or "<p>No feedback for this hand-in.</p>",
                        headers={"Content-Security-Policy": "sandbox"})


@router.get("/admin/handins", dependencies=[Depends(api_instructor)])
def api_admin_handins(lb: Leaderboard = Depends(leaderboard)):
    return {"handins": lb.all_handins()}


@router.get("/admin/handins.csv", dependencies=[Depends(api_instructor)])
def api_admin_handin_grades(lb: Leaderboard = Depends(leaderboard)):
    return PlainTextResponse(lb.handin_grades_csv(), media_type="text/csv")


@router.get("/admin/handins/{handin_id}/file", dependencies=[Depends(api_instructor)])
def api_admin_handin_file(handin_id: int, lb: Leaderboard = Depends(leaderboard)):
    return download(*lb.handin_file(handin_id), media_type="application/x-ipynb+json",
                    default="handin.ipynb")
