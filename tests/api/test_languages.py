"""The Developers pages and the API in Simplified Chinese: pages follow the browser's
Accept-Language, problem+json texts the tool's, while JSON field names, `type` links and
codes stay as they are. Expected texts come from the catalogue, not from guesses."""

from datetime import UTC, datetime

from fastapi import FastAPI
from sqlmodel import Session, select

from hub import i18n, outage
from hub.api import pages, webhooks
from hub.api.models import ApiToken, Webhook, WebhookDelivery
from hub.errors import NotFound
from hub.i18n import translations
from tests.api.factories import V1, api_client, problem_of, token_for
from tests.chinese import zh
from tests.conftest import ClientAs, World

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}


def zh_in(context: str, message: str) -> str:
    text = translations("zh_Hans").pgettext(context, message)
    assert text != message, f"not translated: {context}::{message!r}"
    return text


def test_the_developers_page_speaks_chinese(client_as: ClientAs, world: World) -> None:
    page = client_as(world.member_a).get("/developers", headers=CHINESE)

    assert page.status_code == 200
    assert '<html lang="zh-Hans">' in page.text
    assert f"<h1>{zh('Developers')}</h1>" in page.text
    assert zh("Using the API") in page.text
    assert zh_in("what a token may do", "May") in page.text
    # The reference drawn from the OpenAPI document, in the reader's language.
    assert zh("Post a report") in page.text and zh("Items per page.") in page.text
    # Field names and operations stay as they are.
    assert "POST</span> <code>/api/v1/reports</code>" in page.text
    assert "<code>next_cursor</code>" in page.text


def test_every_text_of_the_openapi_document_is_offered_for_translation(app: FastAPI) -> None:
    """A new operation, parameter or field must add its words to pages.REFERENCE, or the
    reference would show them in English to every reader."""
    document = app.state.api.openapi()
    shown = {
        text
        for operation in pages._operations(document)
        for text in (
            operation["summary"],
            operation["description"],
            *(p["description"] for p in operation["parameters"]),
        )
    } | {
        text
        for model in pages._models(document)
        for text in (model["description"], *(f["description"] for f in model["fields"]))
    }
    listed = {str(text) for text in pages.REFERENCE}  # English outside a request

    assert shown - {""} <= listed, sorted(shown - {""} - listed)


def test_a_form_error_on_the_developers_page_is_in_chinese(
    client_as: ClientAs, world: World, db: Session
) -> None:
    refused = client_as(world.member_a).post(
        "/developers/tokens", data={"name": "  ", "scope": "read"}, headers=CHINESE
    )

    assert refused.status_code == 422
    assert zh("Name the token after the tool that will use it.") in refused.text
    assert 'aria-invalid="true"' in refused.text and 'id="e-name"' in refused.text
    assert db.exec(select(ApiToken)).all() == []


def test_dates_and_numbers_on_the_webhook_log_take_the_chinese_shape(
    client_as: ClientAs, world: World, db: Session
) -> None:
    browser = client_as(world.admin_a)
    assert (
        browser.post(
            "/developers/webhooks",
            data={"url": "https://tools.example/hook", "events": "report.created"},
        ).status_code
        == 200
    )
    hook = db.exec(select(Webhook)).one()
    assert browser.post(f"/developers/webhooks/{hook.id}/test").status_code == 303
    delivery = db.exec(select(WebhookDelivery)).one()
    delivery.created_at = datetime(2030, 11, 30, 16, 25, tzinfo=UTC)
    db.add(delivery)
    db.commit()

    log = browser.get(f"/developers/webhooks/{hook.id}", headers=CHINESE)

    with i18n.presenting("zh_Hans", world.admin_a.time_zone or "UTC"):
        queued = i18n.when(delivery.created_at)
    assert "2030年11月30日" in queued
    assert queued in log.text
    assert zh("Waiting to be sent") in log.text


def test_api_problems_are_in_the_language_the_tool_asks_for(app: FastAPI, world: World) -> None:
    anonymous = api_client(app, None)

    refused = anonymous.get(f"{V1}/me", headers=CHINESE)

    body = problem_of(refused, 401, "unauthenticated")
    assert body["title"] == zh("Not authenticated")
    assert body["detail"] == zh("Send an API token in the Authorization header: `Bearer hub_...`.")
    english = problem_of(anonymous.get(f"{V1}/me"), 401, "unauthenticated")
    assert english["title"] == "Not authenticated"


def test_api_field_errors_are_in_chinese_and_keyed_by_field(
    app: FastAPI, world: World, db: Session
) -> None:
    tool = api_client(app, token_for(db, world.member_a))

    body = problem_of(
        tool.get(f"{V1}/reports", params={"limit": 0}, headers=CHINESE), 422, "invalid"
    )

    assert body["title"] == zh("Invalid input")
    assert body["detail"] == zh("Some of what was sent is not valid.")
    assert body["errors"] == {"limit": zh("Give at least %(limit)s.", limit=1)}
    day = problem_of(tool.get(f"{V1}/reports", params={"since": "0"}, headers=CHINESE), 422)
    assert zh("Give the day as YYYY-MM-DD.") in day["errors"]["since"]


def test_an_error_page_is_in_chinese(client_as: ClientAs, world: World) -> None:
    missing = client_as(world.member_a).get("/no-such-page", headers=CHINESE)

    assert missing.status_code == 404
    assert f"<h1>{zh('Page not found')}</h1>" in missing.text
    assert zh("Back to the dashboard") in missing.text


def test_messages_made_before_any_request_are_translated_when_shown(
    client_as: ClientAs, world: World
) -> None:
    """Default messages and module constants are never frozen in English at import."""
    with i18n.presenting("zh_Hans"):
        assert outage.message() == zh(outage.MESSAGE)
        assert NotFound().message == zh("We could not find that page.")
        assert str(webhooks.EVENT_LABELS["report.created"]) == zh(
            "A report is posted in one of our working groups"
        )
    browser = client_as(world.member_a)
    del browser.headers["x-csrf-token"]

    refused = browser.post("/notifications/read", headers=CHINESE)

    assert refused.status_code == 403
    assert (
        zh(
            "This form had expired or came from another site, so nothing was saved. "
            "Reload the page and try again."
        )
        in refused.text
    )
