"""A report's status moving on (e.g. to "taken down") reaches its author and followers,
each only while they may read it, and never the person who moved it."""

from sqlmodel import Session, col, select

from hub.intel import discussion, service
from hub.intel.models import Tlp
from hub.notify.models import Notification
from tests.conftest import World
from tests.intel.factories import actor_of, make_report


def _told(db: Session, person_id: int | None) -> list[str]:
    return list(
        db.exec(
            select(Notification.text)
            .where(Notification.person_id == person_id, Notification.kind == "intel.activity")
            .order_by(col(Notification.id))
        )
    )


def test_followers_and_author_hear_of_a_status_change(db: Session, world: World) -> None:
    report = make_report(db, world.member_a, world.apparel, Tlp.green, title="Outlet 9")
    discussion.toggle_follow(db, actor_of(db, world.member_b), report)
    discussion.toggle_follow(db, actor_of(db, world.coordinator), report)

    service.change_status(db, actor_of(db, world.coordinator), report, "verified")

    assert _told(db, world.member_a.id) == ["“Outlet 9” is now verified (Cora Coordinator)."]
    assert _told(db, world.member_b.id) == ["“Outlet 9” is now verified (Cora Coordinator)."]
    assert _told(db, world.coordinator.id) == []  # who moved it needs no telling


def test_a_follower_who_may_no_longer_read_it_is_not_told(db: Session, world: World) -> None:
    report = make_report(db, world.member_a, world.apparel, Tlp.amber, title="Outlet 10")
    discussion.toggle_follow(db, actor_of(db, world.member_b), report)
    form = service.form_of(db, report)
    form.tlp = Tlp.amber_strict
    service.update_report(db, actor_of(db, world.member_a), report, form)

    service.change_status(db, actor_of(db, world.member_a), report, "verified")

    assert _told(db, world.member_b.id) == []
