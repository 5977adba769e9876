"""The organiser's form and the rules of an event's life: every refused input comes back
as the form with the message beside its field and nothing saved; seats already held
limit a change; changes and cancellations reach everyone registered; registration is
refused, with a reason, outside its window, twice, or to the wrong colleague."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, func, select

from hub.clock import utcnow
from hub.config import Settings
from hub.events import registrations, schedule
from hub.events.models import Event, Registration, RegistrationState
from hub.notify.models import Notification
from tests import factories
from tests.conftest import ClientAs, World
from tests.events.factories import event_form, form_data, make_event, register
from tests.events.pages import element_text, field_error, ics_attachments, mails_to, vevents

# A Tuesday in May, 14:00 to 17:00 in Brussels (12:00 to 15:00 UTC).
STARTS = datetime(2030, 5, 14, 12, 0, tzinfo=UTC)


def event_count(db: Session) -> int:
    return int(db.exec(select(func.count()).select_from(Event)).one())


# (what is typed over a good form, the field that is wrong, what is said beside it)
BAD_INPUTS: list[tuple[dict[str, str | list[str]], str, str]] = [
    ({"title": " "}, "title", "at least 3 characters"),
    ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "Choose the time zone"),
    ({"ends_on": "2030-05-14", "ends_time": "13:00"}, "ends_time", "must end after it starts"),
    ({"attendance": "online", "online_url": ""}, "online_url", "Give the meeting link"),
    ({"attendance": "hybrid", "online_url": "javascript:alert(1)"}, "online_url", "meeting link"),
    ({"capacity": "0"}, "capacity", "between 1 and"),
    ({"capacity": "ten"}, "capacity", "whole number"),
    ({"capacity": "4", "seats_per_brand": "5"}, "seats_per_brand", "more seats than the event"),
    (
        {"registration_closes": "2030-05-15T09:00"},
        "registration_closes",
        "cannot close after the event ends",
    ),
    ({"audience": "invited", "invited": []}, "invited", "Invite at least one brand"),
    ({"starts_on": "2020-05-14", "ends_on": "2020-05-14"}, "starts_on", "must start in the future"),
    ({"registration_opens": "tomorrow"}, "registration_opens", "Give a date and time"),
]


def test_bad_event_form_is_refused_beside_the_field(
    db: Session, world: World, client_as: ClientAs, subtests: pytest.Subtests
) -> None:
    """Each bad input gives the form back (422) with the message beside its field, what
    was typed kept, and no event saved."""
    browser = client_as(world.coordinator)
    good = form_data(event_form(world.apparel, starts=STARTS, venue="Hall 7B"))
    before = event_count(db)
    for changes, field, message in BAD_INPUTS:
        with subtests.test(field=field, changes=changes):
            response = browser.post("/events", data=good | changes)

            assert response.status_code == 422
            shown = field_error(response.text, field)
            assert shown is not None and message in shown, shown
            if changes.get("attendance") != "online":  # an online event has no venue
                assert 'value="Hall 7B"' in response.text
            assert event_count(db) == before


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"audience": "alliance", "group": ""}, id="alliance-wide"),
        pytest.param({"group": "toys-t"}, id="another group"),
    ],
)
def test_coordinator_cannot_organise_beyond_their_group(
    db: Session, world: World, client_as: ClientAs, changes: dict[str, str]
) -> None:
    """The form offers a coordinator only their own group; posting an alliance-wide event
    or one of another group anyway is refused (403, as every action beyond one's rights)
    and saves nothing."""
    data = form_data(event_form(world.apparel, starts=STARTS)) | changes
    before = event_count(db)
    form = client_as(world.coordinator).get("/events/new").text
    assert 'value="alliance"' not in form and 'value="toys-t"' not in form

    response = client_as(world.coordinator).post("/events", data=data)

    assert response.status_code == 403
    assert event_count(db) == before


def test_good_event_form_puts_the_event_on_the_calendar(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """The control for the refusals above: the same form, untouched, is saved."""
    data = form_data(event_form(world.apparel, starts=STARTS, title="Border workshop"))
    response = client_as(world.coordinator).post("/events", data=data)
    assert response.status_code == 303
    event = db.exec(select(Event).where(Event.title == "Border workshop")).one()
    assert response.headers["location"] == f"/events/{event.id}"


def edit_data(db: Session, event: Event, **changes: str) -> dict[str, str | list[str]]:
    """The edit form as the organiser finds it filled in, with `changes` typed over it."""
    return form_data(schedule.form_of(db, event)) | changes


def test_capacity_cannot_drop_below_the_seats_taken(
    db: Session, world: World, settings: Settings, client_as: ClientAs
) -> None:
    """Three people hold seats: lowering the capacity to 2 is refused beside the field, and
    the event keeps its capacity and calendar version."""
    event = make_event(db, world.coordinator, world.apparel, capacity=3, per_brand=2)
    title = event.title
    for person in (world.member_a, world.admin_a, world.member_b):
        register(db, settings, person, event)

    response = client_as(world.coordinator).post(
        f"/events/{event.id}/edit", data=edit_data(db, event, capacity="2", title="Renamed")
    )

    assert response.status_code == 422
    assert "3 people already hold seats" in (field_error(response.text, "capacity") or "")
    db.refresh(event)
    assert (event.capacity, event.seats_taken, event.title, event.sequence) == (3, 3, title, 0)


def test_brand_cap_cannot_drop_below_a_brands_seats(
    db: Session, world: World, settings: Settings, client_as: ClientAs
) -> None:
    """Brand A holds two seats: a cap of one per brand is refused and nothing changes."""
    event = make_event(db, world.coordinator, world.apparel, capacity=5, per_brand=2)
    register(db, settings, world.member_a, event)
    register(db, settings, world.admin_a, event)

    response = client_as(world.coordinator).post(
        f"/events/{event.id}/edit", data=edit_data(db, event, seats_per_brand="1")
    )

    assert response.status_code == 422
    assert "already holds 2 seats" in (field_error(response.text, "seats_per_brand") or "")
    db.refresh(event)
    assert event.seats_per_brand == 2
    mine = registrations.active_of(db, event.id or 0, world.admin_a.id or 0)
    assert mine is not None and mine.state == RegistrationState.confirmed


def test_raising_capacity_promotes_the_waitlist_in_order(
    db: Session, world: World, settings: Settings, client_as: ClientAs
) -> None:
    """One seat, four people of four brands: raising it to three seats the second and
    third to arrive, each told in the hub and by an e-mail carrying the event's calendar
    entry; the fourth keeps waiting, now first in line."""
    event = make_event(db, world.coordinator, world.apparel, capacity=1, per_brand=1)
    brands = [factories.make_brand(db, groups=[world.apparel]) for _ in range(4)]
    people = [factories.make_person(db, brand) for brand in brands]
    for person in people:
        register(db, settings, person, event)
    seen = {person.id: len(mails_to(db, person.email)) for person in people}

    response = client_as(world.coordinator).post(
        f"/events/{event.id}/edit", data=edit_data(db, event, capacity="3")
    )

    assert response.status_code == 303
    states = [registrations.active_of(db, event.id or 0, p.id or 0) for p in people]
    assert [s.state if s else None for s in states] == [
        "confirmed",
        "confirmed",
        "confirmed",
        "waitlisted",
    ]
    fourth = states[3]
    assert fourth is not None and registrations.waitlist_place(db, fourth) == 1
    for person in people[1:3]:
        told = db.exec(select(Notification.kind).where(Notification.person_id == person.id))
        assert "event_promoted" in told.all()
        (mail,) = mails_to(db, person.email)[seen[person.id] :]
        assert "now registered" in mail.subject
        (attached,) = ics_attachments(mail)
        assert str(vevents(attached)[0]["UID"]) == event.uid
    for person in (people[0], people[3]):
        assert len(mails_to(db, person.email)) == seen[person.id]


def test_a_new_time_reaches_everyone_registered_with_the_updated_entry(
    db: Session, world: World, settings: Settings, client_as: ClientAs
) -> None:
    """Moving the event an hour later: the confirmed and the waiting person each get one
    e-mail whose calendar entry has the new start and a higher SEQUENCE; someone not
    registered gets nothing."""
    event = make_event(db, world.coordinator, world.apparel, capacity=1, per_brand=1, starts=STARTS)
    register(db, settings, world.member_a, event)
    register(db, settings, world.member_b, event)
    before = {p.email: len(mails_to(db, p.email)) for p in (world.member_a, world.member_b)}
    before[world.admin_a.email] = len(mails_to(db, world.admin_a.email))

    response = client_as(world.coordinator).post(
        f"/events/{event.id}/edit", data=edit_data(db, event, starts_time="15:00")
    )

    assert response.status_code == 303
    for person in (world.member_a, world.member_b):
        (mail,) = mails_to(db, person.email)[before[person.email] :]
        assert "has changed" in mail.subject
        (entry,) = vevents(ics_attachments(mail)[0])
        assert entry.decoded("DTSTART").astimezone(UTC) == STARTS + timedelta(hours=1)
        assert int(entry["SEQUENCE"]) == 1
        assert str(entry["UID"]) == event.uid
    assert len(mails_to(db, world.admin_a.email)) == before[world.admin_a.email]


def test_cancelling_tells_everyone_and_closes_registration(
    db: Session, world: World, settings: Settings, client_as: ClientAs
) -> None:
    """Everyone registered learns of the cancellation and its reason, with an entry
    marked CANCELLED; a later registration is refused with the reason why."""
    event = make_event(db, world.coordinator, world.apparel, capacity=1, per_brand=1)
    register(db, settings, world.member_a, event)
    register(db, settings, world.admin_a, event)

    response = client_as(world.coordinator).post(
        f"/events/{event.id}/cancel", data={"reason": "The venue is flooded."}
    )

    assert response.status_code == 303
    for person in (world.member_a, world.admin_a):
        (mail,) = [m for m in mails_to(db, person.email) if "cancelled" in m.subject]
        assert "The venue is flooded." in mail.body
        (entry,) = vevents(ics_attachments(mail)[0])
        assert str(entry["STATUS"]) == "CANCELLED"
    refused = client_as(world.member_b).post(f"/events/{event.id}/register")
    assert refused.status_code == 409
    assert "This event was cancelled." in refused.text
    assert registrations.active_of(db, event.id or 0, world.member_b.id or 0) is None
    page = client_as(world.member_b).get(f"/events/{event.id}")
    assert "The venue is flooded." in page.text
    assert 'action="/events/' + str(event.id) + '/register"' not in page.text


# A new event must lie in the future: windows are made this much later, then moved back.
LATER = timedelta(days=30)


def window(opens_days: int, closes_days: int | None, starts_days: int) -> dict[str, object]:
    """Event options with registration opening, closing and the event starting that many
    days after LATER from now, in UTC (see `moved_back`)."""
    now = utcnow().replace(second=0, microsecond=0) + LATER
    options: dict[str, object] = {
        "zone": "UTC",
        "starts": now + timedelta(days=starts_days),
        "registration_opens": f"{now + timedelta(days=opens_days):%Y-%m-%dT%H:%M}",
    }
    if closes_days is not None:
        options["registration_closes"] = f"{now + timedelta(days=closes_days):%Y-%m-%dT%H:%M}"
    return options


def moved_back(db: Session, event: Event) -> Event:
    """The event, with its times and registration window moved LATER earlier, as time
    passing would have done."""
    for name in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at"):
        setattr(event, name, getattr(event, name) - LATER)
    db.add(event)
    db.commit()
    return event


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        pytest.param(window(2, None, 7), "Registration has not opened yet.", id="not open yet"),
        pytest.param(window(-5, -1, 7), "Registration is closed.", id="closed"),
        pytest.param(window(-9, None, -2), "This event is over.", id="event over"),
    ],
)
def test_registration_outside_its_window_is_refused(
    db: Session, world: World, client_as: ClientAs, options: dict[str, object], reason: str
) -> None:
    """Outside the window the register button is gone, and a posted registration is a
    409 that says why; nothing is recorded."""
    event = moved_back(db, make_event(db, world.coordinator, world.apparel, **options))
    browser = client_as(world.member_a)

    refused = browser.post(f"/events/{event.id}/register")

    assert refused.status_code == 409
    assert reason in refused.text
    assert db.exec(select(Registration).where(Registration.event_id == event.id)).all() == []
    assert reason in (element_text(browser.get(f"/events/{event.id}").text, "registration") or "")


def test_registering_twice_is_refused(
    db: Session, world: World, settings: Settings, client_as: ClientAs
) -> None:
    """A second registration (a double click, a second tab) is a 409, and the person still
    holds exactly one registration."""
    event = make_event(db, world.coordinator, world.apparel)
    browser = client_as(world.member_a)
    assert browser.post(f"/events/{event.id}/register").status_code == 303

    again = browser.post(f"/events/{event.id}/register")

    assert again.status_code == 409
    assert "already registered" in again.text
    held = db.exec(
        select(Registration).where(
            Registration.event_id == event.id, Registration.person_id == world.member_a.id
        )
    ).all()
    assert [r.state for r in held] == [RegistrationState.confirmed]


def test_handing_over_to_another_brand_is_refused(
    db: Session, world: World, settings: Settings, client_as: ClientAs
) -> None:
    """A seat stays with its brand: handing it to someone at brand B is a 422 with the
    message beside the colleague field, and the seat is still the giver's."""
    event = make_event(db, world.coordinator, world.apparel)
    register(db, settings, world.member_a, event)

    response = client_as(world.member_a).post(
        f"/events/{event.id}/handover",
        data={"colleague": str(world.member_b.id)},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 422
    assert "Choose a colleague from your brand." in (field_error(response.text, "colleague") or "")
    mine = registrations.active_of(db, event.id or 0, world.member_a.id or 0)
    assert mine is not None and mine.state == RegistrationState.confirmed
    assert registrations.active_of(db, event.id or 0, world.member_b.id or 0) is None


def test_handing_over_to_a_colleague_moves_the_seat(
    db: Session, world: World, settings: Settings, client_as: ClientAs
) -> None:
    """The control: the same request naming a colleague at brand A gives them the seat."""
    event = make_event(db, world.coordinator, world.apparel)
    register(db, settings, world.member_a, event)

    response = client_as(world.member_a).post(
        f"/events/{event.id}/handover", data={"colleague": str(world.admin_a.id)}
    )

    assert response.status_code == 303
    theirs = registrations.active_of(db, event.id or 0, world.admin_a.id or 0)
    assert theirs is not None and theirs.state == RegistrationState.confirmed
    assert registrations.active_of(db, event.id or 0, world.member_a.id or 0) is None


def test_title_with_a_line_break_becomes_one_line(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """A title pasted with a line break is kept on one line, so the e-mails about the
    event (whose subject holds the title) go out and people can register."""
    data = form_data(event_form(world.apparel, title="Border\r\nday  2030"))
    assert client_as(world.coordinator).post("/events", data=data).status_code == 303
    event = db.exec(select(Event).where(Event.title == "Border day 2030")).one()

    response = client_as(world.member_a).post(f"/events/{event.id}/register")

    assert response.status_code == 303
    (mail,) = mails_to(db, world.member_a.email)
    assert mail.subject == "You are registered for Border day 2030."
