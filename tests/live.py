"""A real hub served by uvicorn in a child process, with demo data and the development
identity provider, for tests that need real HTTP: the login flow and the browser."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from hub.auth.sessions import load_actor
from hub.config import Environment, Settings
from hub.db import make_engine, upgrade_database
from hub.demo import load_demo_data
from hub.groups.models import GroupMembership
from hub.members.models import Brand, Person, Role
from hub.policy import Actor

LIVE_SECRET = "live-test-secret-key-long-enough-to-pass-the-checks"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveHub:
    base_url: str
    settings: Settings
    engine: Engine
    log_path: Path
    pid: int  # uvicorn's: with --workers, the supervisor of the worker processes

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def actor_in_a_group(self, session: Session, role: Role) -> Actor:
        """The first active demo person of `role` whose brand is in a working group."""
        row = session.exec(
            select(Person, Brand)
            .join(Brand, col(Brand.id) == Person.brand_id)
            .where(
                Person.role == role,
                col(Person.is_active).is_(True),
                col(Brand.is_active).is_(True),
                col(Brand.id).in_(select(GroupMembership.brand_id)),
            )
            .order_by(col(Person.id))
        ).first()
        assert row is not None, f"the demo data has no {role} in a working group"
        actor = load_actor(session, *row)
        assert actor.group_ids, f"{actor.email} is in no working group"
        return actor


def wait_until_up(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the hub exited early:\n{log_path.read_text()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the hub did not start:\n{log_path.read_text()}")


@contextmanager
def live_hub(
    tmp_dir: Path, database_url: str, extra_env: dict[str, str] | None = None, workers: int = 1
) -> Iterator[LiveHub]:
    """Migrate, load the demo data, and serve the hub on a free loopback port."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = Settings(
        env=Environment.development,
        secret_key=LIVE_SECRET,
        database_url=database_url,
        base_url=base_url,
        upload_dir=str(tmp_dir / "uploads"),
    )
    engine = make_engine(settings)
    upgrade_database(engine)
    with Session(engine) as session:
        load_demo_data(session, settings)
    env = {
        **os.environ,
        "HUB_ENV": "development",
        "HUB_SECRET_KEY": LIVE_SECRET,
        "HUB_DATABASE_URL": database_url,
        "HUB_BASE_URL": base_url,
        "HUB_UPLOAD_DIR": settings.upload_dir,
        **(extra_env or {}),
    }
    log_path = tmp_dir / f"hub-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "hub.asgi:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(f"{base_url}/healthz", process, log_path)
        yield LiveHub(base_url, settings, engine, log_path, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        engine.dispose()
