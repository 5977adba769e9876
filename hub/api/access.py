"""Who is calling the API: the bearer token, its scope, and the rate limits (per token and
per client address)."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub import ratelimit
from hub.api import tokens
from hub.api.problems import ApiProblem
from hub.config import Settings
from hub.db import open_session
from hub.i18n import gettext as _

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
            _("Send an API token in the Authorization header: `Bearer hub_...`."),
            "unauthenticated",
            CHALLENGE,
        )
    settings: Settings = request.app.state.settings
    with open_session(request) as session:
        # Counted before the token is looked up, so unknown tokens count too.
        by_address = ratelimit.check(
            request, session, ratelimit.api_ip_limit(settings, ratelimit.client_ip(request))
        )
        if by_address is not None:
            raise _rate_limited(by_address)
        caller = tokens.caller_for(session, credentials.credentials)
        if caller is None:
            raise ApiProblem(
                401,
                _("This token is unknown or was revoked, or its owner is no longer active."),
                "unauthenticated",
                CHALLENGE,
            )
        by_token = ratelimit.check(
            request, session, ratelimit.api_token_limit(settings, caller.token_id)
        )
    if by_token is not None:
        raise _rate_limited(by_token)
    request.state.actor = caller.actor
    return caller


def _rate_limited(refusal: ratelimit.Refusal) -> ApiProblem:
    return ApiProblem(
        429, refusal.message, "rate-limited", {"Retry-After": str(refusal.retry_after)}
    )


CurrentCaller = Annotated[tokens.Caller, Depends(current_caller)]


def writer(caller: CurrentCaller) -> tokens.Caller:
    if not caller.may_write:
        raise ApiProblem(
            403,
            _("This token may only read; make a read-and-write token to post."),
            "insufficient-scope",
        )
    return caller


Writer = Annotated[tokens.Caller, Depends(writer)]
