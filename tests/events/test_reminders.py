"""The worker's reminders: a day before an event, to each person holding a seat, once;
before registration closes, to the audience that has not registered, while seats are
free, once."""

from datetime import datetime, timedelta

from sqlmodel import Session, select

from hub.clock import as_utc, utcnow
from hub.config import Settings
from hub.events import registrations, reminders, schedule
from hub.events.models import Event
from hub.members.models import Person
from hub.notify.models import Notification
from tests import factories
from tests.conftest import World
from tests.events.factories import make_event, register
from tests.events.pages import ics_attachments, mails_to, vevents
from tests.intel.factories import actor_of


def reminded(db: Session, person: Person, event: Event, about: str) -> int:
    """How many e-mails about `event` whose subject says `about` the person was sent."""
    return sum(
        1
        for mail in mails_to(db, person.email)
        if about in mail.subject and event.title in mail.subject
    )


def test_attendees_are_reminded_once_a_day_before(
    db: Session, world: World, settings: Settings
) -> None:
    """Twelve hours before: each confirmed person gets one reminder with the calendar
    entry, and a notification; the person waiting gets none, nor anyone of a cancelled
    event or of one further away; running again sends nothing new."""
    now = utcnow()
    soon = make_event(
        db,
        world.coordinator,
        world.apparel,
        capacity=2,
        per_brand=2,
        starts=now + timedelta(hours=12),
    )
    for person in (world.member_a, world.admin_a, world.member_b):  # the last one waits
        register(db, settings, person, soon)
    called_off = make_event(db, world.coordinator, world.apparel, starts=now + timedelta(hours=6))
    register(db, settings, world.member_b, called_off)
    schedule.cancel(db, settings, actor_of(db, world.coordinator), called_off, "")
    later = make_event(db, world.coordinator, world.apparel, starts=now + timedelta(days=3))
    register(db, settings, world.member_a, later)

    assert reminders.remind_attendees(db, settings, now) == 2

    assert [reminded(db, p, soon, "Reminder") for p in (world.member_a, world.admin_a)] == [1, 1]
    assert reminded(db, world.member_b, soon, "Reminder") == 0
    assert reminded(db, world.member_b, called_off, "Reminder") == 0
    assert reminded(db, world.member_a, later, "Reminder") == 0
    (mail,) = [m for m in mails_to(db, world.admin_a.email) if "Reminder" in m.subject]
    (entry,) = vevents(ics_attachments(mail)[0])
    assert str(entry["UID"]) == soon.uid
    kinds = db.exec(select(Notification.kind).where(Notification.person_id == world.admin_a.id))
    assert list(kinds).count("event_reminder") == 1

    assert reminders.remind_attendees(db, settings, now) == 0
    assert reminders.remind_attendees(db, settings, now + timedelta(hours=1)) == 0
    assert [reminded(db, p, soon, "Reminder") for p in (world.member_a, world.admin_a)] == [1, 1]


def test_no_reminder_once_the_event_has_started(
    db: Session, world: World, settings: Settings
) -> None:
    """A worker that was down and comes back after the start sends no reminder for an
    event already under way; the next event in reach still gets its own."""
    now = utcnow()
    event = make_event(db, world.coordinator, world.apparel, starts=now + timedelta(days=2))
    register(db, settings, world.member_a, event)
    starts = event.starts_at

    assert reminders.remind_attendees(db, settings, as_utc(starts) + timedelta(minutes=5)) == 0
    assert reminded(db, world.member_a, event, "Reminder") == 0
    assert reminders.remind_attendees(db, settings, as_utc(starts) - timedelta(hours=23)) == 1
    assert reminded(db, world.member_a, event, "Reminder") == 1


def closing_soon(db: Session, world: World, now: datetime, **options: object) -> Event:
    """An apparel event in four days whose registration closes in a day."""
    closes = now + timedelta(days=1)
    fields: dict[str, object] = {
        "zone": "UTC",
        "starts": now + timedelta(days=4),
        "registration_closes": f"{closes:%Y-%m-%dT%H:%M}",
    }
    return make_event(db, world.coordinator, world.apparel, **(fields | options))


def test_deadline_reminds_the_audience_not_registered_once(
    db: Session, world: World, settings: Settings
) -> None:
    """A day before registration closes, with seats free: the group's people who have not
    registered and its coordinator are told once; the registered person, a deactivated
    colleague, other groups' brands and staff outside the group are not."""
    now = utcnow()
    event = closing_soon(db, world, now, capacity=5)
    register(db, settings, world.member_a, event)
    gone = factories.make_person(db, world.brand_b, is_active=False, name="Gone Person")
    db.commit()

    assert reminders.remind_deadline(db, settings, now) == 3

    told = [world.admin_a, world.member_b, world.coordinator]
    not_told = [world.member_a, gone, world.member_c, world.admin_c, world.alliance_admin]
    assert [reminded(db, p, event, "closes") for p in told] == [1, 1, 1]
    assert [reminded(db, p, event, "closes") for p in not_told] == [0] * len(not_told)
    assert reminders.remind_deadline(db, settings, now) == 0
    assert reminders.remind_deadline(db, settings, now + timedelta(hours=12)) == 0
    assert [reminded(db, p, event, "closes") for p in told] == [1, 1, 1]


def test_deadline_reminds_only_the_invited_brands(
    db: Session, world: World, settings: Settings
) -> None:
    """An invited-brands event reminds the invited brand's people only."""
    now = utcnow()
    event = closing_soon(db, world, now, audience="invited", invited=[world.brand_c.slug])

    assert reminders.remind_deadline(db, settings, now) == 2

    assert [reminded(db, p, event, "closes") for p in (world.member_c, world.admin_c)] == [1, 1]
    for person in (world.member_a, world.member_b, world.coordinator):
        assert reminded(db, person, event, "closes") == 0


def test_no_deadline_reminder_when_full_far_or_not_open(
    db: Session, world: World, settings: Settings
) -> None:
    """No one is urged to register for a full event, for one whose registration closes
    in a week, or for one whose registration has not opened."""
    now = utcnow()
    full = closing_soon(db, world, now, capacity=1, per_brand=1)
    register(db, settings, world.member_a, full)
    far = closing_soon(
        db,
        world,
        now,
        starts=now + timedelta(days=10),
        registration_closes=f"{now + timedelta(days=7):%Y-%m-%dT%H:%M}",
    )
    not_open = closing_soon(
        db, world, now, registration_opens=f"{now + timedelta(hours=2):%Y-%m-%dT%H:%M}"
    )

    assert reminders.remind_deadline(db, settings, now) == 0

    for event in (full, far, not_open):
        assert reminded(db, world.member_b, event, "closes") == 0


def test_deadline_spares_those_who_already_decided(
    db: Session, world: World, settings: Settings
) -> None:
    """People who registered and then cancelled, handed their seat to a colleague, or
    were declined by the organiser are not urged to register; those who never did are."""
    now = utcnow()
    event = closing_soon(db, world, now, capacity=5)
    organiser = actor_of(db, world.coordinator)
    register(db, settings, world.member_a, event)
    registrations.hand_over(
        db, settings, actor_of(db, world.member_a), event, str(world.admin_a.id)
    )
    declined = register(db, settings, world.member_b, event)
    registrations.decline(db, settings, organiser, event, declined.id or 0)
    left = factories.make_person(db, world.brand_b, name="Changed Mind")
    register(db, settings, left, event)
    registrations.withdraw(db, settings, actor_of(db, left), event)
    never = factories.make_person(db, world.brand_b, name="Never Asked")
    db.commit()

    reminders.remind_deadline(db, settings, now)

    assert reminded(db, never, event, "closes") == 1
    for person in (world.member_a, world.admin_a, world.member_b, left):
        assert reminded(db, person, event, "closes") == 0, person.name
