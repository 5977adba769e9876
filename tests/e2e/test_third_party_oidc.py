"""Sign-ins that must fail, against real third-party OpenID Connect providers.

The two brands of the `sso_brands` fixture (conftest.py), each with its own node
`oidc-provider` process, registered through the SSO page. Each case goes through a real
Chromium and expects a clear error page, and that nothing was created for the e-mail: no
person, no session. The providers are deliberately loose where a hostile or broken provider
would be: one login yields `email_verified: false`, and a login typed as `x@other.example`
yields exactly that e-mail. A provider that stops, or changes its signing key, is handled too.
"""

import re
import secrets
from collections.abc import Callable, Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import Browser, Page, Response, expect
from sqlmodel import col, func, select

from hub.auth.models import LoginEvent, LoginOutcome, WebSession
from hub.members.models import Person
from tests.e2e.conftest import (
    UNVERIFIED_LOGIN,
    SsoBrand,
    SsoBrands,
    fresh_context,
    hold_callback,
    sign_in_as_alliance_admin,
    with_query,
)
from tests.live import LiveHub

pytestmark = pytest.mark.usefixtures("fresh_login_limits")

NO_LONGER_VALID = "This sign-in link is no longer valid"
STALE_LINK = (
    "This sign-in link is no longer valid (it was used already, has expired, or was started "
    "in another browser). Please sign in again."
)


@pytest.fixture(autouse=True)
def hub_log_stays_clean(hub: LiveHub) -> Iterator[None]:
    """No failure here may reach the hub as an unhandled error (a 500 with a traceback)."""
    offset = hub.log_path.stat().st_size
    yield
    written = hub.log_path.read_bytes()[offset:].decode(errors="replace")
    assert "Traceback" not in written, written
    assert "Internal Server Error" not in written, written


def person(hub: LiveHub, email: str) -> Person | None:
    with hub.session() as session:
        return session.exec(select(Person).where(Person.email == email)).first()


def session_count(hub: LiveHub, email: str) -> int:
    with hub.session() as session:
        return session.exec(
            select(func.count())
            .select_from(WebSession)
            .join(Person, col(Person.id) == WebSession.person_id)
            .where(Person.email == email)
        ).one()


def assert_nothing_created(hub: LiveHub, *emails: str) -> None:
    for email in emails:
        assert person(hub, email) is None, f"{email} was created"
        assert session_count(hub, email) == 0, f"{email} has a session"


def refusals(hub: LiveHub, email: str) -> list[str]:
    """The reasons in the sign-in log for refused sign-ins of `email`."""
    with hub.session() as session:
        return list(
            session.exec(
                select(LoginEvent.reason)
                .where(LoginEvent.email == email, LoginEvent.outcome == LoginOutcome.refused)
                .order_by(col(LoginEvent.id))
            )
        )


def expect_refused(page: Page, response: Response | None, message: str) -> None:
    """The hub's login page, with the reason; a 4xx, never a 500."""
    assert response is not None
    assert response.status == 400, response.status
    expect(page).to_have_title(re.compile(r"^Sign in\b"))
    expect(page.locator("#login-error")).to_contain_text(message)


def expect_signed_in(page: Page, hub: LiveHub, email: str) -> None:
    expect(page).to_have_url(f"{hub.base_url}/")
    expect(page.locator(".flash-success")).to_contain_text(f"Signed in as {email}")


def held_callback_of(page: Page, sso: SsoBrand, login: str) -> str:
    """Sign in at the provider; return the callback URL it sends the browser to, unused."""
    held = hold_callback(page, sso)
    sso.sign_in(page, login)
    return held.url()


def query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def test_tampered_state_is_refused(browser: Browser, hub: LiveHub, sso_brands: SsoBrands) -> None:
    """A callback with a changed state signs nobody in and creates nothing."""
    sso = sso_brands.a
    email = sso.email("wanda")
    context = fresh_context(browser, hub)
    try:
        page = context.new_page()
        callback = held_callback_of(page, sso, "wanda")
        assert query(callback)["state"]

        response = page.goto(with_query(callback, state=secrets.token_urlsafe(32)))
        expect_refused(page, response, f"{NO_LONGER_VALID}. Please sign in again.")
        assert_nothing_created(hub, email)
        assert refusals(hub, email) == [f"{NO_LONGER_VALID}. Please sign in again."]

        # The tampered answer used the sign-in up: the genuine one is refused now too.
        response = page.goto(callback)
        expect_refused(page, response, STALE_LINK)
    finally:
        context.close()
    assert_nothing_created(hub, email)


def test_replayed_callback_is_refused(
    browser: Browser, hub: LiveHub, sso_brands: SsoBrands
) -> None:
    """A callback URL works once; replayed, in any browser, it is refused."""
    sso = sso_brands.a
    email = sso.email("rita")
    context = fresh_context(browser, hub)
    try:
        page = context.new_page()
        callback = held_callback_of(page, sso, "rita")
        page.goto(callback)
        expect_signed_in(page, hub, email)
        assert session_count(hub, email) == 1

        # The same answer again, in the same browser: still signed in, told on the dashboard ...
        page.goto(callback)
        assert page.url == f"{hub.base_url}/"
        expect(page.locator(".flash-error")).to_contain_text("no longer valid")
        assert session_count(hub, email) == 1
    finally:
        context.close()

    # ... and in another browser, which never started a sign-in.
    other = fresh_context(browser, hub)
    try:
        page = other.new_page()
        response = page.goto(callback)
        expect_refused(page, response, STALE_LINK)
        expect(page.locator(".whoami-name")).to_have_count(0)
    finally:
        other.close()
    assert session_count(hub, email) == 1


def test_answer_of_brand_b_provider_is_refused_on_brand_a_callback(
    browser: Browser, hub: LiveHub, sso_brands: SsoBrands
) -> None:
    """Mix-up: B's provider's answer (code, state, iss) replayed to A's callback."""
    a, b = sso_brands.a, sso_brands.b
    b_email, a_email = b.email("bruno"), a.email("alma")
    context = fresh_context(browser, hub)
    try:
        page = context.new_page()
        b_callback = held_callback_of(page, b, "bruno")
        assert query(b_callback)["iss"] == b.node.issuer
        on_a = with_query(b_callback, path=f"/auth/{a.slug}/callback")

        # As it is: this browser's sign-in was with B, so A's callback does not take it.
        response = page.goto(on_a)
        expect_refused(page, response, STALE_LINK)

        # While a sign-in to A is under way in this browser (the setting of a mix-up
        # attack): B's answer names B as its issuer.
        a.start_login(page, "alma")
        expect(page).to_have_url(re.compile(rf"^{re.escape(a.node.issuer)}/interaction/"))
        response = page.goto(on_a)
        expect_refused(page, response, "The answer came from a different identity provider.")

        # Even dressed up as A's answer (A's state, A's issuer), B's code is worth nothing
        # at A's provider.
        with page.expect_request(re.compile(rf"^{re.escape(a.node.issuer)}/auth\?")) as asked:
            a.start_login(page, "alma")
        a_state = query(asked.value.url)["state"]
        response = page.goto(with_query(on_a, state=a_state, iss=a.node.issuer))
        expect_refused(
            page, response, "The sign-in code was expired or already used. Please sign in again."
        )
    finally:
        context.close()
    assert_nothing_created(hub, b_email, a_email)


def test_unverified_email_is_refused(browser: Browser, hub: LiveHub, sso_brands: SsoBrands) -> None:
    """An ID token whose e-mail is not verified signs nobody in."""
    sso = sso_brands.b
    email = sso.email(UNVERIFIED_LOGIN)
    message = "Your identity provider did not confirm that your e-mail address is verified."
    context = fresh_context(browser, hub)
    try:
        page = context.new_page()
        with page.expect_response(re.compile(rf"/auth/{sso.slug}/callback\?")) as answer:
            sso.sign_in(page, UNVERIFIED_LOGIN)
        expect_refused(page, answer.value, message)
        expect(page.get_by_label("Work e-mail")).to_have_value(email)
    finally:
        context.close()
    assert_nothing_created(hub, email)
    assert refusals(hub, email) == [message]


@pytest.mark.parametrize(
    "claimed",
    ["olga@elsewhere.example", "brand-b-admin"],
    ids=["unknown-domain", "brand-b-person"],
)
def test_email_outside_the_brands_domains_is_refused(
    browser: Browser, hub: LiveHub, sso_brands: SsoBrands, claimed: str
) -> None:
    """Brand A's provider vouches for an address that is not A's: one nobody has, or that of
    brand B's admin. A person of brand A can never sign in as brand B."""
    a, b = sso_brands.a, sso_brands.b
    if claimed == "brand-b-admin":
        claimed = b.admin.email
    victim_before = person(hub, b.admin.email)
    assert victim_before is not None
    sessions_before = session_count(hub, b.admin.email)
    message = (
        f"{a.brand.name}'s identity provider signed you in as {claimed}, but that address does "
        f"not belong to {a.brand.name}."
    )
    context = fresh_context(browser, hub)
    try:
        page = context.new_page()
        with page.expect_response(re.compile(rf"/auth/{a.slug}/callback\?")) as answer:
            # Typed at the hub as one of A's people; at A's provider, as `claimed`.
            a.sign_in(page, "mallory", as_login=claimed)
        expect_refused(page, answer.value, message)
    finally:
        context.close()

    assert refusals(hub, claimed) == [message]
    if claimed == b.admin.email:
        victim = person(hub, b.admin.email)
        assert victim is not None
        assert (victim.brand_id, victim.oidc_issuer, victim.oidc_subject) == (
            victim_before.brand_id,
            victim_before.oidc_issuer,
            victim_before.oidc_subject,
        )
        assert session_count(hub, b.admin.email) == sessions_before
    else:
        assert_nothing_created(hub, claimed)
    assert_nothing_created(hub, a.email("mallory"))


def test_cancelled_at_the_provider_creates_nothing(
    browser: Browser, hub: LiveHub, sso_brands: SsoBrands
) -> None:
    """Cancelling at the provider brings a clear message and creates nothing."""
    sso = sso_brands.a
    email = sso.email("carla")
    context = fresh_context(browser, hub)
    try:
        page = context.new_page()
        sso.start_login(page, "carla")
        expect(page).to_have_url(re.compile(rf"^{re.escape(sso.node.issuer)}/interaction/"))
        with page.expect_response(re.compile(rf"/auth/{sso.slug}/callback\?")) as answer:
            page.get_by_role("link", name="[ Cancel ]").click()
        expect_refused(
            page,
            answer.value,
            "The identity provider did not sign you in: End-User aborted interaction",
        )
    finally:
        context.close()
    assert_nothing_created(hub, email)


UNREACHABLE = (
    "We could not reach {brand}'s identity provider just now. Please try again in a minute; "
    "if it keeps happening, tell your brand's admin."
)


@pytest.fixture
def provider_b_comes_back(sso_brands: SsoBrands) -> Iterator[SsoBrand]:
    """Brand B's provider, started again after the test if the test stopped it."""
    yield sso_brands.b
    if not sso_brands.b.node.running:
        sso_brands.b.node.start()


def test_provider_down_during_the_code_exchange(
    browser: Browser, hub: LiveHub, provider_b_comes_back: SsoBrand
) -> None:
    """Down between its login page and the hub's exchange of the code for tokens."""
    sso = provider_b_comes_back
    email = sso.email("dora")
    context = fresh_context(browser, hub)
    try:
        page = context.new_page()
        callback = held_callback_of(page, sso, "dora")
        sso.node.stop()
        response = page.goto(callback)
        expect_refused(
            page, response, "We could not reach your identity provider. Please try again."
        )
        expect(page.get_by_label("Work e-mail")).to_have_value(email)
    finally:
        context.close()
    assert_nothing_created(hub, email)


def test_provider_down_when_the_hub_reads_its_discovery_document(
    browser: Browser, hub: LiveHub, provider_b_comes_back: SsoBrand
) -> None:
    """Down when the hub must read the provider's discovery document: after a change to its
    settings (or in a worker process that has not used it yet)."""
    sso = provider_b_comes_back
    email = sso.email("dina")
    name = f"{sso.brand.name} (node oidc-provider)"
    sso.node.stop()
    admin_context = fresh_context(browser, hub)
    try:
        admin = admin_context.new_page()
        sign_in_as_alliance_admin(admin)
        admin.goto(f"/brands/{sso.slug}/sso/{sso.provider_id}")
        admin.get_by_role("button", name="Test connection").click()
        problems = admin.locator("#check-result .flash-error")
        expect(problems).to_contain_text("The connection has problems:")
        expect(problems.get_by_role("listitem")).to_have_text(
            f"The provider cannot be reached at {sso.node.issuer}/.well-known/"
            "openid-configuration: nothing answers there (connection refused, or the name "
            "does not resolve)."
        )
        admin.get_by_role("button", name="Save settings").click()
        expect(admin.locator(".flash-success")).to_have_text(f"{name} was saved.")
        expect(admin.locator(".page-header .badge")).to_have_text("Switched on")
    finally:
        admin_context.close()

    context = fresh_context(browser, hub)
    try:
        page = context.new_page()
        with page.expect_response(_login_post(hub)) as answer:
            sso.start_login(page, "dina")
        expect_refused(page, answer.value, UNREACHABLE.format(brand=sso.brand.name))
        expect(page.get_by_label("Work e-mail")).to_have_value(email)
        assert_nothing_created(hub, email)

        # Back up: the same sign-in works, with nothing left over from the failure.
        sso.node.start()
        sso.sign_in(page, "dina")
        expect_signed_in(page, hub, email)
        assert session_count(hub, email) == 1
    finally:
        context.close()


def test_provider_down_after_the_hub_has_used_it(
    browser: Browser, hub: LiveHub, provider_b_comes_back: SsoBrand
) -> None:
    """A provider that went down after use is reported on the login page, no 500."""
    sso = provider_b_comes_back
    email = sso.email("dana")
    context = fresh_context(browser, hub)
    try:
        page = context.new_page()
        sso.sign_in(page, "dana")  # the hub has read the provider's metadata now
        expect_signed_in(page, hub, email)
        page.get_by_role("button", name="Sign out").click()
        sso.node.stop()
        with page.expect_response(_login_post(hub)) as answer:
            sso.start_login(page, "dana")
        expect_refused(page, answer.value, UNREACHABLE.format(brand=sso.brand.name))
    finally:
        context.close()


def _login_post(hub: LiveHub) -> Callable[[Response], bool]:
    return lambda r: r.url == f"{hub.base_url}/login" and r.request.method == "POST"


def test_rotated_signing_key_is_fetched_and_sign_in_still_works(
    browser: Browser, hub: LiveHub, sso_brands: SsoBrands
) -> None:
    """After the provider rotates its signing key, sign-in still works (JWKS refetched)."""
    sso = sso_brands.a
    email = sso.email("kai")

    def sign_in() -> None:
        context = fresh_context(browser, hub)
        try:
            page = context.new_page()
            sso.sign_in(page, "kai")
            expect_signed_in(page, hub, email)
        finally:
            context.close()

    # A sign-in first, so the hub holds the provider's current keys.
    sign_in()
    old_kids = sso.node.signing_kids()
    sso.node.restart_with_new_key()
    new_kids = sso.node.signing_kids()
    assert new_kids and set(new_kids).isdisjoint(old_kids)

    # The ID token is now signed with a key the hub has not seen: it fetches the keys again.
    sign_in()
    assert session_count(hub, email) == 2
    assert refusals(hub, email) == []
