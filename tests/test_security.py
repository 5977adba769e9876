"""Guards every page shares: CSRF, security headers, cookies, error pages, redirects,
and the settings production refuses."""

import base64
import json
import re
from datetime import timedelta
from html import unescape

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine
from sqlmodel import Session, select

from hub.app import create_app
from hub.auth import sessions
from hub.auth.models import WebSession
from hub.clock import utcnow
from hub.config import DEFAULT_SECRET_KEY, Environment, Settings
from hub.members.models import Person
from tests.conftest import TEST_CSRF, ClientAs, World, session_cookie

NEW_PERSON = {"name": "Nova Newcomer", "email": "nova@brand-a.example", "role": "member"}


def _nova_saved(db: Session) -> bool:
    db.expire_all()
    return db.exec(select(Person).where(Person.email == NEW_PERSON["email"])).first() is not None


def test_post_without_csrf_token_is_refused(client_as: ClientAs, world: World, db: Session) -> None:
    """A form post with neither the CSRF field nor the header gets 403 and saves nothing."""
    browser = client_as(world.admin_a)
    del browser.headers["x-csrf-token"]
    response = browser.post("/brands/brand-a/people", data=NEW_PERSON)
    assert response.status_code == 403
    assert "nothing was saved" in response.text
    assert not _nova_saved(db)


def test_post_with_a_wrong_csrf_header_is_refused(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """An htmx-style post carrying a wrong token in the header gets 403."""
    browser = client_as(world.admin_a)
    browser.headers["x-csrf-token"] = "forged"
    response = browser.post("/brands/brand-a/people", data={**NEW_PERSON, "csrf_token": TEST_CSRF})
    assert response.status_code == 403
    assert not _nova_saved(db)


def test_post_with_a_wrong_csrf_field_is_refused(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """A plain form post with a wrong token in the form field gets 403."""
    browser = client_as(world.admin_a)
    del browser.headers["x-csrf-token"]
    response = browser.post("/brands/brand-a/people", data={**NEW_PERSON, "csrf_token": "forged"})
    assert response.status_code == 403
    assert not _nova_saved(db)


def test_post_with_the_csrf_form_field_is_accepted(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """A plain form post carrying the right token in its hidden field goes through."""
    browser = client_as(world.admin_a)
    del browser.headers["x-csrf-token"]
    response = browser.post("/brands/brand-a/people", data={**NEW_PERSON, "csrf_token": TEST_CSRF})
    assert response.status_code == 303
    assert _nova_saved(db)


def test_pages_carry_the_csrf_token_they_expect(client_as: ClientAs, world: World) -> None:
    """Forms and the htmx header on a page carry the session's CSRF token."""
    page = client_as(world.admin_a).get("/brands/brand-a/people").text
    assert f'name="csrf_token" value="{TEST_CSRF}"' in page
    assert f'"X-CSRF-Token": "{TEST_CSRF}"' in unescape(page)


def test_logout_without_csrf_token_is_refused(client_as: ClientAs, world: World) -> None:
    """Another site cannot sign someone out: /logout needs the token too."""
    browser = client_as(world.member_a)
    del browser.headers["x-csrf-token"]
    assert browser.post("/logout").status_code == 403
    assert browser.get("/").status_code == 200


@pytest.mark.parametrize("path", ["/", "/login", "/no-such-page"])
def test_security_headers_on_pages(
    client_as: ClientAs, client: TestClient, world: World, path: str
) -> None:
    """Pages carry a strict CSP, refuse framing and sniffing, and limit the referrer."""
    browser = client if path == "/login" else client_as(world.member_a)
    headers = browser.get(path).headers
    directives = dict(
        (part.strip().split(" ", 1) + [""])[:2]
        for part in headers["content-security-policy"].split(";")
    )
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert directives["frame-ancestors"] == "'none'"
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] in {
        "same-origin",
        "strict-origin-when-cross-origin",
        "no-referrer",
    }
    assert headers["cache-control"] == "no-store"


def test_session_cookie_is_httponly_and_lax(client: TestClient) -> None:
    """The session cookie set by the login page is HttpOnly and SameSite=Lax."""
    response = client.get("/login")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("hub_session=")
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "secure" not in attributes  # plain http in tests; see the next test


def test_session_cookie_is_secure_behind_https(settings: Settings, engine: Engine) -> None:
    """With an https base URL the cookie is Secure and HSTS is sent."""
    https = settings.model_copy(update={"base_url": "https://hub.example"})
    response = TestClient(create_app(https, engine)).get("/login")
    cookie = response.headers["set-cookie"]
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert "secure" in attributes
    # __Host-: the browser keeps it only if Secure, for this host alone, on every path.
    assert cookie.startswith("__Host-hub_session=")
    assert "path=/" in attributes and not any(a.startswith("domain=") for a in attributes)
    assert response.headers["strict-transport-security"].startswith("max-age=")


@pytest.mark.parametrize("lapsed", ["idle", "expired", "revoked"])
def test_a_lapsed_session_signs_nobody_in(
    client_as: ClientAs, world: World, db: Session, settings: Settings, lapsed: str
) -> None:
    """A session idle longer than HUB_SESSION_IDLE_HOURS, past its absolute end, or revoked
    opens nothing: the browser is sent to sign in, and the dead session id is dropped."""
    browser = client_as(world.member_a)
    assert browser.get("/").status_code == 200
    row = db.exec(select(WebSession).where(WebSession.person_id == world.member_a.id)).one()
    now = utcnow()
    if lapsed == "idle":
        row.last_seen_at = now - timedelta(hours=settings.session_idle_hours, seconds=1)
    elif lapsed == "expired":
        row.expires_at = now - timedelta(seconds=1)
    else:
        row.revoked_at = now
    db.add(row)
    db.commit()
    answer = browser.get("/intel/search?q=x")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")
    assert "sid" not in _session_of(answer)


def _session_of(response: Response) -> dict[str, object]:
    """The session data a response's Set-Cookie carries."""
    value = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    payload = value.split(".")[0]
    return dict(json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4))))


@pytest.mark.parametrize("signed_in", [False, True])
def test_unknown_url_is_a_friendly_404(
    client: TestClient, client_as: ClientAs, world: World, signed_in: bool
) -> None:
    """An unknown address answers a 404 HTML page, with no traceback."""
    browser = client_as(world.member_a) if signed_in else client
    response = browser.get("/this/does/not/exist")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Page not found" in response.text
    assert "Traceback" not in response.text


@pytest.fixture
def crashing(app: FastAPI, db: Session, settings: Settings, world: World) -> TestClient:
    """A signed-in browser on an app with one extra route that always crashes."""

    @app.get("/boom-for-test")
    def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    token = sessions.start(db, settings, world.member_a, None, "127.0.0.1", "pytest")
    db.commit()
    browser = TestClient(app, raise_server_exceptions=False)
    browser.cookies.set("hub_session", session_cookie({"sid": token, "csrf": TEST_CSRF}))
    return browser


def test_unexpected_error_is_a_friendly_500(crashing: TestClient) -> None:
    """A crash answers a 500 HTML page that explains, without a traceback or the error."""
    response = crashing.get("/boom-for-test")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "Something went wrong on our side" in response.text
    assert "Traceback" not in response.text
    assert "hunter2" not in response.text


def test_unexpected_error_page_carries_the_security_headers(crashing: TestClient) -> None:
    """The 500 page carries the same security headers as every other page."""
    headers = crashing.get("/boom-for-test").headers
    assert headers["x-frame-options"] == "DENY"
    assert "content-security-policy" in headers
    assert headers["cache-control"] == "no-store"


def test_api_errors_are_json(client_as: ClientAs, world: World) -> None:
    """Under /api/ an error answers problem details (RFC 9457), not an HTML page."""
    response = client_as(world.member_a).get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404 and response.json()["title"] == "Not found"


def test_login_next_to_another_site_is_not_followed(client_as: ClientAs, world: World) -> None:
    """A signed-in visit to /login?next=//evil.example goes home, not to the other site."""
    browser = client_as(world.member_a)
    for target in ("//evil.example", "https://evil.example", "/\\evil.example"):
        response = browser.get("/login", params={"next": target})
        assert response.status_code == 303
        assert response.headers["location"] == "/", target


def test_login_form_does_not_carry_a_foreign_next(client: TestClient) -> None:
    """The login form keeps only a same-site next page."""
    page = client.get("/login", params={"next": "//evil.example"}).text
    assert re.search(r'name="next" value="/"', page)
    assert "evil.example" not in page
    kept = client.get("/login", params={"next": "/groups"}).text
    assert re.search(r'name="next" value="/groups"', kept)


def test_anonymous_is_sent_to_login_with_the_page_to_come_back_to(client: TestClient) -> None:
    """An anonymous visit to a page redirects to /login?next=<that page>."""
    response = client.get("/brands/brand-a")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/brands/brand-a"


def test_anonymous_htmx_request_gets_hx_redirect(client: TestClient) -> None:
    """An htmx request without a session gets 401 and tells htmx where to sign in."""
    response = client.get("/brands", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["hx-redirect"] == "/login?next=/brands"


def test_production_refuses_the_default_secret_key() -> None:
    """create_app refuses HUB_ENV=production with the development secret key."""
    settings = Settings(env=Environment.production, secret_key=DEFAULT_SECRET_KEY, dev_idp=False)
    with pytest.raises(RuntimeError, match="HUB_SECRET_KEY"):
        create_app(settings)


def test_production_refuses_a_short_secret_key() -> None:
    """create_app refuses a production secret key shorter than 32 characters."""
    settings = Settings(env=Environment.production, secret_key="x" * 31, dev_idp=False)
    with pytest.raises(RuntimeError, match="HUB_SECRET_KEY"):
        create_app(settings)


def test_production_refuses_the_development_identity_provider() -> None:
    """create_app refuses to mount the development identity provider in production."""
    settings = Settings(env=Environment.production, secret_key="x" * 40, dev_idp=True)
    with pytest.raises(RuntimeError, match="development identity provider"):
        create_app(settings)


def test_production_with_good_settings_starts(engine: Engine, settings: Settings) -> None:
    """A production configuration with a real key and no development provider starts."""
    production = settings.model_copy(
        update={
            "env": Environment.production,
            "secret_key": "x" * 40,
            "dev_idp": False,
            "base_url": "https://hub.example",
        }
    )
    app = create_app(production, engine)
    assert TestClient(app).get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("base_url", "refused"),
    [
        ("http://hub.example", True),
        ("http://127.0.0.1:8000", False),
        ("https://hub.example", False),
    ],
)
def test_production_refuses_plain_http_except_on_loopback(base_url: str, refused: bool) -> None:
    """Over plain http the session cookie cannot be Secure: production refuses it, except
    for a hub only this machine reaches (benchmarks, smoke tests)."""
    settings = Settings(
        env=Environment.production, secret_key="x" * 40, dev_idp=False, base_url=base_url
    )
    if refused:
        with pytest.raises(RuntimeError, match="must be an https:// address"):
            settings.check()
    else:
        settings.check()


def test_login_comes_back_to_the_page_with_its_query(client: TestClient) -> None:
    """The page asked for, with its query string, is where the login returns."""
    response = client.get("/brands?q=ma&group=apparel")
    assert response.headers["location"] == "/login?next=/brands%3Fq%3Dma%26group%3Dapparel"
