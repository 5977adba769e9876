"""Sending the outbox over SMTP: claim a due mail, send it, record it as sent or retry it
later with exponential back-off.

Workers claim one mail at a time with a conditional UPDATE, so any number of worker
processes may run at once. A claim is a lease that lapses after LEASE: a worker that dies
holding one only delays that mail. Delivery is at least once: a worker that dies after the
server took a mail but before recording it lets the mail go out again after the lease,
under the same Message-ID, by which mail servers and clients recognise the copy.
"""

import base64
import contextlib
import functools
import logging
import smtplib
import ssl
import threading
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from hub import leases
from hub.clock import utcnow
from hub.config import Settings
from hub.leases import Claim, SessionFactory
from hub.notify.models import OutboxMail

log = logging.getLogger("hub.mail")

TIMEOUT_SECONDS = 30  # per SMTP step
MAX_ATTEMPTS = 12  # about 16 hours of retrying, then the mail is given up (and kept)

# What a server answers about one mail, once connected: the next mail may well go through.
_REFUSALS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPNotSupportedError)


Security = Literal["plain", "starttls", "tls"]
_SCHEMES: dict[str, tuple[Security, int]] = {
    "smtp": ("plain", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("tls", 465),
}


@dataclass(frozen=True)
class SmtpServer:
    """Where mail goes, from HUB_SMTP_URL."""

    host: str
    port: int
    security: Security
    username: str = ""
    password: str = ""

    @classmethod
    def from_url(cls, url: str) -> "SmtpServer":
        parts = urlsplit(url)
        if parts.scheme not in _SCHEMES or not parts.hostname:
            # Not quoting the URL: it may hold a password.
            raise ValueError(
                "HUB_SMTP_URL must look like smtp://host:port, "
                "smtp+starttls://user:password@host:port or smtps://user:password@host:port"
            )
        security, default_port = _SCHEMES[parts.scheme]
        return cls(
            host=parts.hostname,
            port=parts.port or default_port,
            security=security,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
        )

    def connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.security == "tls":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=TIMEOUT_SECONDS, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_SECONDS)
        try:
            if self.security == "starttls":
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password)
        except BaseException:
            smtp.close()
            raise
        return smtp


def deliver_due(
    session_factory: SessionFactory,
    settings: Settings,
    now: datetime | None = None,
    limit: int = 50,
    stop: threading.Event | None = None,
) -> int:
    """Send up to `limit` due mails and return how many the server accepted; once `stop`
    is set, finish the mail under way and claim no more.

    `now` fixes the clock (for tests); otherwise every claim and outcome reads the time,
    so a long pass never stamps a claim with a time its lease has already outlived.
    """
    if not settings.smtp_url:
        _say_mail_is_not_configured()
        return 0
    server = SmtpServer.from_url(settings.smtp_url)
    sent = 0
    with contextlib.closing(_Connection(server)) as connection:
        for _ in range(limit):
            if stop is not None and stop.is_set():
                break
            claim = claim_next(session_factory, now)
            if claim is None:
                break
            outcome = _send(session_factory, settings, connection, claim, now)
            if outcome == "sent":
                sent += 1
            elif outcome == "server failed":
                break  # the next mails would fail the same way: leave them for later
    return sent


def claim_next(session_factory: SessionFactory, now: datetime | None = None) -> Claim | None:
    """Claim the mail that has waited longest, or return None when none is due."""
    return leases.claim_next(session_factory, OutboxMail, now)


def build_message(mail: OutboxMail, settings: Settings) -> EmailMessage:
    """The MIME message of an outbox row: the same bytes of headers on every attempt."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at)
    message["Message-ID"] = message_id(mail, settings)
    message.set_content(mail.body)
    for attachment in mail.attachments:
        maintype, subtype, params = _parse_content_type(attachment["content_type"])
        message.add_attachment(
            base64.b64decode(attachment["data"]),
            maintype=maintype,
            subtype=subtype,
            filename=attachment["filename"],
            params=params,
        )
    return message


def message_id(mail: OutboxMail, settings: Settings) -> str:
    # From the row, never random: a mail sent again after a crash carries the same id.
    # The creation time keeps ids unique should a database be rebuilt and ids reused.
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost"
    return f"<outbox.{mail.id}.{mail.created_at:%Y%m%d%H%M%S}@{domain}>"


Outcome = Literal["sent", "mail failed", "server failed"]


def _send(
    session_factory: SessionFactory,
    settings: Settings,
    connection: "_Connection",
    claim: Claim,
    now: datetime | None,
) -> Outcome:
    try:
        message, recipient = _load_message(session_factory, settings, claim.row_id)
    except (ValueError, KeyError) as error:  # a row no retry can fix
        _record_failure(session_factory, claim, error, now, for_good=True)
        return "mail failed"
    try:
        connection.open()
        connection.send(message, parseaddr(settings.mail_from)[1], recipient)
    except _REFUSALS as error:
        # The server refused this mail, not every mail: go on with the next one.
        _record_failure(session_factory, claim, error, now, for_good=_refused_for_good(error))
        return "mail failed"
    except OSError as error:  # unreachable, TLS, login, disconnected (SMTPException too)
        _record_failure(session_factory, claim, error, now, for_good=False)
        return "server failed"
    _finish(session_factory, claim, sent_at=_time(now), next_attempt_at=None, last_error="")
    return "sent"


def _load_message(
    session_factory: SessionFactory, settings: Settings, mail_id: int
) -> tuple[EmailMessage, str]:
    with session_factory() as session:
        mail = session.get(OutboxMail, mail_id)
        assert mail is not None  # outbox rows are never deleted
        return build_message(mail, settings), mail.to_address


def _record_failure(
    session_factory: SessionFactory,
    claim: Claim,
    error: Exception,
    now: datetime | None,
    for_good: bool,
) -> None:
    reason = f"{type(error).__name__}: {error}"[:1000]
    if for_good or claim.attempts >= MAX_ATTEMPTS:
        log.error("mail %d given up after %d attempts: %s", claim.row_id, claim.attempts, reason)
        _finish(session_factory, claim, next_attempt_at=None, last_error=reason)
        return
    retry_at = _time(now) + leases.retry_delay(claim.attempts)
    log.warning("mail %d not sent (%s); next try at %s", claim.row_id, reason, retry_at)
    _finish(session_factory, claim, next_attempt_at=retry_at, last_error=reason)


def _finish(session_factory: SessionFactory, claim: Claim, **values: Any) -> None:
    """Record the outcome and release the claim, if it is still ours."""
    if not leases.finish(session_factory, OutboxMail, claim, **values):
        log.warning(
            "mail %d: the claim lapsed before its outcome was recorded; "
            "another worker may send it again",
            claim.row_id,
        )


def _refused_for_good(error: Exception) -> bool:
    # 5xx is the server's "never": retrying a refused address only delays saying so.
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPDataError):
        return error.smtp_code >= 500
    return True  # SMTPNotSupportedError: an address that needs SMTPUTF8, which it lacks


def _parse_content_type(content_type: str) -> tuple[str, str, dict[str, str]]:
    header = EmailMessage()
    header["Content-Type"] = content_type
    params = dict(header["Content-Type"].params)
    return header.get_content_maintype(), header.get_content_subtype(), params


def _time(now: datetime | None) -> datetime:
    return now if now is not None else utcnow()


@functools.cache
def _say_mail_is_not_configured() -> None:
    log.warning("HUB_SMTP_URL is not set: e-mail waits in the outbox until it is.")


class _Connection:
    """One SMTP connection per pass, opened for the first mail, reopened after an error."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server
        self.smtp: smtplib.SMTP | None = None

    def open(self) -> None:
        if self.smtp is None:
            self.smtp = self.server.connect()

    def send(self, message: EmailMessage, sender: str, recipient: str) -> None:
        assert self.smtp is not None
        try:
            self.smtp.send_message(message, from_addr=sender, to_addrs=[recipient])
        except BaseException:
            self.close()  # a connection in an unknown state is not reused
            raise

    def close(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            with contextlib.suppress(OSError):
                smtp.quit()
            smtp.close()
