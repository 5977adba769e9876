"""Correlation: the same normalised indicator in several reports. "Also named in N other
reports", the page of one indicator value, and the notifications to both authors."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlmodel import Session, col, select

from hub.intel import correlation
from hub.intel.models import Indicator, IntelReport, Tlp
from hub.members.models import Person
from hub.models import Notification
from tests.conftest import ClientAs, World
from tests.intel.factories import actor_of, make_report

PHONE = "+86 138 0013 8000"
PHONE_E164 = "+8613800138000"


def _notes(db: Session, person: Person) -> list[str]:
    db.expire_all()
    return list(
        db.exec(
            select(Notification.text)
            .where(Notification.person_id == person.id)
            .order_by(col(Notification.id))
        )
    )


def _counts(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"also named in (\d+) other reports?", html)]


def _titles(html: str) -> list[str]:
    return re.findall(r'<h2 class="card-title"><a href="/intel/\d+">(.*?)</a></h2>', html)


def _indicator(db: Session, report: IntelReport, kind: str) -> Indicator:
    return db.exec(
        select(Indicator).where(Indicator.report_id == report.id, Indicator.kind == kind)
    ).one()


# --- "also named in N other reports" -----------------------------------------------------


def test_same_phone_written_differently_correlates(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """Two spellings of one phone number are one indicator: each report shows the other."""
    first = make_report(
        db, world.member_a, world.apparel, Tlp.green, title="First", indicators=[("phone", PHONE)]
    )
    second = make_report(
        db,
        world.member_b,
        world.apparel,
        Tlp.green,
        title="Second",
        indicators=[("phone", "+86 (138) 0013-8000")],
    )
    assert _indicator(db, second, "phone").normalised == PHONE_E164
    browser = client_as(world.member_c)
    for report in (first, second):
        html = browser.get(f"/intel/{report.id}").text
        assert _counts(html) == [1]
        link = re.search(r'<a class="correlation" href="([^"]+)"', html)
        assert link is not None
        query = parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query)
        assert query == {"kind": ["phone"], "value": [PHONE_E164]}


def test_counts_are_per_indicator_and_per_report(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """Each indicator counts the distinct other reports naming it; the report itself and
    indicators of another kind do not count."""
    main = make_report(
        db,
        world.member_a,
        world.apparel,
        Tlp.green,
        title="Main",
        indicators=[("phone", PHONE), ("shop_name", "Lucky Star"), ("seller_id", "7788")],
    )
    for n in range(3):
        make_report(
            db,
            world.member_b,
            world.apparel,
            Tlp.green,
            title=f"Phone {n}",
            indicators=[("phone", PHONE), ("email", f"x{n}@example.com")],
        )
    make_report(
        db,
        world.member_b,
        world.apparel,
        Tlp.green,
        title="Shop",
        indicators=[("shop_name", "LUCKY  star!"), ("phone", PHONE)],
    )
    make_report(  # the same value under another kind does not correlate
        db, world.member_b, world.apparel, Tlp.green, indicators=[("shop_name", "7788")]
    )
    counts = correlation.counts_for(db, actor_of(db, world.member_c), main)
    phone, shop = _indicator(db, main, "phone"), _indicator(db, main, "shop_name")
    seller = _indicator(db, main, "seller_id")
    assert counts == {phone.id: 4, shop.id: 1}
    assert seller.id not in counts
    html = client_as(world.member_c).get(f"/intel/{main.id}").text
    assert _counts(html) == [4, 1]
    assert "also named in 1 other report<" in html


def test_reports_in_other_groups_count_when_readable(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """Correlation crosses working groups, for reports the reader may read."""
    apparel = make_report(
        db, world.member_a, world.apparel, Tlp.green, indicators=[("phone", PHONE)]
    )
    make_report(db, world.member_c, world.toys, Tlp.green, indicators=[("phone", PHONE)])
    make_report(db, world.member_c, world.toys, Tlp.amber, indicators=[("phone", PHONE)])
    assert _counts(client_as(world.member_b).get(f"/intel/{apparel.id}").text) == [1]
    assert _counts(client_as(world.admin_c).get(f"/intel/{apparel.id}").text) == [2]


@pytest.mark.parametrize(
    ("tlp", "who", "counted"),
    [
        (Tlp.amber, "member_b", True),
        (Tlp.amber, "member_c", False),
        (Tlp.amber_strict, "admin_a", True),
        (Tlp.amber_strict, "member_b", False),
        (Tlp.amber_strict, "coordinator", True),
        (Tlp.amber_strict, "alliance_admin", False),
        (Tlp.red, "member_b", False),
        (Tlp.red, "member_c", True),
        (Tlp.red, "coordinator", False),
    ],
)
def test_unreadable_reports_are_not_counted(
    tlp: Tlp, who: str, counted: bool, db: Session, world: World, client_as: ClientAs
) -> None:
    """A report the reader may not see never adds to the count on one they may see, and the
    indicator page does not list it."""
    visible = make_report(
        db, world.member_b, world.apparel, Tlp.clear, title="Open", indicators=[("phone", PHONE)]
    )
    make_report(
        db,
        world.member_a,
        world.apparel,
        tlp,
        title="Restricted",
        indicators=[("phone", PHONE)],
        recipients=[world.member_c] if tlp == Tlp.red else [],
    )
    browser = client_as(getattr(world, who))
    html = browser.get(f"/intel/{visible.id}").text
    assert _counts(html) == ([1] if counted else [])
    page = browser.get("/intel/indicators", params={"kind": "phone", "value": PHONE_E164}).text
    assert ("Restricted" in _titles(page)) == counted
    assert "Open" in _titles(page)


def test_hidden_report_is_not_counted_for_others(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """A report hidden by a coordinator stops counting, except for its author and the
    coordinators."""
    visible = make_report(
        db, world.member_b, world.apparel, Tlp.clear, title="Open", indicators=[("phone", PHONE)]
    )
    hidden = make_report(
        db, world.member_a, world.apparel, Tlp.clear, indicators=[("phone", PHONE)]
    )
    client_as(world.coordinator).post(f"/intel/{hidden.id}/hide", data={"reason": "Wrong"})
    assert _counts(client_as(world.member_c).get(f"/intel/{visible.id}").text) == []
    assert _counts(client_as(world.admin_a).get(f"/intel/{visible.id}").text) == []
    assert _counts(client_as(world.member_a).get(f"/intel/{visible.id}").text) == [1]
    assert _counts(client_as(world.coordinator).get(f"/intel/{visible.id}").text) == [1]


# --- the page of one indicator value -----------------------------------------------------


def test_indicator_page_lists_every_readable_report_newest_first(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """The page of a value lists the reports naming it, newest first, with their brands."""
    make_report(
        db, world.member_a, world.apparel, Tlp.green, title="Oldest", indicators=[("phone", PHONE)]
    )
    make_report(db, world.member_b, world.apparel, Tlp.amber, title="Middle")
    make_report(
        db, world.member_b, world.apparel, Tlp.amber, title="Newer", indicators=[("phone", PHONE)]
    )
    make_report(
        db, world.member_c, world.toys, Tlp.green, title="Newest", indicators=[("phone", PHONE)]
    )
    response = client_as(world.member_b).get(
        "/intel/indicators", params={"kind": "phone", "value": PHONE_E164}
    )
    assert response.status_code == 200
    assert _titles(response.text) == ["Newest", "Newer", "Oldest"]
    assert f"<code>{PHONE_E164}</code>" in response.text
    assert "Brand C" in response.text and "Brand A" in response.text
    assert '<p class="muted">Phone</p>' in response.text


def test_indicator_page_lists_reports_in_other_brands_readable_groups_only(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """The same value in a TLP:AMBER report of another group is not listed to outsiders."""
    make_report(
        db, world.member_c, world.toys, Tlp.amber, title="Toys amber", indicators=[("phone", PHONE)]
    )
    page = client_as(world.member_b).get(
        "/intel/indicators", params={"kind": "phone", "value": PHONE_E164}
    )
    assert _titles(page.text) == []
    assert "No report you may see names this value." in page.text
    assert "Toys amber" not in page.text


@pytest.mark.parametrize(
    "params", [{}, {"kind": "phone"}, {"value": PHONE_E164}, {"kind": "nonsense", "value": "x"}]
)
def test_indicator_page_without_a_known_value_lists_nothing(
    params: dict[str, str], db: Session, world: World, client_as: ClientAs
) -> None:
    """A missing kind or value, or an unknown kind, lists no report."""
    make_report(db, world.member_a, world.apparel, Tlp.green, indicators=[("phone", PHONE)])
    response = client_as(world.member_b).get("/intel/indicators", params=params)
    assert response.status_code == 200
    assert _titles(response.text) == []


def test_indicator_page_escapes_the_value(world: World, client_as: ClientAs) -> None:
    """The value in the address is shown as text."""
    value = "<script>alert(1)</script>"
    html = (
        client_as(world.member_b)
        .get("/intel/indicators", params={"kind": "shop_name", "value": value})
        .text
    )
    assert value not in html
    assert str(escape(value)) in html


def test_indicator_page_needs_a_sign_in(client: TestClient) -> None:
    """Anonymous visitors are sent to sign in."""
    response = client.get("/intel/indicators?kind=phone&value=x")
    assert response.status_code == 303


# --- notifications of matches ------------------------------------------------------------


def test_match_in_the_same_group_tells_both_authors(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """A new report naming an indicator already reported in the group notifies both
    authors, each linking to the other report."""
    old = make_report(
        db, world.member_a, world.apparel, Tlp.amber, title="Old one", indicators=[("phone", PHONE)]
    )
    response = client_as(world.member_b).post(
        "/groups/apparel-t/intel",
        data={
            "title": "New one",
            "category": "seller",
            "infringement": "counterfeit",
            "confidence": "probable",
            "reliability": "B",
            "tlp": "amber",
            "indicator_kind": ["phone"],
            "indicator_value": ["+86-138-0013-8000"],
        },
    )
    assert response.status_code == 303
    new = db.exec(select(IntelReport).where(IntelReport.title == "New one")).one()
    assert _notes(db, world.member_b) == [
        "Your report “New one” names an indicator also in “Old one”."
    ]
    assert _notes(db, world.member_a) == [
        "A new report, “New one”, names an indicator from your report “Old one”."
    ]
    links = {
        n.person_id: n.report_id
        for n in db.exec(select(Notification).order_by(col(Notification.id)))
    }
    assert links == {world.member_b.id: old.id, world.member_a.id: new.id}
    assert 'Notifications <span class="count">1</span>' in client_as(world.member_a).get("/").text


def test_several_shared_indicators_give_one_notification_per_report(
    db: Session, world: World
) -> None:
    """Two reports sharing three indicators make one notification each way, not three."""
    indicators = [("phone", PHONE), ("email", "a@b.example"), ("domain", "b.example")]
    make_report(db, world.member_a, world.apparel, Tlp.green, indicators=indicators)
    make_report(db, world.member_b, world.apparel, Tlp.green, indicators=indicators)
    assert len(_notes(db, world.member_a)) == 1
    assert len(_notes(db, world.member_b)) == 1


def test_match_in_another_group_sends_nothing(db: Session, world: World) -> None:
    """Matching is announced within a working group only."""
    make_report(db, world.member_c, world.toys, Tlp.green, indicators=[("phone", PHONE)])
    make_report(db, world.member_a, world.apparel, Tlp.green, indicators=[("phone", PHONE)])
    assert _notes(db, world.member_a) == []
    assert _notes(db, world.member_c) == []


def test_no_match_sends_nothing(db: Session, world: World) -> None:
    """Different indicators are no match."""
    make_report(db, world.member_a, world.apparel, Tlp.green, indicators=[("phone", PHONE)])
    make_report(
        db, world.member_b, world.apparel, Tlp.green, indicators=[("phone", "+86 138 0013 8001")]
    )
    assert _notes(db, world.member_a) == [] and _notes(db, world.member_b) == []


def test_own_earlier_report_is_pointed_out_once(db: Session, world: World) -> None:
    """An author matching their own earlier report hears of it once, not twice."""
    make_report(
        db, world.member_a, world.apparel, Tlp.green, title="Mine 1", indicators=[("phone", PHONE)]
    )
    make_report(
        db, world.member_a, world.apparel, Tlp.green, title="Mine 2", indicators=[("phone", PHONE)]
    )
    assert _notes(db, world.member_a) == [
        "Your report “Mine 2” names an indicator also in “Mine 1”."
    ]


def test_new_author_is_not_told_of_a_report_they_may_not_read(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """A match with an AMBER+STRICT report of another brand tells the new author nothing
    (not even its title); that report's author is told of the new, readable one."""
    make_report(
        db,
        world.member_a,
        world.apparel,
        Tlp.amber_strict,
        title="Strict secret title",
        indicators=[("phone", PHONE)],
    )
    make_report(
        db,
        world.member_b,
        world.apparel,
        Tlp.amber,
        title="B's report",
        indicators=[("phone", PHONE)],
    )
    assert _notes(db, world.member_b) == []
    assert _notes(db, world.member_a) == [
        "A new report, “B's report”, names an indicator from your report “Strict secret title”."
    ]
    assert "Strict secret title" not in client_as(world.member_b).get("/notifications").text


def test_old_author_is_not_told_of_a_new_report_they_may_not_read(
    db: Session, world: World
) -> None:
    """A new TLP:RED report matching an older one tells the older one's author nothing
    unless they are a recipient."""
    make_report(
        db,
        world.member_b,
        world.apparel,
        Tlp.green,
        title="Green by B",
        indicators=[("phone", PHONE)],
    )
    make_report(
        db,
        world.member_a,
        world.apparel,
        Tlp.red,
        title="Red by A",
        indicators=[("phone", PHONE)],
        recipients=[world.admin_a],
    )
    assert _notes(db, world.member_b) == []
    assert _notes(db, world.member_a) == [
        "Your report “Red by A” names an indicator also in “Green by B”."
    ]


def test_match_with_a_hidden_report_tells_the_new_author_nothing(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """A report hidden by a coordinator is not announced to the author of a new match."""
    old = make_report(
        db,
        world.member_a,
        world.apparel,
        Tlp.clear,
        title="Hidden one",
        indicators=[("phone", PHONE)],
    )
    client_as(world.coordinator).post(f"/intel/{old.id}/hide", data={"reason": "Doxxing"})
    make_report(db, world.member_b, world.apparel, Tlp.clear, indicators=[("phone", PHONE)])
    assert _notes(db, world.member_b) == []
