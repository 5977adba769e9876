"""Writing generated rows fast, on SQLite and on PostgreSQL.

SQLite: SQLAlchemy Core executemany (straight to the driver) in large batches, with
foreign keys off, WAL, no fsync and a big cache during the load. PostgreSQL: COPY through
psycopg 3, into tables truncated in the same transaction (COPY ... FREEZE: no vacuum
needed afterwards).

On both, secondary indexes, unique constraints and foreign keys are dropped before the
load and rebuilt after it (on PostgreSQL, but for the two indexes the search documents
are read by): building an index once is much faster than growing it row by row, and
rebuilding them checks every row against them (PostgreSQL validates each foreign key
again; SQLite runs `PRAGMA foreign_key_check`). CHECK constraints stay on throughout.
The full-text index is filled with INSERT ... SELECT over ranges of report ids, the
documents built in SQL as hub.intel.search_index builds them one by one.
"""

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from bench.progress import Progress

Row = tuple[Any, ...]
Bar = Callable[[str, int], Progress]  # a progress bar for a step: (label, total)
DAY = 86_400

# The documents of hub.intel.search_index, built in SQL for a range of report ids. Body:
# the non-empty parts of (description, marketplace, brands, products), one per line.
# Extra: the comments, then "value normalised" of each indicator, one per line.
_PG_SEARCH = """
INSERT INTO intel_search (report_id, content, document)
SELECT d.id, d.title || E'\\n' || d.rest, setweight(to_tsvector('simple', d.title), 'A')
    || to_tsvector('simple', d.rest)
    || to_tsvector('simple', regexp_replace(d.rest, '[^[:alnum:]]+', ' ', 'g'))
FROM (
    SELECT r.id, r.title,
        concat_ws(E'\\n', NULLIF(r.body_md, ''), NULLIF(r.marketplace, ''),
            NULLIF(r.brands_affected, ''), NULLIF(r.products_affected, ''))
        || E'\\n' || concat_ws(E'\\n', c.text, i.text) AS rest
    FROM intel_report r
    LEFT JOIN (
        SELECT report_id, string_agg(body_md, E'\\n' ORDER BY id) AS text
        FROM intel_comment WHERE report_id BETWEEN %(low)s AND %(high)s GROUP BY report_id
    ) c ON c.report_id = r.id
    LEFT JOIN (
        SELECT report_id, string_agg(value || ' ' || normalised, E'\\n' ORDER BY id) AS text
        FROM intel_indicator WHERE report_id BETWEEN %(low)s AND %(high)s GROUP BY report_id
    ) i ON i.report_id = r.id
    WHERE r.id BETWEEN %(low)s AND %(high)s
) d
"""

_SQLITE_SEARCH = """
INSERT INTO intel_search (report_id, title, body, extra)
SELECT r.id, r.title,
    substr(
        CASE WHEN r.body_md <> '' THEN char(10) || r.body_md ELSE '' END
        || CASE WHEN r.marketplace <> '' THEN char(10) || r.marketplace ELSE '' END
        || CASE WHEN r.brands_affected <> '' THEN char(10) || r.brands_affected ELSE '' END
        || CASE WHEN r.products_affected <> '' THEN char(10) || r.products_affected ELSE '' END,
        2),
    substr(
        coalesce(char(10) || (SELECT group_concat(body_md, char(10)) FROM (
            SELECT body_md FROM intel_comment c WHERE c.report_id = r.id ORDER BY c.id)), '')
        || coalesce(char(10) || (SELECT group_concat(text, char(10)) FROM (
            SELECT value || ' ' || normalised AS text FROM intel_indicator i
            WHERE i.report_id = r.id ORDER BY i.id)), ''),
        2)
FROM intel_report r WHERE r.id BETWEEN ? AND ?
"""

SEARCH_CHUNK = 20_000


class Clock:
    """Epoch seconds as the text each database stores a UTC timestamp as, fast: a date
    and a time of day looked up, not formatted, for each of millions of rows."""

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix
        self._days: dict[int, str] = {}
        self._times = [
            f" {h:02d}:{m:02d}:{s:02d}{suffix}"
            for h in range(24)
            for m in range(60)
            for s in range(60)
        ]

    def __call__(self, seconds: int) -> str:
        day, rest = divmod(seconds, DAY)
        text = self._days.get(day)
        if text is None:
            text = self._days[day] = datetime.fromtimestamp(day * DAY, UTC).strftime("%Y-%m-%d")
        return text + self._times[rest]


@dataclass(frozen=True)
class Dropped:
    """What was taken off for the load, to put back after it."""

    indexes: list[tuple[str, str, str]]  # (table, name, CREATE statement)
    uniques: list[tuple[str, str, str]]  # (table, name, definition)
    foreign_keys: list[tuple[str, str, str]]  # (table, name, definition)


class Loader(ABC):
    """One database being filled: rows in, then indexes, search and statistics."""

    dialect: str

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.connection: Connection = engine.connect()
        self.when: Callable[[int], str] = Clock("")
        self.dropped = Dropped([], [], [])
        self.search_seconds = 0.0  # spent building the search index beside the load

    @abstractmethod
    def money(self, cents: int) -> Any:
        """An amount of money (Numeric(14, 2)) as this database takes it."""

    @staticmethod
    def day(value: date) -> str:
        return value.isoformat()

    @abstractmethod
    def prepare(self) -> None:
        """Set the connection up for the load and take the indexes off."""

    @abstractmethod
    def write(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None: ...

    def commit(self) -> None:
        self.connection.commit()

    def checkpoint(self) -> None:
        """Between batches: SQLite commits (its WAL would grow to the whole load);
        PostgreSQL loads in one transaction, which COPY ... FREEZE needs."""
        if self.dialect == "sqlite":
            self.connection.commit()

    @abstractmethod
    def reports_written(self, low: int, high: int) -> None:
        """Reports low..high are written with their comments and indicators."""

    @abstractmethod
    def finish(self, max_report_id: int, bar: Bar, timings: dict[str, float]) -> None:
        """After the load: the search index, the indexes and keys taken off, the
        sequences and the statistics; each step's seconds added to `timings`."""

    def count(self, table: str) -> int:
        value = self.connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
        return int(value or 0)

    def close(self) -> None:
        self.connection.close()


class SqliteLoader(Loader):
    dialect = "sqlite"

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.when = Clock(".000000")  # as SQLAlchemy stores a DateTime on SQLite

    def money(self, cents: int) -> Any:
        return cents / 100  # SQLAlchemy's Numeric on SQLite stores a float

    def prepare(self) -> None:
        for pragma in (
            "foreign_keys=OFF",  # checked once at the end (PRAGMA foreign_key_check)
            "journal_mode=WAL",
            "synchronous=OFF",
            "cache_size=-1000000",  # about 1 GB
            "temp_store=MEMORY",
        ):
            self.connection.exec_driver_sql(f"PRAGMA {pragma}")
        rows = self.connection.exec_driver_sql(
            "SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'index' "
            "AND sql IS NOT NULL AND tbl_name NOT LIKE 'intel_search%'"
        ).all()
        self.dropped = Dropped([(t, n, s) for t, n, s in rows], [], [])
        for _table, name, _sql in self.dropped.indexes:
            self.connection.exec_driver_sql(f'DROP INDEX "{name}"')
        self.connection.commit()

    def write(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        if not rows:
            return
        marks = ", ".join("?" * len(columns))
        self.connection.exec_driver_sql(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", list(rows)
        )

    def reports_written(self, low: int, high: int) -> None:
        """Nothing yet: SQLite has one writer, so the index is built after the load."""

    def finish(self, max_report_id: int, bar: Bar, timings: dict[str, float]) -> None:
        """Indexes first (the search documents are read through them), then the search
        index, the foreign key check and the statistics. Sequences need nothing: SQLite
        takes the next rowid after the highest."""
        c = self.connection
        with timed(timings, "indexes"), bar("indexes", len(self.dropped.indexes)) as progress:
            for _table, _name, sql in self.dropped.indexes:
                c.exec_driver_sql(sql)
                progress.advance()
            c.commit()
        with timed(timings, "search index"), bar("search index", max_report_id) as progress:
            for low in range(1, max_report_id + 1, SEARCH_CHUNK):
                high = min(low + SEARCH_CHUNK - 1, max_report_id)
                c.exec_driver_sql(_SQLITE_SEARCH, (low, high))
                progress.advance(high - low + 1)
            c.commit()
        with timed(timings, "foreign keys"), bar("foreign keys", 1) as progress:
            broken = c.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"rows breaking foreign keys, e.g. {broken[:5]}")
            progress.advance()
        with timed(timings, "analyze"):
            c.exec_driver_sql("PRAGMA analysis_limit=2000")
            c.exec_driver_sql("ANALYZE")
            c.commit()
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


class PostgresLoader(Loader):
    """COPY in one transaction. Some batches of reports are put in the search index by
    the server while the generator makes the next batches (in the same transaction, so it
    sees the rows); the others after the load, on two connections. A batch is indexed
    during the load only while the server, storing and indexing, keeps up with the
    generator: so both cores stay busy, during the load (one generates, the other stores
    and indexes) and after it (both index), whatever else the machine is doing. The two
    indexes the search documents are read by are kept during the load, growing in id
    order."""

    dialect = "postgresql"
    KEEP = frozenset(("ix_intel_comment_report_id_id", "ix_intel_indicator_report_id"))
    balance = True  # False: index every batch during the load (for comparison)

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.when = Clock("+00")
        self.tables: list[str] = []
        self._indexing: threading.Thread | None = None
        self._indexing_error: BaseException | None = None
        self.load_started = time.perf_counter()
        self.copy_seconds = 0.0
        self.waited = 0.0  # the generator held up by the server
        self.indexed_batches = 0
        self.indexed = 0  # reports indexed during the load
        self.later: list[tuple[int, int]] = []  # (low, high) of batches to index after it
        self.written_up_to = 0

    def _wait(self) -> None:
        """Let the search index finish its batch before the connection is used again."""
        if self._indexing is not None:
            started = time.perf_counter()
            self._indexing.join()
            self._indexing = None
            self.waited += time.perf_counter() - started
        if self._indexing_error is not None:
            raise RuntimeError("building the search index failed") from self._indexing_error

    def reports_written(self, low: int, high: int) -> None:
        self.written_up_to = high
        self._wait()
        # The server stores while the generator formats rows for COPY: both are busy then.
        server_busy = self.copy_seconds + self.search_seconds
        generator_busy = time.perf_counter() - self.load_started - self.waited
        per_batch = self.search_seconds / self.indexed_batches if self.indexed_batches else 0
        if self.balance and server_busy + per_batch > generator_busy:
            self.later.append((low, high))  # the server would hold the generator up
            return
        raw = self.connection.connection.driver_connection
        assert raw is not None

        def index() -> None:
            started = time.perf_counter()
            try:
                with raw.cursor() as cursor:
                    cursor.execute(_PG_SEARCH, {"low": low, "high": high})
            except BaseException as error:  # raised again by _wait, in the main thread
                self._indexing_error = error
            self.search_seconds += time.perf_counter() - started

        self.indexed += high - low + 1
        self.indexed_batches += 1
        self._indexing = threading.Thread(target=index, name="search-index")
        self._indexing.start()

    def commit(self) -> None:
        self._wait()
        super().commit()

    def count(self, table: str) -> int:
        self._wait()
        return super().count(table)

    def close(self) -> None:
        self._wait()
        super().close()

    def money(self, cents: int) -> Any:
        sign = "-" if cents < 0 else ""
        return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"

    def _settings(self, connection: Connection) -> None:
        connection.exec_driver_sql("SET synchronous_commit = off")
        connection.exec_driver_sql("SET maintenance_work_mem = '512MB'")
        connection.exec_driver_sql("SET work_mem = '256MB'")
        connection.exec_driver_sql("SET max_parallel_workers_per_gather = 0")

    def prepare(self) -> None:
        c = self.connection
        self._settings(c)
        self.tables = [
            name
            for (name,) in c.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version' ORDER BY tablename"
            )
        ]
        constraints = c.exec_driver_sql(
            "SELECT k.contype, k.conrelid::regclass::text, k.conname, pg_get_constraintdef(k.oid) "
            "FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace "
            "WHERE n.nspname = 'public' AND k.contype IN ('f', 'u') ORDER BY k.conname"
        ).all()
        indexes = c.exec_driver_sql(
            "SELECT t.relname, i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_namespace n ON n.oid = i.relnamespace WHERE n.nspname = 'public' "
            # Partial indexes stay (small here): pg_get_indexdef gives their predicates
            # back rewritten, equivalent but not as the migrations wrote them.
            "AND t.relname <> 'alembic_version' AND x.indpred IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k "
            "WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid "
            "AND k.contype IN ('p', 'u', 'x')) ORDER BY i.relname"
        ).all()
        self.dropped = Dropped(
            indexes=[(t, n, s) for t, n, s in indexes],
            uniques=[(t, n, d) for kind, t, n, d in constraints if kind == "u"],
            foreign_keys=[(t, n, d) for kind, t, n, d in constraints if kind == "f"],
        )
        for table, name, _ in self.dropped.foreign_keys + self.dropped.uniques:
            c.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        self.dropped.indexes[:] = [i for i in self.dropped.indexes if i[1] not in self.KEEP]
        for _table, name, _ in self.dropped.indexes:
            c.exec_driver_sql(f'DROP INDEX "{name}"')
        # Emptied in this transaction, so COPY can write the rows frozen and all-visible.
        c.exec_driver_sql(f"TRUNCATE {', '.join(self.tables)}")
        self.load_started = time.perf_counter()

    def write(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        if not rows:
            return
        self._wait()
        raw = self.connection.connection.driver_connection
        assert raw is not None
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FREEZE)"
        started = time.perf_counter()
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        self.copy_seconds += time.perf_counter() - started

    def _parallel(self, tasks: list[list[str]], progress: Progress, workers: int = 2) -> None:
        """Run independent DDL on two connections at once (this machine has two cores):
        each connection takes the next task as it finishes one, in the order given, and
        runs the task's statements one after the other."""
        waiting = list(reversed(tasks))
        lock = threading.Lock()

        def work() -> None:
            with self.engine.connect() as connection:
                self._settings(connection)
                connection.exec_driver_sql("SET max_parallel_maintenance_workers = 0")
                connection.commit()
                while True:
                    with lock:
                        if not waiting:
                            return
                        task = waiting.pop()
                    for sql in task:
                        connection.exec_driver_sql(sql)
                        connection.commit()
                        with lock:
                            progress.advance()

        with ThreadPoolExecutor(workers) as pool:
            for future in [pool.submit(work) for _ in range(workers)]:
                future.result()

    def _sizes(self) -> dict[str, int]:
        rows = self.connection.exec_driver_sql(
            "SELECT relname, pg_total_relation_size(oid) FROM pg_class "
            "WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
        ).all()
        self.connection.commit()
        return {name: int(size) for name, size in rows}

    def finish(self, max_report_id: int, bar: Bar, timings: dict[str, float]) -> None:
        """The search index's last batches; the foreign keys back NOT VALID (at once);
        then, on two connections, every index (the biggest first) and every key's
        validation: validating takes light locks, so it runs beside index builds."""
        self.commit()
        with timed(timings, "search index"), bar("search index", max_report_id) as progress:
            progress.advance(self.indexed)
            self._search_rest(max_report_id, progress)
        # Unique constraints first, here: adding one locks its table entirely, which would
        # hold up the checks of the keys that reference the table.
        c = self.connection
        for table, name, definition in self.dropped.uniques:
            c.exec_driver_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for table, name, definition in self.dropped.foreign_keys:
            c.exec_driver_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition} NOT VALID')
        c.commit()
        # One task a table (its indexes, then its keys' checks, which would wait for an
        # index build on the table anyway), the biggest tables first.
        tasks: dict[str, list[str]] = {}
        for t, _n, sql in self.dropped.indexes:
            tasks.setdefault(t, []).append(sql)
        for t, n, _d in self.dropped.foreign_keys:
            tasks.setdefault(t, []).append(f'ALTER TABLE {t} VALIDATE CONSTRAINT "{n}"')
        sizes = self._sizes()
        ordered = [tasks[t] for t in sorted(tasks, key=lambda t: -sizes.get(t, 0))]
        total = sum(len(task) for task in ordered)
        with timed(timings, "indexes, keys"), bar("indexes, keys", total) as progress:
            self._parallel(ordered, progress)
        with timed(timings, "sequences"):
            self._reset_sequences()
        # VACUUM sets the visibility map of the search index (the only table not written
        # frozen); ANALYZE gives the planner its statistics.
        autocommit = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        with timed(timings, "analyze"), autocommit as auto:
            auto.exec_driver_sql("VACUUM (ANALYZE) intel_search")
            auto.exec_driver_sql("ANALYZE")

    def _search_rest(self, max_report_id: int, progress: Progress) -> None:
        """The batches not indexed during the load, two at a time."""
        tail = range(self.written_up_to + 1, max_report_id + 1, SEARCH_CHUNK)
        batches = self.later + [(low, min(low + SEARCH_CHUNK - 1, max_report_id)) for low in tail]

        def run(low: int, high: int) -> None:
            with self.engine.connect() as connection:
                self._settings(connection)
                raw = connection.connection.driver_connection
                assert raw is not None
                with raw.cursor() as cursor:
                    cursor.execute(_PG_SEARCH, {"low": low, "high": high})
                connection.commit()
            progress.advance(high - low + 1)

        with ThreadPoolExecutor(2) as pool:
            for future in [pool.submit(run, low, high) for low, high in batches]:
                future.result()

    def _reset_sequences(self) -> None:
        c = self.connection
        serials = c.exec_driver_sql(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND starts_with(column_default, 'nextval(')"
        ).all()
        for table, column in serials:
            c.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                f"coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)"
            )
        c.commit()


def loader_for(engine: Engine) -> Loader:
    if engine.dialect.name == "postgresql":
        return PostgresLoader(engine)
    if engine.dialect.name == "sqlite":
        return SqliteLoader(engine)
    raise SystemExit(f"Unsupported database: {engine.dialect.name}")


@contextmanager
def timed(timings: dict[str, float], label: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[label] = timings.get(label, 0.0) + time.perf_counter() - started
