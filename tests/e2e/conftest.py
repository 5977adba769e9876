"""Browser tests: a live hub on SQLite, driven by Debian's Chromium through Playwright.

Every test in this folder is marked `e2e`. The browser is /usr/bin/chromium (Playwright
cannot download its own here); `make test` installs it. Without it these tests fail, loudly.
"""

import re
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import pytest
from playwright.sync_api import APIResponse, Browser, BrowserContext, Page, Route, expect
from sqlmodel import delete, select

from hub.auth.models import RateCounter
from hub.groups.models import WorkingGroup
from hub.members.models import Brand, Person, Role
from hub.members.service import add_person, create_brand
from hub.policy import command_line_actor
from tests.live import LiveHub, live_hub

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
E2E_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium. Run `make test` "
            "(it installs chromium and fonts-liberation), or `apt-get install -y chromium "
            "fonts-liberation`.",
            pytrace=False,
        )
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    """One live hub for the whole browser run; browser tests always run on SQLite."""
    tmp_dir = tmp_path_factory.mktemp("e2e-hub")
    with live_hub(tmp_dir, f"sqlite:///{tmp_dir / 'hub.db'}") as live:
        yield live


@pytest.fixture(scope="session")
def base_url(hub: LiveHub) -> str:
    """page.goto("/login") goes to the live hub.

    This also replaces pytest-playwright's own fallback `base_url` fixture, which is a
    session fixture defined on a plugin class instance: pytest 9 deprecates that
    (PytestRemovedIn10Warning), and with filterwarnings=error it would break every test.
    """
    return hub.base_url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800}}


# --- Real third-party OpenID Connect providers: node's `oidc-provider` ---------------------
#
# Two brands made for these tests, each with its own provider process (tests/e2e/oidc/
# provider.mjs) on its own loopback address, so neither their cookies nor their keys mix.
# The brands and their admins are created in the database; their providers are registered
# by the alliance admin in a real Chromium, through each brand's "Sign-in (SSO)" page.
# Test modules import the helpers below (`from tests.e2e.conftest import ...`).

OIDC_DIR = E2E_DIR / "oidc"
CLIENT_ID = "alliance-hub-e2e"
ALLIANCE_ADMIN_EMAIL = "sophie.claes@alliance-hub.example"
ALLIANCE_SLUG = "alliance"
# Logins whose ID token says email_verified: false (provider.mjs --unverified-logins).
UNVERIFIED_LOGIN = "unverified"
NOT_LOOPBACK = re.compile(r"^https?://(?!127\.0\.0\.\d{1,3}[:/])")


class NodeProvider:
    """One provider.mjs process on a fixed host and port: stop, start again, rotate keys."""

    def __init__(
        self, node: str, host: str, domain: str, redirect_uri: str, work_dir: Path
    ) -> None:
        self.node = node
        self.host = host
        self.port = free_port_on(host)
        self.domain = domain
        self.redirect_uri = redirect_uri
        self.client_secret = secrets.token_urlsafe(24)
        self.work_dir = work_dir
        self.key_file = work_dir / "key-1.json"
        self.log_path = work_dir / "provider.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def issuer(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None

    def start(self) -> None:
        assert self._process is None, "already running"
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    self.node,
                    "provider.mjs",
                    f"--port={self.port}",
                    f"--host={self.host}",
                    f"--client-id={CLIENT_ID}",
                    f"--client-secret={self.client_secret}",
                    f"--redirect-uri={self.redirect_uri}",
                    f"--domain={self.domain}",
                    f"--unverified-logins={UNVERIFIED_LOGIN}",
                    "--email-override",
                    f"--key-file={self.key_file}",
                ],
                cwd=OIDC_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            text = self.log_path.read_bytes()[offset:].decode(errors="replace")
            if re.search(r"^ready ", text, re.MULTILINE):
                return
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                pytest.fail(f"provider.mjs exited early ({code}):\n{text}")
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"provider.mjs did not print 'ready' within 20 s:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart_with_new_key(self) -> None:
        """Stop, and start again on the same issuer with a new signing key (a new kid)."""
        self.stop()
        self.key_file = (
            self.work_dir / f"key-{len(list(self.work_dir.glob('key-*.json'))) + 1}.json"
        )
        self.start()

    def signing_kids(self) -> list[str]:
        """The key ids the provider publishes now."""
        metadata = httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=5).json()
        keys = httpx.get(metadata["jwks_uri"], timeout=5).json()["keys"]
        return [str(key["kid"]) for key in keys]

    def sign_in(self, page: Page, login: str) -> None:
        """On the provider's own login page (the browser is there now): log in, consent."""
        interaction = re.compile(rf"^{re.escape(self.issuer)}/interaction/")
        expect(page).to_have_url(interaction)
        page.locator("input[name=login]").fill(login)
        page.locator("input[name=password]").fill("any password works here")
        page.get_by_role("button", name="Sign-in").click()
        expect(page).to_have_url(interaction)
        page.get_by_role("button", name="Continue").click()


@dataclass
class SsoBrand:
    """A brand of these tests, its domain, its provider process and its admin."""

    brand: Brand
    domain: str
    node: NodeProvider
    admin: Person  # added in the database beforehand, never signed in before
    group: WorkingGroup
    tester_login: str  # the provider account the alliance admin ran the test sign-in with
    provider_id: int = 0  # set once registered through the SSO page

    @property
    def slug(self) -> str:
        return self.brand.slug

    def email(self, login: str) -> str:
        return f"{login}@{self.domain}"

    def start_login(self, page: Page, login: str) -> None:
        """Ask the hub to sign in `login@domain`; the browser ends up at the provider."""
        page.goto("/login")
        page.get_by_label("Work e-mail").fill(self.email(login))
        page.get_by_role("button", name="Continue").click()

    def sign_in(self, page: Page, login: str, as_login: str | None = None) -> None:
        """The whole round trip: the hub's login page, the provider's pages, the callback.
        `as_login` is what is typed at the provider when it differs from `login`."""
        self.start_login(page, login)
        self.node.sign_in(page, as_login or login)


@dataclass
class SsoBrands:
    a: SsoBrand
    b: SsoBrand


def free_port_on(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def fresh_context(browser: Browser, hub: LiveHub) -> BrowserContext:
    """A fresh browser (no cookies) on the hub, kept off the internet: the provider's own
    pages @import a web font from it, and there is none here."""
    context = browser.new_context(base_url=hub.base_url, viewport={"width": 1280, "height": 800})
    context.route(NOT_LOOPBACK, lambda route: route.abort())
    return context


class CallbackHold:
    """Catches a provider's answer (the redirect to the hub's callback, with its code and
    state) before the hub sees it, and keeps its URL for the test to use, change or replay.

    Playwright does not route the hops of a redirect chain, and the provider sends the
    browser to the hub through one (consent form post, then its /auth/<uid> resume, then the
    callback). So the provider's form posts are routed: the test makes them itself with the
    browser's cookies, follows the provider's resume redirects, and stops at the callback.
    """

    def __init__(self, page: Page, node: NodeProvider, callback: str) -> None:
        self.page, self.node, self.callback = page, node, callback
        self.pattern = re.compile(rf"^{re.escape(node.issuer)}/interaction/")
        self.urls: list[str] = []
        page.route(self.pattern, self._handle)

    def _handle(self, route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        url = route.request.url
        response = route.fetch(max_redirects=0)
        location = _location(url, response)
        while location is not None and location.startswith(f"{self.node.issuer}/auth/"):
            url = location
            response = self.page.context.request.get(url, max_redirects=0)
            location = _location(url, response)
        if location is not None and location.startswith(f"{self.callback}?"):
            self.urls.append(location)
            route.fulfill(status=200, content_type="text/html", body="<title>held</title>")
        elif url == route.request.url:
            route.fulfill(response=response)
        else:
            route.fulfill(status=303, headers={"location": location or url})

    def url(self) -> str:
        """The held callback URL, once the browser got there; stops holding."""
        expect(self.page).to_have_title("held")
        self.page.unroute(self.pattern, self._handle)
        assert len(self.urls) == 1, self.urls
        return self.urls[0]


def _location(url: str, response: APIResponse) -> str | None:
    if 300 <= response.status < 400 and "location" in response.headers:
        return urljoin(url, response.headers["location"])
    return None


def hold_callback(page: Page, sso: SsoBrand) -> CallbackHold:
    return CallbackHold(page, sso.node, sso.node.redirect_uri)


def with_query(url: str, path: str | None = None, **changes: str | None) -> str:
    """`url` with query parameters replaced (None removes one), and maybe another path."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    return urlunsplit(parts._replace(path=path or parts.path, query=urlencode(query)))


def sign_in_as_alliance_admin(page: Page) -> None:
    """Sophie, of the alliance's secretariat, through the secretariat's development provider."""
    page.goto("/login")
    page.get_by_label("Work e-mail").fill(ALLIANCE_ADMIN_EMAIL)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(rf"/dev-idp/{ALLIANCE_SLUG}/authorize\?"))
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash-success")).to_contain_text(f"Signed in as {ALLIANCE_ADMIN_EMAIL}")


def register_through_sso_page(page: Page, sso: SsoBrand) -> int:
    """The alliance admin adds the brand's provider, tests it, and switches it on."""
    page.goto(f"/brands/{sso.slug}/sso")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Sign-in (SSO) for {sso.brand.name}")
    expect(page.locator(".redirect-box code.copyable")).to_have_text(sso.node.redirect_uri)
    expect(page.get_by_text("No identity provider yet")).to_be_visible()

    name = f"{sso.brand.name} (node oidc-provider)"
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Issuer").fill(sso.node.issuer)
    page.get_by_label("Client id").fill(CLIENT_ID)
    page.get_by_label("Client secret").fill(sso.node.client_secret)
    page.get_by_role("checkbox", name=f"@{sso.domain}").check()
    page.get_by_label("Brand admin rule: claim").fill("groups")
    page.get_by_label("contains the value").fill("brand-admins")
    page.get_by_role("button", name="Save provider").click()

    expect(page).to_have_url(re.compile(rf"/brands/{sso.slug}/sso/\d+$"))
    provider_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator(".flash-success")).to_contain_text(f"{name} was saved, switched off")
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.locator(".page-header .badge")).to_have_text("Draft: not tested")
    expect(page.get_by_role("button", name="Switch on")).to_be_disabled()
    # The secret is never shown again.
    expect(page.get_by_label("Client secret")).to_have_value("")
    assert sso.node.client_secret not in page.content()

    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#check-result .flash-success")).to_have_text(
        "Connection is fine: discovery document, PKCE S256 and signing keys found."
    )

    # The alliance admin's own e-mail is not the brand's: the test sign-in is done with an
    # account of the brand's domain at its provider, and the hub checks what it vouched for.
    page.get_by_role("button", name="Run a test sign-in").click()
    sso.node.sign_in(page, sso.tester_login)
    expect(page).to_have_url(re.compile(rf"/brands/{sso.slug}/sso/{provider_id}$"))
    expect(page.locator(".flash-success")).to_have_text(
        f"Test sign-in worked: {name} vouched for {sso.email(sso.tester_login)}. You can "
        "switch it on now."
    )
    expect(page.locator(".page-header .badge")).to_have_text("Tested, off")

    page.get_by_role("button", name="Switch on").click()
    expect(page.locator(".flash-success")).to_have_text(
        f"{name} is switched on: its people sign in with it from now on."
    )
    expect(page.locator(".page-header .badge")).to_have_text("Switched on")
    return provider_id


def clear_login_rate_limits(hub: LiveHub) -> None:
    """Every browser signs in from 127.0.0.1: forget the attempts counted so far, so that a
    full run does not reach the per-address limit (its own tests live elsewhere)."""
    with hub.session() as session:
        session.exec(delete(RateCounter))
        session.commit()


@pytest.fixture
def fresh_login_limits(hub: LiveHub) -> None:
    clear_login_rate_limits(hub)


@pytest.fixture(scope="session")
def node_bin() -> str:
    """node, with oidc-provider installed (node_modules is git-ignored)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: the third-party provider tests need Node.js 20+.")
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is missing: the third-party provider tests need Node.js and npm.")
        command = "ci" if (OIDC_DIR / "package-lock.json").exists() else "install"
        result = subprocess.run(
            [npm, command, "--no-audit", "--no-fund"],
            cwd=OIDC_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"npm {command} in {OIDC_DIR} failed:\n{result.stdout}\n{result.stderr}")
    return node


def _make_sso_brand(
    hub: LiveHub,
    node: str,
    work_dir: Path,
    *,
    name: str,
    slug: str,
    host: str,
    admin_name: str,
    admin_login: str,
    tester_login: str,
) -> SsoBrand:
    domain = f"{slug}.example"
    actor = command_line_actor("test")
    with hub.session() as session:
        group = session.exec(select(WorkingGroup).order_by(WorkingGroup.name)).first()
        assert group is not None and group.id is not None
        brand = create_brand(
            session,
            actor,
            name=name,
            slug=slug,
            country="BE",
            domains=domain,
            description="A brand whose people sign in through its own OpenID Connect provider.",
            group_ids=[group.id],
        )
        admin = add_person(
            session,
            actor,
            brand,
            admin_name,
            f"{admin_login}@{domain}",
            Role.brand_admin,
            "Head of brand protection",
        )
    redirect_uri = f"{hub.base_url}/auth/{slug}/callback"
    work_dir.mkdir()
    provider = NodeProvider(node, host, domain, redirect_uri, work_dir)
    return SsoBrand(brand, domain, provider, admin, group, tester_login)


@pytest.fixture(scope="session")
def sso_brands(
    hub: LiveHub, browser: Browser, node_bin: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SsoBrands]:
    """Two brands, each with its own running provider, registered and switched on by the
    alliance admin through the brands' SSO pages."""
    work_dir = tmp_path_factory.mktemp("oidc")
    brands = SsoBrands(
        a=_make_sso_brand(
            hub,
            node_bin,
            work_dir / "a",
            name="Tessera Textiles",
            slug="tessera",
            host="127.0.0.2",
            admin_name="Tess Verhoeven",
            admin_login="tess.verhoeven",
            tester_login="admin-tester-a",
        ),
        b=_make_sso_brand(
            hub,
            node_bin,
            work_dir / "b",
            name="Brightline Audio",
            slug="brightline",
            host="127.0.0.3",
            admin_name="Nils Brandt",
            admin_login="nils.brandt",
            tester_login="admin-tester-b",
        ),
    )
    try:
        for sso in (brands.a, brands.b):
            sso.node.start()
        clear_login_rate_limits(hub)
        context = fresh_context(browser, hub)
        try:
            page = context.new_page()
            sign_in_as_alliance_admin(page)
            for sso in (brands.a, brands.b):
                sso.provider_id = register_through_sso_page(page, sso)
        finally:
            context.close()
        yield brands
    finally:
        for sso in (brands.a, brands.b):
            sso.node.stop()
