"""Enforcement referrals (hub/impact/referrals.py and referral_routes.py): referring a case
from reports and purchases, every message of the two forms, who may refer and record, a
referral readable only by those who may read all its sources, the list with its filters and
paging, and two people recording an outcome at once."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import Connection, Engine
from sqlmodel import Session, col, func, select

from hub import i18n
from hub.app import create_app
from hub.audit import AuditEntry
from hub.clock import utcnow
from hub.config import Environment, Settings
from hub.db import make_engine, upgrade_database
from hub.errors import Forbidden, NotFound
from hub.events.times import to_local
from hub.impact import referrals
from hub.impact.models import (
    Referral,
    ReferralPurchase,
    ReferralReport,
    ReferralStatus,
    ReferralUpdate,
)
from hub.intel.models import IntelReport, Tlp
from hub.members.models import OrgKind, Person, Role
from hub.testbuys.models import Campaign, Purchase, Verdict
from tests import factories
from tests.conftest import TEST_SECRET, ClientAs, World, _bound_session
from tests.databases import throwaway_database
from tests.impact.factories import (
    make_judged_purchase,
    make_referral,
    record_outcome,
    today,
)
from tests.intel.factories import actor_of, make_report
from tests.testbuys.factories import make_campaign, make_purchase, sign_up


def settings_for(url: str) -> Settings:
    """Test settings like tests/conftest.py's, pointed at a database of the test's own."""
    return Settings(
        env=Environment.test,
        secret_key=TEST_SECRET,
        database_url=url,
        base_url="http://testserver",
        dev_idp=False,
    )


@pytest.fixture
def admin_b(db: Session, world: World) -> Person:
    """A brand admin for brand B (apparel), which `world` leaves without one."""
    person = factories.make_person(db, world.brand_b, Role.brand_admin, name="Bea Admin")
    db.commit()
    return person


@pytest.fixture
def amber_report(db: Session, world: World) -> IntelReport:
    """TLP:AMBER in apparel, by a member of brand A: readable by apparel's brands."""
    return make_report(db, world.member_a, world.apparel, Tlp.amber, title="LuxeOutlet88 fakes")


@pytest.fixture
def bought(db: Session, world: World) -> tuple[Purchase, Campaign]:
    """A purchase for brand A in an apparel campaign, judged counterfeit."""
    return make_judged_purchase(db, world.coordinator, world.apparel, world.admin_a)


def referral_data(**changes: str | list[str]) -> dict[str, str | list[str]]:
    """A valid referral form (without its sources), with `changes`."""
    data: dict[str, str | list[str]] = {
        "agency": "Shenzhen Public Security Bureau",
        "jurisdiction": "Guangdong",
        "country": "CN",
        "sent_on": (today() - timedelta(days=10)).isoformat(),
        "contact": "Officer Wang, +86 755 0000 0000",
        "reference": "SZ-2026-0042",
        "summary": "Warehouse in Bao'an shipping fake handbags.\nTwo test purchases.",
    }
    return data | changes


def outcome_data(referral: Referral, **changes: str) -> dict[str, str]:
    """A valid outcome form for the referral's current version, with `changes`."""
    data = {
        "status": ReferralStatus.raid_done,
        "raid_on": (referral.sent_on + timedelta(days=2)).isoformat(),
        "suspects_arrested": "3",
        "facilities_closed": "1",
        "goods_seized": "12000",
        "goods_value": "1250000.50",
        "goods_currency": "CNY",
        "note": "Raid with market regulators.",
        "version": str(referral.version),
    }
    return data | changes


def error_beside(html: str, field: str, message: str) -> bool:
    """Whether the page shows `message` as the error of `field`."""
    return f'id="e-{field}">{escape(message)}</p>' in html


def referral_count(db: Session) -> int:
    return db.exec(select(func.count()).select_from(Referral)).one()


def updates_of(db: Session, referral: Referral) -> list[ReferralUpdate]:
    return list(
        db.exec(
            select(ReferralUpdate)
            .where(ReferralUpdate.referral_id == referral.id)
            .order_by(col(ReferralUpdate.id))
        )
    )


# Referring a case


def test_brand_admin_refers_a_report(
    client_as: ClientAs, db: Session, world: World, amber_report: IntelReport
) -> None:
    """A brand admin of the group opens the form from a report and saves a referral for
    their brand, with the report as its source and an audit entry."""
    browser = client_as(world.admin_a)
    form = browser.get(f"/referrals/new?report={amber_report.id}")
    assert form.status_code == 200
    assert "LuxeOutlet88 fakes" in form.text
    assert f'<input type="hidden" name="report" value="{amber_report.id}">' in form.text

    answer = browser.post("/referrals", data=referral_data(report=[str(amber_report.id)]))
    assert answer.status_code == 303
    referral = db.exec(select(Referral)).one()
    assert answer.headers["location"] == f"/referrals/{referral.id}"
    assert (referral.group_id, referral.brand_id) == (world.apparel.id, world.brand_a.id)
    assert referral.created_by_id == world.admin_a.id
    assert referral.agency == "Shenzhen Public Security Bureau"
    assert (referral.country, referral.status, referral.version) == ("CN", "sent", 1)
    assert referral.sent_on == today() - timedelta(days=10)
    linked = db.exec(select(ReferralReport.report_id)).all()
    assert linked == [amber_report.id]
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "referral.created")).one()
    assert entry.target == f"referral:{referral.id}" and entry.actor_id == world.admin_a.id

    page = browser.get(answer.headers["location"])
    assert page.status_code == 200
    assert "The referral to Shenzhen Public Security Bureau was saved." in page.text
    assert f'href="/intel/{amber_report.id}"' in page.text
    assert "Guangdong, China" in page.text


def test_coordinator_refers_a_purchase(
    client_as: ClientAs, db: Session, world: World, bought: tuple[Purchase, Campaign]
) -> None:
    """A coordinator refers a counterfeit test purchase of their group; the referral is
    their (the secretariat's) brand's, linked to the purchase."""
    purchase, campaign = bought
    browser = client_as(world.coordinator)
    form = browser.get(f"/referrals/new?purchase={purchase.id}")
    assert form.status_code == 200
    assert purchase.seller in form.text and campaign.title in form.text
    answer = browser.post("/referrals", data=referral_data(purchase=[str(purchase.id)]))
    assert answer.status_code == 303
    referral = db.exec(select(Referral)).one()
    assert (referral.group_id, referral.brand_id) == (world.apparel.id, world.secretariat.id)
    assert db.exec(select(ReferralPurchase.purchase_id)).all() == [purchase.id]
    page = browser.get(f"/referrals/{referral.id}")
    assert f'href="/testbuys/purchases/{purchase.id}"' in page.text


def test_report_and_purchases_together(
    client_as: ClientAs,
    db: Session,
    world: World,
    amber_report: IntelReport,
    bought: tuple[Purchase, Campaign],
) -> None:
    """A brand admin refers their brand's purchase with a report of the same group; each
    source is named once, however often it is sent."""
    purchase, _ = bought
    grey, _ = make_judged_purchase(
        db, world.coordinator, world.apparel, world.admin_a, Verdict.grey_market
    )
    data = referral_data(
        report=[str(amber_report.id), str(amber_report.id)],
        purchase=[str(purchase.id), str(grey.id)],
    )
    assert client_as(world.admin_a).post("/referrals", data=data).status_code == 303
    assert db.exec(select(ReferralReport.report_id)).all() == [amber_report.id]
    linked = set(db.exec(select(ReferralPurchase.purchase_id)).all())
    assert linked == {purchase.id, grey.id}


def test_links_to_refer_on_report_and_purchase_pages(
    client_as: ClientAs,
    db: Session,
    world: World,
    amber_report: IntelReport,
    bought: tuple[Purchase, Campaign],
) -> None:
    """The report and purchase pages link to the form for those who may refer; a member,
    and a purchase without a counterfeit verdict, get no link."""
    purchase, _ = bought
    genuine, _ = make_judged_purchase(
        db, world.coordinator, world.apparel, world.admin_a, Verdict.genuine
    )
    to_report = f'href="/referrals/new?report={amber_report.id}"'
    to_purchase = f'href="/referrals/new?purchase={purchase.id}"'
    for person in (world.admin_a, world.coordinator):
        browser = client_as(person)
        assert to_report in browser.get(f"/intel/{amber_report.id}").text
        assert to_purchase in browser.get(f"/testbuys/purchases/{purchase.id}").text
        genuine_page = browser.get(f"/testbuys/purchases/{genuine.id}").text
        assert "/referrals/new" not in genuine_page
    member = client_as(world.member_a)
    assert "/referrals/new" not in member.get(f"/intel/{amber_report.id}").text
    assert "/referrals/new" not in member.get(f"/testbuys/purchases/{purchase.id}").text


# Every message of the referral form


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("agency", "  ", "Name the agency the case goes to, e.g. the city's police."),
        ("agency", "x" * 201, "Keep the agency's name to 200 characters at most."),
        ("jurisdiction", "x" * 121, "Keep the jurisdiction to 120 characters at most."),
        ("country", "", "Choose the agency's country."),
        ("country", "XX", "Choose a country from the list."),
        ("sent_on", "", "Give the date the referral was sent."),
        ("sent_on", "2026-02-30", "Give a date as YYYY-MM-DD."),
        ("sent_on", "last week", "Give a date as YYYY-MM-DD."),
        ("sent_on", "FUTURE", "The date sent cannot be in the future."),
        ("sent_on", "1999-12-31", "Give a date from 2000 on."),
        ("contact", "x" * 201, "Keep the contact to 200 characters at most."),
        ("reference", "x" * 121, "Keep the reference number to 120 characters at most."),
        ("summary", "x" * 5001, "Keep the summary to 5,000 characters at most."),
    ],
)
def test_referral_form_messages(
    client_as: ClientAs,
    db: Session,
    world: World,
    amber_report: IntelReport,
    field: str,
    value: str,
    message: str,
) -> None:
    """Each bad field comes back with its message beside it (422), every typed value kept
    and the sources still listed; nothing is saved."""
    if value == "FUTURE":
        value = (today() + timedelta(days=2)).isoformat()
    data = referral_data(**{field: value}, report=[str(amber_report.id)])
    answer = client_as(world.admin_a).post("/referrals", data=data)
    assert answer.status_code == 422
    assert error_beside(answer.text, field, message)
    assert "Please correct the marked fields" in answer.text
    for name in ("agency", "jurisdiction", "contact", "reference"):
        if name != field:
            assert f'value="{escape(data[name])}"' in answer.text
    assert escape(str(data["summary"])) in answer.text
    assert f'<input type="hidden" name="report" value="{amber_report.id}">' in answer.text
    assert referral_count(db) == 0


def test_every_wrong_field_at_once(
    client_as: ClientAs, db: Session, world: World, amber_report: IntelReport
) -> None:
    """Several wrong fields are all marked in one answer."""
    data = referral_data(agency="", country="ZZ", sent_on="", report=[str(amber_report.id)])
    answer = client_as(world.admin_a).post("/referrals", data=data)
    assert answer.status_code == 422
    for field in ("agency", "country", "sent_on"):
        assert f'id="e-{field}"' in answer.text
    assert referral_count(db) == 0


def test_a_referral_needs_a_source(client_as: ClientAs, db: Session, world: World) -> None:
    """Without any report or purchase, the form says where a referral starts."""
    browser = client_as(world.admin_a)
    message = (
        "Start from at least one intelligence report or test purchase: use “Refer to law "
        "enforcement” on its page."
    )
    form = browser.get("/referrals/new")
    assert form.status_code == 422 and error_beside(form.text, "sources", message)
    answer = browser.post("/referrals", data=referral_data())
    assert answer.status_code == 422 and error_beside(answer.text, "sources", message)
    assert 'value="Shenzhen Public Security Bureau"' in answer.text
    assert referral_count(db) == 0


def test_sources_of_two_groups_are_refused(
    client_as: ClientAs, db: Session, world: World, amber_report: IntelReport
) -> None:
    """Reports of two working groups cannot make one referral, even for someone who may
    read both and refer in one of them."""
    toys = make_report(db, world.member_c, world.toys, Tlp.green, title="Toy fakes")
    message = (
        "All reports and purchases of a referral must come from one working group; "
        f"these come from {world.apparel.name}, {world.toys.name}."
    )
    browser = client_as(world.coordinator)
    form = browser.get(f"/referrals/new?report={amber_report.id}&report={toys.id}")
    assert form.status_code == 422 and error_beside(form.text, "sources", message)
    data = referral_data(report=[str(amber_report.id), str(toys.id)])
    answer = browser.post("/referrals", data=data)
    assert answer.status_code == 422 and error_beside(answer.text, "sources", message)
    assert referral_count(db) == 0


@pytest.mark.parametrize("verdict", [Verdict.genuine, Verdict.not_received, ""])
def test_only_counterfeit_or_grey_market_purchases(
    client_as: ClientAs, db: Session, world: World, verdict: str
) -> None:
    """A purchase judged genuine, not received or not judged yet is no case to refer."""
    if verdict:
        purchase, _ = make_judged_purchase(
            db, world.coordinator, world.apparel, world.admin_a, verdict
        )
    else:
        campaign = make_campaign(db, world.coordinator, world.apparel)
        signup = sign_up(db, world.admin_a, campaign, 1)
        purchase = make_purchase(db, world.coordinator, campaign, signup)
    message = (
        f"Purchase {purchase.id} has no counterfeit or grey-market verdict: only such "
        "purchases go to law enforcement."
    )
    answer = client_as(world.coordinator).post(
        "/referrals", data=referral_data(purchase=[str(purchase.id)])
    )
    assert answer.status_code == 422 and error_beside(answer.text, "sources", message)
    assert referral_count(db) == 0


def test_at_most_fifty_sources(client_as: ClientAs, db: Session, world: World) -> None:
    """More than 50 reports and purchases make no referral: the form says so (422)."""
    ids = [str(number) for number in range(1, 52)]
    answer = client_as(world.admin_a).post("/referrals", data=referral_data(report=ids))
    assert answer.status_code == 422
    message = "A referral draws on at most 50 reports and purchases."
    assert error_beside(answer.text, "sources", message)
    assert referral_count(db) == 0


def test_unknown_or_malformed_source_ids_are_not_found(
    client_as: ClientAs, world: World, amber_report: IntelReport
) -> None:
    """A source id that names nothing (or is not a number) is a 404, like one not shared."""
    browser = client_as(world.admin_a)
    for query in ("report=abc", "report=99999999", "purchase=-1", "report=99999999999999999999"):
        assert browser.get(f"/referrals/new?{query}").status_code == 404, query
    answer = browser.post("/referrals", data=referral_data(report=["1.5"]))
    assert answer.status_code == 404


# Readable only by those who may read every source


def test_red_report_only_for_its_named_readers(
    client_as: ClientAs, db: Session, world: World
) -> None:
    """A TLP:RED source: the coordinator and the alliance admin (not named) get 404 for the
    form, the POST and the referral, and never see it listed; a named reader sees it."""
    red = make_report(
        db, world.admin_a, world.apparel, Tlp.red, title="Red lead", recipients=[world.member_a]
    )
    for person in (world.coordinator, world.alliance_admin):
        browser = client_as(person)
        assert browser.get(f"/referrals/new?report={red.id}").status_code == 404
        answer = browser.post("/referrals", data=referral_data(report=[str(red.id)]))
        assert answer.status_code == 404
    assert referral_count(db) == 0

    referral = make_referral(db, world.admin_a, reports=[red], agency="Red Agency")
    for person in (world.coordinator, world.alliance_admin, world.member_b):
        browser = client_as(person)
        assert browser.get(f"/referrals/{referral.id}").status_code == 404
        assert "Red Agency" not in browser.get("/referrals").text
        outcome = browser.post(f"/referrals/{referral.id}/outcome", data=outcome_data(referral))
        assert outcome.status_code == 404
    assert updates_of(db, referral) == []
    named = client_as(world.member_a)
    assert named.get(f"/referrals/{referral.id}").status_code == 200
    assert "Red Agency" in named.get("/referrals").text


def test_amber_source_of_another_group(client_as: ClientAs, db: Session, world: World) -> None:
    """A TLP:AMBER report of toys: apparel's brand admin gets 404 for the form, the POST,
    and the referral toys' brand admin made from it."""
    toys = make_report(db, world.member_c, world.toys, Tlp.amber, title="Toy fakes")
    browser = client_as(world.admin_a)
    assert browser.get(f"/referrals/new?report={toys.id}").status_code == 404
    answer = browser.post("/referrals", data=referral_data(report=[str(toys.id)]))
    assert answer.status_code == 404
    referral = make_referral(db, world.admin_c, reports=[toys], agency="Toy Customs")
    assert browser.get(f"/referrals/{referral.id}").status_code == 404
    assert "Toy Customs" not in browser.get("/referrals").text
    assert client_as(world.member_c).get(f"/referrals/{referral.id}").status_code == 200


def test_purchase_of_another_brand(
    client_as: ClientAs,
    db: Session,
    world: World,
    admin_b: Person,
    amber_report: IntelReport,
    bought: tuple[Purchase, Campaign],
) -> None:
    """Brand A's purchase is not brand B's to read: B's admin gets 404 for the form and the
    POST, even alongside a report they may read, and for brand A's referral of it."""
    purchase, _ = bought
    browser = client_as(admin_b)
    query = f"report={amber_report.id}&purchase={purchase.id}"
    assert browser.get(f"/referrals/new?{query}").status_code == 404
    data = referral_data(report=[str(amber_report.id)], purchase=[str(purchase.id)])
    assert browser.post("/referrals", data=data).status_code == 404
    assert referral_count(db) == 0
    referral = make_referral(db, world.admin_a, purchases=[purchase], agency="Brand A Case")
    assert browser.get(f"/referrals/{referral.id}").status_code == 404
    assert "Brand A Case" not in browser.get("/referrals").text
    assert client_as(world.coordinator).get(f"/referrals/{referral.id}").status_code == 200


# Who may refer and record


def test_member_may_neither_refer_nor_record(
    client_as: ClientAs, db: Session, world: World, amber_report: IntelReport
) -> None:
    """A member reads the group's referral but may not refer a case (403) nor record an
    outcome (403, and no form on the page)."""
    browser = client_as(world.member_a)
    assert browser.get(f"/referrals/new?report={amber_report.id}").status_code == 403
    data = referral_data(report=[str(amber_report.id)])
    assert browser.post("/referrals", data=data).status_code == 403
    assert referral_count(db) == 0
    referral = make_referral(db, world.admin_a, reports=[amber_report])
    page = browser.get(f"/referrals/{referral.id}")
    assert page.status_code == 200 and 'id="outcome-form"' not in page.text
    answer = browser.post(f"/referrals/{referral.id}/outcome", data=outcome_data(referral))
    assert answer.status_code == 403
    assert updates_of(db, referral) == []


def test_brand_admin_of_another_group_may_not_refer(
    client_as: ClientAs, db: Session, world: World
) -> None:
    """Toys' brand admin reads apparel's TLP:GREEN report but refers no case of apparel."""
    green = make_report(db, world.member_a, world.apparel, Tlp.green)
    browser = client_as(world.admin_c)
    assert browser.get(f"/referrals/new?report={green.id}").status_code == 403
    assert browser.post("/referrals", data=referral_data(report=[str(green.id)])).status_code == 403
    assert referral_count(db) == 0


def test_other_brand_admin_refers_but_records_only_as_coordinator(
    client_as: ClientAs, db: Session, world: World, admin_b: Person, amber_report: IntelReport
) -> None:
    """Brand B's admin refers brand A's report, yet may not record an outcome on brand A's
    referral, until appointed coordinator of the group; the coordinator may."""
    browser = client_as(admin_b)
    answer = browser.post("/referrals", data=referral_data(report=[str(amber_report.id)]))
    assert answer.status_code == 303
    own = db.exec(select(Referral)).one()
    assert own.brand_id == world.brand_b.id
    assert browser.post(f"/referrals/{own.id}/outcome", data=outcome_data(own)).status_code == 303

    theirs = make_referral(db, world.admin_a, reports=[amber_report])
    page = browser.get(f"/referrals/{theirs.id}")
    assert page.status_code == 200 and 'id="outcome-form"' not in page.text
    refused = browser.post(f"/referrals/{theirs.id}/outcome", data=outcome_data(theirs))
    assert refused.status_code == 403
    assert updates_of(db, theirs) == []

    factories.appoint(db, world.apparel, admin_b)
    db.commit()
    coordinating = client_as(admin_b)
    assert 'id="outcome-form"' in coordinating.get(f"/referrals/{theirs.id}").text
    done = coordinating.post(f"/referrals/{theirs.id}/outcome", data=outcome_data(theirs))
    assert done.status_code == 303
    assert len(updates_of(db, theirs)) == 1


def test_alliance_admin_refers_and_records(
    client_as: ClientAs, db: Session, world: World, amber_report: IntelReport
) -> None:
    """Alliance staff refer a case of any group and record its outcome."""
    browser = client_as(world.alliance_admin)
    answer = browser.post("/referrals", data=referral_data(report=[str(amber_report.id)]))
    assert answer.status_code == 303
    referral = db.exec(select(Referral)).one()
    recorded = browser.post(f"/referrals/{referral.id}/outcome", data=outcome_data(referral))
    assert recorded.status_code == 303


# Outcomes


def test_recording_an_outcome(
    client_as: ClientAs, db: Session, world: World, amber_report: IntelReport
) -> None:
    """The outcome is kept as a step of the history and copied onto the referral, whose
    version moves on; the page shows it with who recorded it; an audit entry is written."""
    referral = make_referral(db, world.admin_a, reports=[amber_report])
    browser = client_as(world.admin_a)
    page = browser.get(f"/referrals/{referral.id}")
    assert f'name="version" value="{referral.version}"' in page.text
    data = outcome_data(referral, goods_currency="usd")
    answer = browser.post(f"/referrals/{referral.id}/outcome", data=data)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/referrals/{referral.id}"
    db.refresh(referral)
    assert referral.status == ReferralStatus.raid_done
    assert referral.raid_on == referral.sent_on + timedelta(days=2)
    assert (referral.suspects_arrested, referral.facilities_closed) == (3, 1)
    assert referral.goods_seized == 12000
    assert referral.goods_value == Decimal("1250000.50")
    assert (referral.goods_currency, referral.version) == ("USD", 2)
    (update,) = updates_of(db, referral)
    assert (update.by_id, update.status, update.note) == (
        world.admin_a.id,
        ReferralStatus.raid_done,
        "Raid with market regulators.",
    )
    assert update.goods_value == Decimal("1250000.50") and update.goods_currency == "USD"
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "referral.outcome")).one()
    assert entry.target == f"referral:{referral.id}"

    shown = browser.get(f"/referrals/{referral.id}").text
    assert "The outcome was recorded." in shown
    assert "Ada Admin: raid on" in shown
    worth = i18n.money(Decimal("1250000.50"), "USD")  # '$1,250,000.50' for an English reader
    assert f"12,000 items seized, worth {worth}" in shown
    assert 'name="version" value="2"' in shown


def test_history_newest_last(
    client_as: ClientAs, db: Session, world: World, amber_report: IntelReport
) -> None:
    """Each recorded step stays in the history, in the order recorded, with its author."""
    referral = make_referral(db, world.admin_a, reports=[amber_report])
    record_outcome(db, world.admin_a, referral, ReferralStatus.accepted, note="Case opened")
    record_outcome(db, world.coordinator, referral, ReferralStatus.raid_done, arrested=4)
    record_outcome(db, world.admin_a, referral, ReferralStatus.prosecuted, arrested=4)
    text = client_as(world.member_a).get(f"/referrals/{referral.id}").text
    accepted = text.index("Accepted by the agency ·")
    raid = text.index("Raid done ·")
    prosecuted = text.index("Prosecuted ·")
    assert accepted < raid < prosecuted
    assert "Cora Coordinator: raid on" in text and "Case opened" in text
    assert [u.status for u in updates_of(db, referral)] == ["accepted", "raid_done", "prosecuted"]


WHOLE = ": give a whole number, such as 12."
UP_TO = ": give a number from 0 to 10,000,000."
VALUE = "The value of the goods "
BELOW = "must be zero or more, below a trillion."
BEFORE_SENT = "The raid cannot be before the referral was sent (SENT)."
INCOMPLETE = "The form was incomplete: reload the page and enter it again."


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"status": "raided"}, "status", "Choose one of the outcomes offered."),
        ({"raid_on": ""}, "raid_on", "Give the date of the raid."),
        ({"status": "prosecuted", "raid_on": ""}, "raid_on", "Give the date of the raid."),
        ({"raid_on": "31/12/2025"}, "raid_on", "Give a date as YYYY-MM-DD."),
        ({"raid_on": "BEFORE"}, "raid_on", BEFORE_SENT),
        ({"raid_on": "FUTURE"}, "raid_on", "The raid date cannot be in the future."),
        ({"suspects_arrested": "three"}, "suspects_arrested", "Suspects arrested" + WHOLE),
        ({"suspects_arrested": "-1"}, "suspects_arrested", "Suspects arrested" + WHOLE),
        ({"suspects_arrested": "2.5"}, "suspects_arrested", "Suspects arrested" + WHOLE),
        ({"facilities_closed": "10000001"}, "facilities_closed", "Facilities closed" + UP_TO),
        ({"goods_seized": "99999999999999999999"}, "goods_seized", "Goods seized" + UP_TO),
        ({"goods_value": "lots"}, "goods_value", VALUE + "must be an amount such as 1250.00."),
        ({"goods_value": "-5"}, "goods_value", VALUE + BELOW),
        ({"goods_value": "1000000000000"}, "goods_value", VALUE + BELOW),
        ({"goods_value": "12.345"}, "goods_value", VALUE + "can have at most two decimals."),
        ({"goods_currency": "XYZ"}, "goods_currency", "Choose one of the currencies offered."),
        ({"note": "n" * 2001}, "note", "Keep the note to 2,000 characters at most."),
        ({"version": "old"}, "version", INCOMPLETE),
    ],
)  # fmt: skip
def test_outcome_form_messages(
    client_as: ClientAs,
    db: Session,
    world: World,
    amber_report: IntelReport,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    """Each bad outcome field comes back with its message beside it (422), the typed values
    kept; nothing is saved."""
    referral = make_referral(db, world.admin_a, reports=[amber_report])
    sent = referral.sent_on
    words = {"BEFORE": sent - timedelta(days=1), "FUTURE": today() + timedelta(days=2)}
    changes = {k: words[v].isoformat() if v in words else v for k, v in changes.items()}
    message = message.replace("SENT", i18n.day(sent))  # as an English reader reads it
    data = outcome_data(referral, **changes)
    answer = client_as(world.admin_a).post(f"/referrals/{referral.id}/outcome", data=data)
    assert answer.status_code == 422
    assert error_beside(answer.text, field, message)
    for name in ("suspects_arrested", "facilities_closed", "goods_seized", "goods_value"):
        assert f'value="{escape(data[name])}"' in answer.text
    assert escape(data["note"]) in answer.text
    if field != "raid_on":
        assert f'value="{data["raid_on"]}"' in answer.text
    db.refresh(referral)
    assert (referral.version, referral.status) == (1, ReferralStatus.sent)
    assert updates_of(db, referral) == []


def test_outcome_without_raid_and_zero_defaults(
    client_as: ClientAs, db: Session, world: World, amber_report: IntelReport
) -> None:
    """An accepted case needs no raid date; empty numbers count as zero; thousands
    separators are understood."""
    referral = make_referral(db, world.admin_a, reports=[amber_report])
    data = outcome_data(
        referral,
        status=ReferralStatus.accepted,
        raid_on="",
        suspects_arrested="",
        facilities_closed="",
        goods_seized="1,500",
        goods_value="",
    )
    answer = client_as(world.coordinator).post(f"/referrals/{referral.id}/outcome", data=data)
    assert answer.status_code == 303
    db.refresh(referral)
    assert referral.raid_on is None and referral.suspects_arrested == 0
    assert referral.goods_seized == 1500 and referral.goods_value == Decimal("0.00")


def test_concurrent_outcome_comes_back_with_typed_values(
    client_as: ClientAs, db: Session, world: World, amber_report: IntelReport
) -> None:
    """Two people open the form; the coordinator records first. The brand admin's outcome,
    sent against the old version, comes back (409) saying what the coordinator recorded,
    with everything they typed; sent again, it is saved after the coordinator's."""
    referral = make_referral(db, world.admin_a, reports=[amber_report])
    stale = outcome_data(
        referral,
        suspects_arrested="7",
        goods_seized="4321",
        goods_value="98765.43",
        goods_currency="HKD",
        note="Our own count of the seizure",
    )
    record_outcome(
        db,
        world.coordinator,
        referral,
        ReferralStatus.raid_done,
        arrested=2,
        seized=900,
        value="5000",
        note="Police press release",
    )
    browser = client_as(world.admin_a)
    answer = browser.post(f"/referrals/{referral.id}/outcome", data=stale)
    assert answer.status_code == 409
    assert "While you were entering this, Cora Coordinator recorded an outcome" in answer.text
    assert "Raid done, raid on" in answer.text
    assert "2 arrested" in answer.text and "900 items seized" in answer.text
    worth = i18n.money(Decimal(5000), "CNY")
    assert f"worth {worth}" in answer.text and "Police press release" in answer.text
    assert "Your entry was not saved" in answer.text
    for name in ("suspects_arrested", "goods_seized", "goods_value"):
        assert f'value="{stale[name]}"' in answer.text
    assert "Our own count of the seizure" in answer.text
    assert '<option value="HKD" selected>' in answer.text
    assert 'name="version" value="2"' in answer.text
    assert [u.by_id for u in updates_of(db, referral)] == [world.coordinator.id]
    db.refresh(referral)
    assert (referral.suspects_arrested, referral.version) == (2, 2)

    again = browser.post(f"/referrals/{referral.id}/outcome", data=stale | {"version": "2"})
    assert again.status_code == 303
    db.refresh(referral)
    assert (referral.suspects_arrested, referral.goods_currency, referral.version) == (7, "HKD", 3)
    assert [u.by_id for u in updates_of(db, referral)] == [world.coordinator.id, world.admin_a.id]


def test_validation_error_keeps_the_version_typed_against(
    client_as: ClientAs, db: Session, world: World, amber_report: IntelReport
) -> None:
    """A form sent back for a mistake still carries the version it was filled in against,
    so an outcome recorded meanwhile is not silently overwritten."""
    referral = make_referral(db, world.admin_a, reports=[amber_report])
    browser = client_as(world.admin_a)
    record_outcome(db, world.coordinator, referral, ReferralStatus.accepted)
    wrong = outcome_data(referral, version="1", goods_value="lots")
    answer = browser.post(f"/referrals/{referral.id}/outcome", data=wrong)
    assert answer.status_code == 422 and 'name="version" value="1"' in answer.text
    fixed = browser.post(f"/referrals/{referral.id}/outcome", data=wrong | {"goods_value": "1"})
    assert fixed.status_code == 409


def test_unknown_referral_is_not_found(client_as: ClientAs, world: World) -> None:
    """No referral at the address: 404, for the page and the outcome form."""
    browser = client_as(world.alliance_admin)
    for number in ("999999", "0", "99999999999999999999"):
        assert browser.get(f"/referrals/{number}").status_code == 404
        assert browser.post(f"/referrals/{number}/outcome", data={}).status_code == 404


# The list


def _three_referrals(db: Session, world: World) -> tuple[Referral, Referral, Referral]:
    apparel = make_report(db, world.member_a, world.apparel, Tlp.amber)
    toys = make_report(db, world.member_c, world.toys, Tlp.amber)
    first = make_referral(
        db,
        world.admin_a,
        reports=[apparel],
        agency="Apparel Sent",
        sent_on=today() - timedelta(days=20),
    )
    raided = make_referral(
        db,
        world.coordinator,
        reports=[apparel],
        agency="Apparel Raided",
        sent_on=today() - timedelta(days=5),
        jurisdiction="Zhejiang",
    )
    record_outcome(db, world.coordinator, raided, arrested=6, facilities=2, value="77000.5")
    toy = make_referral(
        db, world.admin_c, reports=[toys], agency="Toys Sent", sent_on=today() - timedelta(days=9)
    )
    return first, raided, toy


def test_list_shows_readable_referrals_newest_sent_first(
    client_as: ClientAs, db: Session, world: World
) -> None:
    """The list holds what the reader may read, the latest sent first, with the outcome's
    figures; a brand admin of apparel does not see toys' TLP:AMBER referral."""
    _three_referrals(db, world)
    everything = client_as(world.alliance_admin).get("/referrals").text
    positions = [everything.index(a) for a in ("Apparel Raided", "Toys Sent", "Apparel Sent")]
    assert positions == sorted(positions)
    assert "Zhejiang, China" in everything
    assert i18n.money(Decimal("77000.50"), "CNY") in everything
    assert "Raid done" in everything

    apparel_admin = client_as(world.admin_a).get("/referrals").text
    assert "Apparel Raided" in apparel_admin and "Apparel Sent" in apparel_admin
    assert "Toys Sent" not in apparel_admin
    other_brand = client_as(world.member_b).get("/referrals").text
    assert "Apparel Raided" in other_brand and "Toys Sent" not in other_brand


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("group=apparel-t", {"Apparel Sent", "Apparel Raided"}),
        ("group=toys-t", {"Toys Sent"}),
        ("status=raid_done", {"Apparel Raided"}),
        ("status=sent", {"Apparel Sent", "Toys Sent"}),
        ("group=apparel-t&status=sent", {"Apparel Sent"}),
        ("group=toys-t&status=raid_done", set()),
        ("group=no-such-group", set()),
        ("status=bogus", set()),
    ],
)
def test_list_filters(
    client_as: ClientAs, db: Session, world: World, query: str, shown: set[str]
) -> None:
    """The list filters by working group and by status."""
    _three_referrals(db, world)
    answer = client_as(world.alliance_admin).get(f"/referrals?{query}")
    assert answer.status_code == 200
    found = {a for a in ("Apparel Sent", "Apparel Raided", "Toys Sent") if a in answer.text}
    assert found == shown
    if not shown:
        assert "No referral matches these filters." in answer.text


def test_list_never_shows_unreadable_referrals_whatever_the_filter(
    client_as: ClientAs, db: Session, world: World
) -> None:
    """Filtering by toys shows apparel's brand admin nothing, not toys' referral."""
    _three_referrals(db, world)
    browser = client_as(world.admin_a)
    for query in ("group=toys-t", "status=sent", ""):
        assert "Toys Sent" not in browser.get(f"/referrals?{query}").text


def test_list_pages_by_id_cursor(client_as: ClientAs, db: Session, world: World) -> None:
    """25 referrals a page, the latest sent first (ties by newest id); "older" goes on from
    the last one shown, as a whole page or as htmx rows."""
    report = make_report(db, world.member_a, world.apparel, Tlp.green)
    made = [
        make_referral(
            db,
            world.admin_a,
            reports=[report],
            agency=f"Agency {number:02d}",
            sent_on=today() - timedelta(days=number // 2),
        )
        for number in range(28)
    ]
    expected = sorted(made, key=lambda r: (r.sent_on, r.id or 0), reverse=True)
    browser = client_as(world.member_b)
    first = browser.get("/referrals?group=apparel-t").text
    shown = [r.agency for r in expected if f">{r.agency}</a>" in first]
    assert shown == [r.agency for r in expected[:25]]
    order = [first.index(f">{agency}</a>") for agency in shown]
    assert order == sorted(order)
    older = f"/referrals?group=apparel-t&amp;before={expected[24].id}"
    assert older in first
    rest = browser.get(older.replace("&amp;", "&"))
    assert [r.agency for r in expected if f">{r.agency}</a>" in rest.text] == [
        r.agency for r in expected[25:]
    ]
    assert "before=" not in rest.text
    fragment = browser.get(older.replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert f">{expected[25].agency}</a>" in fragment.text


def test_cursor_of_an_unreadable_referral_opens_nothing(
    client_as: ClientAs, db: Session, world: World
) -> None:
    """An "older" cursor naming a referral the reader may not read shows an empty page,
    so its date cannot be probed."""
    _, _, toy = _three_referrals(db, world)
    answer = client_as(world.admin_a).get(f"/referrals?before={toy.id}")
    assert answer.status_code == 200
    assert "Apparel Sent" not in answer.text and "Apparel Raided" not in answer.text
    assert client_as(world.admin_a).get("/referrals?before=x").status_code == 422


# Statements per page


@pytest.fixture
def counting_app(settings: Settings, engine: Engine, connection: Connection) -> FastAPI:
    app = create_app(settings.model_copy(update={"count_queries": True}), engine)
    app.state.session_factory = lambda: _bound_session(connection)
    return app


def test_pages_run_a_fixed_number_of_statements(
    counting_app: FastAPI, client_as: ClientAs, db: Session, world: World
) -> None:
    """The list and a referral's page read with the same statements with 2 referrals or
    30, and with one outcome recorded or ten: no N+1."""
    report = make_report(db, world.member_a, world.apparel, Tlp.green)
    bought, _ = make_judged_purchase(db, world.coordinator, world.apparel, world.admin_a)
    browser = client_as(world.coordinator)
    counting = TestClient(counting_app, follow_redirects=False, cookies=browser.cookies)
    referral = make_referral(db, world.admin_a, reports=[report], purchases=[bought])

    def statements() -> dict[str, int]:
        measured = {}
        for url in ("/referrals", f"/referrals/{referral.id}"):
            answer = counting.get(url)
            assert answer.status_code == 200, answer.text[:300]
            measured[url] = int(answer.headers["x-queries"])
        return measured

    make_referral(db, world.admin_a, reports=[report])
    record_outcome(db, world.admin_a, referral, ReferralStatus.accepted)
    small = statements()
    for _ in range(28):
        make_referral(db, world.admin_a, reports=[report], purchases=[bought])
    for _ in range(9):
        record_outcome(db, world.coordinator, referral, ReferralStatus.raid_done, arrested=1)
    assert statements() == small
    assert max(small.values()) <= 8


def test_service_refuses_what_the_routes_refuse(
    db: Session, world: World, amber_report: IntelReport
) -> None:
    """The service itself refuses a member (Forbidden) and an unreadable source (NotFound),
    whoever calls it."""
    form = referrals.ReferralForm(**{k: str(v) for k, v in referral_data().items()})
    with pytest.raises(Forbidden):
        referrals.create(
            db, actor_of(db, world.member_a), form, [str(amber_report.id)], [], today()
        )
    with pytest.raises(NotFound):
        referrals.create(db, actor_of(db, world.admin_c), form, [str(amber_report.id)], [], today())
    assert referral_count(db) == 0


def test_sent_today_in_the_readers_time_zone(
    client_as: ClientAs, db: Session, world: World, amber_report: IntelReport
) -> None:
    """ "Not in the future" is judged on the reader's own calendar: a person in Kiritimati
    (UTC+14) may date a referral on their today, which may be tomorrow in UTC."""
    kiritimati = "Pacific/Kiritimati"
    person = db.get(Person, world.admin_a.id)
    assert person is not None
    person.time_zone = kiritimati
    db.add(person)
    db.commit()
    local_today = to_local(utcnow(), kiritimati).date()
    data = referral_data(sent_on=local_today.isoformat(), report=[str(amber_report.id)])
    assert client_as(world.admin_a).post("/referrals", data=data).status_code == 303
    assert db.exec(select(Referral.sent_on)).one() == local_today


# A real race, on a committed database


def test_simultaneous_outcomes_one_wins(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Eight people send an outcome against the same version at the same moment, on a
    committed database (SQLite, or PostgreSQL with HUB_TEST_DATABASE_URL): exactly one is
    saved, every other one is told what was recorded, and nothing is half-written."""
    with throwaway_database(tmp_path_factory.mktemp("race")) as url:
        engine = make_engine(settings_for(url))
        try:
            upgrade_database(engine)
            with Session(engine, expire_on_commit=False) as session:
                group = factories.make_group(session, "race-referrals", "Race (test)")
                brand = factories.make_brand(session, "race-brand", [group])
                secretariat = factories.make_brand(session, "race-staff", kind=OrgKind.alliance)
                admin = factories.make_person(session, brand, Role.brand_admin)
                people = [admin]
                for _ in range(7):
                    coordinator = factories.make_person(session, secretariat)
                    factories.appoint(session, group, coordinator)
                    people.append(coordinator)
                session.commit()
                report = make_report(session, admin, group, Tlp.amber)
                referral = make_referral(session, admin, reports=[report])
            barrier = threading.Barrier(len(people))

            def send(person: Person, number: int) -> str:
                with Session(engine, expire_on_commit=False) as session:
                    actor = actor_of(session, person)
                    loaded = session.get(Referral, referral.id)
                    assert loaded is not None
                    form = referrals.OutcomeForm(
                        status=ReferralStatus.accepted,
                        suspects_arrested=str(number),
                        note=f"By {number}",
                        version="1",
                    )
                    barrier.wait(timeout=60)
                    try:
                        referrals.record_outcome(session, actor, loaded, form, today())
                    except referrals.OutcomeChanged as changed:
                        return f"changed: {changed.message}"
                    return "saved"

            with ThreadPoolExecutor(max_workers=len(people)) as pool:
                answers = list(pool.map(send, people, range(len(people))))
            assert answers.count("saved") == 1, answers
            refused = [a for a in answers if a != "saved"]
            assert all(a.startswith("changed: While you were entering this") for a in refused)
            with Session(engine) as session:
                (update,) = session.exec(select(ReferralUpdate)).all()
                final = session.get(Referral, referral.id)
                assert final is not None
                assert final.version == 2
                assert final.suspects_arrested == update.suspects_arrested
                assert update.note == f"By {update.suspects_arrested}"
        finally:
            engine.dispose()
