"""Throwaway test databases: a SQLite file, or a fresh PostgreSQL database per run.

HUB_TEST_DATABASE_URL picks the server (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres);
without it the tests use SQLite.
"""

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def backend() -> str:
    url = os.environ.get("HUB_TEST_DATABASE_URL", "")
    return make_url(url).get_backend_name() if url else "sqlite"


@contextmanager
def throwaway_database(tmp_dir: Path) -> Iterator[str]:
    """Yield the URL of an empty database that is removed afterwards."""
    server_url = os.environ.get("HUB_TEST_DATABASE_URL", "")
    if not server_url:
        yield f"sqlite:///{tmp_dir / f'hub-{secrets.token_hex(4)}.db'}"
        return
    server = make_url(server_url)
    name = f"hub_test_{secrets.token_hex(6)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
