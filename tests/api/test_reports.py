"""Reports through the API: the list (search, filters, cursor pages) holds exactly the
reports the caller may read, worked out here from the TLP table of ARCHITECTURE.md rather
than by asking hub.policy; one report with its indicators and how many other readable
reports name each; 404 for what the caller may not read; posting reports (the same rules,
notifications and errors as the board's form) and sightings.

A brand token reads as its brand: never a TLP:RED report, not even its maker's own, and
without its maker's coordinator rights."""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlmodel import Session, col, func, select

from hub.api.models import TokenKind
from hub.clock import as_utc
from hub.groups.models import WorkingGroup
from hub.intel import discussion
from hub.intel.models import (
    Category,
    Indicator,
    IntelReport,
    ReportRecipient,
    Sighting,
    SightingKind,
    Status,
    Tlp,
)
from hub.members.models import Person, Role
from hub.notify.models import Notification
from tests import factories
from tests.api.conftest import ApiAs
from tests.api.factories import V1, api_client, problem_of, token_for, walk
from tests.conftest import ClientAs, World
from tests.intel.factories import actor_of, make_report

SEARCH_WORD = "Kestrel"
EARLY_2024 = datetime(2024, 1, 15, 10, 0, tzinfo=UTC)
MID_2024 = datetime(2024, 6, 15, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Reader:
    """What the TLP table needs to know about whoever calls: the person, their brand's
    groups, the groups they coordinate, and what kind of token they call with."""

    person: Person
    groups: frozenset[int]
    coordinates: frozenset[int] = frozenset()
    alliance_admin: bool = False
    brand_token: bool = False

    def may_read(self, report: IntelReport, recipients: frozenset[int]) -> bool:
        """ARCHITECTURE.md's TLP table, written out again on plain data."""
        if self.brand_token and report.tlp == Tlp.red:
            return False  # a brand's tool never reads what was addressed to one person
        if report.author_id == self.person.id:
            return True
        coordinates = not self.brand_token and report.group_id in self.coordinates
        if report.hidden_reason and not coordinates:
            return False
        if report.tlp in (Tlp.clear, Tlp.green):
            return True
        if report.tlp == Tlp.amber:
            admin = self.alliance_admin and not self.brand_token
            return report.group_id in self.groups or coordinates or admin
        if report.tlp == Tlp.amber_strict:
            return report.brand_id == self.person.brand_id or coordinates
        return self.person.id in recipients


@dataclass
class Board:
    """Reports of every marking by every kind of author in both groups, some hidden, one
    merged, with assorted categories, marketplaces, statuses and dates."""

    reports: list[IntelReport]
    recipients: dict[int, frozenset[int]]  # report id: the people a TLP:RED report names
    readers: dict[str, Reader]
    secrets: dict[str, str]  # reader: their token
    groups: dict[str, int]  # slug: id

    def visible(
        self, reader: str, keep: Callable[[IntelReport], bool] = lambda r: True
    ) -> list[int]:
        """The ids a reader's list must hold, newest first: readable, not merged away."""
        who = self.readers[reader]
        return sorted(
            (
                r.id or 0
                for r in self.reports
                if r.merged_into_id is None
                and who.may_read(r, self.recipients.get(r.id or 0, frozenset()))
                and keep(r)
            ),
            reverse=True,
        )


@pytest.fixture(scope="module")
def board(module_db: Session, module_world: World) -> Board:
    """Built once for the module: each test runs in a savepoint of it (see `connection`)."""
    return _build_board(module_db, module_world)


@pytest.fixture
def connection(board: Board, savepoint: Connection) -> Connection:
    """Every test starts from the shared world and board, and its changes are undone."""
    return savepoint


@pytest.fixture
def world(module_world: World) -> World:
    """The world the board was built in, not a second one."""
    return module_world


def _build_board(db: Session, world: World) -> Board:
    apparel, toys = world.apparel.id or 0, world.toys.id or 0
    brand_d = factories.make_brand(db, "brand-d", [world.toys], name="Brand D")
    admin_d = factories.make_person(db, brand_d, Role.brand_admin, name="Dora Admin")
    factories.appoint(db, world.apparel, admin_d)
    # Who posts where, and whom their TLP:RED reports name.
    posting: list[tuple[Person, WorkingGroup, list[Person]]] = [
        (world.member_a, world.apparel, [world.member_c]),
        (world.admin_a, world.apparel, [world.member_b]),
        (world.member_b, world.apparel, [world.admin_a]),
        (world.member_c, world.toys, [world.member_a, admin_d]),
        (world.coordinator, world.apparel, [world.alliance_admin]),
        (admin_d, world.apparel, [world.admin_a]),
        (admin_d, world.toys, [world.member_c]),
    ]
    reports: list[IntelReport] = []
    recipients: dict[int, frozenset[int]] = {}
    categories, marketplaces = list(Category), ["AliExpress", "dhgate", ""]
    for author, group, named in posting:
        for tlp in Tlp:
            n = len(reports)
            report = make_report(
                db,
                author,
                group,
                tlp,
                title=f"{SEARCH_WORD} listing {n}" if n % 4 == 0 else f"Listing {n}",
                recipients=named if tlp == Tlp.red else [],
                category=categories[n % len(categories)],
                marketplace=marketplaces[n % len(marketplaces)],
                brands_affected=["Brand A handbags", "Toy bricks", ""][n % 3],
            )
            reports.append(report)
            if tlp == Tlp.red:
                recipients[report.id or 0] = frozenset(p.id or 0 for p in named)
    for n, report in enumerate(reports):
        report.created_at = [EARLY_2024, MID_2024, report.created_at][n % 3]
        report.status = Status.verified if n % 4 == 2 else Status.new
        db.add(report)
    hidden = [
        make_report(db, world.member_b, world.apparel, Tlp.amber, "Hidden in apparel"),
        make_report(db, world.member_c, world.toys, Tlp.green, "Hidden in toys"),
    ]
    for report in hidden:
        report.hidden_reason = "Hidden by a coordinator."
        db.add(report)
    merged = make_report(db, world.member_a, world.apparel, Tlp.green, "Merged away")
    merged.merged_into_id = reports[0].id
    db.add(merged)
    readers = {
        "member_a": Reader(world.member_a, frozenset({apparel})),
        "admin_a": Reader(world.admin_a, frozenset({apparel})),
        "admin_a brand token": Reader(world.admin_a, frozenset({apparel}), brand_token=True),
        "member_b": Reader(world.member_b, frozenset({apparel})),
        "member_c": Reader(world.member_c, frozenset({toys})),
        "admin_c": Reader(world.admin_c, frozenset({toys})),
        "coordinator": Reader(world.coordinator, frozenset(), frozenset({apparel})),
        "alliance_admin": Reader(world.alliance_admin, frozenset(), alliance_admin=True),
        "admin_d": Reader(admin_d, frozenset({toys}), frozenset({apparel})),
        "admin_d brand token": Reader(
            admin_d, frozenset({toys}), frozenset({apparel}), brand_token=True
        ),
    }
    secrets = {
        name: token_for(
            db, reader.person, TokenKind.brand if reader.brand_token else TokenKind.personal
        )
        for name, reader in readers.items()
    }
    db.commit()
    groups = {world.apparel.slug: apparel, world.toys.slug: toys}
    return Board(reports + hidden + [merged], recipients, readers, secrets, groups)


def _tool(app: FastAPI, board: Board, reader: str) -> TestClient:
    return api_client(app, board.secrets[reader])


def _ids(pages: list[list[dict[str, Any]]]) -> list[int]:
    return [item["id"] for page in pages for item in page]


def _check_pages(pages: list[list[dict[str, Any]]], limit: int) -> None:
    """Every page but the last is full; the last has something unless all are empty."""
    assert all(len(page) == limit for page in pages[:-1])
    assert 0 < len(pages[-1]) <= limit or len(pages) == 1


# --- The list ------------------------------------------------------------------------


def test_the_board_is_all_in_the_database(db: Session, board: Board) -> None:
    """The expectations below count from the board's reports: there are no others."""
    assert db.exec(select(func.count()).select_from(IntelReport)).one() == len(board.reports)


@pytest.mark.parametrize(
    "reader",
    [
        "member_a",
        "admin_a",
        "admin_a brand token",
        "member_b",
        "member_c",
        "coordinator",
        "alliance_admin",
        "admin_d",
        "admin_d brand token",
    ],
)
@pytest.mark.parametrize("limit", [1, 4, 25])
def test_walking_every_page_gives_exactly_the_readable_reports(
    app: FastAPI, board: Board, reader: str, limit: int
) -> None:
    """Page after page by cursor, newest first: each readable report once, none missing,
    no other; as many as the TLP table says."""
    expected = board.visible(reader)
    assert 0 < len(expected) < len(board.reports)
    pages = walk(_tool(app, board, reader), "/reports", limit=limit)
    ids = _ids(pages)
    assert len(ids) == len(set(ids)), "a report came twice"
    assert ids == expected
    _check_pages(pages, limit)


def _day(value: datetime) -> date:
    return as_utc(value).date()


FILTERS: dict[str, tuple[Mapping[str, str], Callable[[IntelReport, Board], bool]]] = {
    "marking": ({"tlp": "amber"}, lambda r, b: r.tlp == Tlp.amber),
    "red": ({"tlp": "red"}, lambda r, b: r.tlp == Tlp.red),
    "group": ({"group": "toys-t"}, lambda r, b: r.group_id == b.groups["toys-t"]),
    "unknown group": ({"group": "no-such-group"}, lambda r, b: False),
    "category": ({"category": "seller"}, lambda r, b: r.category == Category.seller),
    "marketplace": ({"marketplace": "ALIEXPRESS"}, lambda r, b: r.marketplace == "AliExpress"),
    "status": ({"status": "verified"}, lambda r, b: r.status == Status.verified),
    "brand affected": ({"brand": "brand a"}, lambda r, b: "Brand A" in r.brands_affected),
    "since": ({"since": "2024-06-01"}, lambda r, b: _day(r.created_at) >= date(2024, 6, 1)),
    "until": ({"until": "2024-06-15"}, lambda r, b: _day(r.created_at) <= date(2024, 6, 15)),
    "between": (
        {"since": "2024-06-15", "until": "2024-06-15"},
        lambda r, b: _day(r.created_at) == date(2024, 6, 15),
    ),
    "words": ({"q": SEARCH_WORD.lower()}, lambda r, b: SEARCH_WORD in r.title),
    "words and marking": (
        {"q": SEARCH_WORD, "tlp": "green"},
        lambda r, b: SEARCH_WORD in r.title and r.tlp == Tlp.green,
    ),
}


@pytest.mark.parametrize("reader", ["member_b", "coordinator", "admin_a brand token"])
@pytest.mark.parametrize("name", list(FILTERS))
def test_filters_and_search_keep_to_the_readable_reports(
    app: FastAPI, board: Board, reader: str, name: str
) -> None:
    """Each filter (and the search words) narrows the list to what it names, of what the
    caller may read, page after page."""
    params, keep = FILTERS[name]
    expected = board.visible(reader, lambda r: keep(r, board))
    pages = walk(_tool(app, board, reader), "/reports", limit=3, **params)
    ids = _ids(pages)
    assert ids == expected
    _check_pages(pages, 3)
    if name not in ("unknown group", "red"):
        assert expected, "the board should give this filter something to find"


# None of these is a place in any list: not made by the API, whatever its cursors look like.
BAD_CURSORS = ["this is not a cursor!", "", "abc", "-5", "9" * 19, "x" * 201, "__4A"]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_a_cursor_the_api_did_not_make_is_a_400_problem(
    app: FastAPI, board: Board, cursor: str
) -> None:
    tool = _tool(app, board, "member_a")
    body = problem_of(tool.get(f"{V1}/reports", params={"cursor": cursor}), 400, "cursor")
    assert "cursor" in body["detail"]


def test_a_cursor_holds_its_place_while_reports_are_posted(
    app: FastAPI, board: Board, api_as: ApiAs, world: World
) -> None:
    """Pages continue from where the last one ended: a report posted in between is not on
    the next page, and no report comes twice or is skipped."""
    tool = _tool(app, board, "member_b")
    first = tool.get(f"{V1}/reports", params={"limit": 5}).json()
    posted = api_as(world.member_a).post(f"{V1}/reports", json=_new_report("apparel-t"))
    assert posted.status_code == 201
    rest = walk(tool, "/reports", limit=5, cursor=first["next_cursor"])
    ids = [item["id"] for item in first["items"]] + _ids(rest)
    assert ids == board.visible("member_b")
    assert posted.json()["id"] not in ids


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"tlp": "purple"}, "tlp"),
        ({"status": "lost"}, "status"),
        ({"category": "rumour"}, "category"),
        ({"since": "yesterday"}, "since"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_a_wrong_query_parameter_is_a_422_problem_naming_it(
    app: FastAPI, board: Board, params: dict[str, str], field: str
) -> None:
    body = problem_of(
        _tool(app, board, "member_a").get(f"{V1}/reports", params=params), 422, "invalid"
    )
    assert list(body["errors"]) == [field]


# --- One report ----------------------------------------------------------------------

PHONE = "+86 138 0013 8000"


def _correlated(db: Session, world: World) -> IntelReport:
    """A TLP:GREEN report by member_a naming a phone, a shop and a seller id; the phone
    is also in a GREEN report of brand B, an AMBER report of brand C (toys) and a RED one
    of admin_a addressed to member_c; the shop in brand C's AMBER report."""
    main = make_report(
        db,
        world.member_a,
        world.apparel,
        Tlp.green,
        "Main report",
        indicators=[("phone", PHONE), ("shop_name", "Lucky Star"), ("seller_id", "7788")],
    )
    make_report(
        db, world.member_b, world.apparel, Tlp.green, indicators=[("phone", "+86 (138) 0013-8000")]
    )
    make_report(
        db,
        world.member_c,
        world.toys,
        Tlp.amber,
        indicators=[("phone", PHONE), ("shop_name", "LUCKY  star!")],
    )
    make_report(
        db,
        world.admin_a,
        world.apparel,
        Tlp.red,
        indicators=[("phone", PHONE)],
        recipients=[world.member_c],
    )
    return main


@pytest.mark.parametrize(
    ("who", "kind", "counts"),
    [
        # phone, shop name, seller id: other reports the caller may read naming each
        ("member_b", TokenKind.personal, [1, 0, 0]),  # brand B's own
        ("member_c", TokenKind.personal, [3, 1, 0]),  # B's, their own AMBER, the RED
        ("admin_a", TokenKind.personal, [2, 0, 0]),  # B's and their own RED
        ("admin_a", TokenKind.brand, [1, 0, 0]),  # never the RED, even the maker's
        ("coordinator", TokenKind.personal, [1, 0, 0]),  # toys' AMBER is not theirs
    ],
)
def test_one_report_carries_its_indicators_and_readable_correlations(
    app: FastAPI,
    db: Session,
    world: World,
    client_as: ClientAs,
    who: str,
    kind: str,
    counts: list[int],
) -> None:
    """Each indicator with its normalised form and how many other reports the caller may
    read name it; the same numbers as the report's page in the hub."""
    main = _correlated(db, world)
    person: Person = getattr(world, who)
    response = api_client(app, token_for(db, person, kind)).get(f"{V1}/reports/{main.id}")
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["title"], body["tlp"]) == (main.id, "Main report", "green")
    assert (body["group"], body["brand"], body["author"]) == ("apparel-t", "brand-a", "Alma Member")
    stored = db.exec(
        select(Indicator).where(Indicator.report_id == main.id).order_by(col(Indicator.id))
    ).all()
    assert [(i["kind"], i["value"], i["normalised"]) for i in body["indicators"]] == [
        (i.kind, i.value, i.normalised) for i in stored
    ]
    assert [i["other_reports"] for i in body["indicators"]] == counts
    if kind == TokenKind.personal:
        page = client_as(person).get(f"/intel/{main.id}").text
        shown = [int(n) for n in re.findall(r"also named in (\d+) other reports?", page)]
        assert shown == [count for count in counts if count]


def test_a_reports_links_open_its_page_in_the_hub(
    app: FastAPI, db: Session, world: World, client_as: ClientAs
) -> None:
    """The `url` of a report, in the list and alone, is its page in the hub."""
    main = _correlated(db, world)
    tool = api_client(app, token_for(db, world.member_a))
    one = tool.get(f"{V1}/reports/{main.id}").json()
    listed = tool.get(f"{V1}/reports", params={"limit": 100}).json()["items"]
    (item,) = [item for item in listed if item["id"] == main.id]
    assert item["url"] == one["url"]
    # Correlation counts are for one report at a time: null in lists.
    assert [i["value"] for i in item["indicators"]] == [i["value"] for i in one["indicators"]]
    assert {i["other_reports"] for i in item["indicators"]} == {None}
    assert {type(i["other_reports"]) for i in one["indicators"]} == {int}
    page = client_as(world.member_a).get(one["url"])
    assert page.status_code == 200
    assert "Main report" in page.text


def _unreadable(db: Session, world: World) -> dict[str, tuple[Person, IntelReport]]:
    """Who may not read which report."""
    return {
        "other group's AMBER": (
            world.member_c,
            make_report(db, world.member_a, world.apparel, Tlp.amber, "Apparel amber"),
        ),
        "another brand's AMBER+STRICT": (
            world.member_b,
            make_report(db, world.member_a, world.apparel, Tlp.amber_strict, "Strict"),
        ),
        "RED not addressed to them": (
            world.admin_a,
            make_report(
                db, world.member_a, world.apparel, Tlp.red, "Red", recipients=[world.member_c]
            ),
        ),
        "alliance admin and AMBER+STRICT": (
            world.alliance_admin,
            make_report(db, world.member_b, world.apparel, Tlp.amber_strict, "Strict B"),
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "other group's AMBER",
        "another brand's AMBER+STRICT",
        "RED not addressed to them",
        "alliance admin and AMBER+STRICT",
    ],
)
def test_a_report_the_caller_may_not_read_is_a_404_like_no_report(
    app: FastAPI, db: Session, world: World, case: str
) -> None:
    """The same problem as for an id nobody used, and nothing of the report in it; posting
    a sighting on it is the same 404."""
    reader, report = _unreadable(db, world)[case]
    tool = api_client(app, token_for(db, reader))
    refused = tool.get(f"{V1}/reports/{report.id}")
    body = problem_of(refused, 404)
    assert report.title not in refused.text
    nothing = problem_of(tool.get(f"{V1}/reports/{(report.id or 0) + 10_000}"), 404)
    assert body == nothing
    assert report.id not in _ids(walk(tool, "/reports", limit=100))
    sighting = tool.post(f"{V1}/reports/{report.id}/sightings", json={"kind": "seen"})
    assert problem_of(sighting, 404) == nothing
    assert db.exec(select(Sighting).where(Sighting.report_id == report.id)).first() is None


def test_a_brand_token_never_reads_red_not_even_its_makers_own(
    app: FastAPI, db: Session, world: World
) -> None:
    """admin_a's own RED report, and one addressed to admin_a: their personal token reads
    both; their brand token neither, alone, in the list, or filtered on RED."""
    own = make_report(
        db, world.admin_a, world.apparel, Tlp.red, "Own red", recipients=[world.member_c]
    )
    addressed = make_report(
        db, world.member_b, world.apparel, Tlp.red, "Addressed red", recipients=[world.admin_a]
    )
    personal = api_client(app, token_for(db, world.admin_a))
    brand = api_client(app, token_for(db, world.admin_a, TokenKind.brand))
    for report in (own, addressed):
        assert personal.get(f"{V1}/reports/{report.id}").json()["title"] == report.title
        problem_of(brand.get(f"{V1}/reports/{report.id}"), 404)
    red_ids = {own.id, addressed.id}
    assert red_ids <= set(_ids(walk(personal, "/reports", tlp="red")))
    assert _ids(walk(brand, "/reports", tlp="red")) == []
    assert not red_ids & set(_ids(walk(brand, "/reports", limit=100)))


def test_a_brand_token_has_none_of_its_makers_coordinator_rights(
    app: FastAPI, db: Session, world: World, board: Board
) -> None:
    """admin_d coordinates apparel: a hidden report and brand A's AMBER+STRICT one there
    open to their personal token, and are a 404 to their brand token."""
    hidden = next(r for r in board.reports if r.title == "Hidden in apparel")
    strict = next(
        r for r in board.reports if r.tlp == Tlp.amber_strict and r.author_id == world.member_a.id
    )
    personal = api_client(app, board.secrets["admin_d"])
    brand = api_client(app, board.secrets["admin_d brand token"])
    for report in (hidden, strict):
        assert personal.get(f"{V1}/reports/{report.id}").status_code == 200
        problem_of(brand.get(f"{V1}/reports/{report.id}"), 404)


# --- Posting a report ----------------------------------------------------------------


def _new_report(group: str, **changes: Any) -> dict[str, Any]:
    return {
        "group": group,
        "title": "Fake trainers on a marketplace",
        "body_md": "Seen on a **marketplace**.",
        "category": "online_listing",
        "marketplace": "AliExpress",
        "brands_affected": "Brand A",
        "tlp": "amber",
        "indicators": [
            {"kind": "listing_url", "value": "https://www.aliexpress.com/item/1005001234567.html"},
            {"kind": "phone", "value": PHONE},
        ],
    } | changes


def _count(db: Session) -> int:
    db.expire_all()
    return db.exec(select(func.count()).select_from(IntelReport)).one()


@pytest.mark.parametrize(
    ("who", "kind"),
    [
        ("member_a", TokenKind.personal),
        ("admin_a", TokenKind.brand),
        ("coordinator", TokenKind.personal),
    ],
)
def test_posting_a_report_shows_it_on_the_board(
    app: FastAPI, db: Session, world: World, client_as: ClientAs, who: str, kind: str
) -> None:
    """201 with the report and where to read it; the group's members find it on the board,
    others do not; a brand token's report carries its maker's name."""
    person: Person = getattr(world, who)
    tool = api_client(app, token_for(db, person, kind))
    response = tool.post(f"{V1}/reports", json=_new_report("apparel-t"))
    assert response.status_code == 201, response.text
    body = response.json()
    report = db.get(IntelReport, body["id"])
    assert report is not None
    assert (report.group_id, report.author_id, report.brand_id) == (
        world.apparel.id,
        person.id,
        person.brand_id,
    )
    assert response.headers["location"] == f"http://testserver{V1}/reports/{report.id}"
    assert tool.get(response.headers["location"]).json() == body
    assert body["author"] == person.name and body["tlp"] == "amber"
    stored = db.exec(
        select(Indicator).where(Indicator.report_id == report.id).order_by(col(Indicator.id))
    ).all()
    assert [(i["kind"], i["value"], i["normalised"]) for i in body["indicators"]] == [
        (i.kind, i.value, i.normalised) for i in stored
    ]
    assert [i.kind for i in stored] == ["listing_url", "phone"]
    for reader, sees in ((world.member_b, True), (world.member_c, False)):
        board = client_as(reader).get("/groups/apparel-t/intel").text
        assert ("Fake trainers on a marketplace" in board) == sees


@pytest.mark.parametrize("channel", ["api", "web"])
def test_posting_through_the_api_tells_the_same_people_as_the_board(
    app: FastAPI,
    db: Session,
    world: World,
    client_as: ClientAs,
    api_as: ApiAs,
    channel: str,
) -> None:
    """A report naming an indicator already reported in the group: both authors are told,
    and the board's followers; the same whether posted through the API or on the board."""
    earlier = make_report(
        db, world.member_b, world.apparel, Tlp.green, "Earlier", indicators=[("phone", PHONE)]
    )
    discussion.toggle_group_follow(db, actor_of(db, world.admin_a), world.apparel.id or 0)
    if channel == "api":
        posted = api_as(world.member_a).post(f"{V1}/reports", json=_new_report("apparel-t"))
        assert posted.status_code == 201
    else:
        form = {
            "title": "Fake trainers on a marketplace",
            "body_md": "Seen on a **marketplace**.",
            "category": "online_listing",
            "marketplace": "AliExpress",
            "recipients": "",
            "infringement": "counterfeit",
            "confidence": "probable",
            "reliability": "B",
            "tlp": "amber",
            "indicator_kind": ["phone"],
            "indicator_value": [PHONE],
        }
        assert (
            client_as(world.member_a).post("/groups/apparel-t/intel", data=form).status_code == 303
        )
    db.expire_all()
    new = db.exec(
        select(IntelReport).where(IntelReport.title == "Fake trainers on a marketplace")
    ).one()
    told = db.exec(
        select(Notification.person_id, Notification.kind, Notification.report_id).where(
            col(Notification.kind).in_(["intel.match", "intel.new_report"])
        )
    ).all()
    assert sorted(told) == sorted(
        [
            (world.member_a.id, "intel.match", earlier.id),
            (world.member_b.id, "intel.match", new.id),
            (world.admin_a.id, "intel.new_report", new.id),
        ]
    )


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"title": ""}, {"title"}),
        ({"title": "x" * 201}, {"title"}),
        ({"tlp": "purple", "category": "rumour"}, {"tlp", "category"}),
        ({"colour": "red"}, {"colour"}),
        ({"indicators": [{"kind": "smell", "value": "x"}]}, {"indicators.0.kind"}),
        ({"indicators": [{"kind": "phone", "value": ""}]}, {"indicators.0.value"}),
        ({"indicators": [{"kind": "phone", "value": "not a phone"}]}, {"indicators"}),
        ({"tlp": "red"}, {"recipients"}),
        ({"tlp": "red", "recipients": ["nobody@nowhere.example"]}, {"recipients"}),
        ({"title": "   "}, {"title"}),
        ({"group": "Not A Slug!"}, {"group"}),
    ],
)
def test_a_wrong_report_is_a_422_problem_per_field_and_saves_nothing(
    db: Session, world: World, api_as: ApiAs, changes: dict[str, Any], fields: set[str]
) -> None:
    before = _count(db)
    response = api_as(world.member_a).post(f"{V1}/reports", json=_new_report("apparel-t") | changes)
    body = problem_of(response, 422, "invalid")
    assert set(body["errors"]) == fields
    assert all(isinstance(message, str) and message for message in body["errors"].values())
    assert _count(db) == before


@pytest.mark.parametrize(
    "body",
    [None, "not json", "[1, 2]", '{"group": "apparel-t"}'],
    ids=["empty", "text", "list", "no title"],
)
def test_a_body_that_is_no_report_is_a_422_problem(
    db: Session, world: World, api_as: ApiAs, body: str | None
) -> None:
    before = _count(db)
    response = api_as(world.member_a).post(
        f"{V1}/reports", content=body, headers={"content-type": "application/json"}
    )
    assert problem_of(response, 422, "invalid")["errors"]
    assert _count(db) == before


# Refused: a group that is not among the caller's (GET /groups) is not found; alliance
# admins find every group, but their organisation is in none.
NOT_IN_THE_GROUP = 404
NOT_A_MEMBER = 403


@pytest.mark.parametrize(
    ("who", "kind", "group", "status"),
    [
        ("member_c", TokenKind.personal, "apparel-t", NOT_IN_THE_GROUP),  # brand C: toys only
        ("admin_c", TokenKind.brand, "apparel-t", NOT_IN_THE_GROUP),
        ("member_a", TokenKind.personal, "toys-t", NOT_IN_THE_GROUP),
        ("coordinator", TokenKind.personal, "toys-t", NOT_IN_THE_GROUP),  # apparel's only
        ("admin_d", TokenKind.brand, "apparel-t", NOT_IN_THE_GROUP),  # the maker coordinates it
        ("member_a", TokenKind.personal, "no-such-group", NOT_IN_THE_GROUP),
        ("alliance_admin", TokenKind.personal, "apparel-t", NOT_A_MEMBER),
    ],
)
def test_posting_to_a_group_the_brand_is_not_in_is_refused_and_saves_nothing(
    app: FastAPI,
    db: Session,
    world: World,
    board: Board,
    who: str,
    kind: str,
    group: str,
    status: int,
) -> None:
    """Refused as a problem, nothing saved; the same person posts to their own group."""
    person = board.readers[who].person
    before = _count(db)
    tool = api_client(app, token_for(db, person, kind))
    problem_of(tool.post(f"{V1}/reports", json=_new_report(group)), status)
    assert _count(db) == before
    own = next((g for g in (world.apparel, world.toys) if g.id in board.readers[who].groups), None)
    if own is not None:
        assert tool.post(f"{V1}/reports", json=_new_report(own.slug)).status_code == 201
        assert _count(db) == before + 1


def test_a_red_report_names_its_readers(
    app: FastAPI, db: Session, world: World, api_as: ApiAs
) -> None:
    """The recipients of a TLP:RED report read it; the rest of the group does not."""
    posted = api_as(world.member_a).post(
        f"{V1}/reports",
        json=_new_report("apparel-t", tlp="red", recipients=[world.member_c.email.upper()]),
    )
    assert posted.status_code == 201, posted.text
    report_id = posted.json()["id"]
    named = db.exec(select(ReportRecipient.person_id).where(ReportRecipient.report_id == report_id))
    assert list(named) == [world.member_c.id]
    assert api_as(world.member_c).get(f"{V1}/reports/{report_id}").status_code == 200
    problem_of(api_as(world.member_b).get(f"{V1}/reports/{report_id}"), 404)


# --- Sightings -----------------------------------------------------------------------


def _sightings(db: Session, report: IntelReport) -> list[tuple[int, str, str]]:
    db.expire_all()
    return [
        (s.brand_id, s.kind, s.note)
        for s in db.exec(select(Sighting).where(Sighting.report_id == report.id))
    ]


@pytest.mark.parametrize("who", ["member_a", "admin_a"])
def test_seeing_ones_own_brands_report_is_a_409_problem(
    db: Session, world: World, api_as: ApiAs, who: str
) -> None:
    """ "Seen it too" is for other brands; the report's own brand may still dispute it."""
    report = make_report(db, world.member_a, world.apparel, Tlp.amber)
    tool = api_as(getattr(world, who))
    sighting = f"{V1}/reports/{report.id}/sightings"
    body = problem_of(tool.post(sighting, json={"kind": "seen"}), 409)
    assert "own brand" in body["detail"]
    assert _sightings(db, report) == []
    disputed = tool.post(sighting, json={"kind": "disputed", "note": "Genuine stock."})
    assert disputed.status_code == 200
    assert _sightings(db, report) == [(world.brand_a.id, "disputed", "Genuine stock.")]


def test_another_brands_sighting_is_one_per_brand_and_replaceable(
    db: Session, world: World, api_as: ApiAs
) -> None:
    report = make_report(db, world.member_a, world.apparel, Tlp.amber)
    sighting = f"{V1}/reports/{report.id}/sightings"
    seen = api_as(world.member_b).post(sighting, json={"note": "Same seller on our side."})
    assert seen.status_code == 200
    assert seen.json() == {
        "report_id": report.id,
        "brand": "brand-b",
        "kind": "seen",
        "note": "Same seller on our side.",
    }
    assert _sightings(db, report) == [(world.brand_b.id, "seen", "Same seller on our side.")]
    changed = api_as(world.member_b, TokenKind.personal).post(
        sighting, json={"kind": SightingKind.disputed, "note": "Our mistake."}
    )
    assert changed.status_code == 200 and changed.json()["kind"] == "disputed"
    assert _sightings(db, report) == [(world.brand_b.id, "disputed", "Our mistake.")]
    author_told = db.exec(
        select(func.count())
        .select_from(Notification)
        .where(Notification.person_id == world.member_a.id, Notification.report_id == report.id)
    ).one()
    assert author_told == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [({"kind": "maybe"}, "kind"), ({"note": "x" * 1001}, "note"), ({"seen": True}, "seen")],
)
def test_a_wrong_sighting_is_a_422_problem_and_saves_nothing(
    db: Session, world: World, api_as: ApiAs, body: dict[str, Any], field: str
) -> None:
    report = make_report(db, world.member_a, world.apparel, Tlp.amber)
    response = api_as(world.member_b).post(f"{V1}/reports/{report.id}/sightings", json=body)
    assert list(problem_of(response, 422, "invalid")["errors"]) == [field]
    assert _sightings(db, report) == []


def test_a_brand_token_sights_for_its_brand(db: Session, world: World, api_as: ApiAs) -> None:
    report = make_report(db, world.member_b, world.apparel, Tlp.amber)
    tool = api_as(world.admin_a, TokenKind.brand)
    assert tool.post(f"{V1}/reports/{report.id}/sightings", json={}).status_code == 200
    assert _sightings(db, report) == [(world.brand_a.id, "seen", "")]
