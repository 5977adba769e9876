"""The calendar in Simplified Chinese: pages for a browser that asks for it, form errors,
dates and the month grid in the Chinese shape, and what is written outside a request (the
e-mails, their calendar entries, reminders and the personal feed) in each person's own
language and zone, whatever language the one who caused it reads."""

from datetime import timedelta

from sqlmodel import Session

from hub import i18n
from hub.clock import utcnow
from hub.config import Settings
from hub.events import notices, reminders, schedule
from hub.members.models import Person
from tests.chinese import zh
from tests.conftest import ClientAs, World
from tests.events.factories import event_form, form_data, make_event, register
from tests.events.pages import (
    calendar_of,
    element_text,
    feed_path,
    field_error,
    ics_attachments,
    mails_to,
    vevents,
)
from tests.intel.factories import actor_of

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
SHANGHAI = "Asia/Shanghai"


def speaks_chinese(db: Session, person: Person, zone: str = "") -> Person:
    person.language, person.time_zone = "zh_Hans", zone
    db.add(person)
    db.commit()
    return person


def test_calendar_and_event_pages_in_chinese(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """A browser asking for Chinese reads the calendar, the month grid (its title, its
    weekday headers) and an event's times in Chinese, in the Chinese shape."""
    event = make_event(
        db,
        world.coordinator,
        world.apparel,
        zone=SHANGHAI,
        starts_on="2030-03-20",
        starts_time="10:00",
        ends_on="2030-03-20",
        ends_time="12:00",
        registration_opens="2029-06-01T00:00",
    )
    browser = client_as(world.member_a)
    browser.headers.update(CHINESE)
    browser.cookies.set("hub_tz", SHANGHAI)

    listing = browser.get("/events").text
    assert '<html lang="zh-Hans">' in listing
    assert f"<h1>{zh('Events')}</h1>" in listing
    assert zh("Subscribe in your calendar") in listing

    grid = browser.get("/events?view=month&month=2030-03").text
    assert element_text(grid, "month-title") == "2030年3月"
    assert '<abbr title="星期一">周一</abbr>' in grid

    page = browser.get(f"/events/{event.id}").text
    expected = zh(
        "%(day)s, %(start)s – %(end)s %(zone)s",
        day="2030年3月20日周三",
        start="10:00",
        end="12:00",
        zone="CST",
    )
    assert element_text(page, "event-when") == expected
    assert zh("Register") in (element_text(page, "registration") or "")


def test_event_form_errors_in_chinese(db: Session, world: World, client_as: ClientAs) -> None:
    """A refused form says why beside the field in the organiser's language, numbers
    written as a Chinese reader writes them."""
    browser = client_as(speaks_chinese(db, world.coordinator))
    good = form_data(event_form(world.apparel))

    response = browser.post("/events", data=good | {"title": "x", "capacity": "200000"})

    assert response.status_code == 422
    assert field_error(response.text, "title") == zh(
        "Give the event a title of at least 3 characters."
    )
    assert field_error(response.text, "capacity") == zh(
        "Give a number of seats between 1 and %(most)s.", most="100,000"
    )


def test_mails_and_calendar_entries_in_each_persons_language(
    db: Session, world: World, settings: Settings
) -> None:
    """The organiser reads English; a Chinese-speaking person registered is told of the
    change and the cancellation in Chinese, their time in their own zone, the calendar
    entry's texts in Chinese too; an English-speaking one in English."""
    chinese = speaks_chinese(db, world.member_a, SHANGHAI)
    event = make_event(db, world.coordinator, world.apparel, zone="Europe/Brussels")
    register(db, settings, chinese, event)
    register(db, settings, world.admin_a, event)

    (registered,) = mails_to(db, chinese.email)
    assert registered.subject == zh("You are registered for %(title)s.", title=event.title)
    with i18n.presenting("zh_Hans", SHANGHAI):
        when = notices.when_text(event, SHANGHAI)
    assert zh("When: %(when)s", when=when) in registered.body
    assert "年" in when and "Europe/Brussels" in when  # Chinese dates, the event's own time

    schedule.cancel(db, settings, actor_of(db, world.coordinator), event, "A strike.")

    cancelled = mails_to(db, chinese.email)[-1]
    assert cancelled.subject == zh("%(title)s is cancelled.", title=event.title)
    assert zh("Reason: %(reason)s", reason="A strike.") in cancelled.body
    (entry,) = vevents(ics_attachments(cancelled)[0])
    assert str(entry["SUMMARY"]) == zh("Cancelled: %(title)s", title=event.title)
    assert str(entry["CATEGORIES"].cats[0]) == zh("Workshop")

    english = mails_to(db, world.admin_a.email)[-1]
    assert english.subject == f"{event.title} is cancelled."


def test_reminders_in_the_persons_language_and_zone(
    db: Session, world: World, settings: Settings
) -> None:
    """A reminder is written in the person's language, at their own clock time."""
    chinese = speaks_chinese(db, world.member_a, SHANGHAI)
    now = utcnow()
    event = make_event(
        db,
        world.coordinator,
        world.apparel,
        zone="Europe/Brussels",
        starts=now + timedelta(hours=5),
    )
    register(db, settings, chinese, event)

    assert reminders.remind_attendees(db, settings, now) == 1

    reminder = mails_to(db, chinese.email)[-1]
    with i18n.presenting("zh_Hans", SHANGHAI):
        when = i18n.when(event.starts_at, SHANGHAI)
    assert reminder.subject == zh(
        "Reminder: %(title)s starts on %(when)s.", title=event.title, when=when
    )
    assert when.endswith("CST")


def test_feed_in_its_owners_language(
    db: Session, world: World, settings: Settings, client_as: ClientAs
) -> None:
    """The personal feed is written in its owner's language, whoever's application asks."""
    chinese = speaks_chinese(db, world.member_a)
    event = make_event(
        db,
        world.coordinator,
        world.apparel,
        attendance="online",
        venue="",
        online_url="https://meet.example/x",
    )
    path = feed_path(client_as(chinese))

    data = client_as(world.admin_a).get(path).content  # read by an English browser

    cal = calendar_of(data)
    assert str(cal["X-WR-CALNAME"]) == zh("Alliance Hub: %(name)s", name=chinese.name)
    (entry,) = [e for e in vevents(data) if str(e["UID"]) == event.uid]
    assert zh("The meeting link is shown on the hub to people holding a seat.") in str(
        entry["DESCRIPTION"]
    )


def test_attendee_sheet_in_the_organisers_language(
    db: Session, world: World, settings: Settings, client_as: ClientAs
) -> None:
    """The organiser's sheet has its headers and statuses in their language; the values
    people typed and the UTC time stay as they are."""
    event = make_event(db, world.coordinator, world.apparel)
    register(db, settings, world.member_a, event)
    browser = client_as(speaks_chinese(db, world.coordinator))

    sheet = browser.get(f"/events/{event.id}/attendees.csv").text

    header, row = (line.split(",") for line in sheet.splitlines()[:2])
    catalogue = i18n.translations("zh_Hans")
    assert header[0] == catalogue.pgettext("attendees.csv", "name") != "name"
    assert row[:4] == [
        world.member_a.name,
        world.member_a.email,
        world.brand_a.name,
        zh("Registered"),
    ]
