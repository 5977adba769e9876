"""The append-only audit log: who did what to which thing, when, and from where; searched
by alliance admins (all of it) and brand admins (their brand's).

Append-only is enforced by the database: triggers refuse UPDATE and DELETE on the table
(revision 0013), so not even a bug in the hub can rewrite history. Entries never hold a
secret: callers pass names and ids, and tests look for tokens in every entry.
"""

import json
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy import String, Text, or_
from sqlmodel import Field, Session, SQLModel, col, func, select
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.clock import utcnow
from hub.i18n import lazy_gettext
from hub.members.models import Person

# The address of the request being served: set by RequestOrigin for the whole request
# (threads that serve it start from a copy of this context).
client_ip: ContextVar[str] = ContextVar("client_ip", default="")


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    actor_label: str = Field(sa_type=String(300))
    # The brand whose admins may read the entry: the actor's, or the brand a sign-in
    # attempt was for.
    brand_id: int | None = Field(default=None, foreign_key="brand.id", index=True)
    ip: str = Field(default="", sa_type=String(45), sa_column_kwargs={"server_default": ""})
    action: str = Field(sa_type=String(60), index=True)
    target: str = Field(default="", sa_type=String(300))
    detail: str = Field(default="", sa_type=Text)


def record(
    session: Session,
    actor_id: int | None,
    actor_label: str,
    action: str,
    target: str = "",
    *,
    brand_id: int | None = None,
    **detail: Any,
) -> None:
    """Add an entry to the audit log in the caller's transaction."""
    entry = AuditEntry(
        actor_id=actor_id,
        actor_label=actor_label[:300],
        action=action,
        target=target[:300],
        ip=client_ip.get()[:45],
        detail=json.dumps(detail, sort_keys=True, default=str) if detail else "",
    )
    if brand_id is not None:
        entry.brand_id = brand_id
    elif actor_id is not None:
        # The actor's brand, read by the INSERT itself: no statement of its own.
        entry.brand_id = select(Person.brand_id).where(Person.id == actor_id).scalar_subquery()  # type: ignore[assignment]
    session.add(entry)


# The families of actions, for the search form's choices, in the viewer's language.
FAMILIES = {
    "auth.": lazy_gettext("Sign-ins"),
    "access.": lazy_gettext("Refusals"),
    "person.": lazy_gettext("People and roles"),
    "brand.": lazy_gettext("Brands"),
    "group.": lazy_gettext("Working groups"),
    "coordinator.": lazy_gettext("Coordinators"),
    "idp.": lazy_gettext("Identity providers"),
    "session.": lazy_gettext("Sessions"),
    "intel.": lazy_gettext("Intelligence"),
    "evidence.": lazy_gettext("Evidence files"),
    "export.": lazy_gettext("Exports"),
    "testbuy.": lazy_gettext("Test-buys"),
    "event.": lazy_gettext("Events"),
    "api.": lazy_gettext("API tokens"),
    "webhook.": lazy_gettext("Webhooks"),
    "referral.": lazy_gettext("Referrals"),
    "impact.": lazy_gettext("Impact reports"),
}


class Someone(Protocol):
    """Who acts, as the audit log names them (hub.policy.Actor is one)."""

    @property
    def audit_id(self) -> int | None: ...

    @property
    def label(self) -> str: ...


def by(session: Session, actor: Someone, action: str, target: str = "", **detail: Any) -> None:
    """record() for an actor."""
    record(session, actor.audit_id, actor.label, action, target, **detail)


def taken_out(
    session: Session, actor: Someone, action: str, target: str = "", **detail: Any
) -> None:
    """record() and commit at once, for a read that takes data out of the hub (an export,
    an original file): its request writes nothing else, so nothing else would commit."""
    by(session, actor, action, target, **detail)
    session.commit()


@dataclass(frozen=True)
class AuditFilters:
    text: str = ""  # in who, what, target or details
    action: str = ""  # an action, or a family such as "auth." or "intel."
    since: date | None = None
    until: date | None = None

    @property
    def active(self) -> bool:
        return bool(self.text or self.action or self.since or self.until)


def page(
    session: Session,
    limit: int,
    before_id: int | None = None,
    filters: AuditFilters | None = None,
    brand_id: int | None = None,
) -> list[AuditEntry]:
    """Newest entries first, keyset-paged by id so deep pages stay fast; only `brand_id`'s
    entries when given (a brand admin's view)."""
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if before_id is not None:
        query = query.where(col(AuditEntry.id) < before_id)
    if brand_id is not None:
        query = query.where(AuditEntry.brand_id == brand_id)
    filters = filters or AuditFilters()
    if filters.text:
        pattern = f"%{_escape_like(filters.text.lower())}%"
        query = query.where(
            or_(
                *(
                    func.lower(column).like(pattern, escape="\\")
                    for column in (
                        AuditEntry.actor_label,
                        AuditEntry.action,
                        AuditEntry.target,
                        AuditEntry.detail,
                        AuditEntry.ip,
                    )
                )
            )
        )
    if filters.action.endswith("."):
        query = query.where(col(AuditEntry.action).startswith(filters.action))
    elif filters.action:
        query = query.where(AuditEntry.action == filters.action)
    if filters.since is not None:
        start = datetime.combine(filters.since, time.min, tzinfo=UTC)
        query = query.where(col(AuditEntry.at) >= start)
    if filters.until is not None:
        end = datetime.combine(filters.until, time.min, tzinfo=UTC) + timedelta(days=1)
        query = query.where(col(AuditEntry.at) < end)
    return list(session.exec(query))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def count(session: Session, brand_id: int | None = None) -> int:
    query = select(func.count()).select_from(AuditEntry)
    if brand_id is not None:
        query = query.where(AuditEntry.brand_id == brand_id)
    return session.exec(query).one()


class RequestOrigin:
    """Pure ASGI: remembers the client's address for the audit entries of the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        token = client_ip.set(client[0] if client else "")
        try:
            await self.app(scope, receive, send)
        finally:
            client_ip.reset(token)
