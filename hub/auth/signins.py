"""What a brand's admins see of its sign-ins: the log, and the sessions still open."""

from dataclasses import dataclass

from sqlmodel import Session, col, select

from hub import audit
from hub.auth import sessions
from hub.auth.models import IdentityProvider, LoginEvent, WebSession
from hub.clock import utcnow
from hub.errors import NotFound
from hub.i18n import gettext as _
from hub.members.models import Brand, Person
from hub.policy import Action, Actor, ensure


@dataclass(frozen=True)
class LogLine:
    event: LoginEvent
    provider_name: str


@dataclass(frozen=True)
class OpenSession:
    web_session: WebSession
    person: Person


def sign_in_log(
    session: Session, actor: Actor, brand: Brand, limit: int, before_id: int | None = None
) -> list[LogLine]:
    """Newest first, keyset-paged by id (fast however long the log grows)."""
    ensure(actor, Action.manage_brand_sso, brand.id)
    query = (
        select(LoginEvent, IdentityProvider.name)
        .outerjoin(IdentityProvider, col(IdentityProvider.id) == LoginEvent.provider_id)
        .where(LoginEvent.brand_id == brand.id)
        .order_by(col(LoginEvent.id).desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(col(LoginEvent.id) < before_id)
    removed = _("(removed provider)")
    return [LogLine(event, name or removed) for event, name in session.exec(query)]


def open_sessions(session: Session, actor: Actor, brand: Brand) -> list[OpenSession]:
    ensure(actor, Action.manage_brand_people, brand.id)
    now = utcnow()
    rows = session.exec(
        select(WebSession, Person)
        .join(Person, col(Person.id) == WebSession.person_id)
        .where(
            Person.brand_id == brand.id,
            col(WebSession.revoked_at).is_(None),
            col(WebSession.expires_at) > now,
        )
        .order_by(col(Person.name), col(WebSession.last_seen_at).desc())
    ).all()
    return [OpenSession(web_session, person) for web_session, person in rows]


def end_session(session: Session, actor: Actor, brand: Brand, session_id: int) -> Person:
    ensure(actor, Action.manage_brand_people, brand.id)
    row = session.get(WebSession, session_id)
    person = session.get(Person, row.person_id) if row else None
    if row is None or person is None or person.brand_id != brand.id:
        raise NotFound(_("That session does not exist."))
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        audit.record(
            session, actor.audit_id, actor.label, "session.ended", f"person:{person.email}"
        )
        session.commit()
    return person


def sign_out_person(session: Session, actor: Actor, brand: Brand, person_id: int) -> Person:
    ensure(actor, Action.manage_brand_people, brand.id)
    person = session.get(Person, person_id)
    if person is None or person.brand_id != brand.id:
        raise NotFound(_("That person is not part of this organisation."))
    ended = sessions.end_all_for_person(session, person_id)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "person.signed_out_everywhere",
        f"person:{person.email}",
        sessions_ended=ended,
    )
    session.commit()
    return person


def sign_out_brand(session: Session, actor: Actor, brand: Brand) -> int:
    """End every session of the brand's people; the actor's own ends too if they belong."""
    ensure(actor, Action.manage_brand_people, brand.id)
    ended = sessions.end_all_for_brand(session, brand.id or 0)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "brand.signed_out_everywhere",
        f"brand:{brand.slug}",
        sessions_ended=ended,
    )
    session.commit()
    return ended
