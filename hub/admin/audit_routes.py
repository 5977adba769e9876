"""The audit log's pages: the whole log for alliance admins (/admin/audit), a brand's own
entries for its brand admins (/brands/{slug}/audit); both searchable, newest first."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from hub import audit
from hub.db import SessionDep
from hub.deps import CurrentActor
from hub.members import service as members
from hub.members.models import Brand
from hub.policy import Action, Actor, ensure
from hub.web import OptionalDay, render

router = APIRouter()

PAGE_SIZE = 50


def audit_filters(
    q: str = "", action: str = "", since: OptionalDay = None, until: OptionalDay = None
) -> audit.AuditFilters:
    return audit.AuditFilters(q.strip()[:200], action.strip()[:60], since, until)


Filters = Annotated[audit.AuditFilters, Depends(audit_filters)]


@router.get("/admin/audit")
def alliance_log(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    filters: Filters,
    before: int | None = None,
) -> Response:
    ensure(actor, Action.read_audit_log, None)
    return _log_page(request, session, actor, filters, before, None)


@router.get("/brands/{slug}/audit")
def brand_log(
    slug: str,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    filters: Filters,
    before: int | None = None,
) -> Response:
    brand = members.brand_to_manage(session, actor, slug, Action.read_audit_log)
    return _log_page(request, session, actor, filters, before, brand)


def _log_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    filters: audit.AuditFilters,
    before: int | None,
    brand: Brand | None,
) -> Response:
    brand_id = brand.id if brand is not None else None
    entries = audit.page(session, PAGE_SIZE + 1, before, filters, brand_id)
    more = len(entries) > PAGE_SIZE
    entries = entries[:PAGE_SIZE]
    base = f"/brands/{brand.slug}/audit" if brand is not None else "/admin/audit"
    searched = {
        "q": filters.text,
        "action": filters.action,
        "since": filters.since.isoformat() if filters.since else "",
        "until": filters.until.isoformat() if filters.until else "",
    }
    query = {name: value for name, value in searched.items() if value}
    next_url = (
        f"{base}?{urlencode({**query, 'before': entries[-1].id})}" if more and entries else None
    )
    return render(
        request,
        "admin/audit.html",
        {
            "brand": brand,
            "base": base,
            "entries": entries,
            "next_url": next_url,
            "filters": filters,
            "families": audit.FAMILIES,
            "total": None if filters.active else audit.count(session, brand_id),
        },
        block="entries",
    )
