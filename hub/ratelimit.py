"""Rate limits: hits counted per key in fixed windows that every worker process shares (in
Redis when HUB_REDIS_URL is set, else in the database), and the hub's limits themselves."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from fastapi import Request
from sqlalchemy import ColumnElement, and_, case, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import ReturningInsert
from sqlmodel import Session, col, delete

from hub.auth.models import RateCounter
from hub.clock import utcnow
from hub.config import Settings
from hub.errors import DomainError
from hub.i18n import gettext as _
from hub.i18n import ngettext, number


class Limiter(Protocol):
    """Where hits are counted. Every backend counts in the same fixed windows, aligned to
    the epoch, so how long a refused caller waits is `seconds_left`, whichever counted."""

    def hit(
        self, key: str, limit: int, window: timedelta, amount: int = 1, *, sweep: bool = True
    ) -> bool:
        """Count `amount` hits on `key` (a negative amount gives hits back); False once
        more than `limit` fall in this window. `sweep`: see `hit` below."""
        ...


def window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


def current_window_start(window: timedelta) -> datetime:
    """The start of the window now, by this module's clock (the one tests set)."""
    return window_start(utcnow(), window)


def seconds_left(window: timedelta) -> int:
    """Seconds until the current window ends: what a refused caller should wait."""
    now = utcnow()
    end = window_start(now, window) + window
    return max(1, int((end - now).total_seconds() + 0.999))


# The database backend

# No limit's window is longer (see Settings): a counter this old is over whatever its kind.
FORGET_AFTER = timedelta(days=1)


def hit(
    session: Session,
    key: str,
    limit: int,
    window: timedelta,
    amount: int = 1,
    *,
    sweep: bool = True,
) -> bool:
    """Count `amount` hits for `key` in the database; False once more than `limit` fall in
    this window. Commits `session`: call it before the request's own writes.

    One statement counts, whether the key is new, in its window or starting a new one, so a
    page's statements stay the same in number. With `sweep`, a key starting its window is
    the moment to forget stale counters: for kinds of key that come and go, such as client
    addresses."""
    now = utcnow()
    start = window_start(now, window)
    # The count is written before anything is read: on SQLite a transaction that has read
    # cannot write once another connection wrote since, so concurrent calls would fail.
    if session.in_transaction():
        session.commit()
    # An upsert: a concurrent first hit on the same key waits for the row, then adds to it.
    count = int(session.execute(_count_statement(session, key, start, amount)).scalar_one())
    if sweep and count == amount:
        session.exec(delete(RateCounter).where(_stale(key, start - window, now)))
    session.commit()
    return count <= limit


def _count_statement(
    session: Session, key: str, start: datetime, amount: int
) -> ReturningInsert[tuple[int]]:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    new = insert(RateCounter).values(key=key, window_start=start, count=amount)
    in_same_window = col(RateCounter.window_start) == new.excluded.window_start
    return new.on_conflict_do_update(
        index_elements=[col(RateCounter.key)],
        set_={
            "count": case(
                (in_same_window, col(RateCounter.count) + new.excluded.count),
                else_=new.excluded.count,
            ),
            "window_start": new.excluded.window_start,
        },
    ).returning(col(RateCounter.count))


def _stale(key: str, ended_before: datetime, now: datetime) -> ColumnElement[bool]:
    """Counters of `key`'s kind (its name up to the first colon: every key of a kind has
    the same window) whose window ended before this one began, and any counter a day old.
    A key without a kind stands for every kind."""
    kind = key[: key.index(":") + 1] if ":" in key else ""
    same_kind = col(RateCounter.key).startswith(kind, autoescape=True)
    return or_(
        and_(same_kind, col(RateCounter.window_start) < ended_before),
        col(RateCounter.window_start) < now - FORGET_AFTER,
    )


class DatabaseLimiter:
    """Counts in the rate_counter table through the session it is given (the request's,
    so a request holds one database connection, not two)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def hit(
        self, key: str, limit: int, window: timedelta, amount: int = 1, *, sweep: bool = True
    ) -> bool:
        return hit(self.session, key, limit, window, amount, sweep=sweep)


def limiter_for(request: Request, session: Session) -> Limiter:
    """Redis when the settings name one (the database taking over whenever it fails),
    else the database."""
    settings: Settings = request.app.state.settings
    database = DatabaseLimiter(session)
    if not settings.redis_url:
        return database
    from hub import ratelimit_redis  # here: the Redis backend builds on this module

    store = ratelimit_redis.store_for(request.app.state, settings)
    return ratelimit_redis.RedisLimiter(store, fallback=database)


# Limits and refusals


@dataclass(frozen=True)
class Limit:
    """At most `allowed` hits on `key` in each `window`; `refusal` tells the refused
    caller, given the seconds they must wait. `sweep` for keys that come and go (client
    addresses), not for those of people or tokens: their counters are reused, and sparing
    the sweep keeps a page's statements the same in number."""

    key: str
    allowed: int
    window: timedelta
    refusal: Callable[[int], str]  # called when refusing: in the caller's language
    sweep: bool = True


@dataclass(frozen=True)
class Refusal:
    message: str
    retry_after: int  # seconds, for the Retry-After header


class RateLimited(DomainError):
    """A page request past a rate limit: 429, the wait in Retry-After."""

    status_code = 429

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.retry_after = refusal.retry_after


def check(
    request: Request,
    session: Session,
    *limits: Limit,
    amount: int = 1,
    count_refused: bool = True,
) -> Refusal | None:
    """Count `amount` against every limit and say why the request is refused, if it is.
    Every limit counts even after one refused, so no counter is spared by tripping another.
    Attempts count when refused (retrying at once gains nothing); a quota of files passes
    count_refused=False to be given them back, so a smaller batch can still go in."""
    limiter = limiter_for(request, session)
    over = [
        limit
        for limit in limits
        if not limiter.hit(limit.key, limit.allowed, limit.window, amount, sweep=limit.sweep)
    ]
    if not over:
        return None
    if not count_refused:
        for limit in limits:
            limiter.hit(limit.key, limit.allowed, limit.window, -amount, sweep=False)
    wait = max(seconds_left(limit.window) for limit in over)
    return Refusal(over[0].refusal(wait), wait)


def enforce(request: Request, session: Session, *limits: Limit, amount: int = 1) -> None:
    """`check`, raising RateLimited (the error page, 429) when refused."""
    refusal = check(request, session, *limits, amount=amount)
    if refusal is not None:
        raise RateLimited(refusal)


def client_ip(request: Request) -> str:
    """The caller's address. Behind a proxy, uvicorn's --proxy-headers (with
    FORWARDED_ALLOW_IPS naming the proxy) puts the forwarded address here; the hub never
    reads X-Forwarded-For itself, as any client could write one."""
    return request.client.host if request.client else ""


def in_words(seconds: int) -> str:
    """A wait as people say it, in their language: "1 second", "45 seconds", "3 minutes"."""
    if seconds < 90:
        return ngettext("%(num)s second", "%(num)s seconds", seconds)
    return ngettext("%(num)s minute", "%(num)s minutes", -(-seconds // 60))


def fingerprint(value: str) -> str:
    """Stands for an e-mail address in a key, so no counter spells out people's addresses."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


# The hub's limits

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def login_limits(settings: Settings, ip: str, email: str) -> tuple[Limit, Limit]:
    """Per client address, and per e-mail address from one client address. Never per
    e-mail alone: then anyone could lock a member out, from anywhere, by failing to sign in
    as them. The hub checks no password (the brand's identity provider does, with its own
    lockout); what it slows down is one source trying many addresses, or one address many
    times."""
    window = timedelta(minutes=settings.login_attempt_window_minutes)

    def refusal(wait: int) -> str:
        # The whole window, a wait that is always long enough; Retry-After has the exact one.
        return ngettext(
            "Too many sign-in attempts. Wait %(num)s minute and try again.",
            "Too many sign-in attempts. Wait %(num)s minutes and try again.",
            settings.login_attempt_window_minutes,
        )

    by_email = f"login-ip-email:{ip}:{fingerprint(email)}"
    return (
        Limit(f"login-ip:{ip}", settings.login_attempts_per_ip, window, refusal),
        Limit(by_email, settings.login_attempts_per_email, window, refusal),
    )


def search_limits(settings: Settings, ip: str, person_id: int) -> tuple[Limit, Limit]:
    per_person = settings.searches_per_minute_per_person
    per_ip = settings.searches_per_minute_per_ip

    def person_refusal(wait: int) -> str:
        return _(
            "You searched more than %(count)s times in a minute. Please try again in %(wait)s.",
            count=number(per_person),
            wait=in_words(wait),
        )

    def ip_refusal(wait: int) -> str:
        return _(
            "More than %(count)s searches came from your network in a minute. "
            "Please try again in %(wait)s.",
            count=number(per_ip),
            wait=in_words(wait),
        )

    return (
        Limit(f"search-person:{person_id}", per_person, MINUTE, person_refusal, sweep=False),
        # Addresses of signed-in people only: few enough to be swept with the day-old ones.
        Limit(f"search-ip:{ip}", per_ip, MINUTE, ip_refusal, sweep=False),
    )


def evidence_limit(settings: Settings, person_id: int) -> Limit:
    """Counts files, not requests: a call site passes the number of files as `amount`,
    and count_refused=False."""
    allowed = settings.evidence_files_per_hour_per_person

    def refusal(wait: int) -> str:
        return _(
            "You may upload at most %(count)s evidence files an hour, and these would go past "
            "it, so nothing was saved. Please try fewer files, or again in %(wait)s.",
            count=number(allowed),
            wait=in_words(wait),
        )

    return Limit(f"evidence-person:{person_id}", allowed, HOUR, refusal, sweep=False)


def api_ip_limit(settings: Settings, ip: str) -> Limit:
    allowed = settings.api_requests_per_minute_per_ip

    def refusal(wait: int) -> str:
        return ngettext(
            "More than %(count)s calls came from your address this minute; "
            "try again in %(num)s second.",
            "More than %(count)s calls came from your address this minute; "
            "try again in %(num)s seconds.",
            wait,
            count=number(allowed),
        )

    return Limit(f"api-ip:{ip}", allowed, MINUTE, refusal)


def api_token_limit(settings: Settings, token_id: int) -> Limit:
    allowed = settings.api_requests_per_minute

    def refusal(wait: int) -> str:
        return ngettext(
            "This token made more than %(count)s calls this minute; try again in %(num)s second.",
            "This token made more than %(count)s calls this minute; try again in %(num)s seconds.",
            wait,
            count=number(allowed),
        )

    return Limit(f"api:{token_id}", allowed, MINUTE, refusal, sweep=False)
