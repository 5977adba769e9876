"""Demo events: the annual conference, law-enforcement workshops, trainings, webinars and
group meetings, past and upcoming, some full with a waitlist and one awaiting approvals.
Made through the services, so the demo holds exactly what real use would; past events are
registered for while they are upcoming and then moved back in time. Every venue is
invented."""

import random
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, func, select

from hub.clock import utcnow
from hub.config import Settings
from hub.errors import Conflict
from hub.events import registrations, schedule
from hub.events.models import Event
from hub.events.times import to_local
from hub.groups.models import GroupMembership, WorkingGroup
from hub.members.models import Brand, Person, Role
from hub.policy import Actor
from hub.testbuys.demo import actor_for, coordinator_of

SEED = 6160


@dataclass(frozen=True)
class EventPlan:
    group: str  # "" for an alliance-wide event organised by the secretariat
    kind: str
    title: str
    description: str
    zone: str
    days_from_now: int  # negative: in the past
    start: str  # local time, or "" for whole days
    hours_or_days: int
    attendance: str
    venue: str
    capacity: int
    per_brand: int
    registrants: int
    needs_approval: bool = False
    attendees_visible: bool = False
    chatham_house: bool = False
    materials_tlp: str = "green"


PLANS = (
    EventPlan(
        "",
        "conference",
        "Annual Anti-Counterfeiting Conference",
        "Two days with the marketplaces, customs and the public security bureaus: the "
        "year's results, **joint enforcement cases**, and the working groups' plans.",
        "Asia/Shanghai",
        45,
        "",
        2,
        "in_person",
        "Riverside Convention Centre, Hall B",
        60,
        3,
        40,
        attendees_visible=True,
    ),
    EventPlan(
        "apparel",
        "workshop",
        "Customs workshop: spotting fake outerwear at the border",
        "Hands-on session with customs officers: labels, fabrics and shipping patterns.",
        "Europe/Brussels",
        12,
        "09:30",
        4,
        "in_person",
        "Customs Training Centre, Room 2",
        12,
        2,
        16,
        chatham_house=True,
        materials_tlp="amber",
    ),
    EventPlan(
        "electronics",
        "webinar",
        "Webinar: fake chargers and battery safety",
        "What the labs found in last quarter's test buys, and how to brief platforms.",
        "Asia/Shanghai",
        5,
        "15:00",
        1,
        "online",
        "",
        100,
        5,
        24,
    ),
    EventPlan(
        "luxury-leather",
        "training",
        "Investigator training: super-fakes and authenticity cards",
        "For brand investigators only; the organiser approves each place.",
        "Europe/Paris",
        20,
        "10:00",
        6,
        "hybrid",
        "Atelier des Métiers, Salle 3",
        8,
        1,
        10,
        needs_approval=True,
        materials_tlp="amber_strict",
    ),
    EventPlan(
        "cosmetics",
        "meeting",
        "Cosmetics group meeting: Q4 priorities",
        "Round table on cross-border parcels and the next test-buy campaign.",
        "Europe/London",
        -21,
        "14:00",
        2,
        "online",
        "",
        30,
        3,
        12,
    ),
    EventPlan(
        "",
        "workshop",
        "Industry and law-enforcement workshop, Guangzhou",
        "Joint workshop with the provincial public security bureau: case referrals "
        "that lead to raids, and what evidence prosecutors need.",
        "Asia/Shanghai",
        -60,
        "09:00",
        7,
        "in_person",
        "Pearl River Hotel, Conference Room 1",
        40,
        2,
        34,
        chatham_house=True,
    ),
    EventPlan(
        "auto-parts",
        "training",
        "Brake pads and filters: telling genuine from fake",
        "Training for marketplace reviewers and brand staff.",
        "Europe/Berlin",
        30,
        "10:00",
        3,
        "in_person",
        "Technikzentrum, Halle 4",
        6,
        2,
        9,
    ),
    EventPlan(
        "toys",
        "webinar",
        "Webinar: unsafe toy look-alikes before the holidays",
        "Seasonal trends and the takedown playbook.",
        "America/New_York",
        -7,
        "10:00",
        1,
        "online",
        "",
        50,
        5,
        14,
    ),
)


def load_demo_events(session: Session, settings: Settings) -> None:
    """Add the demo events once; a database that has events is left alone."""
    if session.exec(select(func.count()).select_from(Event)).one() > 0:
        return
    rng = random.Random(SEED)
    organiser_of_alliance = _alliance_admin(session)
    for plan in PLANS:
        group = None
        if plan.group:
            group = session.exec(
                select(WorkingGroup).where(WorkingGroup.slug == plan.group)
            ).first()
            if group is None:
                continue
        organiser = coordinator_of(session, group) if group else organiser_of_alliance
        if organiser is None:
            continue
        event = schedule.create(session, organiser, _form(plan, group))
        _fill(session, settings, rng, plan, event, group, organiser)
        if plan.days_from_now < 0:
            _move_into_past(session, event, plan)


def _form(plan: EventPlan, group: WorkingGroup | None) -> schedule.EventForm:
    first_day = to_local(utcnow(), plan.zone).date() + timedelta(days=abs(plan.days_from_now))
    whole_days = not plan.start
    if whole_days:
        last_day = first_day + timedelta(days=plan.hours_or_days - 1)
        ends_time = ""
    else:
        hour, minute = (int(part) for part in plan.start.split(":"))
        ends_time = f"{(hour + plan.hours_or_days) % 24:02d}:{minute:02d}"
        last_day = first_day
    return schedule.EventForm(
        group=group.slug if group else "",
        audience="group" if group else "alliance",
        kind=plan.kind,
        title=plan.title,
        description=plan.description,
        time_zone=plan.zone,
        starts_on=f"{first_day:%Y-%m-%d}",
        starts_time=plan.start,
        ends_on=f"{last_day:%Y-%m-%d}",
        ends_time=ends_time,
        all_day="on" if whole_days else "",
        attendance=plan.attendance,
        venue=plan.venue,
        address="",
        online_url="https://meet.example.org/alliance-" + plan.kind
        if plan.attendance != "in_person"
        else "",
        capacity=str(plan.capacity),
        seats_per_brand=str(plan.per_brand),
        needs_approval="on" if plan.needs_approval else "",
        attendees_visible="on" if plan.attendees_visible else "",
        materials_tlp=plan.materials_tlp,
        chatham_house="on" if plan.chatham_house else "",
    )


def _audience(session: Session, group: WorkingGroup | None) -> list[Person]:
    query = (
        select(Person)
        .join(Brand, col(Brand.id) == Person.brand_id)
        .where(col(Person.is_active).is_(True), Brand.kind == "brand")
        .order_by(col(Person.id))
    )
    if group is not None:
        brands = select(GroupMembership.brand_id).where(GroupMembership.group_id == group.id)
        query = query.where(col(Person.brand_id).in_(brands))
    return list(session.exec(query))


def _fill(
    session: Session,
    settings: Settings,
    rng: random.Random,
    plan: EventPlan,
    event: Event,
    group: WorkingGroup | None,
    organiser: Actor,
) -> None:
    """Register people in a random order; past the seats they join the waitlist."""
    people = _audience(session, group)
    rng.shuffle(people)
    for person in people[: plan.registrants]:
        try:
            registration = registrations.register(
                session, settings, actor_for(session, person), event
            )
        except Conflict:
            continue
        if plan.needs_approval and rng.random() < 0.5:
            registrations.approve(session, settings, organiser, event, registration.id or 0)


def _move_into_past(session: Session, event: Event, plan: EventPlan) -> None:
    shift = timedelta(days=2 * abs(plan.days_from_now))
    fresh = session.get(Event, event.id)
    assert fresh is not None
    for name in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at"):
        setattr(fresh, name, getattr(fresh, name) - shift)
    session.add(fresh)
    session.commit()


def _alliance_admin(session: Session) -> Actor | None:
    person = session.exec(
        select(Person).where(Person.role == Role.alliance_admin).order_by(col(Person.id))
    ).first()
    return actor_for(session, person) if person else None
