"""Signing in, and a brand's sign-in pages, in Simplified Chinese: the login page follows the
browser (or the language switcher's cookie) before anyone is known, a refusal is told in
the person's language but logged in English for the brand's admins."""

from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hub import i18n
from hub.auth import service
from hub.auth.models import LoginEvent
from hub.auth.routes import demo_accounts
from hub.config import Settings
from hub.members.models import ROLE_LABELS, Role
from hub.members.service import any_of_domains
from hub.web import build_environment
from tests import factories
from tests.chinese import CHINESE, reads_chinese, zh
from tests.conftest import TEST_CSRF, ClientAs, World, session_cookie


@pytest.fixture
def anonymous(client: TestClient) -> TestClient:
    """A browser nobody signed in with, asking for Chinese, able to post forms."""
    client.cookies.set("hub_session", session_cookie({"csrf": TEST_CSRF}))
    client.headers["x-csrf-token"] = TEST_CSRF
    client.headers["accept-language"] = "zh-CN,zh;q=0.9,en;q=0.5"
    return client


def test_login_page_follows_the_browser(anonymous: TestClient) -> None:
    """Before sign-in the page speaks the browser's language: headings, labels, button."""
    page = anonymous.get("/login")
    assert page.status_code == 200
    assert '<html lang="zh-Hans">' in page.text
    text = unescape(page.text)
    for message in ("Sign in to Alliance Hub", "Work e-mail", "Continue"):
        assert zh(message) in text
    assert "Sign in to Alliance Hub" not in text


def test_switcher_cookie_wins_over_the_browser(client: TestClient) -> None:
    """The language picked on the sign-in page outweighs an English browser."""
    client.headers["accept-language"] = "en-GB,en;q=0.9"
    assert "Sign in to Alliance Hub" in client.get("/login").text
    client.cookies.set(i18n.LANGUAGE_COOKIE, CHINESE)
    assert zh("Sign in to Alliance Hub") in unescape(client.get("/login").text)


def test_login_refusal_is_in_chinese(anonymous: TestClient, world: World) -> None:
    """An address no brand owns is refused in Chinese, the domain filled in."""
    answer = anonymous.post("/login", data={"email": "kim@nowhere.example"})
    assert answer.status_code == 400
    expected = zh(
        "No member brand signs in with @%(domain)s addresses. Check the address, or ask "
        "your brand's admin which e-mail to use.",
        domain="nowhere.example",
    )
    assert expected in unescape(answer.text)
    empty = anonymous.post("/login", data={"email": ""})
    assert zh("Enter your work e-mail address.") in unescape(empty.text)


def test_demo_accounts_are_labelled_in_the_viewers_language(
    anonymous: TestClient, client: TestClient, world: World, db: Session, settings: Settings
) -> None:
    """The development login page's cheat sheet names each role in the viewer's language,
    though the list was made once, at start-up."""
    state = client.app.state  # type: ignore[attr-defined]
    state.settings = settings.model_copy(update={"dev_idp": True})
    state.demo_accounts = demo_accounts(db)
    text = unescape(anonymous.get("/login").text)
    assert zh("Demo accounts") in text
    assert f"{zh('Alliance admin')}，{world.secretariat.name}" in text
    del anonymous.headers["accept-language"]
    english = anonymous.get("/login").text
    assert f"{ROLE_LABELS[Role.alliance_admin]}, {world.secretariat.name}" in english


def test_refusal_is_told_in_chinese_and_logged_in_english(
    world: World, db: Session, settings: Settings
) -> None:
    """A person reading Chinese is told why in Chinese; the brand's sign-in log (read by
    admins who may not) keeps the English reason."""
    provider = factories.make_provider(
        db, settings, world.brand_a, "https://login.brand-a.example", "cid", "secret"
    )
    db.commit()  # a refusal rolls back what the sign-in did, and only that
    claims = {
        "iss": provider.issuer,
        "sub": "subject-1",
        "email": world.member_a.email,
        "email_verified": False,
    }
    english = "Your identity provider did not confirm that your e-mail address is verified."
    with i18n.presenting(CHINESE), pytest.raises(service.LoginRefused) as refused:
        service.complete_login(db, provider, claims)
    assert refused.value.message == zh(english)
    assert refused.value.reason == english
    logged = db.exec(select(LoginEvent).where(LoginEvent.brand_id == world.brand_a.id)).all()
    assert [event.reason for event in logged] == [english]


def test_development_provider_page_in_chinese(world: World) -> None:
    """The development identity provider's page speaks the browser's language too (it is
    mounted only in development, so its template is rendered here directly)."""
    template = build_environment().get_template("auth/dev_idp.html")
    with i18n.presenting(CHINESE):
        html = template.render(
            brand=world.brand_a,
            params={},
            problem=None,
            people=[world.member_a],
            domains=any_of_domains(["brand-a.example", "brand-a.example.cn"]),
            login_hint="",
        )
    text = unescape(html)
    assert '<html lang="zh-Hans">' in html
    assert zh("Sign in to %(brand)s", brand="Brand A") in text
    assert "@brand-a.example或@brand-a.example.cn" in text  # "or" as Chinese lists it
    assert zh("Sign in") in text and zh("Cancel") in text


def test_sso_page_and_its_form_errors_in_chinese(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """A brand admin who reads Chinese gets the SSO page, and its form's errors, in Chinese."""
    world.admin_a.language = CHINESE
    db.add(world.admin_a)
    db.commit()
    browser = client_as(world.admin_a)
    page = unescape(browser.get("/brands/brand-a/sso").text)
    assert zh("Sign-in (SSO) for %(brand)s", brand="Brand A") in page
    assert zh("Add an identity provider") in page
    refused = browser.post(
        "/brands/brand-a/sso",
        data={"issuer": "not-a-url", "client_id": "", "client_secret": "s", "domains": []},
    )
    assert refused.status_code == 422
    text = unescape(refused.text)
    assert zh("Please correct the marked fields: nothing was saved yet.") in text
    assert (
        zh("Enter the %(what)s as a full URL, like https://login.example.com.", what="issuer")
        in text
    )
    assert zh("Enter the client id the provider gave you.") in text
    assert 'aria-describedby="h-issuer e-issuer"' in refused.text


def test_sso_hints_keep_their_code_in_chinese(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """The protocol's names in the SSO page's hints stay code (as markup, never escaped)
    inside the Chinese sentences."""
    browser = client_as(reads_chinese(db, world.admin_a))
    html = browser.get("/brands/brand-a/sso").text
    for message in (
        "Register the hub as a confidential web application using the authorization code "
        "flow with PKCE, scopes <code>openid email profile</code>.",
        "The hub reads <code>/.well-known/openid-configuration</code> under it.",
        "Trust e-mail addresses from this provider even without <code>email_verified</code> "
        "(only for providers that issue your company's own addresses).",
    ):
        assert zh(message) in html
    assert "&lt;code&gt;" not in html
