"""A worker process killed (SIGKILL) while it serves a stream of writes.

The hub runs under uvicorn with two workers, on a fresh database (SQLite, or PostgreSQL in
the PostgreSQL pass). A brand's tool keeps posting reports through the API and a member
keeps reloading the dashboard; one worker is killed with SIGKILL, as the kernel's
out-of-memory killer or a crash would. What must hold: only a call that was under way in
that worker loses its answer (the connection breaks; nothing says it was saved); uvicorn
starts a new worker; the hub keeps answering; every report answered 201 is in the
database afterwards.
"""

import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

import httpx
from sqlmodel import Session, col, select

from hub.intel.models import IntelReport
from tests.databases import throwaway_database
from tests.faults.load import NO_ANSWER, Answers, calling, signed_in, wait_for
from tests.live import live_hub


def _workers(supervisor: int) -> set[int]:
    """uvicorn's worker processes: the supervisor's children running the server."""
    found = subprocess.run(
        ["pgrep", "-P", str(supervisor), "-f", "spawn_main"], capture_output=True, text=True
    )
    return {int(pid) for pid in found.stdout.split()}


def test_a_killed_worker_is_replaced_and_no_answered_write_is_lost(tmp_path: Path) -> None:
    limits = {
        "HUB_API_REQUESTS_PER_MINUTE": "1000000",
        "HUB_API_REQUESTS_PER_MINUTE_PER_IP": "1000000",
    }
    with (
        throwaway_database(tmp_path) as url,
        live_hub(tmp_path, url, limits, workers=2) as hub,
    ):
        wait_for(lambda: len(_workers(hub.pid)) == 2, "two workers")
        token, cookie, slug = signed_in(hub)
        run = secrets.token_hex(4)
        writes, pages = Answers(), Answers()

        def post_report(client: httpx.Client, number: int) -> httpx.Response:
            return client.post(
                f"{hub.base_url}/api/v1/reports",
                json={"group": slug, "title": f"kill {run} {number}", "tlp": "green"},
                headers={"Authorization": f"Bearer {token}"},
            )

        def dashboard(client: httpx.Client, number: int) -> httpx.Response:
            return client.get(f"{hub.base_url}/", headers={"Cookie": f"hub_session={cookie}"})

        with calling((writes, post_report), (pages, dashboard)):
            wait_for(lambda: len(writes.accepted(201)) >= 10, "the first writes")
            before = _workers(hub.pid)
            victim = min(before)
            os.kill(victim, signal.SIGKILL)
            killed_at = len(writes.got)
            wait_for(lambda: len(_workers(hub.pid) - {victim}) == 2, "a new worker", timeout=60)
            wait_for(
                lambda: len([n for n in writes.accepted(201) if n > killed_at]) >= 10,
                "writes after the kill",
            )
            time.sleep(0.5)

        # At most the call under way in the killed worker, per client, went unanswered.
        assert writes.statuses() <= {201, NO_ANSWER}, writes.statuses()
        assert pages.statuses() <= {200, NO_ANSWER}, pages.statuses()
        assert len(writes.got) - len(writes.accepted(201)) <= 1
        assert len(pages.got) - len(pages.accepted(200)) <= 1

        accepted = {f"kill {run} {n}" for n in writes.accepted(201)}
        with Session(hub.engine) as session:
            saved = set(
                session.exec(
                    select(IntelReport.title).where(col(IntelReport.title).like(f"kill {run} %"))
                )
            )
        assert accepted <= saved, f"answered 201 but not saved: {sorted(accepted - saved)}"
