"""The event calendar in a real browser: a coordinator puts a workshop on the calendar,
members register in one click and the waitlist moves up, people read times in their own
zone, download the event and subscribe to their feed, hand a seat to a colleague; brands
outside the group see nothing. Also screenshots at desktop and phone widths."""

import os
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from playwright.sync_api import Browser, Dialog, Locator, Page, expect
from sqlmodel import col, select

from hub import i18n
from hub.auth.sessions import load_actor
from hub.clock import utcnow
from hub.demo import BRANDS
from hub.events import registrations, schedule
from hub.events.models import Event
from hub.events.times import span_text
from hub.groups.models import GroupMembership, WorkingGroup
from hub.members.models import Brand, Person, Role
from tests.e2e.conftest import ALLIANCE_ADMIN_EMAIL, clear_login_rate_limits
from tests.e2e.people import People
from tests.live import LiveHub

REPO = Path(__file__).resolve().parents[2]
COORDINATOR = "elise.janssens@alliance-hub.example"  # coordinates food and beverage
GROUP = "food-beverage"
GROUP_NAME = "Food and beverage"
DEMO_BRANDS = {spec.slug for spec in BRANDS}  # brands signing in through the dev provider
HOME_ZONE = "Europe/Brussels"  # where the browsers of these tests are, unless told otherwise
SHANGHAI = "Asia/Shanghai"


def winter_day() -> date:
    """A Wednesday in the coming January: London is on GMT, New York on EST."""
    day = date(utcnow().year + 1, 1, 13)
    return day + timedelta(days=(2 - day.weekday()) % 7)


def in_shanghai(day: date, at: time) -> datetime:
    """A wall-clock time in Shanghai, where the events of these tests happen."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(SHANGHAI))


def shown_span(
    day: date, viewer: str, *, starts: time = time(9), hours: int = 3, whole_days: int = 0
) -> str:
    """When an event typed in Shanghai time (as `make_event` types it, same arguments)
    happens, as the hub writes it in English for someone reading in `viewer`'s zone."""
    if whole_days:
        begins = in_shanghai(day, time(0))
        ends = in_shanghai(day + timedelta(days=whole_days), time(0))
    else:
        begins = in_shanghai(day, starts)
        ends = begins + timedelta(hours=hours)
    with i18n.presenting("en", viewer):
        return span_text(begins, ends, bool(whole_days), SHANGHAI, viewer)


@pytest.fixture(scope="module")
def people(browser: Browser, hub: LiveHub) -> People:
    clear_login_rate_limits(hub)
    return People(browser, hub, HOME_ZONE)


def members_by_brand(hub: LiveHub, group_slug: str = GROUP) -> dict[str, list[str]]:
    """E-mails of the active people of each demo brand in the group, brand admins first."""
    with hub.session() as session:
        rows = session.exec(
            select(Brand.name, Person.email)
            .join(Person, col(Person.brand_id) == Brand.id)
            .join(GroupMembership, col(GroupMembership.brand_id) == Brand.id)
            .join(WorkingGroup, col(WorkingGroup.id) == GroupMembership.group_id)
            .where(
                WorkingGroup.slug == group_slug,
                col(Person.is_active).is_(True),
                col(Brand.slug).in_(DEMO_BRANDS),
            )
            .order_by(col(Brand.name), col(Person.id))
        ).all()
    brands: dict[str, list[str]] = {}
    for brand, email in rows:
        brands.setdefault(brand, []).append(email)
    return brands


@dataclass(frozen=True)
class Cast:
    """People of the group's three demo brands (a, b, c: three people each) and one of a
    brand outside the group; each test plays with its own event."""

    a: list[str]
    b: list[str]
    c: list[str]
    outsider: str


@pytest.fixture(scope="module")
def cast(hub: LiveHub) -> Cast:
    brands = [emails for emails in members_by_brand(hub).values() if len(emails) >= 3]
    assert len(brands) >= 3, f"the demo's {GROUP} group has three brands of three people"
    in_group = (
        select(GroupMembership.brand_id)
        .join(WorkingGroup, col(WorkingGroup.id) == GroupMembership.group_id)
        .where(WorkingGroup.slug == GROUP)
    )
    with hub.session() as session:
        outsider = session.exec(
            select(Person.email)
            .join(Brand, col(Brand.id) == Person.brand_id)
            .where(
                Person.role == Role.member,
                col(Person.is_active).is_(True),
                col(Brand.slug).in_(DEMO_BRANDS),
                col(Brand.id).not_in(in_group),
            )
            .order_by(col(Person.id))
        ).first()
    assert outsider is not None
    return Cast(brands[0], brands[1], brands[2], outsider)


def name_of(hub: LiveHub, email: str) -> str:
    with hub.session() as session:
        return session.exec(select(Person.name).where(Person.email == email)).one()


def make_event(
    hub: LiveHub,
    title: str,
    *,
    day: date | None = None,
    starts: time = time(9),
    hours: int = 3,
    capacity: int = 2,
    per_brand: int = 1,
    kind: str = "workshop",
    group_slug: str = GROUP,
    organiser: str = COORDINATOR,
    whole_days: int = 0,
) -> Event:
    """An event typed in Shanghai time, registration open from a day before, made through
    the hub's own service as the organiser would through the form. Without a group, an
    alliance-wide event (organised by an alliance admin); with `whole_days`, an event of
    that many whole days. A past event is made in the future and moved back, as time
    passing would have done (the hub refuses new events in the past)."""
    day = day or winter_day()
    today = datetime.now(ZoneInfo(SHANGHAI)).date()
    shift = timedelta(days=(today - day).days + 30) if day <= today else timedelta(0)
    day += shift
    ends = (datetime.combine(day, starts) + timedelta(hours=hours)).time()
    last_day = day + timedelta(days=max(whole_days, 1) - 1)
    begins = datetime.combine(day, starts, tzinfo=ZoneInfo(SHANGHAI))
    opens = min(datetime.now(ZoneInfo(SHANGHAI)), begins) - timedelta(days=1)
    form = schedule.EventForm(
        group=group_slug,
        audience="group" if group_slug else "alliance",
        kind=kind,
        title=title,
        description="Spotting refilled bottles and fake seals.",
        time_zone=SHANGHAI,
        starts_on=f"{day:%Y-%m-%d}",
        starts_time=f"{starts:%H:%M}",
        ends_on=f"{last_day:%Y-%m-%d}",
        ends_time=f"{ends:%H:%M}",
        all_day="on" if whole_days else "",
        attendance="in_person",
        venue="Shanghai customs training centre",
        capacity=str(capacity),
        seats_per_brand=str(per_brand),
        registration_opens=f"{opens:%Y-%m-%dT%H:%M}",
    )
    with hub.session() as session:
        person = session.exec(select(Person).where(Person.email == organiser)).one()
        brand = session.get(Brand, person.brand_id)
        assert brand is not None
        event = schedule.create(session, load_actor(session, person, brand), form)
        if shift:
            for name in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at"):
                setattr(event, name, getattr(event, name) - shift)
            session.add(event)
            session.commit()
        return event


def register(hub: LiveHub, event: Event, email: str) -> None:
    with hub.session() as session:
        person = session.exec(select(Person).where(Person.email == email)).one()
        brand = session.get(Brand, person.brand_id)
        assert brand is not None
        fresh = session.get(Event, event.id)
        assert fresh is not None
        registrations.register(session, hub.settings, load_actor(session, person, brand), fresh)


def test_a_coordinator_puts_a_workshop_on_the_calendar(hub: LiveHub, people: People) -> None:
    """The coordinator fills in the form in Shanghai time; an end before the start is
    refused beside the field, keeping what was typed; then the event page shows the times
    in the coordinator's zone with Shanghai's beside them."""
    title = f"Spotting fake baijiu seals {secrets.token_hex(3)}"
    day = winter_day()
    with people.page_of(COORDINATOR) as page:
        page.goto("/events")
        page.get_by_role("link", name="New event").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("New event")
        form = page.locator("#event-form")
        form.get_by_label("The working group").check()
        form.get_by_label("Organising working group").select_option(label=GROUP_NAME)
        form.get_by_label("Type").select_option(label="Workshop")
        form.get_by_label("Title").fill(title)
        form.get_by_label("Description").fill("Hands-on: **bring a sample** of your labels.")
        expect(form.get_by_label("Time zone of the event")).to_have_value(HOME_ZONE)
        form.get_by_label("Time zone of the event").fill(SHANGHAI)
        form.get_by_label("First day").fill(f"{day:%Y-%m-%d}")
        form.get_by_label("Starts at").fill("09:00")
        form.get_by_label("Ends at").fill("08:30")
        form.get_by_label("Venue").fill("Shanghai customs training centre")
        form.get_by_role("spinbutton", name="Seats", exact=True).fill("2")
        form.get_by_label("Most seats one brand may take").fill("1")
        # The list of brands to invite is there only for "invited brands only".
        invite = form.get_by_role("group", name="Invited brands")
        expect(invite).to_be_hidden()
        form.get_by_label("Invited brands only").check()
        expect(invite.get_by_role("checkbox").first).to_be_visible()
        form.get_by_label("The working group").check()
        expect(invite).to_be_hidden()

        with page.expect_response(lambda r: r.request.method == "POST") as refused:
            form.get_by_role("button", name="Put it on the calendar").click()
        assert refused.value.status == 422
        ends = page.get_by_label("Ends at")
        expect(ends).to_have_attribute("aria-invalid", "true")
        expect(ends).to_have_accessible_description("The event must end after it starts.")
        expect(page.locator(".field-invalid #e-ends_time")).to_be_visible()
        expect(page.locator("#event-form [role=alert]")).to_have_text(
            "Please correct the marked fields: nothing was saved yet."
        )
        expect(ends).to_have_value("08:30")
        expect(page.get_by_label("Title")).to_have_value(title)
        expect(page.get_by_label("Time zone of the event")).to_have_value(SHANGHAI)
        expect(page.get_by_label("First day")).to_have_value(f"{day:%Y-%m-%d}")
        expect(page.get_by_role("spinbutton", name="Seats", exact=True)).to_have_value("2")
        expect(page.get_by_label("Organising working group")).to_have_value(GROUP)

        ends.fill("12:00")
        page.get_by_role("button", name="Put it on the calendar").click()
        expect(page).to_have_url(re.compile(r"/events/\d+$"))
        expect(page.locator(".flash-success")).to_have_text("The event is on the calendar.")
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        expect(page.locator(".page-header")).to_contain_text(f"Workshop · {GROUP_NAME}")
        # Brussels is seven hours behind Shanghai in winter: 2:00 AM to 5:00 AM CET, with
        # Shanghai's 9:00 AM beside it; 9:00 to 12:00 is what the coordinator typed.
        expect(page.locator("#event-when")).to_have_text(
            shown_span(day, HOME_ZONE, starts=time(9), hours=3)
        )
        with i18n.presenting("en", HOME_ZONE):
            there = i18n.when(in_shanghai(day, time(9)), SHANGHAI)
        expect(page.locator("#event-local")).to_have_text(f"{there} ({SHANGHAI})")
        expect(page.locator("#seat-count")).to_have_text("0 of 2 taken · at most 1 per brand")
        expect(page.locator(".prose strong")).to_have_text("bring a sample")
        # The organiser sees the registrations (none yet) and may cancel the event.
        expect(page.locator("#attendees")).to_contain_text("No one has registered yet.")
        expect(page.get_by_role("button", name="Cancel the event")).to_be_visible()


def test_members_register_in_one_click_and_the_waitlist_moves_up(
    hub: LiveHub, people: People, cast: Cast
) -> None:
    """Two brands take the two seats without the page reloading; a colleague of the first
    is waitlisted as number 1; when the first cancels (after confirming), the colleague
    holds the seat and is told."""
    title = f"Tea blend authentication {secrets.token_hex(3)}"
    event = make_event(hub, title)
    url = f"/events/{event.id}"
    first, waiting, second = cast.a[1], cast.a[2], cast.b[1]

    with (
        people.page_of(first) as one,
        people.page_of(second) as two,
        people.page_of(waiting) as three,
    ):
        for page in (one, two):
            page.goto(url)
            page.evaluate("window.stayedOnPage = true")
            box = page.locator("#registration")
            box.get_by_role("button", name="Register").click()
            expect(box.get_by_role("status")).to_have_text("You are registered.")
            expect(box.locator(".standing")).to_have_text("Registered.")
            assert page.evaluate("window.stayedOnPage") is True  # htmx swapped the box only

        three.goto(url)
        box = three.locator("#registration")
        expect(box).to_contain_text("All seats are taken: you will join the waitlist.")
        box.get_by_role("button", name="Join the waitlist").click()
        expect(box.get_by_role("status")).to_have_text(
            "The event is full: you are on the waitlist."
        )
        expect(box.locator(".standing")).to_have_text("On the waitlist: number 1 on the waitlist.")

        # Cancelling asks first; the freed seat goes to the colleague waiting.
        dialogs: list[str] = []

        def accept(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            dialog.accept()

        one.once("dialog", accept)
        one.locator("#registration").get_by_role("button", name="Cancel my registration").click()
        expect(one.locator("#registration").get_by_role("status")).to_have_text(
            "Your registration is cancelled."
        )
        assert dialogs == ["Cancel your registration? Your place goes to the next person waiting."]
        # The seat went to the colleague at once: the event is full again.
        expect(
            one.locator("#registration").get_by_role("button", name="Join the waitlist")
        ).to_be_visible()

        three.reload()
        expect(three.locator("#registration .standing")).to_have_text("Registered.")
        expect(three.locator("#seat-count")).to_contain_text("2 of 2 taken")
        expect(three.locator(".notif-link .count")).to_be_visible()
        three.locator(".notif-link").click()
        expect(three.get_by_role("heading", level=1)).to_have_text("Notifications")
        expect(three.locator("main")).to_contain_text(
            f"A seat freed up: you are now registered for {title}."
        )


def card(page: Page, title: str) -> Locator:
    return page.locator(".event-card", has_text=title)


def month_cell(page: Page, day: date) -> Locator:
    """The grid's cell of `day` (in the month shown)."""
    return page.locator("table.month td:not(.other-month)").filter(
        has=page.locator(".day-number", has_text=re.compile(rf"(?<!\d){day.day}$"))
    )


def test_the_calendar_lists_highlights_places_and_filters(
    hub: LiveHub, people: People, cast: Cast
) -> None:
    """The list marks the person's own registration; the filters narrow it without a
    reload; the month view puts each event on its day, in the person's zone."""
    tag = secrets.token_hex(3)
    day = winter_day()
    workshop = make_event(hub, f"Olive oil fraud workshop {tag}", day=day)
    webinar = make_event(
        hub, f"Online shops webinar {tag}", day=day + timedelta(days=1), kind="webinar"
    )
    conference = make_event(
        hub,
        f"Alliance conference {tag}",
        day=day + timedelta(days=2),
        kind="conference",
        group_slug="",
        organiser=ALLIANCE_ADMIN_EMAIL,
    )
    past = make_event(hub, f"Last year's tea seminar {tag}", day=day - timedelta(days=400))
    fair = make_event(hub, f"Food fraud fair {tag}", day=day + timedelta(days=3), whole_days=2)
    register(hub, workshop, cast.b[2])

    with people.page_of(cast.b[2]) as page:
        page.goto("/events")
        expect(page.get_by_role("heading", level=1)).to_have_text("Events")
        expect(page.locator(".page-header")).to_contain_text(f"Times in {HOME_ZONE}")
        mine = card(page, workshop.title)
        expect(mine).to_have_class(re.compile(r"\bmine\b"))
        expect(mine.locator(".mine-label")).to_have_text("You: Registered")
        expect(mine).to_contain_text("1 of 2 seats free")
        for other in (webinar, conference):
            expect(card(page, other.title)).to_be_visible()
            expect(card(page, other.title)).not_to_have_class(re.compile(r"\bmine\b"))
        expect(card(page, conference.title)).to_contain_text("Whole alliance")
        expect(card(page, past.title)).to_have_count(0)
        # Whole days are the event's own dates (Shanghai's), wherever one reads them.
        fair_days = shown_span(day + timedelta(days=3), HOME_ZONE, whole_days=2)
        assert fair_days.endswith(", whole days"), fair_days
        expect(card(page, fair.title)).to_contain_text(fair_days)
        with i18n.presenting("en", HOME_ZONE):
            fair_tile = i18n.skeleton(day + timedelta(days=3), "d")
            month_title = i18n.skeleton(day, "yMMMM")
            following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
            following_title = i18n.skeleton(following, "yMMMM")
            empty_month = date(day.year + 6, 6, 1)
            empty_title = i18n.skeleton(empty_month, "yMMMM")
            workshop_clock = i18n.clock(in_shanghai(day, time(9)))
        expect(card(page, fair.title).locator(".event-date .day")).to_have_text(fair_tile)
        page.evaluate("window.stayedOnPage = true")

        page.get_by_label("Type").select_option(label="Webinar")
        expect(page).to_have_url(re.compile(r"kind=webinar"))
        expect(card(page, workshop.title)).to_have_count(0)
        expect(card(page, conference.title)).to_have_count(0)
        expect(card(page, webinar.title)).to_be_visible()

        page.get_by_label("Type").select_option(label="Any")
        page.get_by_label("Working group").select_option(label=GROUP_NAME)
        expect(page).to_have_url(re.compile(rf"group={GROUP}"))
        expect(card(page, conference.title)).to_have_count(0)
        expect(card(page, workshop.title)).to_be_visible()

        page.get_by_label("When").select_option(label="Past")
        expect(card(page, past.title)).to_be_visible()
        expect(card(page, workshop.title)).to_have_count(0)
        assert page.evaluate("window.stayedOnPage") is True

        page.goto(f"/events?view=month&month={day:%Y-%m}")
        expect(
            page.get_by_role("navigation", name="Calendar view").get_by_role("link", name="Month")
        ).to_have_attribute("aria-current", "page")
        expect(page.locator("#month-title")).to_have_text(month_title)
        # 09:00 in Shanghai is 2:00 AM the same day in Brussels.
        placed = month_cell(page, day).locator(".month-event", has_text=workshop.title)
        expect(placed).to_have_class(re.compile(r"\bmine\b"))
        expect(placed.locator(".time")).to_have_text(workshop_clock)
        expect(
            month_cell(page, day + timedelta(days=1)).get_by_role("link", name=webinar.title)
        ).to_be_visible()
        expect(month_cell(page, day + timedelta(days=2))).to_contain_text(conference.title)

        page.get_by_label("Type").select_option(label="Webinar")
        expect(page).to_have_url(re.compile(r"kind=webinar"))
        expect(page.locator(".month-event", has_text=workshop.title)).to_have_count(0)
        expect(page.locator(".month-event", has_text=webinar.title)).to_be_visible()

        page.get_by_role("link", name="Next month").click()
        expect(page.locator("#month-title")).to_have_text(following_title)
        expect(page).to_have_url(re.compile(rf"month={following:%Y-%m}"))
        page.get_by_role("link", name="Previous month").click()
        expect(page.locator("#month-title")).to_have_text(month_title)
        expect(page.locator(".month-event", has_text=webinar.title)).to_be_visible()
        page.locator(".month-event", has_text=webinar.title).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(webinar.title)

        # A month without events says so (on a phone the grid shows only days with events).
        page.goto(f"/events?view=month&month={empty_month:%Y-%m}")
        expect(page.locator("#results .empty")).to_have_text(f"No events in {empty_title}.")


def test_the_month_shows_whole_day_events_on_their_own_dates(
    hub: LiveHub, people: People, cast: Cast
) -> None:
    """A two-day fair in Shanghai is on its two days in the month grid in Brussels too, as
    the list and the event page say: not from the evening before."""
    first = winter_day() + timedelta(days=3)
    fair = make_event(hub, f"Two-day fair {secrets.token_hex(3)}", day=first, whole_days=2)
    with people.page_of(cast.b[2]) as page:
        page.goto(f"/events?view=month&month={first:%Y-%m}")
        expect(month_cell(page, first)).to_contain_text(fair.title)
        expect(month_cell(page, first + timedelta(days=1))).to_contain_text(fair.title)
        # Server-rendered: what is there now is all there will be.
        assert fair.title not in month_cell(page, first - timedelta(days=1)).inner_text()


def test_a_brand_outside_the_group_does_not_see_the_event(
    hub: LiveHub, people: People, cast: Cast
) -> None:
    """To a brand outside the working group the event does not exist: its page and its
    .ics are 404s, and neither the list nor the month shows it."""
    day = winter_day()
    event = make_event(hub, f"Members-only cheese audit {secrets.token_hex(3)}", day=day)
    with people.page_of(cast.outsider) as page:
        response = page.goto(f"/events/{event.id}")
        assert response is not None and response.status == 404
        expect(page.locator(".error-code")).to_have_text("404")
        expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
        expect(page.locator("main")).not_to_contain_text(event.title)
        assert page.request.get(f"/events/{event.id}.ics").status == 404

        page.goto("/events")
        expect(page.get_by_role("heading", level=1)).to_have_text("Events")
        expect(page.locator("main")).not_to_contain_text(event.title)
        page.goto(f"/events?view=month&month={day:%Y-%m}")
        expect(page.locator("table.month")).to_be_visible()
        expect(page.locator("main")).not_to_contain_text(event.title)


def test_times_follow_the_persons_zone_or_else_their_browsers(
    hub: LiveHub, people: People, cast: Cast
) -> None:
    """Without a setting, the browser's zone (New York) is used from the first page on;
    choosing Europe/London on the settings page shows 09:00 in Shanghai as 1:00 AM GMT;
    going back to "as my browser says" shows New York again."""
    reader = cast.c[1]
    with hub.session() as session:
        person = session.exec(select(Person).where(Person.email == reader)).one()
        person.time_zone = ""
        session.add(person)
        session.commit()
    day = winter_day()
    event = make_event(hub, f"Wine label forensics {secrets.token_hex(3)}", day=day)
    # 9:00 AM in Shanghai is 8:00 PM the evening before in New York, 1:00 AM in London.
    in_new_york = shown_span(day, "America/New_York")
    in_london = shown_span(day, "Europe/London")
    with people.page_of(reader, timezone_id="America/New_York") as page:
        page.goto(f"/events/{event.id}")
        expect(page.locator("#event-when")).to_have_text(in_new_york)
        page.goto(f"/events?view=month&month={day:%Y-%m}")
        expect(page.locator(".page-header")).to_contain_text("Times in America/New_York")
        expect(month_cell(page, day - timedelta(days=1))).to_contain_text(event.title)
        expect(month_cell(page, day)).not_to_contain_text(event.title)

        page.get_by_role("link", name="Settings").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("My settings")
        expect(page.locator("main")).to_contain_text("Your browser says America/New_York.")
        zone = page.get_by_label("Show times in")
        expect(zone).to_have_value("")
        zone.select_option("Europe/London")
        page.get_by_role("button", name="Save the time zone").click()
        expect(page.locator(".flash-success")).to_have_text("Times are now shown in Europe/London.")
        expect(zone).to_have_value("Europe/London")

        page.goto(f"/events/{event.id}")
        expect(page.locator("#event-when")).to_have_text(in_london)
        page.goto("/events")
        expect(card(page, event.title)).to_contain_text(in_london)

        page.goto("/me")
        page.get_by_label("Show times in").select_option(
            label="As my browser says (America/New_York)"
        )
        page.get_by_role("button", name="Save the time zone").click()
        expect(page.locator(".flash-success")).to_have_text(
            "Times are now shown in your browser’s time zone."
        )
        page.goto(f"/events/{event.id}")
        expect(page.locator("#event-when")).to_have_text(in_new_york)


def parse_calendar(data: bytes) -> list[icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(data)
    return [item for item in calendar.walk("VEVENT")]


def test_the_ics_file_and_the_personal_feed(
    hub: LiveHub, people: People, cast: Cast, browser: Browser
) -> None:
    """The event downloads as an .ics in Shanghai time; the settings page gives a feed
    address that a calendar application (no session) reads, and a new address retires the
    old one."""
    holder = cast.c[2]
    day = winter_day()
    event = make_event(hub, f"Honey adulteration clinic {secrets.token_hex(3)}", day=day)
    register(hub, event, holder)
    starts = datetime.combine(day, time(9), tzinfo=ZoneInfo(SHANGHAI))
    with people.page_of(holder) as page:
        page.goto(f"/events/{event.id}")
        with page.expect_download() as download:
            page.get_by_role("link", name="Add to calendar (.ics)").click()
        assert download.value.suggested_filename == f"event-{event.id}.ics"
        (entry,) = parse_calendar(Path(download.value.path()).read_bytes())
        assert str(entry["SUMMARY"]) == event.title
        assert entry["DTSTART"].dt == starts
        assert entry["DTSTART"].params["TZID"] == SHANGHAI
        assert entry["DTEND"].dt == starts + timedelta(hours=3)
        assert str(entry["LOCATION"]) == "Shanghai customs training centre"
        assert str(entry["URL"]) == f"{hub.base_url}/events/{event.id}"

        page.goto("/events")
        page.get_by_role("link", name="Subscribe in your calendar").click()
        expect(page).to_have_url(re.compile(r"/me#calendar-feed$"))
        address = page.get_by_label("Your secret address")
        expect(address).to_have_value(re.compile(rf"^{re.escape(hub.base_url)}/calendar/\S+\.ics$"))
        feed_url = address.input_value()

        calendar_app = browser.new_context()  # no cookies: only the address opens it
        try:
            response = calendar_app.request.get(feed_url)
            assert response.status == 200
            assert response.headers["content-type"].startswith("text/calendar")
            titles = {str(item["SUMMARY"]) for item in parse_calendar(response.body())}
            assert event.title in titles
            wrong = re.sub(r"/calendar/(\w+)-", r"/calendar/\1-x", feed_url)
            assert calendar_app.request.get(wrong).status == 404

            page.once("dialog", lambda dialog: dialog.accept())
            page.get_by_role("button", name="Make a new address").click()
            expect(page.locator(".flash-success")).to_have_text(
                "Your calendar address was changed; the old one no longer works."
            )
            expect(page.get_by_label("Your secret address")).not_to_have_value(feed_url)
            assert calendar_app.request.get(feed_url).status == 404
            new_url = page.get_by_label("Your secret address").input_value()
            assert calendar_app.request.get(new_url).status == 200
        finally:
            calendar_app.close()


def test_a_seat_is_handed_to_a_colleague(hub: LiveHub, people: People, cast: Cast) -> None:
    """A registered person gives their seat to a colleague of their brand (choosing no one
    is refused beside the field); the colleague then holds it and is told."""
    giver, taker = cast.c[0], cast.c[1]
    event = make_event(hub, f"Dairy seals and holograms {secrets.token_hex(3)}")
    register(hub, event, giver)
    taker_name = name_of(hub, taker)
    with people.page_of(giver) as page:
        page.goto(f"/events/{event.id}")
        box = page.locator("#registration")
        expect(box.locator(".standing")).to_have_text("Registered.")
        box.get_by_role("button", name="Hand over").click()
        colleague = box.get_by_label("Hand my seat to a colleague")
        expect(colleague).to_have_accessible_description("Choose a colleague from your brand.")
        colleague.select_option(label=taker_name)
        box.get_by_role("button", name="Hand over").click()
        expect(box.get_by_role("status")).to_have_text(
            f"Your seat now belongs to {taker_name}; they were told."
        )
        expect(box.locator(".standing")).to_have_count(0)

    with people.page_of(taker) as page:
        page.goto(f"/events/{event.id}")
        expect(page.locator("#registration .standing")).to_have_text("Registered.")
        page.locator(".notif-link").click()
        expect(page.locator("main")).to_contain_text(
            f"A colleague handed you their seat at {event.title}."
        )


def screenshot_dir(tmp_path: Path) -> Path:
    chosen = os.environ.get("HUB_SCREENSHOTS")
    folder = Path(chosen).resolve() if chosen else tmp_path
    assert not folder.is_relative_to(REPO), f"screenshots stay out of the repository: {folder}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def overflow(page: Page) -> int:
    """How many pixels the page is wider than the window (0 when nothing sticks out)."""
    return int(page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth"))


def test_screenshots_of_the_calendar_event_and_form(
    hub: LiveHub, people: People, cast: Cast, tmp_path: Path
) -> None:
    """Full-page screenshots for people to look at, at 1280 and 375 px, into
    $HUB_SCREENSHOTS or the test's temporary folder; at 375 px nothing may stick out
    sideways, the month grid included."""
    folder = screenshot_dir(tmp_path)
    day = winter_day()
    tag = secrets.token_hex(2)
    featured = make_event(
        hub, f"Counterfeit spirits: reading excise stamps and bottle codes {tag}", day=day
    )
    make_event(
        hub, f"Marketplace takedowns webinar {tag}", day=day, starts=time(15), kind="webinar"
    )
    make_event(hub, f"Group meeting {tag}", day=day + timedelta(days=6), kind="meeting")
    register(hub, featured, cast.b[2])
    pages = {
        "calendar-list": "/events",
        "calendar-month": f"/events?view=month&month={day:%Y-%m}",
        "event": f"/events/{featured.id}",
        "settings": "/me",
    }
    too_wide: dict[str, int] = {}
    for who, shots in (
        (cast.b[2], pages),
        (COORDINATOR, {"event-organiser": pages["event"], "form": "/events/new"}),
    ):
        with people.page_of(who) as page:
            for width, height in ((1280, 800), (375, 812)):
                page.set_viewport_size({"width": width, "height": height})
                for name, url in shots.items():
                    page.goto(url)
                    expect(page.get_by_role("heading", level=1)).to_be_visible()
                    target = folder / f"events-{name}-{width}.png"
                    page.screenshot(path=str(target), full_page=True)
                    assert target.stat().st_size > 0
                    if width == 375 and overflow(page) > 0:
                        too_wide[name] = overflow(page)
    assert too_wide == {}, f"pages wider than a 375 px phone (px too wide): {too_wide}"
