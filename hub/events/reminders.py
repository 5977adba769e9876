"""Reminders the worker sends: a day before an event to everyone holding a seat, and two
days before registration closes to the audience that has not registered (only while seats
are free). Each is marked as sent in the same transaction that queues its mail, so a
restarted worker never reminds twice."""

from datetime import datetime, timedelta
from functools import partial

from sqlmodel import Session, col, or_, select

from hub import i18n
from hub.config import Settings
from hub.events import notices
from hub.events.models import (
    Audience,
    Event,
    EventInvite,
    EventStatus,
    Registration,
    RegistrationState,
)
from hub.events.times import to_local
from hub.groups.models import Coordinator, GroupMembership
from hub.i18n import gettext as _
from hub.members.models import Brand, Person

BEFORE_EVENT = timedelta(hours=24)
BEFORE_DEADLINE = timedelta(hours=48)
BATCH = 200


def remind_attendees(session: Session, settings: Settings, now: datetime) -> int:
    rows = session.exec(
        select(Registration, Event, Person)
        .join(Event, col(Event.id) == Registration.event_id)
        .join(Person, col(Person.id) == Registration.person_id)
        .where(
            Registration.state == RegistrationState.confirmed,
            col(Registration.reminded_at).is_(None),
            Event.status == EventStatus.scheduled,
            col(Event.starts_at) > now,
            col(Event.starts_at) <= now + BEFORE_EVENT,
        )
        .limit(BATCH)
    ).all()
    for registration, event, person in rows:
        registration.reminded_at = now
        session.add(registration)
        notices.remind(
            session,
            settings,
            person,
            event,
            partial(_starts, event),
            dedupe_key=f"event-reminder:{registration.id}",
            show_link=True,
        )
    session.commit()
    return len(rows)


def _starts(event: Event, zone: str) -> str:
    """The reminder, in the reader's language: a whole-day event by its own date, a timed
    one at the reader's clock time."""
    if event.all_day:
        day = to_local(event.starts_at, event.time_zone).date()
        return _(
            "Reminder: %(title)s starts on %(day)s.",
            title=event.title,
            day=i18n.skeleton(day, "MMMMEEEEd"),
        )
    return _(
        "Reminder: %(title)s starts on %(when)s.",
        title=event.title,
        when=i18n.when(event.starts_at, zone),
    )


def _deadline(event: Event, zone: str) -> str:
    return _(
        "Registration for %(title)s closes on %(when)s; seats are still free.",
        title=event.title,
        when=i18n.when(event.registration_closes_at, zone),
    )


def _audience(session: Session, event: Event) -> list[Person]:
    """Active people the event is meant for who never registered for it: not those who
    cancelled, handed their seat over or were declined."""
    registered = select(Registration.person_id).where(Registration.event_id == event.id)
    query = (
        select(Person)
        .join(Brand, col(Brand.id) == Person.brand_id)
        .where(
            col(Person.is_active).is_(True),
            col(Brand.is_active).is_(True),
            col(Person.id).not_in(registered),
        )
    )
    if event.audience == Audience.group:
        brands = select(GroupMembership.brand_id).where(GroupMembership.group_id == event.group_id)
        coordinators = select(Coordinator.person_id).where(Coordinator.group_id == event.group_id)
        query = query.where(or_(col(Person.brand_id).in_(brands), col(Person.id).in_(coordinators)))
    elif event.audience == Audience.invited:
        invited = select(EventInvite.brand_id).where(EventInvite.event_id == event.id)
        query = query.where(col(Person.brand_id).in_(invited))
    return list(session.exec(query))


def remind_deadline(session: Session, settings: Settings, now: datetime) -> int:
    events = session.exec(
        select(Event)
        .where(
            Event.status == EventStatus.scheduled,
            col(Event.deadline_reminded_at).is_(None),
            col(Event.registration_opens_at) <= now,
            col(Event.registration_closes_at) > now,
            col(Event.registration_closes_at) <= now + BEFORE_DEADLINE,
            col(Event.seats_taken) < col(Event.capacity),
        )
        .limit(BATCH)
    ).all()
    sent = 0
    for event in events:
        for person in _audience(session, event):
            notices.remind(
                session,
                settings,
                person,
                event,
                partial(_deadline, event),
                dedupe_key=f"event-deadline:{event.id}:{person.id}",
                show_link=False,
            )
            sent += 1
        event.deadline_reminded_at = now
        session.add(event)
        session.commit()
    return sent
