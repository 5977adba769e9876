"""The Developers pages: the API reference (drawn from the API's own OpenAPI document),
API tokens, and (for brand admins) the brand's webhooks with their delivery log.

A new token or webhook secret is shown in the response to the form that made it and
nowhere else: never put in the session (a signed, not encrypted, cookie) or a log.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from hub.api import tokens, webhooks
from hub.api.models import Scope, TokenKind
from hub.db import SessionDep
from hub.deps import CurrentActor
from hub.errors import InvalidForm
from hub.i18n import gettext as _
from hub.i18n import lazy_gettext
from hub.policy import Action, Actor, can, ensure
from hub.web import flash, redirect, render

router = APIRouter()

METHODS = ("get", "post", "put", "patch", "delete")

# The texts of the API's OpenAPI document: its operations' summaries and docstrings, and
# the descriptions of parameters, models and fields. The document itself stays in English,
# for the code generators that read it; the reference on the Developers page shows each
# text in the reader's language, so each is listed here to be translated. A text missing
# here is shown in English (tests/api/test_developer_pages.py checks that none is).
REFERENCE = (
    # Operations
    lazy_gettext("Who this token acts as"),
    lazy_gettext("The caller's groups"),
    lazy_gettext("The working groups whose boards the caller reads and posts to."),
    lazy_gettext("Reports"),
    lazy_gettext("The reports the caller may read, newest first, as on the boards and in search."),
    lazy_gettext("One report"),
    lazy_gettext("Post a report"),
    lazy_gettext(
        "Post a report with its indicators to one of the caller's working groups; others "
        "reporting the same indicators are told, as when posting on the board."
    ),
    lazy_gettext("Confirm or dispute a report"),
    lazy_gettext(
        "The caller's brand has seen it too (or disputes it): one per brand, replaceable. "
        "A brand cannot say it has seen its own report too (409)."
    ),
    lazy_gettext("Campaigns"),
    lazy_gettext("The test-buy campaigns the caller may see, newest first."),
    lazy_gettext("A campaign"),
    lazy_gettext("Events"),
    lazy_gettext("The events the caller may see, soonest first; by default those not over yet."),
    lazy_gettext("An event"),
    # Parameters
    lazy_gettext("Items per page."),
    lazy_gettext("The `next_cursor` of the previous page; start without one."),
    lazy_gettext("Words to search for."),
    lazy_gettext("A working group's slug."),
    lazy_gettext("Brand affected."),
    lazy_gettext("The report's id."),
    lazy_gettext("The campaign's id."),
    lazy_gettext("The event's id."),
    lazy_gettext("Events ending after this day (UTC)."),
    lazy_gettext("Events starting before this day (UTC)."),
    # Models and fields
    lazy_gettext("A link to where this kind of problem is explained."),
    lazy_gettext("Per field (dotted path) what is wrong with it."),
    lazy_gettext("RFC 9457 problem details; `errors` names each field that was wrong."),
    lazy_gettext("Blank values are left out."),
    lazy_gettext(
        "For TLP:RED only, and then at least one: the e-mail addresses of the active hub "
        "members who may read it."
    ),
    lazy_gettext(
        "Other reports the caller may see naming the same indicator (on a single report; "
        "null in lists)."
    ),
    lazy_gettext("Pass as `cursor` to get the next page; null on the last page."),
    lazy_gettext("Source reliability, on the usual A-F intelligence scale."),
    lazy_gettext("The caller may post reports to the group's board."),
    lazy_gettext("The caller's brand belongs to the group."),
    lazy_gettext("The caller's brand's sign-up: confirmed, waitlisted, or null."),
    lazy_gettext("The caller's registration: confirmed, waitlisted, pending, or null."),
    lazy_gettext("The description, in Markdown."),
    lazy_gettext("The form correlation compares."),
    lazy_gettext("The report's page in the hub."),
    lazy_gettext("The reporting brand's slug."),
    lazy_gettext("The working group's slug, e.g. from GET /groups."),
    lazy_gettext("Traffic Light Protocol 2.0 markings; who may see what is in hub/policy.py."),
)

# Where a parameter goes, in the reference's words.
WHERE = {
    "query": lazy_gettext("query string"),
    "path": lazy_gettext("address path"),
    "header": lazy_gettext("header"),
}


def _shown(text: str) -> str:
    """A text of the OpenAPI document in the reader's language (a docstring's line breaks
    are spaces in its message)."""
    message = " ".join(text.split())
    return _(message) if message else ""


def _operations(openapi: dict[str, Any]) -> list[dict[str, Any]]:
    """Each operation of the document, with its parameters and body model named, in the
    order the document lists them."""
    operations = []
    for path, item in openapi.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            operations.append(
                {
                    "method": method.upper(),
                    "path": "/api/v1" + path,
                    "anchor": f"{method}-{path}".replace("/", "-").strip("-"),
                    "summary": _shown(operation.get("summary", "")),
                    "description": _shown(operation.get("description", "")),
                    "parameters": [
                        {
                            "name": p["name"],
                            "where": str(WHERE.get(p["in"], p["in"])),
                            "required": p.get("required", False),
                            "type": _type_of(p.get("schema", {})),
                            "description": _shown(
                                p.get("description", "")
                                or p.get("schema", {}).get("description", "")
                            ),
                        }
                        for p in operation.get("parameters", [])
                    ],
                    "body": _ref_name(body.get("schema", {})) if body else "",
                    "responses": sorted(operation.get("responses", {})),
                }
            )
    return operations


def _ref_name(schema: dict[str, Any]) -> str:
    return str(schema.get("$ref", "")).rpartition("/")[2]


def _type_of(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " | ".join(str(v) for v in schema["enum"])
    if "$ref" in schema:
        return _ref_name(schema)
    if "anyOf" in schema:
        return " | ".join(_type_of(s) for s in schema["anyOf"] if s.get("type") != "null")
    kind = str(schema.get("type", ""))
    return f"{kind} ({schema['format']})" if "format" in schema else kind


def _models(openapi: dict[str, Any]) -> list[dict[str, Any]]:
    models = []
    for name, schema in sorted(openapi.get("components", {}).get("schemas", {}).items()):
        if name in {"HTTPValidationError", "ValidationError"}:
            continue
        required = set(schema.get("required", []))
        models.append(
            {
                "name": name,
                "description": _shown(schema.get("description", "")),
                "fields": [
                    {
                        "name": field,
                        "type": _type_of(spec),
                        "required": field in required,
                        "description": _shown(spec.get("description", "")),
                    }
                    for field, spec in schema.get("properties", {}).items()
                ],
            }
        )
    return models


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    new_secret: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    openapi = request.app.state.api.openapi()
    return render(
        request,
        "developers/index.html",
        {
            "operations": _operations(openapi),
            "models": _models(openapi),
            "tokens": tokens.listing(session, actor),
            "may_make_brand_tokens": can(actor, Action.manage_brand_api, actor.brand_id),
            "new_secret": new_secret,
            "errors": errors or {},
            "values": values or {"kind": TokenKind.personal, "scope": Scope.read},
            "base_url": request.app.state.settings.base_url.rstrip("/"),
            "rate": request.app.state.settings.api_requests_per_minute,
        },
        status_code=status_code,
    )


@router.get("/developers")
def developers(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    ensure(actor, Action.use_api)
    return _page(request, session, actor)


@router.post("/developers/tokens")
def create_token(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    name: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=20)] = TokenKind.personal,
    scope: Annotated[str, Form(max_length=20)] = Scope.read,
) -> Response:
    values = {"name": name, "kind": kind, "scope": scope}
    try:
        secret = tokens.create(session, actor, name, kind, scope)
    except InvalidForm as invalid:
        session.rollback()
        return _page(request, session, actor, errors=invalid.errors, values=values, status_code=422)
    return _page(request, session, actor, new_secret=secret)


@router.post("/developers/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, token_id: int, session: SessionDep, actor: CurrentActor
) -> Response:
    token = tokens.revoke(session, actor, token_id)
    flash(request, _("The token “%(name)s” no longer works.", name=token.name))
    return redirect(request, "/developers")


def _webhooks_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    new_secret: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "developers/webhooks.html",
        {
            "hooks": webhooks.listing(session, actor),
            "labels": webhooks.EVENT_LABELS,
            "new_secret": new_secret,
            "errors": errors or {},
            "values": values or {"url": "", "events": list(webhooks.EVENT_LABELS)},
        },
        status_code=status_code,
    )


@router.get("/developers/webhooks")
def list_webhooks(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    return _webhooks_page(request, session, actor)


@router.post("/developers/webhooks")
async def create_webhook(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    form = await request.form()
    url = str(form.get("url", ""))[:2000]
    events = [str(value) for value in form.getlist("events")][:10]
    settings = request.app.state.settings
    try:
        _webhook, secret = webhooks.create(session, settings, actor, url, events)
    except InvalidForm as invalid:
        session.rollback()
        values = {"url": url, "events": events}
        return _webhooks_page(
            request, session, actor, errors=invalid.errors, values=values, status_code=422
        )
    return _webhooks_page(request, session, actor, new_secret=secret)


@router.get("/developers/webhooks/{webhook_id}")
def webhook_log(
    request: Request, webhook_id: int, session: SessionDep, actor: CurrentActor
) -> Response:
    return render(
        request,
        "developers/webhook_log.html",
        {
            "hook": webhooks.get_own(session, actor, webhook_id),
            "deliveries": webhooks.deliveries(session, actor, webhook_id),
            "labels": webhooks.EVENT_LABELS,
        },
    )


@router.post("/developers/webhooks/{webhook_id}/test")
def test_webhook(
    request: Request, webhook_id: int, session: SessionDep, actor: CurrentActor
) -> Response:
    webhooks.send_test(session, actor, webhook_id)
    flash(request, _("A test event is on its way; it shows below within a few seconds."))
    return redirect(request, f"/developers/webhooks/{webhook_id}")


@router.post("/developers/webhooks/{webhook_id}/remove")
def remove_webhook(
    request: Request, webhook_id: int, session: SessionDep, actor: CurrentActor
) -> Response:
    webhooks.remove(session, actor, webhook_id)
    flash(request, _("The webhook was removed; nothing more is sent to it."))
    return redirect(request, "/developers/webhooks")


@router.post("/developers/webhooks/deliveries/{delivery_id}/redeliver")
def redeliver(
    request: Request, delivery_id: int, session: SessionDep, actor: CurrentActor
) -> Response:
    delivery = webhooks.redeliver(session, actor, delivery_id)
    flash(request, _("The delivery will be sent again within a few seconds."))
    return redirect(request, f"/developers/webhooks/{delivery.webhook_id}")
