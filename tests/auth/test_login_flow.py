"""Signing in through a brand's OpenID Connect provider, and every way it must fail safely.

These run against a live hub and its development identity provider over real HTTP, so
the authlib client, discovery, PKCE, the token call and ID token checks all really run.
"""

import base64
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
from sqlmodel import col, select

from hub.audit import AuditEntry
from hub.auth.models import WebSession
from hub.members.models import Brand, Person, Role
from tests import factories
from tests.databases import throwaway_database
from tests.live import LiveHub, live_hub

BRAND = "maison-verrault"
DOMAIN = "maison-verrault.example"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    tmp = tmp_path_factory.mktemp("live")
    with throwaway_database(tmp) as url, live_hub(tmp, url) as running:
        yield running


class Browser:
    """Just enough of a browser: a cookie jar, forms posted with their CSRF token."""

    def __init__(self, hub: LiveHub) -> None:
        self.http = httpx.Client(base_url=hub.base_url, follow_redirects=False, timeout=10)

    def csrf(self, path: str = "/login") -> str:
        page = self.http.get(path)
        if page.status_code == 303:  # signed in already: /login sends us on
            page = self.http.get(page.headers["location"])
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert match, "the page has no CSRF token"
        return match.group(1)

    def start_login(self, email: str) -> httpx.Response:
        return self.http.post("/login", data={"email": email, "csrf_token": self.csrf()})

    def authorize(self, login_email: str, **overrides: str) -> str:
        """Go to the provider, sign in there, and return the callback URL it sends back."""
        started = self.start_login(login_email)
        assert started.status_code == 302, started.text
        page = self.http.get(started.headers["location"])
        fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        fields.update({"email": login_email, "decision": "allow", **overrides})
        action = urlparse(started.headers["location"]).path
        answer = self.http.post(action, data=fields)
        assert answer.status_code == 303
        return answer.headers["location"]

    def sign_in(self, login_email: str, **overrides: str) -> httpx.Response:
        return self.http.get(self.authorize(login_email, **overrides))


@pytest.fixture
def new(hub: LiveHub) -> Iterator[Callable[[], Browser]]:
    """Opens as many independent browsers as a test needs, and closes them after."""
    opened: list[Browser] = []

    def open_browser() -> Browser:
        opened.append(Browser(hub))
        return opened[-1]

    yield open_browser
    for each in opened:
        each.http.close()


NewBrowser = Callable[[], Browser]


def people_named(hub: LiveHub, email: str) -> list[Person]:
    with hub.session() as session:
        return list(session.exec(select(Person).where(Person.email == email)))


def test_sign_in_and_out(hub: LiveHub, new: NewBrowser) -> None:
    """A demo brand admin signs in through their brand's provider and out again."""
    browser = new()
    before = browser.http.cookies.get("hub_session")
    done = browser.sign_in(f"elodie.moreau@{DOMAIN}")
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert browser.http.cookies.get("hub_session") != before
    dashboard = browser.http.get("/")
    assert dashboard.status_code == 200 and "Élodie Moreau" in dashboard.text
    cookie = done.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie

    stolen_cookie = browser.http.cookies.get("hub_session")
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', dashboard.text)
    assert csrf
    out = browser.http.post("/logout", data={"csrf_token": csrf.group(1)})
    assert out.headers["location"] == "/login"
    # The old cookie is worthless once signed out: the server-side row is revoked.
    thief = new().http
    thief.cookies.set("hub_session", stolen_cookie or "")
    replay = thief.get("/")
    assert replay.status_code == 303 and replay.headers["location"] == "/login"


def test_login_uses_pkce_state_and_nonce(hub: LiveHub, new: NewBrowser) -> None:
    """The redirect to the provider carries S256 PKCE, state, nonce and the per-brand callback."""
    browser = new()
    started = browser.start_login(f"elodie.moreau@{DOMAIN}")
    query = parse_qs(urlparse(started.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"][0] and query["nonce"][0] and query["code_challenge"][0]
    assert query["redirect_uri"] == [f"{hub.base_url}/auth/{BRAND}/callback"]
    assert started.headers["location"].startswith(f"{hub.base_url}/dev-idp/{BRAND}/authorize")


def test_unknown_domain_keeps_email(hub: LiveHub, new: NewBrowser) -> None:
    """An e-mail whose domain no brand owns is refused on the page, the address kept."""
    answer = new().start_login("someone@nowhere-brand.example")
    assert answer.status_code == 400
    assert "No member brand signs in with @nowhere-brand.example" in answer.text
    assert 'value="someone@nowhere-brand.example"' in answer.text


def test_login_without_csrf_token_is_refused(hub: LiveHub, new: NewBrowser) -> None:
    """The login form itself is protected against cross-site posts."""
    answer = new().http.post("/login", data={"email": f"x@{DOMAIN}"})
    assert answer.status_code == 403


def test_first_login_creates_member_just_in_time(hub: LiveHub, new: NewBrowser) -> None:
    """A new address at the brand's domain becomes a member; the admin group, a brand admin."""
    new().sign_in(f"new.person@{DOMAIN}", name="New Person")
    new().sign_in(f"new.admin@{DOMAIN}", name="New Admin", groups="brand-admins")
    assert [p.role for p in people_named(hub, f"new.person@{DOMAIN}")] == [Role.member]
    assert [p.role for p in people_named(hub, f"new.admin@{DOMAIN}")] == [Role.brand_admin]


def test_tampered_state_is_refused_and_creates_nothing(hub: LiveHub, new: NewBrowser) -> None:
    """A callback whose state was changed signs nobody in and creates no person."""
    browser = new()
    callback = browser.authorize(f"tampered@{DOMAIN}")
    forged = re.sub(r"state=[^&]+", "state=forged", callback)
    answer = browser.http.get(forged)
    assert answer.status_code == 400
    assert "no longer valid" in answer.text
    assert people_named(hub, f"tampered@{DOMAIN}") == []
    assert browser.http.get("/").status_code == 303


def test_replayed_callback_is_refused(hub: LiveHub, new: NewBrowser) -> None:
    """The same callback URL works once; the second time it is refused."""
    browser = new()
    callback = browser.authorize(f"elodie.moreau@{DOMAIN}")
    assert browser.http.get(callback).status_code == 303
    again = browser.http.get(callback)
    # Signed in by the first visit: the refusal is shown on the dashboard.
    assert again.status_code == 303 and again.headers["location"] == "/"
    assert "no longer valid" in browser.http.get("/").text
    stranger = new()
    replay = stranger.http.get(callback)
    assert replay.status_code == 400 and "no longer valid" in replay.text


def test_used_code_is_refused_in_a_new_login(hub: LiveHub, new: NewBrowser) -> None:
    """An authorization code that was already exchanged cannot sign anyone in again."""
    first_browser = new()
    first = first_browser.authorize(f"elodie.moreau@{DOMAIN}")
    assert first_browser.http.get(first).status_code == 303
    browser = new()
    second = browser.authorize(f"elodie.moreau@{DOMAIN}")
    old_code = parse_qs(urlparse(first).query)["code"][0]
    replay = re.sub(r"code=[^&]+", f"code={old_code}", second)
    answer = browser.http.get(replay)
    assert answer.status_code == 400
    assert "expired or already used" in answer.text


def test_wrong_issuer_in_response_is_refused(hub: LiveHub, new: NewBrowser) -> None:
    """An authorization response naming another issuer (RFC 9207) is refused."""
    browser = new()
    callback = browser.authorize(f"wrong.iss@{DOMAIN}")
    other = f"{hub.base_url}/dev-idp/kestrel-audio"
    forged = re.sub(r"iss=[^&]+", urlencode({"iss": other}), callback)
    answer = browser.http.get(forged)
    assert answer.status_code == 400
    assert "different identity provider" in answer.text
    assert people_named(hub, f"wrong.iss@{DOMAIN}") == []


def test_nonce_mismatch_is_refused(hub: LiveHub, new: NewBrowser) -> None:
    """An ID token carrying another login's nonce is refused."""
    browser = new()
    answer = browser.sign_in(f"nonce.mismatch@{DOMAIN}", nonce="not-the-one-we-sent")
    assert answer.status_code == 400
    assert "nonce" in answer.text
    assert people_named(hub, f"nonce.mismatch@{DOMAIN}") == []


def test_denied_at_provider(hub: LiveHub, new: NewBrowser) -> None:
    """Cancelling at the provider brings the person back with a clear message."""
    browser = new()
    answer = browser.http.get(browser.authorize(f"elodie.moreau@{DOMAIN}", decision="deny"))
    assert answer.status_code == 400
    assert "did not sign you in" in answer.text


def test_deactivated_person_cannot_sign_in(hub: LiveHub, new: NewBrowser) -> None:
    """A deactivated person is refused at the callback, with the reason."""
    with hub.session() as session:
        person = session.exec(
            select(Person).where(
                col(Person.is_active).is_(False), col(Person.email).like("%.example")
            )
        ).first()
        assert person is not None
        email = person.email
    answer = new().sign_in(email)
    assert answer.status_code == 400
    assert "deactivated" in answer.text


def test_other_brands_domain_from_this_provider_is_refused(hub: LiveHub, new: NewBrowser) -> None:
    """A provider vouching for an address of another brand's domain signs nobody in."""
    browser = new()
    answer = browser.sign_in(f"elodie.moreau@{DOMAIN}", email="intruder@kestrel-audio.example")
    assert answer.status_code == 400
    assert "does not belong to" in answer.text
    assert people_named(hub, "intruder@kestrel-audio.example") == []


def test_login_creates_one_server_side_session(hub: LiveHub, new: NewBrowser) -> None:
    """Each sign-in stores one session row, holding only a hash of the cookie's token."""
    with hub.session() as session:
        before = len(session.exec(select(WebSession)).all())
    new().sign_in(f"elodie.moreau@{DOMAIN}")
    with hub.session() as session:
        rows = session.exec(select(WebSession).order_by(col(WebSession.id))).all()
    assert len(rows) == before + 1
    assert len(rows[-1].token_hash) == 64


def test_sign_ins_and_refusals_are_audited_without_any_secret(
    hub: LiveHub, new: NewBrowser
) -> None:
    """Both outcomes reach the audit log under the brand, with the address they came from;
    the code, the state and the session token appear neither there nor in the hub's log."""
    browser = new()
    callback = browser.authorize(f"audited.person@{DOMAIN}")
    answer = parse_qs(urlparse(callback).query)
    assert browser.http.get(callback).status_code == 303
    cookie = browser.http.cookies.get("hub_session") or ""
    token = json.loads(base64.b64decode(cookie.split(".")[0]))["sid"]
    refused = new().sign_in(f"audited.person@{DOMAIN}", decision="deny")
    assert refused.status_code == 400

    with hub.session() as session:
        brand = session.exec(select(Brand).where(Brand.slug == BRAND)).one()
        entries = session.exec(
            select(AuditEntry)
            .where(col(AuditEntry.action).startswith("auth."))
            .order_by(col(AuditEntry.id).desc())
        ).all()
    signed_in, refusal = entries[1], entries[0]
    assert (signed_in.action, refusal.action) == ("auth.signed_in", "auth.sign_in_refused")
    assert signed_in.brand_id == refusal.brand_id == brand.id
    assert signed_in.ip == refusal.ip == "127.0.0.1"
    assert signed_in.actor_label == f"audited.person@{DOMAIN}"
    assert "did not sign you in" in refusal.detail

    recorded = Path(hub.log_path).read_text() + "".join(
        f"{e.actor_label} {e.target} {e.detail}" for e in entries
    )
    for secret in (answer["code"][0], answer["state"][0], token):
        assert secret not in recorded


def test_signing_in_again_ends_the_browsers_earlier_session(hub: LiveHub, new: NewBrowser) -> None:
    browser = new()
    browser.sign_in(f"second.login@{DOMAIN}")
    first = browser.http.cookies.get("hub_session") or ""
    browser.sign_in(f"second.login@{DOMAIN}")
    assert browser.http.get("/").status_code == 200
    replay = new().http
    replay.cookies.set("hub_session", first)
    answer = replay.get("/")
    assert answer.status_code == 303 and answer.headers["location"] == "/login"


def test_hub_log_has_no_tracebacks(hub: LiveHub) -> None:
    """None of the refused logins above crashed the server."""
    log = Path(hub.log_path).read_text()
    assert "Traceback" not in log


def _brand_with_provider(hub: LiveHub, slug: str, issuer: str) -> None:
    with hub.session() as session:
        brand = factories.make_brand(session, slug, name=slug.title())
        factories.make_provider(session, hub.settings, brand, issuer, f"hub-dev-{slug}", "secret")
        session.commit()


def test_unreachable_provider_is_explained(hub: LiveHub, new: NewBrowser) -> None:
    """When the brand's provider does not answer, the login page says so and keeps the e-mail."""
    _brand_with_provider(hub, "offline-brand", "http://127.0.0.1:9")
    answer = new().start_login("ann@offline-brand.example")
    assert answer.status_code == 400
    assert "could not reach Offline-Brand" in answer.text
    assert 'value="ann@offline-brand.example"' in answer.text


def test_provider_claiming_another_issuer_is_not_trusted(hub: LiveHub, new: NewBrowser) -> None:
    """Discovery that names a different issuer than configured stops the login (mix-up)."""
    port = urlparse(hub.base_url).port
    _brand_with_provider(hub, "mixup-brand", f"http://localhost:{port}/dev-idp/maison-verrault")
    answer = new().start_login("ann@mixup-brand.example")
    assert answer.status_code == 400
    assert "different issuer" in answer.text
