"""Counting the SQL statements each request runs, for the benchmarks (bench/run.py) and
the query-count tests: with HUB_COUNT_QUERIES=1 every response carries `X-Queries`.

The count lives in a context variable holding a mutable cell, so statements run on the
threadpool (where sync routes and dependencies run, on a copy of the request's context)
add to the request's own count.
"""

from contextvars import ContextVar
from typing import Any

from sqlalchemy import Engine, event
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTROL = ("BEGIN", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")
_count: ContextVar[list[int] | None] = ContextVar("hub_query_count", default=None)


def _counted(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    cell = _count.get()
    # Transaction control is not a query (SQLite's BEGIN is sent as a statement, see
    # hub.db; the tests' savepoints too).
    if cell is not None and not statement.startswith(CONTROL):
        cell[0] += 1


def watch(engine: Engine) -> None:
    if not event.contains(engine, "before_cursor_execute", _counted):
        event.listen(engine, "before_cursor_execute", _counted)


class QueryCountHeader:
    """Pure ASGI middleware: the number of statements of the request, as a header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cell = [0]
        token = _count.set(cell)

        async def send_with_count(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-queries", str(cell[0]).encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_count)
        finally:
            _count.reset(token)
