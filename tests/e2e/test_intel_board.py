"""The intelligence board in a real browser: post a report with evidence in under a minute,
then another brand confirms it inline and finds it by search."""

import io
import re
from pathlib import Path

from PIL import Image
from playwright.sync_api import Browser, expect
from sqlmodel import select

from hub.intel.models import Evidence, IntelReport
from tests.e2e.conftest import fresh_context
from tests.e2e.people import sign_in
from tests.live import LiveHub

AUTHOR = "elodie.moreau@maison-verrault.example"  # Maison Verrault: apparel, luxury-leather


def other_apparel_member(hub: LiveHub) -> str:
    """A member of another brand in the apparel group."""
    from hub.groups.models import GroupMembership, WorkingGroup
    from hub.members.models import Brand, Person, Role

    with hub.session() as session:
        email = session.exec(
            select(Person.email)
            .join(Brand, Brand.id == Person.brand_id)  # type: ignore[arg-type]
            .join(GroupMembership, GroupMembership.brand_id == Brand.id)  # type: ignore[arg-type]
            .join(WorkingGroup, WorkingGroup.id == GroupMembership.group_id)  # type: ignore[arg-type]
            .where(
                WorkingGroup.slug == "apparel",
                Brand.slug != "maison-verrault",
                Person.role == Role.member,
                Person.is_active == True,  # noqa: E712
            )
        ).first()
    assert email is not None
    return email


def test_post_a_report_with_evidence_then_another_brand_confirms_it(
    browser: Browser, hub: LiveHub, tmp_path: Path
) -> None:
    """Post with indicators and a photo (sent by htmx, which reports upload progress), then
    a fellow brand says
    "seen it too" inline and finds the report by its shop name."""
    photo = tmp_path / "listing.png"
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 900), (180, 40, 40)).save(buffer, "PNG")
    photo.write_bytes(buffer.getvalue())
    shop = "QuiltedCopies77"

    context = fresh_context(browser, hub)
    try:
        page = context.new_page()
        sign_in(page, AUTHOR)
        page.goto("/groups/apparel/intel")
        page.get_by_role("link", name="Post a report").click()
        page.get_by_label("Title").fill(f"{shop} selling copied quilted jackets")
        page.get_by_label("What was seen").fill("Copies of our **quilted jacket**, fake labels.")
        rows = page.locator(".indicator-row")
        rows.nth(0).locator("select").select_option("shop_name")
        rows.nth(0).locator("input").fill(shop)
        rows.nth(1).locator("select").select_option("phone")
        rows.nth(1).locator("input").fill("+44 7700 900123")
        page.get_by_label("Evidence: photos, screenshots, PDFs").set_input_files(str(photo))
        with page.expect_request(lambda r: r.method == "POST" and "/intel" in r.url) as sent:
            page.get_by_role("button", name="Post report").click()
        # htmx sent it (so the progress bar is driven), as multipart with the file inside.
        assert sent.value.headers.get("hx-request") == "true"
        assert "multipart/form-data" in (sent.value.headers.get("content-type") or "")
        expect(page.locator(".flash-success")).to_contain_text("Your report was posted")
        expect(page.get_by_role("heading", level=1)).to_have_text(
            f"{shop} selling copied quilted jackets"
        )
        expect(page.locator(".evidence img")).to_have_count(1)
        report_url = page.url
    finally:
        context.close()

    with hub.session() as session:
        report = session.exec(select(IntelReport).where(IntelReport.title.startswith(shop))).one()  # type: ignore[attr-defined]
        stored = session.exec(select(Evidence).where(Evidence.report_id == report.id)).one()
        assert stored.size == len(buffer.getvalue())

    reader = fresh_context(browser, hub)
    try:
        page = reader.new_page()
        sign_in(page, other_apparel_member(hub))
        page.goto(report_url)
        page.evaluate("window.stayedOnPage = true")
        page.get_by_placeholder("Note (optional)").fill("Same seller on our side")
        page.get_by_role("button", name="Seen it too").click()
        expect(page.locator(".sighting-seen")).to_contain_text("has seen it too")
        assert page.evaluate("window.stayedOnPage") is True  # swapped inline, no reload
        page.get_by_role("link", name="Search").first.click()
        page.get_by_label("Search", exact=True).fill(shop)
        page.get_by_role("button", name="Search").click()
        expect(page.locator(".report-card")).to_have_count(1)
        expect(page.locator(".snippet mark").first).to_have_text(re.compile(shop, re.I))
    finally:
        reader.close()
