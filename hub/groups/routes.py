"""Pages for working groups and the coordinators' decisions on requests to join."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from hub.auth.routes import safe_next
from hub.db import SessionDep
from hub.deps import CurrentActor
from hub.groups import service
from hub.i18n import gettext as _
from hub.members.countries import country_name
from hub.policy import Action, can
from hub.web import after_change, render

router = APIRouter()


@router.get("/groups")
def all_groups(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    return render(request, "groups/list.html", {"cards": service.all_groups(session)})


@router.get("/groups/{slug}")
def group_page(slug: str, request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    group = service.get_group(session, slug)
    decides = can(actor, Action.decide_group_join, group.id)
    return render(
        request,
        "groups/detail.html",
        {
            "group": group,
            "brands": service.brands_in(session, group),
            "coordinators": service.coordinators_of(session, group),
            "pending": service.pending_for_group(session, group) if decides else [],
            "is_member": group.id in actor.group_ids,
            "country_name": country_name,
        },
    )


def _decide(
    request_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    approve: bool,
    note: str,
    back: str,
) -> Response:
    decided = service.decide_join(session, actor, request_id, approve, note)
    names = {"brand": decided.brand.name, "group": decided.group.name}
    if approve:
        message = _("%(brand)s's request to join %(group)s was approved.", **names)
    else:
        message = _("%(brand)s's request to join %(group)s was refused.", **names)
    return after_change(
        request,
        message,
        safe_next(back) if back else f"/groups/{decided.group.slug}",
        "groups/_join_request.html",
        {"item": decided},
    )


@router.post("/join-requests/{request_id}/approve")
def approve(
    request_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    note: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    return _decide(request_id, request, session, actor, True, note, back)


@router.post("/join-requests/{request_id}/refuse")
def refuse(
    request_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    note: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    return _decide(request_id, request, session, actor, False, note, back)
