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

from hub.errors import DomainError, InvalidForm

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


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    async def api_problem(request: Request, error: ApiProblem) -> Response:
        return problem(error.status, error.detail, error.kind, headers=error.headers)

    @app.exception_handler(InvalidForm)
    async def invalid_form(request: Request, error: InvalidForm) -> Response:
        return problem(422, error.message, "invalid", errors=error.errors)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> Response:
        errors = {error.field: error.message} if error.field else None
        return problem(error.status_code, error.message, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        detail = {
            404: "There is nothing at this address in the API.",
            405: "This address does not accept this method.",
        }.get(error.status_code, str(error.detail))
        return problem(error.status_code, detail, headers=getattr(error, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> Response:
        errors: dict[str, str] = {}
        for item in error.errors():
            errors.setdefault(_field_path(tuple(item.get("loc", ()))), str(item.get("msg", "")))
        return problem(422, "Some of what was sent is not valid.", "invalid", errors=errors)

    @app.exception_handler(Exception)
    async def crash(request: Request, error: Exception) -> Response:
        log.exception("unhandled API error on %s %s", request.method, request.url.path)
        return problem(500, "The error has been logged; nothing was saved. Try again later.")
