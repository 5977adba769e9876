"""The authorization matrix of the event calendar: every event route, the personal
settings and the calendar feed, asked by every role of the main matrix
(tests/test_authorization_matrix.py), with the answer each must get.

Same conventions as the main matrix: SIGN_IN, DONE or a status; an event the actor may
not see answers 404 (a group event to a brand outside the group), an action they may not
take on an event they see answers 403. The main file's meta-tests count these rows too, so
a new event route without a row here fails the suite.

The columns act on the apparel side, but other-brand-admin (admin_c, of toys, on the
apparel things) and other-coordinator (the apparel coordinator, on the toys things).
"""

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

import pytest
from fastapi import FastAPI
from sqlalchemy import Connection
from sqlmodel import Session, col, func, select

from hub.config import Settings
from hub.events import feeds, registrations, schedule
from hub.events.models import (
    ACTIVE_STATES,
    CalendarFeed,
    Event,
    EventStatus,
    Registration,
    RegistrationState,
)
from hub.groups.models import WorkingGroup
from hub.members.models import Brand, Person
from hub.notify.models import NotificationPreference
from tests import factories
from tests.conftest import ClientAs, World
from tests.events.factories import event_form, make_event, register
from tests.intel.factories import actor_of
from tests.test_authorization_matrix import (
    COLUMNS,
    DONE,
    ROLES,
    SIGN_IN,
    Answer,
    _browser,
    ask,
)

# fmt: off
EVENT_MATRIX: dict[tuple[str, str], tuple[Answer, ...]] = {
    # (method, path template): answers in the order of ROLES
    #    anonym.  member   b-admin  other-b  coord.   other-c  alliance
    # The calendar lists only what each one may see.
    ("GET", "/events"):
        (SIGN_IN, 200,     200,     200,     200,     200,     200),
    # Organising: coordinators for their group, alliance staff for anyone; to the others
    # the form does not exist.
    ("GET", "/events/new"):
        (SIGN_IN, 404,     404,     404,     200,     200,     200),
    ("POST", "/events"):
        (SIGN_IN, 404,     404,     404,     DONE,    403,     DONE),
    # A group's event: seen by the group's brands, its coordinators and alliance staff.
    ("GET", "/events/{event_id}"):
        (SIGN_IN, 200,     200,     404,     200,     404,     200),
    ("GET", "/events/{event_id}.ics"):
        (SIGN_IN, 200,     200,     404,     200,     404,     200),
    ("GET", "/events/{event_id}/edit"):
        (SIGN_IN, 403,     403,     404,     200,     404,     200),
    ("POST", "/events/{event_id}/edit"):
        (SIGN_IN, 403,     403,     404,     DONE,    404,     DONE),
    ("POST", "/events/{event_id}/cancel"):
        (SIGN_IN, 403,     403,     404,     DONE,    404,     DONE),
    ("GET", "/events/{event_id}/attendees.csv"):
        (SIGN_IN, 403,     403,     404,     200,     404,     200),
    # Anyone who sees the event registers themselves, and cancels their own registration.
    ("POST", "/events/{event_id}/register"):
        (SIGN_IN, DONE,    DONE,    404,     DONE,    404,     DONE),
    ("POST", "/events/{event_id}/withdraw"):
        (SIGN_IN, DONE,    DONE,    404,     DONE,    404,     DONE),
    # A seat goes only to a colleague of the same brand: the secretariat's people offered
    # a brand's person are told so beside the field.
    ("POST", "/events/{event_id}/handover"):
        (SIGN_IN, DONE,    DONE,    404,     422,     404,     422),
    ("POST", "/events/{event_id}/registrations/{registration_id}/approve"):
        (SIGN_IN, 403,     403,     404,     DONE,    404,     DONE),
    ("POST", "/events/{event_id}/registrations/{registration_id}/decline"):
        (SIGN_IN, 403,     403,     404,     DONE,    404,     DONE),
    # The feed needs no session: its secret token opens that one person's calendar,
    # whoever holds it.
    ("GET", "/calendar/{token}.ics"):
        (200,     200,     200,     200,     200,     200,     200),
    # One's own settings.
    ("GET", "/me"):
        (SIGN_IN, 200,     200,     200,     200,     200,     200),
    ("POST", "/me/time-zone"):
        (SIGN_IN, DONE,    DONE,    DONE,    DONE,    DONE,    DONE),
    ("POST", "/me/calendar-feed"):
        (SIGN_IN, DONE,    DONE,    DONE,    DONE,    DONE,    DONE),
    ("POST", "/me/e-mail"):
        (SIGN_IN, DONE,    DONE,    DONE,    DONE,    DONE,    DONE),
}
# fmt: on

MATRIX_ZONE = "Pacific/Auckland"


@dataclass(frozen=True)
class EventSide:
    """The event things of one side of the world."""

    group: WorkingGroup
    brand: Brand  # in `group`
    event: Event  # the group's event; every role that sees it holds a seat
    open_event: Event  # another event of the group, nobody registered
    approval_event: Event  # approves each registration; `pending` awaits
    pending: Registration
    colleague: Person  # of `brand`, not registered for `event`
    token: str  # the calendar feed of a person outside the matrix's columns
    edit_form: dict[str, str | list[str]]

    def url(self, path: str) -> str:
        """The concrete URL for a route's path template."""
        if path.endswith("/register"):
            event = self.open_event
        elif "{registration_id}" in path:
            event = self.approval_event
        else:
            event = self.event
        return path.format(event_id=event.id, registration_id=self.pending.id, token=self.token)


def _side(
    db: Session,
    settings: Settings,
    group: WorkingGroup,
    organiser: Person,
    brand: Brand,
    seated: list[Person],
    feed_owner: Person,
) -> EventSide:
    event = make_event(db, organiser, group, capacity=10, per_brand=5)
    for person in seated:
        register(db, settings, person, event)
    approval_event = make_event(db, organiser, group, needs_approval="on")
    waiting = factories.make_person(db, brand, name=f"Pending at {brand.name}")
    pending = register(db, settings, waiting, approval_event)
    assert pending.state == RegistrationState.pending
    return EventSide(
        group=group,
        brand=brand,
        event=event,
        open_event=make_event(db, organiser, group),
        approval_event=approval_event,
        pending=pending,
        colleague=factories.make_person(db, brand, name=f"Colleague at {brand.name}"),
        token=feeds.token_of(db, settings, actor_of(db, feed_owner)),
        edit_form=asdict(schedule.form_of(db, event)) | {"title": "Edited by the matrix"},
    )


@pytest.fixture(scope="module")
def sides(module_db: Session, module_world: World, settings: Settings) -> dict[str, EventSide]:
    """Built once for the module: each case runs in a savepoint of it (see `connection`)."""
    return _build_sides(module_db, module_world, settings)


@pytest.fixture
def connection(sides: dict[str, EventSide], savepoint: Connection) -> Connection:
    """Every case starts from the shared world and events, and its changes are undone."""
    return savepoint


@pytest.fixture
def world(module_world: World) -> World:
    """The world the events were built in, not a second one."""
    return module_world


def _build_sides(db: Session, world: World, settings: Settings) -> dict[str, EventSide]:
    """The apparel side (brand A) and the toys side (brand C, its own coordinator)."""
    toys_coordinator = factories.make_person(db, world.secretariat, name="Toby Coordinator")
    factories.appoint(db, world.toys, toys_coordinator)
    db.commit()
    apparel = _side(
        db,
        settings,
        world.apparel,
        world.coordinator,
        world.brand_a,
        [world.member_a, world.admin_a, world.coordinator, world.alliance_admin],
        world.member_b,
    )
    toys = _side(
        db,
        settings,
        world.toys,
        toys_coordinator,
        world.brand_c,
        [world.member_c, world.admin_c, toys_coordinator, world.alliance_admin],
        world.member_c,
    )
    return {"apparel": apparel, "toys": toys}


def _new_event_form(t: EventSide) -> dict[str, str | list[str]]:
    return asdict(event_form(t.group, title="Opened by the matrix"))


# What each form sends: valid data, so an allowed request really does the thing.
FORMS: dict[tuple[str, str], Callable[[EventSide], Mapping[str, str | list[str]]]] = {
    ("POST", "/events"): _new_event_form,
    ("POST", "/events/{event_id}/edit"): lambda t: t.edit_form,
    ("POST", "/events/{event_id}/cancel"): lambda t: {"reason": "Cancelled by the matrix."},
    ("POST", "/events/{event_id}/register"): lambda t: {},
    ("POST", "/events/{event_id}/withdraw"): lambda t: {},
    ("POST", "/events/{event_id}/handover"): lambda t: {"colleague": str(t.colleague.id)},
    ("POST", "/events/{event_id}/registrations/{registration_id}/approve"): lambda t: {},
    ("POST", "/events/{event_id}/registrations/{registration_id}/decline"): lambda t: {},
    ("POST", "/me/time-zone"): lambda t: {"time_zone": MATRIX_ZONE},
    ("POST", "/me/calendar-feed"): lambda t: {},
    ("POST", "/me/e-mail"): lambda t: {"discussion": "off"},
}

FILES: dict[tuple[str, str], Callable[[EventSide], dict[str, tuple[str, bytes, str]]]] = {}


def _event(db: Session, event: Event) -> Event:
    fresh = db.get(Event, event.id)
    assert fresh is not None
    return fresh


def _registrations(db: Session, event: Event, *states: str) -> list[Registration]:
    return list(
        db.exec(
            select(Registration).where(
                Registration.event_id == event.id, col(Registration.state).in_(states)
            )
        )
    )


# What each form changes; checked to have happened when allowed and not when refused.
EFFECTS: dict[tuple[str, str], Callable[[Session, EventSide], bool]] = {
    ("POST", "/events"): lambda db, t: (
        db.exec(
            select(Event).where(Event.group_id == t.group.id, Event.title == "Opened by the matrix")
        ).first()
        is not None
    ),
    ("POST", "/events/{event_id}/edit"): lambda db, t: (
        _event(db, t.event).title == "Edited by the matrix"
    ),
    ("POST", "/events/{event_id}/cancel"): lambda db, t: (
        _event(db, t.event).status == EventStatus.cancelled
    ),
    ("POST", "/events/{event_id}/register"): lambda db, t: bool(
        _registrations(db, t.open_event, *ACTIVE_STATES)
    ),
    ("POST", "/events/{event_id}/withdraw"): lambda db, t: bool(
        _registrations(db, t.event, RegistrationState.cancelled)
    ),
    ("POST", "/events/{event_id}/handover"): lambda db, t: (
        registrations.active_of(db, t.event.id or 0, t.colleague.id or 0) is not None
    ),
    ("POST", "/events/{event_id}/registrations/{registration_id}/approve"): lambda db, t: bool(
        _registrations(db, t.approval_event, RegistrationState.confirmed)
    ),
    ("POST", "/events/{event_id}/registrations/{registration_id}/decline"): lambda db, t: bool(
        _registrations(db, t.approval_event, RegistrationState.declined)
    ),
    # Nobody had chosen this zone before: after the form, the person who sent it has.
    ("POST", "/me/time-zone"): lambda db, t: (
        db.exec(select(Person).where(Person.time_zone == MATRIX_ZONE)).first() is not None
    ),
    # Nobody had turned a topic off before: after the form, the person who sent it has.
    ("POST", "/me/e-mail"): lambda db, t: (
        db.exec(
            select(NotificationPreference).where(
                NotificationPreference.topic == "discussion",
                NotificationPreference.delivery == "off",
            )
        ).first()
        is not None
    ),
    # The fixture made one feed per side; resetting makes the sender's own.
    ("POST", "/me/calendar-feed"): lambda db, t: (
        db.exec(select(func.count()).select_from(CalendarFeed)).one() > 2
    ),
}

CASES = [
    pytest.param(method, path, role, answer, id=f"{method} {path}-{role}")
    for (method, path), answers in EVENT_MATRIX.items()
    for role, answer in zip(ROLES, answers, strict=True)
]


@pytest.mark.parametrize(("method", "path", "role", "answer"), CASES)
def test_event_route_answers_role(
    method: str,
    path: str,
    role: str,
    answer: Answer,
    app: FastAPI,
    db: Session,
    world: World,
    sides: dict[str, EventSide],
    client_as: ClientAs,
) -> None:
    """The route answers the role as the matrix says, and a form acts only when allowed."""
    browser = _browser(app, client_as, world, role)
    target = sides[COLUMNS[role][1]]
    ask(method, path, role, answer, db, target, browser, FORMS, EFFECTS, FILES)


def test_a_wrong_feed_token_opens_nothing(
    app: FastAPI, world: World, sides: dict[str, EventSide]
) -> None:
    """The feed answers a 404 to a token that is not exactly someone's, signed in or not."""
    from fastapi.testclient import TestClient

    anonymous = TestClient(app)
    good = sides["apparel"].token
    key, secret = good.split("-", 1)
    changed = secret[:-1] + ("y" if secret.endswith("x") else "x")  # one character off
    for wrong in (f"{key}-{changed}", f"{key}x-{secret}", key, "-", f"{key}-"):
        assert anonymous.get(f"/calendar/{wrong}.ics").status_code == 404, wrong
    assert anonymous.get(f"/calendar/{good}.ics").status_code == 200
