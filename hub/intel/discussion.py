"""Talking about a report: threaded comments with @mentions, "seen it too" and
"disputed" (one per brand), and following a report to hear about it."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from hub import audit, i18n
from hub.errors import Conflict, FormCheck, NotFound
from hub.i18n import gettext as _
from hub.intel import search_index
from hub.intel.correlation import actor_of, can_see
from hub.intel.markdown import to_safe_html
from hub.intel.models import (
    STATUS_LABELS,
    Comment,
    Follow,
    GroupFollow,
    IntelReport,
    Sighting,
    SightingKind,
)
from hub.members.models import Brand, Person
from hub.notify.models import Notification
from hub.policy import Actor

MENTION = re.compile(r"(?<![\w.])@([a-z0-9][a-z0-9._-]*[a-z0-9])", re.IGNORECASE)


@dataclass
class ThreadItem:
    comment: Comment
    author: Person
    brand: Brand
    replies: list["ThreadItem"] = field(default_factory=list)


@dataclass(frozen=True)
class SightingLine:
    sighting: Sighting
    brand: Brand
    person: Person


def thread(session: Session, report: IntelReport) -> list[ThreadItem]:
    """All comments of a report as a tree, in one query."""
    rows = session.exec(
        select(Comment, Person, Brand)
        .join(Person, col(Person.id) == Comment.author_id)
        .join(Brand, col(Brand.id) == Person.brand_id)
        .where(Comment.report_id == report.id)
        .order_by(col(Comment.id))
    ).all()
    items = {comment.id: ThreadItem(comment, person, brand) for comment, person, brand in rows}
    roots: list[ThreadItem] = []
    for item in items.values():
        parent = items.get(item.comment.parent_id) if item.comment.parent_id else None
        (parent.replies if parent else roots).append(item)
    return roots


def add_comment(
    session: Session, actor: Actor, report: IntelReport, body: str, parent_id: int | None
) -> Comment:
    """The actor must already be able to see the report (the route checked)."""
    check = FormCheck()
    body = body.strip()
    if not body:
        check.fail("body", _("Write something before posting."))
    elif len(body) > 10_000:
        check.fail("body", _("Keep a comment under %(most)s characters.", most=i18n.number(10_000)))
    check.done()
    if parent_id is not None:
        parent = session.get(Comment, parent_id)
        if parent is None or parent.report_id != report.id:
            raise NotFound(_("The comment you replied to is gone."))
    comment = Comment(
        report_id=report.id or 0,
        parent_id=parent_id,
        author_id=actor.person_id,
        body_md=body,
        body_html=to_safe_html(body),
    )
    session.add(comment)
    session.flush()
    search_index.reindex(session, report.id or 0)
    mentioned = _mentioned(session, report, body)
    for person in mentioned:
        if person.id != actor.person_id:
            _notify(
                session,
                person.id or 0,
                report,
                lambda: _(
                    "%(name)s mentioned you on “%(title)s”.", name=actor.name, title=report.title
                ),
            )
    already = {person.id for person in mentioned}
    for person_id in _followers(session, report):
        if person_id != actor.person_id and person_id not in already:
            _notify(
                session,
                person_id,
                report,
                lambda: _(
                    "%(name)s commented on “%(title)s”.", name=actor.name, title=report.title
                ),
            )
    audit.record(session, actor.audit_id, actor.label, "intel.commented", f"report:{report.id}")
    session.commit()
    return comment


def _mentioned(session: Session, report: IntelReport, body: str) -> list[Person]:
    """People named as @first.last (their e-mail's local part) who may read the report."""
    handles = {handle.lower() for handle in MENTION.findall(body)}
    if not handles:
        return []
    people = session.exec(select(Person).where(col(Person.is_active).is_(True))).all()
    found = [p for p in people if p.email.partition("@")[0] in handles]
    return [p for p in found if (a := actor_of(session, p.id or 0)) and can_see(session, a, report)]


def _followers(session: Session, report: IntelReport) -> list[int]:
    ids = set(session.exec(select(Follow.person_id).where(Follow.report_id == report.id)).all())
    ids.add(report.author_id)
    return sorted(ids)


def notify_status_change(session: Session, actor: Actor, report: IntelReport, status: str) -> None:
    """Tell the report's followers (and its author) that its status moved on."""

    def write() -> str:
        label = str(STATUS_LABELS.get(status, status)).lower()
        return _(
            "“%(title)s” is now %(status)s (%(name)s).",
            title=report.title,
            status=label,
            name=actor.name,
        )

    for person_id in _followers(session, report):
        if person_id != actor.person_id:
            _notify(session, person_id, report, write)


def _notify(
    session: Session, person_id: int, report: IntelReport, write: Callable[[], str]
) -> None:
    """A line for one person, written in their language; only people who may still read
    the report hear about it."""
    reader = actor_of(session, person_id)
    if reader is not None and can_see(session, reader, report):
        with i18n.presenting(reader.language, reader.time_zone):
            text = write()
        session.add(
            Notification(
                person_id=person_id,
                kind="intel.activity",
                report_id=report.id,
                group_id=report.group_id,
                text=text,
            )
        )


def sightings(session: Session, report: IntelReport) -> list[SightingLine]:
    rows = session.exec(
        select(Sighting, Brand, Person)
        .join(Brand, col(Brand.id) == Sighting.brand_id)
        .join(Person, col(Person.id) == Sighting.person_id)
        .where(Sighting.report_id == report.id)
        .order_by(col(Sighting.id))
    ).all()
    return [SightingLine(*row) for row in rows]


def set_sighting(
    session: Session, actor: Actor, report: IntelReport, kind: str, note: str
) -> Sighting:
    """Record the actor's brand's "seen it too" or "disputed"; one per brand, replaceable."""
    if kind not in {k.value for k in SightingKind}:
        raise Conflict(_("Choose “seen it too” or “disputed”."))
    if report.brand_id == actor.brand_id and kind == SightingKind.seen:
        raise Conflict(_("Your own brand reported this; “seen it too” is for other brands."))
    sighting = session.exec(
        select(Sighting).where(Sighting.report_id == report.id, Sighting.brand_id == actor.brand_id)
    ).first() or Sighting(
        report_id=report.id or 0, brand_id=actor.brand_id, person_id=actor.person_id
    )
    sighting.kind, sighting.note, sighting.person_id = kind, note.strip()[:1000], actor.person_id
    session.add(sighting)

    def write() -> str:
        if kind == SightingKind.seen:
            return _(
                "%(name)s confirmed (seen it too) “%(title)s”.",
                name=actor.name,
                title=report.title,
            )
        return _("%(name)s disputed “%(title)s”.", name=actor.name, title=report.title)

    _notify(session, report.author_id, report, write)
    audit.record(session, actor.audit_id, actor.label, f"intel.{kind}", f"report:{report.id}")
    session.commit()
    return sighting


def withdraw_sighting(session: Session, actor: Actor, report: IntelReport) -> None:
    sighting = session.exec(
        select(Sighting).where(Sighting.report_id == report.id, Sighting.brand_id == actor.brand_id)
    ).first()
    if sighting is not None:
        session.delete(sighting)
        audit.record(
            session, actor.audit_id, actor.label, "intel.sighting_withdrawn", f"report:{report.id}"
        )
        session.commit()


def is_following(session: Session, actor: Actor, report: IntelReport) -> bool:
    return session.get(Follow, (report.id, actor.person_id)) is not None


def toggle_follow(session: Session, actor: Actor, report: IntelReport) -> bool:
    follow = session.get(Follow, (report.id, actor.person_id))
    if follow is None:
        session.add(Follow(report_id=report.id or 0, person_id=actor.person_id))
    else:
        session.delete(follow)
    session.commit()
    return follow is None


def follows_group(session: Session, actor: Actor, group_id: int) -> bool:
    return session.get(GroupFollow, (group_id, actor.person_id)) is not None


def toggle_group_follow(session: Session, actor: Actor, group_id: int) -> bool:
    """Follow a board, or stop; returns whether the actor follows it now."""
    follow = session.get(GroupFollow, (group_id, actor.person_id))
    if follow is None:
        session.add(GroupFollow(group_id=group_id, person_id=actor.person_id))
    else:
        session.delete(follow)
    session.commit()
    return follow is None


def notify_board_followers(session: Session, report: IntelReport, group_name: str) -> None:
    """Tell the board's followers of a new report, each only if they may read it."""
    followers = session.exec(
        select(GroupFollow.person_id).where(
            GroupFollow.group_id == report.group_id, GroupFollow.person_id != report.author_id
        )
    ).all()
    for person_id in followers:
        reader = actor_of(session, person_id)
        if reader is not None and can_see(session, reader, report):
            with i18n.presenting(reader.language, reader.time_zone):
                text = _(
                    "New on the %(group)s board: “%(title)s”.",
                    group=group_name,
                    title=report.title,
                )
            session.add(
                Notification(
                    person_id=person_id,
                    kind="intel.new_report",
                    report_id=report.id,
                    group_id=report.group_id,
                    text=text,
                )
            )
