"""Telling people about their registrations and about changes to events: a notification
in the hub and an e-mail (with the .ics attached) queued in the outbox, in the same
transaction as the change, so a notice goes out exactly when the change is saved."""

from collections.abc import Callable

from babel.lists import format_list
from babel.support import LazyProxy
from sqlmodel import Session, col, select

from hub import i18n
from hub.clock import utcnow
from hub.config import Settings
from hub.events import ics
from hub.events.models import ACTIVE_STATES, Event, Registration, RegistrationState
from hub.events.times import is_zone, span_text
from hub.i18n import gettext as _
from hub.i18n import lazy_gettext
from hub.members.models import Person
from hub.notify.models import Notification
from hub.notify.outbox import Attachment, queue_mail
from hub.notify.topics import Delivery, delivery_of

# What a person is told, by what happened to their registration.
REGISTRATION_TEXT: dict[str, LazyProxy] = {
    RegistrationState.confirmed: lazy_gettext("You are registered for %(title)s."),
    RegistrationState.waitlisted: lazy_gettext("%(title)s is full: you are on the waitlist."),
    RegistrationState.pending: lazy_gettext(
        "Your registration for %(title)s awaits the organiser's approval."
    ),
    "promoted": lazy_gettext("A seat freed up: you are now registered for %(title)s."),
    "declined": lazy_gettext("The organiser could not give you a place at %(title)s."),
    "handed_to": lazy_gettext("A colleague handed you their seat at %(title)s."),
}
# Kinds after which the person holds a seat: their e-mail carries the calendar entry.
HOLDS_SEAT = {RegistrationState.confirmed, "promoted", "handed_to"}
# What changed, as people registered are told (schedule.CALENDAR_FIELDS).
CHANGED_FIELDS: dict[str, LazyProxy] = {
    "title": lazy_gettext("title"),
    "description": lazy_gettext("description"),
    "time_zone": lazy_gettext("time zone"),
    "all_day": lazy_gettext("whole days"),
    "starts_at": lazy_gettext("start"),
    "ends_at": lazy_gettext("end"),
    "attendance": lazy_gettext("how people attend"),
    "venue": lazy_gettext("venue"),
    "address": lazy_gettext("address"),
    "online_url": lazy_gettext("meeting link"),
}


def page(settings: Settings, event: Event) -> str:
    return f"{settings.base_url.rstrip('/')}/events/{event.id}"


def reader_zone(person: Person, event: Event) -> str:
    """The zone a person reads an event's times in: their profile's, else the event's own
    (an e-mail knows no browser)."""
    return person.time_zone if is_zone(person.time_zone) else event.time_zone


def when_text(event: Event, zone: str) -> str:
    """The event's dates as an e-mail states them, in the reader's language: in `zone`,
    with the event's own time beside them when it is elsewhere."""
    text = span_text(event.starts_at, event.ends_at, event.all_day, event.time_zone, zone)
    if event.all_day or zone != event.time_zone:
        return text
    return _("%(when)s (%(zone)s)", when=text, zone=event.time_zone)


def attachment(settings: Settings, event: Event, show_link: bool) -> Attachment:
    data = ics.one_event(ics.Entry(event, show_link), settings.base_url)
    return Attachment(ics.filename(event), ics.CONTENT_TYPE + "; method=PUBLISH", data)


def _details(event: Event, zone: str) -> str:
    place = ", ".join(part for part in (event.venue, event.address) if part) or _("Online")
    return "\n".join(
        (
            event.title,
            _("When: %(when)s", when=when_text(event, zone)),
            _("Where: %(place)s", place=place),
        )
    )


def _tell(
    session: Session,
    settings: Settings,
    person: Person,
    event: Event,
    kind: str,
    text: Callable[[str], str],
    more: str = "",
    calendar_link: bool | None = None,
    dedupe_key: str | None = None,
) -> None:
    """A notification in the hub, and the e-mail as the person chose for its topic: sent
    now (with the calendar entry unless `calendar_link` is None; its meeting link when
    True), left for the daily digest, or not at all. Everything is written in the
    person's language and zone: `text` is given that zone."""
    delivery = delivery_of(session, person.id or 0, kind)
    with i18n.presenting(person.language, person.time_zone):
        zone = reader_zone(person, event)
        said = text(zone)
        session.add(
            Notification(
                person_id=person.id or 0,
                kind=kind,
                text=said[:500],
                link=f"/events/{event.id}",
                group_id=event.group_id,
                mailed_at=None if delivery == Delivery.digest else utcnow(),
            )
        )
        if delivery != Delivery.instant:
            return
        details = _details(event, zone) + (f"\n{more}" if more else "")
        link = _("On the hub: %(link)s", link=page(settings, event))
        body = f"{said}\n\n{details}\n\n{link}\n"
        files = [] if calendar_link is None else [attachment(settings, event, calendar_link)]
        queue_mail(session, person.email, said[:200], body, files, dedupe_key=dedupe_key)


def registration_changed(
    session: Session, settings: Settings, event: Event, registration: Registration, kind: str
) -> None:
    person = session.get(Person, registration.person_id)
    if person is None:
        return
    told = REGISTRATION_TEXT.get(kind)

    def text(_zone: str) -> str:
        if told is None:
            return _("Your registration for %(title)s changed.", title=event.title)
        return str(told) % {"title": event.title}

    _tell(
        session,
        settings,
        person,
        event,
        f"event_{kind}",
        text,
        calendar_link=True if kind in HOLDS_SEAT else None,
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

    def text(_zone: str) -> str:
        names = [str(CHANGED_FIELDS.get(name, name)) for name in changed]
        what = format_list(names, locale=i18n.current().locale)
        return _("%(title)s has changed (%(what)s).", title=event.title, what=what)

    for registration, person in _registered_people(session, event):
        _tell(
            session,
            settings,
            person,
            event,
            "event_changed",
            text,
            calendar_link=registration.state == RegistrationState.confirmed,
            dedupe_key=f"event-changed:{event.id}:{event.sequence}:{person.id}",
        )


def event_cancelled(session: Session, settings: Settings, event: Event) -> None:
    for _registration, person in _registered_people(session, event):
        with i18n.presenting(person.language, person.time_zone):
            reason = (
                _("Reason: %(reason)s", reason=event.cancel_reason) if event.cancel_reason else ""
            )
        _tell(
            session,
            settings,
            person,
            event,
            "event_cancelled",
            lambda _zone: _("%(title)s is cancelled.", title=event.title),
            reason,
            calendar_link=False,
            dedupe_key=f"event-cancelled:{event.id}:{person.id}",
        )


def remind(
    session: Session,
    settings: Settings,
    person: Person,
    event: Event,
    text: Callable[[str], str],
    dedupe_key: str,
    show_link: bool,
) -> None:
    """A reminder; `text` writes it in the person's language for the zone they read in."""
    _tell(
        session,
        settings,
        person,
        event,
        "event_reminder",
        text,
        calendar_link=show_link,
        dedupe_key=dedupe_key,
    )
