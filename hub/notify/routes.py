"""The notifications page."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from hub.db import SessionDep
from hub.deps import CurrentActor
from hub.notify import service
from hub.web import redirect, render

router = APIRouter()


@router.get("/notifications")
def notifications(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    return render(request, "notify/list.html", {"items": service.latest(session, actor)})


@router.post("/notifications/read")
def mark_read(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    service.mark_all_read(session, actor)
    return redirect(request, "/notifications")
