"""Errors of the JSON API as RFC 9457 problem details (application/problem+json).

Every error the API can give goes through here, including the ones FastAPI and Starlette
raise themselves, so a client only ever has to read one shape of error.
"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from hub import outage
from hub.errors import DomainError, InvalidForm
from hub.i18n import gettext as _
from hub.i18n import lazy_gettext, ngettext
from hub.security import audit_refusal

log = logging.getLogger("hub.api")

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "/developers#problem-"

# In the language the caller asks for (Accept-Language): translated whenever one is sent.
TITLES = {
    400: lazy_gettext("Bad request"),
    401: lazy_gettext("Not authenticated"),
    403: lazy_gettext("Not allowed"),
    404: lazy_gettext("Not found"),
    405: lazy_gettext("Method not allowed"),
    409: lazy_gettext("Conflict"),
    413: lazy_gettext("Too large"),
    415: lazy_gettext("Unsupported media type"),
    422: lazy_gettext("Invalid input"),
    429: lazy_gettext("Too many requests"),
    500: lazy_gettext("Server error"),
    503: lazy_gettext("Unavailable"),
}


class Problem(BaseModel):
    """RFC 9457 problem details; `errors` names each field that was wrong."""

    type: str = Field(description="A link to where this kind of problem is explained.")
    title: str
    status: int
    detail: str
    errors: dict[str, str] | None = Field(
        default=None, description="Per field (dotted path) what is wrong with it."
    )


PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

# What each error means in the OpenAPI document, and the headers that come with it.
MEANINGS: dict[int, tuple[str, dict[str, Any]]] = {
    400: ("A cursor this API did not make.", {}),
    401: (
        "No token, or one that is unknown or revoked, or whose owner is no longer active.",
        {
            "WWW-Authenticate": {
                "description": "How to authenticate: `Bearer`.",
                "required": True,
                "schema": {"type": "string"},
            }
        },
    ),
    403: ("The token or its owner may not do this.", {}),
    404: ("There is no such thing, or the caller may not see it.", {}),
    409: ("This conflicts with the thing's state.", {}),
    422: ("Some of what was sent is not valid; `errors` names each field.", {}),
    429: (
        "Too many calls with this token this minute.",
        {
            "Retry-After": {
                "description": "Seconds to wait before calling again.",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    ),
    503: (
        "The hub cannot reach its database at the moment; call again later.",
        {
            "Retry-After": {
                "description": "Seconds to wait before calling again.",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    ),
}


def responses(
    *statuses: int, notes: dict[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The documented error answers of an operation, all application/problem+json; `notes`
    says what a status means for this operation, if not the usual."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        description, headers = MEANINGS[status]
        documented[status] = {
            "description": (notes or {}).get(status, description),
            "content": {MEDIA_TYPE: {"schema": PROBLEM_REF}},
        }
        if headers:
            documented[status]["headers"] = headers
    return documented


class ApiProblem(Exception):
    """Raised by API code for an error that is not a domain rule."""

    def __init__(
        self, status: int, detail: str, kind: str = "", headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.headers = headers or {}


def problem(
    status: int,
    detail: str,
    kind: str = "",
    errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The problem+json answer. `title`, `detail` and the texts of `errors` are for people,
    in the caller's language; `type`, `status` and the field names are for programs."""
    title = TITLES.get(status)
    body: dict[str, Any] = {
        "type": TYPE_BASE + (kind or str(status)),
        "title": str(title) if title is not None else _("Error"),
        "status": status,
        "detail": str(detail),
    }
    if errors:
        body["errors"] = {field: str(text) for field, text in errors.items()}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field_path(location: tuple[Any, ...]) -> str:
    # ("body", "indicators", 0, "kind") -> "indicators.0.kind"; ("query", "limit") -> "limit"
    parts = [str(part) for part in location[1:]] if len(location) > 1 else [str(location[0])]
    return ".".join(parts) or "body"


# What is wrong with a field, by the kind of mistake pydantic names; translated when sent.
INVALID = {
    "missing": lazy_gettext("This field is required."),
    "extra_forbidden": lazy_gettext("There is no such field here."),
    "string_pattern_mismatch": lazy_gettext("This text is not in the expected form."),
    "string_type": lazy_gettext("Give a text."),
    "int_parsing": lazy_gettext("Give a whole number."),
    "int_type": lazy_gettext("Give a whole number."),
    "int_from_float": lazy_gettext("Give a whole number."),
    "bool_parsing": lazy_gettext("Give true or false."),
    "bool_type": lazy_gettext("Give true or false."),
    "list_type": lazy_gettext("Give a list."),
    "dict_type": lazy_gettext("Give a JSON object."),
    "model_attributes_type": lazy_gettext("Give a JSON object."),
    "model_type": lazy_gettext("Give a JSON object."),
    "json_invalid": lazy_gettext("The body is not valid JSON."),
    "date_parsing": lazy_gettext("Give the day as YYYY-MM-DD."),
    "date_from_datetime_parsing": lazy_gettext("Give the day as YYYY-MM-DD."),
    "date_type": lazy_gettext("Give the day as YYYY-MM-DD."),
}


def _invalid(item: dict[str, Any]) -> str:
    """What is wrong with one field, in the caller's language (pydantic's own English
    message for the rarer kinds of mistake)."""
    kind = str(item.get("type", ""))
    ctx: dict[str, Any] = item.get("ctx") or {}
    if kind == "value_error" and ctx.get("error") is not None:
        return str(ctx["error"])  # the hub's own ValueError, written when it was raised
    if kind in {"enum", "literal_error"} and "expected" in ctx:
        choices = str(ctx["expected"]).replace(" or ", ", ")
        return _("Choose one of: %(choices)s.", choices=choices)
    if kind in {"string_too_long", "too_long"} and "max_length" in ctx:
        most = int(ctx["max_length"])
        if kind == "too_long":
            return ngettext("At most %(num)s item.", "At most %(num)s items.", most)
        return ngettext("At most %(num)s character.", "At most %(num)s characters.", most)
    if kind in {"string_too_short", "too_short"} and "min_length" in ctx:
        least = int(ctx["min_length"])
        if kind == "too_short":
            return ngettext("At least %(num)s item.", "At least %(num)s items.", least)
        return ngettext("At least %(num)s character.", "At least %(num)s characters.", least)
    if kind == "greater_than_equal" and "ge" in ctx:
        return _("Give at least %(limit)s.", limit=ctx["ge"])
    if kind == "less_than_equal" and "le" in ctx:
        return _("Give at most %(limit)s.", limit=ctx["le"])
    known = INVALID.get(kind)
    return str(known) if known is not None else str(item.get("msg", ""))


def _allowed_methods(request: Request) -> str:
    """Every method of every operation at the requested path, for a 405's Allow."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods:
            match, _child_scope = route.matches(request.scope)
            if match != Match.NONE:
                methods |= route.methods
    return ", ".join(sorted(methods))


def _add_problem_schema(app: FastAPI) -> None:
    """Errors are documented as application/problem+json with the Problem schema, which
    no operation names as its model, so it is added to the document's components."""
    make_document = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = make_document()
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas["Problem"] = Problem.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    _add_problem_schema(app)

    @app.exception_handler(ApiProblem)
    async def api_problem(request: Request, error: ApiProblem) -> Response:
        if error.status == 403:
            await audit_refusal(request, error)
        return problem(error.status, error.detail, error.kind, headers=error.headers)

    @app.exception_handler(InvalidForm)
    async def invalid_form(request: Request, error: InvalidForm) -> Response:
        return problem(422, error.message, "invalid", errors=error.errors)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> Response:
        if error.status_code == 403:
            await audit_refusal(request, error)
        errors = {error.field: error.message} if error.field else None
        return problem(error.status_code, error.message, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        detail = {
            404: _("There is nothing at this address in the API."),
            405: _("This address does not accept this method."),
        }.get(error.status_code, str(error.detail))
        headers = dict(getattr(error, "headers", None) or {})
        if error.status_code == 405:
            # Starlette names only the methods of the first route matching the path.
            headers["Allow"] = _allowed_methods(request)
        return problem(error.status_code, detail, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> Response:
        items = error.errors()
        if any(tuple(item.get("loc", ()))[:1] == ("path",) for item in items):
            # /reports/abc or /reports/0 names no report: there is nothing at that address.
            return problem(404, _("There is nothing at this address in the API."))
        errors: dict[str, str] = {}
        for item in items:
            errors.setdefault(_field_path(tuple(item.get("loc", ()))), _invalid(dict(item)))
        return problem(422, _("Some of what was sent is not valid."), "invalid", errors=errors)

    async def database_unavailable(request: Request, error: Exception) -> Response:
        outage.note(error, request.method, request.url.path)
        return problem(
            503,
            outage.message(),
            "unavailable",
            headers={"Retry-After": str(outage.RETRY_AFTER_S)},
        )

    for unavailable in outage.ERRORS:
        app.add_exception_handler(unavailable, database_unavailable)

    @app.exception_handler(Exception)
    async def crash(request: Request, error: Exception) -> Response:
        log.exception("unhandled API error on %s %r", request.method, request.url.path)
        return problem(500, _("The error has been logged; nothing was saved. Try again later."))
