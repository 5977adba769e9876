"""Registrations: seats, per-brand caps and the waitlist, decided under a lock on the event.

Every function that hands out or gives back seats first locks the event's row
(`hub.db.lock_row`), then reads the counts, decides and commits. Concurrent requests, in
any number of processes, decide one after the other on fresh counts; the CHECK constraints
on `event.seats_taken` and `event_brand_seats.taken` are the last line if code ever forgot.
A freed seat goes at once to the first person on the waitlist whose brand is under its cap.
"""

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from babel.support import LazyProxy
from sqlmodel import Session, col, func, select

from hub import audit, i18n
from hub.clock import as_utc, utcnow
from hub.config import Settings
from hub.db import lock_row, row_id
from hub.errors import Conflict, FormCheck, NotFound
from hub.events import notices
from hub.events.models import (
    ACTIVE_STATES,
    REGISTRATION_STATE_LABELS,
    BrandSeats,
    Event,
    EventStatus,
    Registration,
    RegistrationState,
)
from hub.i18n import gettext as _
from hub.i18n import lazy_gettext, pgettext
from hub.intel.exports import safe_cell
from hub.members.models import Brand, Person
from hub.policy import Action, Actor, EventView, ensure

MAX_NOTE = 500


def view_of(event: Event, attending: bool = False) -> EventView:
    return EventView(event.group_id, event.attendees_visible, attending)


def lock_event(session: Session, event_id: int) -> Event:
    """Hold the event's row until the caller commits, and return it freshly read."""
    event = lock_row(session, Event, event_id, "capacity")
    if event is None:
        raise NotFound(_("There is no such event."))
    return event


def active_of(session: Session, event_id: int, person_id: int) -> Registration | None:
    return session.exec(
        select(Registration).where(
            Registration.event_id == event_id,
            Registration.person_id == person_id,
            col(Registration.state).in_(ACTIVE_STATES),
        )
    ).first()


# Why registration is not possible, by the code closed_state gives.
CLOSED_TEXT: dict[str, LazyProxy] = {
    "cancelled": lazy_gettext("This event was cancelled."),
    "over": lazy_gettext("This event is over."),
    "not_open": lazy_gettext("Registration has not opened yet."),
    "closed": lazy_gettext("Registration is closed."),
}


def closed_state(event: Event, now: datetime | None = None) -> str:
    """Why registration is not possible now, as a code of CLOSED_TEXT, or "" when it is."""
    now = now or utcnow()
    if event.status == EventStatus.cancelled:
        return "cancelled"
    if now >= as_utc(event.ends_at):
        return "over"
    if now < as_utc(event.registration_opens_at):
        return "not_open"
    if now >= as_utc(event.registration_closes_at):
        return "closed"
    return ""


def closed_reason(event: Event, now: datetime | None = None) -> str:
    """Why registration is not possible now, in the reader's language, or "" when it is."""
    state = closed_state(event, now)
    return str(CLOSED_TEXT[state]) if state else ""


def _brand_seats(session: Session, event: Event, brand_id: int) -> BrandSeats:
    seats = session.get(BrandSeats, (event.id, brand_id))
    if seats is None:
        seats = BrandSeats(event_id=event.id or 0, brand_id=brand_id, cap=event.seats_per_brand)
        session.add(seats)
    return seats


def _take_seat(session: Session, event: Event, registration: Registration) -> bool:
    """Confirm the registration if a seat is free and its brand is under the cap."""
    seats = _brand_seats(session, event, registration.brand_id)
    if event.seats_taken >= event.capacity or seats.taken >= event.seats_per_brand:
        return False
    event.seats_taken += 1
    seats.taken += 1
    registration.state = RegistrationState.confirmed
    session.add_all([event, seats, registration])
    return True


def _give_back(session: Session, event: Event, registration: Registration) -> None:
    if registration.state != RegistrationState.confirmed:
        return
    seats = _brand_seats(session, event, registration.brand_id)
    event.seats_taken -= 1
    seats.taken -= 1
    session.add_all([event, seats])


def _place(session: Session, event: Event, registration: Registration) -> None:
    if not _take_seat(session, event, registration):
        registration.state = RegistrationState.waitlisted
    registration.updated_at = utcnow()
    session.add(registration)


def fill_seats(session: Session, settings: Settings, event: Event) -> list[Registration]:
    """Give free seats to the waitlist in arrival order, skipping people whose brand is at
    its cap (they keep their place for when their brand's seat frees). The caller holds
    the event's lock."""
    promoted: list[Registration] = []
    if event.status == EventStatus.cancelled:
        return promoted
    waiting = session.exec(
        select(Registration)
        .where(
            Registration.event_id == event.id,
            Registration.state == RegistrationState.waitlisted,
        )
        .order_by(col(Registration.position))
    ).all()
    for registration in waiting:
        if event.seats_taken >= event.capacity:
            break
        if _take_seat(session, event, registration):
            registration.updated_at = utcnow()
            promoted.append(registration)
            notices.registration_changed(session, settings, event, registration, "promoted")
    return promoted


def register(
    session: Session, settings: Settings, actor: Actor, event: Event, note: str = ""
) -> Registration:
    """Register the actor: a seat if one is free and their brand is under its cap, the
    waitlist otherwise; or awaiting approval when the organiser approves each person."""
    if len(note) > MAX_NOTE:
        check = FormCheck()
        check.fail(
            "note", _("Keep the note under %(most)s characters.", most=i18n.number(MAX_NOTE))
        )
        check.done()
    reason = closed_reason(event)
    if reason:
        raise Conflict(reason)
    event = lock_event(session, event.id or 0)
    reason = closed_reason(event)  # it may have changed while we waited for the lock
    if reason:
        raise Conflict(reason)
    if active_of(session, event.id or 0, actor.person_id) is not None:
        raise Conflict(_("You are already registered for this event."))
    registration = Registration(
        event_id=event.id or 0,
        person_id=actor.person_id,
        brand_id=actor.brand_id,
        state=RegistrationState.pending,
        position=event.next_position,
        note=note.strip(),
    )
    event.next_position += 1
    session.add(event)
    if not event.needs_approval:
        _place(session, event, registration)
    session.add(registration)
    session.flush()
    notices.registration_changed(session, settings, event, registration, registration.state)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "event.registered",
        f"event:{event.id}",
        state=registration.state,
    )
    session.commit()
    return registration


def withdraw(session: Session, settings: Settings, actor: Actor, event: Event) -> Registration:
    """Cancel the actor's own registration; a seat they held goes to the waitlist."""
    event = lock_event(session, event.id or 0)
    registration = active_of(session, event.id or 0, actor.person_id)
    if registration is None:
        raise Conflict(_("You are not registered for this event."))
    _give_back(session, event, registration)
    registration.state = RegistrationState.cancelled
    registration.updated_at = utcnow()
    session.add(registration)
    fill_seats(session, settings, event)
    audit.record(session, actor.audit_id, actor.label, "event.withdrawn", f"event:{event.id}")
    session.commit()
    return registration


def _organisers_registration(
    session: Session, actor: Actor, event: Event, registration_id: int
) -> tuple[Event, Registration]:
    ensure(actor, Action.manage_event, view_of(event))
    event = lock_event(session, event.id or 0)
    registration = session.get(Registration, registration_id)
    if registration is None or registration.event_id != event.id:
        raise NotFound(_("There is no such registration."))
    return event, registration


def approve(
    session: Session, settings: Settings, actor: Actor, event: Event, registration_id: int
) -> Registration:
    """Let a person awaiting approval in: a seat if one is free, else the waitlist (in the
    place their arrival gave them)."""
    event, registration = _organisers_registration(session, actor, event, registration_id)
    if registration.state != RegistrationState.pending:
        raise Conflict(_("Only a registration awaiting approval can be approved."))
    if event.status == EventStatus.cancelled:
        raise Conflict(_("This event was cancelled."))
    registration.decided_by_id = actor.person_id
    _place(session, event, registration)
    notices.registration_changed(session, settings, event, registration, registration.state)
    audit.record(
        session, actor.audit_id, actor.label, "event.approved", f"registration:{registration.id}"
    )
    session.commit()
    return registration


def decline(
    session: Session, settings: Settings, actor: Actor, event: Event, registration_id: int
) -> Registration:
    """Turn a registration down (awaiting approval, waitlisted or even confirmed); a seat it
    held goes to the waitlist."""
    event, registration = _organisers_registration(session, actor, event, registration_id)
    if registration.state not in ACTIVE_STATES:
        raise Conflict(_("This registration is no longer active."))
    _give_back(session, event, registration)
    registration.state = RegistrationState.declined
    registration.decided_by_id = actor.person_id
    registration.updated_at = utcnow()
    session.add(registration)
    notices.registration_changed(session, settings, event, registration, "declined")
    fill_seats(session, settings, event)
    audit.record(
        session, actor.audit_id, actor.label, "event.declined", f"registration:{registration.id}"
    )
    session.commit()
    return registration


def colleagues(session: Session, actor: Actor, event: Event) -> list[Person]:
    """People of the actor's brand who could take the actor's seat."""
    registered = select(Registration.person_id).where(
        Registration.event_id == event.id, col(Registration.state).in_(ACTIVE_STATES)
    )
    return list(
        session.exec(
            select(Person)
            .where(
                Person.brand_id == actor.brand_id,
                col(Person.is_active).is_(True),
                Person.id != actor.person_id,
                col(Person.id).not_in(registered),
            )
            .order_by(col(Person.name))
            .limit(500)
        )
    )


def hand_over(
    session: Session, settings: Settings, actor: Actor, event: Event, colleague_id: str
) -> Registration:
    """Give the actor's seat to a colleague at the same brand: the seat, its brand and its
    place stay as they were; the colleague is told, the actor's registration ends."""
    state = closed_state(event)
    if state not in {"", "closed"}:  # a seat may change hands after registration closes
        raise Conflict(str(CLOSED_TEXT[state]))
    event = lock_event(session, event.id or 0)
    mine = active_of(session, event.id or 0, actor.person_id)
    if mine is None or mine.state != RegistrationState.confirmed:
        raise Conflict(_("Only a confirmed seat can be handed over."))
    chosen = row_id(colleague_id)
    colleague = session.get(Person, chosen) if chosen is not None else None
    check = FormCheck()
    if colleague is None or colleague.brand_id != actor.brand_id or not colleague.is_active:
        check.fail("colleague", _("Choose a colleague from your brand."))
    elif colleague.id == actor.person_id:
        check.fail("colleague", _("Choose someone other than yourself."))
    elif active_of(session, event.id or 0, colleague.id or 0) is not None:
        check.fail(
            "colleague", _("%(name)s is already registered for this event.", name=colleague.name)
        )
    check.done()
    assert colleague is not None
    mine.state = RegistrationState.handed_over
    mine.updated_at = utcnow()
    session.add(mine)
    session.flush()  # the colleague's row must not meet this one as active
    theirs = Registration(
        event_id=event.id or 0,
        person_id=colleague.id or 0,
        brand_id=mine.brand_id,
        state=RegistrationState.confirmed,
        position=mine.position,
        handed_from_id=actor.person_id,
    )
    session.add(theirs)
    session.flush()
    notices.registration_changed(session, settings, event, theirs, "handed_to")
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "event.handed_over",
        f"event:{event.id}",
        to=colleague.email,
    )
    session.commit()
    return theirs


def waitlist_place(session: Session, registration: Registration) -> int:
    """1 for the first person waiting, and so on."""
    ahead = session.exec(
        select(func.count())
        .select_from(Registration)
        .where(
            Registration.event_id == registration.event_id,
            Registration.state == RegistrationState.waitlisted,
            col(Registration.position) < registration.position,
        )
    ).one()
    return ahead + 1


def counts(session: Session, event: Event) -> dict[str, int]:
    """How many registrations are in each active state."""
    rows = session.exec(
        select(Registration.state, func.count())
        .where(Registration.event_id == event.id, col(Registration.state).in_(ACTIVE_STATES))
        .group_by(col(Registration.state))
    ).all()
    found = dict(rows)
    return {state: found.get(state, 0) for state in ACTIVE_STATES}


@dataclass(frozen=True)
class Attendee:
    registration: Registration
    person: Person
    brand: Brand

    @property
    def state_label(self) -> str:
        state = self.registration.state
        return str(REGISTRATION_STATE_LABELS.get(state, state))


def attendees(session: Session, event: Event, confirmed_only: bool = False) -> list[Attendee]:
    """The active registrations in arrival order, with their people and brands."""
    states = (RegistrationState.confirmed,) if confirmed_only else ACTIVE_STATES
    rows = session.exec(
        select(Registration, Person, Brand)
        .join(Person, col(Person.id) == Registration.person_id)
        .join(Brand, col(Brand.id) == Registration.brand_id)
        .where(Registration.event_id == event.id, col(Registration.state).in_(states))
        .order_by(col(Registration.position))
    ).all()
    return [Attendee(registration, person, brand) for registration, person, brand in rows]


def to_csv(people: list[Attendee]) -> str:
    """The organiser's sheet: headers and statuses in their language, values as stored."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            pgettext("attendees.csv", "name"),
            pgettext("attendees.csv", "email"),
            pgettext("attendees.csv", "brand"),
            pgettext("attendees.csv", "status"),
            pgettext("attendees.csv", "place"),
            pgettext("attendees.csv", "registered_at_utc"),
            pgettext("attendees.csv", "note"),
        ]
    )
    for line in people:
        registration = line.registration
        writer.writerow(
            safe_cell(value)
            for value in (
                line.person.name,
                line.person.email,
                line.brand.name,
                line.state_label,
                registration.position,
                as_utc(registration.created_at).strftime("%Y-%m-%d %H:%M"),
                registration.note,
            )
        )
    return out.getvalue()
