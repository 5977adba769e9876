"""The figures every viewer shares are kept a few minutes (hub.impact.snapshot): kept or
not, each viewer's figures are the same, and their own restricted rows are never stale."""

from collections.abc import Callable
from dataclasses import replace

from sqlmodel import Session

from hub.clock import utcnow
from hub.impact import figures
from hub.impact.periods import Period
from hub.impact.snapshot import SharedFigures
from hub.intel.models import Tlp
from tests.conftest import World
from tests.intel.factories import actor_of, make_report


def _all_totals(impact: figures.Impact) -> dict[str, object]:
    return {
        (key, dim): (impact.total(key), impact.by(key, dim))
        for key in figures.FIGURES
        for dim in impact.cube_of(key).dims
    }


def test_kept_figures_equal_counted_ones_for_every_viewer(db: Session, world: World) -> None:
    for tlp in Tlp:
        recipients = [world.member_b] if tlp == Tlp.red else []
        make_report(db, world.member_a, world.apparel, tlp, recipients=recipients)
        make_report(
            db,
            world.member_c,
            world.toys,
            tlp,
            recipients=[world.admin_c] if tlp == Tlp.red else [],
        )
    period = Period(utcnow().year)
    shared = SharedFigures(300)
    viewers = (
        world.member_a,
        world.member_b,
        world.member_c,
        world.admin_c,
        world.coordinator,
        world.alliance_admin,
    )
    for person in viewers:
        actor = actor_of(db, person)
        for group_id in (None, world.apparel.id):
            direct = figures.compute(db, actor, period, group_id)
            kept = figures.compute(db, actor, period, group_id, shared, _sessions(db))
            assert _all_totals(kept) == _all_totals(direct), person.name


def test_each_viewers_own_rows_are_kept_apart(db: Session, world: World) -> None:
    """The AMBER+STRICT rows one brand's member counts are kept for that viewer only: a
    colleague of another brand, served from the same kept figures, never counts them."""
    period = Period(utcnow().year)
    shared = SharedFigures(300)
    sessions = _sessions(db)
    make_report(db, world.member_a, world.apparel, Tlp.amber_strict)
    make_report(db, world.member_a, world.apparel, Tlp.green)
    mine = figures.compute(db, actor_of(db, world.member_a), period, None, shared, sessions)
    theirs = figures.compute(db, actor_of(db, world.member_b), period, None, shared, sessions)
    assert mine.total("reports") == 2 and theirs.total("reports") == 1
    assert mine.as_of is not None


def test_old_figures_are_answered_at_once_and_counted_again_behind() -> None:
    counts = iter(range(100))
    shared = SharedFigures(300)
    first = shared.get("key", lambda: [next(counts)])
    assert first.rows == [0] and shared.get("key", lambda: [next(counts)]).rows == [0]
    shared._kept["key"] = replace(first, monotonic=first.monotonic - 301)  # minutes passed
    assert shared.get("key", lambda: [next(counts)]).rows == [0]  # at once, the old one
    shared.settle()
    assert shared.get("key", lambda: [next(counts)]).rows == [1]  # counted behind it


def _sessions(db: Session) -> Callable[[], Session]:
    """Sessions on the test's own connection, as the app's are in tests."""
    return lambda: Session(bind=db.connection())
