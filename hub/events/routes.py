"""Pages of the event calendar: the list and month views, an event with its registration
box and attendee list, the organiser's form, the .ics files and the personal feed."""

from dataclasses import asdict
from typing import Annotated

from babel.lists import format_list
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from hub import audit, i18n
from hub.clock import utcnow
from hub.db import SessionDep
from hub.deps import CurrentActor
from hub.errors import Conflict, InvalidForm, NotFound
from hub.events import feeds, ics, registrations, schedule
from hub.events.models import (
    ATTENDANCE_LABELS,
    AUDIENCE_LABELS,
    EVENT_KIND_LABELS,
    REGISTRATION_STATE_LABELS,
    Event,
    EventInvite,
    RegistrationState,
)
from hub.events.times import Month, to_local, viewer_zone, zone_names
from hub.groups import service as groups
from hub.groups.models import WorkingGroup
from hub.i18n import gettext as _
from hub.intel.models import TLP_LABELS
from hub.members.models import Brand, Person
from hub.policy import Action, Actor, can, ensure, runs_any_events
from hub.web import after_change, flash, redirect, render

router = APIRouter()
Text = Annotated[str, Form()]

LABELS = {
    "kinds": EVENT_KIND_LABELS,
    "audiences": AUDIENCE_LABELS,
    "attendances": ATTENDANCE_LABELS,
    "states": REGISTRATION_STATE_LABELS,
    "tlps": TLP_LABELS,
}


def event_form(
    group: Text = "",
    audience: Text = "group",
    kind: Text = "workshop",
    title: Text = "",
    description: Text = "",
    time_zone: Text = "",
    starts_on: Text = "",
    starts_time: Text = "",
    ends_on: Text = "",
    ends_time: Text = "",
    all_day: Text = "",
    attendance: Text = "in_person",
    venue: Text = "",
    address: Text = "",
    online_url: Text = "",
    capacity: Text = "",
    seats_per_brand: Text = "",
    registration_opens: Text = "",
    registration_closes: Text = "",
    needs_approval: Text = "",
    attendees_visible: Text = "",
    materials_tlp: Text = "green",
    chatham_house: Text = "",
    invited: Annotated[list[str] | None, Form()] = None,
) -> schedule.EventForm:
    return schedule.EventForm(
        group=group,
        audience=audience,
        kind=kind,
        title=title,
        description=description,
        time_zone=time_zone,
        starts_on=starts_on,
        starts_time=starts_time,
        ends_on=ends_on,
        ends_time=ends_time,
        all_day=all_day,
        attendance=attendance,
        venue=venue,
        address=address,
        online_url=online_url,
        capacity=capacity,
        seats_per_brand=seats_per_brand,
        registration_opens=registration_opens,
        registration_closes=registration_closes,
        needs_approval=needs_approval,
        attendees_visible=attendees_visible,
        materials_tlp=materials_tlp,
        chatham_house=chatham_house,
        invited=invited or [],
    )


PostedEvent = Annotated[schedule.EventForm, Depends(event_form)]


def _filters(group: str, kind: str, when: str) -> schedule.Filters:
    return schedule.Filters(group=group, kind=kind, when="past" if when == "past" else "upcoming")


@router.get("/events")
def calendar(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    view: str = "list",
    month: str = "",
    group: str = "",
    kind: str = "",
    when: str = "upcoming",
) -> Response:
    """The calendar as a list (upcoming or past) or as a month grid, in the viewer's zone."""
    zone_name = viewer_zone(request, actor)
    filters = _filters(group, kind, when)
    context: dict[str, object] = {
        "view": "month" if view == "month" else "list",
        "filters": filters,
        "zone": zone_name,
        "groups": groups.of_actor(session, actor),
        "can_create": runs_any_events(actor),
        **LABELS,
    }
    if context["view"] == "month":
        shown = Month.parse(month, to_local(utcnow(), zone_name).date())
        start, end = shown.bounds(zone_name)
        lines = schedule.between(session, actor, filters, start, end)
        days = [day for week in shown.weeks for day in week]
        context |= {
            "month": shown,
            "placed": schedule.by_day(lines, days, zone_name),
            "today": to_local(utcnow(), zone_name).date(),
        }
    else:
        context["lines"] = schedule.listing(session, actor, filters)
    return render(request, "events/calendar.html", context, block="results")


def _form_page(
    request: Request,
    session: Session,
    actor: Actor,
    form: schedule.EventForm,
    errors: dict[str, str] | None = None,
    event: Event | None = None,
) -> Response:
    return render(
        request,
        "events/form.html",
        {
            "values": asdict(form),
            "errors": errors or {},
            "event": event,
            "groups": groups.run_by(session, actor),
            "brands": session.exec(
                select(Brand).where(col(Brand.is_active).is_(True)).order_by(col(Brand.name))
            ).all(),
            "zones": zone_names(),
            "alliance_wide": can(actor, Action.organise_events, None),
            **LABELS,
        },
        status_code=422 if errors else 200,
    )


def _organisers_only(actor: Actor) -> None:
    if not runs_any_events(actor):
        raise NotFound(_("Only coordinators and alliance staff organise events."))


@router.get("/events/new")
def new_event(
    request: Request, session: SessionDep, actor: CurrentActor, group: str = ""
) -> Response:
    _organisers_only(actor)
    zone_name = viewer_zone(request, actor)
    form = schedule.EventForm(group=group, time_zone=zone_name)
    return _form_page(request, session, actor, form)


@router.post("/events")
def create_event(
    request: Request, session: SessionDep, actor: CurrentActor, form: PostedEvent
) -> Response:
    _organisers_only(actor)
    try:
        event = schedule.create(session, actor, form)
    except InvalidForm as invalid:
        return _form_page(request, session, actor, form, invalid.errors)
    flash(request, _("The event is on the calendar."))
    return redirect(request, f"/events/{event.id}")


@router.get("/events/{event_id}.ics")
def event_file(
    event_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    event = schedule.get_visible(session, actor, event_id)
    mine = registrations.active_of(session, event_id, actor.person_id)
    holds = mine is not None and mine.state == RegistrationState.confirmed
    show_link = can(actor, Action.see_meeting_link, registrations.view_of(event, holds))
    data = ics.one_event(ics.Entry(event, show_link), request.app.state.settings.base_url)
    return Response(
        data,
        media_type=ics.CONTENT_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{ics.filename(event)}"'},
    )


def _names(names: list[str]) -> str:
    """'Acme, Brandt and Coral', 'Acme、Brandt和Coral'."""
    return format_list(names, locale=i18n.current().locale) if names else ""


def event_context(
    request: Request, session: Session, actor: Actor, event: Event
) -> dict[str, object]:
    """Everything the event page and its registration box show, as far as the actor may."""
    mine = registrations.active_of(session, event.id or 0, actor.person_id)
    attending = mine is not None and mine.state == RegistrationState.confirmed
    view = registrations.view_of(event, attending)
    organises = can(actor, Action.manage_event, view)
    group = session.get(WorkingGroup, event.group_id) if event.group_id else None
    invited = session.exec(
        select(Brand)
        .join(EventInvite, col(EventInvite.brand_id) == Brand.id)
        .where(EventInvite.event_id == event.id)
        .order_by(col(Brand.name))
    ).all()
    sees_attendees = can(actor, Action.see_attendees, view)
    return {
        "event": event,
        "group": group,
        "invited": invited if organises else [],
        "invited_names": _names([brand.name for brand in invited]) if organises else "",
        "organises": organises,
        "mine": mine,
        "my_place": registrations.waitlist_place(session, mine)
        if mine and mine.state == RegistrationState.waitlisted
        else None,
        "closed_reason": registrations.closed_reason(event),
        "counts": registrations.counts(session, event),
        "show_link": can(actor, Action.see_meeting_link, view),
        "colleagues": registrations.colleagues(session, actor, event) if attending else [],
        "attendees": registrations.attendees(session, event, confirmed_only=not organises)
        if sees_attendees
        else [],
        "sees_attendees": sees_attendees,
        "zone": viewer_zone(request, actor),
        "errors": {},
        **LABELS,
    }


@router.get("/events/{event_id}")
def event_page(
    event_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    event = schedule.get_visible(session, actor, event_id)
    return render(request, "events/event.html", event_context(request, session, actor, event))


@router.get("/events/{event_id}/edit")
def edit_form(
    event_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    event = schedule.get_visible(session, actor, event_id)
    ensure(actor, Action.manage_event, registrations.view_of(event))
    return _form_page(request, session, actor, schedule.form_of(session, event), event=event)


@router.post("/events/{event_id}/edit")
def edit(
    event_id: int, request: Request, session: SessionDep, actor: CurrentActor, form: PostedEvent
) -> Response:
    event = schedule.get_visible(session, actor, event_id)
    settings = request.app.state.settings
    try:
        event = schedule.update(session, settings, actor, event, form)
    except InvalidForm as invalid:
        session.rollback()
        fresh = schedule.get_visible(session, actor, event_id)
        return _form_page(request, session, actor, form, invalid.errors, fresh)
    flash(request, _("The event was saved; people registered were told of the change."))
    return redirect(request, f"/events/{event.id}")


@router.post("/events/{event_id}/cancel")
def cancel_event(
    event_id: int, request: Request, session: SessionDep, actor: CurrentActor, reason: Text = ""
) -> Response:
    event = schedule.get_visible(session, actor, event_id)
    schedule.cancel(session, request.app.state.settings, actor, event, reason)
    flash(request, _("The event is cancelled; everyone registered was told."))
    return redirect(request, f"/events/{event.id}")


def _registration_box(
    request: Request, session: Session, actor: Actor, event_id: int, message: str
) -> Response:
    event = schedule.get_visible(session, actor, event_id)
    context = event_context(request, session, actor, event)
    return after_change(
        request, message, f"/events/{event_id}", "events/event.html", context, "registration"
    )


@router.post("/events/{event_id}/register")
def register(
    event_id: int, request: Request, session: SessionDep, actor: CurrentActor, note: Text = ""
) -> Response:
    event = schedule.get_visible(session, actor, event_id)
    registration = registrations.register(session, request.app.state.settings, actor, event, note)
    told = {
        RegistrationState.confirmed: _("You are registered."),
        RegistrationState.waitlisted: _("The event is full: you are on the waitlist."),
        RegistrationState.pending: _("Your registration awaits the organiser's approval."),
    }[RegistrationState(registration.state)]
    return _registration_box(request, session, actor, event_id, told)


@router.post("/events/{event_id}/withdraw")
def withdraw(event_id: int, request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    event = schedule.get_visible(session, actor, event_id)
    registrations.withdraw(session, request.app.state.settings, actor, event)
    return _registration_box(
        request, session, actor, event_id, _("Your registration is cancelled.")
    )


@router.post("/events/{event_id}/handover")
def hand_over(
    event_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    colleague: Text = "",
) -> Response:
    event = schedule.get_visible(session, actor, event_id)
    try:
        theirs = registrations.hand_over(
            session, request.app.state.settings, actor, event, colleague
        )
    except (InvalidForm, Conflict) as refused:
        session.rollback()
        fresh = schedule.get_visible(session, actor, event_id)
        context = event_context(request, session, actor, fresh)
        errors = (
            refused.errors if isinstance(refused, InvalidForm) else {"colleague": refused.message}
        )
        context["errors"] = errors
        return render(
            request,
            "events/event.html",
            context,
            block="registration",
            status_code=refused.status_code,
        )
    colleague_person = session.get(Person, theirs.person_id)
    told = (
        _("Your seat now belongs to %(name)s; they were told.", name=colleague_person.name)
        if colleague_person
        else _("Your seat now belongs to your colleague; they were told.")
    )
    return _registration_box(request, session, actor, event_id, told)


@router.post("/events/{event_id}/registrations/{registration_id}/approve")
def approve(
    event_id: int,
    registration_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
) -> Response:
    event = schedule.get_visible(session, actor, event_id)
    registrations.approve(session, request.app.state.settings, actor, event, registration_id)
    flash(request, _("Approved; the person was told."))
    return redirect(request, f"/events/{event_id}#attendees")


@router.post("/events/{event_id}/registrations/{registration_id}/decline")
def decline(
    event_id: int,
    registration_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
) -> Response:
    event = schedule.get_visible(session, actor, event_id)
    registrations.decline(session, request.app.state.settings, actor, event, registration_id)
    flash(request, _("Declined; the person was told."))
    return redirect(request, f"/events/{event_id}#attendees")


@router.get("/events/{event_id}/attendees.csv")
def attendees_csv(event_id: int, session: SessionDep, actor: CurrentActor) -> Response:
    event = schedule.get_visible(session, actor, event_id)
    ensure(actor, Action.manage_event, registrations.view_of(event))
    text = registrations.to_csv(registrations.attendees(session, event))
    audit.taken_out(session, actor, "export.attendees_csv", f"event:{event.id}")
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="event-{event.id}-attendees.csv"'},
    )


@router.get("/calendar/{token}.ics")
def personal_feed(token: str, request: Request, session: SessionDep) -> Response:
    """The secret subscription address: no session, the token is the key."""
    owner = feeds.owner_of(session, token)
    data = feeds.feed_calendar(session, request.app.state.settings, owner)
    return Response(
        data,
        media_type=ics.CONTENT_TYPE,
        headers={"Cache-Control": "private, max-age=300", "X-Robots-Tag": "noindex"},
    )
