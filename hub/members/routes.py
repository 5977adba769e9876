"""Pages for the brand directory, brand profiles and a brand's people."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from hub.db import RowId, SessionDep
from hub.deps import CurrentActor
from hub.errors import InvalidForm
from hub.groups import service as groups
from hub.groups.models import WorkingGroup
from hub.i18n import gettext as _
from hub.members import service
from hub.members.countries import country_name
from hub.members.models import ROLE_LABELS, Brand, Person, Role
from hub.policy import Action, Actor, assignable_roles, can
from hub.web import after_change, flash, redirect, render

router = APIRouter()


@router.get("/brands")
def directory(
    request: Request, session: SessionDep, actor: CurrentActor, q: str = "", group: str = ""
) -> Response:
    cards = service.directory(session, q, group)
    return render(
        request,
        "members/directory.html",
        {
            "cards": cards,
            "q": q,
            "group": group,
            "groups": groups.all_groups(session),
            "country_name": country_name,
        },
        block="results",
    )


@router.get("/brands/{slug}")
def profile(slug: str, request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    return _profile_page(request, session, actor, service.get_brand(session, slug))


def _profile_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    brand: Brand,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    view = service.brand_view(session, brand)
    people = (
        service.people_of(session, brand) if can(actor, Action.view_brand_people, view) else None
    )
    is_brand_admin = can(actor, Action.request_group_join, brand.id)
    domains = service.domains_of(session, brand)
    return render(
        request,
        "members/profile.html",
        {
            "brand": brand,
            "country": country_name(brand.country),
            "groups": service.groups_by_brand(session, [brand.id or 0])[brand.id or 0],
            "people": people,
            "domains": domains,
            "domains_text": service.any_of_domains(domains),
            "can_manage": can(actor, Action.manage_brand_people, brand.id),
            "open_groups": groups.groups_open_to(session, brand) if is_brand_admin else [],
            "pending": groups.pending_of_brand(session, brand.id or 0) if is_brand_admin else [],
            "errors": errors or {},
            "values": values or {},
        },
        status_code=422 if errors else 200,
    )


def _people_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    brand: Brand,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    domains = service.domains_of(session, brand)
    return render(
        request,
        "members/people.html",
        {
            "brand": brand,
            "people": service.people_of(session, brand, include_inactive=True),
            "domains": domains,
            "domains_text": service.any_of_domains(domains),
            "roles": assignable_roles(actor, brand.kind),
            "errors": errors or {},
            "values": values or {},
        },
        status_code=422 if errors else 200,
    )


def _managed_brand(session: SessionDep, actor: Actor, slug: str) -> Brand:
    return service.brand_to_manage(session, actor, slug)


@router.get("/brands/{slug}/people")
def people(slug: str, request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    brand = _managed_brand(session, actor, slug)
    return _people_page(request, session, actor, brand)


@router.post("/brands/{slug}/people")
def add_person(
    slug: str,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "member",
    job_title: Annotated[str, Form()] = "",
) -> Response:
    brand = _managed_brand(session, actor, slug)
    try:
        person = service.add_person(session, actor, brand, name, email, role, job_title)
    except InvalidForm as invalid:
        values = {"name": name, "email": email, "role": role, "job_title": job_title}
        return _people_page(request, session, actor, brand, invalid.errors, values)
    flash(
        request,
        _(
            "%(name)s was added. They can sign in with %(email)s.",
            name=person.name,
            email=person.email,
        ),
    )
    return redirect(request, f"/brands/{brand.slug}/people")


@router.post("/brands/{slug}/people/{person_id}/role")
def change_role(
    slug: str,
    person_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    role: Annotated[str, Form()] = "",
) -> Response:
    brand = _managed_brand(session, actor, slug)
    person = service.change_role(session, actor, brand, person_id, role)
    return _person_changed(
        request,
        actor,
        brand,
        person,
        _("%(name)s's role is now %(role)s.", name=person.name, role=ROLE_LABELS[Role(role)]),
    )


@router.post("/brands/{slug}/people/{person_id}/deactivate")
def deactivate(
    slug: str, person_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    brand = _managed_brand(session, actor, slug)
    person = service.set_active(session, actor, brand, person_id, active=False)
    return _person_changed(
        request,
        actor,
        brand,
        person,
        _("%(name)s is deactivated and signed out everywhere.", name=person.name),
    )


@router.post("/brands/{slug}/people/{person_id}/reactivate")
def reactivate(
    slug: str, person_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    brand = _managed_brand(session, actor, slug)
    person = service.set_active(session, actor, brand, person_id, active=True)
    return _person_changed(
        request, actor, brand, person, _("%(name)s can sign in again.", name=person.name)
    )


def _person_changed(
    request: Request, actor: Actor, brand: Brand, person: Person, message: str
) -> Response:
    return after_change(
        request,
        message,
        f"/brands/{brand.slug}/people",
        "members/_person_row.html",
        {"brand": brand, "person": person, "roles": assignable_roles(actor, brand.kind)},
    )


@router.post("/brands/{slug}/join-requests")
def request_join(
    slug: str,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    group_id: Annotated[RowId, Form()] = 0,
    message: Annotated[str, Form()] = "",
) -> Response:
    brand = service.get_brand(session, slug)
    try:
        join_request = groups.request_join(session, actor, brand, group_id, message)
    except InvalidForm as invalid:
        values = {"group_id": str(group_id), "message": message}
        return _profile_page(request, session, actor, brand, invalid.errors, values)
    group = session.get(WorkingGroup, join_request.group_id)
    assert group is not None
    flash(
        request, _("Your request to join %(group)s was sent to its coordinators.", group=group.name)
    )
    return redirect(request, f"/brands/{brand.slug}")
