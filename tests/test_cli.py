"""The `hub admin` command does what the admin pages do, with the same checks."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from hub.audit import AuditEntry
from hub.auth.models import IdentityProvider
from hub.cli import main
from hub.config import Settings, get_settings
from hub.db import make_engine, upgrade_database
from hub.groups.models import Coordinator, GroupMembership
from hub.members.models import Brand, Person, Role
from tests.databases import throwaway_database


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    with throwaway_database(tmp_path) as url:
        monkeypatch.setenv("HUB_DATABASE_URL", url)
        monkeypatch.setenv("HUB_ENV", "test")
        get_settings.cache_clear()
        engine = make_engine(Settings(database_url=url))
        upgrade_database(engine)
        with Session(engine) as session:
            yield session
        engine.dispose()
        get_settings.cache_clear()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    main(list(args))
    return capsys.readouterr().out


def test_bootstrap_a_brand_from_the_command_line(
    cli_db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    """Group, brand, provider, first admin and coordinator: all from `hub admin`."""
    run(capsys, "admin", "group", "add", "--name", "Toys", "--slug", "toys")
    out = run(
        capsys,
        "admin",
        "brand",
        "add",
        "--name",
        "Pebble & Kite",
        "--slug",
        "pebble-kite",
        "--country",
        "gb",
        "--domain",
        "pebble-kite.example",
        "--group",
        "toys",
    )
    assert "Created brand pebble-kite" in out
    out = run(
        capsys,
        "admin",
        "idp",
        "add",
        "pebble-kite",
        "--issuer",
        "https://login.pebble-kite.example",
        "--client-id",
        "hub",
        "--client-secret",
        "s3cret",
        "--domain",
        "pebble-kite.example",
    )
    assert "/auth/pebble-kite/callback" in out
    run(
        capsys,
        "admin",
        "person",
        "add",
        "pebble-kite",
        "--email",
        "Ann@Pebble-Kite.example",
        "--name",
        "Ann Admin",
        "--role",
        "brand_admin",
    )
    run(capsys, "admin", "coordinator", "appoint", "toys", "ann@pebble-kite.example")

    brand = cli_db.exec(select(Brand).where(Brand.slug == "pebble-kite")).one()
    assert brand.country == "GB"
    assert cli_db.exec(select(GroupMembership).where(GroupMembership.brand_id == brand.id)).one()
    person = cli_db.exec(select(Person).where(Person.email == "ann@pebble-kite.example")).one()
    assert person.role == Role.brand_admin
    assert cli_db.exec(select(Coordinator).where(Coordinator.person_id == person.id)).one()
    provider = cli_db.exec(select(IdentityProvider)).one()
    assert provider.issuer == "https://login.pebble-kite.example"
    assert not provider.enabled
    assert "s3cret" not in provider.client_secret_sealed
    actions = {entry.action for entry in cli_db.exec(select(AuditEntry))}
    assert {"group.created", "brand.created", "idp.added", "coordinator.appointed"} <= actions
    assert "brand.created" in run(capsys, "admin", "audit")
    assert "pebble-kite" in run(capsys, "admin", "brand", "list")


def test_command_line_errors_are_plain_messages(
    cli_db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad command line gives a one-line reason and exit status 1, no traceback."""
    args = [
        "admin",
        "brand",
        "add",
        "--name",
        "X",
        "--slug",
        "Bad Slug!",
        "--country",
        "ZZ",
        "--domain",
        "x.example",
    ]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 1
    errors = capsys.readouterr().err
    assert "error: slug:" in errors and "error: country:" in errors
    assert "Traceback" not in errors


def test_provider_is_switched_on_only_after_a_test(
    cli_db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    """`idp enable` refuses an untested provider unless told to skip the test sign-in."""
    run(
        capsys,
        "admin",
        "brand",
        "add",
        "--name",
        "Kite",
        "--slug",
        "kite",
        "--country",
        "GB",
        "--domain",
        "kite.example",
    )
    run(
        capsys,
        "admin",
        "idp",
        "add",
        "kite",
        "--issuer",
        "https://login.kite.example",
        "--client-id",
        "hub",
        "--client-secret",
        "x",
        "--domain",
        "kite.example",
    )
    provider = cli_db.exec(select(IdentityProvider)).one()
    with pytest.raises(SystemExit) as refused:
        main(["admin", "idp", "enable", str(provider.id)])
    assert refused.value.code == 1
    assert "test sign-in" in capsys.readouterr().err
    run(capsys, "admin", "idp", "enable", str(provider.id), "--without-test-sign-in")
    cli_db.rollback()  # end the read snapshot to see what the command wrote
    cli_db.refresh(provider)
    assert provider.enabled
    assert "enabled" in run(capsys, "admin", "idp", "list", "kite")
    run(capsys, "admin", "idp", "disable", str(provider.id))
    cli_db.rollback()  # end the read snapshot to see what the command wrote
    cli_db.refresh(provider)
    assert not provider.enabled
