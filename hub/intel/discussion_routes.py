"""Inline (htmx) actions on a report: comments, "seen it too" / "disputed", follow."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from hub.db import RowId, SessionDep
from hub.deps import CurrentActor
from hub.errors import InvalidForm
from hub.i18n import gettext as _
from hub.intel import discussion, service
from hub.intel.models import IntelReport
from hub.intel.routes import report_page_response
from hub.policy import Actor
from hub.web import after_change, is_fragment_request, render

router = APIRouter()


def _discussion(session: SessionDep, actor: Actor, report: IntelReport) -> dict[str, object]:
    return {
        "report": report,
        "thread": discussion.thread(session, report),
        "sightings": discussion.sightings(session, report),
        "following": discussion.is_following(session, actor, report),
        "errors": {},
        "values": {},
    }


@router.post("/intel/{report_id}/comments")
def comment(
    report_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    body: Annotated[str, Form()] = "",
    parent_id: Annotated[RowId | None, Form()] = None,
) -> Response:
    report = service.get_visible(session, actor, report_id)
    try:
        discussion.add_comment(session, actor, report, body, parent_id)
    except InvalidForm as invalid:
        if not is_fragment_request(request):
            return report_page_response(
                request, session, actor, report, invalid.errors, {"body": body}
            )
        context = _discussion(session, actor, report)
        context |= {"errors": invalid.errors, "values": {"body": body}}
        response = render(request, "intel/_discussion.html", context)
        response.status_code = 422
        return response
    return after_change(
        request,
        _("Your comment was posted."),
        f"/intel/{report.id}#discussion",
        "intel/_discussion.html",
        _discussion(session, actor, report),
    )


@router.post("/intel/{report_id}/sightings")
def sighting(
    report_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    kind: Annotated[str, Form()] = "seen",
    note: Annotated[str, Form()] = "",
) -> Response:
    report = service.get_visible(session, actor, report_id)
    discussion.set_sighting(session, actor, report, kind, note)
    message = (
        _("Recorded: your brand has seen it too.")
        if kind == "seen"
        else _("Recorded: your brand disputes this report.")
    )
    return after_change(
        request,
        message,
        f"/intel/{report.id}",
        "intel/_discussion.html",
        _discussion(session, actor, report),
    )


@router.post("/intel/{report_id}/sightings/withdraw")
def withdraw(
    report_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    report = service.get_visible(session, actor, report_id)
    discussion.withdraw_sighting(session, actor, report)
    return after_change(
        request,
        _("Your brand's mark was withdrawn."),
        f"/intel/{report.id}",
        "intel/_discussion.html",
        _discussion(session, actor, report),
    )


@router.post("/intel/{report_id}/follow")
def follow(report_id: int, request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    report = service.get_visible(session, actor, report_id)
    now_following = discussion.toggle_follow(session, actor, report)
    message = (
        _("You follow this report now.")
        if now_following
        else _("You no longer follow this report.")
    )
    return after_change(
        request,
        message,
        f"/intel/{report.id}",
        "intel/_discussion.html",
        _discussion(session, actor, report),
    )
