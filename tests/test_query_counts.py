"""The main pages run a fixed number of SQL statements, whatever the amount of data: each
page is read with the same queries after the board has grown tenfold, and none needs more
than MAX_QUERIES. Counted by the hub itself (HUB_COUNT_QUERIES, header X-Queries)."""

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlmodel import Session

from hub.app import create_app
from hub.config import Settings
from hub.intel import discussion
from hub.intel.models import IntelReport, Tlp
from hub.members.models import Person
from tests.conftest import TEST_CSRF, World, _bound_session, session_cookie
from tests.events.factories import make_event, register
from tests.intel.factories import actor_of, make_report
from tests.testbuys.factories import make_campaign, sign_up

SELLER = "queries-seller"
MAX_QUERIES = 8  # sign-in included (two statements)


def _grow(db: Session, world: World, settings: Settings, n: int) -> IntelReport:
    """`n` more reports naming the seller, each with a comment and a sighting; returns the
    first report of the seller, whose page then shows n correlations and comments."""
    first: IntelReport | None = None
    for number in range(n):
        author = world.member_a if number % 2 else world.member_b
        report = make_report(
            db,
            author,
            world.apparel,
            Tlp.green,
            title=f"Grown {number}",
            indicators=[("seller_id", SELLER), ("phone", f"+8613800{number:06d}")],
        )
        first = first or report
        reader = world.member_b if author == world.member_a else world.member_a
        discussion.add_comment(db, actor_of(db, reader), report, f"Seen it too, {number}", None)
        discussion.set_sighting(db, actor_of(db, reader), report, "seen", "")
    for _ in range(n // 5 or 1):
        campaign = make_campaign(db, world.coordinator, world.apparel, slots=10)
        sign_up(db, world.admin_a, campaign, 1)
        event = make_event(db, world.coordinator, world.apparel, capacity=10)
        register(db, settings, world.member_a, event)
    assert first is not None
    return first


@pytest.fixture
def counting_app(settings: Settings, engine: Engine, connection: Connection) -> FastAPI:
    app = create_app(settings.model_copy(update={"count_queries": True}), engine)
    app.state.session_factory = lambda: _bound_session(connection)
    return app


def _browser(app: FastAPI, db: Session, settings: Settings, person: Person) -> TestClient:
    from hub.auth import sessions

    token = sessions.start(db, settings, person, None, "127.0.0.1", "pytest")
    db.commit()
    browser = TestClient(app, follow_redirects=False)
    browser.cookies.set("hub_session", session_cookie({"sid": token, "csrf": TEST_CSRF}))
    return browser


Pages = Callable[[IntelReport], dict[str, str]]


def _pages(world: World, report: IntelReport, campaign_id: int) -> dict[str, str]:
    return {
        "dashboard": "/",
        "board": f"/groups/{world.apparel.slug}/intel",
        "report": f"/intel/{report.id}",
        "indicator": f"/intel/indicators?kind=seller_id&value={SELLER}",
        "search": "/intel/search?q=Grown",
        "calendar": "/events",
        "month": "/events?view=month",
        "campaigns": "/testbuys",
        "campaign": f"/testbuys/{campaign_id}",
        "notifications": "/notifications",
    }


@pytest.mark.parametrize("who", ["member_a", "admin_a", "coordinator"])
def test_pages_run_a_fixed_small_number_of_queries(
    counting_app: FastAPI, db: Session, world: World, settings: Settings, who: str
) -> None:
    from sqlmodel import col, select

    from hub.testbuys.models import Campaign

    def counts() -> dict[str, int]:
        campaign_id = db.exec(select(Campaign.id).order_by(col(Campaign.id))).first() or 0
        browser = _browser(counting_app, db, settings, getattr(world, who))
        measured = {}
        pages = _pages(world, first, campaign_id)
        if who == "coordinator":
            pages["roster"] = f"/testbuys/{campaign_id}/roster"
        for name, url in pages.items():
            response = browser.get(url)
            assert response.status_code == 200, (name, response.text[:300])
            measured[name] = int(response.headers["x-queries"])
        return measured

    first = _grow(db, world, settings, 3)
    small = counts()
    _grow(db, world, settings, 30)
    large = counts()

    assert large == small, "a page's queries grew with the data: an N+1"
    assert {name: n for name, n in large.items() if n > MAX_QUERIES} == {}
