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
from hub.security import audit_refusal

log = logging.getLogger("hub.api")

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "/developers#problem-"

TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Server error",
    503: "Unavailable",
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
    body: dict[str, Any] = {
        "type": TYPE_BASE + (kind or str(status)),
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field_path(location: tuple[Any, ...]) -> str:
    # ("body", "indicators", 0, "kind") -> "indicators.0.kind"; ("query", "limit") -> "limit"
    parts = [str(part) for part in location[1:]] if len(location) > 1 else [str(location[0])]
    return ".".join(parts) or "body"


def _allowed_methods(request: Request) -> str:
    """Every method of every operation at the requested path, for a 405's Allow."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods:
            match, _ = route.matches(request.scope)
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
            404: "There is nothing at this address in the API.",
            405: "This address does not accept this method.",
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
            return problem(404, "There is nothing at this address in the API.")
        errors: dict[str, str] = {}
        for item in items:
            errors.setdefault(_field_path(tuple(item.get("loc", ()))), str(item.get("msg", "")))
        return problem(422, "Some of what was sent is not valid.", "invalid", errors=errors)

    async def database_unavailable(request: Request, error: Exception) -> Response:
        outage.note(error, request.method, request.url.path)
        return problem(
            503, outage.MESSAGE, "unavailable", headers={"Retry-After": str(outage.RETRY_AFTER_S)}
        )

    for unavailable in outage.ERRORS:
        app.add_exception_handler(unavailable, database_unavailable)

    @app.exception_handler(Exception)
    async def crash(request: Request, error: Exception) -> Response:
        log.exception("unhandled API error on %s %r", request.method, request.url.path)
        return problem(500, "The error has been logged; nothing was saved. Try again later.")
