"""Server-side sessions: created at login, checked on every request, revocable at once."""

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import ScalarSelect, String, cast, literal
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, func, select, update

from hub.auth.models import WebSession
from hub.clock import utcnow
from hub.config import Settings
from hub.groups.models import Coordinator, GroupMembership
from hub.members.models import Brand, Person
from hub.notify.models import Notification
from hub.policy import Actor

# Writing last_seen_at on every request would turn each page view into a write.
LAST_SEEN_GRANULARITY = timedelta(minutes=5)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(
    session: Session,
    settings: Settings,
    person: Person,
    provider_id: int | None,
    ip: str,
    user_agent: str,
) -> str:
    """Create a session row and return the token for the cookie (stored only as a hash)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    assert person.id is not None
    session.add(
        WebSession(
            token_hash=_hash(token),
            person_id=person.id,
            provider_id=provider_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(days=settings.session_days),
            ip=ip[:45],
            user_agent=user_agent[:300],
        )
    )
    return token


def end(session: Session, token: str) -> None:
    session.exec(
        update(WebSession)
        .where(col(WebSession.token_hash) == _hash(token), col(WebSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


def end_all_for_person(session: Session, person_id: int) -> int:
    result = session.exec(
        update(WebSession)
        .where(col(WebSession.person_id) == person_id, col(WebSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount)


def end_all_for_brand(session: Session, brand_id: int) -> int:
    people = select(Person.id).where(Person.brand_id == brand_id)
    result = session.exec(
        update(WebSession)
        .where(col(WebSession.person_id).in_(people), col(WebSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount)


def actor_for_token(session: Session, settings: Settings, token: str) -> Actor | None:
    """The signed-in person behind a cookie token, or None if the session is not valid.
    One statement (it runs on every request): the session, person and brand with the facts
    the actor needs."""
    row = session.execute(
        sql_select(WebSession, Person, Brand, *_facts(Person.id, Brand.id))
        .join(Person, col(Person.id) == WebSession.person_id)
        .join(Brand, col(Brand.id) == Person.brand_id)
        .where(col(WebSession.token_hash) == _hash(token))
    ).first()
    if row is None:
        return None
    web_session, person, brand, groups, coordinates, unread = row
    now = utcnow()
    idle_limit = timedelta(hours=settings.session_idle_hours)
    if (
        web_session.revoked_at is not None
        or web_session.expires_at <= now
        or web_session.last_seen_at + idle_limit <= now
        or not person.is_active
        or not brand.is_active
    ):
        return None
    if now - web_session.last_seen_at >= LAST_SEEN_GRANULARITY:
        web_session.last_seen_at = now
        session.add(web_session)
        session.commit()
    return _actor(person, brand, web_session.id, groups, coordinates, unread)


def load_actor(
    session: Session, person: Person, brand: Brand, session_id: int | None = None
) -> Actor:
    """The actor of a person: their brand's groups, the groups they coordinate and their
    unread notifications, read in one statement."""
    assert person.id is not None and brand.id is not None
    groups, coordinates, unread = session.execute(
        select(*_facts(literal(person.id), literal(brand.id)))
    ).one()
    return _actor(person, brand, session_id, groups, coordinates, unread)


def _facts(
    person_id: Any, brand_id: Any
) -> tuple[ScalarSelect[str], ScalarSelect[str], ScalarSelect[int]]:
    """Comma-separated ids of the brand's groups and of the groups the person coordinates,
    and the person's unread notifications (correlated when the ids are columns)."""

    def ids(column: Any, *where: Any) -> ScalarSelect[str]:
        return (
            select(func.aggregate_strings(cast(column, String), ","))
            .where(*where)
            .scalar_subquery()
        )

    return (
        ids(GroupMembership.group_id, GroupMembership.brand_id == brand_id),
        ids(Coordinator.group_id, Coordinator.person_id == person_id),
        select(func.count())
        .select_from(Notification)
        .where(Notification.person_id == person_id, col(Notification.read_at).is_(None))
        .scalar_subquery(),
    )


def _id_set(joined: str | None) -> frozenset[int]:
    return frozenset(int(value) for value in joined.split(",")) if joined else frozenset()


def _actor(
    person: Person,
    brand: Brand,
    session_id: int | None,
    groups: str | None,
    coordinates: str | None,
    unread: int | None,
) -> Actor:
    assert person.id is not None and brand.id is not None
    return Actor(
        person_id=person.id,
        brand_id=brand.id,
        brand_slug=brand.slug,
        brand_kind=brand.kind,
        brand_name=brand.name,
        name=person.name,
        email=person.email,
        role=person.role,
        group_ids=_id_set(groups),
        coordinated_group_ids=_id_set(coordinates),
        session_id=session_id,
        unread_notifications=unread or 0,
        time_zone=person.time_zone,
        language=person.language,
    )
