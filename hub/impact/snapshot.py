"""The part of the impact figures that is the same for every viewer (rows marked up to
TLP:AMBER, published campaigns, member brands), kept in the process for a few minutes:
counting a year of a million reports takes seconds, and a dashboard is opened often.

One request counts a stale entry again while the others are answered from the old one,
so a busy dashboard never makes a queue of identical counts.
"""

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Kept:
    rows: list[Any]
    counted_at: datetime  # shown on the page: "figures as of"
    monotonic: float


class SharedFigures:
    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self._kept: dict[Hashable, Kept] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, key: Hashable) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _fresh(self, kept: Kept | None) -> bool:
        return kept is not None and time.monotonic() - kept.monotonic < self.seconds

    def get(self, key: Hashable, count: Callable[[], list[Any]]) -> Kept:
        kept = self._kept.get(key)
        if self.seconds <= 0 or self._fresh(kept):
            return kept if kept is not None and self.seconds > 0 else self._count(key, count)
        lock = self._lock(key)
        if kept is not None and not lock.acquire(blocking=False):
            return kept  # another request is counting it again
        if kept is None:
            lock.acquire()
        try:
            kept = self._kept.get(key)
            if self._fresh(kept):
                assert kept is not None
                return kept
            return self._count(key, count)
        finally:
            lock.release()

    def _count(self, key: Hashable, count: Callable[[], list[Any]]) -> Kept:
        kept = Kept(count(), datetime.now(UTC), time.monotonic())
        if self.seconds > 0:
            self._kept[key] = kept
        return kept
