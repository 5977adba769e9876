"""Claiming queued rows for a worker with a lease: the e-mail outbox and webhook
deliveries share it.

A queued row has `next_attempt_at` (None once done), `claimed_at`, `claim_token` and
`attempts`. A worker claims the row that has waited longest with one conditional UPDATE,
so of two workers racing for it only one gets it (PostgreSQL re-evaluates the condition
on the row the winner committed; SQLite runs one writer at a time), and SKIP LOCKED lets
PostgreSQL workers pass over a row another one is claiming. A claim lapses after LEASE: a
worker that dies holding one only delays that row.
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, select, update

from hub.clock import utcnow

SessionFactory = Callable[[], Session]

LEASE = timedelta(minutes=10)  # far longer than one delivery can take
FIRST_RETRY = timedelta(minutes=1)  # then 2, 4, 8 ... minutes
LONGEST_WAIT = timedelta(hours=4)


@dataclass(frozen=True)
class Claim:
    """A worker's hold on one row; only the holder of `token` may record the outcome."""

    row_id: int
    token: str
    attempts: int  # including this one


def claim_next(
    session_factory: SessionFactory, model: Any, now: datetime | None = None
) -> Claim | None:
    """Claim the due row of `model` that has waited longest, or None when none is due."""
    at = now if now is not None else utcnow()
    oldest_due = (
        select(model.id)
        .where(_due(model, at))
        .order_by(col(model.next_attempt_at), col(model.id))
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    token = secrets.token_hex(16)
    statement = (
        update(model)
        .where(col(model.id) == oldest_due, _due(model, at))
        .values(claimed_at=at, claim_token=token, attempts=col(model.attempts) + 1)
        .returning(col(model.id), col(model.attempts))
        .execution_options(synchronize_session=False)
    )
    with session_factory() as session:
        row = session.exec(statement).first()
        session.commit()
    if row is None:
        return None
    return Claim(row_id=row[0], token=token, attempts=row[1])


def finish(session_factory: SessionFactory, model: Any, claim: Claim, **values: Any) -> bool:
    """Record the outcome and release the claim, if it is still ours (False if it lapsed
    and another worker may have taken the row up again)."""
    with session_factory() as session:
        result = session.exec(
            update(model)
            .where(col(model.id) == claim.row_id, col(model.claim_token) == claim.token)
            .values(claimed_at=None, claim_token=None, **values)
        )
        session.commit()
    return bool(result.rowcount)


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try: 1, 2, 4 ... minutes, capped."""
    doublings = min(max(attempts - 1, 0), 20)  # 2**20 minutes is past any cap already
    return min(FIRST_RETRY * (1 << doublings), LONGEST_WAIT)


def _due(model: Any, at: datetime) -> ColumnElement[bool]:
    return and_(
        col(model.next_attempt_at) <= at,
        or_(col(model.claimed_at).is_(None), col(model.claimed_at) <= at - LEASE),
    )
