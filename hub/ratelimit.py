"""Counting attempts per key in fixed windows, in the database so all workers agree."""

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, update

from hub.auth.models import RateCounter
from hub.clock import utcnow


def _window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


def seconds_left(window: timedelta) -> int:
    """Seconds until the current window ends: what a refused caller should wait."""
    now = utcnow()
    end = _window_start(now, window) + window
    return max(1, int((end - now).total_seconds() + 0.999))


def hit(session: Session, key: str, limit: int, window: timedelta) -> bool:
    """Count one attempt for `key`; False once more than `limit` fall in this window."""
    now = utcnow()
    start = _window_start(now, window)
    # The count is written before anything is read: on SQLite a transaction that has read
    # cannot write once another connection wrote since, so concurrent calls would fail.
    if session.in_transaction():
        session.commit()
    for _ in range(2):  # a concurrent first insert of the same key: count again once
        try:
            counted = session.execute(
                update(RateCounter)
                .where(col(RateCounter.key) == key, col(RateCounter.window_start) == start)
                .values(count=col(RateCounter.count) + 1)
                .returning(col(RateCounter.count))
            ).first()
            if counted is not None:
                session.commit()
                return int(counted[0]) <= limit
            counter = session.get(RateCounter, key, with_for_update=True)
            if counter is None or counter.window_start != start:
                if counter is None:
                    # A new key is the moment to forget keys whose windows are long over.
                    session.exec(
                        delete(RateCounter).where(col(RateCounter.window_start) < start - window)
                    )
                    counter = RateCounter(key=key, window_start=start, count=0)
                counter.window_start, counter.count = start, 0
            counter.count += 1
            session.add(counter)
            session.commit()
            return counter.count <= limit
        except IntegrityError:
            session.rollback()
    return False
