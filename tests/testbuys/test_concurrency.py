"""No overbooking, ever: concurrent sign-ups and withdrawals against a real, committed
database (SQLite by default, PostgreSQL with HUB_TEST_DATABASE_URL), from many threads
and from several OS processes at once.

The `db` fixture is one rolled-back connection, so it cannot show a race: this module
makes its own throwaway database, migrated like the real one, and commits real rows.
Each test then checks in the database that exactly the campaign's slots are handed out,
none twice, in arrival order, with every sign-up accounted for.
"""

import functools
import multiprocessing
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

# Only light imports at the top: every spawned process imports this module again.
from hub.auth.sessions import load_actor
from hub.config import Environment, Settings
from hub.db import make_engine, upgrade_database
from hub.groups.models import WorkingGroup
from hub.members.models import Brand, OrgKind, Person, Role
from hub.notify.models import Notification
from hub.policy import Actor
from hub.testbuys import signups
from hub.testbuys.models import Campaign, Signup, SignupState
from tests import factories
from tests.databases import throwaway_database

BRANDS = 30
SLOTS = 5
CAP = 2
BARRIER_TIMEOUT = 60  # seconds; spawned processes take a moment to import the hub


TEST_SECRET = "test-secret-key-that-is-long-enough-for-concurrency"


def settings_for(url: str) -> Settings:
    """Test settings like tests/conftest.py's, pointed at this module's own database."""
    return Settings(
        env=Environment.test,
        secret_key=TEST_SECRET,
        database_url=url,
        base_url="http://testserver",
        dev_idp=False,
    )


@dataclass(frozen=True)
class Stage:
    """A committed database with one group, its coordinator, and many brand admins."""

    url: str
    engine: Engine
    group_slug: str
    coordinator_id: int
    admin_ids: list[int]  # one brand admin per brand, every brand in the group
    brand_of: dict[int, int]  # admin's person id -> brand id


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    with throwaway_database(tmp_path_factory.mktemp("concurrency")) as url:
        engine = make_engine(settings_for(url))
        upgrade_database(engine)
        with Session(engine, expire_on_commit=False) as session:
            group = factories.make_group(session, "race-t", "Race (test)")
            secretariat = factories.make_brand(session, "race-secretariat", kind=OrgKind.alliance)
            coordinator = factories.make_person(session, secretariat, name="Rae Coordinator")
            factories.appoint(session, group, coordinator)
            admins = []
            for number in range(BRANDS):
                brand = factories.make_brand(
                    session, f"race-brand-{number}", [group], name=f"Race Brand {number:02d}"
                )
                admins.append(factories.make_person(session, brand, Role.brand_admin))
            session.commit()
            stage = Stage(
                url=url,
                engine=engine,
                group_slug=group.slug,
                coordinator_id=coordinator.id or 0,
                admin_ids=[admin.id or 0 for admin in admins],
                brand_of={admin.id or 0: admin.brand_id for admin in admins},
            )
        try:
            yield stage
        finally:
            engine.dispose()


def actor_of(session: Session, person_id: int) -> Actor:
    """The actor the person would be when signed in (as tests.intel.factories.actor_of,
    which is too heavy an import for the spawned processes)."""
    person = session.get(Person, person_id)
    assert person is not None
    brand = session.get(Brand, person.brand_id)
    assert brand is not None
    return load_actor(session, person, brand)


def open_campaign(stage: Stage, slots: int = SLOTS, cap: int = CAP) -> int:
    """A new open campaign of the stage's group, committed; returns its id."""
    from tests.testbuys.factories import make_campaign  # the parent process only

    with Session(stage.engine, expire_on_commit=False) as session:
        coordinator = session.get(Person, stage.coordinator_id)
        assert coordinator is not None
        group = session.exec(select(WorkingGroup).where(WorkingGroup.slug == stage.group_slug))
        campaign = make_campaign(session, coordinator, group.one(), slots=slots, max_per_brand=cap)
        assert campaign.id is not None
        return campaign.id


@dataclass(frozen=True)
class Answer:
    """What one request was told: the sign-up it made, or the error it met."""

    person_id: int
    requested: int
    signup_id: int | None = None
    granted: int | None = None
    state: str = ""
    error: str = ""


def sign_up_together(
    engine: Engine, barrier: Any, person_id: int, campaign_id: int, requested: int
) -> Answer:
    """Load the actor and campaign, wait for everyone, then sign up: the race is in
    sign_up itself, not in the loading."""
    with Session(engine, expire_on_commit=False) as session:
        actor = actor_of(session, person_id)
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        form = signups.SignupForm(requested=str(requested), products="Race model")
        barrier.wait(timeout=BARRIER_TIMEOUT)
        try:
            signup = signups.sign_up(session, actor, campaign, form)
        except Exception as error:  # reported by the test, with its type
            return Answer(person_id, requested, error=f"{type(error).__name__}: {error}")
        return Answer(person_id, requested, signup.id, signup.granted, signup.state)


def withdraw_together(engine: Engine, barrier: Any, person_id: int, campaign_id: int) -> Answer:
    with Session(engine, expire_on_commit=False) as session:
        actor = actor_of(session, person_id)
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        barrier.wait(timeout=BARRIER_TIMEOUT)
        try:
            signup = signups.withdraw(session, actor, campaign)
        except Exception as error:
            return Answer(person_id, 0, error=f"{type(error).__name__}: {error}")
        return Answer(person_id, 0, signup.id, signup.granted, signup.state)


def run_in_threads(jobs: list[Callable[[], Answer]]) -> list[Answer]:
    """Run every job in its own thread at once; every job waits on the same barrier."""
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return [future.result() for future in [pool.submit(job) for job in jobs]]


def requests_for(count: int) -> list[int]:
    """Some brands ask for one purchase, some for two."""
    return [1 + (number % 3 == 0) for number in range(count)]


@dataclass(frozen=True)
class Outcome:
    campaign: Campaign
    rows: list[Signup]  # every sign-up of the campaign, in queue order


def outcome(stage: Stage, campaign_id: int) -> Outcome:
    """The campaign and its sign-ups as committed, read by a fresh session."""
    with Session(stage.engine, expire_on_commit=False) as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        rows = list(
            session.exec(
                select(Signup)
                .where(Signup.campaign_id == campaign_id)
                .order_by(col(Signup.position))
            )
        )
        return Outcome(campaign, rows)


def assert_fair_and_full(result: Outcome) -> None:
    """The invariants that must hold after any mix of sign-ups and withdrawals when the
    brands ask for more than the campaign has: every slot handed out exactly once, no
    brand over its request or the cap, and slots given strictly in queue order."""
    campaign, rows = result.campaign, result.rows
    active = [s for s in rows if s.state in signups.ACTIVE]
    held = sum(s.granted for s in rows)
    assert held == campaign.slots_taken == campaign.slots, (held, campaign.slots_taken)
    assert sum(s.requested for s in active) > campaign.slots  # demand exceeded supply
    positions = [s.position for s in rows]
    assert len(set(positions)) == len(positions), "two sign-ups share a place in the queue"
    for signup in rows:
        assert 0 <= signup.granted <= signup.requested <= campaign.max_per_brand
        if signup.state in (SignupState.withdrawn, SignupState.moved):
            assert signup.granted == 0
        else:
            assert (signup.state == SignupState.confirmed) == (signup.granted == signup.requested)
    # First in the queue, first served: full grants, at most one partial, then nothing.
    grants = [(s.granted, s.requested) for s in active]
    first_short = next(
        (i for i, (granted, requested) in enumerate(grants) if granted < requested),
        len(grants),
    )
    assert all(granted == 0 for granted, _ in grants[first_short + 1 :]), grants
    partial = [s for s in active if 0 < s.granted < s.requested]
    assert len(partial) <= 1, grants
    holding = [s for s in active if s.granted > 0]
    if partial:
        assert partial[0] is holding[-1], "the partial grant is not the last holding slots"
    confirmed = [s.position for s in active if s.state == SignupState.confirmed]
    waiting = [s.position for s in active if s.state == SignupState.waitlisted]
    if confirmed and waiting:
        assert min(waiting) > max(confirmed), "a later sign-up was served before an earlier"


def assert_answers_match(answers: list[Answer], result: Outcome) -> None:
    """No request met an error, each brand has exactly one sign-up, and what each
    request was told is what the database holds."""
    errors = [answer.error for answer in answers if answer.error]
    assert errors == [], errors
    by_id = {signup.id: signup for signup in result.rows}
    for answer in answers:
        signup = by_id[answer.signup_id]
        assert (signup.granted, signup.state) == (answer.granted, answer.state), answer


def assert_one_each_in_arrival_order(stage: Stage, people: list[int], result: Outcome) -> None:
    """Every request made exactly one sign-up (nothing lost, nothing doubled), and the
    queue places 1, 2, 3... follow the order the rows were written under the lock."""
    assert len(result.rows) == len(people)
    assert {s.brand_id for s in result.rows} == {stage.brand_of[p] for p in people}
    assert [s.position for s in result.rows] == list(range(1, len(people) + 1))
    ids = [s.id or 0 for s in result.rows]
    assert ids == sorted(ids)


def test_many_threads_signing_up_at_once_never_overbook(stage: Stage) -> None:
    """24 brand admins sign up at the same instant for 5 slots (cap 2): exactly 5 are
    handed out, the rest wait, in the order the sign-ups were recorded, none lost."""
    campaign_id = open_campaign(stage)
    people = stage.admin_ids[:24]
    asks = requests_for(len(people))
    barrier = threading.Barrier(len(people))

    answers = run_in_threads(
        [
            functools.partial(sign_up_together, stage.engine, barrier, person, campaign_id, asked)
            for person, asked in zip(people, asks, strict=True)
        ]
    )

    result = outcome(stage, campaign_id)
    assert_answers_match(answers, result)
    assert_one_each_in_arrival_order(stage, people, result)
    assert_fair_and_full(result)
    with Session(stage.engine) as session:
        told = session.exec(
            select(Notification.person_id).where(Notification.link == f"/testbuys/{campaign_id}")
        ).all()
    assert sorted(told) == sorted(people)  # each brand heard once about its own sign-up


def sign_up_in_process(
    url: str, barrier: Any, jobs: list[tuple[int, int]], campaign_id: int, answers: Any
) -> None:
    """A spawned process: its own engine and threads, sharing a barrier with the others."""
    engine = make_engine(settings_for(url))
    try:
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            futures = [
                pool.submit(sign_up_together, engine, barrier, person, campaign_id, asked)
                for person, asked in jobs
            ]
            for future in futures:
                answers.put(future.result())
    finally:
        engine.dispose()


def test_several_processes_signing_up_at_once_never_overbook(stage: Stage) -> None:
    """Three OS processes, each with its own engine and five threads, sign up 15 brands
    at once: the database lock, not any process's memory, keeps the count right."""
    campaign_id = open_campaign(stage)
    context = multiprocessing.get_context("spawn")
    people = stage.admin_ids[:15]
    asks = requests_for(len(people))
    jobs = list(zip(people, asks, strict=True))
    barrier = context.Barrier(len(jobs))
    answers_queue = context.Queue()
    processes = [
        context.Process(
            target=sign_up_in_process,
            args=(stage.url, barrier, jobs[start : start + 5], campaign_id, answers_queue),
        )
        for start in range(0, len(jobs), 5)
    ]
    for process in processes:
        process.start()
    answers = [answers_queue.get(timeout=BARRIER_TIMEOUT * 2) for _ in jobs]
    for process in processes:
        process.join(timeout=30)
    assert [process.exitcode for process in processes] == [0] * len(processes)

    result = outcome(stage, campaign_id)
    assert_answers_match(answers, result)
    assert_one_each_in_arrival_order(stage, people, result)
    assert_fair_and_full(result)


def test_withdrawals_racing_sign_ups_promote_the_waitlist(stage: Stage) -> None:
    """Two brands holding 4 of the 5 slots withdraw while 12 new brands sign up: the
    freed slots go to the brands already waiting (they were first), never to a newcomer
    ahead of them, and the campaign is never overbooked."""
    campaign_id = open_campaign(stage)
    admins = stage.admin_ids
    # Before the race: 5 slots held (2 + 2 + 1), then four brands waiting for 6 more.
    holders, waiting, newcomers = admins[:3], admins[3:7], admins[7:19]
    with Session(stage.engine, expire_on_commit=False) as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        for person_id, asked in zip(holders + waiting, [2, 2, 1, 2, 1, 2, 1], strict=True):
            form = signups.SignupForm(requested=str(asked))
            signups.sign_up(session, actor_of(session, person_id), campaign, form)
    before = outcome(stage, campaign_id)
    assert [s.granted for s in before.rows] == [2, 2, 1, 0, 0, 0, 0]
    barrier = threading.Barrier(2 + len(newcomers))
    jobs: list[Callable[[], Answer]] = [
        functools.partial(withdraw_together, stage.engine, barrier, person, campaign_id)
        for person in holders[:2]
    ]
    jobs += [
        functools.partial(sign_up_together, stage.engine, barrier, person, campaign_id, 1)
        for person in newcomers
    ]

    answers = run_in_threads(jobs)

    result = outcome(stage, campaign_id)
    assert_answers_match(answers, result)
    assert [answer.state for answer in answers[:2]] == [SignupState.withdrawn] * 2
    assert len(result.rows) == len(holders) + len(waiting) + len(newcomers)
    assert_fair_and_full(result)
    of_brand = {signup.brand_id: signup for signup in result.rows}
    granted = [of_brand[stage.brand_of[p]].granted for p in holders + waiting]
    # The 4 freed slots went to the first waiting brands in order: 2, 1, then 1 of 2.
    assert granted == [0, 0, 1, 2, 1, 1, 0]
    assert [of_brand[stage.brand_of[p]].granted for p in newcomers] == [0] * len(newcomers)
    assert all(of_brand[stage.brand_of[p]].state == SignupState.waitlisted for p in newcomers)


def test_one_brand_submitting_many_times_at_once_keeps_one_sign_up(stage: Stage) -> None:
    """Eight copies of the same brand's sign-up (a double-click, two admins) arrive at
    once: one sign-up row, no duplicate-key error, and its slots counted once."""
    campaign_id = open_campaign(stage)
    person = stage.admin_ids[0]
    barrier = threading.Barrier(8)

    answers = run_in_threads(
        [
            functools.partial(sign_up_together, stage.engine, barrier, person, campaign_id, asked)
            for asked in requests_for(8)
        ]
    )

    assert [answer.error for answer in answers if answer.error] == []
    result = outcome(stage, campaign_id)
    assert len(result.rows) == 1
    (signup,) = result.rows
    assert signup.brand_id == stage.brand_of[person]
    assert signup.requested in (1, 2)
    assert signup.granted == signup.requested == result.campaign.slots_taken
    assert signup.state == SignupState.confirmed
    assert {answer.signup_id for answer in answers} == {signup.id}
