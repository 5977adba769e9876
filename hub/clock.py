"""The one source of "now": timezone-aware UTC, as every table stores it."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
