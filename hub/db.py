"""The database engine, the per-request session, and SQLite's connection pragmas."""

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import Field
from sqlalchemy import Engine, event, update
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel, create_engine, select
from starlette.concurrency import run_in_threadpool

from hub.config import Settings

Row = TypeVar("Row", bound=SQLModel)

# The largest id a row can have (ids are 32-bit integers in the schema): a larger number
# sent by a form names no row, and the database refuses to compare it (PostgreSQL: integer
# out of range; SQLite cannot even bind one past 64 bits) rather than finding nothing.
MAX_ROW_ID = 2**31 - 1
# A row id a form sends as a number: a larger one is refused as bad input (422).
RowId = Annotated[int, Field(ge=0, le=MAX_ROW_ID)]


def row_id(text: str) -> int | None:
    """The row id a form field names, or None if it names none: ASCII digits only
    (str.isdigit() also takes "²", which int() refuses), no larger than MAX_ROW_ID."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ROW_ID)):
        return None
    number = int(text)
    return number if number <= MAX_ROW_ID else None


def make_engine(settings: Settings) -> Engine:
    url = make_url(settings.database_url)
    # Enough connections for every worker thread, so a request never waits on the pool
    # while holding a thread.
    pool_args: dict[str, Any] = {
        "pool_size": min(10, settings.threads),
        "max_overflow": max(0, settings.threads - 10),
        "pool_timeout": 10,
        "pool_pre_ping": True,
        # The most recently used connection first: a few warm connections (with their
        # prepared statements) serve most requests and the rest can time out.
        "pool_use_lifo": True,
        # A statement's parameters (token hashes, e-mail addresses, report text) never go
        # into an error message, so never into a log.
        "hide_parameters": True,
    }
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **pool_args)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, **pool_args)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The sqlite3 module's own transaction handling breaks SAVEPOINTs and delays BEGIN;
    # switch it off and let SQLAlchemy emit BEGIN itself (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def session_factory(engine: Engine) -> Callable[[], Session]:
    """How the app opens database sessions; tests swap in one bound to a rolled-back
    transaction."""
    return lambda: Session(engine, expire_on_commit=False)


def open_session(request: Request) -> Session:
    factory: Callable[[], Session] = request.app.state.session_factory
    return factory()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session: the one hub.security.authenticate opened (one connection per
    request), or a new one where that did not run (the mounted API). Async, because handing
    over the shared session needs no thread; closing a new one does, so that goes to one."""
    shared: Session | None = getattr(request.state, "db", None)
    if shared is not None:
        yield shared
        return
    session = open_session(request)
    try:
        yield session
    finally:
        await run_in_threadpool(session.close)


def end_read(session: Session) -> None:
    """End the read transaction of the sign-in check on SQLite, whose WAL snapshot could not
    turn into a write once another connection has written; PostgreSQL (READ COMMITTED) has
    no such snapshot, so the transaction goes on without another round trip."""
    if session.get_bind().dialect.name == "sqlite":
        session.rollback()


SessionDep = Annotated[Session, Depends(get_session)]


def managed_by_alembic(name: str | None, type_: str, parent_names: Any) -> bool:
    """Autogenerate compares only the models' tables: the search index (an FTS5 virtual
    table and its shadow tables on SQLite) is built by hand in its own revision."""
    return not (type_ == "table" and name is not None and name.startswith("intel_search"))


def alembic_config(connection: Any = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_database(engine: Engine) -> None:
    """Bring the database schema to the newest Alembic revision."""
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")


def lock_row(session: Session, model: type[Row], row_id: int, column: str) -> Row | None:
    """Hold one row until the caller commits, and return it freshly read (None if gone).

    PostgreSQL locks the row (a no-op UPDATE of `column`); SQLite has one writer at a
    time, and takes the write lock only at the first write of a transaction, so a read
    transaction left open by the request is ended first: otherwise its old snapshot could
    not write. Callers decide on counts read after this, never before.
    """
    if session.get_bind().dialect.name == "sqlite" and session.in_transaction():
        session.commit()
    key = model.__table__.c["id"]  # type: ignore[attr-defined]
    field = getattr(model, column)
    locked = session.execute(update(model).where(key == row_id).values({column: field}))
    if getattr(locked, "rowcount", 1) == 0:
        return None
    return session.exec(
        select(model).where(key == row_id).execution_options(populate_existing=True)
    ).one()
