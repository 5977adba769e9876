"""Events and registrations for tests, made through the services as real ones are."""

import itertools
from dataclasses import asdict
from datetime import datetime, timedelta

from sqlmodel import Session

from hub.clock import utcnow
from hub.config import Settings
from hub.events import registrations, schedule
from hub.events.models import Event, Registration
from hub.events.times import to_local
from hub.groups.models import WorkingGroup
from hub.members.models import Person
from tests.intel.factories import actor_of

_numbers = itertools.count(1)


def event_form(
    group: WorkingGroup | None,
    capacity: int = 10,
    per_brand: int = 5,
    audience: str = "group",
    zone: str = "Europe/Brussels",
    starts: datetime | None = None,
    hours: int = 3,
    **overrides: str | list[str],
) -> schedule.EventForm:
    """A form for an event of `group` starting in a week (or at `starts`, a UTC time),
    typed in `zone`, with registration open now."""
    starts = starts or utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=7)
    local_start = to_local(starts, zone)
    local_end = to_local(starts + timedelta(hours=hours), zone)
    opens = to_local(utcnow() - timedelta(days=1), zone)
    form = schedule.EventForm(
        group=group.slug if group else "",
        audience=audience,
        kind="workshop",
        title=f"Workshop {next(_numbers)}",
        description="Recognising fakes at the border.",
        time_zone=zone,
        starts_on=f"{local_start:%Y-%m-%d}",
        starts_time=f"{local_start:%H:%M}",
        ends_on=f"{local_end:%Y-%m-%d}",
        ends_time=f"{local_end:%H:%M}",
        attendance="in_person",
        venue="Customs training centre",
        address="1 Harbour Road",
        capacity=str(capacity),
        seats_per_brand=str(per_brand),
        registration_opens=f"{opens:%Y-%m-%dT%H:%M}",
    )
    for name, value in overrides.items():
        setattr(form, name, value)
    return form


def make_event(
    session: Session,
    organiser: Person,
    group: WorkingGroup | None,
    capacity: int = 10,
    per_brand: int = 5,
    **options: object,
) -> Event:
    """An event organised by `organiser` (a coordinator of `group`, or an alliance admin)."""
    form = event_form(group, capacity, per_brand, **options)  # type: ignore[arg-type]
    return schedule.create(session, actor_of(session, organiser), form)


def register(session: Session, settings: Settings, person: Person, event: Event) -> Registration:
    return registrations.register(session, settings, actor_of(session, person), event)


def form_data(form: schedule.EventForm) -> dict[str, str | list[str]]:
    """The form's fields as a browser posts them."""
    return asdict(form)
