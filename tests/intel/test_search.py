"""Full-text search over titles, bodies, comments and indicator values: matching, escaped
highlights, prefixes, the board's filters, and a fixed number of queries."""

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, event
from sqlmodel import Session

from hub.clock import utcnow
from hub.intel import service
from hub.intel.models import Comment, IntelReport, Sighting, Tlp
from tests.conftest import ClientAs, World
from tests.databases import backend
from tests.intel.factories import actor_of, make_report

SEARCH = "/intel/search"
# PostgreSQL's parser keeps an e-mail address or a signed number as one token, so a part of
# it (the domain of an e-mail, a phone without its "+") is not found there, while FTS5
# splits them into words and finds it. Reported; strict, so a fix shows up here.


def _titles(html: str) -> list[str]:
    return re.findall(r'<h2 class="card-title"><a href="/intel/\d+">(.*?)</a></h2>', html)


def _snippets(html: str) -> list[str]:
    return re.findall(r'<p class="snippet">(.*?)</p>', html, re.S)


@pytest.fixture
def zanzibar(db: Session, world: World) -> IntelReport:
    """A TLP:GREEN report with distinctive words in each searchable part."""
    return make_report(
        db,
        world.member_a,
        world.apparel,
        Tlp.green,
        title="Zanzibar handbags on a marketplace",
        body="A warehouse in Guangzhou ships the bags.",
        indicators=[
            ("email", "orders@marmoset-shop.example"),
            ("phone", "+86 138 0013 8000"),
            ("shop_name", "Okapi Outlet"),
        ],
        marketplace="AliExpress",
        brands_affected="Brand A",
    )


@pytest.fixture
def other(db: Session, world: World) -> IntelReport:
    """A second report sharing one common word with the first."""
    return make_report(
        db,
        world.member_b,
        world.apparel,
        Tlp.clear,
        title="Jackets from a warehouse",
        body="Nothing special.",
        category="manufacturer",
        marketplace="Vinted",
        brands_affected="Brand B",
    )


def _search(client_as: ClientAs, world: World, **params: str) -> list[str]:
    response = client_as(world.member_b).get(SEARCH, params=params)
    assert response.status_code == 200
    return _titles(response.text)


@pytest.mark.parametrize(
    "query",
    [
        "Zanzibar",  # title
        "zanzibar",  # any case
        "Guangzhou",  # body
        "marmoset-shop.example",  # part of an e-mail
        "orders@marmoset-shop.example",  # the whole e-mail
        "Okapi",  # shop name indicator
        "+86 138 0013 8000",  # the phone as typed
        "+8613800138000",  # the normalised phone
        "8613800138000",  # without its plus
        "AliExpress",  # marketplace
    ],
)
def test_search_finds_a_report_by_each_of_its_parts(
    query: str, zanzibar: IntelReport, other: IntelReport, world: World, client_as: ClientAs
) -> None:
    """Title, description, indicator values and marketplace are all searched."""
    assert _search(client_as, world, q=query) == ["Zanzibar handbags on a marketplace"]


def test_search_finds_comment_text(
    zanzibar: IntelReport, world: World, client_as: ClientAs
) -> None:
    """A word of a comment finds the report, from the moment the comment is posted."""
    assert _search(client_as, world, q="quokka") == []
    client_as(world.member_b).post(
        f"/intel/{zanzibar.id}/comments", data={"body": "The quokka logo is printed crooked."}
    )
    assert _search(client_as, world, q="quokka") == ["Zanzibar handbags on a marketplace"]


def test_every_word_must_match(
    zanzibar: IntelReport, other: IntelReport, world: World, client_as: ClientAs
) -> None:
    """Several words find only reports holding all of them, in any of their parts."""
    assert sorted(_search(client_as, world, q="warehouse")) == [
        "Jackets from a warehouse",
        "Zanzibar handbags on a marketplace",
    ]
    assert _search(client_as, world, q="warehouse Okapi") == ["Zanzibar handbags on a marketplace"]
    assert _search(client_as, world, q="warehouse ocelot") == []


def test_the_last_word_matches_as_a_prefix(
    zanzibar: IntelReport, world: World, client_as: ClientAs
) -> None:
    """The last word is matched as a prefix (search as you type); earlier words whole."""
    assert _search(client_as, world, q="Zanzi") == ["Zanzibar handbags on a marketplace"]
    assert _search(client_as, world, q="handbags Zanz") == ["Zanzibar handbags on a marketplace"]
    assert _search(client_as, world, q="Zanz handbags") == []


def test_editing_updates_the_index(
    zanzibar: IntelReport, db: Session, world: World, client_as: ClientAs
) -> None:
    """After an edit, the new words are found and the removed ones no longer are."""
    form = service.form_of(db, zanzibar)
    form.title = "Kilimanjaro handbags"
    service.update_report(db, actor_of(db, world.member_a), zanzibar, form)
    assert _search(client_as, world, q="Zanzibar") == []
    assert _search(client_as, world, q="Kilimanjaro") == ["Kilimanjaro handbags"]


def test_match_is_highlighted(zanzibar: IntelReport, world: World, client_as: ClientAs) -> None:
    """The matching word is marked in the snippet."""
    html = client_as(world.member_b).get(SEARCH, params={"q": "Guangzhou"}).text
    [snippet] = _snippets(html)
    assert "<mark>Guangzhou</mark>" in snippet


def _live_tags(snippet: str) -> set[str]:
    return set(re.findall(r"<\s*/?\s*([a-zA-Z]+)", snippet))


def test_highlight_is_escaped(db: Session, world: World, client_as: ClientAs) -> None:
    """Markup typed into a report never comes back live in a snippet: only <mark> is."""
    make_report(
        db,
        world.member_a,
        world.apparel,
        Tlp.green,
        title="<b>x</b> Pangolin <script>alert(1)</script>",
        body='Pangolin <img src=x onerror="alert(1)">',
    )
    html = client_as(world.member_b).get(SEARCH, params={"q": "Pangolin"}).text
    [snippet] = _snippets(html)
    assert _live_tags(snippet) == {"mark"}
    assert "<mark>Pangolin</mark>" in snippet
    assert "<b>x</b>" not in html and "<script>alert" not in html
    assert "&lt;b&gt;x&lt;/b&gt; Pangolin &lt;script&gt;" in html


def test_title_markup_comes_back_as_text(db: Session, world: World, client_as: ClientAs) -> None:
    """A title containing <b>x</b> comes back as &lt;b&gt; (FTS5 keeps it in the snippet;
    PostgreSQL's headline drops tags) and never as a live tag."""
    make_report(db, world.member_a, world.apparel, Tlp.green, title="<b>x</b> Axolotl")
    html = client_as(world.member_b).get(SEARCH, params={"q": "Axolotl"}).text
    [snippet] = _snippets(html)
    assert _live_tags(snippet) == {"mark"}
    if backend() == "sqlite":
        assert "&lt;b&gt;x&lt;/b&gt; <mark>Axolotl</mark>" in snippet
    assert _titles(html) == ["&lt;b&gt;x&lt;/b&gt; Axolotl"]
    assert "<b>x</b>" not in html


def test_query_is_escaped_when_shown(world: World, client_as: ClientAs) -> None:
    """The words searched for are shown back as text, never as markup."""
    html = client_as(world.member_b).get(SEARCH, params={"q": "<script>alert(1)</script>"}).text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    "query",
    ['"', "'", '"unbalanced', "a'b", "*", "-", "+", "AND OR NOT", "NEAR(a b)", "title:x",
     "^start", "a & b | !c", "x:*", "(((", "\\", "%_", "@", "...", "🙂"],
)  # fmt: skip
def test_odd_queries_never_break_search(
    query: str, zanzibar: IntelReport, world: World, client_as: ClientAs
) -> None:
    """Search syntax characters are words to look for, never an error."""
    for path in (SEARCH, "/intel/search/export.csv"):
        response = client_as(world.member_b).get(path, params={"q": query})
        assert response.status_code == 200, (path, response.text[:500])


def test_empty_query_shows_no_results(
    zanzibar: IntelReport, world: World, client_as: ClientAs
) -> None:
    """Without words there is nothing to list, only the form."""
    html = client_as(world.member_b).get(SEARCH, params={"q": ""}).text
    assert _titles(html) == []
    assert 'id="f-q"' in html


def test_result_count_and_export_link(
    zanzibar: IntelReport, other: IntelReport, world: World, client_as: ClientAs
) -> None:
    """The results say how many matched and offer the same search as CSV."""
    html = client_as(world.member_b).get(SEARCH, params={"q": "warehouse", "tlp": "clear"}).text
    assert "1 result for “warehouse”" in html
    assert 'href="/intel/search/export.csv?q=warehouse&amp;tlp=clear"' in html


def test_htmx_search_returns_only_the_results(
    zanzibar: IntelReport, world: World, client_as: ClientAs
) -> None:
    """Typing in the box through htmx swaps in the results block alone."""
    response = client_as(world.member_b).get(
        SEARCH, params={"q": "Zanzibar"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="f-q"' not in response.text
    assert _titles(response.text) == ["Zanzibar handbags on a marketplace"]
    assert "HX-Request" in response.headers["vary"]


# --- filters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"Zanzibar handbags on a marketplace", "Jackets from a warehouse"}),
        ({"category": "manufacturer"}, {"Jackets from a warehouse"}),
        ({"category": "online_listing"}, {"Zanzibar handbags on a marketplace"}),
        ({"tlp": "green"}, {"Zanzibar handbags on a marketplace"}),
        ({"tlp": "amber"}, set()),
        ({"marketplace": "vinted"}, {"Jackets from a warehouse"}),
        ({"brand": "brand a"}, {"Zanzibar handbags on a marketplace"}),
        ({"status": "verified"}, {"Jackets from a warehouse"}),
        ({"status": "new"}, {"Zanzibar handbags on a marketplace"}),
        (
            {"group": "apparel-t"},
            {"Zanzibar handbags on a marketplace", "Jackets from a warehouse"},
        ),
        ({"group": "toys-t"}, {"Toys from a warehouse"}),
        ({"since": "TODAY"}, {"Zanzibar handbags on a marketplace", "Jackets from a warehouse"}),
        ({"until": "YESTERDAY"}, set()),
        ({"since": "TOMORROW"}, set()),
    ],
    ids=lambda value: str(value) if isinstance(value, dict) else "",
)
def test_search_filters(
    params: dict[str, str],
    expected: set[str],
    zanzibar: IntelReport,
    other: IntelReport,
    db: Session,
    world: World,
    client_as: ClientAs,
) -> None:
    """The board's filters (and a working group) narrow a search."""
    service.change_status(db, actor_of(db, world.member_b), other, "verified")
    make_report(db, world.member_c, world.toys, Tlp.clear, title="Toys from a warehouse")
    days = {"TODAY": 0, "YESTERDAY": -1, "TOMORROW": 1}
    params = {
        key: (date.fromordinal(utcnow().date().toordinal() + days[v]).isoformat())
        if v in days
        else v
        for key, v in params.items()
    }
    query = {"q": "warehouse", **params}
    found = set(_search(client_as, world, **query))
    if "group" not in params:
        found.discard("Toys from a warehouse")
    assert found == expected


def test_search_across_groups_needs_no_group(
    zanzibar: IntelReport, db: Session, world: World, client_as: ClientAs
) -> None:
    """Without a group, search covers every board the reader can see."""
    make_report(db, world.member_c, world.toys, Tlp.clear, title="Toys from a warehouse")
    assert set(_search(client_as, world, q="warehouse")) == {
        "Zanzibar handbags on a marketplace",
        "Toys from a warehouse",
    }


def test_unknown_group_is_404(world: World, client_as: ClientAs) -> None:
    """A group that does not exist answers 404 rather than searching everything."""
    response = client_as(world.member_b).get(SEARCH, params={"q": "x", "group": "nope"})
    assert response.status_code == 404


def test_bad_date_is_refused(world: World, client_as: ClientAs) -> None:
    """A date that is not a date answers 422, naming the field."""
    response = client_as(world.member_b).get(SEARCH, params={"q": "x", "since": "yesterday"})
    assert response.status_code == 422
    assert "since" in response.text


def test_results_are_capped(db: Session, world: World, client_as: ClientAs) -> None:
    """At most 50 results come back, and the count says there are more."""
    for n in range(55):
        make_report(db, world.member_a, world.apparel, Tlp.green, title=f"Capybara {n}")
    html = client_as(world.member_b).get(SEARCH, params={"q": "Capybara"}).text
    assert len(_titles(html)) == 50
    assert "50+ results" in html


# --- a fixed number of queries -----------------------------------------------------------


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
    """Matching reports, each with indicators, comments and a sighting."""
    for n in range(start, start + count):
        report = make_report(
            db,
            world.member_a,
            world.apparel,
            Tlp.amber,
            title=f"Wombat seller {n:02}",
            body=f"Wombat warehouse number {n}",
            indicators=[
                ("phone", f"+86 138 0013 {8000 + n}"),
                ("email", f"wombat{n}@fake-shop.example"),
                ("domain", f"wombat-{n}.example"),
            ],
        )
        for k in range(2):
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
    db.commit()


@pytest.mark.parametrize("path", [SEARCH, "/intel/search/export.csv"])
def test_search_runs_a_fixed_number_of_queries(
    path: str, world: World, db: Session, client_as: ClientAs, statements: list[str]
) -> None:
    """Search (and its CSV) sends as many SQL statements for 2 matches as for 40."""
    browser = client_as(world.member_b)

    def search_queries() -> tuple[int, str]:
        browser.get(path, params={"q": "wombat"})  # settles first-time work of the session
        statements.clear()
        response = browser.get(path, params={"q": "wombat", "group": "apparel-t"})
        assert response.status_code == 200
        return len(statements), response.text

    _busy_reports(db, world, 2, 0)
    few, few_text = search_queries()
    assert few_text.count("Wombat seller") == 2
    _busy_reports(db, world, 38, 2)
    many, many_text = search_queries()
    assert many_text.count("Wombat seller") == 40
    assert few == many, "\n".join(statements)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 10, "\n".join(selects)


def test_results_are_in_a_stable_order_by_relevance(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """A report naming the word in its title ranks above one naming it only in a comment."""
    in_title = make_report(db, world.member_a, world.apparel, Tlp.green, title="Tapir trainers")
    in_comment = make_report(db, world.member_a, world.apparel, Tlp.green, title="Quiet one")
    client_as(world.member_b).post(
        f"/intel/{in_comment.id}/comments", data={"body": "a tapir, maybe"}
    )
    assert in_title.id is not None
    assert _search(client_as, world, q="tapir") == ["Tapir trainers", "Quiet one"]


def test_date_filter_uses_the_day_in_utc(
    zanzibar: IntelReport, db: Session, world: World, client_as: ClientAs
) -> None:
    """A report from three days ago is out of "since yesterday" and in "until yesterday"."""
    zanzibar.created_at = utcnow() - timedelta(days=3)
    db.add(zanzibar)
    db.commit()
    yesterday = (utcnow() - timedelta(days=1)).date().isoformat()
    assert _search(client_as, world, q="Zanzibar", since=yesterday) == []
    assert _search(client_as, world, q="Zanzibar", until=yesterday) == [
        "Zanzibar handbags on a marketplace"
    ]
