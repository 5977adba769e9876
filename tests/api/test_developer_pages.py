"""The Developers pages as a member uses them: the reference, making and revoking tokens
(the token shown once, then never again), and a brand admin's webhooks and their log."""

import hashlib

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hub.api.models import ApiToken, Webhook, WebhookDelivery
from tests.conftest import ClientAs, World


def _secret_in(page: str, prefix: str) -> str:
    start = page.index(f'value="{prefix}')
    return page[start + len('value="') : page.index('"', start + len('value="'))]


def test_the_reference_lists_every_operation_of_the_api(client_as: ClientAs, world: World) -> None:
    page = client_as(world.member_a).get("/developers")

    assert page.status_code == 200
    for operation in (
        "GET</span> <code>/api/v1/reports</code>",
        "POST</span> <code>/api/v1/reports</code>",
        "POST</span> <code>/api/v1/reports/{report_id}/sightings</code>",
        "GET</span> <code>/api/v1/events</code>",
        "GET</span> <code>/api/v1/campaigns/{campaign_id}</code>",
    ):
        assert operation in page.text
    assert 'id="model-ReportIn"' in page.text and 'id="problem-rate-limited"' in page.text


def test_a_token_is_shown_once_and_stored_as_a_fingerprint(
    client_as: ClientAs, world: World, db: Session
) -> None:
    browser = client_as(world.member_a)

    made = browser.post(
        "/developers/tokens", data={"name": "Marketplace monitor", "scope": "write"}
    )

    assert made.status_code == 200
    secret = _secret_in(made.text, "hub_")
    token = db.exec(select(ApiToken)).one()
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert (token.name, token.kind, token.scope) == ("Marketplace monitor", "personal", "write")
    again = browser.get("/developers")
    assert secret not in again.text and token.prefix in again.text
    assert browser.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json()[
        "email"
    ] == (world.member_a.email)


def test_a_member_cannot_make_a_brand_token(client_as: ClientAs, world: World, db: Session) -> None:
    refused = client_as(world.member_a).post(
        "/developers/tokens", data={"name": "Shared tool", "kind": "brand", "scope": "read"}
    )

    assert refused.status_code == 422
    assert "Only your brand&#39;s administrators can make brand tokens." in refused.text
    assert 'value="Shared tool"' in refused.text  # what was typed is kept
    assert db.exec(select(ApiToken)).all() == []


def test_a_token_without_a_name_is_refused(client_as: ClientAs, world: World, db: Session) -> None:
    refused = client_as(world.admin_a).post("/developers/tokens", data={"name": "  "})

    assert refused.status_code == 422
    assert "Name the token after the tool that will use it." in refused.text
    assert db.exec(select(ApiToken)).all() == []


def test_a_revoked_token_stops_working_at_once(
    client_as: ClientAs, world: World, db: Session
) -> None:
    browser = client_as(world.admin_a)
    secret = _secret_in(
        browser.post("/developers/tokens", data={"name": "Tool", "kind": "brand"}).text, "hub_"
    )
    token = db.exec(select(ApiToken)).one()
    bearer = {"Authorization": f"Bearer {secret}"}
    assert browser.get("/api/v1/me", headers=bearer).json()["token_kind"] == "brand"

    revoked = browser.post(f"/developers/tokens/{token.id}/revoke")

    assert revoked.status_code == 303
    assert browser.get("/api/v1/me", headers=bearer).status_code == 401
    assert "Revoked" in browser.get("/developers").text


def test_nobody_revokes_another_persons_token(
    client_as: ClientAs, world: World, db: Session
) -> None:
    client_as(world.member_a).post("/developers/tokens", data={"name": "Mine"})
    token = db.exec(select(ApiToken)).one()

    # Not a colleague, not the brand admin (a personal token is the person's own).
    for other in (world.member_b, world.admin_a):
        assert client_as(other).post(f"/developers/tokens/{token.id}/revoke").status_code == 404
    db.refresh(token)
    assert token.revoked_at is None


def test_a_brand_admin_adds_a_webhook_and_sees_its_log(
    client_as: ClientAs, world: World, db: Session
) -> None:
    browser = client_as(world.admin_a)

    made = browser.post(
        "/developers/webhooks",
        data={"url": "https://tools.brand-a.example/hub", "events": ["report.created"]},
    )

    assert made.status_code == 200
    secret = _secret_in(made.text, "whsec_")
    hook = db.exec(select(Webhook)).one()
    assert secret not in hook.secret_sealed and hook.events == "report.created"
    assert secret not in browser.get("/developers/webhooks").text
    tested = browser.post(f"/developers/webhooks/{hook.id}/test")
    assert tested.status_code == 303
    (ping,) = db.exec(select(WebhookDelivery)).all()
    assert ping.event == "ping"
    log = browser.get(f"/developers/webhooks/{hook.id}")
    assert "Waiting to be sent" in log.text and "<code>ping</code>" in log.text


def test_a_bad_webhook_address_is_explained_and_kept(
    client_as: ClientAs, world: World, db: Session
) -> None:
    refused = client_as(world.admin_a).post(
        "/developers/webhooks", data={"url": "tools.example", "events": ["report.created"]}
    )

    assert refused.status_code == 422
    assert "starting with https://" in refused.text and 'value="tools.example"' in refused.text
    assert db.exec(select(Webhook)).all() == []


def test_webhooks_are_for_brand_admins_of_their_own_brand(
    client_as: ClientAs, world: World, db: Session
) -> None:
    admin = client_as(world.admin_a)
    admin.post(
        "/developers/webhooks",
        data={"url": "https://tools.brand-a.example/hub", "events": ["report.created"]},
    )
    hook = db.exec(select(Webhook)).one()

    member: TestClient = client_as(world.member_a)
    assert member.get("/developers/webhooks").status_code == 403
    other_admin = client_as(world.admin_c)
    assert other_admin.get(f"/developers/webhooks/{hook.id}").status_code == 404
    assert other_admin.post(f"/developers/webhooks/{hook.id}/remove").status_code == 404
    assert db.exec(select(Webhook)).all() != []
    assert admin.post(f"/developers/webhooks/{hook.id}/remove").status_code == 303
    assert db.exec(select(Webhook)).all() == []
