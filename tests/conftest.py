"""Shared fixtures: a migrated test database, a transaction per test (or a savepoint of a
module's transaction, where a module shares costly rows), signed-in clients."""

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from sqlalchemy import Connection, Engine
from sqlmodel import Session

from hub.app import create_app, forget_everything
from hub.auth import sessions
from hub.config import Environment, Settings
from hub.db import make_engine, upgrade_database
from hub.groups.models import WorkingGroup
from hub.members.models import Brand, OrgKind, Person, Role
from tests import factories
from tests.databases import throwaway_database
from tests.intel.factories import uploads_at, uploads_copied

TEST_SECRET = "test-secret-key-that-is-long-enough-for-production-checks"
TEST_CSRF = "test-csrf-token"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with throwaway_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        env=Environment.test,
        secret_key=TEST_SECRET,
        database_url=database_url,
        base_url="http://testserver",
        dev_idp=False,
    )


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    """The schema is built by the migrations themselves, so every test exercises them."""
    engine = make_engine(settings)
    upgrade_database(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture(scope="module")
def module_connection(engine: Engine) -> Iterator[Connection]:
    """One transaction for a whole module, rolled back at its end: a module whose tests
    all start from the same costly rows builds them once, in here (see `savepoint`)."""
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def savepoint(module_connection: Connection) -> Iterator[Connection]:
    """The module's connection inside a savepoint rolled back after the test, so each test
    starts from exactly the module's rows and sees nothing an earlier test did. A module
    opts in by overriding `connection` with a fixture that asks for its shared rows and
    then for this, so the rows are made before the savepoint and outlive it."""
    nested = module_connection.begin_nested()
    yield module_connection
    nested.rollback()


def _bound_session(connection: Connection) -> Session:
    return Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def db(connection: Connection) -> Iterator[Session]:
    """A session whose work is rolled back after the test; commits become savepoints."""
    with _bound_session(connection) as session:
        yield session


@pytest.fixture(scope="module")
def module_db(module_connection: Connection) -> Iterator[Session]:
    """The session that builds a module's shared rows. Its objects are never expired, so
    tests read their ids and fields without going back to the database."""
    with _bound_session(module_connection) as session:
        yield session


@pytest.fixture(scope="session")
def shared_app(settings: Settings, engine: Engine) -> FastAPI:
    return create_app(settings, engine)


@pytest.fixture
def app(shared_app: FastAPI, settings: Settings, connection: Connection) -> FastAPI:
    """The app, as new: one app serves every test, as building one costs half a second
    at its first request (see `forget_everything`)."""
    forget_everything(shared_app, settings)
    shared_app.state.session_factory = lambda: _bound_session(connection)
    return shared_app


def session_cookie(data: dict[str, object], secret: str = TEST_SECRET) -> str:
    """The cookie Starlette's SessionMiddleware would have set for `data`."""
    payload = base64.b64encode(json.dumps(data).encode())
    return TimestampSigner(secret).sign(payload).decode()


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    """An anonymous browser."""
    return TestClient(app, follow_redirects=False)


ClientAs = Callable[[Person], TestClient]


@pytest.fixture
def client_as(app: FastAPI, db: Session, settings: Settings) -> ClientAs:
    """A browser signed in as `person`, sending the CSRF token as htmx would."""

    def make(person: Person) -> TestClient:
        token = sessions.start(db, settings, person, None, "127.0.0.1", "pytest")
        db.commit()
        browser = TestClient(app, follow_redirects=False)
        browser.cookies.set("hub_session", session_cookie({"sid": token, "csrf": TEST_CSRF}))
        browser.headers["x-csrf-token"] = TEST_CSRF
        return browser

    return make


@dataclass
class World:
    """Two working groups, three brands, and one person for every role."""

    apparel: WorkingGroup
    toys: WorkingGroup
    secretariat: Brand
    brand_a: Brand  # in apparel
    brand_b: Brand  # in apparel
    brand_c: Brand  # in toys
    member_a: Person
    admin_a: Person
    member_b: Person
    admin_c: Person
    member_c: Person
    coordinator: Person  # secretariat staff coordinating apparel
    alliance_admin: Person


@pytest.fixture
def world(db: Session) -> World:
    return build_world(db)


@pytest.fixture(scope="module")
def module_world(module_db: Session) -> World:
    """The same world, built once for a module that runs its tests in savepoints."""
    return build_world(module_db)


def build_world(db: Session) -> World:
    """Made by a plain function so a test and a whole module can each have their own."""
    apparel = factories.make_group(db, "apparel-t", "Apparel (test)")
    toys = factories.make_group(db, "toys-t", "Toys (test)")
    secretariat = factories.make_brand(db, "secretariat-t", kind=OrgKind.alliance)
    brand_a = factories.make_brand(db, "brand-a", [apparel], name="Brand A")
    brand_b = factories.make_brand(db, "brand-b", [apparel], name="Brand B")
    brand_c = factories.make_brand(db, "brand-c", [toys], name="Brand C")
    coordinator = factories.make_person(db, secretariat, name="Cora Coordinator")
    factories.appoint(db, apparel, coordinator)
    world = World(
        apparel=apparel,
        toys=toys,
        secretariat=secretariat,
        brand_a=brand_a,
        brand_b=brand_b,
        brand_c=brand_c,
        member_a=factories.make_person(db, brand_a, name="Alma Member"),
        admin_a=factories.make_person(db, brand_a, Role.brand_admin, name="Ada Admin"),
        member_b=factories.make_person(db, brand_b, name="Ben Member"),
        admin_c=factories.make_person(db, brand_c, Role.brand_admin, name="Cyd Admin"),
        member_c=factories.make_person(db, brand_c, name="Cal Member"),
        coordinator=coordinator,
        alliance_admin=factories.make_person(
            db, secretariat, Role.alliance_admin, name="Aline Alliance"
        ),
    )
    db.commit()
    return world


@pytest.fixture(scope="module")
def shared_uploads(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings storing evidence files in a module's own directory, for its shared rows."""
    return uploads_at(settings, tmp_path_factory.mktemp("shared"))


@pytest.fixture
def uploads_copy(
    app: FastAPI, settings: Settings, shared_uploads: Settings, tmp_path: Path
) -> Settings:
    """The app's evidence store in this test's own directory, starting as a copy of the
    module's shared files: files go with the rows, which each test also gets afresh."""
    return uploads_copied(app, settings, shared_uploads, tmp_path)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
