"""`hub db backup` and `hub db restore` carry the whole hub (every row of every table, every
evidence file) into one file and back, on SQLite and on PostgreSQL, even while the hub
writes; and a restore refuses, changing nothing, whatever would lose or corrupt data: a
database or evidence store that is not empty, a damaged or tampered backup, one made by a
newer hub, names that would escape the evidence store."""

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.pool import NullPool
from sqlmodel import Session, col, func, select

from hub import audit
from hub.backup import libpq_connection
from hub.cli import main
from hub.config import Environment, Settings, get_settings
from hub.db import alembic_config, make_engine, upgrade_database
from hub.demo import load_demo_data
from hub.groups.models import WorkingGroup
from hub.intel import evidence
from hub.intel.models import IntelReport
from hub.members.models import Person
from tests import factories
from tests.databases import backend, throwaway_database
from tests.intel.factories import actor_of, picture

Rows = dict[str, list[tuple[object, ...]]]
PDF = b"%PDF-1.4\n% a takedown notice, for the backup test\ntrailer<<>>\n%%EOF\n"


@dataclass(frozen=True)
class Hub:
    """A database and an evidence store: what a backup reads, or what a restore fills."""

    url: str
    upload_dir: Path

    @property
    def settings(self) -> Settings:
        return Settings(
            env=Environment.test, database_url=self.url, upload_dir=str(self.upload_dir)
        )

    @property
    def environment(self) -> dict[str, str]:
        return {
            "HUB_ENV": "test",
            "HUB_DATABASE_URL": self.url,
            "HUB_UPLOAD_DIR": str(self.upload_dir),
        }


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


def run_hub(hub: Hub, *args: str) -> Outcome:
    """`hub ARGS` in this process, configured for `hub` through the environment as a
    terminal would be."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(out), redirect_stderr(err):
        for name, value in hub.environment.items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        try:
            main(list(args))
            code = 0
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
        finally:
            get_settings.cache_clear()
    return Outcome(code, out.getvalue(), err.getvalue())


def hub_process(hub: Hub, *args: str) -> subprocess.CompletedProcess[str]:
    """`hub ARGS` as its own process, the installed command when there is one."""
    script = Path(sys.executable).with_name("hub")
    program = [str(script)] if script.exists() else [sys.executable, "-m", "hub.cli"]
    return subprocess.run(
        [*program, *args],
        env={**os.environ, **hub.environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def all_rows(url: str) -> Rows:
    """Every row of every table, all columns, ordered by primary key."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        inspector = inspect(engine)
        with engine.connect() as connection:
            return {
                table: rows_of(connection, table, inspector.get_pk_constraint(table))
                for table in inspector.get_table_names()
            }
    finally:
        engine.dispose()


def rows_of(
    connection: Connection, table: str, key: dict[str, list[str]]
) -> list[tuple[object, ...]]:
    quote = connection.dialect.identifier_preparer.quote
    if key["constrained_columns"]:
        order = ", ".join(quote(column) for column in key["constrained_columns"])
    else:
        width = len(connection.execute(text(f"SELECT * FROM {quote(table)} LIMIT 0")).keys())
        order = ", ".join(str(position) for position in range(1, width + 1))
    result = connection.execute(text(f"SELECT * FROM {quote(table)} ORDER BY {order}"))
    return [tuple(row) for row in result]


def table_names(hub: Hub) -> list[str]:
    if backend() == "sqlite" and not Path(hub.url.removeprefix("sqlite:///")).exists():
        return []
    engine = create_engine(hub.url, poolclass=NullPool)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def stored_files(directory: Path) -> dict[str, bytes]:
    """Every file under `directory`, by its path inside it."""
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def schema_head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def one_line_error(outcome: Outcome) -> str:
    """A refusal is exit status 1 and one line on stderr, never a traceback."""
    assert outcome.code == 1, outcome.out
    lines = outcome.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), outcome.err
    return lines[0]


def attach_evidence(session: Session, settings: Settings) -> None:
    """A PDF and a picture added to a report the way the hub adds them."""
    report = session.exec(select(IntelReport).order_by(col(IntelReport.id))).first()
    assert report is not None
    author = session.get(Person, report.author_id)
    assert author is not None
    uploads = [
        evidence.Upload("takedown-notice.pdf", PDF),
        evidence.Upload("listing.png", picture("backup-test")),
    ]
    evidence.attach(
        session, settings, actor_of(session, author), report, evidence.check_all(settings, uploads)
    )
    session.commit()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A hub with the demo alliance and its evidence, plus two files added here."""
    directory = tmp_path_factory.mktemp("source")
    with throwaway_database(directory) as url:
        hub = Hub(url, directory / "uploads")
        engine = make_engine(hub.settings)
        try:
            upgrade_database(engine)
            with Session(engine) as session:
                load_demo_data(session, hub.settings)
                attach_evidence(session, hub.settings)
        finally:
            engine.dispose()
        yield hub


@pytest.fixture(scope="module")
def source_rows(source: Hub) -> Rows:
    return all_rows(source.url)


@dataclass(frozen=True)
class Backup:
    path: Path
    process: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def archive(source: Hub, tmp_path_factory: pytest.TempPathFactory) -> Backup:
    """The source backed up by a real `hub db backup` process, uncompressed so tests can
    reach into its members."""
    path = tmp_path_factory.mktemp("backups") / "hub.tar"
    process = hub_process(source, "db", "backup", str(path))
    assert process.returncode == 0, process.stderr
    return Backup(path, process)


@dataclass(frozen=True)
class Restore:
    target: Hub
    outcome: Outcome


@pytest.fixture(scope="module")
def restored(archive: Backup, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Restore]:
    """The backup restored into an empty database and an empty evidence store."""
    directory = tmp_path_factory.mktemp("restored")
    with throwaway_database(directory) as url:
        target = Hub(url, directory / "uploads")
        yield Restore(target, run_hub(target, "db", "restore", str(archive.path)))


@pytest.fixture
def empty_target(tmp_path: Path) -> Iterator[Hub]:
    with throwaway_database(tmp_path) as url:
        yield Hub(url, tmp_path / "uploads")


def assert_nothing_restored(target: Hub) -> None:
    assert table_names(target) == []
    if target.upload_dir.exists():
        assert stored_files(target.upload_dir) == {}


def test_backup_command_writes_one_file_with_its_manifest(
    source: Hub, source_rows: Rows, archive: Backup
) -> None:
    """One file, nothing half-written beside it; its manifest records the revision, the
    rows of every table and the SHA-256 of every evidence file, and the file holds them."""
    assert "Backup written to" in archive.process.stdout
    assert "Traceback" not in archive.process.stderr
    assert [path.name for path in archive.path.parent.iterdir()] == ["hub.tar"]

    with tarfile.open(archive.path) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        dump = tar.extractfile(manifest["database"]["path"]).read()  # type: ignore[union-attr]
    assert names[-1] == "manifest.json"
    assert manifest["format_version"] == 1
    assert manifest["database_engine"] == backend()
    assert manifest["alembic_revision"] == schema_head()
    assert manifest["created_at"]
    assert manifest["database"]["sha256"] == hashlib.sha256(dump).hexdigest()
    assert manifest["tables"] == {table: len(rows) for table, rows in source_rows.items()}
    assert manifest["tables"]["intel_report"] >= 200

    files = stored_files(source.upload_dir)
    assert manifest["file_count"] == len(files) == len(manifest["files"]) >= 32
    assert {entry["path"]: entry["sha256"] for entry in manifest["files"]} == {
        path: hashlib.sha256(data).hexdigest() for path, data in files.items()
    }
    assert hashlib.sha256(PDF).hexdigest() in {entry["sha256"] for entry in manifest["files"]}
    assert set(names) == {"manifest.json", manifest["database"]["path"]} | {
        f"uploads/{path}" for path in files
    }


def test_restore_gives_back_every_row_and_every_file(
    source: Hub, source_rows: Rows, restored: Restore
) -> None:
    """Every table equal row by row and column by column, every file byte for byte."""
    assert restored.outcome.code == 0, restored.outcome.err
    assert "every SHA-256 matches" in restored.outcome.out
    assert "row counts match the manifest" in restored.outcome.out
    assert "Restore complete." in restored.outcome.out

    target_rows = all_rows(restored.target.url)
    assert sorted(target_rows) == sorted(source_rows)
    for table, rows in source_rows.items():
        assert target_rows[table] == rows, f"table {table} differs after the restore"
    assert len(source_rows["intel_evidence"]) >= 32

    files = stored_files(source.upload_dir)
    assert stored_files(restored.target.upload_dir) == files
    assert f"{hashlib.sha256(PDF).hexdigest()[:2]}/{hashlib.sha256(PDF).hexdigest()}" in files


def test_new_rows_after_a_restore_get_new_ids(restored: Restore) -> None:
    """The restored sequences continue where the backup's left off: new rows never collide."""
    assert restored.outcome.code == 0, restored.outcome.err
    engine = make_engine(restored.target.settings)
    try:
        if backend() == "postgresql":
            with engine.connect() as connection:
                assert_sequences_ahead(connection)
        with Session(engine) as session:
            newest_group = session.exec(select(func.max(WorkingGroup.id))).one()
            newest_person = session.exec(select(func.max(Person.id))).one()
            group = factories.make_group(session)
            person = factories.make_person(session, factories.make_brand(session, groups=[group]))
            audit.record(session, person.id, "backup test", "backup.checked", f"group:{group.id}")
            session.flush()
            assert group.id is not None and group.id > newest_group
            assert person.id is not None and person.id > newest_person
            session.rollback()
    finally:
        engine.dispose()


def assert_sequences_ahead(connection: Connection) -> None:
    """Every sequence behind a column stands at or past the largest value in it."""
    owned = connection.execute(
        text(
            "SELECT s.relname, t.relname, a.attname FROM pg_class s "
            "JOIN pg_depend d ON d.objid = s.oid "
            "JOIN pg_class t ON t.oid = d.refobjid "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid "
            "WHERE s.relkind = 'S' AND d.deptype IN ('a', 'i')"
        )
    ).all()
    assert len(owned) >= 20
    for sequence, table, column in owned:
        last = connection.execute(text(f'SELECT last_value FROM "{sequence}"')).scalar_one()
        largest = connection.execute(text(f'SELECT max("{column}") FROM "{table}"')).scalar()
        assert largest is None or last >= largest, f"{sequence} is behind {table}.{column}"


def test_restore_refuses_a_database_that_holds_data(
    source: Hub, source_rows: Rows, archive: Backup, tmp_path: Path
) -> None:
    """Restoring over the live hub is refused, says how to make an empty database, and
    leaves every row as it was."""
    target = Hub(source.url, tmp_path / "uploads")
    message = one_line_error(run_hub(target, "db", "restore", str(archive.path)))
    assert "is not empty" in message
    assert ("createdb" if backend() == "postgresql" else "a new file") in message
    assert all_rows(source.url) == source_rows
    assert stored_files(tmp_path) == {}


def test_restore_refuses_an_evidence_store_that_holds_files(
    archive: Backup, empty_target: Hub
) -> None:
    """A file already in the evidence store stops the restore before the database is
    touched, and stays as it was."""
    kept = empty_target.upload_dir / "ab" / "kept.pdf"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(PDF)
    message = one_line_error(run_hub(empty_target, "db", "restore", str(archive.path)))
    assert "HUB_UPLOAD_DIR" in message
    assert table_names(empty_target) == []
    assert stored_files(empty_target.upload_dir) == {"ab/kept.pdf": PDF}


@pytest.mark.parametrize("prefix", ["uploads/", "database/"])
def test_restore_refuses_a_tampered_backup(
    prefix: str, archive: Backup, empty_target: Hub, tmp_path: Path
) -> None:
    """One flipped byte in an evidence file or in the database dump: the SHA-256 check
    names the member and nothing is restored."""
    tampered = tmp_path / "tampered.tar"
    shutil.copy(archive.path, tampered)
    with tarfile.open(tampered) as tar:
        member = next(m for m in tar.getmembers() if m.name.startswith(prefix))
    with tampered.open("r+b") as raw:
        raw.seek(member.offset_data + member.size // 2)
        byte = raw.read(1)[0]
        raw.seek(-1, os.SEEK_CUR)
        raw.write(bytes([byte ^ 0x01]))

    message = one_line_error(run_hub(empty_target, "db", "restore", str(tampered)))
    assert member.name in message and "SHA-256" in message
    assert_nothing_restored(empty_target)


def test_a_damaged_compressed_backup_is_refused(
    archive: Backup, empty_target: Hub, tmp_path: Path
) -> None:
    """Damage inside a .tar.gz (here a flipped byte of the compressed stream) is refused
    in one line, whichever part of the archive it hits."""
    data = bytearray(gzip.compress(archive.path.read_bytes(), compresslevel=1))
    data[len(data) // 2] ^= 0xFF
    damaged = tmp_path / "damaged.tar.gz"
    damaged.write_bytes(bytes(data))
    message = one_line_error(run_hub(empty_target, "db", "restore", str(damaged)))
    assert "nothing was restored" in message
    assert_nothing_restored(empty_target)


def rewritten(archive: Path, destination: Path, **manifest_changes: object) -> Path:
    """A copy of `archive` whose manifest says something else."""
    with tarfile.open(archive) as source, tarfile.open(destination, "w") as copy:
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json":
                data = json.dumps(json.loads(data) | manifest_changes).encode()
                member.size = len(data)
            copy.addfile(member, io.BytesIO(data))
    return destination


def test_restore_refuses_a_backup_from_a_newer_hub(
    archive: Backup, empty_target: Hub, tmp_path: Path
) -> None:
    """A schema revision this code does not know means a newer hub made the backup."""
    newer = rewritten(archive.path, tmp_path / "newer.tar", alembic_revision="9999_future")
    message = one_line_error(run_hub(empty_target, "db", "restore", str(newer)))
    assert "newer version of the hub" in message and "9999_future" in message
    assert_nothing_restored(empty_target)


def evil_member(tar: tarfile.TarFile, kind: str, outside: Path) -> None:
    if kind == "symlink":
        info = tarfile.TarInfo("uploads/ab/evidence")
        info.type, info.linkname = tarfile.SYMTYPE, str(outside)
        tar.addfile(info)
        return
    name = str(outside) if kind == "absolute" else "uploads/../../" + outside.name
    info = tarfile.TarInfo(name)
    info.size = 4
    tar.addfile(info, io.BytesIO(b"evil"))


@pytest.mark.parametrize("kind", ["absolute", "parent", "symlink"])
def test_unsafe_names_in_a_backup_are_never_extracted(
    kind: str, empty_target: Hub, tmp_path: Path
) -> None:
    """An absolute path, a `..` or a link in the archive is refused before anything is
    written, so nothing lands outside the evidence store."""
    outside = tmp_path / "escaped"
    crafted = tmp_path / "crafted.tar"
    with tarfile.open(crafted, "w") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"{}"))
        evil_member(tar, kind, outside)
    message = one_line_error(run_hub(empty_target, "db", "restore", str(crafted)))
    assert "unsafe name" in message or "not a plain file" in message
    assert not outside.exists() and not (tmp_path.parent / "escaped").exists()
    assert_nothing_restored(empty_target)


def test_a_backup_of_an_older_schema_is_upgraded_after_the_restore(
    tmp_path: Path, empty_target: Hub
) -> None:
    """A backup made one revision ago restores as it was, then is migrated to head."""
    head = schema_head()
    previous = ScriptDirectory.from_config(alembic_config()).get_revision(head).down_revision
    assert isinstance(previous, str)
    with throwaway_database(tmp_path / "old") as old_url:
        old = Hub(old_url, tmp_path / "old-uploads")
        engine = make_engine(old.settings)
        try:
            with engine.begin() as connection:
                command.upgrade(alembic_config(connection), previous)
        finally:
            engine.dispose()
        path = tmp_path / "old.tar.gz"
        made = run_hub(old, "db", "backup", str(path))
        assert made.code == 0, made.err

    outcome = run_hub(empty_target, "db", "restore", str(path))
    assert outcome.code == 0, outcome.err
    assert f"Schema upgraded from revision {previous} to {head}." in outcome.out
    assert all_rows(empty_target.url)["alembic_version"] == [(head,)]


def test_backup_while_the_hub_writes_is_one_consistent_moment(
    tmp_path: Path, empty_target: Hub
) -> None:
    """Rows committed during the backup are either wholly in it or not: the manifest's
    counts are those of the dump, which the restore checks."""
    (tmp_path / "live").mkdir()
    with throwaway_database(tmp_path / "live") as url:
        live = Hub(url, tmp_path / "live-uploads")
        engine = make_engine(live.settings)
        try:
            upgrade_database(engine)
            with Session(engine) as session:
                baseline = session.exec(select(func.count()).select_from(audit.AuditEntry)).one()
            stop, started, written = threading.Event(), threading.Event(), [0]

            def keep_writing() -> None:
                with Session(engine) as session:
                    while not stop.is_set():
                        audit.record(session, None, "backup test", "backup.concurrent")
                        session.commit()
                        written[0] += 1
                        started.set()

            writer = threading.Thread(target=keep_writing)
            writer.start()
            try:
                assert started.wait(30)
                before = written[0]
                path = tmp_path / "live.tar.gz"
                made = run_hub(live, "db", "backup", str(path))
            finally:
                stop.set()
                writer.join(30)
            assert made.code == 0, made.err
        finally:
            engine.dispose()

    with tarfile.open(path) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert baseline + before <= manifest["tables"]["audit_entry"] <= baseline + written[0]
    outcome = run_hub(empty_target, "db", "restore", str(path))
    assert outcome.code == 0, outcome.err
    assert len(all_rows(empty_target.url)["audit_entry"]) == manifest["tables"]["audit_entry"]


def test_expected_failures_are_one_line_messages(tmp_path: Path, archive: Backup) -> None:
    """A missing backup, a missing database, a bad file name, an existing file: each one
    line and exit status 1."""
    hub = Hub(f"sqlite:///{tmp_path / 'absent.db'}", tmp_path / "uploads")
    missing = one_line_error(run_hub(hub, "db", "restore", str(tmp_path / "nope.tar.gz")))
    assert "There is no backup file" in missing
    assert "no SQLite database" in one_line_error(
        run_hub(hub, "db", "backup", str(tmp_path / "b.tar.gz"))
    )
    assert ".tar.gz" in one_line_error(run_hub(hub, "db", "backup", str(tmp_path / "b.zip")))
    assert "already exists" in one_line_error(run_hub(hub, "db", "backup", str(archive.path)))
    assert not (tmp_path / "absent.db").exists()


def test_an_unreachable_database_is_one_line_without_its_password(tmp_path: Path) -> None:
    """A real `hub db backup` process against a server that is not there: one line on
    stderr, no traceback, no password, no file left behind."""
    nowhere = Hub("postgresql+psycopg://hub:s3cret-pw@127.0.0.1:1/hub", tmp_path / "uploads")
    done = hub_process(nowhere, "db", "backup", str(tmp_path / "hub.tar.gz"))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Cannot use the database"), done.stderr
    assert "s3cret-pw" not in done.stderr + done.stdout
    assert list(tmp_path.iterdir()) == []


def test_postgres_tools_get_the_password_only_through_the_environment() -> None:
    """pg_dump and pg_restore see the address without its password; PGPASSWORD holds it."""
    address, environment = libpq_connection(
        "postgresql+psycopg://hub:s3cret-pw@db.internal:5433/hub?sslmode=require"
    )
    assert address == "postgresql://hub@db.internal:5433/hub?sslmode=require"
    assert environment["PGPASSWORD"] == "s3cret-pw"
