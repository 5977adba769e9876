"""Fixtures for mail: a real SMTP server on loopback that keeps what it receives, and a
committed database of its own, since delivery claims mail from several sessions."""

import email
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, delete
from sqlmodel import Session

from hub.config import Environment, Settings
from hub.db import make_engine, session_factory, upgrade_database
from hub.notify.mail import SessionFactory
from hub.notify.models import OutboxMail
from tests.databases import throwaway_database

MAIL_FROM = "Alliance Hub <hub@alliance-hub.example>"


def free_port() -> int:
    """A loopback port nothing listens on (until a test starts a server there)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class MailCatcher:
    """An SMTP server (aiosmtpd) on 127.0.0.1:`port`; refuses addresses in `refused` with
    a 550, as a server does for a mailbox that does not exist."""

    port: int
    received: list[Received] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)
    controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> "MailCatcher":
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"

    def message_ids(self) -> list[str]:
        return [str(mail.message["Message-ID"]) for mail in self.received]


@pytest.fixture
def start_catcher() -> Iterator[Callable[[int], MailCatcher]]:
    """Start a catcher on a given port (e.g. one that was down before); all are stopped
    after the test."""
    started: list[MailCatcher] = []

    def start(port: int) -> MailCatcher:
        catcher = MailCatcher(port).start()
        started.append(catcher)
        return catcher

    yield start
    for catcher in started:
        catcher.stop()


@pytest.fixture
def catcher(start_catcher: Callable[[int], MailCatcher]) -> MailCatcher:
    return start_catcher(free_port())


@pytest.fixture(scope="module")
def mail_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Engine]]:
    with throwaway_database(tmp_path_factory.mktemp("mail")) as url:
        engine = make_engine(mail_settings(url, ""))
        upgrade_database(engine)
        try:
            yield url, engine
        finally:
            engine.dispose()


@pytest.fixture
def sessions(mail_database: tuple[str, Engine]) -> SessionFactory:
    """Sessions on a committed database whose outbox starts empty in every test."""
    _, engine = mail_database
    with Session(engine) as session:
        session.exec(delete(OutboxMail))
        session.commit()
    return session_factory(engine)


@pytest.fixture
def settings_for(mail_database: tuple[str, Engine]) -> Callable[[str], Settings]:
    """Settings on the mail database, sending to the given HUB_SMTP_URL."""
    url, _ = mail_database
    return lambda smtp_url: mail_settings(url, smtp_url)


def mail_settings(database_url: str, smtp_url: str) -> Settings:
    return Settings(
        env=Environment.test,
        database_url=database_url,
        base_url="http://testserver",
        dev_idp=False,
        smtp_url=smtp_url,
        mail_from=MAIL_FROM,
    )
