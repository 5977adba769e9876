"""The notifications page."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from hub.db import SessionDep
from hub.deps import CurrentActor
from hub.notify import service
from hub.web import is_fragment_request, redirect, render

router = APIRouter()


@router.get("/notifications")
def notifications(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    return render(request, "notify/list.html", {"items": service.latest(session, actor)})


@router.get("/notifications/{notification_id}")
def open_notification(
    request: Request, notification_id: int, session: SessionDep, actor: CurrentActor
) -> Response:
    """Following a notification marks it read on the way to what it is about."""
    item = service.mark_read(session, actor, notification_id)
    return RedirectResponse(service.target_of(item), status_code=303)


@router.post("/notifications/{notification_id}/read")
def mark_one_read(
    request: Request, notification_id: int, session: SessionDep, actor: CurrentActor
) -> Response:
    item = service.mark_read(session, actor, notification_id)
    if is_fragment_request(request):
        return render(request, "notify/_item.html", {"item": item, "just_read": True})
    return redirect(request, "/notifications")


@router.post("/notifications/read")
def mark_read(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    service.mark_all_read(session, actor)
    return redirect(request, "/notifications")
