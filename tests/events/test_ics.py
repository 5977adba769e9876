"""iCalendar files as calendar applications read them: the single-event file and the
personal feed parse, validate, carry a VTIMEZONE for every zone they name and survive a
round trip; an event keeps its UID while SEQUENCE tracks the changes attendees must see;
the meeting link reaches only people holding a seat, and the organisers."""

from datetime import UTC, datetime

import icalendar
from sqlmodel import Session

from hub.config import Settings
from hub.events import schedule
from hub.events.models import Event
from tests.conftest import ClientAs, World
from tests.events.factories import make_event, register
from tests.events.pages import (
    calendar_of,
    element_text,
    feed_path,
    ics_attachments,
    mails_to,
    unfolded,
    vevents,
)
from tests.intel.factories import actor_of

ROUND_TRIPPED = ("UID", "SEQUENCE", "DTSTART", "DTEND", "SUMMARY", "STATUS")
MEETING_LINK = "https://meet.example/room-4711?pwd=s3cret-kestrel"


def assert_valid_calendar(data: bytes) -> icalendar.Calendar:
    """What a strict reader checks: it parses without errors, passes the package's own
    validation, has PRODID and VERSION 2.0, each event its required and single-valued
    properties, a VTIMEZONE for every TZID, and writing it out again changes nothing."""
    cal = calendar_of(data)
    cal.validate()  # icalendar 7: PRODID, VERSION and at least one component
    assert str(cal["VERSION"]) == "2.0"
    assert [(c.name, c.errors) for c in cal.walk() if c.errors] == []
    assert cal.get_missing_tzids() == set()
    assert {tz.tz_name for tz in cal.timezones} == cal.get_used_tzids() - {"UTC"}
    for entry in cal.walk("VEVENT"):
        assert all(name in entry for name in entry.required), entry.get("UID")
        for name in entry.singletons:
            assert not isinstance(entry.get(name), list), f"{name} appears twice"
        assert not ("DTEND" in entry and "DURATION" in entry)
    again = calendar_of(cal.to_ical())
    assert again.to_ical() == data
    before = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    after = {str(e["UID"]): e for e in again.walk("VEVENT")}
    assert before.keys() == after.keys()
    for uid, entry in before.items():
        for name in ROUND_TRIPPED:
            assert entry.decoded(name) == after[uid].decoded(name), (uid, name)
    return cal


def online_event(db: Session, world: World, capacity: int = 1) -> Event:
    return make_event(
        db,
        world.coordinator,
        world.apparel,
        capacity=capacity,
        per_brand=1,
        zone="Asia/Shanghai",
        attendance="online",
        venue="",
        address="",
        online_url=MEETING_LINK,
    )


def test_single_event_file_is_valid_and_round_trips(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """The .ics of one event is a valid calendar naming the event as the hub shows it."""
    event = make_event(db, world.coordinator, world.apparel, zone="Asia/Shanghai")

    response = client_as(world.member_a).get(f"/events/{event.id}.ics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert f'filename="event-{event.id}.ics"' in response.headers["content-disposition"]
    cal = assert_valid_calendar(response.content)
    (entry,) = cal.walk("VEVENT")
    assert (str(entry["UID"]), str(entry["SUMMARY"]), str(entry["STATUS"])) == (
        event.uid,
        event.title,
        "CONFIRMED",
    )
    assert [tz.tz_name for tz in cal.timezones] == ["Asia/Shanghai"]


def test_feed_with_many_zones_is_valid_and_round_trips(
    db: Session, world: World, settings: Settings, client_as: ClientAs
) -> None:
    """A feed holding events in four zones and a whole-day conference: one VTIMEZONE per
    zone named (none for UTC, written with Z), every event once, and a valid file."""
    zones = ["Asia/Shanghai", "America/New_York", "Europe/Brussels", "UTC"]
    events = [make_event(db, world.coordinator, world.apparel, zone=zone) for zone in zones]
    events.append(
        make_event(
            db,
            world.alliance_admin,
            None,
            audience="alliance",
            zone="Asia/Shanghai",
            all_day="on",
            kind="conference",
        )
    )
    register(db, settings, world.member_a, events[0])
    browser = client_as(world.member_a)

    response = client_as(world.member_a).get(feed_path(browser))

    assert response.status_code == 200
    cal = assert_valid_calendar(response.content)
    assert sorted(str(e["UID"]) for e in cal.walk("VEVENT")) == sorted(e.uid for e in events)
    assert {tz.tz_name for tz in cal.timezones} == set(zones) - {"UTC"}
    utc_entry = next(e for e in cal.walk("VEVENT") if str(e["UID"]) == events[3].uid)
    assert utc_entry.decoded("DTSTART").utcoffset().total_seconds() == 0


def entry_of(data: bytes) -> icalendar.Event:
    (entry,) = vevents(data)
    return entry


def test_uid_stays_and_sequence_follows_what_attendees_must_see(
    db: Session, world: World, settings: Settings, client_as: ClientAs
) -> None:
    """Calendars update the entry they hold: the UID never changes; SEQUENCE stays when
    only the capacity changes, goes up when the place or the time changes, and once more
    when the event is cancelled, which the entry then says."""
    event = make_event(db, world.coordinator, world.apparel, capacity=5, per_brand=2)
    organiser = actor_of(db, world.coordinator)
    browser = client_as(world.member_a)
    path = f"/events/{event.id}.ics"

    def edited(**changes: str) -> icalendar.Event:
        form = schedule.form_of(db, event)
        for name, value in changes.items():
            setattr(form, name, value)
        schedule.update(db, settings, organiser, event, form)
        return entry_of(browser.get(path).content)

    first = entry_of(browser.get(path).content)
    seats = edited(capacity="8")
    place = edited(venue="Harbour hall 2")
    earlier = "07:00" if schedule.form_of(db, event).starts_time != "07:00" else "06:00"
    time = edited(starts_time=earlier)
    schedule.cancel(db, settings, organiser, event, "Strike at the port.")
    cancelled = entry_of(browser.get(path).content)

    versions = [first, seats, place, time, cancelled]
    assert {str(entry["UID"]) for entry in versions} == {event.uid}
    assert [int(entry["SEQUENCE"]) for entry in versions] == [0, 0, 1, 2, 3]
    assert "Harbour hall 2" in str(place["LOCATION"])
    assert time.decoded("DTSTART") != place.decoded("DTSTART")
    assert [str(entry["STATUS"]) for entry in versions] == ["CONFIRMED"] * 4 + ["CANCELLED"]
    assert "Strike at the port." in str(cancelled["DESCRIPTION"])


def link_in(data: bytes) -> bool:
    return MEETING_LINK in unfolded(data)


def test_meeting_link_only_for_seats_and_organisers(
    db: Session, world: World, settings: Settings, client_as: ClientAs
) -> None:
    """One seat: the confirmed person and the organiser find the meeting link in the
    .ics, the page and their feed; the person waiting, and a colleague of the group who
    did not register, find the event but not the link."""
    event = online_event(db, world)
    register(db, settings, world.member_a, event)  # the seat
    register(db, settings, world.member_b, event)  # waitlisted
    path = f"/events/{event.id}"

    for person, sees in [
        (world.member_a, True),
        (world.coordinator, True),
        (world.member_b, False),
        (world.admin_a, False),
    ]:
        browser = client_as(person)
        single = browser.get(f"{path}.ics").content
        feed = browser.get(feed_path(browser)).content
        assert event.uid in unfolded(feed), person.name
        page = browser.get(path).text
        assert (link_in(single), link_in(feed), MEETING_LINK in page) == (sees,) * 3, person.name
        assert (element_text(page, "online-link") is not None) == sees


def test_mailed_entries_carry_the_link_only_to_the_seated(
    db: Session, world: World, settings: Settings
) -> None:
    """The entries attached to e-mails follow the same rule: the confirmation and the
    change notice of the seated person carry the link; the waiting person's change notice
    does not, nor does anyone's cancellation notice."""
    event = online_event(db, world)
    register(db, settings, world.member_a, event)
    register(db, settings, world.member_b, event)
    organiser = actor_of(db, world.coordinator)
    form = schedule.form_of(db, event)
    # A new time of day on the same local day, whatever hour the test runs at (the event's
    # end may fall just after midnight in Shanghai).
    form.starts_time, form.ends_on, form.ends_time = "06:00", form.starts_on, "08:00"
    schedule.update(db, settings, organiser, event, form)
    schedule.cancel(db, settings, organiser, event, "")

    def attached(person_email: str, subject_part: str) -> list[bool]:
        return [
            link_in(data)
            for mail in mails_to(db, person_email)
            if subject_part in mail.subject
            for data in ics_attachments(mail)
        ]

    assert attached(world.member_a.email, "You are registered") == [True]
    assert attached(world.member_a.email, "has changed") == [True]
    assert attached(world.member_b.email, "waitlist") == []  # no entry: no seat yet
    assert attached(world.member_b.email, "has changed") == [False]
    assert attached(world.member_a.email, "is cancelled") == [False]
    assert attached(world.member_b.email, "is cancelled") == [False]


def test_cancelled_event_file_says_so_at_a_new_sequence(
    db: Session, world: World, settings: Settings, client_as: ClientAs
) -> None:
    """The file of a cancelled event stays valid, keeps its UID, and is marked CANCELLED
    at a higher SEQUENCE, so calendars holding it strike it out."""
    event = make_event(db, world.coordinator, world.apparel)
    browser = client_as(world.member_a)
    before = entry_of(browser.get(f"/events/{event.id}.ics").content)
    schedule.cancel(db, settings, actor_of(db, world.coordinator), event, "Postponed.")

    data = browser.get(f"/events/{event.id}.ics").content

    (after,) = assert_valid_calendar(data).walk("VEVENT")
    assert str(after["UID"]) == str(before["UID"])
    assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])
    assert str(after["STATUS"]) == "CANCELLED"
    assert str(after["SUMMARY"]).startswith("Cancelled")
    assert after.decoded("DTSTAMP") >= before.decoded("DTSTAMP")
    assert after.decoded("DTSTAMP") <= datetime.now(UTC)
