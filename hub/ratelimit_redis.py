"""The rate limiter's Redis backend: one counter per key and window, shared by every
process and host using the same Redis. When Redis cannot answer, the database counts the
call instead, so an outage of Redis never takes the hub down with it."""

import logging
import threading
import time
from datetime import timedelta

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from starlette.datastructures import State

from hub import ratelimit
from hub.config import Settings

log = logging.getLogger("hub.ratelimit")

# INCRBY and EXPIRE in one script, which Redis runs atomically: no failure between the two
# can leave a counter that never expires. The expiry is set at a counter's first hit.
COUNT_SCRIPT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < 0 then
    redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return count
"""

# A rate limit must never make a page slow: a Redis that does not answer this fast counts
# as down.
TIMEOUT_S = 0.25
# After a failure the database counts alone for this long, so an outage costs each request
# no timeout, and the log gets one warning per pause rather than one per request. Counts
# made meanwhile stay in the database: around an outage a limit may let up to twice its
# number through, once per backend.
PAUSE_AFTER_FAILURE_S = 5.0


class RedisStore:
    """One app's connection pool to Redis, and until when Redis is left alone after it
    failed."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url, self.prefix = url, prefix
        # No retries inside the client: the database is the retry.
        self.client = redis.Redis.from_url(
            url,
            socket_connect_timeout=TIMEOUT_S,
            socket_timeout=TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),
        )
        self.count_script = self.client.register_script(COUNT_SCRIPT)
        self.paused_until = 0.0

    def key(self, key: str, window: timedelta) -> str:
        """The counter of `key` in the current window: each window is a counter of its own."""
        start = int(ratelimit.current_window_start(window).timestamp())
        return f"{self.prefix}{key}:{start}"

    def count(self, key: str, window: timedelta, amount: int) -> int:
        """Add `amount` to the current window's counter of `key` and return its total;
        raises RedisError when Redis does not answer."""
        # Expiring a window after the first hit outlives the window, which began before it.
        seconds = int(window.total_seconds())
        return int(self.count_script(keys=[self.key(key, window)], args=[amount, seconds]))

    def close(self) -> None:
        self.client.close()


class RedisLimiter:
    """Counts in Redis; any call Redis fails is counted by `fallback` (the database)."""

    def __init__(self, store: RedisStore, fallback: ratelimit.Limiter) -> None:
        self.store = store
        self.fallback = fallback

    def hit(
        self, key: str, limit: int, window: timedelta, amount: int = 1, *, sweep: bool = True
    ) -> bool:
        # `sweep` is for the database: in Redis every counter expires by itself.
        if time.monotonic() >= self.store.paused_until:
            try:
                return self.store.count(key, window, amount) <= limit
            except (redis.RedisError, OSError) as error:
                self.store.paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_S
                log.warning(
                    "rate limits: Redis did not answer (%s); counting in the database "
                    "for the next %.0f seconds",
                    error,
                    PAUSE_AFTER_FAILURE_S,
                )
        return self.fallback.hit(key, limit, window, amount, sweep=sweep)


_making_store = threading.Lock()


def store_for(state: State, settings: Settings) -> RedisStore:
    """The app's store, made at first use; made anew when the settings name another Redis
    or prefix (tests swap an app's settings)."""
    wanted = (settings.redis_url, settings.redis_rate_limit_prefix)
    store: RedisStore | None = getattr(state, "redis_rate_store", None)
    if store is not None and (store.url, store.prefix) == wanted:
        return store
    with _making_store:
        store = getattr(state, "redis_rate_store", None)
        if store is None or (store.url, store.prefix) != wanted:
            store = RedisStore(*wanted)
            state.redis_rate_store = store
        return store
