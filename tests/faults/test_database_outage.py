"""PostgreSQL stopped dead in the middle of a load run, then started again.

The hub runs in a child process (uvicorn) against a PostgreSQL server of the test's own
(initdb into a temporary folder, a free port), so stopping it disturbs no other test.
Three clients keep going the whole time: a brand's tool posting reports through the API,
a member reloading the dashboard, and a load balancer asking /readyz. The server is
stopped with `-m immediate` (as a crash would: no shutdown checkpoint, the WAL replayed
at start) for a few seconds, then started again; the hub itself is not touched.

What must hold: every answer is either the normal one or a 503 with the outage message
and a Retry-After (never a 500, never a stack trace); /readyz says 503 while the database
is away; the hub serves again by itself once the database is back; and every report the
API answered 201 for is in the database afterwards, with its title.
"""

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hub import outage
from tests.databases import backend
from tests.faults.load import (
    UNLIMITED_API,
    Answers,
    calling,
    dashboard_reader,
    lost_writes,
    report_writer,
    signed_in,
    wait_for,
)
from tests.live import free_port, live_hub

BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
OUTAGE_S = 4.0

pytestmark = [
    pytest.mark.skipif(
        backend() != "postgresql", reason="a PostgreSQL test: runs in the PostgreSQL pass"
    ),
    pytest.mark.skipif(not BINARIES, reason="PostgreSQL's server programs are not installed"),
]


@dataclass
class PrivateServer:
    """A PostgreSQL server of this test's own, run as the postgres user when we are root."""

    data: Path
    port: int

    def _pg_ctl(self, *args: str) -> None:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(
            [*as_postgres, str(BINARIES[-1]), "-D", str(self.data), "-w", *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} -c fsync=off"
        self._pg_ctl("-l", str(self.data / "server.log"), "-o", options, "start")

    def crash(self) -> None:
        self._pg_ctl("-m", "immediate", "stop")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def server() -> Iterator[PrivateServer]:
    root = Path(tempfile.mkdtemp(prefix="hub-outage-"))
    data = root / "data"
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
    initdb = BINARIES[-1].with_name("initdb")
    subprocess.run(
        [*as_postgres, str(initdb), "-D", str(data), "-A", "trust", "-U", "postgres", "-N"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    running = PrivateServer(data, free_port())
    running.start()
    try:
        yield running
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            running.crash()
        shutil.rmtree(root, ignore_errors=True)


def test_a_database_crash_gives_clear_503s_then_the_hub_recovers_and_loses_no_write(
    server: PrivateServer, tmp_path: Path
) -> None:
    with live_hub(tmp_path, server.url, UNLIMITED_API) as hub:
        token, cookie, slug = signed_in(hub)
        prefix = f"outage {secrets.token_hex(4)}"
        writes, pages, ready = Answers(), Answers(), Answers()
        post_report = report_writer(hub, token, slug, prefix)
        dashboard = dashboard_reader(hub, cookie)

        def readiness(client: httpx.Client, number: int) -> httpx.Response:
            return client.get(f"{hub.base_url}/readyz")

        with calling((writes, post_report), (pages, dashboard), (ready, readiness)):
            wait_for(lambda: len(writes.accepted(201)) >= 10, "the first writes")
            server.crash()
            crashed_at = len(writes.got)
            time.sleep(OUTAGE_S)
            server.start()
            wait_for(
                lambda: (
                    any(n > crashed_at for n in writes.accepted(201))
                    and pages.got[-1][0] == 200
                    and ready.got[-1][0] == 200
                ),
                "the hub to serve again",
            )
            time.sleep(1)

        for answers, normal in ((writes, 201), (pages, 200), (ready, 200)):
            odd = [answer for answer in answers.got if answer[0] not in (normal, 503)]
            assert odd == [], odd[:3]
        for answers in (writes, pages, ready):
            assert answers.refused(), "the outage went unnoticed: no 503 at all"
            assert all(retry == str(outage.RETRY_AFTER_S) for _, _, retry in answers.refused())
        for _, body, _ in writes.refused() + pages.refused():
            assert outage.MESSAGE in body
            assert "Traceback" not in body and "psycopg" not in body
        # Recovered by itself: the last answers are the normal ones again.
        assert writes.got[-1][0] == 201 and pages.got[-1][0] == 200 and ready.got[-1][0] == 200

        assert lost_writes(hub, writes, prefix) == [], "answered 201 but not saved"
