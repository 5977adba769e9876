"""Reading and clearing a person's notifications."""

from sqlalchemy import ColumnElement, exists, or_
from sqlmodel import Session, col, func, select, update

from hub.clock import utcnow
from hub.errors import NotFound
from hub.i18n import gettext as _
from hub.intel.models import IntelReport
from hub.notify.models import Notification
from hub.policy import Actor, visible_intel

PAGE_SIZE = 50


def unread_count(session: Session, person_id: int) -> int:
    return session.exec(
        select(func.count())
        .select_from(Notification)
        .where(Notification.person_id == person_id, col(Notification.read_at).is_(None))
    ).one()


def still_readable(actor: Actor) -> ColumnElement[bool]:
    """A notification about a report is shown only while its reader may still read the
    report: its text names the report, which may since have been hidden by a coordinator,
    re-marked, or left behind by the reader's brand."""
    return or_(
        col(Notification.report_id).is_(None),
        exists(
            select(col(IntelReport.id)).where(
                col(IntelReport.id) == Notification.report_id, visible_intel(actor)
            )
        ),
    )


def latest(session: Session, actor: Actor) -> list[Notification]:
    return list(
        session.exec(
            select(Notification)
            .where(Notification.person_id == actor.person_id, still_readable(actor))
            .order_by(col(Notification.id).desc())
            .limit(PAGE_SIZE)
        )
    )


def mark_read(session: Session, actor: Actor, notification_id: int) -> Notification:
    """Mark one of the actor's own notifications read; anyone else's is not there, nor is
    one about a report the actor may no longer read (the answer shows its text)."""
    item = session.exec(
        select(Notification).where(
            Notification.id == notification_id,
            Notification.person_id == actor.person_id,
            still_readable(actor),
        )
    ).first()
    if item is None:
        raise NotFound(_("There is no such notification among yours."))
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
