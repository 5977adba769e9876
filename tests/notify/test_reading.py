"""Reading notifications one at a time: following one marks it read, and each can be
cleared on its own (in place, through htmx) without touching the others."""

from sqlmodel import Session, col, select

from hub.notify.models import Notification
from tests.conftest import ClientAs, World


def _notes(db: Session, person_id: int, count: int) -> list[Notification]:
    notes = [
        Notification(person_id=person_id, kind="test", text=f"Note {n}", link=f"/events?n={n}")
        for n in range(count)
    ]
    db.add_all(notes)
    db.commit()
    return notes


def _unread(db: Session, person_id: int) -> list[str]:
    db.expire_all()
    rows = db.exec(
        select(Notification.text)
        .where(Notification.person_id == person_id, col(Notification.read_at).is_(None))
        .order_by(col(Notification.id))
    )
    return list(rows)


def test_following_a_notification_marks_it_read_and_leads_to_its_page(
    db: Session, world: World, client_as: ClientAs
) -> None:
    first, second = _notes(db, world.member_a.id or 0, 2)

    followed = client_as(world.member_a).get(f"/notifications/{first.id}")

    assert followed.status_code == 303 and followed.headers["location"] == "/events?n=0"
    assert _unread(db, world.member_a.id or 0) == ["Note 1"]


def test_one_notification_is_cleared_in_place(
    db: Session, world: World, client_as: ClientAs
) -> None:
    browser = client_as(world.member_a)
    first, second = _notes(db, world.member_a.id or 0, 2)
    page = browser.get("/notifications").text
    assert f'hx-post="/notifications/{second.id}/read"' in page
    assert 'aria-label="Notifications: 2 unread"' in page

    cleared = browser.post(f"/notifications/{second.id}/read", headers={"HX-Request": "true"})

    assert cleared.status_code == 200
    assert f'id="notification-{second.id}"' in cleared.text and "Mark as read" not in cleared.text
    assert _unread(db, world.member_a.id or 0) == ["Note 0"]


def test_nobody_opens_or_clears_anothers_notification(
    db: Session, world: World, client_as: ClientAs
) -> None:
    (note,) = _notes(db, world.member_a.id or 0, 1)
    colleague = client_as(world.admin_a)

    assert colleague.get(f"/notifications/{note.id}").status_code == 404
    assert colleague.post(f"/notifications/{note.id}/read").status_code == 404
    assert _unread(db, world.member_a.id or 0) == ["Note 0"]
