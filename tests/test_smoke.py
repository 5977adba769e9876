"""The app starts, answers health checks and sends strangers to the login page."""

from fastapi.testclient import TestClient

from tests.conftest import ClientAs, World


def test_healthz(client: TestClient) -> None:
    """/healthz answers without a session."""
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reaches_database(client: TestClient) -> None:
    """/readyz runs a query against the database."""
    assert client.get("/readyz").status_code == 200


def test_dashboard_needs_login(client: TestClient) -> None:
    """An anonymous visitor is redirected to the login page."""
    response = client.get("/groups")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/groups"


def test_dashboard_lists_brand_groups(client_as: ClientAs, world: World) -> None:
    """A member's dashboard shows their brand's working groups and not others."""
    page = client_as(world.member_a).get("/")
    assert page.status_code == 200
    assert "Apparel (test)" in page.text
    assert "Toys (test)" not in page.text


def test_dashboard_lists_fellow_brands(client_as: ClientAs, world: World) -> None:
    """The dashboard names the brands sharing a group with yours, and only those."""
    page = client_as(world.member_a).get("/").text
    assert "Brand B" in page
    assert "Brand C" not in page
