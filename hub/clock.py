"""The one source of "now": timezone-aware UTC, as every table stores it."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def as_utc(value: datetime) -> datetime:
    """A stored time as aware UTC: SQLite hands datetimes back without their zone, and
    they were stored in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
