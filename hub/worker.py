"""The worker: the periodic jobs that queue mail (event reminders, digests, ...), then
delivery of the outbox. `hub worker` runs it; `hub demo` runs it on a background thread.

Several workers may run at once (delivery claims each mail for one of them), so a job must
be safe to run twice at the same moment: queue its mail with a `dedupe_key`.
"""

import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime
from types import FrameType

from sqlmodel import Session

from hub.api.webhook_delivery import deliver_webhooks
from hub.clock import utcnow
from hub.config import Settings
from hub.events.reminders import remind_attendees, remind_deadline
from hub.leases import SessionFactory
from hub.notify.mail import deliver_due
from hub.notify.mailing import mail_instant, send_digests

log = logging.getLogger("hub.worker")

INTERVAL_SECONDS = 5.0

Job = Callable[[Session, Settings, datetime], int]
"""Queues what is due at `now` and returns how many mails it queued; run_once commits."""

JOBS: list[Job] = [remind_attendees, remind_deadline, mail_instant, send_digests]


def run_once(
    session_factory: SessionFactory,
    settings: Settings,
    now: datetime | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run every job, each in its own transaction, then deliver due mail and webhooks;
    return how many mails went out. A failing job is logged and rolled back; the others
    still run."""
    at = now if now is not None else utcnow()
    for job in JOBS:
        name = getattr(job, "__qualname__", repr(job))
        with session_factory() as session:
            try:
                queued = job(session, settings, at)
                session.commit()
            except Exception:
                session.rollback()
                log.exception("worker job %s failed", name)
                continue
        if queued:
            log.info("%s queued %d mails", name, queued)
    sent = deliver_due(session_factory, settings, now=now, stop=stop)
    posted = deliver_webhooks(session_factory, settings, now=now, stop=stop)
    if posted:
        log.info("%d webhook deliveries accepted", posted)
    return sent


def run_forever(
    session_factory: SessionFactory,
    settings: Settings,
    stop: threading.Event | None = None,
    interval: float = INTERVAL_SECONDS,
) -> None:
    """Run a pass every `interval` seconds until `stop` is set. Without `stop` (only from
    the main thread), SIGTERM or SIGINT sets it: the pass under way finishes first."""
    restore = None
    if stop is None:
        stop = threading.Event()
        restore = _stop_on_signals(stop)
    log.info("worker started")
    try:
        while not stop.is_set():
            try:
                run_once(session_factory, settings, stop=stop)
            except Exception:
                # A database or mail server that is down now may be back at the next pass.
                log.exception("worker pass failed")
            stop.wait(interval)
    finally:
        if restore is not None:
            restore()
    log.info("worker stopped")


def _stop_on_signals(stop: threading.Event) -> Callable[[], None]:
    signals = (signal.SIGTERM, signal.SIGINT)
    previous = {signum: signal.getsignal(signum) for signum in signals}

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("%s: stopping after this pass", signal.Signals(signum).name)
        stop.set()
        signal.signal(signum, signal.SIG_DFL)  # a second one stops at once

    for signum in signals:
        signal.signal(signum, handle)

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore
