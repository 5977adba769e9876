"""The alliance's impact in a real browser, on the demo's year: a number on the dashboard
leads to the rows behind it, the charts carry their tables, the CSV downloads; a
coordinator writes the group's part of last year's report and an alliance admin publishes
it to members. Also screenshots at desktop and phone widths."""

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import col, select

from hub.clock import utcnow
from hub.groups.models import GroupMembership, WorkingGroup
from hub.i18n import LANGUAGE_COOKIE
from hub.members.models import Brand, Person, Role
from tests.e2e.conftest import ALLIANCE_ADMIN_EMAIL, clear_login_rate_limits
from tests.e2e.people import People
from tests.e2e.test_accessibility import axe_script, axe_violations, described, with_axe
from tests.e2e.test_events import overflow, screenshot_dir
from tests.live import LiveHub

COORDINATOR = "elise.janssens@alliance-hub.example"
GROUP = "cosmetics"
LAST_YEAR = utcnow().year - 1


@pytest.fixture(scope="module")
def people(browser: Browser, hub: LiveHub) -> People:
    clear_login_rate_limits(hub)
    return People(browser, hub)


def a_member_of(hub: LiveHub, group_slug: str) -> str:
    with hub.session() as session:
        email = session.exec(
            select(Person.email)
            .join(Brand, col(Brand.id) == Person.brand_id)
            .join(GroupMembership, col(GroupMembership.brand_id) == Brand.id)
            .join(WorkingGroup, col(WorkingGroup.id) == GroupMembership.group_id)
            .where(
                WorkingGroup.slug == group_slug,
                Person.role == Role.member,
                col(Person.is_active).is_(True),
            )
            .order_by(col(Person.id))
        ).first()
    assert email is not None
    return email


def number(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


def test_a_number_leads_to_the_rows_behind_it(people: People) -> None:
    with people.page_of(COORDINATOR) as page:
        page.goto(f"/impact?year={LAST_YEAR}")
        tile = page.locator("#tile-takedowns .tile-value")
        shown = number(tile.inner_text())
        assert shown > 0, "the demo's year has takedowns"
        tile.click()
        expect(page.locator("h1")).to_contain_text("Listings taken down")
        summary = page.locator("#trace-summary").inner_text()
        counted = number(re.search(r"counts ([\d,]+)", summary).group(1))  # type: ignore[union-attr]
        listed = number(re.search(r"open ([\d,]+)", summary).group(1))  # type: ignore[union-attr]
        assert counted == shown
        assert page.locator("#trace-rows tbody tr").count() == min(listed, 500)


def test_charts_carry_their_numbers_and_the_csv_downloads(people: People) -> None:
    with people.page_of(COORDINATOR) as page:
        page.goto(f"/impact?year={LAST_YEAR}&scope={GROUP}")
        expect(page.locator("h1")).to_contain_text("Cosmetics")
        charts = page.locator("section.impact-chart")
        assert charts.count() >= 5
        for index in range(charts.count()):
            chart = charts.nth(index)
            if chart.locator("svg").count():
                expect(chart.locator("svg[role=img] title")).to_have_count(1)
                expect(chart.locator("table caption")).to_contain_text("the numbers")
        with page.expect_download() as waiting:
            page.get_by_role("link", name="CSV of every figure").click()
        body = Path(waiting.value.path()).read_text(encoding="utf-8")
        lines = list(csv.reader(io.StringIO(body)))
        headline = {line[2]: line[4] for line in lines if line[0] == "Headline"}
        tile = page.locator("#tile-reports .tile-value").inner_text()
        assert headline["Reports shared"] == tile


def test_coordinator_writes_the_groups_part_and_the_admin_publishes(
    hub: LiveHub, people: People
) -> None:
    report = f"/impact/report?year={LAST_YEAR}"
    member = a_member_of(hub, GROUP)
    with people.page_of(ALLIANCE_ADMIN_EMAIL) as admin:
        admin.goto(report)
        withdraw = admin.get_by_role("button", name="Withdraw the report")
        if withdraw.count():
            withdraw.click()
        expect(admin.locator("#report-state")).to_contain_text("Draft")
    with people.page_of(member) as page:
        page.goto(report)
        expect(page.locator("main")).to_contain_text("not published yet")
    stamp = f"{utcnow():%H%M%S}"
    words = f"Cosmetics closed **{stamp}** factories this year."
    with people.page_of(COORDINATOR) as page:
        page.goto(report)
        field = page.get_by_label("Cosmetics and personal care: the group's year")
        field.fill(words)
        page.get_by_role("button", name="Save the section of Cosmetics and personal care").click()
        expect(page.locator(f"#group-{GROUP} .narrative strong")).to_have_text(stamp)
    with people.page_of(ALLIANCE_ADMIN_EMAIL) as admin:
        admin.goto(report)
        admin.get_by_role("button", name="Publish to every member").click()
        expect(admin.locator("#report-state")).to_contain_text("Published")
    with people.page_of(member) as page:
        page.goto(report)
        expect(page.locator(f"#group-{GROUP} .narrative")).to_contain_text("factories this year")
        expect(page.locator("textarea")).to_have_count(0)


def test_screenshots_of_the_dashboard_and_report(
    people: People, hub: LiveHub, tmp_path: Path
) -> None:
    """Full-page screenshots at 1280 and 375 px for people to look at; at 375 px nothing
    sticks out sideways (charts and tables scroll inside their boxes). At 1280 px axe finds
    nothing serious, in English and in Chinese (the annual report is checked here rather
    than in test_accessibility: counting a year for it is slow)."""
    folder = screenshot_dir(tmp_path)
    pages = {
        "impact": f"/impact?year={LAST_YEAR}",
        "impact-report": f"/impact/report?year={LAST_YEAR}",
        "referrals": "/referrals",
    }
    serious: list[str] = []
    with people.page_of(COORDINATOR) as page:
        with_axe(page.context, axe_script())
        for width in (1280, 375):
            page.set_viewport_size({"width": width, "height": 900})
            for name, url in pages.items():
                page.goto(url)
                _shot(page, folder / f"{name}-{width}.png")
                if width == 375:
                    assert overflow(page) == 0, f"{url} is wider than a phone"
                else:
                    serious += described(url, axe_violations(page))
        page.context.add_cookies(
            [{"name": LANGUAGE_COOKIE, "value": "zh_Hans", "url": hub.base_url}]
        )
        page.set_viewport_size({"width": 1280, "height": 900})
        for name, url in pages.items():
            page.goto(url)
            expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
            _shot(page, folder / f"{name}-1280-zh.png")
            serious += described(f"{url} (zh)", axe_violations(page))
    assert serious == []


def _shot(page: Page, path: Path) -> None:
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
