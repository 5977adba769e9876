"""The worker runs the jobs that queue mail, then sends it; `hub worker` does so until it
is told to stop."""

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from hub import worker
from hub.cli import main
from hub.config import Settings, get_settings
from hub.notify.mail import SessionFactory
from hub.notify.models import OutboxMail
from hub.notify.outbox import queue_mail
from tests.notify.conftest import MailCatcher


def reminder_job(session: Session, _settings: Settings, now: datetime) -> int:
    """A job as event reminders will be: queue what is due at `now`, once."""
    queued = queue_mail(
        session, "alma@brand-a.example", "Reminder", f"Due at {now:%H:%M}", dedupe_key="r:1"
    )
    return int(queued)


def broken_job(session: Session, _settings: Settings, _now: datetime) -> int:
    queue_mail(session, "ben@brand-b.example", "Half done", "Never sent")
    raise RuntimeError("the job's own bug")


def test_run_once_sends_what_the_jobs_queue_in_the_same_pass(
    sessions: SessionFactory,
    catcher: MailCatcher,
    settings_for: Callable[[str], Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A job's mail is committed by the worker and delivered in the same pass, once."""
    monkeypatch.setattr(worker, "JOBS", [reminder_job])
    settings = settings_for(catcher.url)

    assert worker.run_once(sessions, settings) == 1
    assert worker.run_once(sessions, settings) == 0

    assert [r.message["Subject"] for r in catcher.received] == ["Reminder"]


def test_a_failing_job_is_rolled_back_and_the_others_still_run(
    sessions: SessionFactory,
    catcher: MailCatcher,
    settings_for: Callable[[str], Settings],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What a failing job queued is not sent; the next job's mail is, and the log names
    the job that failed."""
    monkeypatch.setattr(worker, "JOBS", [broken_job, reminder_job])

    with caplog.at_level(logging.ERROR, logger="hub.worker"):
        assert worker.run_once(sessions, settings_for(catcher.url)) == 1

    assert [r.message["Subject"] for r in catcher.received] == ["Reminder"]
    assert any("broken_job failed" in r.getMessage() for r in caplog.records)
    with sessions() as session:
        assert session.exec(select(OutboxMail.subject)).all() == ["Reminder"]


@pytest.fixture
def worker_env(
    mail_database: tuple[str, Engine], monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The environment `hub worker` reads, pointed at the mail database."""
    url, _ = mail_database
    monkeypatch.setenv("HUB_ENV", "test")
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    return {**os.environ}


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """`hub` commands read the environment through the cached get_settings."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_hub_worker_once_sends_the_queue(
    sessions: SessionFactory,
    catcher: MailCatcher,
    worker_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`hub worker --once` sends what waits and says how much."""
    with sessions() as session:
        queue_mail(session, "alma@brand-a.example", "Waiting", "Hello")
        session.commit()
    monkeypatch.setenv("HUB_SMTP_URL", catcher.url)

    main(["worker", "--once"])

    assert capsys.readouterr().out == "1 mail sent.\n"
    assert [r.message["Subject"] for r in catcher.received] == ["Waiting"]


def test_hub_worker_refuses_a_malformed_smtp_url_without_showing_it(
    worker_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong scheme stops the worker at once with a plain message; the password in the
    URL is not printed."""
    monkeypatch.setenv("HUB_SMTP_URL", "smtp+ssl://hub:s3cret-pw@mail.example:465")

    with pytest.raises(SystemExit) as stopped:
        main(["worker", "--once"])

    message = str(stopped.value.code)
    assert message.startswith("error: HUB_SMTP_URL must look like smtp://host:port")
    assert "s3cret-pw" not in message


def test_hub_worker_sends_mail_and_stops_cleanly_on_sigterm(
    sessions: SessionFactory,
    catcher: MailCatcher,
    worker_env: dict[str, str],
    repo_root: Path,
) -> None:
    """The worker process delivers mail queued while it runs, and on SIGTERM finishes its
    pass, says it stopped, and exits with status 0."""
    env = {**worker_env, "HUB_SMTP_URL": catcher.url}
    process = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "worker", "--interval", "0.2"],
        cwd=repo_root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with sessions() as session:
            queue_mail(session, "alma@brand-a.example", "While running", "Hello")
            session.commit()
        deadline = time.monotonic() + 30
        while not catcher.received and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [r.message["Subject"] for r in catcher.received] == ["While running"]

        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0, stderr
    assert "worker stopped" in stderr
    with sessions() as session:
        sent = session.exec(select(OutboxMail).where(col(OutboxMail.sent_at).is_not(None)))
        assert len(sent.all()) == 1
