"""No event is ever overbooked: many people registering at the same instant, from
threads and from several OS processes, and people cancelling while others register,
against a real committed database (SQLite by default, PostgreSQL with
HUB_TEST_DATABASE_URL).

As in tests/testbuys/test_concurrency.py (whose helpers this module reuses), the `db`
fixture's single rolled-back connection cannot show a race, so this module migrates a
throwaway database of its own and commits real rows. Each test then counts in the
database: exactly `capacity` seats held, no brand over its cap, the counters on the
event and the brands equal to the rows, the rest waiting in arrival order, and every
person with exactly the one registration they asked for.
"""

import functools
import multiprocessing
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

# Only light imports at the top: every spawned process imports this module again.
from hub.db import make_engine, upgrade_database
from hub.events import registrations
from hub.events.models import (
    ACTIVE_STATES,
    BrandSeats,
    Event,
    Registration,
    RegistrationState,
)
from hub.groups.models import WorkingGroup
from hub.members.models import OrgKind, Person
from hub.notify.models import Notification
from tests import factories
from tests.databases import throwaway_database
from tests.testbuys.test_concurrency import BARRIER_TIMEOUT, actor_of, settings_for

BRANDS = 6
PEOPLE_PER_BRAND = 6
CAPACITY = 5
CAP = 2  # seats per brand


@dataclass(frozen=True)
class Stage:
    """A committed database with one working group, its coordinator, and several people
    at each of its brands."""

    url: str
    engine: Engine
    group_slug: str
    coordinator_id: int
    people: list[list[int]]  # person ids, by brand
    brand_of: dict[int, int]  # person id -> brand id

    def taking_turns(self, count: int) -> list[int]:
        """`count` people, the brands taking turns: many brands ask at once."""
        turns = [brand[n] for n in range(PEOPLE_PER_BRAND) for brand in self.people]
        return turns[:count]


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    with throwaway_database(tmp_path_factory.mktemp("event-seats")) as url:
        engine = make_engine(settings_for(url))
        upgrade_database(engine)
        with Session(engine, expire_on_commit=False) as session:
            group = factories.make_group(session, "seats-t", "Seats (test)")
            secretariat = factories.make_brand(session, "seats-secretariat", kind=OrgKind.alliance)
            coordinator = factories.make_person(session, secretariat, name="Sam Coordinator")
            factories.appoint(session, group, coordinator)
            people: list[list[int]] = []
            brand_of: dict[int, int] = {}
            for number in range(BRANDS):
                brand = factories.make_brand(session, f"seats-brand-{number}", [group])
                staff = [factories.make_person(session, brand) for _ in range(PEOPLE_PER_BRAND)]
                people.append([person.id or 0 for person in staff])
                brand_of |= {person.id or 0: brand.id or 0 for person in staff}
            session.commit()
            stage = Stage(url, engine, group.slug, coordinator.id or 0, people, brand_of)
        try:
            yield stage
        finally:
            engine.dispose()


def new_event(stage: Stage) -> int:
    """A new event of the stage's group with CAPACITY seats, CAP per brand, registration
    open; committed. Returns its id."""
    from tests.events.factories import make_event  # the parent process only

    with Session(stage.engine, expire_on_commit=False) as session:
        coordinator = session.get(Person, stage.coordinator_id)
        assert coordinator is not None
        group = session.exec(select(WorkingGroup).where(WorkingGroup.slug == stage.group_slug))
        event = make_event(session, coordinator, group.one(), capacity=CAPACITY, per_brand=CAP)
        assert event.id is not None
        return event.id


def register_now(stage: Stage, event_id: int, people: list[int]) -> None:
    """Register people one after the other, before a race."""
    with Session(stage.engine, expire_on_commit=False) as session:
        settings = settings_for(stage.url)
        for person_id in people:
            event = session.get(Event, event_id)
            assert event is not None
            registrations.register(session, settings, actor_of(session, person_id), event)


@dataclass(frozen=True)
class Answer:
    """What one request was told: the registration it made or ended, or its error."""

    person_id: int
    action: str  # "register" or "withdraw"
    registration_id: int | None = None
    state: str = ""
    error: str = ""


def act_together(
    url: str, engine: Engine, barrier: Any, person_id: int, event_id: int, action: str
) -> Answer:
    """Load the person and the event, wait for everyone, then act: the race is in the
    registration code itself, not in the loading."""
    with Session(engine, expire_on_commit=False) as session:
        actor = actor_of(session, person_id)
        event = session.get(Event, event_id)
        assert event is not None
        settings = settings_for(url)
        act = registrations.register if action == "register" else registrations.withdraw
        barrier.wait(timeout=BARRIER_TIMEOUT)
        try:
            registration = act(session, settings, actor, event)
        except Exception as error:  # reported by the test, with its type
            return Answer(person_id, action, error=f"{type(error).__name__}: {error}")
        return Answer(person_id, action, registration.id, registration.state)


def run_in_threads(jobs: list[Callable[[], Answer]]) -> list[Answer]:
    """Every job in its own thread at once; the jobs share one barrier."""
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return [future.result() for future in [pool.submit(job) for job in jobs]]


def together(stage: Stage, event_id: int, actions: list[tuple[int, str]]) -> list[Answer]:
    barrier = threading.Barrier(len(actions))
    return run_in_threads(
        [
            functools.partial(
                act_together, stage.url, stage.engine, barrier, person, event_id, action
            )
            for person, action in actions
        ]
    )


@dataclass(frozen=True)
class Outcome:
    event: Event
    rows: list[Registration]  # every registration of the event, in arrival order
    brand_seats: dict[int, BrandSeats]
    told: dict[int, list[str]]  # person id -> kinds of the notifications about the event


def outcome(stage: Stage, event_id: int) -> Outcome:
    """The event as committed, read by a fresh session."""
    with Session(stage.engine, expire_on_commit=False) as session:
        event = session.get(Event, event_id)
        assert event is not None
        rows = session.exec(
            select(Registration)
            .where(Registration.event_id == event_id)
            .order_by(col(Registration.position))
        ).all()
        seats = session.exec(select(BrandSeats).where(BrandSeats.event_id == event_id)).all()
        told: dict[int, list[str]] = {}
        notes = session.exec(
            select(Notification)
            .where(Notification.link == f"/events/{event_id}")
            .order_by(col(Notification.id))
        )
        for note in notes:
            told.setdefault(note.person_id, []).append(note.kind)
        return Outcome(event, list(rows), {s.brand_id: s for s in seats}, told)


def assert_counted_right(result: Outcome) -> None:
    """Exactly `capacity` seats held (demand exceeded them), none over a brand's cap, and
    the counters on the event and the brands equal to the confirmed rows."""
    event, rows = result.event, result.rows
    confirmed = [r for r in rows if r.state == RegistrationState.confirmed]
    assert len(confirmed) == event.seats_taken == event.capacity
    per_brand = Counter(r.brand_id for r in confirmed)
    assert max(per_brand.values()) <= event.seats_per_brand, per_brand
    counted = {brand: seats.taken for brand, seats in result.brand_seats.items() if seats.taken}
    assert counted == dict(per_brand)
    assert all(seats.cap == event.seats_per_brand for seats in result.brand_seats.values())


def assert_queue_intact(result: Outcome, people: list[int], stage: Stage) -> None:
    """Arrival places 1, 2, 3... each once, given in the order the rows were written; no
    one lost or doubled: each person who asked holds exactly one active registration, of
    their own brand; the person's brand recorded on it; no one else has one."""
    rows = result.rows
    assert [r.position for r in rows] == list(range(1, len(rows) + 1))
    assert result.event.next_position == len(rows) + 1
    ids = [r.id or 0 for r in rows]
    assert ids == sorted(ids), "arrival places do not follow the order rows were written"
    active = Counter(r.person_id for r in rows if r.state in ACTIVE_STATES)
    assert active == Counter(people)
    assert all(r.brand_id == stage.brand_of[r.person_id] for r in rows)


def assert_seated_first_come_first_served(result: Outcome) -> None:
    """Walking the registrations in arrival order: each was seated exactly when, on its
    arrival, a seat was free and its brand was under the cap; otherwise it waits."""
    event = result.event
    seated, per_brand = 0, Counter[int]()
    for row in result.rows:
        room = seated < event.capacity and per_brand[row.brand_id] < event.seats_per_brand
        expected = RegistrationState.confirmed if room else RegistrationState.waitlisted
        assert row.state == expected, (row.position, row.state)
        if room:
            seated += 1
            per_brand[row.brand_id] += 1


def assert_answers_match(answers: list[Answer], result: Outcome) -> None:
    """No request met an error, and what each was told is what the database holds."""
    assert [a.error for a in answers if a.error] == []
    by_id = {r.id: r for r in result.rows}
    for answer in answers:
        assert by_id[answer.registration_id].state == answer.state, answer


def test_many_threads_registering_at_once_never_overbook(stage: Stage) -> None:
    """24 people of six brands register at the same instant for 5 seats, at most 2 a
    brand: 5 are seated, first come first served within the caps, the others wait in
    the order they came; each was told once, what the database holds."""
    event_id = new_event(stage)
    people = stage.taking_turns(24)

    answers = together(stage, event_id, [(person, "register") for person in people])

    result = outcome(stage, event_id)
    assert_answers_match(answers, result)
    assert_counted_right(result)
    assert_queue_intact(result, people, stage)
    assert_seated_first_come_first_served(result)
    for row in result.rows:
        assert result.told[row.person_id] == [f"event_{row.state}"]


def test_one_brand_rushing_gets_only_its_cap(stage: Stage) -> None:
    """Six colleagues of one brand and six of another register at once for 5 seats, 2 a
    brand: each brand holds exactly 2, a fifth seat stays free, and the rest wait."""
    event_id = new_event(stage)
    people = stage.people[0] + stage.people[1]

    answers = together(stage, event_id, [(person, "register") for person in people])

    result = outcome(stage, event_id)
    assert_answers_match(answers, result)
    assert_queue_intact(result, people, stage)
    assert_seated_first_come_first_served(result)
    assert result.event.seats_taken == 4
    assert {b: s.taken for b, s in result.brand_seats.items()} == {
        stage.brand_of[stage.people[0][0]]: 2,
        stage.brand_of[stage.people[1][0]]: 2,
    }


def register_in_process(
    url: str, barrier: Any, people: list[int], event_id: int, answers: Any
) -> None:
    """A spawned process: its own engine and threads, sharing a barrier with the others."""
    engine = make_engine(settings_for(url))
    try:
        with ThreadPoolExecutor(max_workers=len(people)) as pool:
            futures = [
                pool.submit(act_together, url, engine, barrier, person, event_id, "register")
                for person in people
            ]
            for future in futures:
                answers.put(future.result())
    finally:
        engine.dispose()


def test_several_processes_registering_at_once_never_overbook(stage: Stage) -> None:
    """Three OS processes with five threads each register 15 people at once: the lock on
    the event's row in the database, not any process's memory, keeps the count right."""
    event_id = new_event(stage)
    context = multiprocessing.get_context("spawn")
    people = stage.taking_turns(15)
    barrier = context.Barrier(len(people))
    answers_queue = context.Queue()
    processes = [
        context.Process(
            target=register_in_process,
            args=(stage.url, barrier, people[start : start + 5], event_id, answers_queue),
        )
        for start in range(0, len(people), 5)
    ]
    for process in processes:
        process.start()
    answers = [answers_queue.get(timeout=BARRIER_TIMEOUT * 2) for _ in people]
    for process in processes:
        process.join(timeout=30)
    assert [process.exitcode for process in processes] == [0] * len(processes)

    result = outcome(stage, event_id)
    assert_answers_match(answers, result)
    assert_counted_right(result)
    assert_queue_intact(result, people, stage)
    assert_seated_first_come_first_served(result)


def test_cancellations_racing_registrations_promote_the_waitlist_in_order(
    stage: Stage,
) -> None:
    """Two seat holders cancel while ten newcomers register. The freed seats go to the
    people already waiting, first in line first, skipping past no one but a person whose
    brand is at its cap until its own seat frees: here both cancellations free, between
    them, one seat for the first in line (whose brand is at its cap until one of the two
    leaves) and one for the second. Newcomers, later in line, all wait."""
    event_id = new_event(stage)
    b = stage.people
    holders = [b[0][0], b[0][1], b[1][0], b[1][1], b[2][0]]  # brands 0 and 1 at their cap
    waiting = [b[0][2], b[3][0], b[2][1], b[3][1]]  # the first in line is of brand 0
    register_now(stage, event_id, holders + waiting)
    before = outcome(stage, event_id)
    assert [r.state for r in before.rows] == ["confirmed"] * 5 + ["waitlisted"] * 4
    leaving = [b[0][0], b[1][0]]
    newcomers = [b[4][n] for n in range(5)] + [b[5][n] for n in range(5)]

    answers = together(
        stage,
        event_id,
        [(person, "withdraw") for person in leaving]
        + [(person, "register") for person in newcomers],
    )

    result = outcome(stage, event_id)
    assert_answers_match(answers, result)
    assert_counted_right(result)
    staying = [p for p in holders + waiting if p not in leaving]
    assert_queue_intact(result, staying + newcomers, stage)
    state_of = {r.person_id: r.state for r in result.rows if r.state in ACTIVE_STATES}
    seated = [p for p in holders + waiting + newcomers if state_of.get(p) == "confirmed"]
    assert seated == [b[0][1], b[1][1], b[2][0], b[0][2], b[3][0]]
    assert [state_of[p] for p in waiting[2:] + newcomers] == ["waitlisted"] * 12
    for person in waiting[:2]:
        assert result.told[person] == ["event_waitlisted", "event_promoted"]
    assert all(result.told[p] == ["event_waitlisted"] for p in waiting[2:] + newcomers)


def test_everyone_seated_leaving_at_once_hands_seats_down_the_line(stage: Stage) -> None:
    """All five seat holders cancel at the same instant while ten newcomers register:
    the five seats go to the first five people who were waiting, in their order, and
    never to a newcomer; the counters end where the rows say."""
    event_id = new_event(stage)
    b = stage.people
    holders = [b[0][0], b[0][1], b[1][0], b[1][1], b[2][0]]
    waiting = [b[3][0], b[3][1], b[4][0], b[4][1], b[5][0], b[5][1], b[2][1], b[2][2]]
    register_now(stage, event_id, holders + waiting)
    before = outcome(stage, event_id)
    assert [r.state for r in before.rows] == ["confirmed"] * 5 + ["waitlisted"] * 8
    newcomers = [b[0][n] for n in range(2, 6)] + [b[1][n] for n in range(2, 6)]
    newcomers += [b[2][3], b[5][2]]

    answers = together(
        stage,
        event_id,
        [(person, "withdraw") for person in holders]
        + [(person, "register") for person in newcomers],
    )

    result = outcome(stage, event_id)
    assert_answers_match(answers, result)
    assert_counted_right(result)
    assert_queue_intact(result, waiting + newcomers, stage)
    state_of = {r.person_id: r.state for r in result.rows if r.state in ACTIVE_STATES}
    assert [state_of[p] for p in waiting] == ["confirmed"] * 5 + ["waitlisted"] * 3
    assert all(state_of[p] == "waitlisted" for p in newcomers)
    with Session(stage.engine) as session:
        places = [
            registrations.waitlist_place(session, r)
            for r in result.rows
            if r.state == RegistrationState.waitlisted
        ]
    assert places == list(range(1, 3 + len(newcomers) + 1))


def test_one_person_registering_many_times_at_once_keeps_one_registration(
    stage: Stage,
) -> None:
    """Eight copies of one person's registration arrive at once (a double click, two
    tabs): one registration with one seat; the seven others are told plainly that the
    person is already registered, none meets a database error."""
    event_id = new_event(stage)
    person = stage.people[0][0]

    answers = together(stage, event_id, [(person, "register")] * 8)

    made = [answer for answer in answers if not answer.error]
    assert len(made) == 1
    assert [a.error for a in answers if a.error] == [
        "Conflict: You are already registered for this event."
    ] * 7
    result = outcome(stage, event_id)
    assert [(r.person_id, r.state) for r in result.rows] == [(person, "confirmed")]
    assert result.event.seats_taken == 1
    assert result.told[person] == ["event_confirmed"]
