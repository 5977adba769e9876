"""Which language a person reads, how they change it, and how dates, numbers and money are
written for them."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from hub import i18n
from hub.members.models import Person
from hub.web import build_environment
from tests.chinese import CHINESE, zh
from tests.conftest import ClientAs, World


@pytest.mark.parametrize(
    ("header", "language", "formats"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", CHINESE, "zh_Hans_CN"),
        ("zh", CHINESE, None),
        ("zh-Hans-SG", CHINESE, "zh_Hans_SG"),
        ("en-GB,en;q=0.9", "en", "en_GB"),
        ("fr-FR,de;q=0.5", "en", None),  # neither is offered: English
        ("zh-TW", "en", None),  # Traditional Chinese is not offered
        ("zh-TW,zh;q=0.8", CHINESE, None),  # ...but the reader accepts any Chinese
        ("de;q=0.9,zh-CN;q=0.1,en;q=0.5", "en", None),  # quality decides, not order
        ("en;q=0,zh-CN", CHINESE, "zh_Hans_CN"),  # q=0 means "not this one"
        ("", "en", None),
        ("*", "en", None),
        ("!!;q=x, zz-@@", "en", None),  # garbage is ignored
    ],
)
def test_the_browsers_languages_pick_the_best_offered(
    header: str, language: str, formats: str | None
) -> None:
    chosen, locale = i18n.negotiate(header)
    assert (chosen, str(locale) if locale else None) == (language, formats)


def test_a_visitor_reads_the_language_their_browser_asks_for(client: TestClient) -> None:
    page = client.get("/login", headers={"accept-language": "zh-CN,zh;q=0.9"})
    assert page.status_code == 200
    assert '<html lang="zh-Hans">' in page.text
    assert zh("Skip to content") in page.text
    english = client.get("/login", headers={"accept-language": "en-US"})
    assert '<html lang="en">' in english.text and "Skip to content" in english.text


def test_a_visitors_choice_is_kept_in_a_cookie_and_beats_the_browser(client: TestClient) -> None:
    client.get("/login")  # the session gets its CSRF token
    csrf = client.cookies.get("hub_session")
    assert csrf
    chosen = client.post(
        "/language",
        data={"language": CHINESE, "next": "/login"},
        headers={"x-csrf-token": _csrf_of(client)},
    )
    assert chosen.status_code == 303 and chosen.headers["location"] == "/login"
    assert client.cookies.get(i18n.LANGUAGE_COOKIE) == CHINESE
    page = client.get("/login", headers={"accept-language": "en-US"})
    assert zh("Skip to content") in page.text
    assert zh("The hub now speaks %(language)s.") % {"language": "中文 (简体)"} in page.text


def test_a_persons_choice_is_on_their_profile_and_follows_them_everywhere(
    client_as: ClientAs, world: World, db: Session, app: object
) -> None:
    browser = client_as(world.member_a)
    done = browser.post("/language", data={"language": CHINESE, "next": "/me"})
    assert done.status_code == 303 and done.headers["location"] == "/me"
    db.expire_all()
    assert db.get(Person, world.member_a.id).language == CHINESE  # type: ignore[union-attr]
    # Another device: no cookie, a browser asking for English; the profile wins.
    other = client_as(world.member_a)
    page = other.get("/me", headers={"accept-language": "en-US"})
    assert '<html lang="zh-Hans">' in page.text and zh("My settings") in page.text
    # Back to "as my browser asks".
    assert other.post("/language", data={"language": "", "next": "/me"}).status_code == 303
    db.expire_all()
    assert db.get(Person, world.member_a.id).language == ""  # type: ignore[union-attr]
    page = other.get("/me", headers={"accept-language": "en-US"})
    assert '<html lang="en">' in page.text and "My settings" in page.text


def test_an_unknown_language_is_refused_and_nothing_changes(
    client_as: ClientAs, world: World, db: Session
) -> None:
    browser = client_as(world.member_a)
    refused = browser.post("/language", data={"language": "xx", "next": "/"})
    assert refused.status_code == 422
    assert "Choose one of the languages offered: English, 中文 (简体)." in refused.text
    db.expire_all()
    assert db.get(Person, world.member_a.id).language == ""  # type: ignore[union-attr]


@pytest.mark.parametrize("away", ["//elsewhere.example/x", "https://elsewhere.example", "/\\x"])
def test_the_switcher_never_sends_anyone_to_another_site(
    client_as: ClientAs, world: World, away: str
) -> None:
    answer = client_as(world.member_a).post("/language", data={"language": "en", "next": away})
    assert answer.status_code == 303 and answer.headers["location"] == "/"


def test_every_page_offers_the_switcher(client_as: ClientAs, world: World) -> None:
    page = client_as(world.member_a).get("/").text
    assert 'action="/language"' in page
    assert f'<option value="{CHINESE}" lang="zh-Hans"' in page


def _csrf_of(client: TestClient) -> str:
    """The CSRF token a visitor's session holds, as the login page's form carries it."""
    page = client.get("/login").text
    marker = 'name="csrf_token" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


# --- dates, numbers and money ----------------------------------------------------------------

MOMENT = datetime(2026, 11, 30, 9, 5, tzinfo=UTC)
NNBSP = "\u202f"  # English writes a narrow no-break space before AM/PM, as CLDR says


@pytest.mark.parametrize(
    ("language", "zone", "moment", "day", "month"),
    [
        (CHINESE, "Asia/Shanghai", "2026年11月30日 17:05 CST", "2026年11月30日", "2026年11月"),
        (
            "en",
            "Europe/London",
            f"Nov 30, 2026, 9:05{NNBSP}AM GMT",
            "Nov 30, 2026",
            "November 2026",
        ),
        (
            "en",
            "America/New_York",
            f"Nov 30, 2026, 4:05{NNBSP}AM EST",
            "Nov 30, 2026",
            "November 2026",
        ),
    ],
)
def test_dates_follow_the_readers_language_and_zone(
    language: str, zone: str, moment: str, day: str, month: str
) -> None:
    with i18n.presenting(language, zone):
        assert i18n.when(MOMENT) == moment
        assert i18n.day(MOMENT) == day
        assert i18n.skeleton(MOMENT, "MMMMy") == month


def test_a_day_is_the_readers_day_of_a_moment() -> None:
    late = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)  # already 1 December in Shanghai
    with i18n.presenting(CHINESE, "Asia/Shanghai"):
        assert i18n.day(late) == "2026年12月1日"


def test_relative_times_numbers_and_money() -> None:
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    with i18n.presenting(CHINESE, "UTC"):
        assert i18n.ago(now - timedelta(hours=3), now) == "3小时前"
        assert i18n.ago(now + timedelta(days=2), now) == "2天后"
        assert i18n.number(1234567) == "1,234,567"
        assert i18n.percent(0.873) == "87%"
        assert i18n.money(1250, "USD") == "US$1,250.00"
        assert i18n.money(340, "CNY") == "¥340.00"
    with i18n.presenting("en", "UTC"):
        assert i18n.ago(now - timedelta(hours=3), now) == "3 hours ago"
        assert i18n.money(1250, "USD") == "$1,250.00"
        assert i18n.money(340, "CNY") == "CN¥340.00"
        assert i18n.money(12, "XQZ") == "XQZ12.00"  # a code Babel does not know: as given
        assert i18n.number(None) == "—"


def test_an_english_reader_in_britain_gets_british_dates(client_as: ClientAs, world: World) -> None:
    presentation = i18n.from_request({"accept-language": "en-GB"}, {})
    assert (presentation.language, str(presentation.locale)) == ("en", "en_GB")
    token = i18n._current.set(presentation)
    try:
        assert i18n.day(MOMENT) == "30 Nov 2026"
    finally:
        i18n._current.reset(token)


def test_plural_forms_count_in_the_readers_digits() -> None:
    with i18n.presenting("en"):
        assert i18n.ngettext("%(num)s report", "%(num)s reports", 1) == "1 report"
        assert i18n.ngettext("%(num)s report", "%(num)s reports", 12000) == "12,000 reports"


def test_a_page_carries_the_language_of_its_messages(client_as: ClientAs, world: World) -> None:
    """The page's lang attribute lets screen readers pick their voice."""
    browser = client_as(world.member_a)
    browser.post("/language", data={"language": CHINESE, "next": "/"})
    assert '<html lang="zh-Hans">' in browser.get("/").text


def test_recent_activity_says_how_long_ago_with_the_exact_time_at_hand() -> None:
    """Comments, sightings and notifications say "3小时前"; the exact moment is in the
    element's datetime and title."""
    env = build_environment()
    three_hours_ago = datetime.now(UTC) - timedelta(hours=3, minutes=1)
    template = env.from_string('{% from "_macros.html" import moment %}{{ moment(at) }}')
    with i18n.presenting(CHINESE, "Asia/Shanghai"):
        html = template.render(at=three_hours_ago)
        assert f'title="{i18n.when(three_hours_ago)}"' in html
    assert f'datetime="{three_hours_ago.isoformat()}"' in html
    assert ">3小时前</time>" in html
