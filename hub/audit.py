"""The append-only audit log: who did what to which thing, and when."""

import json
from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlmodel import Field, Session, SQLModel, col, func, select

from hub.clock import utcnow


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    actor_label: str = Field(sa_type=String(300))
    action: str = Field(sa_type=String(60), index=True)
    target: str = Field(default="", sa_type=String(300))
    detail: str = Field(default="", sa_type=Text)


def record(
    session: Session,
    actor_id: int | None,
    actor_label: str,
    action: str,
    target: str = "",
    **detail: Any,
) -> None:
    """Add an entry to the audit log in the caller's transaction."""
    session.add(
        AuditEntry(
            actor_id=actor_id,
            actor_label=actor_label,
            action=action,
            target=target,
            detail=json.dumps(detail, sort_keys=True, default=str) if detail else "",
        )
    )


def page(session: Session, limit: int, before_id: int | None = None) -> list[AuditEntry]:
    """Newest entries first, keyset-paged by id so deep pages stay fast."""
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if before_id is not None:
        query = query.where(col(AuditEntry.id) < before_id)
    return list(session.exec(query))


def count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(AuditEntry)).one()
