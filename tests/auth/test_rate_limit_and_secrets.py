"""Sign-in rate limits, the encryption of client secrets, and the migration that sealed the
secrets stored in clear before."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlmodel import Session, col, select
from sqlmodel.sql.sqltypes import UTCDateTime

from hub import ratelimit
from hub.app import create_app
from hub.auth.models import IdentityProvider, RateCounter
from hub.config import Settings, get_settings
from hub.db import alembic_config, make_engine
from hub.secretbox import PREFIX, SecretUnreadable, open_sealed, seal
from tests.conftest import TEST_CSRF, TEST_SECRET, session_cookie
from tests.databases import throwaway_database

WINDOW = timedelta(minutes=15)
# 12:00 UTC starts a 15-minute window; 12:14:59 is the end of it.
NOON = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The time the rate limiter sees; set `clock[0]` to move it."""
    now = [NOON]
    monkeypatch.setattr(ratelimit, "utcnow", lambda: now[0])
    return now


# Counting attempts


def test_hit_refuses_past_the_limit(db: Session, clock: list[datetime]) -> None:
    """Within one window the first `limit` hits pass, the next ones are refused."""
    answers = [ratelimit.hit(db, "login-email:a@x.example", 3, WINDOW) for _ in range(5)]
    assert answers == [True, True, True, False, False]
    counter = db.get(RateCounter, "login-email:a@x.example")
    assert counter is not None and counter.count == 5 and counter.window_start == NOON


def test_hit_counts_each_key_apart(db: Session, clock: list[datetime]) -> None:
    """One key running out does not touch another key's count."""
    for _ in range(3):
        ratelimit.hit(db, "login-ip:192.0.2.1", 2, WINDOW)
    assert not ratelimit.hit(db, "login-ip:192.0.2.1", 2, WINDOW)
    assert ratelimit.hit(db, "login-ip:192.0.2.2", 2, WINDOW)


def test_hit_starts_again_in_the_next_window(db: Session, clock: list[datetime]) -> None:
    """The count belongs to a fixed window: the next window starts from zero."""
    for _ in range(2):
        ratelimit.hit(db, "k", 2, WINDOW)
    clock[0] = NOON + timedelta(minutes=14, seconds=59)
    assert not ratelimit.hit(db, "k", 2, WINDOW)
    clock[0] = NOON + WINDOW
    assert ratelimit.hit(db, "k", 2, WINDOW)
    assert ratelimit.hit(db, "k", 2, WINDOW)
    assert not ratelimit.hit(db, "k", 2, WINDOW)


def test_hit_forgets_keys_of_windows_long_over(db: Session, clock: list[datetime]) -> None:
    """Counters whose window ended more than a window ago are deleted as new keys arrive."""
    ratelimit.hit(db, "old", 5, WINDOW)
    clock[0] = NOON + 3 * WINDOW
    ratelimit.hit(db, "new", 5, WINDOW)
    db.expire_all()
    assert db.get(RateCounter, "old") is None
    assert db.get(RateCounter, "new") is not None


# POST /login past the limits


@pytest.fixture
def strict_login(settings: Settings, engine: Engine, connection: Connection) -> TestClient:
    """An anonymous browser on a hub that allows 2 attempts per e-mail and 5 per address."""
    strict = settings.model_copy(update={"login_attempts_per_email": 2, "login_attempts_per_ip": 5})
    app = create_app(strict, engine)
    app.state.session_factory = lambda: Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    browser = TestClient(app, follow_redirects=False)
    browser.cookies.set("hub_session", session_cookie({"csrf": TEST_CSRF}))
    browser.headers["x-csrf-token"] = TEST_CSRF
    return browser


def test_login_past_the_limit_per_email_answers_429(strict_login: TestClient) -> None:
    """The third attempt for one e-mail (however it is typed) answers 429, says why, and
    keeps the address in the form; another e-mail may still try."""
    for _ in range(2):
        assert strict_login.post("/login", data={"email": "kim@nowhere.example"}).status_code == 400
    refused = strict_login.post("/login", data={"email": " Kim@Nowhere.example"})
    assert refused.status_code == 429
    assert "Too many sign-in attempts. Wait 15 minutes and try again." in refused.text
    assert 'value=" Kim@Nowhere.example"' in refused.text
    assert strict_login.post("/login", data={"email": "lee@nowhere.example"}).status_code == 400


def test_login_past_the_limit_per_address_answers_429(strict_login: TestClient) -> None:
    """One client address trying many e-mails is stopped after the per-address limit."""
    answers = [
        strict_login.post("/login", data={"email": f"p{n}@nowhere.example"}).status_code
        for n in range(6)
    ]
    assert answers == [400, 400, 400, 400, 400, 429]


# Sealing secrets


def test_seal_and_open_round_trip(settings: Settings) -> None:
    """A sealed secret opens to the original; sealing twice gives different ciphertexts."""
    first, second = seal(settings, "s3cret"), seal(settings, "s3cret")
    assert first.startswith(PREFIX) and "s3cret" not in first
    assert first != second
    assert open_sealed(settings, first) == open_sealed(settings, second) == "s3cret"


def test_another_key_cannot_open(settings: Settings) -> None:
    """A secret sealed under one key is unreadable under another, or a dedicated one."""
    sealed = seal(settings, "s3cret")
    other_secret = settings.model_copy(update={"secret_key": "another-" + TEST_SECRET})
    dedicated = settings.model_copy(update={"encryption_key": "a-dedicated-encryption-key"})
    for wrong in (other_secret, dedicated):
        with pytest.raises(SecretUnreadable):
            open_sealed(wrong, sealed)
    assert open_sealed(dedicated, seal(dedicated, "s3cret")) == "s3cret"


def test_an_unsealed_value_is_refused(settings: Settings) -> None:
    """A value without the version prefix (say, a secret left in clear) is not returned."""
    with pytest.raises(SecretUnreadable, match="not in a known format"):
        open_sealed(settings, "plain-secret")


# Migration 0002: secrets stored in clear are sealed


@pytest.fixture
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """get_settings() reads the environment afresh during the test, and again after it."""
    monkeypatch.setenv("HUB_SECRET_KEY", "migration-" + TEST_SECRET)
    monkeypatch.delenv("HUB_ENCRYPTION_KEY", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_migration_0002_seals_secrets_and_keeps_enabled_providers_on(
    tmp_path: Path, fresh_settings: None
) -> None:
    """Upgrading seals each plaintext client secret under the configured key, and an
    enabled provider counts as tested so it stays usable; a disabled one does not."""
    created = datetime(2026, 1, 1, tzinfo=UTC)
    created_param = sa.bindparam("created", type_=UTCDateTime())
    with throwaway_database(tmp_path) as url:
        engine = make_engine(Settings(database_url=url))
        try:
            with engine.begin() as connection:
                command.upgrade(alembic_config(connection), "0001")
                connection.execute(
                    sa.text(
                        "INSERT INTO brand (id, slug, name, country, kind, website, "
                        "description, is_active, created_at) VALUES (7, 'old-brand', "
                        "'Old Brand', 'FR', 'brand', '', '', :yes, :created)"
                    ).bindparams(created_param),
                    {"yes": True, "created": created},
                )
                for provider_id, secret, enabled, version in (
                    (1, "clear-secret-on", True, 3),
                    (2, "clear-secret-off", False, 1),
                ):
                    connection.execute(
                        sa.text(
                            "INSERT INTO identity_provider (id, brand_id, name, issuer, "
                            "client_id, client_secret, admin_claim, admin_value, enabled, "
                            "version, created_at, updated_at) VALUES (:id, 7, 'Old IdP', "
                            "'https://idp.old.example', 'old-client', :secret, '', '', "
                            ":enabled, :version, :created, :created)"
                        ).bindparams(created_param),
                        {
                            "id": provider_id,
                            "secret": secret,
                            "enabled": enabled,
                            "version": version,
                            "created": created,
                        },
                    )
            with engine.begin() as connection:
                command.upgrade(alembic_config(connection), "head")
            with Session(engine) as session:
                on, off = session.exec(select(IdentityProvider).order_by(col(IdentityProvider.id)))
            columns = {c["name"] for c in sa.inspect(engine).get_columns("identity_provider")}
        finally:
            engine.dispose()
    assert "client_secret" not in columns
    for provider, secret in ((on, "clear-secret-on"), (off, "clear-secret-off")):
        assert provider.client_secret_sealed.startswith(PREFIX)
        assert secret not in provider.client_secret_sealed
        assert open_sealed(get_settings(), provider.client_secret_sealed) == secret
    assert on.enabled and on.tested and on.tested_version == 3
    assert not off.tested and off.tested_version is None
