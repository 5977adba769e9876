"""Counting attempts per key in fixed windows, in the database so all workers agree."""

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete

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
    for _ in range(2):  # a concurrent first insert of the same key: count again once
        try:
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
