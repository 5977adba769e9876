"""Exports: board and search CSV (formula cells defused), report and board STIX 2.1 with
TLP 2.0 markings and observables, and the printable evidence pack."""

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
import stix2
from fastapi import FastAPI
from sqlmodel import Session

from hub.config import Settings
from hub.intel import evidence, service
from hub.intel.models import IntelReport, Tlp
from tests.conftest import ClientAs, World
from tests.intel.factories import actor_of, make_report, picture, uploads_in

BOARD = "/groups/apparel-t/intel"
COLUMNS = [
    "id", "posted_at", "title", "tlp", "status", "category", "marketplace", "brands_affected",
    "products_affected", "infringement", "confidence", "reliability", "reporting_brand",
    "indicators", "link",
]  # fmt: skip
# The marking definitions published with TLP 2.0 for STIX 2.1.
TLP_2_0 = {
    Tlp.clear: ("marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "clear"),
    Tlp.green: ("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "green"),
    Tlp.amber: ("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "amber"),
    Tlp.amber_strict: ("marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", "amber+strict"),
    Tlp.red: ("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "red"),
}
TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
INDICATORS = [
    ("listing_url", "https://www.example-market.com/item/123?utm_source=x#photos"),
    ("domain", "Fake-Trainers.EXAMPLE"),
    ("email", "Sales@Fake-Trainers.example"),
    ("phone", "+86 138 0013 8000"),
    ("seller_id", "shop-4471"),
]


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def listing(db: Session, world: World) -> IntelReport:
    """A TLP:GREEN report by member_a with one indicator of several kinds."""
    return make_report(
        db,
        world.member_a,
        world.apparel,
        Tlp.green,
        title="FakeTrainers store",
        body="Forty listings, **same photos** as ours.",
        indicators=INDICATORS,
        category="seller",
        marketplace="Example Market",
        brands_affected="Brand A",
    )


# --- CSV ---------------------------------------------------------------------------------


def test_board_csv_has_the_columns_and_one_row_per_report(
    listing: IntelReport, world: World, client_as: ClientAs, settings: Settings
) -> None:
    """The board CSV downloads with a header of known columns and one row per report."""
    response = client_as(world.member_b).get(f"{BOARD}/export.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="apparel-t-board.csv"'
    reader = csv.reader(io.StringIO(response.text))
    assert next(reader) == COLUMNS
    [row] = _rows(response.text)
    assert row["id"] == str(listing.id)
    assert row["title"] == "FakeTrainers store"
    assert row["tlp"] == "TLP:GREEN"
    assert row["status"] == "New"
    assert row["category"] == "Seller / store"
    assert row["marketplace"] == "Example Market"
    assert row["reporting_brand"] == "Brand A"
    assert row["confidence"] == "probable" and row["reliability"] == "B"
    assert row["link"] == f"{settings.base_url}/intel/{listing.id}"
    assert "Phone: +86 138 0013 8000" in row["indicators"]
    assert "E-mail: Sales@Fake-Trainers.example" in row["indicators"]
    assert row["posted_at"].startswith(listing.created_at.isoformat()[:19])


FORMULAS = [
    '=HYPERLINK("http://evil.example","click me")',
    "+SUM(1,2)",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("formula", FORMULAS)
def test_formula_looking_cells_are_defused(
    formula: str, db: Session, world: World, client_as: ClientAs
) -> None:
    """A title, marketplace or brand that a spreadsheet would run gets a leading quote."""
    make_report(
        db,
        world.member_a,
        world.apparel,
        Tlp.green,
        title=f"{formula} title",
        marketplace=formula[:100],
        brands_affected=formula,
    )
    for path, params in ((f"{BOARD}/export.csv", {}), ("/intel/search/export.csv", {"q": "title"})):
        [row] = _rows(client_as(world.member_b).get(path, params=params).text)
        for column in ("title", "marketplace", "brands_affected"):
            assert row[column].startswith("'"), (path, column, row[column])
        assert row["title"] == f"'{formula.strip()} title"


def test_every_cell_of_every_row_is_safe(db: Session, world: World, client_as: ClientAs) -> None:
    """No cell anywhere in the export starts with a formula character."""
    make_report(
        db,
        world.member_a,
        world.apparel,
        Tlp.green,
        title='=cmd|" /C calc"!A0',
        marketplace="+market",
        brands_affected="-brand",
        indicators=[("shop_name", "=evil shop")],
    )
    reader = csv.reader(io.StringIO(client_as(world.member_b).get(f"{BOARD}/export.csv").text))
    for row in reader:
        for cell in row:
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), cell


def test_csv_quotes_commas_quotes_and_newlines(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """Titles with commas, quotes and line breaks survive a round trip through a reader."""
    title = 'Shop "Best, Cheapest" — fakes'
    make_report(db, world.member_a, world.apparel, Tlp.green, title=title)
    [row] = _rows(client_as(world.member_b).get(f"{BOARD}/export.csv").text)
    assert row["title"] == title


def test_board_csv_keeps_the_filters(
    listing: IntelReport, db: Session, world: World, client_as: ClientAs
) -> None:
    """The CSV holds what the filtered board shows, newest first."""
    make_report(db, world.member_b, world.apparel, Tlp.amber, title="Amber one")
    make_report(db, world.member_b, world.apparel, Tlp.clear, title="Clear one")
    browser = client_as(world.member_b)
    all_rows = _rows(browser.get(f"{BOARD}/export.csv").text)
    assert [r["title"] for r in all_rows] == ["Clear one", "Amber one", "FakeTrainers store"]
    amber = _rows(browser.get(f"{BOARD}/export.csv", params={"tlp": "amber"}).text)
    assert [r["title"] for r in amber] == ["Amber one"]
    sellers = _rows(browser.get(f"{BOARD}/export.csv", params={"category": "seller"}).text)
    assert [r["title"] for r in sellers] == ["FakeTrainers store"]


def test_board_csv_is_of_that_board_only(
    listing: IntelReport, db: Session, world: World, client_as: ClientAs
) -> None:
    """Another group's board exports its own reports, not this one's."""
    make_report(db, world.member_c, world.toys, Tlp.clear, title="Toy report")
    rows = _rows(client_as(world.member_b).get("/groups/toys-t/intel/export.csv").text)
    assert [r["title"] for r in rows] == ["Toy report"]


def test_board_csv_leaves_out_merged_duplicates(
    listing: IntelReport, db: Session, world: World, client_as: ClientAs
) -> None:
    """A duplicate merged away is not on the board, so not in its export either."""
    duplicate = make_report(db, world.member_b, world.apparel, Tlp.green, title="Duplicate")
    response = client_as(world.coordinator).post(
        f"/intel/{duplicate.id}/merge", data={"into": str(listing.id)}
    )
    assert response.status_code == 303
    rows = _rows(client_as(world.member_b).get(f"{BOARD}/export.csv").text)
    assert [r["title"] for r in rows] == ["FakeTrainers store"]


def test_empty_board_csv_is_just_the_header(world: World, client_as: ClientAs) -> None:
    """An empty board exports the header row alone."""
    text = client_as(world.member_b).get(f"{BOARD}/export.csv").text
    assert list(csv.reader(io.StringIO(text))) == [COLUMNS]


def test_search_csv_holds_the_hits(
    listing: IntelReport, db: Session, world: World, client_as: ClientAs
) -> None:
    """The search export holds the reports the search found, with the same columns."""
    make_report(db, world.member_b, world.apparel, Tlp.clear, title="Unrelated jackets")
    response = client_as(world.member_b).get("/intel/search/export.csv", params={"q": "listings"})
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="search.csv"'
    assert next(csv.reader(io.StringIO(response.text))) == COLUMNS
    assert [r["title"] for r in _rows(response.text)] == ["FakeTrainers store"]


def test_search_csv_without_words_is_empty(
    listing: IntelReport, world: World, client_as: ClientAs
) -> None:
    """A search for nothing exports no rows."""
    text = client_as(world.member_b).get("/intel/search/export.csv").text
    assert _rows(text) == []


# --- STIX --------------------------------------------------------------------------------


def _bundle(text: str) -> Any:
    return stix2.parse(text, allow_custom=True)


def _objects(bundle: Any, kind: str) -> list[Any]:
    return [o for o in bundle.objects if o["type"] == kind]


def test_report_stix_parses_and_carries_the_report(
    listing: IntelReport, world: World, client_as: ClientAs
) -> None:
    """A report's STIX 2.1 bundle parses, with the report, its author's brand and marking."""
    response = client_as(world.member_b).get(f"/intel/{listing.id}/export.stix.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/stix+json")
    assert (
        response.headers["content-disposition"]
        == f'attachment; filename="report-{listing.id}.stix.json"'
    )
    bundle = _bundle(response.text)
    assert bundle.type == "bundle"
    [report] = _objects(bundle, "report")
    assert report.spec_version == "2.1"
    assert report.name == "FakeTrainers store"
    assert report.description == "Forty listings, **same photos** as ours."
    [identity] = _objects(bundle, "identity")
    assert identity.name == "Brand A" and report.created_by_ref == identity.id
    assert report.object_marking_refs == [TLP_2_0[Tlp.green][0]]


def test_report_stix_has_observables_for_url_domain_and_email(
    listing: IntelReport, world: World, client_as: ClientAs
) -> None:
    """URL, domain and e-mail indicators become STIX observables the report refers to,
    each carrying the report's marking."""
    bundle = _bundle(client_as(world.member_b).get(f"/intel/{listing.id}/export.stix.json").text)
    [report] = _objects(bundle, "report")
    [url] = _objects(bundle, "url")
    [domain] = _objects(bundle, "domain-name")
    [email] = _objects(bundle, "email-addr")
    [account] = _objects(bundle, "user-account")
    assert url.value == INDICATORS[0][1]
    assert domain.value == "fake-trainers.example"
    assert email.value == "sales@fake-trainers.example"
    assert account.account_login == "shop-4471"
    [phone] = _objects(bundle, "x-alliance-indicator")
    assert (phone["kind"], phone["normalised"]) == ("phone", "+8613800138000")
    observables = [url, domain, email, account, phone]
    assert set(report.object_refs) == {o["id"] for o in observables}
    for observable in observables:
        assert observable["object_marking_refs"] == [TLP_2_0[Tlp.green][0]]


@pytest.mark.parametrize("tlp", list(Tlp))
def test_stix_marking_is_the_tlp_2_0_definition(
    tlp: Tlp, db: Session, world: World, client_as: ClientAs
) -> None:
    """Each marking exports as the published TLP 2.0 marking definition, with its id and
    the TLP 2.0 extension naming the level."""
    report = make_report(
        db,
        world.member_a,
        world.apparel,
        tlp,
        title=f"Marked {tlp}",
        recipients=[world.member_b] if tlp == Tlp.red else [],
    )
    bundle = _bundle(client_as(world.member_a).get(f"/intel/{report.id}/export.stix.json").text)
    marking_id, level = TLP_2_0[tlp]
    [marking] = _objects(bundle, "marking-definition")
    assert marking.id == marking_id
    assert marking["extensions"][TLP_EXTENSION]["tlp_2_0"] == level
    assert marking["extensions"][TLP_EXTENSION]["extension_type"] == "property-extension"
    [stix_report] = _objects(bundle, "report")
    assert stix_report.object_marking_refs == [marking_id]


def test_board_stix_marks_each_report_with_its_own_tlp(
    listing: IntelReport, db: Session, world: World, client_as: ClientAs
) -> None:
    """A board bundle holds each visible report with its own marking, each definition once."""
    make_report(db, world.member_b, world.apparel, Tlp.amber, title="Amber by B")
    make_report(db, world.member_b, world.apparel, Tlp.green, title="Green by B")
    response = client_as(world.member_b).get(f"{BOARD}/export.stix.json")
    assert response.status_code == 200
    assert (
        response.headers["content-disposition"]
        == 'attachment; filename="apparel-t-board.stix.json"'
    )
    bundle = _bundle(response.text)
    marks = {r.name: r.object_marking_refs for r in _objects(bundle, "report")}
    assert marks == {
        "FakeTrainers store": [TLP_2_0[Tlp.green][0]],
        "Amber by B": [TLP_2_0[Tlp.amber][0]],
        "Green by B": [TLP_2_0[Tlp.green][0]],
    }
    assert sorted(m.id for m in _objects(bundle, "marking-definition")) == sorted(
        [TLP_2_0[Tlp.green][0], TLP_2_0[Tlp.amber][0]]
    )
    assert sorted(i.name for i in _objects(bundle, "identity")) == ["Brand A", "Brand B"]


def test_stix_ids_are_stable_between_exports(
    listing: IntelReport, world: World, client_as: ClientAs
) -> None:
    """Exporting twice gives the same ids, so other tools update rather than duplicate."""
    browser = client_as(world.member_b)
    first = json.loads(browser.get(f"/intel/{listing.id}/export.stix.json").text)
    second = json.loads(browser.get(f"/intel/{listing.id}/export.stix.json").text)
    assert sorted(o["id"] for o in first["objects"]) == sorted(o["id"] for o in second["objects"])


def test_shared_indicator_is_one_observable(
    listing: IntelReport, db: Session, world: World, client_as: ClientAs
) -> None:
    """Two reports naming the same domain share one observable in a board bundle."""
    make_report(
        db,
        world.member_b,
        world.apparel,
        Tlp.green,
        title="Same domain",
        indicators=[("domain", "fake-trainers.example")],
    )
    bundle = _bundle(client_as(world.member_b).get(f"{BOARD}/export.stix.json").text)
    [domain] = _objects(bundle, "domain-name")
    for report in _objects(bundle, "report"):
        assert domain.id in report.object_refs


def test_empty_board_stix_is_a_valid_bundle(world: World, client_as: ClientAs) -> None:
    """An empty board still exports a bundle; STIX 2.1 forbids empty lists, so it has no
    "objects" (which stix2.parse cannot read, hence plain JSON here)."""
    response = client_as(world.member_b).get(f"{BOARD}/export.stix.json")
    assert response.status_code == 200
    bundle = json.loads(response.text)
    assert bundle["type"] == "bundle" and bundle["id"].startswith("bundle--")
    assert bundle.get("objects", []) == []


def test_report_without_indicators_still_parses(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """A report with no indicators refers to its author's identity and parses."""
    report = make_report(db, world.member_a, world.apparel, Tlp.green, title="Bare")
    bundle = _bundle(client_as(world.member_a).get(f"/intel/{report.id}/export.stix.json").text)
    [stix_report] = _objects(bundle, "report")
    [identity] = _objects(bundle, "identity")
    assert stix_report.object_refs == [identity.id]


# --- printable evidence pack -------------------------------------------------------------


def test_print_page_is_a_complete_evidence_pack(
    listing: IntelReport,
    db: Session,
    world: World,
    client_as: ClientAs,
    app: FastAPI,
    settings: Settings,
    tmp_path: Path,
) -> None:
    """The printable page has the marking, facts, indicators, every file with its SHA-256,
    and the status history, without the hub's navigation."""
    own = uploads_in(app, settings, tmp_path)
    actor = actor_of(db, world.member_a)
    checked = evidence.check(own, evidence.Upload("listing.png", picture("print")))
    evidence.attach(db, own, actor, listing, [checked])
    service.change_status(db, actor, listing, "verified", "Test buy received")
    db.commit()
    response = client_as(world.member_b).get(f"/intel/{listing.id}/print")
    assert response.status_code == 200
    html = response.text
    assert '<p class="marking">TLP:GREEN</p>' in html
    assert "<h1>FakeTrainers store</h1>" in html
    assert "<strong>same photos</strong>" in html
    assert "Example Market" in html and "Seller / store" in html
    for _, value in INDICATORS:
        assert f"<code>{value}</code>" in html.replace("&amp;", "&")
    assert "listing.png" in html and checked.sha256 in html
    assert '<img src="/evidence/' in html
    assert "Verified" in html and "Test buy received" in html and "Alma Member" in html
    assert 'class="topbar"' not in html and "<script" not in html


def test_print_page_escapes_what_members_typed(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """Titles and indicators with markup print as text."""
    report = make_report(
        db,
        world.member_a,
        world.apparel,
        Tlp.green,
        title="<script>alert(1)</script>",
        body="<img src=x onerror=alert(1)>",
        indicators=[("shop_name", "<b>shop</b>")],
    )
    html = client_as(world.member_a).get(f"/intel/{report.id}/print").text
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>shop" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
