"""Time zones: an event typed in Shanghai time is read in London and New York at the
right clock time on either side of their daylight-saving changes, in the viewer's profile
zone or else their browser's; its .ics keeps Shanghai time with the zone's own rules;
whole-day events stay on their own dates; wall times a DST change skips or repeats are
handled as RFC 5545 says."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from hub.events.models import Event
from hub.members.models import Person
from tests.conftest import ClientAs, World
from tests.events.factories import event_form, form_data, make_event
from tests.events.pages import (
    calendar_of,
    element_text,
    field_error,
    month_days,
    unfolded,
    vevents,
)

SHANGHAI = "Asia/Shanghai"
OPENS = "2029-06-01T00:00"  # registration opened long before any of these events


@dataclass(frozen=True)
class Case:
    """One event, 10:00 to 12:00 on `day` in Shanghai (UTC+8 all year), and what London
    and New York read, worked out by hand from their rules for 2030: the US moves to
    summer time on 10 March, the UK on 31 March; both go back in autumn."""

    name: str
    day: str
    shanghai: str  # the day as the pages write it (in English, the default language)
    starts_utc: datetime
    london: str
    new_york: str


CASES = [
    Case(
        "between the US and the UK changes",
        "2030-03-20",
        "Wed, Mar 20, 2030",
        datetime(2030, 3, 20, 2, 0, tzinfo=UTC),
        "Wed, Mar 20, 2030, 2:00 AM – 4:00 AM GMT",
        "Tue, Mar 19, 2030, 10:00 PM – Wed, Mar 20, 2030, 12:00 AM EDT",
    ),
    Case(
        "summer",
        "2030-07-10",
        "Wed, Jul 10, 2030",
        datetime(2030, 7, 10, 2, 0, tzinfo=UTC),
        "Wed, Jul 10, 2030, 3:00 AM – 5:00 AM BST",
        "Tue, Jul 9, 2030, 10:00 PM – Wed, Jul 10, 2030, 12:00 AM EDT",
    ),
    Case(
        "winter",
        "2030-01-15",
        "Tue, Jan 15, 2030",
        datetime(2030, 1, 15, 2, 0, tzinfo=UTC),
        "Tue, Jan 15, 2030, 2:00 AM – 4:00 AM GMT",
        "Mon, Jan 14, 2030, 9:00 PM – 11:00 PM EST",
    ),
]


def shanghai_event(db: Session, world: World, day: str, **typed: str) -> Event:
    """An event of the apparel group as its organiser types it, in Shanghai time."""
    fields = {
        "starts_on": day,
        "starts_time": "10:00",
        "ends_on": day,
        "ends_time": "12:00",
        "registration_opens": OPENS,
    }
    return make_event(db, world.coordinator, world.apparel, zone=SHANGHAI, **(fields | typed))


def with_zone(db: Session, person: Person, zone: str) -> Person:
    person.time_zone = zone
    db.add(person)
    db.commit()
    return person


def test_event_page_reads_in_each_viewers_zone(
    db: Session, world: World, client_as: ClientAs, subtests: pytest.Subtests
) -> None:
    """The event's time in London and New York, in winter, in summer and in the week
    when only New York has moved its clocks; the browser's zone when the profile has none,
    the profile's when it has one; and Shanghai's own time beside it."""
    london = client_as(with_zone(db, world.member_a, "Europe/London"))
    london.cookies.set("hub_tz", "America/Los_Angeles")  # the profile wins
    new_york = client_as(with_zone(db, world.member_b, "America/New_York"))
    by_browser = client_as(world.admin_a)  # no zone on the profile
    by_browser.cookies.set("hub_tz", "America/New_York")
    in_shanghai = client_as(with_zone(db, world.coordinator, SHANGHAI))

    for case in CASES:
        event = shanghai_event(db, world, case.day)
        path = f"/events/{event.id}"
        with subtests.test(case.name):
            there = f"({case.shanghai[:3]}, 10:00 AM {SHANGHAI})"  # the event's own time beside
            assert element_text(london.get(path).text, "event-when") == f"{case.london} {there}"
            for browser in (new_york, by_browser):
                page = browser.get(path).text
                when = element_text(page, "event-when") or ""
                assert when.startswith(case.new_york), when
                local = element_text(page, "event-local") or ""
                day = case.shanghai.split(", ", 1)[1]  # the moment without its weekday
                assert local == f"{day}, 10:00 AM CST ({SHANGHAI})", local
            own = element_text(in_shanghai.get(path).text, "event-when")
            assert own == f"{case.shanghai}, 10:00 AM – 12:00 PM CST"


def test_unknown_browser_zone_falls_back_to_utc(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """A cookie naming no real zone is ignored: times are given in UTC, said so."""
    event = shanghai_event(db, world, "2030-03-20")
    browser = client_as(world.admin_a)
    browser.cookies.set("hub_tz", "Mars/Olympus_Mons")
    when = element_text(browser.get(f"/events/{event.id}").text, "event-when") or ""
    assert when.startswith("Wed, Mar 20, 2030, 2:00 AM – 4:00 AM UTC"), when


def test_profile_zone_is_chosen_on_the_settings_page(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """Choosing a zone in one's settings changes how events read; a zone that does not
    exist is refused beside the field; choosing none follows the browser again."""
    event = shanghai_event(db, world, "2030-07-10")
    browser = client_as(world.member_a)
    browser.cookies.set("hub_tz", "America/New_York")
    path = f"/events/{event.id}"

    assert browser.post("/me/time-zone", data={"time_zone": "Europe/London"}).status_code == 303
    assert (element_text(browser.get(path).text, "event-when") or "").startswith(CASES[1].london)

    refused = browser.post("/me/time-zone", data={"time_zone": "Europe/Atlantis"})
    assert refused.status_code == 422
    assert "Choose a time zone from the list" in (field_error(refused.text, "time_zone") or "")
    db.refresh(world.member_a)
    assert world.member_a.time_zone == "Europe/London"

    assert browser.post("/me/time-zone", data={"time_zone": ""}).status_code == 303
    assert (element_text(browser.get(path).text, "event-when") or "").startswith(CASES[1].new_york)


def test_ics_keeps_shanghai_time_with_its_zone(
    db: Session, world: World, client_as: ClientAs, subtests: pytest.Subtests
) -> None:
    """The .ics says 10:00 in Asia/Shanghai and carries that zone's VTIMEZONE; read by
    the icalendar package, by the zone's name or by the VTIMEZONE alone, it is the same
    instant the pages show."""
    browser = client_as(world.member_a)
    for case in CASES:
        event = shanghai_event(db, world, case.day)
        with subtests.test(case.name):
            data = browser.get(f"/events/{event.id}.ics").content
            compact = case.day.replace("-", "")
            assert f"DTSTART;TZID={SHANGHAI}:{compact}T100000" in unfolded(data)
            assert f"DTEND;TZID={SHANGHAI}:{compact}T120000" in unfolded(data)
            (entry,) = vevents(data)
            assert entry.decoded("DTSTART").astimezone(UTC) == case.starts_utc
            assert entry.decoded("DTEND").astimezone(UTC) == case.starts_utc + timedelta(hours=2)
            (vtimezone,) = calendar_of(data).timezones
            assert vtimezone.tz_name == SHANGHAI
            own_rules = vtimezone.to_tz(lookup_tzid=False)  # only what the file says
            typed = datetime.fromisoformat(f"{case.day}T10:00").replace(tzinfo=own_rules)
            assert typed.astimezone(UTC) == case.starts_utc


def test_whole_day_conference_keeps_its_own_dates(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """A three-day conference in Shanghai is three dates everywhere: DATE values in the
    .ics with DTEND the day after the last day, the same dates on the page and on the
    month grid of a viewer in New York (where it starts on the evening before)."""
    event = shanghai_event(
        db, world, "2030-06-10", ends_on="2030-06-12", all_day="on", kind="conference"
    )
    browser = client_as(with_zone(db, world.member_a, "America/New_York"))

    data = browser.get(f"/events/{event.id}.ics").content
    assert "DTSTART;VALUE=DATE:20300610" in unfolded(data)
    assert "DTEND;VALUE=DATE:20300613" in unfolded(data)
    (entry,) = vevents(data)
    assert entry.decoded("DTSTART") == date(2030, 6, 10)
    assert entry.decoded("DTEND") == date(2030, 6, 13)
    assert not isinstance(entry.decoded("DTSTART"), datetime)

    page = browser.get(f"/events/{event.id}").text
    assert element_text(page, "event-when") == "Mon, Jun 10 – Wed, Jun 12, 2030, whole days"
    grid = month_days(browser.get("/events?view=month&month=2030-06").text)
    shown_on = sorted(day for day, links in grid.items() if f"/events/{event.id}" in links)
    assert shown_on == [10, 11, 12]


def test_skipped_wall_time_moves_forward(db: Session, world: World, client_as: ClientAs) -> None:
    """02:30 on 31 March 2030 does not exist in Brussels (clocks jump from 02:00 to 03:00):
    the event is saved without error at the time that follows, 03:30 CEST, which is how
    RFC 5545 reads such a time (the offset before the gap)."""
    form = event_form(
        world.apparel,
        zone="Europe/Brussels",
        starts_on="2030-03-31",
        starts_time="02:30",
        ends_on="2030-03-31",
        ends_time="05:00",
        registration_opens=OPENS,
        title="Night shift at the port",
    )
    browser = client_as(with_zone(db, world.coordinator, "Europe/Brussels"))

    assert browser.post("/events", data=form_data(form)).status_code == 303

    event = db.exec(select(Event).where(Event.title == "Night shift at the port")).one()
    page = browser.get(f"/events/{event.id}").text
    assert element_text(page, "event-when") == "Sun, Mar 31, 2030, 3:30 AM – 5:00 AM CEST"
    data = browser.get(f"/events/{event.id}.ics").content
    assert "DTSTART;TZID=Europe/Brussels:20300331T033000" in unfolded(data)
    (entry,) = vevents(data)
    assert entry.decoded("DTSTART").astimezone(UTC) == datetime(2030, 3, 31, 1, 30, tzinfo=UTC)
    edit = browser.get(f"/events/{event.id}/edit").text
    assert 'value="03:30"' in edit


def test_repeated_wall_time_takes_its_first_meaning(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """02:30 on 27 October 2030 happens twice in Brussels: the event starts at the first,
    still summer time (00:30 UTC), as RFC 5545 reads it."""
    event = make_event(
        db,
        world.coordinator,
        world.apparel,
        zone="Europe/Brussels",
        starts_on="2030-10-27",
        starts_time="02:30",
        ends_on="2030-10-27",
        ends_time="04:00",
        registration_opens=OPENS,
    )
    data = client_as(world.member_a).get(f"/events/{event.id}.ics").content
    (entry,) = vevents(data)
    assert entry.decoded("DTSTART").astimezone(UTC) == datetime(2030, 10, 27, 0, 30, tzinfo=UTC)
    brussels = ZoneInfo("Europe/Brussels")
    assert entry.decoded("DTSTART").astimezone(brussels).strftime("%H:%M %Z") == "02:30 CEST"


def test_zone_typed_with_spaces_is_the_events_zone(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """A zone pasted with a space around it is still the event's zone: the event is kept
    in Asia/Shanghai, not silently in UTC with Shanghai's clock times."""
    form = event_form(
        world.apparel,
        zone=SHANGHAI,
        starts_on="2030-03-20",
        starts_time="10:00",
        ends_on="2030-03-20",
        ends_time="12:00",
        registration_opens=OPENS,
        title="Pasted zone",
    )
    form.time_zone = f" {SHANGHAI} "
    browser = client_as(world.coordinator)

    assert browser.post("/events", data=form_data(form)).status_code == 303

    event = db.exec(select(Event).where(Event.title == "Pasted zone")).one()
    assert event.time_zone == SHANGHAI
    data = browser.get(f"/events/{event.id}.ics").content
    assert f"DTSTART;TZID={SHANGHAI}:20300320T100000" in unfolded(data)


@pytest.mark.parametrize("month", ["0001-01", "9999-12", "2030-13", "March", ""])
def test_month_view_survives_any_month_in_the_address(
    db: Session, world: World, client_as: ClientAs, month: str
) -> None:
    """A month at the very ends of the calendar, or none at all, shows a month grid
    (the current one) instead of an error."""
    response = client_as(world.member_a).get(f"/events?view=month&month={month}")
    assert response.status_code == 200
    assert len(month_days(response.text)) >= 28
