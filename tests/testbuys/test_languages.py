"""The test-buy pages speak the reader's language: a Chinese browser reads the campaign, its
errors, its money and dates in Chinese; what the hub writes for someone outside their request
(a notification) is in that person's language; the roster's history, stored once, is read by
each reader in their own. Expected texts come from the catalogue, not from this file."""

import csv
import io
from decimal import Decimal

import pytest
from sqlmodel import Session, col, select

from hub import i18n
from hub.config import Settings
from hub.members.models import Person, Role
from hub.notify.models import Notification
from hub.testbuys import purchases, reporting
from hub.testbuys.models import PurchaseEvent, PurchaseStatus, Verdict
from tests import factories
from tests.conftest import ClientAs, World
from tests.intel.factories import actor_of
from tests.testbuys.factories import make_campaign, make_purchase, sign_up

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
ENGLISH = {"Accept-Language": "en"}


def in_chinese(message: str, **variables: object) -> str:
    """`message` as the zh_Hans catalogue has it; the test fails if it is not translated."""
    with i18n.presenting("zh_Hans"):
        text = i18n.gettext(message, **variables)
    assert text != message % variables if variables else text != message, message
    return text


def counted_in_chinese(singular: str, plural: str, n: int, **variables: object) -> str:
    with i18n.presenting("zh_Hans"):
        text = i18n.ngettext(singular, plural, n, **variables)
    assert text != (singular if n == 1 else plural) % {"num": n, **variables}, singular
    return text


def notifications_of(db: Session, person: Person, kind: str) -> list[str]:
    return list(
        db.exec(
            select(Notification.text)
            .where(Notification.person_id == person.id, Notification.kind == kind)
            .order_by(col(Notification.id))
        )
    )


def test_the_campaign_page_reads_in_chinese(db: Session, world: World, client_as: ClientAs) -> None:
    """Headings, labels, the status and the budget (as money, in the campaign's currency)
    follow the browser's language; English is still what an English browser reads."""
    campaign = make_campaign(db, world.coordinator, world.apparel, currency="CNY")
    browser = client_as(world.coordinator)

    page = browser.get(f"/testbuys/{campaign.id}", headers=CHINESE)

    assert page.status_code == 200
    assert '<html lang="zh-Hans">' in page.text
    for message in ("Roster", "No purchases yet.", "Open for sign-ups", "Budget", "Per brand"):
        assert in_chinese(message) in page.text
    assert "No purchases yet." not in page.text
    with i18n.presenting("zh_Hans"):
        budget = i18n.money(Decimal("1000.00"), "CNY")
        opens = i18n.when(campaign.opens_at)
    assert budget in page.text and "1000.00" not in page.text.replace(budget, "")
    assert "年" in opens and opens in page.text

    english = browser.get(f"/testbuys/{campaign.id}", headers=ENGLISH)
    assert "No purchases yet." in english.text and in_chinese("Roster") not in english.text


def test_a_refused_sign_up_explains_itself_in_chinese(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """Asking for more than the cap: the message beside the field is in Chinese, tied to the
    field, with the form's summary above it."""
    campaign = make_campaign(db, world.coordinator, world.apparel, slots=4, max_per_brand=2)

    refused = client_as(world.admin_a).post(
        f"/testbuys/{campaign.id}/signup", data={"requested": "3"}, headers=CHINESE
    )

    assert refused.status_code == 422
    error = counted_in_chinese(
        "A brand can take at most %(most)s of this campaign's %(num)s slot.",
        "A brand can take at most %(most)s of this campaign's %(num)s slots.",
        4,
        most="2",
    )
    assert f'<p class="error" id="e-requested">{error}</p>' in refused.text
    assert 'aria-invalid="true" aria-describedby="e-requested"' in refused.text
    assert in_chinese("Please correct the marked fields: nothing was saved yet.") in refused.text


def test_the_flash_after_signing_up_is_in_the_readers_language(
    db: Session, world: World, client_as: ClientAs
) -> None:
    campaign = make_campaign(db, world.coordinator, world.apparel, slots=4, max_per_brand=2)
    browser = client_as(world.admin_a)

    done = browser.post(f"/testbuys/{campaign.id}/signup", data={"requested": "2"}, headers=CHINESE)
    assert done.status_code == 303
    page = browser.get(f"/testbuys/{campaign.id}", headers=CHINESE)

    told = counted_in_chinese(
        "Your brand is confirmed for %(num)s purchase.",
        "Your brand is confirmed for %(num)s purchases.",
        2,
    )
    assert f'role="status">{told}</div>' in page.text


def test_notifications_are_written_in_each_recipients_language(db: Session, world: World) -> None:
    """A sign-up and a verdict, both outside any request: the brand admin who chose Chinese
    reads them in Chinese, the one who did not in English."""
    world.admin_a.language = "zh_Hans"
    db.add(world.admin_a)
    english_admin = factories.make_person(db, world.brand_a, Role.brand_admin, name="Eve Admin")
    db.commit()
    campaign = make_campaign(db, world.coordinator, world.apparel, slots=4, max_per_brand=2)

    signup = sign_up(db, world.admin_a, campaign, 1)
    purchase = make_purchase(db, world.coordinator, campaign, signup)
    coordinator = actor_of(db, world.coordinator)
    purchases.change_status(db, coordinator, purchase, campaign, PurchaseStatus.ordered)
    purchases.change_status(
        db, coordinator, purchase, campaign, PurchaseStatus.verdict, Verdict.counterfeit
    )

    news = counted_in_chinese(
        "Test-buy “%(title)s”: %(brand)s is confirmed for %(num)s purchase.",
        "Test-buy “%(title)s”: %(brand)s is confirmed for %(num)s purchases.",
        1,
        title=campaign.title,
        brand=world.brand_a.name,
    )
    verdict = in_chinese(
        "Test-buy “%(title)s”: the item bought from %(seller)s is counterfeit.",
        title=campaign.title,
        seller=purchase.seller,
    )
    assert notifications_of(db, world.admin_a, "testbuy.signup") == [news]
    assert notifications_of(db, world.admin_a, "testbuy.verdict") == [verdict]
    assert notifications_of(db, english_admin, "testbuy.signup") == [
        f"Test-buy “{campaign.title}”: {world.brand_a.name} is confirmed for 1 purchase."
    ]
    assert notifications_of(db, english_admin, "testbuy.verdict") == [
        f"Test-buy “{campaign.title}”: the item bought from {purchase.seller} is counterfeit."
    ]


def test_the_roster_history_is_read_in_each_readers_language(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """The history is stored once; a Chinese coordinator reads it in Chinese, an English one
    in English."""
    campaign = make_campaign(db, world.coordinator, world.apparel, slots=4, max_per_brand=3)
    sign_up(db, world.admin_a, campaign, 3)
    browser = client_as(world.coordinator)

    chinese = browser.get(f"/testbuys/{campaign.id}/roster", headers=CHINESE)
    english = browser.get(f"/testbuys/{campaign.id}/roster", headers=ENGLISH)

    asked = counted_in_chinese("asked for %(num)s purchase", "asked for %(num)s purchases", 3)
    assert asked in chinese.text and "asked for 3 purchases" not in chinese.text
    assert in_chinese("Signed up") in chinese.text
    assert "Signed up" in english.text and "asked for 3 purchases" in english.text


def test_the_purchase_history_note_of_the_hub_is_read_in_each_readers_language(
    db: Session, world: World, settings: Settings, client_as: ClientAs
) -> None:
    """The note the hub writes when a verdict goes to the board is stored once, in English,
    and each reader reads it in their own language."""
    campaign = make_campaign(db, world.coordinator, world.apparel)
    signup = sign_up(db, world.admin_a, campaign, 1)
    purchase = make_purchase(db, world.coordinator, campaign, signup, seller="LuxeOutlet88")
    coordinator = actor_of(db, world.coordinator)
    purchases.change_status(db, coordinator, purchase, campaign, PurchaseStatus.ordered)
    purchases.change_status(
        db, coordinator, purchase, campaign, PurchaseStatus.verdict, Verdict.counterfeit
    )
    with i18n.presenting("zh_Hans"):
        reporting.report(db, settings, coordinator, purchase, campaign)
    browser = client_as(world.coordinator)

    chinese = browser.get(f"/testbuys/purchases/{purchase.id}", headers=CHINESE)
    english = browser.get(f"/testbuys/purchases/{purchase.id}", headers=ENGLISH)

    notes = db.exec(select(PurchaseEvent.note).where(PurchaseEvent.purchase_id == purchase.id))
    assert purchases.POSTED_TO_BOARD in list(notes)
    assert in_chinese("Posted to the intelligence board.") in chinese.text
    assert "Posted to the intelligence board." not in chinese.text
    assert "Posted to the intelligence board." in english.text


@pytest.mark.parametrize("headers", [CHINESE, ENGLISH])
def test_results_show_rates_and_money_in_the_readers_shape(
    db: Session, world: World, client_as: ClientAs, headers: dict[str, str]
) -> None:
    """The counterfeit rate as a percentage and the costs as money, as the reader's locale
    writes them; the CSV's headings in their language, its values as stored."""
    campaign = make_campaign(db, world.coordinator, world.apparel, currency="USD")
    signup = sign_up(db, world.admin_a, campaign, 2)
    purchase = make_purchase(db, world.coordinator, campaign, signup, item_cost="1200.00")
    coordinator = actor_of(db, world.coordinator)
    purchases.change_status(db, coordinator, purchase, campaign, PurchaseStatus.ordered)
    purchases.change_status(
        db, coordinator, purchase, campaign, PurchaseStatus.verdict, Verdict.counterfeit
    )
    browser = client_as(world.coordinator)
    language = "zh_Hans" if headers is CHINESE else "en"

    page = browser.get(f"/testbuys/{campaign.id}/results", headers=headers)
    sheet = browser.get(f"/testbuys/{campaign.id}/results.csv", headers=headers)

    with i18n.presenting(language):
        paid = i18n.money(Decimal("1212.50"), "USD")
        rate = i18n.percent(1.0)
        heading = i18n.pgettext("results.csv", "verdict")
        counterfeit = str(i18n.gettext("Counterfeit"))
    assert paid in page.text and rate in page.text
    rows = list(csv.DictReader(io.StringIO(sheet.text)))
    assert [row[heading] for row in rows] == [counterfeit]
    assert next(iter(rows[0].values())) == str(purchase.id)
    assert "1212.50" in rows[0].values()
    if language == "zh_Hans":
        assert heading != "verdict" and counterfeit != "Counterfeit"
