"""The part of the impact figures that is the same for every viewer (rows marked up to
TLP:AMBER, published campaigns, member brands), kept in the process for a few minutes:
counting a year of a million reports takes seconds, and a dashboard is opened often.

Only the first viewer of a period waits for its count. Once an entry is older than it
may be, the next viewer still gets it and a background thread counts it again, so a busy
dashboard never queues identical counts, nor makes anyone wait for one.
"""

import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Kept:
    rows: list[Any]
    counted_at: datetime  # shown on the page: "counted at"
    monotonic: float


class SharedFigures:
    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self._kept: dict[Hashable, Kept] = {}
        self._counting: dict[Hashable, threading.Thread] = {}
        self._first: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: Hashable, count: Callable[[], list[Any]]) -> Kept:
        """The rows kept for `key`; `count` must open its own database session, as it may
        run on another thread."""
        kept = self._kept.get(key)
        if kept is None:
            return self._first_count(key, count)
        if time.monotonic() - kept.monotonic >= self.seconds:
            self._count_again(key, count)
        return kept

    def _first_count(self, key: Hashable, count: Callable[[], list[Any]]) -> Kept:
        with self._guard:
            lock = self._first.setdefault(key, threading.Lock())
        with lock:  # viewers arriving together wait for one count, not one each
            kept = self._kept.get(key)
            if kept is None:
                kept = self._store(key, count())
            return kept

    def _count_again(self, key: Hashable, count: Callable[[], list[Any]]) -> None:
        with self._guard:
            if key in self._counting:
                return
            thread = threading.Thread(
                target=self._recount, args=(key, count), name="impact-count", daemon=True
            )
            self._counting[key] = thread
        thread.start()

    def _recount(self, key: Hashable, count: Callable[[], list[Any]]) -> None:
        try:
            self._store(key, count())
        except Exception:  # the old figures stay; the next viewer asks again
            log.exception("counting the impact figures %s again failed", key)
        finally:
            with self._guard:
                self._counting.pop(key, None)

    def _store(self, key: Hashable, rows: list[Any]) -> Kept:
        kept = Kept(rows, datetime.now(UTC), time.monotonic())
        self._kept[key] = kept
        return kept

    def settle(self) -> None:
        """Wait for the counts under way (for tests and an orderly shutdown)."""
        with self._guard:
            threads = list(self._counting.values())
        for thread in threads:
            thread.join()
