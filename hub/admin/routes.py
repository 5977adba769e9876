"""Pages of the admin area; each calls the owning domain's service."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from hub import audit
from hub.db import RowId, SessionDep
from hub.deps import require
from hub.errors import InvalidForm
from hub.groups import service as groups
from hub.groups.models import WorkingGroup
from hub.i18n import gettext as _
from hub.members import service as members
from hub.members.countries import country_names
from hub.policy import Action, Actor
from hub.web import after_change, flash, redirect, render

router = APIRouter(prefix="/admin")

Admin = Annotated[Actor, require(Action.administer)]


@router.get("")
def index(request: Request, session: SessionDep, actor: Admin) -> Response:
    return render(
        request,
        "admin/index.html",
        {
            "groups": groups.all_groups(session),
            "brand_count": len(members.directory(session)),
            "recent": audit.page(session, 8),
        },
    )


def _brand_form(
    request: Request,
    session: SessionDep,
    errors: dict[str, str] | None = None,
    values: dict[str, object] | None = None,
) -> Response:
    return render(
        request,
        "admin/brand_form.html",
        {
            "countries": country_names(),
            "groups": groups.all_groups(session),
            "errors": errors or {},
            "values": values or {"group_ids": []},
        },
        status_code=422 if errors else 200,
    )


@router.get("/brands/new")
def new_brand(request: Request, session: SessionDep, actor: Admin) -> Response:
    return _brand_form(request, session)


@router.post("/brands")
def create_brand(
    request: Request,
    session: SessionDep,
    actor: Admin,
    name: Annotated[str, Form()] = "",
    slug: Annotated[str, Form()] = "",
    country: Annotated[str, Form()] = "",
    domains: Annotated[str, Form()] = "",
    website: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    group_ids: Annotated[list[RowId] | None, Form()] = None,
) -> Response:
    try:
        brand = members.create_brand(
            session,
            actor,
            name=name,
            slug=slug,
            country=country,
            domains=domains,
            website=website,
            description=description,
            group_ids=group_ids or [],
        )
    except InvalidForm as invalid:
        values: dict[str, object] = {
            "name": name,
            "slug": slug,
            "country": country,
            "domains": domains,
            "website": website,
            "description": description,
            "group_ids": group_ids or [],
        }
        return _brand_form(request, session, invalid.errors, values)
    command = f"hub admin idp add {brand.slug} ..."
    flash(
        request,
        _(
            "%(brand)s was created. Next: add its identity provider with "
            "'%(command)s' and its first brand admin.",
            brand=brand.name,
            command=command,
        ),
    )
    return redirect(request, f"/brands/{brand.slug}")


def _group_form(
    request: Request, errors: dict[str, str] | None = None, values: dict[str, str] | None = None
) -> Response:
    return render(
        request,
        "admin/group_form.html",
        {"errors": errors or {}, "values": values or {}},
        status_code=422 if errors else 200,
    )


@router.get("/groups/new")
def new_group(request: Request, actor: Admin) -> Response:
    return _group_form(request)


@router.post("/groups")
def create_group(
    request: Request,
    session: SessionDep,
    actor: Admin,
    name: Annotated[str, Form()] = "",
    slug: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
) -> Response:
    try:
        group = groups.create_group(session, actor, name=name, slug=slug, description=description)
    except InvalidForm as invalid:
        values = {"name": name, "slug": slug, "description": description}
        return _group_form(request, invalid.errors, values)
    flash(
        request,
        _(
            "The working group %(group)s was created. Appoint its coordinators next.",
            group=group.name,
        ),
    )
    return redirect(request, f"/admin/groups/{group.slug}")


def _coordinators_page(
    request: Request,
    session: SessionDep,
    slug: str,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    group = groups.get_group(session, slug)
    return render(
        request,
        "admin/group_coordinators.html",
        {
            "group": group,
            "coordinators": groups.coordinators_of(session, group),
            "errors": errors or {},
            "values": values or {},
        },
        block="coordinators",
        status_code=422 if errors else 200,
    )


@router.get("/groups/{slug}")
def group_coordinators(slug: str, request: Request, session: SessionDep, actor: Admin) -> Response:
    return _coordinators_page(request, session, slug)


@router.post("/groups/{slug}/coordinators")
def appoint(
    slug: str,
    request: Request,
    session: SessionDep,
    actor: Admin,
    email: Annotated[str, Form()] = "",
) -> Response:
    group = groups.get_group(session, slug)
    try:
        person = groups.appoint_coordinator(session, actor, group, email)
    except InvalidForm as invalid:
        return _coordinators_page(request, session, slug, invalid.errors, {"email": email})
    return _coordinators_changed(
        request,
        session,
        group,
        _("%(name)s now coordinates %(group)s.", name=person.name, group=group.name),
    )


@router.post("/groups/{slug}/coordinators/{person_id}/remove")
def remove(
    slug: str, person_id: int, request: Request, session: SessionDep, actor: Admin
) -> Response:
    group = groups.get_group(session, slug)
    person = groups.remove_coordinator(session, actor, group, person_id)
    return _coordinators_changed(
        request,
        session,
        group,
        _("%(name)s no longer coordinates %(group)s.", name=person.name, group=group.name),
    )


def _coordinators_changed(
    request: Request, session: SessionDep, group: WorkingGroup, message: str
) -> Response:
    return after_change(
        request,
        message,
        f"/admin/groups/{group.slug}",
        "admin/group_coordinators.html",
        {
            "group": group,
            "coordinators": groups.coordinators_of(session, group),
            "errors": {},
            "values": {},
        },
        block="coordinators",
    )
