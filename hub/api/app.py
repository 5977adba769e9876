"""The API as its own FastAPI application, mounted at /api/v1: bearer tokens instead of
the session cookie (so no CSRF), problem+json errors, and its own OpenAPI document."""

from fastapi import FastAPI

from hub.api import problems
from hub.api.routes import router

DESCRIPTION = """\
The Alliance Hub API for brands' own tools: read the intelligence your brand may see,
post reports and sightings, read test-buy campaigns and events.

Authenticate with a token from the hub's Developers page:
`Authorization: Bearer hub_...`. A read token reads; a read-and-write token also posts.
Lists are paged with `cursor` (pass the previous page's `next_cursor`). Errors are RFC 9457
problem details. Each token may make a limited number of calls per minute; beyond it the
API answers 429 with `Retry-After`.
"""


def create_api(parent: FastAPI) -> FastAPI:
    api = FastAPI(
        title="Alliance Hub API",
        version="1",
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    # The parent's settings and database, shared (request.app is this app inside the API):
    # the same state object, not a copy, so what the parent's state holds later holds here.
    api.state = parent.state
    api.include_router(router)
    problems.install(api)
    return api
