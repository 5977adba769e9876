"""Accessibility in a real browser, in English and in Simplified Chinese.

axe-core (tests/e2e/axe, installed by `make test`) checks every main page, signed in and
out, at desktop and phone widths; the test fails on every serious or critical violation,
listed with its rule, the elements and the fix axe suggests. Keyboard: the skip link, a
visible focus ring at every tab stop, and htmx swaps that announce their message and keep
focus off <body>. Phone (375 px): the board, the report form, the calendar and an event
sign-up fit the screen, have thumb-sized targets and work by tapping. Screenshots of the
main pages at 375 and 1280 px in both languages (board-375-zh.png, dashboard-1280-en.png)
go to $HUB_SCREENSHOTS or the test's temporary folder.

The hub's Content-Security-Policy allows only the hub's own scripts ('self'): an inline
<script> (page.add_script_tag(path=...)) is refused. So axe is served from a same-origin
address that the browser context routes to the installed file, and the policy stays on.
"""

import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Cookie,
    FloatRect,
    Page,
    Route,
    ViewportSize,
    expect,
)
from sqlmodel import col, select

from hub.auth.sessions import load_actor
from hub.groups.models import WorkingGroup
from hub.impact.models import Referral
from hub.intel.models import IntelReport, Tlp
from hub.intel.service import ReportForm, create_report
from hub.members.models import Brand, Person, Role
from hub.testbuys.models import Campaign, Purchase
from tests.e2e import test_events
from tests.e2e.conftest import ALLIANCE_ADMIN_EMAIL, NOT_LOOPBACK, clear_login_rate_limits
from tests.e2e.people import People
from tests.e2e.test_events import GROUP, Cast, make_event, overflow, screenshot_dir
from tests.live import LiveHub

AXE_DIR = Path(__file__).resolve().parent / "axe"
AXE_FILE = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
AXE_PATH = "/__a11y__/axe.min.js"  # same-origin, answered by the browser context's route
SERIOUS = ("serious", "critical")
# At phone width only what the narrow layout changes is checked again (the rest was checked
# at desktop width): targets too small or too close to tap, boxes that scroll sideways.
PHONE_RULES = ["target-size", "scrollable-region-focusable"]
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 375, "height": 812}
# The browser's Accept-Language and the switcher's cookie, and what <html lang> then says.
LANGUAGES = {
    "en": ("en-GB", "en", "en"),
    "zh_Hans": ("zh-CN", "zh_Hans", "zh-Hans"),
}
SHOT_TAG = {"en": "en", "zh_Hans": "zh"}  # board-375-zh.png
SHOT_HEIGHT = 2400

cast = test_events.cast  # the events tests' people of the food and beverage group


@pytest.fixture(scope="module")
def people(browser: Browser, hub: LiveHub) -> People:
    clear_login_rate_limits(hub)
    return People(browser, hub)


@pytest.fixture(scope="module")
def axe_source() -> str:
    return axe_script()


def axe_script() -> str:
    """axe-core's script (node_modules is git-ignored: installed here if missing)."""
    if not AXE_FILE.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is missing: the accessibility tests need axe-core (make axe).")
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=AXE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"npm ci in {AXE_DIR} failed:\n{result.stdout}\n{result.stderr}")
    return AXE_FILE.read_text(encoding="utf-8")


# --- Who visits what ---------------------------------------------------------------------


@dataclass(frozen=True)
class Stop:
    name: str  # of the screenshots
    url: str
    who: str  # "member", "admin" or "" (signed out)
    shot: bool = True  # screenshots of it (the main pages)


@dataclass(frozen=True)
class Tour:
    member: str  # a member (not an admin) of a brand in the group
    reporter: str  # someone of another brand of the group
    stops: list[Stop]


def brand_of(hub: LiveHub, email: str) -> Brand:
    with hub.session() as session:
        return session.exec(
            select(Brand)
            .join(Person, col(Person.brand_id) == Brand.id)
            .where(Person.email == email)
        ).one()


def fresh_report(hub: LiveHub, author: str, title: str) -> int:
    """A report on the group's board, posted by `author` through the hub's own service."""
    with hub.session() as session:
        person = session.exec(select(Person).where(Person.email == author)).one()
        brand = session.get(Brand, person.brand_id)
        group = session.exec(select(WorkingGroup).where(WorkingGroup.slug == GROUP)).one()
        assert brand is not None
        form = ReportForm(
            title=title,
            body_md="Refilled tins with **ground-off lot codes**, sold as a clearance lot.",
            marketplace="Online marketplace",
            tlp=Tlp.green,
            indicators=[("shop_name", f"ClearanceTins{secrets.token_hex(3)}")],
        )
        report = create_report(session, load_actor(session, person, brand), group, form)
        assert report.id is not None
        return report.id


@pytest.fixture(scope="module")
def tour(hub: LiveHub, cast: Cast) -> Tour:
    """Every main page, with the demo's things of the group: a member of a brand that bought
    in one of the group's test-buy campaigns sees the member pages, the alliance admin the
    admin pages."""
    emails = [*cast.a, *cast.b, *cast.c]
    with hub.session() as session:
        bought = session.exec(
            select(Purchase.id, Purchase.campaign_id, Person.email)
            .join(Campaign, col(Campaign.id) == Purchase.campaign_id)
            .join(WorkingGroup, col(WorkingGroup.id) == Campaign.group_id)
            .join(Person, col(Person.brand_id) == Purchase.brand_id)
            .where(
                WorkingGroup.slug == GROUP,
                col(Person.email).in_(emails),
                Person.role == Role.member,
                col(Person.is_active).is_(True),
            )
            .order_by(col(Purchase.id), col(Person.id))
        ).first()
        assert bought is not None, f"a brand of the {GROUP} group bought in a demo campaign"
        purchase_id, campaign_id, member = bought
        brand = brand_of(hub, member)
        report_id = session.exec(
            select(IntelReport.id)
            .join(WorkingGroup, col(WorkingGroup.id) == IntelReport.group_id)
            .where(
                WorkingGroup.slug == GROUP,
                IntelReport.brand_id != brand.id,
                col(IntelReport.tlp).in_([Tlp.clear, Tlp.green, Tlp.amber]),
                IntelReport.hidden_reason == "",
                col(IntelReport.merged_into_id).is_(None),
            )
            .order_by(col(IntelReport.id))
        ).first()
        assert report_id is not None
        referral_id = session.exec(
            select(Referral.id)
            .join(WorkingGroup, col(WorkingGroup.id) == Referral.group_id)
            .where(WorkingGroup.slug == GROUP, Referral.brand_id == brand.id)
            .order_by(col(Referral.id))
        ).first()
    reporter = next(email for email in emails if brand_of(hub, email).id != brand.id)
    event = make_event(hub, f"Reading olive oil tin codes {secrets.token_hex(2)}")
    month = f"{test_events.winter_day():%Y-%m}"
    stops = [
        Stop("sign-in", "/login", ""),
        Stop("dashboard", "/", "member"),
        Stop("groups", "/groups", "member", shot=False),
        Stop("group", f"/groups/{GROUP}", "member", shot=False),
        Stop("board", f"/groups/{GROUP}/intel", "member"),
        Stop("report-form", f"/groups/{GROUP}/intel/new", "member"),
        Stop("report", f"/intel/{report_id}", "member"),
        Stop("search", "/intel/search?q=counterfeit", "member"),
        Stop("testbuys", "/testbuys", "member"),
        Stop("campaign", f"/testbuys/{campaign_id}", "member"),
        Stop("purchase", f"/testbuys/purchases/{purchase_id}", "member"),
        Stop("calendar", "/events", "member"),
        Stop("calendar-month", f"/events?view=month&month={month}", "member", shot=False),
        Stop("event", f"/events/{event.id}", "member"),
        Stop("impact", "/impact", "member"),
        Stop("referrals", "/referrals", "member"),
        *([Stop("referral", f"/referrals/{referral_id}", "member", False)] if referral_id else []),
        Stop("notifications", "/notifications", "member"),
        Stop("settings", "/me", "member"),
        Stop("brands", "/brands", "member"),
        Stop("brand", f"/brands/{brand.slug}", "member", shot=False),
        Stop("developers", "/developers", "member"),
        Stop("admin", "/admin", "admin"),
        Stop("admin-audit", "/admin/audit", "admin", shot=False),
        Stop("admin-new-brand", "/admin/brands/new", "admin", shot=False),
        Stop("admin-group", f"/admin/groups/{GROUP}", "admin", shot=False),
        Stop("brand-people", f"/brands/{brand.slug}/people", "admin"),
        Stop("brand-sso", f"/brands/{brand.slug}/sso", "admin", shot=False),
        Stop("event-form", "/events/new", "admin"),
    ]
    return Tour(member, reporter, stops)


def cookies_of(people: People, email: str) -> list[Cookie]:
    """The session cookies of `email`, signing in once per module."""
    if email not in people.cookies:
        with people.page_of(email):
            pass
    return people.cookies[email]


# --- axe ---------------------------------------------------------------------------------


def with_axe(context: BrowserContext, source: str) -> None:
    def serve(route: Route) -> None:
        route.fulfill(status=200, content_type="text/javascript", body=source)

    context.route(f"**{AXE_PATH}", serve)


def axe_violations(page: Page, rules: list[str] | None = None) -> list[dict[str, Any]]:
    """The serious and critical violations on the page as it is now."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(url=AXE_PATH)
    # Only the violations are listed in full (the passes are not needed, and take time).
    options: dict[str, Any] = {
        "resultTypes": ["violations"],
        "rules": {"target-size": {"enabled": True}},
        **({"runOnly": {"type": "rule", "values": rules}} if rules else {}),
    }
    found: list[dict[str, Any]] = page.evaluate(
        """async (options) => {
          const result = await axe.run(document, options);
          return result.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
            targets: v.nodes.map((n) => n.target.join(" ")),
          }));
        }""",
        options,
    )
    return [v for v in found if v["impact"] in SERIOUS]


def described(where: str, violations: list[dict[str, Any]]) -> list[str]:
    lines = []
    for v in violations:
        targets = ", ".join(v["targets"][:8]) + (" …" if len(v["targets"]) > 8 else "")
        lines.append(f"{where}: {v['id']} ({v['impact']}) at {targets}: {v['help']} [{v['url']}]")
    return lines


def shoot(page: Page, target: Path) -> None:
    """The page from its top, three phone screens long at most (a whole long page takes
    seconds to draw, and the events and impact tests shoot theirs whole)."""
    width = page.viewport_size["width"] if page.viewport_size else DESKTOP["width"]
    height = min(SHOT_HEIGHT, int(page.evaluate("document.documentElement.scrollHeight")))
    clip: FloatRect = {"x": 0, "y": 0, "width": width, "height": height}
    page.screenshot(path=str(target), full_page=True, clip=clip)
    assert target.stat().st_size > 0


def settle(page: Page) -> None:
    """Two animation frames: the layout (and hub.js) caught up with a new window size."""
    page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
def test_every_main_page_passes_axe(
    language: str,
    browser: Browser,
    hub: LiveHub,
    people: People,
    tour: Tour,
    axe_source: str,
    tmp_path: Path,
) -> None:
    """Each page, signed out, as a member and as the alliance admin, in one browser whose
    Accept-Language and language cookie ask for `language`: axe at 1280 px (every rule, the
    target size too) and at 375 px (what the phone layout changes), nothing wider than the
    phone, and a screenshot at both widths."""
    locale, cookie, html_lang = LANGUAGES[language]
    folder = screenshot_dir(tmp_path)
    problems: list[str] = []
    context = browser.new_context(base_url=hub.base_url, viewport=DESKTOP, locale=locale)
    context.route(NOT_LOOPBACK, lambda route: route.abort())
    with_axe(context, axe_source)
    language_cookie: Any = {"name": "hub_lang", "value": cookie, "url": hub.base_url}
    try:
        page = context.new_page()
        signed_in_as = None
        for stop in tour.stops:
            if stop.who != signed_in_as:
                context.clear_cookies()
                who = {"member": tour.member, "admin": ALLIANCE_ADMIN_EMAIL}.get(stop.who)
                signed_in: list[Any] = cookies_of(people, who) if who else []
                context.add_cookies([language_cookie, *signed_in])
                signed_in_as = stop.who
            where = f"[{language}] {stop.url}"
            page.set_viewport_size(DESKTOP)
            response = page.goto(stop.url)
            if response is None or response.status != 200:
                problems.append(f"{where}: answered {response.status if response else 'nothing'}")
                continue
            if page.locator("html").get_attribute("lang") != html_lang:
                problems.append(f"{where}: <html lang> is not {html_lang}")
            problems += described(where, axe_violations(page))
            tag = SHOT_TAG[language]
            if stop.shot:
                shoot(page, folder / f"{stop.name}-1280-{tag}.png")
            page.set_viewport_size(PHONE)
            settle(page)
            problems += described(f"{where} at 375 px", axe_violations(page, PHONE_RULES))
            if overflow(page) > 0:
                problems.append(f"{where}: {overflow(page)} px wider than a 375 px phone")
            if stop.shot:
                shoot(page, folder / f"{stop.name}-375-{tag}.png")
    finally:
        context.close()
    assert not problems, "accessibility problems:\n" + "\n".join(problems)


# --- Keyboard ----------------------------------------------------------------------------

FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  return {
    what: e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + " " +
      (e.getAttribute("aria-label") || e.textContent || e.value || "").trim().slice(0, 40),
    outline: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2,
    shadow: s.boxShadow !== "none",
  };
}"""

MARK_LIVE_REGIONS = """() => document.querySelectorAll(
  "[aria-live], [role=status], [role=alert], [role=log]"
).forEach((region) => { region.dataset.liveBefore = ""; })"""

ANNOUNCED = """(text) => [...document.querySelectorAll("[data-live-before]")].some(
  (region) => region.textContent.includes(text)
)"""

FOCUS_KEPT = "document.activeElement !== null && document.activeElement !== document.body"


def test_skip_link_and_a_visible_focus_ring_at_every_tab_stop(people: People, tour: Tour) -> None:
    """The first Tab shows the skip link, which takes focus to the page's content; then every
    tab stop of the board, a page of many controls, shows the focus ring."""
    with people.page_of(tour.member) as page:
        page.goto("/")
        page.keyboard.press("Tab")
        skip = page.locator(".skip-link")
        expect(skip).to_be_focused()
        box = skip.bounding_box()
        assert box is not None and box["x"] >= 0 and box["y"] >= 0, "shown when focused"
        page.keyboard.press("Enter")
        expect(page.locator("main#main")).to_be_focused()
        page.keyboard.press("Tab")
        assert page.evaluate("document.querySelector('main').contains(document.activeElement)")

        page.goto(f"/groups/{GROUP}/intel")
        unringed: list[str] = []
        stops: list[str] = []
        while len(stops) < 200:
            page.keyboard.press("Tab")
            focused = page.evaluate(FOCUSED)
            if focused is None:
                break  # past the last stop, focus left the page
            stops.append(focused["what"])
            if not (focused["outline"] or focused["shadow"]):
                unringed.append(focused["what"])
        assert len(stops) > 20, f"only these tab stops on the board: {stops}"
        assert unringed == [], f"focused without a visible ring: {unringed}"


def test_htmx_messages_are_announced_and_focus_stays(
    hub: LiveHub, people: People, tour: Tour
) -> None:
    """By keyboard, "Seen it too" on a report and registering for an event: the message is
    read out by a live region that was already on the page, and focus is not dropped to
    <body> when the swapped part replaced the button."""
    report_id = fresh_report(hub, tour.reporter, f"Refilled olive oil tins {secrets.token_hex(2)}")
    event = make_event(hub, f"Olive oil fraud briefing {secrets.token_hex(2)}")
    with people.page_of(tour.member) as page:
        page.goto(f"/intel/{report_id}")
        page.evaluate(MARK_LIVE_REGIONS)
        page.get_by_role("button", name="Seen it too").focus()
        page.keyboard.press("Enter")
        message = page.locator("#discussion [role=status]")
        expect(message).to_be_visible()
        page.wait_for_function(ANNOUNCED, arg=message.inner_text().strip())
        assert page.evaluate(FOCUS_KEPT), "focus fell to <body> after the swap"

        page.goto(f"/events/{event.id}")
        page.evaluate(MARK_LIVE_REGIONS)
        page.locator("#registration").get_by_role("button", name="Register").focus()
        page.keyboard.press("Enter")
        message = page.locator("#registration [role=status]")
        expect(message).to_be_visible()
        expect(page.locator("#registration .standing-confirmed")).to_be_visible()
        page.wait_for_function(ANNOUNCED, arg=message.inner_text().strip())
        assert page.evaluate(FOCUS_KEPT), "focus fell to <body> after the swap"


# --- Phone -------------------------------------------------------------------------------

# Links, buttons and fields smaller than 24 px (WCAG 2.5.8), but for links inside running
# text; a checkbox or radio counts with its label, which takes the tap too.
SMALL_TARGETS = """() => {
  const small = [];
  const targets = document.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, summary");
  for (const element of targets) {
    let box = element.getBoundingClientRect();
    const style = getComputedStyle(element);
    if (!box.width || !box.height || style.visibility === "hidden") continue;
    if (box.width <= 2 && box.height <= 2) continue;  // visually hidden
    if (element.labels && element.labels.length) {
      for (const label of element.labels) {
        const around = label.getBoundingClientRect();
        if (around.height > box.height) box = around;
      }
    }
    if (box.height >= 24 && box.width >= 24) continue;
    const parent = element.parentElement;
    const inText = style.display === "inline" && [...parent.childNodes].some(
      (node) => node !== element && node.nodeType === Node.TEXT_NODE && node.textContent.trim());
    if (inText) continue;
    small.push(`${element.tagName.toLowerCase()} "${(element.textContent || element.name || "")
      .trim().slice(0, 40)}" ${Math.round(box.width)}x${Math.round(box.height)}`);
  }
  return small;
}"""


def test_on_a_phone(browser: Browser, hub: LiveHub, people: People, tour: Tour) -> None:
    """375 px, a touch screen: the board, the report form (its photo input offers the
    camera and still lets people pick a file), the calendar and an event page fit the
    screen with targets of 24 px or more, and the sign-up is done by tapping."""
    event = make_event(hub, f"Tapping through a sign-up {secrets.token_hex(2)}")
    context = browser.new_context(
        base_url=hub.base_url, viewport=PHONE, has_touch=True, is_mobile=True
    )
    context.route(NOT_LOOPBACK, lambda route: route.abort())
    context.add_cookies(cookies_of(people, tour.member))  # type: ignore[arg-type]
    problems: list[str] = []
    try:
        page = context.new_page()
        for url in (
            f"/groups/{GROUP}/intel",
            f"/groups/{GROUP}/intel/new",
            "/events",
            f"/events?view=month&month={test_events.winter_day():%Y-%m}",
            f"/events/{event.id}",
        ):
            page.goto(url)
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            if overflow(page) > 0:
                problems.append(f"{url}: {overflow(page)} px wider than the phone")
            problems += [f"{url}: {small}" for small in page.evaluate(SMALL_TARGETS)]
            if url.endswith("/intel/new"):
                photos = page.locator("input[type=file][name=evidence_files]")
                accept = photos.get_attribute("accept") or ""
                assert "image/*" in accept or "image/jpeg" in accept, accept
                assert photos.get_attribute("capture") is None, "capture forces the camera"
        page.locator("#registration").get_by_role("button", name="Register").tap()
        expect(page.locator("#registration .standing-confirmed")).to_be_visible()
        expect(page.locator("#registration [role=status]")).to_be_visible()
    finally:
        context.close()
    assert problems == [], "on a 375 px phone:\n" + "\n".join(problems)
