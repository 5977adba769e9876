"""Clients that keep calling a live hub from threads while a test breaks something, and
the sign-ins they use."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from sqlmodel import col, select

from hub.api import tokens
from hub.api.models import Scope, TokenKind
from hub.auth import sessions
from hub.groups.models import WorkingGroup
from hub.intel.models import IntelReport
from hub.members.models import Person, Role
from tests.conftest import session_cookie
from tests.live import LIVE_SECRET, LiveHub

NO_ANSWER = 0  # the connection broke before an answer came


@dataclass
class Answers:
    """What one client got, in order: (status, body, Retry-After) per request."""

    got: list[tuple[int, str, str | None]] = field(default_factory=list)

    def statuses(self) -> set[int]:
        return {status for status, _, _ in self.got}

    def accepted(self, status: int) -> list[int]:
        """The numbers of the calls answered `status`."""
        return [number for number, answer in enumerate(self.got) if answer[0] == status]

    def refused(self) -> list[tuple[int, str, str | None]]:
        return [answer for answer in self.got if answer[0] == 503]


def keep_calling(
    stop: threading.Event, answers: Answers, call: Callable[[httpx.Client, int], httpx.Response]
) -> None:
    # Generous: a request that waits for the database is slow, not lost (a busy CI machine).
    with httpx.Client(timeout=60) as client:
        number = 0
        while not stop.is_set():
            try:
                response = call(client, number)
            except httpx.TransportError as error:
                answers.got.append((NO_ANSWER, repr(error), None))
            else:
                answers.got.append(
                    (response.status_code, response.text, response.headers.get("retry-after"))
                )
            number += 1
            time.sleep(0.02)


def signed_in(hub: LiveHub) -> tuple[str, str, str]:
    """A demo brand admin's API token, their session cookie, and a group they can post to."""
    with hub.session() as session:
        actor = hub.actor_in_a_group(session, Role.brand_admin)
        token = tokens.create(session, actor, "Outage test", TokenKind.personal, Scope.write)
        person = session.get(Person, actor.person_id)
        group = session.get(WorkingGroup, min(actor.group_ids))
        assert person is not None and group is not None
        sid = sessions.start(session, hub.settings, person, None, "127.0.0.1", "pytest")
        session.commit()
    return token, session_cookie({"sid": sid}, LIVE_SECRET), group.slug


def calling(*clients: tuple[Answers, Callable[[httpx.Client, int], httpx.Response]]) -> "Calling":
    return Calling(clients)


class Calling:
    """`with calling((answers, call), ...):` one thread per client until the block ends."""

    def __init__(
        self, clients: tuple[tuple[Answers, Callable[[httpx.Client, int], httpx.Response]], ...]
    ) -> None:
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=keep_calling, args=(self.stop, answers, call))
            for answers, call in clients
        ]

    def __enter__(self) -> "Calling":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


# Both API limits out of the way: the clients call far more often than a person would.
UNLIMITED_API = {
    "HUB_API_REQUESTS_PER_MINUTE": "1000000",
    "HUB_API_REQUESTS_PER_MINUTE_PER_IP": "1000000",
}

Call = Callable[[httpx.Client, int], httpx.Response]


def report_writer(hub: LiveHub, token: str, slug: str, prefix: str) -> Call:
    """A brand's tool posting report number N as "<prefix> N" through the API."""

    def post_report(client: httpx.Client, number: int) -> httpx.Response:
        return client.post(
            f"{hub.base_url}/api/v1/reports",
            json={"group": slug, "title": f"{prefix} {number}", "tlp": "green"},
            headers={"Authorization": f"Bearer {token}"},
        )

    return post_report


def dashboard_reader(hub: LiveHub, cookie: str) -> Call:
    """A member reloading their dashboard."""

    def dashboard(client: httpx.Client, number: int) -> httpx.Response:
        return client.get(f"{hub.base_url}/", headers={"Cookie": f"hub_session={cookie}"})

    return dashboard


def lost_writes(hub: LiveHub, writes: Answers, prefix: str) -> list[str]:
    """The reports answered 201 that are not in the database."""
    accepted = {f"{prefix} {n}" for n in writes.accepted(201)}
    with hub.session() as session:
        saved = set(
            session.exec(select(IntelReport.title).where(col(IntelReport.title).startswith(prefix)))
        )
    return sorted(accepted - saved)
