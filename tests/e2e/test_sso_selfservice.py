"""Self-service SSO in a real Chromium, against real third-party OpenID Connect providers.

Two brands, each with its own node `oidc-provider` process (tests/e2e/oidc/provider.mjs) on
its own loopback address. Nothing about their providers is written to the database by the
tests: the `sso_brands` fixture (conftest.py) has the alliance admin add each provider on
the brand's "Sign-in (SSO)" page, test the connection, run a test sign-in with an account of
the brand's domain, and switch it on. Here: what that recorded, and that people of each brand
then sign in through their own provider.
"""

import json
import re

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import col, select

from hub.audit import AuditEntry
from hub.auth.models import IdentityProvider, LoginEvent, LoginOutcome, WebSession
from hub.members.models import BrandDomain, Person, Role
from tests.e2e.conftest import (
    ALLIANCE_ADMIN_EMAIL,
    CLIENT_ID,
    SsoBrand,
    SsoBrands,
    fresh_context,
    sign_in_as_alliance_admin,
)
from tests.live import LiveHub

pytestmark = pytest.mark.usefixtures("fresh_login_limits")

BRANDS = ["a", "b"]


def pick(brands: SsoBrands, which: str) -> SsoBrand:
    sso: SsoBrand = getattr(brands, which)
    return sso


@pytest.mark.parametrize("which", BRANDS)
def test_alliance_admin_registered_the_brands_provider(
    hub: LiveHub, sso_brands: SsoBrands, which: str
) -> None:
    """Registering through the SSO page stored the provider as typed, sealed and audited."""
    sso = pick(sso_brands, which)
    tester = sso.email(sso.tester_login)
    with hub.session() as session:
        provider = session.get(IdentityProvider, sso.provider_id)
        assert provider is not None
        assert provider.brand_id == sso.brand.id
        assert provider.issuer == sso.node.issuer
        assert provider.client_id == CLIENT_ID
        assert (provider.admin_claim, provider.admin_value) == ("groups", "brand-admins")
        assert provider.enabled and provider.tested and provider.checked_at is not None
        assert not provider.email_authoritative
        # Encrypted at rest.
        assert sso.node.client_secret not in provider.client_secret_sealed

        domain = session.exec(select(BrandDomain).where(BrandDomain.domain == sso.domain)).one()
        assert domain.provider_id == sso.provider_id

        actions = [
            entry.action
            for entry in session.exec(
                select(AuditEntry)
                .where(
                    AuditEntry.target == f"brand:{sso.slug}",
                    col(AuditEntry.action).startswith("idp."),
                )
                .order_by(col(AuditEntry.id))
            )
        ]
        # In this order (other tests may add more later: checks, changes).
        assert actions[:4] == [
            "idp.added",
            "idp.checked",
            "idp.test_sign_in_passed",
            "idp.enabled",
        ]
        passed = session.exec(
            select(AuditEntry).where(
                AuditEntry.target == f"brand:{sso.slug}",
                AuditEntry.action == "idp.test_sign_in_passed",
            )
        ).one()
        sophie = session.exec(select(Person).where(Person.email == ALLIANCE_ADMIN_EMAIL)).one()
        assert passed.actor_id == sophie.id
        assert json.loads(passed.detail)["signed_in_as"] == tester

        # The test sign-in is in the brand's sign-in log, and signed nobody in.
        event = session.exec(select(LoginEvent).where(LoginEvent.email == tester)).one()
        assert (event.outcome, event.test_only) == (LoginOutcome.success, True)
        assert event.provider_id == sso.provider_id
        assert session.exec(select(Person).where(Person.email == tester)).first() is None


def _assert_on_dashboard(page: Page, hub: LiveHub, sso: SsoBrand, name: str, email: str) -> None:
    expect(page).to_have_url(f"{hub.base_url}/")
    expect(page.locator(".whoami-name")).to_have_text(name)
    expect(page.get_by_role("heading", name=f"Welcome, {name}")).to_be_visible()
    expect(page.locator(".flash-success")).to_have_text(
        f"Signed in as {email} through {sso.brand.name} (node oidc-provider)."
    )
    expect(page.locator("ul.cards").get_by_role("link", name=sso.group.name)).to_be_visible()


@pytest.mark.parametrize(
    ("which", "login", "role"),
    [
        ("a", "nora", Role.member),
        ("a", "admin-ilse", Role.brand_admin),
        ("b", "bram", Role.member),
        ("b", "admin-bo", Role.brand_admin),
    ],
    ids=["a-member", "a-brand-admin", "b-member", "b-brand-admin"],
)
def test_new_person_signs_in_through_their_brands_provider(
    browser: Browser, hub: LiveHub, sso_brands: SsoBrands, which: str, login: str, role: Role
) -> None:
    """Never in the hub before: created at first sign-in, as a brand admin when the
    provider's `groups` claim has "brand-admins" (the rule typed on the SSO page)."""
    sso = pick(sso_brands, which)
    email = sso.email(login)
    with hub.session() as session:
        assert session.exec(select(Person).where(Person.email == email)).first() is None

    context = fresh_context(browser, hub)
    try:
        page = context.new_page()
        sso.sign_in(page, login)
        _assert_on_dashboard(page, hub, sso, login, email)
        manage_people = page.get_by_role("link", name="Manage people")
        expect(manage_people).to_have_count(1 if role == Role.brand_admin else 0)
    finally:
        context.close()

    with hub.session() as session:
        person = session.exec(select(Person).where(Person.email == email)).one()
        sessions = session.exec(select(WebSession).where(WebSession.person_id == person.id)).all()
    assert person.brand_id == sso.brand.id
    assert person.role == role
    assert person.name == login
    assert person.is_active
    assert (person.oidc_issuer, person.oidc_subject) == (sso.node.issuer, login)
    assert person.last_login_at is not None
    assert [s.provider_id for s in sessions] == [sso.provider_id]


@pytest.mark.parametrize("which", BRANDS)
def test_brand_admin_signs_in_and_finds_the_providers_and_sign_in_log(
    browser: Browser, hub: LiveHub, sso_brands: SsoBrands, which: str
) -> None:
    """The brand admin added beforehand signs in for the first time once the provider is
    on, and sees it, and the sign-in log with the alliance admin's test sign-in."""
    sso = pick(sso_brands, which)
    login = sso.admin.email.partition("@")[0]
    context = fresh_context(browser, hub)
    try:
        page = context.new_page()
        sso.sign_in(page, login)
        _assert_on_dashboard(page, hub, sso, sso.admin.name, sso.admin.email)

        page.locator(".whoami-name").click()
        expect(page).to_have_url(re.compile(rf"/brands/{sso.slug}$"))
        page.get_by_role("link", name="Sign-in (SSO)").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            f"Sign-in (SSO) for {sso.brand.name}"
        )
        row = page.locator("tbody tr", has_text=sso.node.issuer)
        expect(row.get_by_role("link")).to_have_text(f"{sso.brand.name} (node oidc-provider)")
        expect(row).to_contain_text(f"@{sso.domain}")
        expect(row.locator(".badge")).to_have_text("Switched on")
        # A brand admin may only use the domains the alliance recorded.
        expect(page.locator("#f-new-domains")).to_have_count(0)

        page.get_by_role("navigation", name="Sign-in settings").get_by_role(
            "link", name="Sign-in log"
        ).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            f"Sign-in log of {sso.brand.name}"
        )
        mine = page.locator("#lines tr", has_text=sso.admin.email)
        expect(mine.first).to_contain_text("Signed in")
        test_line = page.locator("#lines tr", has_text=sso.email(sso.tester_login))
        expect(test_line.locator(".badge").first).to_have_text("test")
        expect(test_line).to_contain_text("Signed in")
    finally:
        context.close()

    with hub.session() as session:
        admin = session.get(Person, sso.admin.id)
        assert admin is not None
    # Known by e-mail, now bound to the provider's account; the role given by the alliance.
    assert (admin.oidc_issuer, admin.oidc_subject) == (sso.node.issuer, login)
    assert admin.role == Role.brand_admin


def test_test_sign_in_as_someone_outside_the_brand_fails_and_changes_nothing(
    browser: Browser, hub: LiveHub, sso_brands: SsoBrands
) -> None:
    """The test sign-in checks what the provider vouches for, as a real sign-in would."""
    sso = sso_brands.a
    outsider = "eve@elsewhere.example"
    message = (
        f"Test sign-in failed: {sso.brand.name}'s identity provider signed you in as "
        f"{outsider}, but that address does not belong to {sso.brand.name}."
    )
    context = fresh_context(browser, hub)
    try:
        page = context.new_page()
        sign_in_as_alliance_admin(page)
        page.goto(f"/brands/{sso.slug}/sso/{sso.provider_id}")
        page.get_by_role("button", name="Run a test sign-in").click()
        sso.node.sign_in(page, outsider)  # the provider vouches for whatever is typed
        expect(page).to_have_url(re.compile(rf"/brands/{sso.slug}/sso(/{sso.provider_id})?$"))
        expect(page.locator(".flash-error")).to_have_text(message)
        # Still signed in to the hub as the alliance admin, nobody else.
        expect(page.locator(".whoami-name")).to_have_text("Sophie Claes")
    finally:
        context.close()

    with hub.session() as session:
        provider = session.get(IdentityProvider, sso.provider_id)
        assert provider is not None and provider.enabled and provider.tested
        assert session.exec(select(Person).where(Person.email == outsider)).first() is None
        event = session.exec(
            select(LoginEvent).where(col(LoginEvent.reason).contains(outsider))
        ).one()
    assert (event.outcome, event.test_only) == (LoginOutcome.refused, True)
    assert event.brand_id == sso.brand.id
