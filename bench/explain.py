"""The SQL behind each page bench/run.py measures, with the database's plan of the slowest
statements: what to look at when a page misses its target.

    python -m bench.explain --database-url URL [--member EMAIL] [--top 3] [--label 1M]

Runs the hub in this process (FastAPI's TestClient), requests each page twice (the second
time with warm caches) and records every statement with its parameters and time; then
EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, or EXPLAIN QUERY PLAN on SQLite, of the `--top`
slowest reads of each page. Writes bench/EXPLAIN-<label>.md.
"""

import argparse
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlmodel import Session

from bench import pages
from bench.run import BENCH, ROOT, database_url, label_for
from hub.app import create_app
from hub.config import Environment, Settings
from hub.db import make_engine
from hub.query_count import CONTROL

SQL_SHOWN = 1500  # characters of a statement printed in full


@dataclass
class Statement:
    sql: str
    parameters: Any
    ms: float


class Recorder:
    """Every statement the engine runs while `on`, with its parameters and duration."""

    def __init__(self, engine: Engine) -> None:
        self.on = False
        self.statements: list[Statement] = []
        self.lock = threading.Lock()
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, connection: Any, _cursor: Any, *_rest: Any) -> None:
        connection.info["bench_started"] = time.perf_counter()

    def _after(self, connection: Any, _cursor: Any, sql: str, parameters: Any, *_rest: Any) -> None:
        if not self.on or sql.startswith(CONTROL):
            return
        took = (time.perf_counter() - connection.info.pop("bench_started")) * 1000
        with self.lock:
            self.statements.append(Statement(sql, parameters, took))

    def take(self) -> list[Statement]:
        with self.lock:
            taken, self.statements = self.statements, []
        return taken


def plan_text(engine: Engine, statement: Statement) -> str:
    postgres = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(prefix + statement.sql, statement.parameters).all()
        connection.rollback()
    if postgres:
        return "\n".join(str(row[0]) for row in rows)
    return "\n".join(f"{'  ' * int(row[1] != 0)}{row[-1]}" for row in rows)


def is_read(sql: str) -> bool:
    return sql.lstrip().upper().startswith(("SELECT", "WITH"))


def page_section(
    engine: Engine, title: str, path: str, statements: list[Statement], top: int
) -> list[str]:
    total = sum(s.ms for s in statements)
    lines = [
        f"## {title}: `{path}`",
        "",
        f"{len(statements)} statements, {total:.1f} ms in the database (warm, one request).",
        "",
        "| # | ms | statement |",
        "|--:|--:|---|",
    ]
    for number, statement in enumerate(statements, 1):
        first_line = " ".join(statement.sql.split())[:140].replace("|", "\\|")
        lines.append(f"| {number} | {statement.ms:.1f} | `{first_line}` |")
    slowest = sorted((s for s in statements if is_read(s.sql)), key=lambda s: -s.ms)[:top]
    for statement in slowest:
        number = statements.index(statement) + 1
        sql = statement.sql if len(statement.sql) <= SQL_SHOWN else statement.sql[:SQL_SHOWN]
        lines += [
            "",
            f"Statement {number} ({statement.ms:.1f} ms), parameters `{statement.parameters}`:",
            "",
            "```sql",
            sql.strip(),
            "```",
            "",
            "```",
            plan_text(engine, statement),
            "```",
        ]
    lines.append("")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.explain", description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--member", default=pages.DEFAULT_MEMBER)
    parser.add_argument("--top", type=int, default=3, help="plans of the N slowest reads")
    parser.add_argument("--label", help="names the output; default: the report count")
    parser.add_argument("--common-term")
    parser.add_argument("--rare-term")
    args = parser.parse_args(argv)

    settings = Settings(
        env=Environment.production,
        secret_key=secrets.token_urlsafe(36),
        database_url=database_url(args.database_url),
        base_url="http://127.0.0.1",
        dev_idp=False,
    )
    engine = make_engine(settings)
    with Session(engine) as session:
        plan = pages.plan_pages(session, settings, args.member, 1, args.common_term, args.rare_term)
        reports = pages.database_size(session)["reports"]
    label = args.label or label_for(reports) + (
        "" if engine.dialect.name == "postgresql" else "-sqlite"
    )
    recorder = Recorder(engine)
    lines = [
        f"# SQL of the measured pages: {label} ({engine.dialect.name}, {reports:,} reports)",
        "",
        f"Made by `python -m bench.explain` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        f", signed in as {plan.member}. Times are single warm runs in one process (no load).",
        "",
    ]
    app = create_app(settings, engine)
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        client.cookies.set(pages.SESSION_COOKIE, plan.cookie)
        for page in plan.pages:
            client.get(page.path)
            recorder.on = True
            answer = client.get(page.path)
            recorder.on = False
            if answer.status_code != 200:
                lines += [f"## {page.title}: `{page.path}` answered {answer.status_code}", ""]
                recorder.take()
                continue
            lines += page_section(engine, page.title, page.path, recorder.take(), args.top)
            print(f"{page.title}: done", flush=True)
        post = plan.form_post
        assert post is not None
        headers = {
            "x-csrf-token": plan.csrf,
            "content-type": "application/x-www-form-urlencoded",
        }
        client.post(post.path, content=post.body, headers=headers)
        recorder.on = True
        client.post(post.path, content=post.body, headers=headers)
        recorder.on = False
        lines += page_section(engine, "Sign-up POST", post.path, recorder.take(), args.top)
    engine.dispose()
    out = BENCH / f"EXPLAIN-{label}.md"
    out.write_text("\n".join(lines))
    print(f"Wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
