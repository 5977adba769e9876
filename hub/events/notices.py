"""Telling people about their registrations and about changes to events: a notification
in the hub and an e-mail (with the .ics attached) queued in the outbox, in the same
transaction as the change, so a notice goes out exactly when the change is saved."""

from collections.abc import Sequence
from datetime import timedelta

from sqlmodel import Session, col, select

from hub.clock import utcnow
from hub.config import Settings
from hub.events import ics
from hub.events.models import ACTIVE_STATES, Event, Registration, RegistrationState
from hub.events.times import to_local
from hub.members.models import Person
from hub.notify.models import Notification
from hub.notify.outbox import Attachment, queue_mail
from hub.notify.topics import Delivery, delivery_of

# What a person is told, by what happened to their registration.
REGISTRATION_TEXT: dict[str, str] = {
    RegistrationState.confirmed: "You are registered for {title}.",
    RegistrationState.waitlisted: "{title} is full: you are on the waitlist.",
    RegistrationState.pending: "Your registration for {title} awaits the organiser's approval.",
    "promoted": "A seat freed up: you are now registered for {title}.",
    "declined": "The organiser could not give you a place at {title}.",
    "handed_to": "A colleague handed you their seat at {title}.",
}
# Kinds after which the person holds a seat: their e-mail carries the calendar entry.
HOLDS_SEAT = {RegistrationState.confirmed, "promoted", "handed_to"}


def page(settings: Settings, event: Event) -> str:
    return f"{settings.base_url.rstrip('/')}/events/{event.id}"


def when_text(event: Event) -> str:
    """The event's dates in its own zone, as an e-mail states them."""
    starts = to_local(event.starts_at, event.time_zone)
    ends = to_local(event.ends_at, event.time_zone)
    if event.all_day:
        last = (ends - timedelta(days=1)).date()
        if last == starts.date():
            return f"{starts:%A %d %B %Y}, all day"
        return f"{starts:%A %d %B} to {last:%A %d %B %Y}, whole days"
    same_day = starts.date() == ends.date()
    end_text = f"{ends:%H:%M}" if same_day else f"{ends:%a %d %b %Y, %H:%M}"
    return f"{starts:%A %d %B %Y, %H:%M} to {end_text} ({event.time_zone})"


def attachment(settings: Settings, event: Event, show_link: bool) -> Attachment:
    data = ics.one_event(ics.Entry(event, show_link), settings.base_url)
    return Attachment(ics.filename(event), ics.CONTENT_TYPE + "; method=PUBLISH", data)


def _tell(
    session: Session,
    settings: Settings,
    person: Person,
    event: Event,
    kind: str,
    text: str,
    details: str,
    attachments: Sequence[Attachment] = (),
    dedupe_key: str | None = None,
) -> None:
    """A notification in the hub, and the e-mail as the person chose for its topic: sent
    now with the calendar entry, left for the daily digest, or not at all."""
    delivery = delivery_of(session, person.id or 0, kind)
    session.add(
        Notification(
            person_id=person.id or 0,
            kind=kind,
            text=text[:500],
            link=f"/events/{event.id}",
            group_id=event.group_id,
            mailed_at=None if delivery == Delivery.digest else utcnow(),
        )
    )
    if delivery == Delivery.instant:
        body = f"{text}\n\n{details}\n\nOn the hub: {page(settings, event)}\n"
        queue_mail(session, person.email, text[:200], body, attachments, dedupe_key=dedupe_key)


def _details(event: Event) -> str:
    place = ", ".join(part for part in (event.venue, event.address) if part) or "Online"
    return f"{event.title}\nWhen: {when_text(event)}\nWhere: {place}"


def registration_changed(
    session: Session, settings: Settings, event: Event, registration: Registration, kind: str
) -> None:
    person = session.get(Person, registration.person_id)
    if person is None:
        return
    text = REGISTRATION_TEXT.get(kind, "Your registration for {title} changed.")
    files = [attachment(settings, event, show_link=True)] if kind in HOLDS_SEAT else []
    _tell(
        session,
        settings,
        person,
        event,
        f"event_{kind}",
        text.format(title=event.title),
        _details(event),
        files,
    )


def _registered_people(session: Session, event: Event) -> list[tuple[Registration, Person]]:
    return list(
        session.exec(
            select(Registration, Person)
            .join(Person, col(Person.id) == Registration.person_id)
            .where(Registration.event_id == event.id, col(Registration.state).in_(ACTIVE_STATES))
        ).all()
    )


def event_changed(session: Session, settings: Settings, event: Event, changed: list[str]) -> None:
    """Everyone registered gets the new times or place, with the updated calendar entry."""
    what = ", ".join(name.replace("_", " ") for name in changed)
    for registration, person in _registered_people(session, event):
        holds = registration.state == RegistrationState.confirmed
        _tell(
            session,
            settings,
            person,
            event,
            "event_changed",
            f"{event.title} has changed ({what}).",
            _details(event),
            [attachment(settings, event, show_link=holds)],
            dedupe_key=f"event-changed:{event.id}:{event.sequence}:{person.id}",
        )


def event_cancelled(session: Session, settings: Settings, event: Event) -> None:
    reason = f"\nReason: {event.cancel_reason}" if event.cancel_reason else ""
    for _registration, person in _registered_people(session, event):
        _tell(
            session,
            settings,
            person,
            event,
            "event_cancelled",
            f"{event.title} is cancelled.",
            _details(event) + reason,
            [attachment(settings, event, show_link=False)],
            dedupe_key=f"event-cancelled:{event.id}:{person.id}",
        )


def remind(
    session: Session,
    settings: Settings,
    person: Person,
    event: Event,
    text: str,
    dedupe_key: str,
    show_link: bool,
) -> None:
    _tell(
        session,
        settings,
        person,
        event,
        "event_reminder",
        text,
        _details(event),
        [attachment(settings, event, show_link=show_link)],
        dedupe_key=dedupe_key,
    )
