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

from tests.databases import throwaway_database
from tests.faults.load import (
    NO_ANSWER,
    UNLIMITED_API,
    Answers,
    calling,
    dashboard_reader,
    lost_writes,
    report_writer,
    signed_in,
    wait_for,
)
from tests.live import live_hub


def _workers(supervisor: int) -> set[int]:
    """uvicorn's worker processes: the supervisor's children running the server."""
    found = subprocess.run(
        ["pgrep", "-P", str(supervisor), "-f", "spawn_main"], capture_output=True, text=True
    )
    return {int(pid) for pid in found.stdout.split()}


def test_a_killed_worker_is_replaced_and_no_answered_write_is_lost(tmp_path: Path) -> None:
    with (
        throwaway_database(tmp_path) as url,
        live_hub(tmp_path, url, UNLIMITED_API, workers=2) as hub,
    ):
        wait_for(lambda: len(_workers(hub.pid)) == 2, "two workers")
        token, cookie, slug = signed_in(hub)
        prefix = f"kill {secrets.token_hex(4)}"
        writes, pages = Answers(), Answers()
        post_report = report_writer(hub, token, slug, prefix)
        dashboard = dashboard_reader(hub, cookie)

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

        assert lost_writes(hub, writes, prefix) == [], "answered 201 but not saved"
