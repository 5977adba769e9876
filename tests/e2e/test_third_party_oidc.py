"""Signing in through a real third-party OpenID Connect provider: node's `oidc-provider`.

The provider (tests/e2e/oidc/provider.mjs) runs on its own loopback address (127.0.0.2, so
its cookies never mix with the hub's), with its own login and consent pages. A brand made
for these tests uses it as its identity provider; people who were never in the hub sign in
and are created just in time, as members, or as brand admins when the provider's `groups`
claim says "brand-admins".
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

import pytest
from playwright.sync_api import Browser, Page, Route, expect
from sqlmodel import select

from hub.auth.providers import ProviderForm, add_provider, set_enabled
from hub.groups.models import WorkingGroup
from hub.members.models import Brand, Person, Role
from hub.members.service import create_brand
from hub.policy import command_line_actor
from tests.live import LiveHub

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
HOST = "127.0.0.2"
DOMAIN = "thirdparty.example"
BRAND_SLUG = "thirdparty-brand"
BRAND_NAME = "Thirdparty Brand"
CLIENT_ID = "alliance-hub-e2e"


@dataclass
class NodeProvider:
    issuer: str
    brand: Brand
    group: WorkingGroup
    log_path: Path


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _npm_install() -> None:
    """Install oidc-provider once; node_modules is git-ignored."""
    if (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is missing: the third-party provider test needs Node.js 20+ and npm.")
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


def _wait_until_ready(process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        if re.search(r"^ready ", text, re.MULTILINE):
            return
        if process.poll() is not None:
            pytest.fail(f"provider.mjs exited early ({process.returncode}):\n{text}")
        time.sleep(0.05)
    pytest.fail(f"provider.mjs did not print 'ready' within 20 s:\n{log_path.read_text()}")


@pytest.fixture(scope="session")
def node_provider(hub: LiveHub, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProvider]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: the third-party provider test needs Node.js 20+.")
    _npm_install()
    port = _free_port(HOST)
    issuer = f"http://{HOST}:{port}"
    client_secret = secrets.token_urlsafe(24)
    redirect_uri = f"{hub.base_url}/auth/{BRAND_SLUG}/callback"

    actor = command_line_actor("test")
    with hub.session() as session:
        group = session.exec(select(WorkingGroup).order_by(WorkingGroup.name)).first()
        assert group is not None and group.id is not None
        brand = create_brand(
            session,
            actor,
            name=BRAND_NAME,
            slug=BRAND_SLUG,
            country="BE",
            domains=DOMAIN,
            description="A brand whose people sign in through a third-party provider.",
            group_ids=[group.id],
        )
        provider = add_provider(
            session,
            hub.settings,
            actor,
            brand,
            ProviderForm(
                name="Thirdparty sign-in (node oidc-provider)",
                issuer=issuer,
                client_id=CLIENT_ID,
                client_secret=client_secret,
                domains=[DOMAIN],
                admin_claim="groups",
                admin_value="brand-admins",
            ),
        )
        set_enabled(session, actor, brand, provider, True, without_test=True)

    log_path = tmp_path_factory.mktemp("oidc") / "provider.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                node,
                "provider.mjs",
                f"--port={port}",
                f"--host={HOST}",
                f"--client-id={CLIENT_ID}",
                f"--client-secret={client_secret}",
                f"--redirect-uri={redirect_uri}",
                f"--domain={DOMAIN}",
            ],
            cwd=OIDC_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_ready(process, log_path)
        yield NodeProvider(issuer, brand, group, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _no_internet(route: Route) -> None:
    # The provider's own pages @import a web font from the internet; there is none here.
    route.abort()


def sign_in_through_node_provider(page: Page, node: NodeProvider, login: str) -> None:
    page.route(re.compile(r"^https?://(?!127\.0\.0\.[12][:/])"), _no_internet)
    page.goto("/login")
    page.get_by_label("Work e-mail").fill(f"{login}@{DOMAIN}")
    page.get_by_role("button", name="Continue").click()

    # The provider's own login page, on its own origin.
    expect(page).to_have_url(re.compile(rf"^{re.escape(node.issuer)}/interaction/"))
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password works here")
    page.get_by_role("button", name="Sign-in").click()
    # Then its consent page.
    expect(page).to_have_url(re.compile(rf"^{re.escape(node.issuer)}/interaction/"))
    page.get_by_role("button", name="Continue").click()


@pytest.mark.parametrize(
    ("login", "role"),
    [("nora", Role.member), ("admin-ilse", Role.brand_admin)],
    ids=["member", "brand-admin"],
)
def test_new_person_signs_in_through_a_third_party_provider(
    browser: Browser, hub: LiveHub, node_provider: NodeProvider, login: str, role: Role
) -> None:
    email = f"{login}@{DOMAIN}"
    with hub.session() as session:
        assert session.exec(select(Person).where(Person.email == email)).first() is None

    context = browser.new_context(base_url=hub.base_url, viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        sign_in_through_node_provider(page, node_provider, login)

        expect(page).to_have_url(f"{hub.base_url}/")
        expect(page.locator(".whoami-name")).to_have_text(login)
        expect(page.get_by_role("heading", name=f"Welcome, {login}")).to_be_visible()
        expect(page.locator(".flash-success")).to_contain_text(email)
        expect(
            page.locator("ul.cards").get_by_role("link", name=node_provider.group.name)
        ).to_be_visible()
        manage_people = page.get_by_role("link", name="Manage people")
        expect(manage_people).to_have_count(1 if role == Role.brand_admin else 0)
    finally:
        context.close()

    with hub.session() as session:
        person = session.exec(select(Person).where(Person.email == email)).one()
    assert person.brand_id == node_provider.brand.id
    assert person.role == role
    assert person.name == login
    assert person.is_active
    assert person.oidc_issuer == node_provider.issuer
    assert person.oidc_subject == login
    assert person.last_login_at is not None
