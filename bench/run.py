"""Load test of the hub's main pages, signed in as a member, against a floor app.

    python -m bench.run --database-url URL [--workers 2] [--users 20] [--duration 15]
                        [--label 1M] [--soak] [--member EMAIL]

Starts the hub with uvicorn (N workers, HUB_ENV=production, HUB_COUNT_QUERIES=1) on a free
loopback port, signs a member in by creating their server-side session in the database,
picks the pages from the data (bench/pages.py), and drives each page with wrk for a short
warm-up and a timed run: requests/s, p50/p95/p99, errors, SQL statements per page (the
X-Queries header of one request) and the workers' peak RSS. Then the same for the floor
(bench/floor.py) with the same workers, and each page's throughput as a share of it.
--soak: 100 users for 60 s over a mix of the pages, sign-ups included.

Results: bench/results-<label>.json, and bench/RESULTS.md rebuilt from every results
file in bench/ (so a 10k run and a 1M run on the same database engine are compared).

The load generator is wrk, not locust: on a 2-core machine the generator shares the CPU
with the server, and wrk (C, an event loop per thread, LuaJIT for the cookie, CSRF header
and the register/withdraw alternation) needs a small fraction of what locust's Python
users need for the same rate, so it disturbs the measurement least; it keeps a full
latency histogram (exact p99, which locust rounds), and its run is bounded by -d.
"""

import argparse
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from bench import pages, results
from hub.config import Environment, Settings
from hub.db import alembic_config, make_engine, upgrade_database

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WRK_SCRIPT = BENCH / "wrk.lua"
LOGS = ROOT / "var" / "bench"  # the servers' output
WRK_TIMEOUT_S = 30  # slower answers count as timeouts, and not in the percentiles
IDLE_CPU = 0.15  # the machine counts as idle below this share of CPU in use
SETTLE_MAX_S = 180
HUB_APPLICATION = "bench-hub"  # PostgreSQL application_name of the hub's connections
FLOOR_APPLICATION = "bench-floor"
IDLE_WORKER_CPU = 0.05  # a server is idle when its workers use less than this of a core
READY_TIMEOUT = 90.0
SOAK_SIGNUP_SHARE = 20  # one sign-up user in every 20 of the soak


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True, help="the hub's database (filled)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (default 2)")
    parser.add_argument("--users", type=int, default=20, help="concurrent users (default 20)")
    parser.add_argument("--duration", type=int, default=15, help="seconds per page (default 15)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per page")
    parser.add_argument(
        "--label",
        "--reports-label",
        dest="label",
        help="names the results file; default: the report count, e.g. 10k or 1M",
    )
    parser.add_argument("--soak", action="store_true", help="also 100 users for 60 s")
    parser.add_argument("--soak-users", type=int, default=100)
    parser.add_argument("--soak-duration", type=int, default=60)
    parser.add_argument("--member", default=pages.DEFAULT_MEMBER, help="who signs in")
    parser.add_argument("--common-term", help="search term in many reports (default: found)")
    parser.add_argument("--rare-term", help="search term in very few reports (default: found)")
    parser.add_argument(
        "--pages", help="comma-separated page keys to measure (default: all), e.g. board,signup"
    )
    parser.add_argument(
        "--signup",
        choices=("testbuy", "event"),
        default="testbuy",
        help="the sign-up POST: the test-buy sign-up form (default) or event registration",
    )
    parser.add_argument("--no-floor", action="store_true", help="skip the floor app")
    parser.add_argument(
        "--quiet-wait",
        type=int,
        default=600,
        help="before each run, wait up to this many seconds while other work uses the CPU",
    )
    args = parser.parse_args(argv)
    if min(args.workers, args.users, args.duration, args.soak_users, args.soak_duration) < 1:
        parser.error("workers, users and durations must be at least 1")
    return args


def database_url(url: str) -> str:
    """PostgreSQL through psycopg 3 (the hub's driver) when the URL names no driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def label_for(reports: int) -> str:
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if reports >= size:
            return f"{reports / size:.3g}{suffix}"
    return str(reports)


# --- the machine and the versions ---------------------------------------------------


def ensure_wrk() -> str:
    """wrk from Debian, installed like the Makefile's `browser` target installs Chromium."""
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*sudo, "apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, env=env, stdin=subprocess.DEVNULL).returncode != 0:
        subprocess.run([*sudo, "apt-get", "update", "-q"], env=env, stdin=subprocess.DEVNULL)
        subprocess.run(install, env=env, stdin=subprocess.DEVNULL, check=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and apt-get could not install it")
    return found


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()}",
    }
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    return info


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def _process_ticks(pids: list[int]) -> int:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime and stime
    return ticks


def processes_busy(pids: list[int], seconds: float) -> float:
    """The CPU the processes used during `seconds`, in cores (1.0: one core all along)."""
    before = _process_ticks(pids)
    time.sleep(seconds)
    return (_process_ticks(pids) - before) / os.sysconf("SC_CLK_TCK") / seconds


def cpu_busy(seconds: float) -> float:
    """The share of the machine's CPU time used by anything during `seconds`."""
    busy, total = _cpu_times()
    time.sleep(seconds)
    busy_after, total_after = _cpu_times()
    return (busy_after - busy) / max(1, total_after - total)


def versions(engine: Engine, wrk: str) -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("uvicorn", "fastapi", "starlette", "sqlalchemy", "sqlmodel", "jinja2"):
        found[package] = version(package)
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            found["postgresql"] = str(connection.execute(text("SHOW server_version")).scalar())
            found["psycopg"] = version("psycopg")
        else:
            found["sqlite"] = sqlite3.sqlite_version
    wrk_version = subprocess.run([wrk, "-v"], capture_output=True, text=True).stdout
    found["wrk"] = wrk_version.split(" [")[0].removeprefix("wrk ").strip()
    return found


def upgrade_schema(engine: Engine) -> str:
    """Bring the database to the hub's newest schema (data generated with an older hub
    lacks its newest indexes), and say from which revision."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current == head:
        return ""
    print(f"Upgrading the database schema from {current} to {head}", flush=True)
    upgrade_database(engine)
    return f"{current} to {head}"


def source_state() -> str:
    """The commit measured, and whether the hub's code differed from it."""

    def git(*arguments: str) -> str:
        done = subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "--", "hub", "templates", "static")
    return commit + (" with uncommitted changes to the hub" if changed else "")


# --- the servers ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """uvicorn serving `app` with `workers` processes on a loopback port, in its own
    process group (stopped as one at the end)."""

    def __init__(self, app: str, port: int, workers: int, env: dict[str, str], ready: str):
        self.app, self.port, self.workers, self.env, self.ready = app, port, workers, env, ready
        self.base_url = f"http://127.0.0.1:{port}"
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log = (LOGS / f"{app.split(':')[0].replace('.', '-')}.log").open("w")
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "Server":
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            self.app,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.app} stopped at start: see {self.log.name}")
            try:
                answer = httpx.get(self.base_url + self.ready, timeout=2)
                if answer.status_code == 200 and len(self.worker_pids()) >= self.workers:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"{self.app} was not ready after {READY_TIMEOUT:.0f} s: {self.log.name}")

    def worker_pids(self) -> list[int]:
        """The worker processes: the children of uvicorn's supervisor that run the app
        (multiprocessing's spawn), not its resource tracker."""
        assert self.process is not None
        workers = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid and b"spawn_main" in cmdline:
                workers.append(int(entry.name))
        return workers

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def postgres_ticks(database: str) -> dict[int, int]:
    """CPU ticks of the PostgreSQL processes serving `database`, and of its background
    processes (writer, checkpointer, ...): not the backends of other databases."""
    ticks = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
            backend = "(" in command  # "postgres: 15/main: user database 127.0.0.1(port) ..."
            if backend and f" {database} " not in command:
                continue
            ticks[int(entry.name)] = _process_ticks([int(entry.name)])
        except OSError:
            continue
    return ticks


def children_cpu_s() -> float:
    """CPU seconds of the ended child processes (the wrk runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Watch(threading.Thread):
    """While a timed run lasts: the largest resident set of any worker (sampled every
    200 ms); the CPU time the workers, PostgreSQL (for this database) and the load
    generator used; and the share of the machine's CPU everything else used."""

    def __init__(self, pids: list[int], database: str | None) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.database = database
        self.peak = max((rss_mb(pid) for pid in pids), default=0.0)
        self.stopped = threading.Event()
        self.cpu_s: dict[str, float] = {}
        self.others = 0.0

    def run(self) -> None:
        while not self.stopped.wait(0.2):
            self.peak = max([self.peak, *(rss_mb(pid) for pid in self.pids)])

    def _sample(self) -> tuple[int, dict[int, int], float, tuple[int, int]]:
        database = postgres_ticks(self.database) if self.database else {}
        return _process_ticks(self.pids), database, children_cpu_s(), _cpu_times()

    def __enter__(self) -> "Watch":
        self.started = self._sample()
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopped.set()
        self.join()
        workers, database, wrk, (busy, total) = self._sample()
        workers0, database0, wrk0, (busy0, total0) = self.started
        tick = os.sysconf("SC_CLK_TCK")
        postgres = sum(ticks - database0.get(pid, 0) for pid, ticks in database.items())
        self.cpu_s = {
            "server": (workers - workers0) / tick,
            "postgres": postgres / tick,
            "wrk": wrk - wrk0,
        }
        ours = sum(self.cpu_s.values()) * tick
        self.others = round(max(0.0, (busy - busy0 - ours) / max(1, total - total0)), 3)

    def per_request(self, requests: int) -> dict[str, float]:
        """CPU milliseconds per answered request, by who spent them."""
        return {who: round(1000 * s / max(1, requests), 2) for who, s in self.cpu_s.items()}


# --- wrk --------------------------------------------------------------------------------


@dataclass
class Load:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    status_errors: int  # answers of 400 and above
    socket_errors: int  # connect, read, write errors and timeouts
    timeouts: int  # answers slower than WRK_TIMEOUT_S (wrk also counts requests pending)
    connections: int


def wrk_command(
    base_url: str, arguments: list[str], connections: int, threads: int, seconds: int
) -> list[str]:
    return [
        *("wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s"),
        *("--timeout", f"{WRK_TIMEOUT_S}s", "-s", str(WRK_SCRIPT), base_url, "--", *arguments),
    ]


def read_wrk(output: str, connections: int) -> Load:
    if os.environ.get("BENCH_WRK_DEBUG"):
        print(output, file=sys.stderr)
    for line in output.splitlines():
        if line.startswith("BENCH_RESULT "):
            data = json.loads(line.removeprefix("BENCH_RESULT "))
            break
    else:
        raise RuntimeError(f"wrk gave no result:\n{output}")
    errors, latency = data["errors"], data["latency_us"]
    seconds = data["duration_us"] / 1e6
    return Load(
        requests=int(data["requests"]),
        seconds=round(seconds, 2),
        rps=round(data["requests"] / seconds, 1),
        p50_ms=latency["percentiles"]["50"] / 1000,
        p95_ms=latency["percentiles"]["95"] / 1000,
        p99_ms=latency["percentiles"]["99"] / 1000,
        max_ms=latency["max"] / 1000,
        status_errors=int(errors["status"]),
        socket_errors=int(errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]),
        timeouts=int(errors["timeout"]),
        connections=connections,
    )


def threads_for(connections: int) -> int:
    """wrk threads for GET runs: one per core is plenty for its event loops."""
    return max(1, min(connections, os.cpu_count() or 1))


def run_wrk(
    base_url: str, arguments: list[str], connections: int, seconds: int, threads: int = 0
) -> Load:
    command = wrk_command(
        base_url, arguments, connections, threads or threads_for(connections), seconds
    )
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return read_wrk(done.stdout, connections)


# --- measuring ------------------------------------------------------------------------


@dataclass
class Runner:
    args: argparse.Namespace
    engine: Engine
    plan: pages.Plan
    database: str | None = None  # PostgreSQL's database name (None: SQLite)
    settled: float = 0.0  # seconds the server took to be idle after the last timed run
    machine_busy: float = 0.0  # share of the CPU in use once the server was idle

    def page_arguments(self, *paths: str) -> list[str]:
        return ["page", self.plan.cookie, *paths]

    def signup_arguments(self, registrants: list[pages.Registrant]) -> list[str]:
        with Session(self.engine) as session:
            firsts = pages.first_actions(session, registrants)
        plans = [
            f"{r.cookie}|{r.event_id}|{first}" for r, first in zip(registrants, firsts, strict=True)
        ]
        return ["signup", self.plan.csrf, *plans]

    def queries(self, server: Server, page: pages.Page) -> dict[str, Any]:
        """One request with httpx: status, size and the X-Queries header."""
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            client.cookies.set(pages.SESSION_COOKIE, self.plan.cookie)
            answer = client.get(page.path)
        return {
            "status": answer.status_code,
            "bytes": len(answer.content),
            "queries": int(answer.headers.get("x-queries", "-1")),
        }

    def form_post_arguments(self) -> list[str]:
        post = self.plan.form_post
        assert post is not None
        return ["post", self.plan.cookie, self.plan.csrf, post.path, post.body]

    def form_post_queries(self, server: Server) -> dict[str, Any]:
        """The form POST once, with httpx, as the browser sends it (no htmx)."""
        post = self.plan.form_post
        assert post is not None
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            client.cookies.set(pages.SESSION_COOKIE, self.plan.cookie)
            answer = client.post(
                post.path,
                content=post.body,
                headers={
                    "x-csrf-token": self.plan.csrf,
                    "content-type": "application/x-www-form-urlencoded",
                },
            )
        return {
            "status": answer.status_code,
            "bytes": len(answer.content),
            "queries": int(answer.headers.get("x-queries", "-1")),
        }

    def event_queries(self, server: Server) -> dict[str, Any]:
        """Each POST of the sign-up once (register, withdraw, in the order that leaves the
        first registrant as found), as htmx sends it."""
        first = self.plan.registrants[0]
        with Session(self.engine) as session:
            order = pages.first_actions(session, [first])
        actions = ["register", "withdraw"]
        if order[0] == "withdraw":
            actions.reverse()
        found: dict[str, Any] = {}
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            client.cookies.set(pages.SESSION_COOKIE, first.cookie)
            headers = {"x-csrf-token": self.plan.csrf, "hx-request": "true"}
            for action in actions:
                answer = client.post(f"/events/{first.event_id}/{action}", headers=headers)
                found[action] = (answer.status_code, int(answer.headers.get("x-queries", "-1")))
        statuses = {status for status, _ in found.values()}
        return {
            "status": max(statuses),
            "bytes": 0,
            "queries": max(count for _, count in found.values()),
            "queries_detail": {action: count for action, (_, count) in found.items()},
        }

    def after(self, watch: Watch, load: Load) -> dict[str, Any]:
        """What a timed run leaves besides wrk's numbers."""
        return {
            "rss_mb": round(watch.peak, 1),
            "cpu_ms": watch.per_request(load.requests),
            "settle_s": self.settled,
            "machine_busy": self.machine_busy,
            "others_busy": watch.others,
        }

    def settle(self, server: Server) -> float:
        """Wait until the server is idle again, and say how long that took: it goes on
        with the requests wrk stopped waiting for (at 1M reports a slow page leaves minutes
        of queued work), which would weigh on the next measurement. On PostgreSQL the
        statements it still runs for them are cancelled, since nobody waits for them.
        Then wait while other work uses the machine (`wait_for_quiet`)."""
        started = time.monotonic()
        while time.monotonic() - started < SETTLE_MAX_S:
            running = self.cancel_statements()
            if running == 0 and processes_busy(server.worker_pids(), 0.5) < IDLE_WORKER_CPU:
                break
        self.machine_busy = self.wait_for_quiet()
        return round(time.monotonic() - started, 1)

    def wait_for_quiet(self) -> float:
        """Wait (up to --quiet-wait seconds) while other work uses the machine; return the
        share of the CPU in use when done waiting."""
        waited = time.monotonic()
        busy = cpu_busy(1.0)
        if busy > IDLE_CPU:
            print(f"    other work uses {busy:.0%} of the CPU: waiting", flush=True)
        while busy > IDLE_CPU and time.monotonic() - waited < self.args.quiet_wait:
            busy = cpu_busy(2.0)
        return round(busy, 3)

    def cancel_statements(self) -> int:
        """Cancel the statements the hub and the floor still run on PostgreSQL; how many."""
        if self.engine.dialect.name != "postgresql":
            return 0
        with self.engine.connect() as connection:
            cancelled = connection.execute(
                text(
                    "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name IN (:hub, :floor) AND state = 'active'"
                ),
                {"hub": HUB_APPLICATION, "floor": FLOOR_APPLICATION},
            ).scalar()
        return int(cancelled or 0)

    def load(
        self, server: Server, arguments: list[str], connections: int, threads: int = 0
    ) -> tuple[Load, Watch]:
        """A warm-up, then the timed run, on an idle server (see `settle`)."""
        self.settle(server)
        run_wrk(server.base_url, arguments, connections, self.args.warmup, threads)
        self.settle(server)
        busy_before = self.machine_busy
        with Watch(server.worker_pids(), self.database) as watch:
            load = run_wrk(server.base_url, arguments, connections, self.args.duration, threads)
        self.settled = self.settle(server)
        self.machine_busy = busy_before
        return load, watch

    def measure_page(self, server: Server, page: pages.Page) -> dict[str, Any]:
        entry: dict[str, Any] = {**asdict(page), "method": "GET", **self.queries(server, page)}
        print(f"  {page.title}: {page.path} ({entry['queries']} SQL statements)", flush=True)
        if entry["status"] != 200:
            print(f"    answered {entry['status']}: not measured", flush=True)
            return entry
        load, watch = self.load(server, self.page_arguments(page.path), self.args.users)
        return entry | asdict(load) | self.after(watch, load)

    def measure_signup(self, server: Server) -> dict[str, Any]:
        if self.plan.form_post is None:
            return self.measure_registrations(server)
        post = self.plan.form_post
        entry: dict[str, Any] = {
            "key": "signup",
            "title": "Sign-up POST",
            "path": post.path,
            "note": self.plan.signup_note,
            "method": "POST",
            **self.form_post_queries(server),
        }
        print(f"  Sign-up: {post.path} ({entry['queries']} SQL statements)", flush=True)
        if entry["status"] >= 400:
            print(f"    answered {entry['status']}: not measured", flush=True)
            return entry
        load, watch = self.load(server, self.form_post_arguments(), self.args.users)
        return entry | asdict(load) | self.after(watch, load)

    def measure_registrations(self, server: Server) -> dict[str, Any]:
        registrants = self.plan.registrants[: self.args.users]
        first = registrants[0]
        entry: dict[str, Any] = {
            "key": "signup",
            "title": "Sign-up POST",
            "path": f"/events/{first.event_id}/register ⇄ /withdraw",
            "note": self.plan.signup_note,
            "method": "POST",
            **self.event_queries(server),
        }
        print(f"  Sign-up: {entry['path']} ({entry['queries_detail']} SQL statements)")
        if entry["status"] >= 400:
            print(f"    answered {entry['status']}: not measured", flush=True)
            return entry
        connections = len(registrants)
        # One connection per thread: each thread alternates its own person's POSTs.
        warmup = self.signup_arguments(registrants)
        run_wrk(server.base_url, warmup, connections, self.args.warmup, connections)
        self.settle(server)  # requests wrk left in flight end before the states are read
        busy_before = self.machine_busy
        arguments = self.signup_arguments(registrants)
        with Watch(server.worker_pids(), self.database) as watch:
            load = run_wrk(server.base_url, arguments, connections, self.args.duration, connections)
        self.settled = self.settle(server)
        self.machine_busy = busy_before
        return entry | asdict(load) | self.after(watch, load)

    def soak(self, server: Server, paths: list[str]) -> dict[str, Any]:
        """`--soak-users` users for `--soak-duration` s: most on a mix of every page, one
        in SOAK_SIGNUP_SHARE signing up; two wrk processes at once."""
        users, seconds = self.args.soak_users, self.args.soak_duration
        self.settle(server)
        busy_before = self.machine_busy
        signing_up = max(1, users // SOAK_SIGNUP_SHARE)
        if self.plan.form_post is None:
            signing_up = min(len(self.plan.registrants), signing_up)
            signup_args = self.signup_arguments(self.plan.registrants[:signing_up])
            signup_threads = signing_up  # one connection per thread: see wrk.lua
        else:
            signup_args = self.form_post_arguments()
            signup_threads = threads_for(signing_up)
        readers = users - signing_up
        commands = [
            wrk_command(
                server.base_url,
                self.page_arguments(*paths),
                readers,
                threads_for(readers),
                seconds,
            ),
            wrk_command(server.base_url, signup_args, signing_up, signup_threads, seconds),
        ]
        with Watch(server.worker_pids(), self.database) as watch:
            running = [
                subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for command in commands
            ]
            outputs = [process.communicate(timeout=seconds + 120) for process in running]
        settled = self.settle(server)
        mix, signups = (
            read_wrk(out, n) for (out, _), n in zip(outputs, (readers, signing_up), strict=True)
        )
        return {
            "users": users,
            "seconds": seconds,
            "paths": paths,
            "pages": asdict(mix),
            "signups": asdict(signups),
            "errors": sum(load.status_errors + load.socket_errors for load in (mix, signups)),
            "p99_ms": max(mix.p99_ms, signups.p99_ms),
            "rss_mb": round(watch.peak, 1),
            "cpu_ms": watch.per_request(mix.requests + signups.requests),
            "settle_s": settled,
            "machine_busy": busy_before,
            "others_busy": watch.others,
        }


def named(url: str, application: str) -> str:
    """The URL with a PostgreSQL application_name, to find the connections' statements."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return url
    return parsed.update_query_dict({"application_name": application}).render_as_string(
        hide_password=False
    )


def hub_environment(url: str, port: int, secret_key: str) -> dict[str, str]:
    return {
        "HUB_ENV": "production",
        "HUB_SECRET_KEY": secret_key,
        "HUB_BASE_URL": f"http://127.0.0.1:{port}",
        "HUB_DEV_IDP": "false",
        "HUB_DATABASE_URL": url,
        "HUB_COUNT_QUERIES": "1",
        # wrk searches thousands of times a minute as one person from one address: the
        # search limits would answer most of it 429.
        "HUB_SEARCHES_PER_MINUTE_PER_PERSON": "1000000000",
        "HUB_SEARCHES_PER_MINUTE_PER_IP": "1000000000",
    }


def database_bytes(url: str, sizes: dict[str, int]) -> int:
    if "bytes" in sizes:
        return sizes["bytes"]
    path = make_url(url).database or ""
    return sum(
        Path(path + suffix).stat().st_size
        for suffix in ("", "-wal")
        if path and Path(path + suffix).exists()
    )


def _stop(signum: int, _frame: object) -> None:
    """On SIGTERM, unwind (the servers stop with their context managers)."""
    raise SystemExit(128 + signum)


@contextmanager
def announced(what: str) -> Iterator[None]:
    print(what + "…", flush=True)
    started = time.monotonic()
    yield
    print(f"  ({time.monotonic() - started:.0f} s)", flush=True)


def main(argv: list[str] | None = None) -> None:
    args = _args(argv)
    signal.signal(signal.SIGTERM, _stop)
    machine_at_start = machine()
    # Other work on the machine skews every number: measured, kept with the results.
    machine_at_start["cpu_busy_before"] = round(cpu_busy(3), 3)
    if machine_at_start["cpu_busy_before"] > IDLE_CPU:
        print(
            f"Warning: {machine_at_start['cpu_busy_before']:.0%} of the CPU was in use before "
            "the run: something else is using the machine, the numbers will show it.",
            file=sys.stderr,
        )
    url = database_url(args.database_url)
    wrk = ensure_wrk()
    port = free_port()
    secret_key = secrets.token_urlsafe(36)  # 48 characters
    settings = Settings(
        env=Environment.production,
        secret_key=secret_key,
        database_url=url,
        base_url=f"http://127.0.0.1:{port}",
        dev_idp=False,
    )
    engine = make_engine(settings)
    upgraded = upgrade_schema(engine)
    needed = max(args.users, args.soak_users // SOAK_SIGNUP_SHARE)
    with announced("Choosing the pages"), Session(engine) as session:
        plan = pages.plan_pages(
            session,
            settings,
            args.member,
            needed,
            args.common_term,
            args.rare_term,
            args.signup,
        )
        sizes = pages.database_size(session)
    sizes["bytes"] = database_bytes(url, sizes)
    label = args.label or label_for(sizes["reports"]) + (
        "" if engine.dialect.name == "postgresql" else "-sqlite"
    )
    wanted = set(args.pages.split(",")) if args.pages else None
    chosen = [page for page in plan.pages if wanted is None or page.key in wanted]
    runner = Runner(
        args, engine, plan, engine.url.database if engine.dialect.name == "postgresql" else None
    )

    measured: list[dict[str, Any]] = []
    soak: dict[str, Any] | None = None
    env = hub_environment(named(url, HUB_APPLICATION), port, secret_key)
    with Server("hub.asgi:app", port, args.workers, env, "/readyz") as hub:
        idle_rss = round(max(rss_mb(pid) for pid in hub.worker_pids()), 1)
        print(f"Hub on {hub.base_url}, {args.workers} workers, {idle_rss} MB each at rest")
        with announced(f"Pages, {args.users} users, {args.duration} s each"):
            for page in chosen:
                measured.append(runner.measure_page(hub, page))
            if wanted is None or "signup" in wanted:
                measured.append(runner.measure_signup(hub))
        if args.soak:
            with announced(f"Soak, {args.soak_users} users for {args.soak_duration} s"):
                soak = runner.soak(hub, [page.path for page in plan.pages])

    floor: dict[str, Any] | None = None
    if not args.no_floor:
        floor_port = free_port()
        floor_env = {
            "BENCH_FLOOR_DATABASE_URL": named(url, FLOOR_APPLICATION),
            "BENCH_FLOOR_GROUP_ID": str(plan.group_id),
        }
        with (
            announced("Floor"),
            Server("bench.floor:app", floor_port, args.workers, floor_env, "/") as app,
        ):
            load, watch = runner.load(app, ["page", "none", "/"], args.users)
            floor = asdict(load) | runner.after(watch, load) | {"title": "Floor", "path": "/"}
        for entry in measured:
            if "rps" in entry:
                entry["floor_ratio"] = round(entry["rps"] / floor["rps"], 3)

    outcome = {
        "label": label,
        "backend": engine.dialect.name,
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "settings": {
            "workers": args.workers,
            "users": args.users,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
        },
        "machine": machine_at_start,
        "versions": versions(engine, wrk),
        "source": source_state(),
        "schema_upgraded": upgraded,
        "database": sizes,
        "member": plan.member,
        "idle_rss_mb": idle_rss,
        "pages": measured,
        "floor": floor,
        "soak": soak,
    }
    engine.dispose()
    path = BENCH / f"results-{label}.json"
    path.write_text(json.dumps(outcome, indent=2, ensure_ascii=False) + "\n")
    markdown = results.write_markdown(BENCH)
    print(results.summary(outcome))
    print(f"Wrote {path.relative_to(ROOT)} and {markdown.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
