"""A `hub worker` process stopped in the middle of sending: killed outright (SIGKILL)
between claiming a mail and the server's answer, or asked to stop (SIGTERM). After a
restart each queued mail reaches the SMTP server (aiosmtpd on loopback) exactly once."""

import asyncio
import email
import inspect
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select, update

from hub.config import Settings
from hub.leases import LEASE, SessionFactory
from hub.notify.mail import deliver_due, message_id
from hub.notify.models import OutboxMail
from hub.notify.outbox import queue_mail
from tests.notify.conftest import MAIL_FROM, MailCatcher, free_port

WAIT_SECONDS = 30  # at most, for anything the test waits on (a process start takes ~2 s)
HELD = 2  # the third mail queued is the one the server holds
# Mails one pass of the worker sends at most (deliver_due's default, which run_once uses).
PASS_LIMIT: int = inspect.signature(deliver_due).parameters["limit"].default


@dataclass
class HoldingCatcher(MailCatcher):
    """A MailCatcher that holds the first DATA of the mail with subject `hold` without
    answering, until `release` is set; then answers `answer_after_hold`. Like its parent
    it records a mail only when it answers 250."""

    hold: str = ""
    answer_after_hold: str = "451 4.3.0 Try again later"
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    held: bool = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        if message["Subject"] == self.hold and not self.held:
            self.held = True
            self.holding.set()
            # Waits on a thread, so the server's event loop stays free to see the client
            # go away (aiosmtpd then cancels this handler: it answers nothing at all).
            await asyncio.to_thread(self.release.wait, WAIT_SECONDS * 2)
            if not self.answer_after_hold.startswith("250"):
                return self.answer_after_hold
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def holding_catcher() -> Iterator[HoldingCatcher]:
    catcher = HoldingCatcher(free_port(), hold=subject(HELD))
    catcher.start()
    yield catcher
    catcher.release.set()  # a handler still waiting would hold up the server's stop
    catcher.stop()


@pytest.fixture
def worker_env(
    mail_database: tuple[str, Engine], holding_catcher: HoldingCatcher
) -> dict[str, str]:
    """The environment of a `hub worker` process on the mail database and the catcher."""
    url, _ = mail_database
    return {
        **subprocess_environment(),
        "HUB_ENV": "test",
        "HUB_DATABASE_URL": url,
        "HUB_SMTP_URL": holding_catcher.url,
        "HUB_MAIL_FROM": MAIL_FROM,
    }


def subprocess_environment() -> dict[str, str]:
    """This process's environment without HUB_* settings a developer may have set."""
    return {name: value for name, value in os.environ.items() if not name.startswith("HUB_")}


@dataclass
class Worker:
    """`hub worker` running in its own process, its log in a file."""

    process: "subprocess.Popen[bytes]"
    log: Path

    @classmethod
    def start(cls, env: dict[str, str], cwd: Path, log: Path) -> "Worker":
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "hub.cli", "worker", "--interval", "0.2"],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        return cls(process, log)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, what: str, condition: Callable[[], bool]) -> None:
        """Poll until `condition` holds; fail, showing the worker's log, if the worker
        exits or WAIT_SECONDS pass first."""
        deadline = time.monotonic() + WAIT_SECONDS
        while not condition():
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"worker never got to: {what}\n{self.output()}")
            time.sleep(0.02)

    def end(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def start_worker(
    worker_env: dict[str, str], repo_root: Path, tmp_path: Path
) -> Iterator[Callable[[], Worker]]:
    started: list[Worker] = []

    def start() -> Worker:
        worker = Worker.start(worker_env, repo_root, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.end()


def run_worker_once(env: dict[str, str], cwd: Path) -> str:
    """`hub worker --once` in its own process; returns what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", "worker", "--once"],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS * 2,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def subject(number: int) -> str:
    return f"Mail {number}"


def queue(sessions: SessionFactory, count: int) -> None:
    with sessions() as session:
        for number in range(count):
            assert queue_mail(session, "alma@brand-a.example", subject(number), f"Body {number}")
        session.commit()


def rows(sessions: SessionFactory) -> list[OutboxMail]:
    with sessions() as session:
        return list(session.exec(select(OutboxMail).order_by(col(OutboxMail.id))))


def state(mail: OutboxMail) -> str:
    """Where a row stands, in one word: what the assertions compare."""
    if mail.last_error:
        return f"failed: {mail.last_error}"
    claimed = mail.claimed_at is not None and mail.claim_token is not None
    released = mail.claimed_at is None and mail.claim_token is None
    if mail.sent_at is not None and mail.next_attempt_at is None and released:
        return "sent"
    if mail.sent_at is None and mail.next_attempt_at is not None:
        if claimed:
            return "claimed"
        if released and mail.attempts == 0:
            return "untouched"
    return f"odd: {mail!r}"


def assert_each_received_once(
    catcher: MailCatcher, sessions: SessionFactory, settings: Settings
) -> None:
    """Every row is sent, and the server took each one's Message-ID exactly once."""
    queued = rows(sessions)
    assert [state(mail) for mail in queued] == ["sent"] * len(queued)
    received = Counter(catcher.message_ids())
    assert [mid for mid, times in received.items() if times > 1] == []  # no copies
    assert set(received) == {message_id(mail, settings) for mail in queued}  # none missing


def test_a_worker_killed_while_sending_leaves_its_mail_to_the_next_after_the_lease(
    sessions: SessionFactory,
    holding_catcher: HoldingCatcher,
    start_worker: Callable[[], Worker],
    worker_env: dict[str, str],
    repo_root: Path,
    settings_for: Callable[[str], Settings],
) -> None:
    """SIGKILL while the server holds the third mail's DATA: the first two are recorded
    sent, the third stays claimed (not sent, not given up), the others untouched. A new
    worker leaves the claimed mail alone until the lease lapses, then sends it; each mail
    arrives once."""
    queue(sessions, 6)
    worker = start_worker()
    worker.wait_for("sending the third mail", holding_catcher.holding.is_set)

    worker.process.send_signal(signal.SIGKILL)  # no handler, no cleanup, no last words
    worker.process.wait(timeout=WAIT_SECONDS)
    assert worker.process.returncode == -signal.SIGKILL
    holding_catcher.release.set()  # too late: nobody is there to hear the answer

    assert holding_catcher.message_ids() == [
        message_id(mail, settings_for(holding_catcher.url)) for mail in rows(sessions)[:HELD]
    ]
    queued = rows(sessions)
    assert [state(mail) for mail in queued] == ["sent"] * HELD + ["claimed"] + ["untouched"] * 3
    assert [mail.attempts for mail in queued] == [1] * HELD + [1] + [0] * 3
    held = queued[HELD]

    # A worker started at once sends the rest, but not the mail whose claim still holds.
    assert run_worker_once(worker_env, repo_root) == "3 mails sent.\n"
    still_held = rows(sessions)[HELD]
    assert state(still_held) == "claimed" and still_held.attempts == 1
    assert still_held.claim_token == held.claim_token  # the dead worker's claim, untouched

    # Stands in for waiting out the lease (10 minutes): the claim is made older than
    # LEASE, as if the dead worker had taken the mail that long ago; nothing else changes.
    assert held.claimed_at is not None
    with sessions() as session:
        session.exec(
            update(OutboxMail)
            .where(col(OutboxMail.id) == held.id)
            .values(claimed_at=held.claimed_at - LEASE - timedelta(seconds=1))
        )
        session.commit()

    assert run_worker_once(worker_env, repo_root) == "1 mail sent.\n"

    assert rows(sessions)[HELD].attempts == 2  # the attempt the crash cut short counts
    assert len(holding_catcher.received) == 6
    assert_each_received_once(holding_catcher, sessions, settings_for(holding_catcher.url))


def test_sigterm_while_sending_finishes_that_mail_and_leaves_the_rest_to_the_next_run(
    sessions: SessionFactory,
    holding_catcher: HoldingCatcher,
    start_worker: Callable[[], Worker],
    worker_env: dict[str, str],
    repo_root: Path,
    settings_for: Callable[[str], Settings],
) -> None:
    """SIGTERM while the server holds the third mail: the worker waits for the answer,
    records that mail sent, and stops there, claiming nothing more and leaving no claim
    behind (a container platform's SIGKILL follows SIGTERM within seconds, so the worker
    does not go on with the pass); the next run sends the rest, each mail once.

    More than a pass is queued, so stopping early is told apart from a pass that ended."""
    left_over = 3
    queue(sessions, PASS_LIMIT + left_over)
    holding_catcher.answer_after_hold = "250 OK"
    worker = start_worker()
    worker.wait_for("sending the third mail", holding_catcher.holding.is_set)

    worker.process.send_signal(signal.SIGTERM)
    worker.wait_for("seeing the SIGTERM", lambda: "SIGTERM: stopping" in worker.output())
    holding_catcher.release.set()  # the server answers 250 to the mail under way
    worker.process.wait(timeout=WAIT_SECONDS)

    assert worker.process.returncode == 0, worker.output()
    assert "worker stopped" in worker.output()
    queued = rows(sessions)
    done = HELD + 1
    assert [state(mail) for mail in queued] == ["sent"] * done + ["untouched"] * (
        PASS_LIMIT + left_over - done
    )
    assert [mail.attempts for mail in queued] == [1] * done + [0] * (PASS_LIMIT + left_over - done)
    assert len(holding_catcher.received) == done

    assert run_worker_once(worker_env, repo_root) == f"{PASS_LIMIT} mails sent.\n"

    assert len(holding_catcher.received) == PASS_LIMIT + left_over
    assert_each_received_once(holding_catcher, sessions, settings_for(holding_catcher.url))
