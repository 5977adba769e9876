"""The floor of bench/run.py: the least a page can cost on this stack, in the spirit of
TechEmpower's "Fortunes". One Starlette route, run on the threadpool like the hub's sync
routes, reads the 50 newest reports of the board being measured with one query and
renders them with Jinja2 (autoescaped) into a small HTML table. No session, no sign-in,
no ORM: every hub page pays for those, so the ratio of a page's throughput to this one
says what the hub adds on top of the database, the template engine and the server.

Not part of the hub. Configured from the environment by bench/run.py:
BENCH_FLOOR_DATABASE_URL (SQLAlchemy URL) and BENCH_FLOOR_GROUP_ID (the board's group).
"""

import os
from typing import Any

from jinja2 import Environment, select_autoescape
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

ROWS = 50
THREADS = 40  # the hub's default HUB_THREADS: same threadpool and connection pool

TEMPLATE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Reports</title></head>
<body>
<table>
<tr><th>id</th><th>title</th><th>marketplace</th><th>TLP</th><th>status</th><th>posted</th></tr>
{% for row in rows %}
<tr><td>{{ row.id }}</td><td>{{ row.title }}</td><td>{{ row.marketplace }}</td>
<td>{{ row.tlp }}</td><td>{{ row.status }}</td><td>{{ row.created_at }}</td></tr>
{% endfor %}
</table>
</body>
</html>
"""

QUERY = text(
    "SELECT id, title, marketplace, tlp, status, created_at FROM intel_report "
    "WHERE group_id = :group_id ORDER BY id DESC LIMIT :rows"
)


def make_floor_engine(url: str) -> Engine:
    pool: dict[str, Any] = {"pool_size": 10, "max_overflow": THREADS - 10, "pool_timeout": 10}
    if make_url(url).get_backend_name() == "sqlite":
        return create_engine(url, connect_args={"check_same_thread": False}, **pool)
    return create_engine(url, **pool)


engine = make_floor_engine(os.environ.get("BENCH_FLOOR_DATABASE_URL", "sqlite:///./var/hub.db"))
group_id = int(os.environ.get("BENCH_FLOOR_GROUP_ID", "1"))
template = Environment(autoescape=select_autoescape(default=True)).from_string(TEMPLATE)


def reports(request: Request) -> HTMLResponse:
    with engine.connect() as connection:
        rows = connection.execute(QUERY, {"group_id": group_id, "rows": ROWS}).all()
    return HTMLResponse(template.render(rows=rows))


app = Starlette(routes=[Route("/", reports)])
