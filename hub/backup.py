"""Backups of the whole hub in one file, and restoring them: the database (SQLite's online
backup, or PostgreSQL's pg_dump), every evidence file, and a manifest (schema revision,
rows per table, the SHA-256 of every file) that the restore checks before and after.

A backup is a tar file (gzip-compressed unless named .tar) holding `database/...`,
`uploads/<path in the evidence store>` and `manifest.json`, written last because it
holds the hashes taken while the rest was written. The database is copied first and the
evidence files after: a file is stored before the row naming it is committed, and never
removed, so every evidence row of the copy has its file in the same backup.

A restore goes only into an empty database and an empty evidence store; it reads and
checks the whole archive before it writes anything, and never extracts a name it has not
checked (no absolute paths, no `..`, no links).
"""

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import IO, Literal

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from hub.clock import utcnow
from hub.config import Settings
from hub.db import alembic_config, make_engine, upgrade_database

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_MEMBERS = {"sqlite": "database/hub.sqlite3", "postgresql": "database/hub.pgdump"}
UPLOADS = "uploads"
# hub.intel.evidence writes each file under this suffix, then renames it: such a file is
# still being written, and its row is not committed yet.
IN_FLIGHT_SUFFIX = ".part"
CHUNK = 1024 * 1024

DatabaseKind = Literal["sqlite", "postgresql"]
Say = Callable[[str], None]


class BackupError(Exception):
    """An expected failure (a missing file, a non-empty target, a damaged backup, a database
    out of reach), told in one line."""


class StoredFile(BaseModel):
    path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class Manifest(BaseModel):
    format: Literal["alliance-hub-backup"] = "alliance-hub-backup"
    format_version: int
    created_at: datetime
    hub_version: str
    alembic_revision: str
    database_engine: DatabaseKind
    database: StoredFile
    # Rows in every table of the copy, as counted inside the copy's own snapshot.
    tables: dict[str, int]
    file_count: int
    # Evidence files, by their path inside the evidence store.
    files: list[StoredFile]


@dataclass(frozen=True)
class Snapshot:
    revision: str
    tables: dict[str, int]


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    upgraded_to: str | None


# Making a backup


def backup(settings: Settings, destination: Path, say: Say) -> Manifest:
    """Write the database and the evidence store into `destination`, a new file."""
    engine = engine_of(settings.database_url)
    compressed = _compressed(destination)
    if destination.exists():
        raise BackupError(f"{destination} already exists; choose a new name for the backup.")
    if not destination.parent.is_dir():
        raise BackupError(f"There is no directory {destination.parent} to write the backup in.")
    upload_dir = Path(settings.upload_dir)
    with tempfile.TemporaryDirectory(prefix=".hub-backup-", dir=destination.parent) as work:
        dump = Path(work) / "database"
        if engine == "sqlite":
            snapshot = _dump_sqlite(settings.database_url, dump)
        else:
            snapshot = _dump_postgresql(settings.database_url, dump)
        say(
            f"Database: {engine} at schema revision {snapshot.revision}, "
            f"{len(snapshot.tables)} tables, {sum(snapshot.tables.values()):,} rows."
        )
        evidence = _evidence_paths(upload_dir)
        with _written_whole(destination) as partial:
            manifest = _write_archive(
                partial, compressed, engine, snapshot, dump, upload_dir, evidence
            )
    size = sum(entry.size for entry in manifest.files)
    say(f"Evidence files: {manifest.file_count} ({_megabytes(size)}) from {upload_dir}.")
    say(f"Backup written to {destination} ({_megabytes(destination.stat().st_size)}).")
    return manifest


def engine_of(database_url: str) -> DatabaseKind:
    backend = make_url(database_url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"Backups cover SQLite and PostgreSQL databases, not {backend}.")
    return "sqlite" if backend == "sqlite" else "postgresql"


def _compressed(destination: Path) -> bool:
    name = destination.name.lower()
    if name.endswith((".tar.gz", ".tgz")):
        return True
    if name.endswith(".tar"):
        return False
    raise BackupError(
        f"Name the backup file .tar.gz (compressed) or .tar, e.g. {destination.name}.tar.gz."
    )


def _dump_sqlite(database_url: str, dump: Path) -> Snapshot:
    """SQLite's online backup API copies a consistent snapshot while the hub keeps
    writing (WAL mode lets it read without blocking writers)."""
    path = _sqlite_path(database_url)
    if not path.is_file():
        raise BackupError(f"There is no SQLite database at {path}.")
    try:
        # mode=rw: never create an empty database where the hub's should be.
        live = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=10)
        with closing(live), closing(sqlite3.connect(dump)) as copy:
            live.backup(copy)
    except sqlite3.Error as error:
        raise BackupError(f"Could not copy the SQLite database at {path}: {error}") from error
    copied = create_engine(f"sqlite:///{dump}", poolclass=NullPool)
    try:
        with copied.connect() as connection:
            return Snapshot(_revision(connection, str(path)), row_counts(connection))
    finally:
        copied.dispose()


def _dump_postgresql(database_url: str, dump: Path) -> Snapshot:
    """pg_dump reads the snapshot this transaction exports, so the rows counted here are
    exactly the rows dumped, however busy the hub is meanwhile."""
    engine = _plain_engine(database_url)
    try:
        with _reaching(database_url), engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            snapshot_id = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            snapshot = Snapshot(_revision(connection, _shown(database_url)), row_counts(connection))
            _run_postgres_tool(
                "pg_dump",
                database_url,
                ["--format=custom", f"--snapshot={snapshot_id}", f"--file={dump}"],
            )
            connection.rollback()
            return snapshot
    finally:
        engine.dispose()


def _evidence_paths(upload_dir: Path) -> list[str]:
    """Every finished file of the evidence store, as paths relative to it."""
    if not upload_dir.is_dir():
        return []
    found: list[str] = []
    for directory, _subdirectories, names in os.walk(upload_dir):
        for name in names:
            path = Path(directory) / name
            if name.endswith(IN_FLIGHT_SUFFIX) or path.is_symlink() or not path.is_file():
                continue
            relative = path.relative_to(upload_dir).as_posix()
            if not _safe_member_name(relative):
                raise BackupError(
                    f"The evidence store holds {path}, a name a restore would refuse; "
                    "rename or remove it and run the backup again."
                )
            found.append(relative)
    return sorted(found)


@contextmanager
def _written_whole(destination: Path) -> Iterator[Path]:
    """A temporary file beside `destination`, renamed to it only once complete: a failed
    or interrupted backup never leaves a half file under the final name. The file is
    readable by its owner only, as the backup holds every TLP:RED report."""
    handle, name = tempfile.mkstemp(
        prefix=f".{destination.name}.", suffix=IN_FLIGHT_SUFFIX, dir=destination.parent
    )
    os.close(handle)
    partial = Path(name)
    try:
        yield partial
        if destination.exists():
            raise BackupError(f"{destination} appeared during the backup; it was left alone.")
        partial.replace(destination)
        _sync_directory(destination.parent)
    finally:
        partial.unlink(missing_ok=True)


def _sync_directory(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _write_archive(
    partial: Path,
    compressed: bool,
    engine: DatabaseKind,
    snapshot: Snapshot,
    dump: Path,
    upload_dir: Path,
    evidence: list[str],
) -> Manifest:
    with partial.open("wb") as raw:
        with _tar_writer(raw, compressed) as archive:
            database = _add_file(archive, dump, DATABASE_MEMBERS[engine])
            files = [
                _add_file(archive, upload_dir / relative, f"{UPLOADS}/{relative}")
                for relative in evidence
            ]
            manifest = Manifest(
                format_version=FORMAT_VERSION,
                created_at=utcnow(),
                hub_version=_hub_version(),
                alembic_revision=snapshot.revision,
                database_engine=engine,
                database=database,
                tables=snapshot.tables,
                file_count=len(files),
                files=[
                    entry.model_copy(update={"path": relative})
                    for entry, relative in zip(files, evidence, strict=True)
                ],
            )
            _add_bytes(archive, MANIFEST, manifest.model_dump_json(indent=2).encode())
        raw.flush()
        os.fsync(raw.fileno())
    return manifest


def _tar_writer(raw: IO[bytes], compressed: bool) -> tarfile.TarFile:
    if compressed:
        return tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6)
    return tarfile.open(fileobj=raw, mode="w")


class _Hashing:
    """A file read once: into the archive, and through SHA-256 on the way."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self.source.read(size)
        self.digest.update(chunk)
        return chunk


def _add_file(archive: tarfile.TarFile, path: Path, member: str) -> StoredFile:
    info = tarfile.TarInfo(member)
    try:
        with path.open("rb") as source:
            status = os.fstat(source.fileno())
            info.size, info.mtime, info.mode = status.st_size, int(status.st_mtime), 0o600
            hashing = _Hashing(source)
            archive.addfile(info, hashing)
    except OSError as error:
        raise BackupError(f"Could not copy {path} into the backup: {error}") from error
    return StoredFile(path=member, sha256=hashing.digest.hexdigest(), size=info.size)


def _add_bytes(archive: tarfile.TarFile, member: str, data: bytes) -> None:
    info = tarfile.TarInfo(member)
    info.size, info.mtime, info.mode = len(data), int(utcnow().timestamp()), 0o600
    archive.addfile(info, io.BytesIO(data))


def _hub_version() -> str:
    try:
        return metadata.version("alliance-hub")
    except metadata.PackageNotFoundError:
        return "unknown"


# Restoring a backup


def restore(settings: Settings, source: Path, say: Say) -> Restored:
    """Restore `source` into the (empty) database and evidence store of `settings`."""
    engine = engine_of(settings.database_url)
    if not source.is_file():
        raise BackupError(f"There is no backup file at {source}.")
    upload_dir = Path(settings.upload_dir)
    with _reading(source) as archive:
        members = _checked_members(archive)
        manifest = _read_manifest(archive, members)
        _check_manifest(manifest, members, engine)
        older = _older_revision(manifest.alembic_revision)
        _require_empty_database(settings.database_url, engine)
        _require_empty_store(upload_dir)
        upload_dir.mkdir(parents=True, exist_ok=True)
        # Staged inside the evidence store, so moving files into place is a rename, and a
        # restore cut short leaves files there that the next attempt refuses to overlook.
        with tempfile.TemporaryDirectory(prefix=".restore-", dir=upload_dir) as work:
            staged = Path(work)
            _stage(archive, members, manifest, staged)
            say(
                f"Backup of {manifest.created_at:%Y-%m-%d %H:%M} UTC checked: "
                f"{manifest.database_engine} at schema revision {manifest.alembic_revision}, "
                f"{len(manifest.tables)} tables, {sum(manifest.tables.values()):,} rows, "
                f"{manifest.file_count} evidence files; every SHA-256 matches."
            )
            _restore_database(settings.database_url, engine, staged / manifest.database.path)
            _verify_row_counts(settings.database_url, manifest)
            say(
                f"Database restored into {_shown(settings.database_url)}; "
                "its row counts match the manifest."
            )
            _move_files(staged / UPLOADS, upload_dir, manifest.files)
    _verify_files(upload_dir, manifest.files)
    say(f"Evidence files restored into {upload_dir}; every SHA-256 matches.")
    upgraded_to = None
    if older:
        upgraded_to = _upgrade(settings)
        say(f"Schema upgraded from revision {manifest.alembic_revision} to {upgraded_to}.")
    return Restored(manifest, upgraded_to)


def _reading(source: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(source, mode="r:*")
    except tarfile.ReadError as error:
        raise BackupError(
            f"{source} is not a hub backup (not a .tar or .tar.gz file); nothing was restored."
        ) from error
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise _damaged(source, error) from error


def _damaged(source: object, error: BaseException) -> BackupError:
    return BackupError(
        f"The backup {source} is damaged or not a hub backup ({_one_line(str(error))}); "
        "nothing was restored."
    )


def _checked_members(archive: tarfile.TarFile) -> dict[str, tarfile.TarInfo]:
    """Every member, by name, once each checked to be a plain file with a safe name."""
    try:
        members = archive.getmembers()
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise _damaged(archive.name, error) from error
    by_name: dict[str, tarfile.TarInfo] = {}
    for member in members:
        if not _safe_member_name(member.name):
            raise BackupError(
                f"The backup holds an unsafe name {member.name!r}; nothing was restored."
            )
        if not member.isreg():
            raise BackupError(
                f"The backup holds {member.name!r}, which is not a plain file (a link, a "
                "directory or a device); it was not made by the hub, and nothing was restored."
            )
        if member.name in by_name:
            raise BackupError(f"The backup holds {member.name!r} twice; nothing was restored.")
        by_name[member.name] = member
    return by_name


def _safe_member_name(name: str) -> bool:
    """A relative path that stays inside the directory it is extracted into."""
    return not (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or any(part in ("", ".", "..") for part in name.split("/"))
    )


def _checked_member_path(name: str) -> PurePosixPath:
    if not _safe_member_name(name):
        raise BackupError(f"The backup holds an unsafe name {name!r}; nothing was restored.")
    return PurePosixPath(name)


def _read_manifest(archive: tarfile.TarFile, members: dict[str, tarfile.TarInfo]) -> Manifest:
    member = members.get(MANIFEST)
    if member is None:
        raise BackupError(
            "The file holds no manifest.json: it is not a hub backup, or it was cut short; "
            "nothing was restored."
        )
    try:
        reader = archive.extractfile(member)
        assert reader is not None  # a regular file, checked above
        with reader:
            data = reader.read()
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise _damaged(archive.name, error) from error
    try:
        raw = Manifest.model_validate_json(data)
    except ValidationError as error:
        version = _format_version_of(data)
        if version is not None and version > FORMAT_VERSION:
            raise _newer(f"backup format {version}") from error
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BackupError(
            f"The backup's manifest is damaged ({where}: {first['msg']}); nothing was restored."
        ) from error
    return raw


def _format_version_of(data: bytes) -> int | None:
    try:
        version = json.loads(data).get("format_version")
    except (ValueError, AttributeError):
        return None
    return version if isinstance(version, int) else None


def _newer(what: str) -> BackupError:
    return BackupError(
        f"The backup was made by a newer version of the hub ({what}, unknown to this "
        "one); restore it with that version or a later one. Nothing was restored."
    )


def _check_manifest(
    manifest: Manifest, members: dict[str, tarfile.TarInfo], engine: DatabaseKind
) -> None:
    if manifest.format_version > FORMAT_VERSION:
        raise _newer(f"backup format {manifest.format_version}")
    if manifest.database_engine != engine:
        raise BackupError(
            f"The backup holds a {manifest.database_engine} database and HUB_DATABASE_URL "
            f"points at {engine}; restore it into a database of the same kind."
        )
    if manifest.database.path != DATABASE_MEMBERS[engine]:
        raise BackupError(
            f"The backup's manifest names {manifest.database.path!r} as its database, where "
            f"{DATABASE_MEMBERS[engine]!r} was expected; nothing was restored."
        )
    if manifest.file_count != len(manifest.files):
        raise BackupError(
            f"The backup's manifest counts {manifest.file_count} files but lists "
            f"{len(manifest.files)}; nothing was restored."
        )
    expected = {manifest.database.path: manifest.database.size} | {
        f"{UPLOADS}/{entry.path}": entry.size for entry in manifest.files
    }
    present = {name: member.size for name, member in members.items() if name != MANIFEST}
    missing = sorted(expected.keys() - present.keys())
    if missing:
        raise BackupError(
            f"The backup lacks {missing[0]}, which its manifest lists; nothing was restored."
        )
    unlisted = sorted(present.keys() - expected.keys())
    if unlisted:
        raise BackupError(
            f"The backup holds {unlisted[0]}, which its manifest does not list; "
            "nothing was restored."
        )
    for name, size in sorted(expected.items()):
        if present[name] != size:
            raise BackupError(
                f"The backup is damaged: {name} has {present[name]} bytes where the manifest "
                f"says {size}; nothing was restored."
            )


def _older_revision(revision: str) -> bool:
    """Whether the backup's schema is behind this code's (it will be upgraded after the
    restore); a revision this code does not know comes from a newer hub."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    if revision not in {script.revision for script in scripts.walk_revisions()}:
        raise _newer(f"schema revision {revision}")
    return revision not in scripts.get_heads()


def _require_empty_store(upload_dir: Path) -> None:
    if upload_dir.exists() and not upload_dir.is_dir():
        raise BackupError(f"The evidence store {upload_dir} is a file, not a directory.")
    if upload_dir.is_dir():
        held = sum(1 for path in upload_dir.rglob("*") if not path.is_dir())
        if held:
            raise BackupError(
                f"The evidence store {upload_dir} already holds {held} files; restore only "
                "into an empty one: point HUB_UPLOAD_DIR at a new directory (or move the "
                "files away) and run the restore again."
            )


def _require_empty_database(database_url: str, engine: DatabaseKind) -> None:
    relations, tables, rows = _contents(database_url, engine)
    if not relations:
        return
    if engine == "sqlite":
        how = "point HUB_DATABASE_URL at a new file, e.g. sqlite:///./var/hub-restored.db"
    else:
        name = make_url(database_url).database or "hub"
        how = f"create one (e.g. `createdb {name}_restored`) and point HUB_DATABASE_URL at it"
    held = f"{tables} tables with {rows:,} rows" if tables else f"{relations} views or sequences"
    raise BackupError(
        f"The database {_shown(database_url)} is not empty (it holds {held}); restore only "
        f"into an empty database: {how}, then run the restore again."
    )


def _contents(database_url: str, engine: DatabaseKind) -> tuple[int, int, int]:
    """How many relations (tables, and on PostgreSQL views and sequences too, which would
    collide with the restored schema) and tables the database holds, and their rows."""
    if engine == "sqlite" and not _sqlite_path(database_url).exists():
        return 0, 0, 0
    plain = _plain_engine(database_url)
    try:
        with _reaching(database_url), plain.connect() as connection:
            counts = row_counts(connection)
            relations = len(counts)
            if engine == "postgresql":
                relations = connection.execute(text(_POSTGRES_RELATIONS)).scalar_one()
            return relations, len(counts), sum(counts.values())
    finally:
        plain.dispose()


_POSTGRES_RELATIONS = """
SELECT count(*) FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
"""


def _stage(
    archive: tarfile.TarFile,
    members: dict[str, tarfile.TarInfo],
    manifest: Manifest,
    staged: Path,
) -> None:
    """Copy every member out, each checked against its SHA-256, before anything is
    restored: a damaged or tampered backup restores nothing."""
    expected = {manifest.database.path: manifest.database} | {
        f"{UPLOADS}/{entry.path}": entry for entry in manifest.files
    }
    # In archive order, so a compressed backup is read through once.
    for name, member in members.items():
        if name == MANIFEST:
            continue
        target = staged / _checked_member_path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = _copy_out(archive, member, target)
        if digest != expected[name].sha256:
            raise BackupError(
                f"The backup is damaged: {name} does not match its SHA-256 in the manifest; "
                "nothing was restored."
            )


def _copy_out(archive: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> str:
    digest = hashlib.sha256()
    with target.open("xb") as out:
        for chunk in _member_chunks(archive, member):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _member_chunks(archive: tarfile.TarFile, member: tarfile.TarInfo) -> Iterator[bytes]:
    try:
        reader = archive.extractfile(member)
        assert reader is not None  # a regular file, checked before
        with reader:
            while chunk := reader.read(CHUNK):
                yield chunk
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise _damaged(archive.name, error) from error


def _restore_database(database_url: str, engine: DatabaseKind, dump: Path) -> None:
    if engine == "sqlite":
        _restore_sqlite(database_url, dump)
    else:
        try:
            _run_postgres_tool(
                "pg_restore",
                database_url,
                ["--no-owner", "--exit-on-error", "--single-transaction", str(dump)],
            )
        except BackupError as error:
            raise BackupError(f"{error} (in one transaction: nothing was restored)") from error


def _restore_sqlite(database_url: str, dump: Path) -> None:
    path = _sqlite_path(database_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with (
            closing(sqlite3.connect(f"{dump.resolve().as_uri()}?mode=ro", uri=True)) as copy,
            closing(sqlite3.connect(path)) as target,
        ):
            # Checked again at the last moment: the page copy replaces whatever is there.
            if target.execute(_SQLITE_TABLES).fetchall():
                raise BackupError(f"The database {path} got tables meanwhile; nothing restored.")
            copy.backup(target)
    except sqlite3.Error as error:
        raise BackupError(f"Could not write the SQLite database at {path}: {error}") from error


def _verify_row_counts(database_url: str, manifest: Manifest) -> None:
    restored = _plain_engine(database_url)
    try:
        with _reaching(database_url), restored.connect() as connection:
            counts = row_counts(connection)
    finally:
        restored.dispose()
    if counts != manifest.tables:
        differing = sorted(
            name
            for name in counts.keys() | manifest.tables.keys()
            if counts.get(name) != manifest.tables.get(name)
        )
        raise BackupError(
            "The restored database does not match the backup's manifest (rows differ in "
            f"{', '.join(differing[:5])}); drop it before trying again."
        )


def _move_files(staged: Path, upload_dir: Path, files: list[StoredFile]) -> None:
    for entry in files:
        relative = _checked_member_path(entry.path)
        target = upload_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        (staged / relative).replace(target)


def _verify_files(upload_dir: Path, files: list[StoredFile]) -> None:
    for entry in files:
        path = upload_dir / _checked_member_path(entry.path)
        if _sha256_of(path) != entry.sha256:
            raise BackupError(f"The restored file {path} does not match its SHA-256.")


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _upgrade(settings: Settings) -> str:
    from alembic.script import ScriptDirectory

    engine = make_engine(settings)
    try:
        upgrade_database(engine)
    finally:
        engine.dispose()
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or "head"


# Shared by both directions


_SQLITE_TABLES = (
    "SELECT name FROM sqlite_master WHERE type = 'table' "
    "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
)
_POSTGRES_TABLES = (
    "SELECT schemaname, tablename FROM pg_catalog.pg_tables "
    "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
)


def row_counts(connection: Connection) -> dict[str, int]:
    """Rows in every table of the database (a schema other than public prefixes its
    tables' names)."""
    quote = connection.dialect.identifier_preparer.quote
    counts: dict[str, int] = {}
    for schema, name in _tables(connection):
        qualified = quote(name) if schema is None else f"{quote(schema)}.{quote(name)}"
        key = name if schema in (None, "public") else f"{schema}.{name}"
        counts[key] = connection.execute(text(f"SELECT count(*) FROM {qualified}")).scalar_one()
    return counts


def _tables(connection: Connection) -> list[tuple[str | None, str]]:
    """(schema, name) of every table; SQLite has no schemas."""
    if connection.dialect.name == "sqlite":
        return [(None, name) for (name,) in connection.execute(text(_SQLITE_TABLES))]
    return [(schema, name) for schema, name in connection.execute(text(_POSTGRES_TABLES))]


def _revision(connection: Connection, shown: str) -> str:
    if "alembic_version" not in {name for _schema, name in _tables(connection)}:
        raise BackupError(
            f"The database {shown} has no hub schema (no alembic_version table); "
            "there is nothing to back up."
        )
    revisions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
    found = sorted(revisions)
    if len(found) != 1:
        raise BackupError(f"The database {shown} is at {len(found)} schema revisions, not one.")
    return str(found[0])


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up or restored.")
    return Path(database)


def _plain_engine(database_url: str) -> Engine:
    """One connection, no pool: the command runs once and exits."""
    return create_engine(make_url(database_url), poolclass=NullPool, hide_parameters=True)


@contextmanager
def _reaching(database_url: str) -> Iterator[None]:
    """A database that cannot be reached (or refuses the sign-in) is a one-line message."""
    try:
        yield
    except DBAPIError as error:
        reason = _one_line(str(error.orig) if error.orig is not None else str(error))
        raise BackupError(f"Cannot use the database {_shown(database_url)}: {reason}") from error


def libpq_connection(database_url: str) -> tuple[str, dict[str, str]]:
    """The libpq address for PostgreSQL's own tools, and their environment: the password
    travels in PGPASSWORD, never on a command line (which any local user can read)."""
    url: URL = make_url(database_url)
    environment = dict(os.environ)
    if url.password is not None:
        environment["PGPASSWORD"] = str(url.password)
    # Built anew: URL.set(password=None) would keep the password.
    plain = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    )
    return plain.render_as_string(hide_password=False), environment


def _run_postgres_tool(tool: str, database_url: str, arguments: list[str]) -> None:
    address, environment = libpq_connection(database_url)
    # --no-password: fail with a message rather than wait for someone to type one.
    command = [_postgres_tool(tool), "--no-password", f"--dbname={address}", *arguments]
    try:
        done = subprocess.run(command, env=environment, capture_output=True, text=True)
    except OSError as error:
        raise BackupError(f"Could not run {tool}: {error}") from error
    if done.returncode != 0:
        detail = _one_line(done.stderr) or f"exit status {done.returncode}"
        raise BackupError(f"{tool} failed: {detail}")


def _postgres_tool(tool: str) -> str:
    """The tool on PATH (Debian's wrapper picks the right version), else the newest of
    /usr/lib/postgresql/*/bin."""
    found = shutil.which(tool)
    if found:
        return found
    installed = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{tool}"),
        key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0,
    )
    if not installed:
        raise BackupError(
            f"{tool} is not installed; install PostgreSQL's client tools "
            "(e.g. apt-get install postgresql-client)."
        )
    return str(installed[-1])


def _shown(database_url: str) -> str:
    """The address without its password, for messages and logs."""
    return make_url(database_url).render_as_string(hide_password=True)


def _one_line(message: str) -> str:
    line = " ".join(message.split())
    return line if len(line) <= 400 else line[:397] + "..."


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"
