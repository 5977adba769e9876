"""Who is calling the API: the bearer token, its scope, and its rate limit."""

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub import ratelimit
from hub.api import tokens
from hub.api.problems import ApiProblem
from hub.config import Settings
from hub.db import open_session

WINDOW = timedelta(minutes=1)

# auto_error=False: a missing header is answered by our own problem+json 401.
bearer = HTTPBearer(
    auto_error=False,
    description="An API token made on the hub's Developers page: `Authorization: Bearer hub_...`",
)

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="alliance-hub"'}


def current_caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> tokens.Caller:
    if credentials is None:
        raise ApiProblem(
            401,
            "Send an API token in the Authorization header: `Bearer hub_...`.",
            "unauthenticated",
            CHALLENGE,
        )
    settings: Settings = request.app.state.settings
    with open_session(request) as session:
        caller = tokens.caller_for(session, credentials.credentials)
        if caller is None:
            raise ApiProblem(
                401,
                "This token is unknown or was revoked, or its owner is no longer active.",
                "unauthenticated",
                CHALLENGE,
            )
        allowed = ratelimit.hit(
            session, f"api:{caller.token_id}", settings.api_requests_per_minute, WINDOW
        )
    if not allowed:
        wait = ratelimit.seconds_left(WINDOW)
        raise ApiProblem(
            429,
            f"This token made more than {settings.api_requests_per_minute} calls this minute; "
            f"try again in {wait} seconds.",
            "rate-limited",
            {"Retry-After": str(wait)},
        )
    request.state.actor = caller.actor
    return caller


CurrentCaller = Annotated[tokens.Caller, Depends(current_caller)]


def writer(caller: CurrentCaller) -> tokens.Caller:
    if not caller.may_write:
        raise ApiProblem(
            403,
            "This token may only read; make a read-and-write token to post.",
            "insufficient-scope",
        )
    return caller


Writer = Annotated[tokens.Caller, Depends(writer)]
