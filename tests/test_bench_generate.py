"""bench.generate makes a world the hub serves as it is: a tiny one here (300 reports),
with the main pages answering for the bench member, every counter matching its rows, and
the search index, indicators and HTML exactly what the hub itself would have stored."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from bench.generate import BENCH_EMAIL, Summary, generate
from hub.app import create_app
from hub.auth import sessions
from hub.auth.sessions import load_actor
from hub.config import Environment, Settings
from hub.db import make_engine
from hub.events.models import BrandSeats, Event, Registration
from hub.groups.models import WorkingGroup
from hub.intel import search_index
from hub.intel.indicators import normalise
from hub.intel.markdown import to_safe_html
from hub.intel.models import Comment, Indicator, IntelReport
from hub.members.models import Brand, Person
from hub.policy import visible_campaigns, visible_intel
from hub.testbuys.models import Campaign, Purchase, Signup
from tests.conftest import TEST_CSRF, TEST_SECRET, session_cookie
from tests.databases import throwaway_database

REPORTS = 300


@dataclass(frozen=True)
class Bench:
    summary: Summary
    settings: Settings
    engine: Engine


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    with throwaway_database(tmp_path_factory.mktemp("bench")) as url:
        summary = generate(url, REPORTS, seed=7, quiet=True)
        settings = Settings(
            env=Environment.test,
            secret_key=TEST_SECRET,
            database_url=url,
            base_url="http://testserver",
            dev_idp=False,
        )
        engine = make_engine(settings)
        try:
            yield Bench(summary, settings, engine)
        finally:
            engine.dispose()


def test_the_volumes_asked_for(bench: Bench) -> None:
    counts = bench.summary.counts
    assert counts["working_group"] == 12
    assert counts["intel_report"] == REPORTS
    assert counts["intel_search"] == REPORTS
    assert 2.5 * REPORTS < counts["intel_indicator"] < 3.5 * REPORTS
    assert 1.5 * REPORTS < counts["intel_comment"] < 2.5 * REPORTS
    for table in ("intel_evidence", "testbuy_signup", "registration", "notification"):
        assert counts[table] > 0, table


def test_pages_answer_for_the_bench_member(bench: Bench) -> None:
    app = create_app(bench.settings, bench.engine)
    with Session(bench.engine, expire_on_commit=False) as db:
        person = db.exec(select(Person).where(Person.email == BENCH_EMAIL)).one()
        brand = db.get(Brand, person.brand_id)
        assert brand is not None and person.role == "brand_admin"
        actor = load_actor(db, person, brand)
        group = db.exec(select(WorkingGroup).order_by(col(WorkingGroup.id))).first()
        assert group is not None and group.id in actor.group_ids
        # The newest readable report of the first group with an indicator another report
        # also names: the report page and the indicator page then show a correlation.
        other = aliased(Indicator)
        row = db.exec(
            select(IntelReport, Indicator)
            .join(Indicator, col(Indicator.report_id) == IntelReport.id)
            .where(
                IntelReport.group_id == group.id,
                visible_intel(actor),
                col(IntelReport.merged_into_id).is_(None),
                select(other.id)
                .where(
                    other.kind == Indicator.kind,
                    other.normalised == Indicator.normalised,
                    other.report_id != Indicator.report_id,
                )
                .exists(),
            )
            .order_by(col(IntelReport.id).desc())
        ).first()
        assert row is not None, "no correlation in the generated world"
        report, indicator = row
        campaign = db.exec(select(Campaign).where(visible_campaigns(actor))).first()
        assert campaign is not None
        token = sessions.start(db, bench.settings, person, None, "127.0.0.1", "pytest")
        db.commit()
    browser = TestClient(app, follow_redirects=False)
    browser.cookies.set("hub_session", session_cookie({"sid": token, "csrf": TEST_CSRF}))
    shop = report.title.split(":")[0]
    pages = {
        "/": "",
        f"/groups/{group.slug}/intel": "",
        f"/intel/{report.id}": report.title,
        f"/intel/indicators?kind={indicator.kind}&value={indicator.normalised}": "",
        f"/intel/search?q={shop}": f"/intel/{report.id}",
        "/events?view=month": "",
        f"/testbuys/{campaign.id}": campaign.title,
    }
    for url, expected in pages.items():
        response = browser.get(url)
        assert response.status_code == 200, url
        assert expected in response.text, url


def test_counters_match_their_rows(bench: Bench) -> None:
    with Session(bench.engine) as db:
        granted = dict(
            db.exec(
                select(Signup.campaign_id, func.sum(Signup.granted)).group_by(
                    col(Signup.campaign_id)
                )
            ).all()
        )
        for campaign in db.exec(select(Campaign)):
            assert campaign.slots_taken == (granted.get(campaign.id or 0) or 0), campaign.id
            assert campaign.slots_taken <= campaign.slots
            positions = db.exec(
                select(func.max(Signup.position)).where(Signup.campaign_id == campaign.id)
            ).one()
            assert campaign.next_position > (positions or 0)
        for signup in db.exec(select(Signup)):
            assert signup.state != "confirmed" or signup.granted == signup.requested
            planned = db.exec(
                select(func.count()).select_from(Purchase).where(Purchase.signup_id == signup.id)
            ).one()
            assert planned <= signup.granted
        confirmed = dict(
            db.exec(
                select(Registration.event_id, func.count())
                .where(Registration.state == "confirmed")
                .group_by(col(Registration.event_id))
            ).all()
        )
        events = db.exec(select(Event)).all()
        assert sum(event.seats_taken for event in events) > 0
        for event in events:
            assert event.seats_taken == confirmed.get(event.id or 0, 0), event.id
        by_brand = {
            (event_id, brand_id): count
            for event_id, brand_id, count in db.exec(
                select(Registration.event_id, Registration.brand_id, func.count())
                .where(Registration.state == "confirmed")
                .group_by(col(Registration.event_id), col(Registration.brand_id))
            ).all()
        }
        seats = db.exec(select(BrandSeats)).all()
        assert {(s.event_id, s.brand_id): s.taken for s in seats if s.taken} == by_brand
        assert all(s.taken <= s.cap for s in seats)


def test_stored_as_the_hub_would_store_it(bench: Bench) -> None:
    with Session(bench.engine) as db:
        for kind, value, norm in db.exec(
            select(Indicator.kind, Indicator.value, Indicator.normalised)
        ):
            assert normalise(kind, value) == norm, value
        for model in (IntelReport, Comment):
            for md, html in db.exec(select(model.body_md, model.body_html)):
                assert to_safe_html(md) == html
        # The bulk-built search index holds what hub.intel.search_index writes.
        postgres = db.get_bind().dialect.name == "postgresql"
        columns = "content, document::text" if postgres else "title, body, extra"
        ids = db.exec(select(IntelReport.id).order_by(col(IntelReport.id))).all()
        for report_id in ids[:: len(ids) // 10]:
            query = text(f"SELECT {columns} FROM intel_search WHERE report_id = :id")
            built = db.execute(query, {"id": report_id}).one()
            search_index.reindex(db, report_id or 0)
            assert db.execute(query, {"id": report_id}).one() == built, report_id
        db.rollback()


def test_an_unempty_database_is_refused(bench: Bench, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="--fresh"):
        generate(bench.settings.database_url, 10, quiet=True)
