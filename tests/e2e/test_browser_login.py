"""Signing in and managing people in a real Chromium, against a live hub with the demo data.

The login runs the real code end to end: home realm discovery at /login, a redirect to the
brand's (development) identity provider, the callback, a session. htmx changes are checked to
happen in place (no page load), and the same changes are checked to work without JavaScript.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, expect
from sqlmodel import col, select

from hub.groups.models import GroupMembership, WorkingGroup
from hub.members.models import Brand, OrgKind, Person, Role
from tests.e2e.test_events import screenshot_dir
from tests.live import LiveHub


@dataclass
class AdminCase:
    """A demo brand admin, their brand, its working groups, and two of its members."""

    admin: Person
    brand: Brand
    groups: list[WorkingGroup]
    members: list[Person]


def admin_cases(hub: LiveHub) -> list[AdminCase]:
    """Every demo brand whose admin can be used here: in a group, with two active members."""
    cases: list[AdminCase] = []
    with hub.session() as session:
        rows = session.exec(
            select(Person, Brand)
            .join(Brand, col(Brand.id) == Person.brand_id)
            .where(
                Person.role == Role.brand_admin,
                col(Person.is_active).is_(True),
                Brand.kind == OrgKind.brand,
                col(Brand.is_active).is_(True),
            )
            .order_by(col(Person.id))
        ).all()
        for admin, brand in rows:
            groups = list(
                session.exec(
                    select(WorkingGroup)
                    .join(GroupMembership, col(GroupMembership.group_id) == WorkingGroup.id)
                    .where(GroupMembership.brand_id == brand.id)
                    .order_by(WorkingGroup.name)
                )
            )
            members = list(
                session.exec(
                    select(Person)
                    .where(
                        Person.brand_id == brand.id,
                        Person.role == Role.member,
                        col(Person.is_active).is_(True),
                    )
                    .order_by(col(Person.id))
                )
            )
            if groups and len(members) >= 2:
                cases.append(AdminCase(admin, brand, groups, members[:2]))
    assert len(cases) >= 3, "the demo data should have several brands with an admin and members"
    return cases


def person_in_db(hub: LiveHub, person_id: int) -> Person:
    with hub.session() as session:
        person = session.get(Person, person_id)
        assert person is not None
        return person


def now_brand_admin(person: Person) -> re.Pattern[str]:
    """The confirmation after a role change, whatever its exact wording."""
    return re.compile(rf"^{re.escape(person.name)}\b.*\bbrand admin\b", re.IGNORECASE)


def sign_in_through_dev_idp(page: Page, case: AdminCase) -> None:
    page.goto("/login")
    page.get_by_label("Work e-mail").fill(case.admin.email)
    page.get_by_role("button", name="Continue").click()
    # The brand's own (development) identity provider, with the e-mail carried over.
    expect(page).to_have_url(re.compile(rf"/dev-idp/{case.brand.slug}/authorize\?"))
    expect(page.get_by_role("heading", name=f"Sign in to {case.brand.name}")).to_be_visible()
    expect(page.locator("#f-email")).to_have_value(case.admin.email)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"^http://127\.0\.0\.1:\d+/$"))


def test_brand_admin_signs_in_and_manages_people(page: Page, hub: LiveHub, tmp_path: Path) -> None:
    """A brand admin signs in through the development provider and manages people inline."""
    case = admin_cases(hub)[0]
    promoted, leaver = case.members

    sign_in_through_dev_idp(page, case)
    expect(page.locator(".whoami-name")).to_have_text(case.admin.name)
    expect(page.get_by_role("heading", name=f"Welcome, {case.admin.name}")).to_be_visible()
    expect(page.locator(".flash-success")).to_contain_text(case.admin.email)
    cards = page.locator("ul.cards .card h3")
    expect(cards).to_have_count(len(case.groups))
    for group in case.groups:
        expect(page.locator("ul.cards").get_by_role("link", name=group.name)).to_be_visible()

    # A group's board, its about page, then the brand's profile, then the dashboard.
    group = case.groups[0]
    page.locator("ul.cards").get_by_role("link", name=group.name).click()
    expect(page).to_have_url(re.compile(rf"/groups/{group.slug}/intel$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(group.name)
    page.get_by_role("link", name=group.name).first.click()
    expect(page).to_have_url(re.compile(rf"/groups/{group.slug}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(group.name)
    expect(page.get_by_text("Your brand is a member")).to_be_visible()
    expect(page.get_by_role("link", name=case.brand.name).first).to_be_visible()

    page.locator(".whoami-name").click()
    expect(page).to_have_url(re.compile(rf"/brands/{case.brand.slug}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(case.brand.name)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name=f"Welcome, {case.admin.name}")).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(screenshot_dir(tmp_path) / "dashboard-signed-in.png"))

    page.get_by_role("link", name="Manage people").click()
    expect(page).to_have_url(re.compile(rf"/brands/{case.brand.slug}/people$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"People of {case.brand.name}")

    # A marker on window survives only if no page load happens: htmx swaps the row in place.
    page.evaluate("window.__noReload = 'still here'")
    row = page.locator(f"#person-{promoted.id}")
    row.get_by_label(f"Role of {promoted.name}", exact=True).select_option("brand_admin")
    expect(row.locator(".inline-message")).to_have_text(now_brand_admin(promoted))
    expect(row.get_by_label(f"Role of {promoted.name}", exact=True)).to_have_value("brand_admin")
    assert page.evaluate("window.__noReload") == "still here"
    assert person_in_db(hub, promoted.id or 0).role == Role.brand_admin

    row = page.locator(f"#person-{leaver.id}")
    dialogs: list[str] = []

    def accept(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    row.get_by_role("button", name="Deactivate").click()
    expect(row.locator(".badge")).to_have_text("Deactivated")
    expect(row).to_have_class(re.compile(r"\brow-inactive\b"))
    expect(row.locator(".inline-message")).to_have_text(
        re.compile(rf"{re.escape(leaver.name)}.*deactivated", re.IGNORECASE)
    )
    assert len(dialogs) == 1 and dialogs[0].startswith(f"Deactivate {leaver.name}?")
    assert page.evaluate("window.__noReload") == "still here"
    assert person_in_db(hub, leaver.id or 0).is_active is False

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator(".flash-success")).to_have_text(re.compile("signed out", re.IGNORECASE))
    expect(page.locator(".whoami-name")).to_have_count(0)
    # Signed out for real: the dashboard sends us back to the login page.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_unknown_email_domain_is_refused_on_the_login_page(page: Page) -> None:
    """An unknown e-mail domain is refused on the login page, the address kept."""
    page.goto("/login")
    page.get_by_label("Work e-mail").fill("someone@not-a-member.example")
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("alert")).to_contain_text(
        "No member brand signs in with @not-a-member.example addresses"
    )
    expect(page.get_by_label("Work e-mail")).to_have_value("someone@not-a-member.example")
    expect(page.get_by_label("Work e-mail")).to_have_attribute("aria-invalid", "true")


def test_sign_in_and_change_a_role_without_javascript(browser: Browser, hub: LiveHub) -> None:
    """Without JavaScript, signing in and changing a role work through plain forms."""
    case = admin_cases(hub)[1]
    promoted = case.members[0]
    context = browser.new_context(
        base_url=hub.base_url, java_script_enabled=False, viewport={"width": 1280, "height": 800}
    )
    try:
        page = context.new_page()
        sign_in_through_dev_idp(page, case)
        expect(page.locator(".whoami-name")).to_have_text(case.admin.name)

        page.goto(f"/brands/{case.brand.slug}/people")
        row = page.locator(f"#person-{promoted.id}")
        row.get_by_label(f"Role of {promoted.name}", exact=True).select_option("brand_admin")
        row.get_by_role("button", name="Save").click()
        # Post/redirect/get: back on the people page, with the message as a flash.
        expect(page).to_have_url(re.compile(rf"/brands/{case.brand.slug}/people$"))
        expect(page.locator(".flash-success")).to_have_text(now_brand_admin(promoted))
        expect(
            page.locator(f"#person-{promoted.id}").get_by_label(
                f"Role of {promoted.name}", exact=True
            )
        ).to_have_value("brand_admin")
        assert person_in_db(hub, promoted.id or 0).role == Role.brand_admin
    finally:
        context.close()


def test_dashboard_has_no_console_errors_or_csp_violations(page: Page, hub: LiveHub) -> None:
    """The dashboard loads htmx with no console error and no CSP violation."""
    case = admin_cases(hub)[2]
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    # A listener installed before any page script: CSP violations also raise this event.
    page.add_init_script(
        "window.__csp = [];"
        "document.addEventListener('securitypolicyviolation', e =>"
        " window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    sign_in_through_dev_idp(page, case)
    expect(page.get_by_role("heading", name=f"Welcome, {case.admin.name}")).to_be_visible()
    page.wait_for_load_state("networkidle")
    # htmx loaded and ran (it is served from /static/vendor, allowed by the CSP).
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.evaluate("window.__csp") == []
    assert errors == []
