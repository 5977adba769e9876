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
from hub.policy import Action, Actor, can, ensure
from hub.web import flash, redirect, render

router = APIRouter()

METHODS = ("get", "post", "put", "patch", "delete")


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
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": [
                        {
                            "name": p["name"],
                            "where": p["in"],
                            "required": p.get("required", False),
                            "type": _type_of(p.get("schema", {})),
                            "description": p.get("description", "")
                            or p.get("schema", {}).get("description", ""),
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
        return " or ".join(_type_of(s) for s in schema["anyOf"] if s.get("type") != "null")
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
                "description": schema.get("description", ""),
                "fields": [
                    {
                        "name": field,
                        "type": _type_of(spec),
                        "required": field in required,
                        "description": spec.get("description", ""),
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
    flash(request, f"The token “{token.name}” no longer works.")
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
        _, secret = webhooks.create(session, settings, actor, url, events)
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
    flash(request, "A test event is on its way; it shows below within a few seconds.")
    return redirect(request, f"/developers/webhooks/{webhook_id}")


@router.post("/developers/webhooks/{webhook_id}/remove")
def remove_webhook(
    request: Request, webhook_id: int, session: SessionDep, actor: CurrentActor
) -> Response:
    webhooks.remove(session, actor, webhook_id)
    flash(request, "The webhook was removed; nothing more is sent to it.")
    return redirect(request, "/developers/webhooks")


@router.post("/developers/webhooks/deliveries/{delivery_id}/redeliver")
def redeliver(
    request: Request, delivery_id: int, session: SessionDep, actor: CurrentActor
) -> Response:
    delivery = webhooks.redeliver(session, actor, delivery_id)
    flash(request, "The delivery will be sent again within a few seconds.")
    return redirect(request, f"/developers/webhooks/{delivery.webhook_id}")
