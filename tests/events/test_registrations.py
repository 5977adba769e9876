"""Seats, per-brand caps, the waitlist and its promotions, approval and hand-over."""

from sqlmodel import Session, select

from hub.config import Settings
from hub.events import registrations
from hub.events.models import BrandSeats, Event, RegistrationState
from hub.notify.models import Notification, OutboxMail
from tests import factories
from tests.conftest import World
from tests.events.factories import make_event, register
from tests.intel.factories import actor_of


def test_seats_then_waitlist_then_promotion_in_order(
    db: Session, world: World, settings: Settings
) -> None:
    event = make_event(db, world.coordinator, world.apparel, capacity=2, per_brand=2)
    people = [factories.make_person(db, world.brand_b, name=f"Person {i}") for i in range(4)]
    states = [register(db, settings, person, event).state for person in people]
    assert states == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    registrations.withdraw(db, settings, actor_of(db, people[0]), event)
    db.refresh(event)
    third = registrations.active_of(db, event.id or 0, people[2].id or 0)
    fourth = registrations.active_of(db, event.id or 0, people[3].id or 0)
    assert third is not None and third.state == RegistrationState.confirmed
    assert fourth is not None and fourth.state == RegistrationState.waitlisted
    assert registrations.waitlist_place(db, fourth) == 1
    assert event.seats_taken == 2
    told = db.exec(select(Notification).where(Notification.person_id == people[2].id)).all()
    assert any(n.kind == "event_promoted" for n in told)
    mails = db.exec(select(OutboxMail).where(OutboxMail.to_address == people[2].email)).all()
    assert any("now registered" in mail.subject for mail in mails)


def test_brand_cap_skips_to_the_next_brand(db: Session, world: World, settings: Settings) -> None:
    event = make_event(db, world.coordinator, world.apparel, capacity=3, per_brand=1)
    a1, a2 = world.member_a, factories.make_person(db, world.brand_a, name="Second A")
    assert register(db, settings, a1, event).state == RegistrationState.confirmed
    assert register(db, settings, a2, event).state == RegistrationState.waitlisted
    assert register(db, settings, world.member_b, event).state == RegistrationState.confirmed
    seats = db.get(BrandSeats, (event.id, world.brand_a.id))
    assert seats is not None and seats.taken == 1


def test_hand_over_keeps_the_seat_at_the_brand(
    db: Session, world: World, settings: Settings
) -> None:
    event = make_event(db, world.coordinator, world.apparel, capacity=1, per_brand=1)
    register(db, settings, world.member_a, event)
    theirs = registrations.hand_over(
        db, settings, actor_of(db, world.member_a), event, str(world.admin_a.id)
    )
    assert theirs.state == RegistrationState.confirmed and theirs.person_id == world.admin_a.id
    assert registrations.active_of(db, event.id or 0, world.member_a.id or 0) is None
    fresh = db.get(Event, event.id)
    assert fresh is not None and fresh.seats_taken == 1


def test_approval_places_in_arrival_order(db: Session, world: World, settings: Settings) -> None:
    event = make_event(
        db, world.coordinator, world.apparel, capacity=1, per_brand=1, needs_approval="on"
    )
    first = register(db, settings, world.member_a, event)
    second = register(db, settings, world.member_b, event)
    assert first.state == second.state == RegistrationState.pending
    coordinator = actor_of(db, world.coordinator)
    registrations.approve(db, settings, coordinator, event, second.id or 0)
    registrations.approve(db, settings, coordinator, event, first.id or 0)
    db.refresh(first)
    db.refresh(second)
    assert (second.state, first.state) == ("confirmed", "waitlisted")
