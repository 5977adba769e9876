"""Reading and clearing a person's notifications."""

from sqlmodel import Session, col, func, select, update

from hub.clock import utcnow
from hub.errors import NotFound
from hub.notify.models import Notification
from hub.policy import Actor

PAGE_SIZE = 50


def unread_count(session: Session, person_id: int) -> int:
    return session.exec(
        select(func.count())
        .select_from(Notification)
        .where(Notification.person_id == person_id, col(Notification.read_at).is_(None))
    ).one()


def latest(session: Session, actor: Actor) -> list[Notification]:
    return list(
        session.exec(
            select(Notification)
            .where(Notification.person_id == actor.person_id)
            .order_by(col(Notification.id).desc())
            .limit(PAGE_SIZE)
        )
    )


def mark_read(session: Session, actor: Actor, notification_id: int) -> Notification:
    """Mark one of the actor's own notifications read; anyone else's is not there."""
    item = session.get(Notification, notification_id)
    if item is None or item.person_id != actor.person_id:
        raise NotFound("There is no such notification among yours.")
    if item.read_at is None:
        item.read_at = utcnow()
        session.add(item)
        session.commit()
    return item


def target_of(item: Notification) -> str:
    """Where a notification leads: its page, or the report it is about."""
    if item.link:
        return item.link
    return f"/intel/{item.report_id}" if item.report_id else "/notifications"


def mark_all_read(session: Session, actor: Actor) -> None:
    session.exec(
        update(Notification)
        .where(col(Notification.person_id) == actor.person_id, col(Notification.read_at).is_(None))
        .values(read_at=utcnow())
    )
    session.commit()
