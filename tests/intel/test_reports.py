"""Posting, reading, editing and moving reports along the workflow; the board's filters,
paging and its fixed number of queries."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import Connection, event
from sqlmodel import Session, col, func, select

from hub.intel.models import (
    Comment,
    Evidence,
    Indicator,
    IntelReport,
    ReportVersion,
    Sighting,
    Status,
    StatusChange,
    Tlp,
)
from hub.intel.service import PAGE_SIZE
from tests import factories
from tests.conftest import ClientAs, World
from tests.intel.factories import make_report

BOARD = "/groups/apparel-t/intel"


def report_form(**changes: Any) -> dict[str, Any]:
    """A complete, valid report form as the browser sends it, with `changes` applied."""
    form: dict[str, Any] = {
        "title": "LuxeOutlet88 selling fake trainers",
        "body_md": "Seen on **AliExpress**, 40 listings.",
        "category": "online_listing",
        "marketplace": "AliExpress",
        "brands_affected": "Brand A",
        "products_affected": "Trainers",
        "infringement": "counterfeit",
        "confidence": "probable",
        "reliability": "B",
        "tlp": "amber",
        "recipients": "",
        "indicator_kind": [],
        "indicator_value": [],
    }
    form.update(changes)
    return form


def _count(db: Session, model: Any) -> int:
    return db.exec(select(func.count()).select_from(model)).one()


def _posted(db: Session, title: str) -> IntelReport:
    db.expire_all()
    return db.exec(select(IntelReport).where(IntelReport.title == title)).one()


def _indicators(db: Session, report: IntelReport) -> list[tuple[str, str, str]]:
    rows = db.exec(
        select(Indicator).where(Indicator.report_id == report.id).order_by(col(Indicator.id))
    ).all()
    return [(i.kind, i.value, i.normalised) for i in rows]


# --- posting ---------------------------------------------------------------------------


def test_posting_a_report_saves_it_with_normalised_indicators(
    world: World, db: Session, client_as: ClientAs
) -> None:
    """A posted report is saved in the group, by the poster's brand, indicators normalised
    (two spellings of one AliExpress listing kept once), and shown on its page."""
    listing = "https://www.aliexpress.com/item/1005001234567890.html?spm=a2g0o.detail&algo_pvid=x"
    same_listing = "http://m.aliexpress.us/item/1005001234567890.html#reviews"
    form = report_form(
        indicator_kind=["listing_url", "listing_url", "phone", "email", "payment_account"],
        indicator_value=[
            listing,
            same_listing,
            "+86 138-0013-8000",
            "Fake.Seller@Example.COM",
            "de89 3704 0044 0532 0130 00",
        ],
    )
    browser = client_as(world.member_a)
    response = browser.post(BOARD, data=form)
    assert response.status_code == 303
    report = _posted(db, form["title"])
    assert response.headers["location"] == f"/intel/{report.id}"
    assert (report.group_id, report.brand_id, report.author_id) == (
        world.apparel.id,
        world.brand_a.id,
        world.member_a.id,
    )
    assert (report.tlp, report.status, report.version) == (Tlp.amber, Status.new, 1)
    assert report.body_html == "<p>Seen on <strong>AliExpress</strong>, 40 listings.</p>\n"
    assert _indicators(db, report) == [
        ("listing_url", listing, "aliexpress:item:1005001234567890"),
        ("phone", "+86 138-0013-8000", "+8613800138000"),
        ("email", "Fake.Seller@Example.COM", "fake.seller@example.com"),
        ("payment_account", "de89 3704 0044 0532 0130 00", "DE89370400440532013000"),
    ]
    page = browser.get(f"/intel/{report.id}")
    assert page.status_code == 200
    assert "LuxeOutlet88 selling fake trainers" in page.text
    assert "Your report was posted to Apparel (test)." in page.text
    assert str(escape(listing)) in page.text


def test_another_spelling_of_a_listing_correlates(
    world: World, db: Session, client_as: ClientAs
) -> None:
    """A second report naming the same listing in another spelling is "also named in 1
    other report" and both normalise to the same value."""
    make_report(
        db,
        world.member_b,
        world.apparel,
        indicators=[("listing_url", "https://de.aliexpress.com/item/1005001234567890.html")],
    )
    form = report_form(
        indicator_kind=["listing_url"],
        indicator_value=["https://www.aliexpress.com/item/1005001234567890.html?spm=x"],
    )
    browser = client_as(world.member_a)
    assert browser.post(BOARD, data=form).status_code == 303
    report = _posted(db, form["title"])
    assert _indicators(db, report)[0][2] == "aliexpress:item:1005001234567890"
    assert "also named in 1 other report<" in browser.get(f"/intel/{report.id}").text


def test_red_report_names_its_recipients(world: World, db: Session, client_as: ClientAs) -> None:
    """A TLP:RED report keeps the people named (by e-mail, any case, any separator)."""
    form = report_form(
        tlp="red", recipients=f" {world.member_b.email.upper()} ; {world.member_c.email},"
    )
    assert client_as(world.member_a).post(BOARD, data=form).status_code == 303
    report = _posted(db, form["title"])
    page = client_as(world.member_c).get(f"/intel/{report.id}")
    assert page.status_code == 200
    assert "Shared only with" in page.text
    assert world.member_b.name in page.text and world.member_c.name in page.text
    assert client_as(world.admin_a).get(f"/intel/{report.id}").status_code == 404


def test_coordinator_may_post_to_their_group(
    world: World, db: Session, client_as: ClientAs
) -> None:
    """A group's coordinator posts on its board, as their own (secretariat) organisation."""
    form = report_form(title="Posted by the coordinator")
    assert client_as(world.coordinator).post(BOARD, data=form).status_code == 303
    assert _posted(db, form["title"]).brand_id == world.secretariat.id


def test_the_form_offers_every_field(world: World, client_as: ClientAs) -> None:
    """The new-report form has the fields, the TLP choices and blank indicator rows."""
    text = client_as(world.member_a).get(f"{BOARD}/new").text
    for name in ("title", "body_md", "category", "tlp", "recipients", "evidence_files"):
        assert f'name="{name}"' in text
    for label in ("TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"):
        assert label in text
    assert text.count('name="indicator_value"') == 3


def test_indicator_row_is_one_blank_row(world: World, client_as: ClientAs) -> None:
    """The "add another indicator" fragment is one blank row, not a page."""
    text = client_as(world.member_a).get("/intel/indicator-row").text
    assert text.count('name="indicator_value"') == 1
    assert "<html" not in text


BAD_INPUT = [
    pytest.param({"title": "   "}, "Give the report a title", id="empty-title"),
    pytest.param({"title": "x" * 201}, "Keep the title under 200 characters.", id="long-title"),
    pytest.param(
        {"indicator_kind": ["phone"], "indicator_value": ["call me maybe"]},
        "'call me maybe' is not a phone number we can read",
        id="unreadable-phone",
    ),
    pytest.param(
        {"indicator_kind": ["listing_url"], "indicator_value": ["javascript:alert(1)"]},
        "is not a valid host name",
        id="not-a-url",
    ),
    pytest.param(
        {"tlp": "red", "recipients": ""},
        "TLP:RED needs the people who may read it",
        id="red-without-recipients",
    ),
    pytest.param(
        {"tlp": "red", "recipients": "nobody@nowhere.example"},
        "Nobody active in the hub has the address nobody@nowhere.example.",
        id="unknown-recipient",
    ),
    pytest.param({"tlp": "purple"}, "Choose one of the options offered.", id="unknown-tlp"),
    pytest.param(
        {"category": "gossip"}, "Choose one of the options offered.", id="unknown-category"
    ),
]


@pytest.mark.parametrize(("changes", "message"), BAD_INPUT)
def test_bad_input_answers_422_keeping_everything_typed(
    changes: dict[str, Any], message: str, world: World, db: Session, client_as: ClientAs
) -> None:
    """A bad form saves nothing and comes back (422) with the message and all that was
    typed: title, description and indicator values."""
    form = report_form(
        body_md="Seen <b>twice</b> & more",
        indicator_kind=["shop_name", "email"],
        indicator_value=["Luxe & Co ‘Outlet’", "seller@fake-shop.example"],
    )
    form.update(changes)
    if "indicator_kind" in changes:
        form["indicator_kind"] = ["shop_name", *changes["indicator_kind"]]
        form["indicator_value"] = ["Luxe & Co ‘Outlet’", *changes["indicator_value"]]
    before = _count(db, IntelReport)
    response = client_as(world.member_a).post(BOARD, data=form)
    assert response.status_code == 422
    assert str(escape(message)) in response.text
    assert "Please correct the marked fields" in response.text
    if form["title"].strip():
        assert f'value="{escape(form["title"])}"' in response.text
    assert f">{escape(form['body_md'])}</textarea>" in response.text
    for value in form["indicator_value"]:
        assert f'value="{escape(value)}"' in response.text
    assert _count(db, IntelReport) == before


def test_inactive_person_is_no_recipient(world: World, db: Session, client_as: ClientAs) -> None:
    """A deactivated person cannot be named on a TLP:RED report."""
    gone = factories.make_person(db, world.brand_b, email="gone@brand-b.example", is_active=False)
    db.commit()
    form = report_form(tlp="red", recipients=gone.email)
    response = client_as(world.member_a).post(BOARD, data=form)
    assert response.status_code == 422
    assert "Nobody active in the hub has the address gone@brand-b.example." in response.text


# --- XSS -------------------------------------------------------------------------------

XSS_PAYLOADS = [
    "<script>alert('script')</script>",
    "<img src=x onerror=alert('img')>",
    '<img src="x" onerror="alert(1)">',
    '<svg onload="alert(1)"><circle r="1"/></svg>',
    "[click me](javascript:alert('link'))",
    "[click me](JaVaScRiPt:alert('link2'))",
    "[entity](&#106;avascript:alert('entity'))",
    "<javascript:alert('autolink')>",
    "<svg onload=alert('svg')>",
    '"><script>alert("break-out")</script>',
    "<a href=\"javascript:alert('raw')\">raw link</a>",
    "<iframe src=\"javascript:alert('frame')\"></iframe>",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<p style=\"background:url(javascript:alert('style'))\" onclick=\"alert('click')\">p</p>",
]
HTMX_SCRIPTS = {"/static/vendor/htmx.min.js", "/static/js/hub.js"}


class ActiveContent(HTMLParser):
    """Collects whatever in a page could run script: script elements (other than the
    hub's own), event-handler attributes, and script-bearing URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("src") not in HTMX_SCRIPTS:
            self.found.append(f"<script {values}>")
        if tag in {"svg", "iframe", "object", "embed", "img", "style", "base", "form"} and (
            tag != "form" or (values.get("action") or "").startswith("javascript")
        ):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag} {name}={value}")
            if name in {"href", "src", "action", "formaction", "style"}:
                squeezed = re.sub(r"\s", "", (value or "")).lower()
                if "javascript:" in squeezed or squeezed.startswith(("data:", "vbscript:")):
                    self.found.append(f"{tag} {name}={value}")


def active_content(html: str) -> list[str]:
    parser = ActiveContent()
    parser.feed(html)
    return parser.found


def _report_body(html: str) -> str:
    found = re.search(r'<div class="prose">(.*?)</div>', html, re.DOTALL)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_in_the_description_comes_back_inert(
    payload: str, world: World, db: Session, client_as: ClientAs
) -> None:
    """Script in a description is shown as text: no script element, event handler or
    javascript:/data: link anywhere in the report page."""
    form = report_form(title="XSS probe", body_md=f"Before.\n\n{payload}\n\nAfter.")
    browser = client_as(world.member_a)
    assert browser.post(BOARD, data=form).status_code == 303
    report = _posted(db, "XSS probe")
    for reader in (world.member_a, world.member_b):
        page = client_as(reader).get(f"/intel/{report.id}").text
        assert active_content(page) == []
        body = _report_body(page)
        assert "Before." in body and "After." in body
        assert "<script" not in body.lower()
        assert "<svg" not in body.lower() and "<img" not in body.lower()
        assert '<a href="javascript' not in body.lower()


def test_xss_in_title_and_indicators_is_escaped_everywhere(
    world: World, db: Session, client_as: ClientAs
) -> None:
    """A script in the title, marketplace or an indicator value is escaped on the report,
    the board, the versions page and the edit form."""
    payload = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    form = report_form(
        title=f"T {payload}",
        marketplace=payload,
        indicator_kind=["shop_name"],
        indicator_value=[payload],
    )
    browser = client_as(world.member_a)
    assert browser.post(BOARD, data=form).status_code == 303
    report = _posted(db, f"T {payload}")
    edited = report_form(title="Renamed", indicator_kind=["shop_name"], indicator_value=["x"])
    assert browser.post(f"/intel/{report.id}/edit", data=edited).status_code == 303
    for url in (f"/intel/{report.id}", BOARD, f"/intel/{report.id}/versions"):
        page = browser.get(url).text
        assert active_content(page) == [], url
    form_page = browser.get(f"/intel/{report.id}/edit").text
    assert active_content(form_page) == []


# --- editing ---------------------------------------------------------------------------


def test_editing_keeps_the_earlier_version(world: World, db: Session, client_as: ClientAs) -> None:
    """The author's edit changes the report and keeps what it was on the versions page."""
    report = make_report(
        db,
        world.member_a,
        world.apparel,
        title="First title",
        body="First description",
        indicators=[("phone", "+86 138 0013 8000")],
    )
    browser = client_as(world.member_a)
    form_page = browser.get(f"/intel/{report.id}/edit")
    assert form_page.status_code == 200
    assert 'value="First title"' in form_page.text and 'value="+86 138 0013 8000"' in form_page.text
    edited = report_form(
        title="Second title",
        body_md="Second description",
        indicator_kind=["email"],
        indicator_value=["seller@fake-shop.example"],
    )
    response = browser.post(f"/intel/{report.id}/edit", data=edited)
    assert response.status_code == 303
    assert response.headers["location"] == f"/intel/{report.id}"
    db.expire_all()
    fresh = db.get(IntelReport, report.id)
    assert fresh is not None
    assert (fresh.title, fresh.body_md, fresh.version) == ("Second title", "Second description", 2)
    assert _indicators(db, fresh) == [
        ("email", "seller@fake-shop.example", "seller@fake-shop.example")
    ]
    kept = db.exec(select(ReportVersion).where(ReportVersion.report_id == report.id)).one()
    assert (kept.version, kept.edited_by_id) == (1, world.member_a.id)
    page = browser.get(f"/intel/{report.id}")
    assert "Second title" in page.text and "version 2" in page.text
    versions = browser.get(f"/intel/{report.id}/versions").text
    assert "Version 1" in versions
    assert "First title" in versions and "First description" in versions
    assert "+86 138 0013 8000" in versions


@pytest.mark.parametrize(
    ("editor", "status"),
    [("admin_a", 403), ("member_b", 403), ("coordinator", 403), ("member_c", 404)],
)
def test_only_the_author_may_edit(
    editor: str, status: int, world: World, db: Session, client_as: ClientAs
) -> None:
    """Anyone but the author is refused (403 if they can read it, 404 if not); nothing
    changes and no version is made."""
    report = make_report(db, world.member_a, world.apparel, Tlp.amber, title="Untouched")
    browser = client_as(getattr(world, editor))
    assert browser.get(f"/intel/{report.id}/edit").status_code == status
    response = browser.post(f"/intel/{report.id}/edit", data=report_form(title="Hijacked"))
    assert response.status_code == status
    db.expire_all()
    fresh = db.get(IntelReport, report.id)
    assert fresh is not None and (fresh.title, fresh.version) == ("Untouched", 1)
    assert (
        db.exec(select(ReportVersion).where(ReportVersion.report_id == report.id)).first() is None
    )


def test_bad_edit_keeps_what_was_typed(world: World, db: Session, client_as: ClientAs) -> None:
    """An edit with a bad phone is refused with the message, keeping the typed values."""
    report = make_report(db, world.member_a, world.apparel, title="Before the edit")
    form = report_form(
        title="After the edit", indicator_kind=["phone"], indicator_value=["12345 not a phone"]
    )
    response = client_as(world.member_a).post(f"/intel/{report.id}/edit", data=form)
    assert response.status_code == 422
    assert str(escape("'12345 not a phone' is not a phone number we can read")) in response.text
    assert 'value="After the edit"' in response.text
    assert 'value="12345 not a phone"' in response.text
    db.expire_all()
    assert db.get(IntelReport, report.id).title == "Before the edit"  # type: ignore[union-attr]


# --- status workflow --------------------------------------------------------------------


def _changes(db: Session, report: IntelReport) -> list[tuple[str, str, int]]:
    rows = db.exec(
        select(StatusChange)
        .where(StatusChange.report_id == report.id)
        .order_by(col(StatusChange.id))
    ).all()
    for row in rows:
        assert row.at is not None
    return [(row.from_status, row.to_status, row.by_id) for row in rows]


def test_status_changes_are_recorded_with_who_and_when(
    world: World, db: Session, client_as: ClientAs
) -> None:
    """The author, their brand's admin and the coordinator move the report along; each
    change is kept with who made it, and shown on the report."""
    report = make_report(db, world.member_a, world.apparel, title="Workflow")
    steps = [
        (world.member_a, Status.verified, "Test buy confirms it"),
        (world.coordinator, Status.notice_filed, "Notice 4711"),
        (world.admin_a, Status.taken_down, ""),
        (world.member_a, Status.relisted, "Back under another name"),
        (world.coordinator, Status.closed, ""),
    ]
    before = Status.new
    for person, status, note in steps:
        response = client_as(person).post(
            f"/intel/{report.id}/status", data={"status": status, "note": note}
        )
        assert response.status_code == 303, status
        before = status
    db.expire_all()
    assert db.get(IntelReport, report.id).status == before  # type: ignore[union-attr]
    assert _changes(db, report) == [
        (Status.new, Status.verified, world.member_a.id),
        (Status.verified, Status.notice_filed, world.coordinator.id),
        (Status.notice_filed, Status.taken_down, world.admin_a.id),
        (Status.taken_down, Status.relisted, world.member_a.id),
        (Status.relisted, Status.closed, world.coordinator.id),
    ]
    page = client_as(world.member_b).get(f"/intel/{report.id}").text
    assert "Notice filed · " in page and "Notice 4711" in page
    assert "Closed · " in page and world.coordinator.name in page


@pytest.mark.parametrize(
    ("start", "wanted", "message"),
    [
        (Status.new, Status.relisted, "A report that is 'New' cannot become 'Relisted'."),
        (Status.new, Status.taken_down, "A report that is 'New' cannot become 'Taken down'."),
        (Status.new, Status.new, "A report that is 'New' cannot become 'New'."),
        (Status.new, "bogus", "A report that is 'New' cannot become 'bogus'."),
    ],
)
def test_forbidden_transition_answers_409(
    start: str, wanted: str, message: str, world: World, db: Session, client_as: ClientAs
) -> None:
    """A move the workflow does not allow is refused with 409 and says why; nothing is
    recorded."""
    report = make_report(db, world.member_a, world.apparel)
    response = client_as(world.member_a).post(f"/intel/{report.id}/status", data={"status": wanted})
    assert response.status_code == 409
    assert str(escape(message)) in response.text
    db.expire_all()
    assert db.get(IntelReport, report.id).status == start  # type: ignore[union-attr]
    assert _changes(db, report) == []


@pytest.mark.parametrize(("mover", "status"), [("member_b", 403), ("alliance_admin", 403)])
def test_others_may_not_move_the_status(
    mover: str, status: int, world: World, db: Session, client_as: ClientAs
) -> None:
    """Readers outside the author's brand who do not coordinate the group are refused."""
    report = make_report(db, world.member_a, world.apparel)
    response = client_as(getattr(world, mover)).post(
        f"/intel/{report.id}/status", data={"status": Status.verified}
    )
    assert response.status_code == status
    assert _changes(db, report) == []


# --- the board: filters, paging, queries ------------------------------------------------


def _titles(html: str) -> list[str]:
    return re.findall(r'<h2 class="card-title"><a href="/intel/\d+">([^<]*)</a>', html)


@pytest.fixture
def varied_board(db: Session, world: World) -> dict[str, IntelReport]:
    """Five reports that differ in every filtered field."""
    specs = {
        "listing": dict(category="online_listing", marketplace="AliExpress", tlp=Tlp.amber),
        "seller": dict(category="seller", marketplace="Amazon", tlp=Tlp.green),
        "payment": dict(category="payment", marketplace="", tlp=Tlp.clear),
        "warehouse": dict(category="manufacturer", marketplace="aliexpress", tlp=Tlp.amber_strict),
        "shipping": dict(category="logistics", marketplace="DHgate", tlp=Tlp.amber),
    }
    brands = {
        "listing": "Brand A, Brand B",
        "seller": "Brand B",
        "payment": "",
        "warehouse": "brand a",
        "shipping": "Brand C",
    }
    days = {
        "listing": datetime(2026, 3, 9, 23, 59, tzinfo=UTC),
        "seller": datetime(2026, 3, 10, 0, 0, tzinfo=UTC),
        "payment": datetime(2026, 3, 10, 23, 59, tzinfo=UTC),
        "warehouse": datetime(2026, 3, 11, 0, 0, tzinfo=UTC),
        "shipping": datetime(2026, 3, 12, 12, 0, tzinfo=UTC),
    }
    reports = {}
    for name, spec in specs.items():
        report = make_report(
            db,
            world.member_a,
            world.apparel,
            title=f"Board {name}",
            brands_affected=brands[name],
            **spec,  # type: ignore[arg-type]
        )
        report.created_at = days[name]
        db.add(report)
        reports[name] = report
    reports["seller"].status = Status.verified
    reports["shipping"].status = Status.verified
    db.commit()
    return reports


FILTERS = [
    ("", ["shipping", "warehouse", "payment", "seller", "listing"]),
    ("category=seller", ["seller"]),
    ("category=logistics", ["shipping"]),
    ("status=verified", ["shipping", "seller"]),
    ("status=closed", []),
    ("tlp=amber", ["shipping", "listing"]),
    ("tlp=amber_strict", ["warehouse"]),
    ("marketplace=AliExpress", ["warehouse", "listing"]),
    ("marketplace=+dhgate+", ["shipping"]),
    ("brand=brand+a", ["warehouse", "listing"]),
    ("brand=Brand+B", ["seller", "listing"]),
    ("since=2026-03-10", ["shipping", "warehouse", "payment", "seller"]),
    ("until=2026-03-10", ["payment", "seller", "listing"]),
    ("since=2026-03-10&until=2026-03-10", ["payment", "seller"]),
    ("since=2026-03-11&until=2026-03-11", ["warehouse"]),
    ("category=online_listing&marketplace=aliexpress&tlp=amber&brand=B", ["listing"]),
    ("status=verified&since=2026-03-11", ["shipping"]),
    # What the filter form sends with its date fields left empty: no date filter.
    ("category=&status=verified&since=&until=", ["shipping", "seller"]),
]


@pytest.mark.parametrize(("query", "expected"), FILTERS)
def test_board_filters(
    query: str,
    expected: list[str],
    varied_board: dict[str, IntelReport],
    world: World,
    client_as: ClientAs,
) -> None:
    """Each filter (and any combination) keeps exactly the matching reports, newest first."""
    response = client_as(world.member_a).get(f"{BOARD}?{query}")
    assert response.status_code == 200
    assert _titles(response.text) == [f"Board {name}" for name in expected]


def test_board_filters_as_htmx_fragment(
    varied_board: dict[str, IntelReport], world: World, client_as: ClientAs
) -> None:
    """Filtering through htmx answers only the results, not the whole page."""
    response = client_as(world.member_a).get(
        f"{BOARD}?category=payment", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="f-category"' not in response.text
    assert _titles(response.text) == ["Board payment"]
    assert "HX-Request" in response.headers["vary"]


def test_a_bad_date_filter_is_refused(world: World, client_as: ClientAs) -> None:
    """A date that is not a date answers 422 with a message naming the field."""
    response = client_as(world.member_a).get(f"{BOARD}?since=yesterday")
    assert response.status_code == 422
    assert "since" in response.text


def _older_link(html: str) -> str | None:
    found = re.search(r'<a class="button" href="([^"]+)"[^>]*>Older reports</a>', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_keyset_paging_shows_every_report_once(
    world: World, db: Session, client_as: ClientAs
) -> None:
    """Thirty reports: the first page shows 25 newest, "Older reports" the other 5, no
    report twice or missed; the last page has no further link."""
    titles = [
        make_report(db, world.member_a, world.apparel, title=f"Paged {n:02}").title
        for n in range(30)
    ]
    browser = client_as(world.member_a)
    first = browser.get(BOARD).text
    first_titles = _titles(first)
    assert len(first_titles) == PAGE_SIZE == 25
    assert first_titles == list(reversed(titles))[:25]
    older = _older_link(first)
    assert older is not None and "before=" in older
    second = browser.get(older).text
    second_titles = _titles(second)
    assert second_titles == list(reversed(titles))[25:]
    assert _older_link(second) is None
    assert sorted(first_titles + second_titles) == sorted(titles)


def test_paging_through_htmx_appends_items(world: World, db: Session, client_as: ClientAs) -> None:
    """The "Older reports" link asked by htmx answers only the next items."""
    for n in range(PAGE_SIZE + 2):
        make_report(db, world.member_a, world.apparel, title=f"Paged {n:02}")
    browser = client_as(world.member_a)
    older = _older_link(browser.get(BOARD).text)
    assert older is not None
    fragment = browser.get(older, headers={"HX-Request": "true"}).text
    assert "<html" not in fragment and "<ul" not in fragment
    assert _titles(fragment) == ["Paged 01", "Paged 00"]


def test_paging_keeps_the_filters(world: World, db: Session, client_as: ClientAs) -> None:
    """The older page of a filtered board is filtered the same way."""
    for n in range(30):
        category = "payment" if n % 10 == 0 else "seller"
        make_report(db, world.member_a, world.apparel, title=f"F{n:02}", category=category)
    browser = client_as(world.member_a)
    first = browser.get(f"{BOARD}?category=seller").text
    older = _older_link(first)
    assert older is not None and "category=seller" in older
    seen = _titles(first) + _titles(browser.get(older).text)
    assert len(seen) == len(set(seen)) == 27
    assert all(title not in seen for title in ("F00", "F10", "F20"))


def test_pinned_report_comes_first_and_only_once(
    world: World, db: Session, client_as: ClientAs
) -> None:
    """An old pinned report heads the first page and is not repeated on the older page."""
    reports = [make_report(db, world.member_a, world.apparel, title=f"P{n:02}") for n in range(30)]
    reports[0].pinned = True
    db.add(reports[0])
    db.commit()
    browser = client_as(world.member_a)
    first = browser.get(BOARD).text
    assert _titles(first)[0] == "P00"
    older = _older_link(first)
    assert older is not None
    seen = _titles(first) + _titles(browser.get(older).text)
    assert sorted(seen) == sorted(r.title for r in reports)


@pytest.fixture
def statements(connection: Connection) -> Iterator[list[str]]:
    """Every SQL statement sent on the test's connection while the list is being read."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    yield sent
    event.remove(connection, "before_cursor_execute", record)


def _busy_reports(db: Session, world: World, count: int, start: int) -> None:
    """Reports with several indicators, comments, sightings and files each."""
    for n in range(start, start + count):
        report = make_report(
            db,
            world.member_a,
            world.apparel,
            title=f"Busy {n:02}",
            indicators=[
                ("phone", f"+86 138 0013 {8000 + n}"),
                ("email", f"seller{n}@fake-shop.example"),
                ("shop_name", f"Busy shop {n}"),
                ("domain", f"fake-shop-{n}.example"),
            ],
        )
        for k in range(3):
            db.add(
                Comment(
                    report_id=report.id or 0,
                    author_id=world.member_b.id or 0,
                    body_md=f"Comment {k}",
                    body_html=f"<p>Comment {k}</p>",
                )
            )
        db.add(
            Sighting(
                report_id=report.id or 0,
                brand_id=world.brand_b.id or 0,
                person_id=world.member_b.id or 0,
            )
        )
        db.add(
            Evidence(
                report_id=report.id or 0,
                sha256=f"{n:064d}",
                filename="photo.jpg",
                content_type="image/jpeg",
                size=10,
                uploaded_by_id=world.member_a.id or 0,
            )
        )
    db.commit()


def test_board_runs_a_fixed_number_of_queries(
    world: World, db: Session, client_as: ClientAs, statements: list[str]
) -> None:
    """The board sends as many SQL statements for 3 busy reports as for 30."""
    browser = client_as(world.member_b)

    def board_queries() -> tuple[int, str]:
        browser.get(BOARD)  # settles the session's "last seen" and other first-time work
        statements.clear()
        response = browser.get(BOARD)
        assert response.status_code == 200
        return len(statements), response.text

    _busy_reports(db, world, 3, 0)
    few, few_page = board_queries()
    assert "4 indicators" in few_page and "3 comments" in few_page and "1 file" in few_page
    _busy_reports(db, world, 27, 3)
    many, many_page = board_queries()
    assert len(_titles(many_page)) == PAGE_SIZE
    assert few == many, "\n".join(statements)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 12


def _cards(html: str) -> dict[str, str]:
    """Each card of the board, by its report's title."""
    cards = html.split('<li class="card report-card')[1:]
    return {_titles(card)[0]: card for card in cards}


def test_report_counts_on_the_board(world: World, db: Session, client_as: ClientAs) -> None:
    """Each card counts its own indicators, "seen it too", comments and files."""
    _busy_reports(db, world, 1, 0)
    make_report(db, world.member_a, world.apparel, title="Quiet one")
    cards = _cards(client_as(world.member_b).get(BOARD).text)
    busy, quiet = cards["Busy 00"], cards["Quiet one"]
    for text in ("4 indicators", "1 “seen it too”", "3 comments", "1 file<"):
        assert text in busy
    for text in ("0 indicators", "0 “seen it too”", "0 comments", "0 files"):
        assert text in quiet
