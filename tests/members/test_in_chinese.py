"""A brand's pages, its people and the alliance's admin pages for someone who reads
Simplified Chinese: texts from the catalogue, role labels, countries, dates and counts in
the Chinese way, and form errors in Chinese."""

from datetime import UTC, datetime
from html import unescape

from sqlmodel import Session

from hub import i18n
from tests.chinese import CHINESE, ZH, reads_chinese, zh
from tests.conftest import ClientAs, World


def test_people_page_in_chinese(client_as: ClientAs, world: World, db: Session) -> None:
    """Headings, role labels and the last sign-in (a Chinese date in the person's zone)."""
    seen = datetime(2026, 11, 30, 9, 5, tzinfo=UTC)
    world.member_a.last_login_at = seen
    db.add(world.member_a)
    page = unescape(
        client_as(reads_chinese(db, world.admin_a, "Asia/Shanghai"))
        .get("/brands/brand-a/people")
        .text
    )
    assert zh("People of %(brand)s", brand="Brand A") in page
    assert f">{zh('Brand admin')}</option>" in page and f">{zh('Member')}</option>" in page
    with i18n.presenting(CHINESE, "Asia/Shanghai"):
        shown = i18n.when(seen)
    assert "2026年11月30日" in shown and "17:05" in shown
    assert shown in page
    assert zh("Never") in page  # Ada herself never signed in through a provider


def test_add_person_errors_in_chinese(client_as: ClientAs, world: World, db: Session) -> None:
    """A refused form answers with its errors in Chinese, beside their fields."""
    browser = client_as(reads_chinese(db, world.admin_a, "Asia/Shanghai"))
    response = browser.post(
        "/brands/brand-a/people", data={"name": "", "email": "gil@gmail.example", "role": "boss"}
    )
    assert response.status_code == 422
    text = unescape(response.text)
    assert zh("Enter the person's name.") in text
    assert zh("Choose one of the roles offered.") in text
    expected = zh(
        "%(brand)s people sign in with %(allowed)s addresses; @%(domain)s is not one of them.",
        brand="Brand A",
        allowed="@brand-a.example",
        domain="gmail.example",
    )
    assert expected in text
    assert 'aria-invalid="true" aria-describedby="e-role"' in response.text


def test_brand_profile_names_its_country_in_chinese(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """The brand's country is written as Chinese readers name it; Babel's CLDR has it."""
    page = unescape(
        client_as(reads_chinese(db, world.member_a, "Asia/Shanghai")).get("/brands/brand-a").text
    )
    assert "法国" in page  # the factories' brands are in France
    assert zh("Working groups") in page and zh("People") in page


def test_directory_count_in_chinese(client_as: ClientAs, world: World, db: Session) -> None:
    """The brand count is the catalogue's plural form, with the number filled in."""
    browser = client_as(reads_chinese(db, world.member_a, "Asia/Shanghai"))
    response = browser.get("/brands", params={"q": "Brand C"}, headers={"HX-Request": "true"})
    form = ZH.ngettext("%(num)s brand", "%(num)s brands", 1) % {"num": "1"}
    assert form != "1 brand" and form in unescape(response.text)
