"""E-mail goes out through the outbox: queued with the change that causes it, sent over
real SMTP (aiosmtpd on loopback), retried with back-off while the server is down, and
sent once however many workers run or die, on SQLite and PostgreSQL alike."""

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from sqlmodel import col, select

from hub.clock import utcnow
from hub.config import Settings
from hub.leases import LEASE, SessionFactory
from hub.notify import mail, outbox
from hub.notify.mail import MAX_ATTEMPTS, claim_next, deliver_due
from hub.notify.models import OutboxMail
from hub.notify.outbox import Attachment, queue_mail
from tests.notify.conftest import MAIL_FROM, MailCatcher, free_port

INVITE = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Alliance Hub//EN\r\nMETHOD:PUBLISH\r\n"
    b"BEGIN:VEVENT\r\nUID:event-7@alliance-hub.example\r\nDTSTAMP:20261201T090000Z\r\n"
    b"DTSTART:20261210T090000Z\r\nSUMMARY:Atelier contrefa\xc3\xa7on\r\nEND:VEVENT\r\n"
    b"END:VCALENDAR\r\n"
)


def queue(sessions: SessionFactory, count: int = 1, to: str = "alma@brand-a.example") -> None:
    """Queue `count` plain mails and commit, as a feature would."""
    with sessions() as session:
        for number in range(count):
            assert queue_mail(session, to, f"Mail {number}", f"Body {number}")
        session.commit()


def rows(sessions: SessionFactory) -> list[OutboxMail]:
    with sessions() as session:
        return list(session.exec(select(OutboxMail).order_by(col(OutboxMail.id))))


def soon() -> datetime:
    """A moment after everything queued so far: all of it is due."""
    return utcnow() + timedelta(seconds=1)


def test_queued_mail_with_invitation_arrives_intact(
    sessions: SessionFactory, catcher: MailCatcher, settings_for: Callable[[str], Settings]
) -> None:
    """Subject, body and an .ics attachment arrive as queued, with a Message-ID of the row."""
    with sessions() as session:
        queue_mail(
            session,
            "elodie.moreau@maison-verrault.example",
            "Rappel : atelier contrefaçon le 10 décembre",
            "Bonjour Élodie,\n\nl'atelier commence à 10 h.\n",
            [Attachment("atelier.ics", "text/calendar; method=PUBLISH", INVITE)],
        )
        session.commit()

    assert deliver_due(sessions, settings_for(catcher.url)) == 1

    [received] = catcher.received
    assert received.sender == "hub@alliance-hub.example"
    assert received.recipients == ["elodie.moreau@maison-verrault.example"]
    message = received.message
    assert message["From"] == MAIL_FROM
    assert message["To"] == "elodie.moreau@maison-verrault.example"
    assert message["Subject"] == "Rappel : atelier contrefaçon le 10 décembre"
    body = message.get_body(("plain",))
    assert body is not None
    assert body.get_content().splitlines() == ["Bonjour Élodie,", "", "l'atelier commence à 10 h."]
    [invite] = list(message.iter_attachments())
    assert invite.get_filename() == "atelier.ics"
    assert invite.get_content_type() == "text/calendar"
    assert invite.get_param("method") == "PUBLISH"
    assert invite.get_payload(decode=True) == INVITE
    [row] = rows(sessions)
    assert (
        message["Message-ID"]
        == f"<outbox.{row.id}.{row.created_at:%Y%m%d%H%M%S}@alliance-hub.example>"
    )
    assert row.sent_at is not None and row.next_attempt_at is None and row.attempts == 1


def test_a_mail_is_queued_only_when_the_change_is_saved(
    sessions: SessionFactory, catcher: MailCatcher, settings_for: Callable[[str], Settings]
) -> None:
    """A transaction rolled back sends nothing; the one committed sends its mail."""
    with sessions() as session:
        queue_mail(session, "alma@brand-a.example", "Rolled back", "Never sent")
        session.rollback()
        queue_mail(session, "alma@brand-a.example", "Committed", "Sent")
        session.commit()

    assert deliver_due(sessions, settings_for(catcher.url)) == 1
    assert [r.message["Subject"] for r in catcher.received] == ["Committed"]


def test_mail_waits_in_the_outbox_while_smtp_is_not_configured(
    sessions: SessionFactory,
    catcher: MailCatcher,
    settings_for: Callable[[str], Settings],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without HUB_SMTP_URL nothing is sent or counted, the log says so once, and the mail
    goes out once it is set."""
    mail._say_mail_is_not_configured.cache_clear()
    queue(sessions, 2)

    with caplog.at_level(logging.WARNING, logger="hub.mail"):
        assert deliver_due(sessions, settings_for("")) == 0
        assert deliver_due(sessions, settings_for("")) == 0

    assert [r.getMessage() for r in caplog.records] == [
        "HUB_SMTP_URL is not set: e-mail waits in the outbox until it is."
    ]
    assert [(r.attempts, r.sent_at, r.last_error) for r in rows(sessions)] == [(0, None, "")] * 2
    assert deliver_due(sessions, settings_for(catcher.url)) == 2
    assert len(catcher.received) == 2


def test_mail_is_retried_after_back_off_until_the_server_is_back(
    sessions: SessionFactory,
    start_catcher: Callable[[int], MailCatcher],
    settings_for: Callable[[str], Settings],
) -> None:
    """With the server down the first mail records the error and waits a minute; the pass
    stops there, so the others are not charged an attempt; once the server is up and the
    minute has passed, everything goes out."""
    port = free_port()  # nothing listens here yet
    settings = settings_for(f"smtp://127.0.0.1:{port}")
    queue(sessions, 3)
    now = soon()

    assert deliver_due(sessions, settings, now=now) == 0

    first, *others = rows(sessions)
    assert first.attempts == 1 and first.sent_at is None
    assert "Connection refused" in first.last_error
    assert first.next_attempt_at == now + timedelta(minutes=1)
    assert [(r.attempts, r.last_error) for r in others] == [(0, "")] * 2

    catcher = start_catcher(port)
    assert deliver_due(sessions, settings, now=now + timedelta(seconds=30)) == 2
    assert sorted(r.message["Subject"] for r in catcher.received) == ["Mail 1", "Mail 2"]
    assert deliver_due(sessions, settings, now=now + timedelta(minutes=1)) == 1
    assert sorted(r.message["Subject"] for r in catcher.received) == ["Mail 0", "Mail 1", "Mail 2"]
    first = rows(sessions)[0]
    assert (first.attempts, first.last_error, first.next_attempt_at) == (2, "", None)


def test_a_mail_that_never_gets_through_is_given_up_and_kept(
    sessions: SessionFactory,
    start_catcher: Callable[[int], MailCatcher],
    settings_for: Callable[[str], Settings],
) -> None:
    """Waits double from a minute up to four hours; after the last attempt the mail stays
    in the outbox with its error and is not sent even when the server is back."""
    port = free_port()
    settings = settings_for(f"smtp://127.0.0.1:{port}")
    queue(sessions)
    now = soon()
    waits = []
    for _ in range(MAX_ATTEMPTS):
        assert deliver_due(sessions, settings, now=now) == 0
        [row] = rows(sessions)
        if row.next_attempt_at is None:
            break
        waits.append(row.next_attempt_at - now)
        now = row.next_attempt_at

    assert [wait // timedelta(minutes=1) for wait in waits] == [
        1, 2, 4, 8, 16, 32, 64, 128, 240, 240, 240,
    ]  # fmt: skip
    assert (row.attempts, row.sent_at, row.next_attempt_at) == (MAX_ATTEMPTS, None, None)
    assert row.last_error
    catcher = start_catcher(port)
    assert deliver_due(sessions, settings, now=now + timedelta(days=30)) == 0
    assert catcher.received == []


def test_an_address_the_server_refuses_is_given_up_at_once(
    sessions: SessionFactory, catcher: MailCatcher, settings_for: Callable[[str], Settings]
) -> None:
    """A 550 for one recipient gives that mail up with the server's answer; the mail
    queued after it still goes out in the same pass."""
    catcher.refused.add("gone@brand-a.example")
    queue(sessions, to="gone@brand-a.example")
    queue(sessions, to="alma@brand-a.example")

    assert deliver_due(sessions, settings_for(catcher.url)) == 1

    refused, delivered = rows(sessions)
    assert (refused.sent_at, refused.next_attempt_at, refused.attempts) == (None, None, 1)
    assert "550" in refused.last_error and "No such mailbox" in refused.last_error
    assert delivered.sent_at is not None
    assert [r.recipients for r in catcher.received] == [["alma@brand-a.example"]]


def test_concurrent_deliverers_send_each_mail_exactly_once(
    sessions: SessionFactory, catcher: MailCatcher, settings_for: Callable[[str], Settings]
) -> None:
    """Four workers on the same outbox at the same moment, each with its own sessions:
    every mail arrives once, and the workers' counts add up to the mails queued."""
    queue(sessions, 40)
    settings = settings_for(catcher.url)
    start = threading.Barrier(4)

    def worker() -> int:
        start.wait(timeout=30)
        return deliver_due(sessions, settings)

    with ThreadPoolExecutor(max_workers=4) as pool:
        counts = [future.result() for future in [pool.submit(worker) for _ in range(4)]]

    assert sum(counts) == 40
    assert len(catcher.received) == 40
    assert len(set(catcher.message_ids())) == 40
    assert all(row.sent_at is not None and row.attempts == 1 for row in rows(sessions))


def test_a_worker_that_dies_after_claiming_delays_the_mail_but_it_goes_out_once(
    sessions: SessionFactory, catcher: MailCatcher, settings_for: Callable[[str], Settings]
) -> None:
    """A claim nobody finishes keeps other workers off the mail until the lease lapses;
    then one of them sends it, once."""
    settings = settings_for(catcher.url)
    queue(sessions)
    now = soon()
    assert claim_next(sessions, now=now) is not None  # ... and the worker is killed here

    assert deliver_due(sessions, settings, now=now) == 0
    assert deliver_due(sessions, settings, now=now + LEASE - timedelta(seconds=1)) == 0
    assert catcher.received == []

    later = now + LEASE + timedelta(seconds=1)
    assert deliver_due(sessions, settings, now=later) == 1
    assert deliver_due(sessions, settings, now=later + timedelta(days=1)) == 0
    assert [r.message["Subject"] for r in catcher.received] == ["Mail 0"]


def test_dedupe_key_refuses_a_second_queue(sessions: SessionFactory) -> None:
    """The same key is queued once; the second call says so and the caller's other work in
    that transaction is saved as usual."""
    with sessions() as session:
        assert queue_mail(session, "alma@brand-a.example", "Reminder", "Once", dedupe_key="r:7:1")
        session.commit()
    with sessions() as session:
        assert not queue_mail(
            session, "alma@brand-a.example", "Reminder", "Twice", dedupe_key="r:7:1"
        )
        assert queue_mail(session, "ben@brand-b.example", "Other", "Kept", dedupe_key="r:7:2")
        session.commit()

    assert [(r.dedupe_key, r.body) for r in rows(sessions)] == [
        ("r:7:1", "Once"),
        ("r:7:2", "Kept"),
    ]


def test_dedupe_key_holds_when_another_transaction_queues_it_first(
    sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If another transaction commits the same key between the check and the insert, the
    unique index refuses the copy, and the caller's transaction carries on."""
    with sessions() as session:
        queue_mail(session, "alma@brand-a.example", "Reminder", "First", dedupe_key="r:8:1")
        session.commit()
    # The check ran before the other transaction committed, so it found nothing.
    monkeypatch.setattr(outbox, "_already_queued", lambda _session, _key: False)

    with sessions() as session:
        assert queue_mail(session, "ben@brand-b.example", "Other", "Kept")
        assert not queue_mail(
            session, "alma@brand-a.example", "Reminder", "Copy", dedupe_key="r:8:1"
        )
        session.commit()

    assert [r.body for r in rows(sessions)] == ["First", "Kept"]


def test_line_breaks_cannot_forge_mail_headers(sessions: SessionFactory) -> None:
    """A subject or address with a line break is refused when queued, not sent."""
    with sessions() as session:
        for to, subject in (
            ("alma@brand-a.example", "Hi\r\nBcc: eve@evil.example"),
            ("alma@brand-a.example\nBcc: eve@evil.example", "Hi"),
        ):
            with pytest.raises(ValueError, match="line break"):
                queue_mail(session, to, subject, "Body")
        session.commit()
    assert rows(sessions) == []
