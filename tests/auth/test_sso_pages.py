"""A brand's "Sign-in (SSO)" pages: adding, editing, checking and switching providers, the
sign-in log and the open sessions, driven through the pages as a brand admin would."""

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import RSAKey
from sqlmodel import Session, col, select

from hub.audit import AuditEntry
from hub.auth import providers, service
from hub.auth.clients import ProviderClients
from hub.auth.models import IdentityProvider, LoginEvent, WebSession
from hub.auth.sessions import load_actor
from hub.config import Environment, Settings
from hub.errors import Invalid
from hub.members.models import Brand, BrandDomain, Person, Role
from hub.secretbox import PREFIX, open_sealed
from tests import factories
from tests.conftest import TEST_SECRET, ClientAs, World

SECRET = "plain-client-secret-4fj29x"
# Nothing listens on the discard port.
UNREACHABLE_ISSUER = "http://127.0.0.1:9"


def _form(**changes: Any) -> dict[str, Any]:
    """The "add a provider" form as a brand admin fills it in for brand A."""
    return {
        "name": "Brand A Okta",
        "issuer": "https://login.brand-a.example",
        "client_id": "hub-client",
        "client_secret": SECRET,
        "domains": ["brand-a.example"],
        "admin_claim": "groups",
        "admin_value": "brand-protection-admins",
        **changes,
    }


def _providers_of(db: Session, brand: Brand) -> list[IdentityProvider]:
    db.expire_all()
    return list(
        db.exec(
            select(IdentityProvider)
            .where(IdentityProvider.brand_id == brand.id)
            .order_by(col(IdentityProvider.id))
        )
    )


def _fresh(db: Session, provider: IdentityProvider) -> IdentityProvider:
    db.expire_all()
    fresh = db.get(IdentityProvider, provider.id)
    assert fresh is not None
    return fresh


def _error_text(html: str) -> str:
    return " ".join(unescape(m) for m in re.findall(r'<p class="error"[^>]*>([^<]*)<', html))


# Adding a provider


def test_added_provider_is_saved_off_with_its_secret_encrypted(
    client_as: ClientAs, world: World, db: Session, settings: Settings
) -> None:
    """A provider added through the form is switched off, and its secret is stored only
    encrypted: never in clear, never shown again, never in the audit log."""
    browser = client_as(world.admin_a)
    response = browser.post("/brands/brand-a/sso", data=_form())
    [provider] = _providers_of(db, world.brand_a)
    assert response.status_code == 303
    assert response.headers["location"] == f"/brands/brand-a/sso/{provider.id}"
    assert not provider.enabled and not provider.tested
    assert provider.client_secret_sealed.startswith(PREFIX)
    assert SECRET not in provider.client_secret_sealed
    assert open_sealed(settings, provider.client_secret_sealed) == SECRET
    domain = db.exec(select(BrandDomain).where(BrandDomain.domain == "brand-a.example")).one()
    assert domain.provider_id == provider.id
    detail = browser.get(f"/brands/brand-a/sso/{provider.id}")
    overview = browser.get("/brands/brand-a/sso")
    assert detail.status_code == overview.status_code == 200
    assert "was saved, switched off" in detail.text
    assert SECRET not in detail.text and SECRET not in overview.text
    [entry] = db.exec(select(AuditEntry).where(AuditEntry.action == "idp.added")).all()
    assert SECRET not in entry.detail


def test_pages_show_the_exact_redirect_uri(
    client_as: ClientAs, world: World, db: Session, settings: Settings
) -> None:
    """Both SSO pages show the callback to register: {base_url}/auth/{slug}/callback."""
    provider = factories.make_provider(
        db, settings, world.brand_a, UNREACHABLE_ISSUER, "cid", SECRET, enabled=False
    )
    db.commit()
    browser = client_as(world.admin_a)
    expected = '<code class="copyable">http://testserver/auth/brand-a/callback</code>'
    assert providers.redirect_uri(settings, world.brand_a) == (
        f"{settings.base_url}/auth/brand-a/callback"
    )
    assert expected in browser.get("/brands/brand-a/sso").text
    assert expected in browser.get(f"/brands/brand-a/sso/{provider.id}").text


def test_form_errors_keep_what_was_typed_but_the_secret(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """A refused form answers 422 with the typed values back, except the client secret."""
    response = client_as(world.admin_a).post(
        "/brands/brand-a/sso",
        data=_form(name="Typed Name", issuer="not-a-url", client_id="typed-client-id"),
    )
    assert response.status_code == 422
    assert "Enter the issuer as a full URL" in _error_text(response.text)
    assert 'value="Typed Name"' in response.text
    assert 'value="not-a-url"' in response.text
    assert 'value="typed-client-id"' in response.text
    assert 'value="brand-a.example" checked' in response.text
    assert 'value="groups"' in response.text
    assert 'value="brand-protection-admins"' in response.text
    assert SECRET not in response.text
    assert _providers_of(db, world.brand_a) == []


@pytest.mark.parametrize(
    ("who", "domain", "message"),
    [
        ("admin_a", "unowned.example", "@unowned.example is not one of Brand A's domains"),
        ("admin_a", "brand-b.example", "@brand-b.example belongs to another organisation"),
        ("alliance_admin", "brand-b.example", "@brand-b.example belongs to another organisation"),
    ],
)
def test_domain_outside_the_brand_is_refused(
    who: str, domain: str, message: str, client_as: ClientAs, world: World, db: Session
) -> None:
    """A brand admin cannot claim a domain the brand does not own, and nobody can take
    another brand's domain for it."""
    response = client_as(getattr(world, who)).post(
        "/brands/brand-a/sso", data=_form(domains=["brand-a.example", domain])
    )
    assert response.status_code == 422
    assert message in _error_text(response.text)
    assert _providers_of(db, world.brand_a) == []
    owners = db.exec(select(BrandDomain.brand_id).where(BrandDomain.domain == domain)).all()
    assert world.brand_a.id not in owners


def test_alliance_admin_adds_a_new_domain_through_the_form(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """An alliance admin may give the brand a new domain while adding its provider."""
    response = client_as(world.alliance_admin).post(
        "/brands/brand-a/sso", data=_form(domains=["brand-a.example", "brand-a-shop.example"])
    )
    assert response.status_code == 303
    [provider] = _providers_of(db, world.brand_a)
    added = db.exec(select(BrandDomain).where(BrandDomain.domain == "brand-a-shop.example")).one()
    assert added.brand_id == world.brand_a.id and added.provider_id == provider.id


# Testing, enabling, editing, disabling


def test_enabling_an_untested_provider_is_refused(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """Switching on a provider that has not passed a test sign-in answers 409 and why."""
    client_as(world.admin_a).post("/brands/brand-a/sso", data=_form())
    [provider] = _providers_of(db, world.brand_a)
    response = client_as(world.admin_a).post(f"/brands/brand-a/sso/{provider.id}/enable")
    assert response.status_code == 409
    assert "Run a successful test sign-in" in response.text
    assert not _fresh(db, provider).enabled


@pytest.mark.parametrize(
    ("changes", "still_tested"),
    [
        ({"issuer": "https://other-login.brand-a.example"}, False),
        ({"client_id": "another-client"}, False),
        ({"client_secret": "a-rotated-secret"}, False),
        ({"name": "Brand A Entra ID"}, True),
        ({"admin_claim": "roles", "admin_value": "hub-admins"}, True),
    ],
    ids=["issuer", "client-id", "secret", "name", "role-rule"],
)
def test_editing_the_connection_needs_a_new_test_sign_in(
    changes: dict[str, str],
    still_tested: bool,
    client_as: ClientAs,
    world: World,
    db: Session,
    settings: Settings,
) -> None:
    """Changing the issuer, client id or secret resets "tested"; a new name or role rule
    does not. Every change bumps the version."""
    provider = factories.make_provider(
        db, settings, world.brand_a, "https://login.brand-a.example", "hub-client", SECRET, False
    )
    db.commit()
    assert provider.tested
    form = {**_form(name=provider.name, client_secret="", admin_value="brand-admins"), **changes}
    browser = client_as(world.admin_a)
    response = browser.post(f"/brands/brand-a/sso/{provider.id}", data=form)
    assert response.status_code == 303
    fresh = _fresh(db, provider)
    assert fresh.version == 2
    assert fresh.tested is still_tested
    for name, value in changes.items():
        if name == "client_secret":
            assert open_sealed(settings, fresh.client_secret_sealed) == value
        else:
            assert getattr(fresh, name) == value
    page = browser.get(response.headers["location"]).text
    assert ("run a test sign-in again" in page) is not still_tested


def test_renaming_a_draft_does_not_claim_its_connection_changed(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """Saving a never-tested provider says it was saved, not that a test is needed again."""
    browser = client_as(world.admin_a)
    browser.post("/brands/brand-a/sso", data=_form())
    [provider] = _providers_of(db, world.brand_a)
    browser.get(f"/brands/brand-a/sso/{provider.id}")  # takes the "saved" flash
    response = browser.post(
        f"/brands/brand-a/sso/{provider.id}", data=_form(name="Okta EU", client_secret="")
    )
    assert response.status_code == 303
    page = browser.get(response.headers["location"]).text
    assert "Okta EU was saved." in page
    assert "run a test sign-in again" not in page


def test_edited_provider_gets_a_fresh_oauth_client(
    client_as: ClientAs, world: World, db: Session, settings: Settings
) -> None:
    """A worker's cached OAuth client is rebuilt once the provider's settings change."""
    provider = factories.make_provider(
        db, settings, world.brand_a, "https://login.brand-a.example", "hub-client", SECRET
    )
    db.commit()
    clients = ProviderClients(settings)
    before = clients.get(provider)
    assert clients.get(provider) is before
    client_as(world.admin_a).post(
        f"/brands/brand-a/sso/{provider.id}",
        data=_form(client_id="rotated-client", client_secret="", admin_value="brand-admins"),
    )
    after = clients.get(_fresh(db, provider))
    assert after is not before
    assert (before.client_id, after.client_id) == ("hub-client", "rotated-client")


def test_disable_takes_effect_at_once(
    client_as: ClientAs, world: World, db: Session, settings: Settings
) -> None:
    """Switching a provider off bumps its version, and nobody is sent to it any more."""
    provider = factories.make_provider(
        db, settings, world.brand_a, "https://login.brand-a.example", "hub-client", SECRET
    )
    db.commit()
    assert service.provider_for_email(db, "alma@brand-a.example")[1].id == provider.id
    version_before = provider.version
    response = client_as(world.admin_a).post(f"/brands/brand-a/sso/{provider.id}/disable")
    assert response.status_code == 303
    fresh = _fresh(db, provider)
    assert not fresh.enabled and fresh.version == version_before + 1
    with pytest.raises(Invalid, match="has not switched on a sign-in"):
        service.provider_for_email(db, "alma@brand-a.example")


def test_two_providers_of_one_brand_each_serve_their_own_domain(
    client_as: ClientAs, db: Session, world: World
) -> None:
    """A brand with two subsidiaries' providers sends each domain's people to its own one,
    and neither provider may vouch for the other's people."""
    brand = factories.make_brand(db, "twin-t", domains=["north.example", "south.example"])
    admin = factories.make_person(db, brand, Role.brand_admin, email="boss@north.example")
    db.commit()
    browser = client_as(admin)
    for region in ("north", "south"):
        answer = browser.post(
            "/brands/twin-t/sso",
            data=_form(
                name=f"{region} IdP",
                issuer=f"https://{region}.idp.example",
                domains=[f"{region}.example"],
            ),
        )
        assert answer.status_code == 303
    north, south = _providers_of(db, brand)
    actor = load_actor(db, admin, brand)
    for provider in (north, south):
        providers.record_test_sign_in(db, actor, brand, provider, admin.email)
        assert browser.post(f"/brands/twin-t/sso/{provider.id}/enable").status_code == 303
    db.expire_all()
    assert service.provider_for_email(db, "ana@north.example")[1].id == north.id
    assert service.provider_for_email(db, "sam@south.example")[1].id == south.id
    claims = {"iss": north.issuer, "sub": "1", "email": "sam@south.example", "email_verified": True}
    with pytest.raises(service.LoginRefused, match="through another of"):
        service.vouched_identity(db, brand, _fresh(db, north), claims)


# Test connection, against a provider this test serves itself


SIGNING_KEYS = {"keys": [{**RSAKey.generate_key(2048).as_dict(private=False), "use": "sig"}]}


@dataclass
class DocumentServer:
    """A tiny HTTP server on loopback answering with the JSON documents a test puts here."""

    base_url: str
    documents: dict[str, Any]

    def publish(self, name: str, jwks: Any = None, **changes: Any) -> str:
        """Serve a provider's discovery document (good unless changed; None removes a key)
        and keys under /{name}; return its issuer."""
        issuer = f"{self.base_url}/{name}"
        discovery = {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            **changes,
        }
        self.documents[f"/{name}/.well-known/openid-configuration"] = {
            key: value for key, value in discovery.items() if value is not None
        }
        self.documents[f"/{name}/jwks"] = jwks if jwks is not None else SIGNING_KEYS
        return issuer


@pytest.fixture(scope="module")
def document_server() -> Iterator[DocumentServer]:
    documents: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            document = documents.get(self.path)
            body = json.dumps(document).encode()
            self.send_response(404 if document is None else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield DocumentServer(f"http://127.0.0.1:{server.server_address[1]}", documents)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _check(
    client_as: ClientAs, world: World, db: Session, settings: Settings, issuer: str
) -> tuple[str, IdentityProvider]:
    """Press "Test connection" with htmx; return the fragment and the provider after."""
    provider = factories.make_provider(
        db, settings, world.brand_a, issuer, "hub-client", SECRET, enabled=False
    )
    db.commit()
    response = client_as(world.admin_a).post(
        f"/brands/brand-a/sso/{provider.id}/check", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="check-result"')
    assert "<html" not in response.text
    return unescape(response.text), _fresh(db, provider)


@pytest.mark.parametrize(
    ("case", "changes", "problem"),
    [
        ("unreachable", None, "The provider cannot be reached at http://127.0.0.1:9/"),
        (
            "issuer-mismatch",
            {"issuer": "https://someone-else.example"},
            "The provider calls itself 'https://someone-else.example'",
        ),
        (
            "no-s256",
            {"code_challenge_methods_supported": ["plain"]},
            "The provider does not support PKCE with S256",
        ),
        ("no-jwks-uri", {"jwks_uri": None}, "The discovery document has no jwks_uri"),
        ("jwks-without-keys", {"jwks": {"keys": []}}, "The provider publishes no signing keys"),
    ],
)
def test_check_reports_what_is_wrong_in_plain_words(
    case: str,
    changes: dict[str, Any] | None,
    problem: str,
    document_server: DocumentServer,
    client_as: ClientAs,
    world: World,
    db: Session,
    settings: Settings,
) -> None:
    """The "Test connection" button answers the #check-result fragment naming the one
    problem found, and the provider remembers it."""
    issuer = UNREACHABLE_ISSUER if changes is None else document_server.publish(case, **changes)
    fragment, provider = _check(client_as, world, db, settings, issuer)
    assert "The connection has problems" in fragment
    assert re.findall(r"<li>([^<]*)</li>", fragment) == [provider.check_problems]
    assert problem in provider.check_problems
    assert provider.checked_at is not None


def test_check_of_a_good_provider_finds_nothing_wrong(
    document_server: DocumentServer,
    client_as: ClientAs,
    world: World,
    db: Session,
    settings: Settings,
) -> None:
    """A provider with discovery, S256 and signing keys passes "Test connection"."""
    fragment, provider = _check(client_as, world, db, settings, document_server.publish("good"))
    assert "Connection is fine" in fragment
    assert "problems" not in fragment
    assert provider.checked_at is not None and provider.check_problems == ""


@pytest.mark.parametrize(
    ("issuer", "problem"),
    [
        ("http://login.brand-a.example", "The issuer must use https."),
        ("https://127.0.0.1:8443", "127.0.0.1 points to a private address"),
        ("login.brand-a.example", "Enter the issuer as a full URL"),
    ],
)
def test_production_refuses_issuers_it_should_not_fetch(issuer: str, problem: str) -> None:
    """In production the check refuses plain http and private addresses before any fetch."""
    production = Settings(env=Environment.production, secret_key=TEST_SECRET, dev_idp=False)
    [found] = providers.connection_problems(production, issuer)
    assert found.startswith(problem)


def test_production_will_not_fetch_keys_from_a_private_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In production a jwks_uri pointing inside the network is reported, never fetched."""
    asked: list[str] = []
    issuer = "https://8.8.8.8"  # a public address written as such: no DNS look-up

    def provider(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        discovery = {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": "https://169.254.169.254/latest/meta-data",
        }
        return httpx.Response(200, json=discovery)

    real_client = httpx.Client
    monkeypatch.setattr(
        httpx, "Client", lambda **kw: real_client(transport=httpx.MockTransport(provider), **kw)
    )
    production = Settings(env=Environment.production, secret_key=TEST_SECRET, dev_idp=False)
    assert providers.connection_problems(production, issuer) == [
        "169.254.169.254 points to a private address; use the public jwks_uri."
    ]
    assert asked == [f"{issuer}/.well-known/openid-configuration"]


# The sign-in log


def test_sign_in_log_lists_attempts_newest_first_and_pages(
    client_as: ClientAs, world: World, db: Session, settings: Settings
) -> None:
    """The log shows the brand's attempts newest first, the reason for refusals, and pages
    back through ?before=."""
    provider = factories.make_provider(
        db, settings, world.brand_a, UNREACHABLE_ISSUER, "cid", SECRET
    )
    brand_id = world.brand_a.id or 0
    for number in range(52):
        service.log_attempt(
            db, brand_id, provider.id, f"signer-{number:03}@brand-a.example", "", "192.0.2.1"
        )
    service.log_attempt(
        db,
        brand_id,
        provider.id,
        "late@brand-a.example",
        "Your identity provider did not confirm that your e-mail address is verified.",
        "192.0.2.2",
    )
    service.log_attempt(db, world.brand_b.id or 0, None, "other@brand-b.example", "", "192.0.2.3")
    db.commit()
    browser = client_as(world.admin_a)

    first = browser.get("/brands/brand-a/sign-ins")
    assert first.status_code == 200
    shown = re.findall(r"(signer-\d+|late|other)@", first.text)
    assert shown == ["late"] + [f"signer-{n:03}" for n in range(51, 2, -1)]
    assert "Refused</span> Your identity provider did not confirm" in first.text
    assert "Brand A sign-in" in first.text
    match = re.search(r'href="\?before=(\d+)"', first.text)
    assert match is not None

    second = browser.get(f"/brands/brand-a/sign-ins?before={match.group(1)}")
    assert re.findall(r"(signer-\d+|late|other)@", second.text) == [
        "signer-002",
        "signer-001",
        "signer-000",
    ]
    assert "?before=" not in second.text


def test_sign_in_log_fragment_for_htmx(client_as: ClientAs, world: World, db: Session) -> None:
    """With htmx, the log answers only its rows, for "Older sign-ins" to append."""
    service.log_attempt(db, world.brand_a.id or 0, None, "solo@brand-a.example", "", "")
    db.commit()
    response = client_as(world.admin_a).get(
        "/brands/brand-a/sign-ins", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith("<tr>") and "<html" not in response.text
    assert "solo@brand-a.example" in response.text


def test_sign_in_log_is_hidden_from_another_brand(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """Another brand's admin gets 404 for the log, and sees none of its lines."""
    service.log_attempt(db, world.brand_a.id or 0, None, "secret@brand-a.example", "", "")
    db.commit()
    response = client_as(world.admin_c).get("/brands/brand-a/sign-ins")
    assert response.status_code == 404
    assert "secret@brand-a.example" not in response.text
    assert db.exec(select(LoginEvent)).first() is not None


# Open sessions


def _session_ids(db: Session, person: Person) -> list[int]:
    db.expire_all()
    rows = db.exec(select(WebSession).where(WebSession.person_id == person.id)).all()
    return [row.id for row in rows if row.id is not None]


def _revoked(db: Session, session_id: int) -> bool:
    db.expire_all()
    row = db.get(WebSession, session_id)
    assert row is not None
    return row.revoked_at is not None


def _signed_out(browser: TestClient) -> bool:
    answer = browser.get("/")
    return bool(answer.status_code == 303 and answer.headers["location"] == "/login")


def test_open_sessions_page_lists_the_brands_sessions(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """The page lists every open session of the brand's people, and no one else's."""
    client_as(world.member_a)
    client_as(world.member_b)
    page = client_as(world.admin_a).get("/brands/brand-a/sessions")
    assert page.status_code == 200
    assert "Alma Member" in page.text and world.member_a.email in page.text
    assert "Ada Admin" in page.text and "this browser" in page.text
    assert "Ben Member" not in page.text
    [member_session] = _session_ids(db, world.member_a)
    assert f"/sessions/{member_session}/end" in page.text


def test_ending_one_session_signs_out_that_browser_only(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """Ending one session revokes its row; that browser is sent to /login, the person's
    other browser stays signed in."""
    laptop = client_as(world.member_a)
    [laptop_session] = _session_ids(db, world.member_a)
    phone = client_as(world.member_a)
    response = client_as(world.admin_a).post(f"/brands/brand-a/sessions/{laptop_session}/end")
    assert response.status_code == 303
    assert response.headers["location"] == "/brands/brand-a/sessions"
    assert _revoked(db, laptop_session)
    assert _signed_out(laptop)
    assert phone.get("/").status_code == 200


def test_session_of_another_brand_cannot_be_ended(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """A brand admin cannot end another brand's session through their own brand's page."""
    other = client_as(world.member_c)
    [other_session] = _session_ids(db, world.member_c)
    response = client_as(world.admin_a).post(f"/brands/brand-a/sessions/{other_session}/end")
    assert response.status_code == 404
    assert not _revoked(db, other_session)
    assert other.get("/").status_code == 200


def test_sign_out_everywhere_ends_every_session_of_the_person(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """Signing a person out everywhere revokes all of one person's sessions and nobody else's."""
    laptop, phone = client_as(world.member_a), client_as(world.member_a)
    admin = client_as(world.admin_a)
    response = admin.post(f"/brands/brand-a/people/{world.member_a.id}/sign-out")
    assert response.status_code == 303
    assert all(_revoked(db, each) for each in _session_ids(db, world.member_a))
    assert _signed_out(laptop) and _signed_out(phone)
    assert admin.get("/brands/brand-a/sessions").status_code == 200


def test_sign_out_the_whole_brand(client_as: ClientAs, world: World, db: Session) -> None:
    """Signing out the whole brand revokes every session of its people, the admin's own
    included, and leaves other brands signed in."""
    member, admin = client_as(world.member_a), client_as(world.admin_a)
    outsider = client_as(world.member_b)
    response = admin.post("/brands/brand-a/sessions/end-all")
    assert response.status_code == 303
    for person in (world.member_a, world.admin_a):
        assert all(_revoked(db, each) for each in _session_ids(db, person))
    assert _signed_out(member) and _signed_out(admin)
    assert outsider.get("/").status_code == 200
    assert not any(_revoked(db, each) for each in _session_ids(db, world.member_b))


def test_ending_a_session_with_htmx_redraws_the_list(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """With htmx, ending a session answers the #sessions fragment without that session."""
    client_as(world.member_a)
    [member_session] = _session_ids(db, world.member_a)
    response = client_as(world.admin_a).post(
        f"/brands/brand-a/sessions/{member_session}/end", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and "<html" not in response.text
    assert "One of Alma Member" in unescape(response.text)
    assert f"/sessions/{member_session}/end" not in response.text
    assert _revoked(db, member_session)


def test_dangerous_buttons_ask_before_acting(
    client_as: ClientAs, world: World, db: Session, settings: Settings
) -> None:
    """Each form with a confirmation also posts through htmx, which is what shows it
    (htmx ignores hx-confirm on a plain form)."""
    provider = factories.make_provider(
        db, settings, world.brand_a, UNREACHABLE_ISSUER, "cid", SECRET
    )
    db.commit()
    client_as(world.member_a)
    admin = client_as(world.admin_a)
    sessions_page = admin.get("/brands/brand-a/sessions").text
    provider_page = admin.get(f"/brands/brand-a/sso/{provider.id}").text
    confirming = re.findall(r"<form[^>]*hx-confirm[^>]*>", sessions_page + provider_page)
    assert len(confirming) == 4  # end-all, two "sign out everywhere", switch off
    assert all("hx-post=" in form for form in confirming)


def test_signing_out_the_brand_with_htmx_redraws_the_list(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """With htmx, "sign out everyone" answers the emptied #sessions fragment."""
    client_as(world.member_a)
    response = client_as(world.alliance_admin).post(
        "/brands/brand-a/sessions/end-all", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and "<html" not in response.text
    assert "Everyone at Brand A is signed out (1 session)." in unescape(response.text)
    assert "Nobody from Brand A is signed in right now." in response.text
