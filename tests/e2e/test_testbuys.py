"""The test-buy program in a real browser: a coordinator opens a campaign, brands sign up
and the waitlist moves up live; a purchase goes from plan to verdict, custody chain and
board report; other groups' brands see nothing. Also what the coordinator's pages must get
right (the live roster, phones, the secretariat), and screenshots for people to look at."""

import csv
import io
import os
import re
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, LocatorAssertions, Page, expect
from sqlmodel import col, select

from hub.demo import BRANDS
from hub.groups.models import GroupMembership, WorkingGroup
from hub.members.models import Brand, Person, Role
from hub.testbuys.models import Campaign, CustodyEntry, Purchase, PurchaseStatus, Signup
from tests.e2e.conftest import clear_login_rate_limits
from tests.e2e.people import People
from tests.live import LiveHub

REPO = Path(__file__).resolve().parents[2]
APPAREL_COORDINATOR = "lotte.peeters@alliance-hub.example"
ELECTRONICS_COORDINATOR = "karim.benali@alliance-hub.example"
ELECTRONICS_CAMPAIGN = "Chargers and power banks on EU marketplaces"
OPEN_APPAREL_CAMPAIGN = "Spring sneaker and hoodie sweep"  # demo: open, with a waitlist
DEMO_BRANDS = {spec.slug for spec in BRANDS}  # brands signing in through the dev provider
ROSTER_POLL_MS = 12_000  # the roster polls every 10 s


@pytest.fixture(scope="module")
def people(browser: Browser, hub: LiveHub) -> People:
    clear_login_rate_limits(hub)
    return People(browser, hub)


def utc_field(moment: datetime) -> str:
    """A moment as a datetime-local field takes it (the hub reads it as UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def png(path: Path, text: str) -> Path:
    image = Image.new("RGB", (1000, 700), (40, 60, 90))
    draw = ImageDraw.Draw(image)
    draw.rectangle((30, 30, 970, 670), outline=(250, 250, 250), width=6)
    draw.text((70, 80), text, fill=(250, 250, 250), font_size=48)
    image.save(path, "PNG")
    return path


def flash(page: Page) -> LocatorAssertions:
    """The page's success message."""
    return expect(page.locator(".flash-success"))


def apparel_brand_admins(hub: LiveHub, campaign_id: int, count: int) -> list[tuple[str, str]]:
    """(e-mail, brand name) of the first brand admin of `count` demo apparel brands that
    have no sign-up in the campaign yet."""
    with hub.session() as session:
        signed = select(Signup.brand_id).where(Signup.campaign_id == campaign_id)
        rows = session.exec(
            select(Person.email, Brand.name, Brand.id)
            .join(Brand, col(Brand.id) == Person.brand_id)
            .join(GroupMembership, col(GroupMembership.brand_id) == Brand.id)
            .join(WorkingGroup, col(WorkingGroup.id) == GroupMembership.group_id)
            .where(
                WorkingGroup.slug == "apparel",
                Person.role == Role.brand_admin,
                col(Person.is_active).is_(True),
                col(Brand.slug).in_(DEMO_BRANDS),
                col(Brand.id).not_in(signed),
            )
            .order_by(col(Person.id))
        ).all()
    chosen: dict[int, tuple[str, str]] = {}
    for email, name, brand_id in rows:
        chosen.setdefault(brand_id, (email, name))
    assert len(chosen) >= count, f"the demo needs {count} apparel brands with an admin"
    return list(chosen.values())[:count]


def sign_up(page: Page, campaign_url: str, requested: str, products: str) -> None:
    page.goto(campaign_url)
    expect(page.locator("#my-signup")).to_contain_text("Your brand has not signed up")
    page.get_by_label("Purchases wanted").fill(requested)
    page.get_by_label("Products or SKUs").fill(products)
    page.get_by_label("Target listings or sellers").fill("https://resale.example/shop/denim-deals")
    page.get_by_role("button", name="Sign up my brand").click()


def test_coordinator_opens_a_campaign_and_the_waitlist_moves_up_live(
    hub: LiveHub, people: People
) -> None:
    """A coordinator drafts and opens a 2-slot campaign; two brands are confirmed, a third
    waits as number 1; a bad request is refused beside its field; when a brand withdraws,
    the coordinator's roster updates by itself and the waiting brand is told it moved up."""
    title = f"Denim jackets on resale apps {secrets.token_hex(3)}"
    now = datetime.now(UTC)
    with people.page_of(APPAREL_COORDINATOR) as coordinator:
        coordinator.goto("/testbuys")
        coordinator.get_by_role("link", name="New campaign").click()
        expect(coordinator.get_by_role("heading", level=1)).to_have_text("New test-buy campaign")
        coordinator.get_by_label("Working group").select_option(label="Apparel")
        coordinator.get_by_label("Title").fill(title)
        coordinator.get_by_label("Goal").fill("Which resale shops sell copied denim jackets?")
        coordinator.get_by_label("Marketplaces and channels").fill("Vinted, Depop")
        coordinator.get_by_label("Region").fill("EU")
        coordinator.get_by_label("Sign-ups open (UTC)").fill(utc_field(now - timedelta(minutes=5)))
        coordinator.get_by_label("Sign-ups close (UTC)").fill(utc_field(now + timedelta(days=7)))
        coordinator.get_by_label("Slots (purchases available)").fill("2")
        coordinator.get_by_label("Most slots one brand may take").fill("1")
        coordinator.get_by_label("Budget").fill("300.00")
        coordinator.get_by_label("Each brand pays for its own purchases").check()
        coordinator.get_by_role("button", name="Save as draft").click()

        expect(coordinator).to_have_url(re.compile(r"/testbuys/\d+$"))
        campaign_url = coordinator.url
        campaign_id = int(campaign_url.rsplit("/", 1)[1])
        flash(coordinator).to_have_text(
            "The campaign was saved as a draft: open it when it is ready."
        )
        expect(coordinator.get_by_role("heading", level=1)).to_have_text(title)
        expect(coordinator.locator(".page-header .status")).to_have_text("Draft")
        expect(coordinator.locator("#slot-count")).to_contain_text("0 of 2 taken, 2 left")

        coordinator.get_by_role("button", name="Mark “Open for sign-ups”").click()
        flash(coordinator).to_have_text("The campaign is now “Open for sign-ups”.")
        expect(coordinator.locator(".page-header .status")).to_have_text("Open for sign-ups")
        expect(coordinator.locator("#roster-live")).to_contain_text("No brand has signed up yet.")

        (first, first_brand), (second, second_brand), (third, third_brand) = apparel_brand_admins(
            hub, campaign_id, 3
        )
        with (
            people.page_of(first) as one,
            people.page_of(second) as two,
            people.page_of(third) as three,
        ):
            for page in (one, two):
                sign_up(page, campaign_url, "1", "Selvedge denim jacket")
                flash(page).to_have_text("Your brand is confirmed for 1 purchase.")
                expect(page.locator("#my-signup")).to_contain_text(
                    "Confirmed: 1 of 1 purchase confirmed."
                )

            # More than the cap: refused beside the field, with a 422, and nothing saved.
            with three.expect_response(
                lambda r: r.request.method == "POST" and r.url.endswith("/signup")
            ) as refused:
                sign_up(three, campaign_url, "2", "Trucker jacket")
            assert refused.value.status == 422
            wanted = three.get_by_label("Purchases wanted")
            expect(wanted).to_have_attribute("aria-invalid", "true")
            expect(wanted).to_have_accessible_description(
                "A brand can take at most 1 of this campaign's 2 slots."
            )
            expect(three.locator("#signup-form .field-invalid #e-requested")).to_be_visible()
            expect(three.locator("#signup-form [role=alert]")).to_have_text(
                "Please correct the marked fields: nothing was saved yet."
            )
            expect(wanted).to_have_value("2")
            expect(three.get_by_label("Products or SKUs")).to_have_value("Trucker jacket")
            expect(three.locator("#my-signup")).to_contain_text("Your brand has not signed up")
            with hub.session() as session:
                saved = session.exec(select(Signup).where(Signup.campaign_id == campaign_id)).all()
                assert len(saved) == 2

            sign_up(three, campaign_url, "1", "Trucker jacket")
            flash(three).to_have_text("Your brand is on the waitlist.")
            expect(three.locator("#my-signup")).to_contain_text(
                "On the waitlist: 0 of 1 purchase confirmed; number 1 on the waitlist."
            )

            # The coordinator sees the roster; from here on it must update by itself.
            coordinator.reload()
            roster = coordinator.locator("#roster-live")
            expect(roster).to_contain_text(
                "2 of 2 slots taken, 0 left · 2 brands · 1 on the waitlist"
            )
            expect(roster.locator("tbody tr")).to_have_count(3)
            expect(roster.locator("tr", has_text=first_brand)).to_contain_text("Confirmed")
            expect(roster.locator("tr", has_text=second_brand)).to_contain_text("Confirmed")
            expect(roster.locator("tr", has_text=third_brand)).to_contain_text(
                "On the waitlist (#1)"
            )
            coordinator.evaluate("window.stayedOnPage = true")

            # Withdrawing asks first: the brand loses its place if it signs up again.
            one.once("dialog", lambda dialog: dialog.accept())
            one.get_by_role("button", name="Withdraw my brand").click()
            flash(one).to_have_text(
                "Your brand withdrew from the campaign; its slots went to the waitlist."
            )

            # The waiting brand moved up, and was told.
            three.reload()
            expect(three.locator("#my-signup")).to_contain_text(
                "Confirmed: 1 of 1 purchase confirmed."
            )
            expect(three.locator(".notif-link .count")).to_be_visible()
            three.locator(".notif-link").click()
            expect(three.get_by_role("heading", level=1)).to_have_text("Notifications")
            expect(three.locator(".stack li").first).to_contain_text(
                f"Test-buy “{title}”: {third_brand} is promoted from the waitlist: "
                "confirmed for 1 purchase."
            )

            # Meanwhile the coordinator's roster changed by itself, at its next poll.
            expect(roster.locator("tr", has_text=first_brand)).to_contain_text(
                "Withdrawn", timeout=ROSTER_POLL_MS
            )
            expect(roster.locator("tr", has_text=third_brand)).to_contain_text("Confirmed")
            expect(roster).to_contain_text(
                "2 of 2 slots taken, 0 left · 2 brands · 0 on the waitlist"
            )
            assert coordinator.evaluate("window.stayedOnPage") is True  # no reload


def test_the_roster_poll_keeps_what_the_coordinator_is_typing(hub: LiveHub, people: People) -> None:
    """While the coordinator types the reason for reordering the waitlist, the roster's
    10-second refresh must not wipe the field or take the focus away."""
    with hub.session() as session:
        campaign = session.exec(
            select(Campaign).where(Campaign.title == OPEN_APPAREL_CAMPAIGN)
        ).one()
    with people.page_of(APPAREL_COORDINATOR) as coordinator:
        coordinator.goto(f"/testbuys/{campaign.id}")
        roster = coordinator.locator("#roster-live")
        expect(roster).to_contain_text("On the waitlist (#1)")
        # Resolves at the roster's next refresh, or after one poll interval without one
        # (the page's CSP rules out wait_for_function).
        coordinator.evaluate(
            """(ms) => {
              window.rosterRefreshed = Promise.race([
                new Promise((done) => document.getElementById("roster-live").addEventListener(
                  "htmx:afterSettle", () => done(true), {once: true})),
                new Promise((done) => setTimeout(() => done(false), ms)),
              ]);
            }""",
            ROSTER_POLL_MS,
        )
        reason = roster.get_by_role("textbox", name="Reason", exact=True).first
        reason.fill("Their listings were reported first")
        # Wait out one poll: the roster skips refreshing while a form in it is in use.
        coordinator.evaluate("() => window.rosterRefreshed")
        expect(reason).to_have_value("Their listings were reported first", timeout=1000)
        expect(reason).to_be_focused(timeout=1000)


def electronics_campaign(hub: LiveHub) -> Campaign:
    with hub.session() as session:
        return session.exec(select(Campaign).where(Campaign.title == ELECTRONICS_CAMPAIGN)).one()


def test_a_purchase_from_plan_to_verdict_custody_board_and_results(
    hub: LiveHub, people: People, tmp_path: Path
) -> None:
    """The coordinator orders, ships and receives a planned purchase and records two
    handovers (the chain verifies); the brand judges it counterfeit with a photo and posts
    it to the board in one click; the results show the rate, as a chart, table and CSV."""
    campaign = electronics_campaign(hub)
    with hub.session() as session:
        purchase = session.exec(
            select(Purchase)
            .where(Purchase.campaign_id == campaign.id, Purchase.status == PurchaseStatus.planned)
            .order_by(col(Purchase.id))
        ).first()
        assert purchase is not None, "the demo's running campaign has a planned purchase"
        brand = session.get(Brand, purchase.brand_id)
        assert brand is not None
        examiner = session.exec(
            select(Person.email)
            .where(Person.brand_id == brand.id, col(Person.is_active).is_(True))
            .order_by(col(Person.id))
        ).first()
        assert examiner is not None
    seller = f"VoltCopy Store {secrets.token_hex(3)}"
    photo = png(tmp_path / "charger-label.png", "Fake CE mark, wrong font")

    with people.page_of(ELECTRONICS_COORDINATOR) as coordinator:
        coordinator.goto(f"/testbuys/{campaign.id}")
        expect(coordinator.get_by_role("heading", level=1)).to_have_text(ELECTRONICS_CAMPAIGN)
        expect(coordinator.locator(".page-header .status")).to_have_text("Purchasing")
        row = coordinator.locator("#purchases tbody tr", has_text=brand.name).filter(
            has_text="Planned"
        )
        row.first.get_by_role("link", name=str(purchase.id)).click()
        expect(coordinator).to_have_url(re.compile(rf"/testbuys/purchases/{purchase.id}$"))
        expect(coordinator.locator(".page-header .status")).to_have_text("Planned")

        details = coordinator.locator("#purchase-edit")
        details.get_by_label("Seller", exact=True).fill(seller)
        details.get_by_label("Listing address").fill(
            f"https://market.example/{secrets.token_hex(4)}/usb-c-charger-65w"
        )
        details.get_by_label("Order number").fill("E2E-4711")
        details.get_by_role("button", name="Save").click()
        flash(coordinator).to_have_text("The purchase was saved.")
        expect(coordinator.get_by_role("heading", level=1)).to_have_text(
            f"Purchase {purchase.id}: {seller}"
        )

        for step in ("Ordered", "Shipped", "Received"):
            coordinator.get_by_label("Move to").select_option(label=step)
            coordinator.get_by_role("button", name="Save the step").click()
            flash(coordinator).to_have_text(f"The purchase is now “{step}”.")
            expect(coordinator.locator(".page-header .status")).to_have_text(step)

        now = datetime.now(UTC)
        handovers = (
            ("Courier (parcel locker)", "Karim Benali", now - timedelta(hours=5)),
            ("Karim Benali", f"{brand.name} product expert", now - timedelta(hours=1)),
        )
        for number, (giver, taker, when) in enumerate(handovers, start=1):
            entry = coordinator.locator("#custody-form")
            entry.get_by_label("Handover").check()
            entry.get_by_label("When (UTC)").fill(utc_field(when))
            entry.get_by_label("From", exact=True).fill(giver)
            entry.get_by_label("To", exact=True).fill(taker)
            entry.get_by_label("Where").fill("Alliance secretariat, Brussels")
            entry.get_by_label("Seal number").fill("S-E2E-0001")
            entry.get_by_label("Seal intact?").select_option(label="Yes")
            entry.get_by_role("button", name="Add to the chain").click()
            flash(coordinator).to_have_text(f"Entry {number} was added to the chain of custody.")
        custody = coordinator.locator("#custody")
        expect(custody.get_by_role("status")).to_contain_text(
            "The chain of custody verifies: 2 entries"
        )
        expect(custody.locator("ul.custody li")).to_have_count(2)
        expect(custody.locator("ul.custody li").nth(1)).to_contain_text(
            f"Karim Benali → {brand.name} product expert"
        )
        purchase_url = coordinator.url.split("#")[0]

        with people.page_of(examiner) as expert:
            expert.goto(f"/testbuys/{campaign.id}")
            expert.locator("#purchases").get_by_role("link", name=str(purchase.id)).click()
            expect(expert).to_have_url(re.compile(rf"/testbuys/purchases/{purchase.id}$"))
            expect(expert.locator("#custody").get_by_role("status")).to_contain_text(
                "The chain of custody verifies"
            )
            expert.get_by_label("Move to").select_option(label="Verdict given")
            expert.get_by_label("Verdict (for").select_option(label="Counterfeit")
            expert.get_by_label("Note").fill("Fake CE mark; no over-current protection inside.")
            expert.get_by_role("button", name="Save the step").click()
            flash(expert).to_have_text("The purchase is now “Verdict given”.")
            expect(expert.locator(".page-header")).to_contain_text("verdict: Counterfeit")

            expert.get_by_label("Photos, receipts, PDFs").set_input_files(str(photo))
            expert.get_by_role("button", name="Add files").click()
            flash(expert).to_have_text("1 file added.")
            expect(expert.locator("#evidence img[alt='charger-label.png']")).to_be_visible()

            expert.get_by_role("button", name="Post the verdict to the board").click()
            expect(expert).to_have_url(re.compile(r"/intel/\d+$"))
            flash(expert).to_have_text("The verdict is on the board as a new report.")
            expect(expert.get_by_role("heading", level=1)).to_have_text(
                f"Test buy: counterfeit from {seller}"
            )
            expect(expert.locator(".indicator-list")).to_contain_text(seller)
            expect(expert.locator("#evidence img")).to_have_count(1)

        coordinator.goto(purchase_url)
        expect(coordinator.locator(".page-header .status")).to_have_text("Reported")
        expect(coordinator.get_by_role("link", name="On the board")).to_be_visible()

        coordinator.goto(f"/testbuys/{campaign.id}")
        coordinator.get_by_role("link", name="Results").click()
        expect(coordinator.get_by_role("heading", level=1)).to_have_text(
            f"Results: {ELECTRONICS_CAMPAIGN}"
        )
        expect(coordinator.locator("figure.chart svg").first).to_be_visible()
        expect(coordinator.locator("figure.chart svg").first).to_contain_text(
            "Counterfeit rate by marketplace"
        )
        by_seller = coordinator.get_by_role("table", name="Counterfeit rate by seller")
        expect(by_seller.get_by_role("columnheader", name="Counterfeit rate")).to_be_visible()
        expect(by_seller.locator("tr", has_text=seller).locator("td")).to_have_text(
            ["1", "1", "0", "0", "100%"]
        )
        expect(coordinator.locator(".lead")).to_contain_text("counterfeit:")

        with coordinator.expect_download() as download:
            coordinator.get_by_role("link", name="CSV").click()
        assert download.value.suggested_filename == f"campaign-{campaign.id}.csv"
        text = Path(download.value.path()).read_text(encoding="utf-8")
        assert text.startswith("purchase,brand")
        rows = list(csv.DictReader(io.StringIO(text)))
        mine = [r for r in rows if r["purchase"] == str(purchase.id)]
        assert len(mine) == 1
        assert mine[0]["seller"] == seller
        assert mine[0]["verdict"] == "Counterfeit"


def test_a_brand_outside_the_group_gets_a_404_for_campaign_and_purchase(
    hub: LiveHub, people: People
) -> None:
    """A brand admin of a brand outside the electronics group cannot even tell that the
    campaign exists: its address and a purchase's are plain 404 pages."""
    campaign = electronics_campaign(hub)
    with hub.session() as session:
        electronics = session.exec(
            select(WorkingGroup).where(WorkingGroup.slug == "electronics")
        ).one()
        in_electronics = select(GroupMembership.brand_id).where(
            GroupMembership.group_id == electronics.id
        )
        outsider = session.exec(
            select(Person.email)
            .join(Brand, col(Brand.id) == Person.brand_id)
            .where(
                Person.role == Role.brand_admin,
                col(Person.is_active).is_(True),
                col(Brand.slug).in_(DEMO_BRANDS),
                col(Brand.id).not_in(in_electronics),
            )
            .order_by(col(Person.id))
        ).first()
        purchase = session.exec(
            select(Purchase).where(Purchase.campaign_id == campaign.id).order_by(col(Purchase.id))
        ).first()
    assert outsider is not None and purchase is not None

    with people.page_of(outsider) as page:
        for url in (f"/testbuys/{campaign.id}", f"/testbuys/purchases/{purchase.id}"):
            response = page.goto(url)
            assert response is not None and response.status == 404, url
            expect(page.locator(".error-code")).to_have_text("404")
            expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
            expect(page.locator("main")).not_to_contain_text(ELECTRONICS_CAMPAIGN)
            if purchase.seller:
                expect(page.locator("main")).not_to_contain_text(purchase.seller)


def test_on_a_phone_every_table_cell_says_which_column_it_is_in(
    hub: LiveHub, people: People
) -> None:
    """Below 700 px the hub's tables hide their header row and show each cell's column
    name above it (from `data-label`): the roster, purchases and results must have them,
    or a phone shows bare numbers such as "2 / 2" or "0"."""
    campaign = electronics_campaign(hub)
    with people.page_of(ELECTRONICS_COORDINATOR) as page:
        page.set_viewport_size({"width": 375, "height": 812})
        unlabelled: dict[str, list[str]] = {}
        for url in (f"/testbuys/{campaign.id}", f"/testbuys/{campaign.id}/results"):
            page.goto(url)
            expect(page.locator("main .table tbody td").first).to_be_visible()
            expect(page.locator("main .table thead").first).to_be_hidden()
            bare = page.locator("main .table tbody td:not([data-label])").evaluate_all(
                "cells => cells.map((cell) => cell.innerText.trim().split('\\n')[0])"
            )
            if bare:
                unlabelled[url] = bare[:6]
        assert unlabelled == {}, f"cells shown on a phone without their column: {unlabelled}"


def test_the_secretariat_coordinator_is_not_asked_about_its_brand(
    hub: LiveHub, people: People
) -> None:
    """A coordinator from the alliance's secretariat runs the campaign: the secretariat is
    no brand and can never sign up, so the page must not tell them that "your brand has
    not signed up; your brand admins sign it up"."""
    campaign = electronics_campaign(hub)
    with people.page_of(ELECTRONICS_COORDINATOR) as page:
        page.goto(f"/testbuys/{campaign.id}")
        expect(page.locator("#roster")).to_be_visible()
        expect(page.get_by_role("heading", name="Your brand")).to_have_count(0)
        expect(page.locator("main")).not_to_contain_text("your brand admins sign it up")


def screenshot_dir(tmp_path: Path) -> Path:
    chosen = os.environ.get("HUB_SCREENSHOTS")
    folder = Path(chosen).resolve() if chosen else tmp_path
    assert not folder.is_relative_to(REPO), f"screenshots stay out of the repository: {folder}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_screenshots_of_the_campaign_purchase_and_results_pages(
    hub: LiveHub, people: People, tmp_path: Path
) -> None:
    """Full-page screenshots for people to look at (not checked here), at 1280 and 375 px,
    into $HUB_SCREENSHOTS or the test's temporary folder."""
    folder = screenshot_dir(tmp_path)
    campaign = electronics_campaign(hub)
    with hub.session() as session:
        custody = select(CustodyEntry.purchase_id)
        candidates = session.exec(
            select(Purchase)
            .where(Purchase.campaign_id == campaign.id, col(Purchase.id).in_(custody))
            .order_by(col(Purchase.report_id).is_(None), col(Purchase.id))
        ).all()
    assert candidates, "the demo's running campaign has a purchase with a custody chain"
    pages = {
        "campaign": f"/testbuys/{campaign.id}",
        "purchase": f"/testbuys/purchases/{candidates[0].id}",
        "results": f"/testbuys/{campaign.id}/results",
    }
    with people.page_of(ELECTRONICS_COORDINATOR) as page:
        for width, height in ((1280, 800), (375, 812)):
            page.set_viewport_size({"width": width, "height": height})
            for name, url in pages.items():
                page.goto(url)
                expect(page.get_by_role("heading", level=1)).to_be_visible()
                target = folder / f"testbuys-{name}-{width}.png"
                page.screenshot(path=str(target), full_page=True)
                assert target.stat().st_size > 0
