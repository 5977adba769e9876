"""Request guards every page shares: sign-in required, CSRF tokens, security headers."""

import hmac
from collections.abc import Iterator
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub import audit, i18n, outage
from hub.auth import sessions
from hub.db import end_read, open_session
from hub.errors import DomainError, Invalid, NotSignedIn
from hub.i18n import gettext as _
from hub.web import CSRF_FIELD, CSRF_HEADER

# Everything needs a signed-in person except these paths (and the mounted static files).
# The calendar feed is opened by calendar applications, without a session: its secret
# token is the credential (hub.events.feeds).
PUBLIC_PATHS = ("/login", "/logout", "/auth/", "/healthz", "/readyz", "/calendar/", "/language")
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    ]
)


class CsrfFailed(DomainError):
    status_code = 403

    def __init__(self) -> None:
        super().__init__(
            _(
                "This form had expired or came from another site, so nothing was saved. "
                "Reload the page and try again."
            )
        )


def is_public(path: str) -> bool:
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in PUBLIC_PATHS)


def authenticate(request: Request) -> Iterator[None]:
    """Open the request's database session (routes share it through get_session), load the
    signed-in person into request.state.actor, and refuse if a page needs one."""
    request.state.actor = None
    token = request.session.get("sid")
    with open_session(request) as session:
        request.state.db = session
        if isinstance(token, str):
            request.state.actor = sessions.actor_for_token(
                session, request.app.state.settings, token
            )
            end_read(session)
            if request.state.actor is None:
                request.session.pop("sid", None)
            else:
                i18n.current().prefer(request.state.actor.language, request.state.actor.time_zone)
        if request.state.actor is None and not is_public(request.url.path):
            raise NotSignedIn()
        yield


async def check_csrf(request: Request) -> None:
    if request.method not in UNSAFE_METHODS:
        return
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not isinstance(expected, str) or not sent or not hmac.compare_digest(expected, sent):
        raise CsrfFailed()


async def refuse_nul_characters(request: Request) -> None:
    """A request whose address, query or form holds a NUL character is refused before any
    route reads it: nobody types one, and PostgreSQL cannot take one in text, so a search or
    a save would fail as a crash. (File contents may hold any byte; file names are cleaned
    where they are kept.)"""
    sent = [
        request.scope["path"],  # percent-decoded, as the route's path parameters are
        *(part for pair in request.query_params.multi_items() for part in pair),
    ]
    content_type = request.headers.get("content-type", "")
    is_form = content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))
    if request.method in UNSAFE_METHODS and is_form:
        for name, value in (await request.form()).multi_items():
            sent += [name, value] if isinstance(value, str) else [name]
    if any("\x00" in text for text in sent):
        raise Invalid(
            _(
                "What was sent held an invisible NUL character, so nothing was done. Remove it "
                "(it can come with text pasted from another program) and try again."
            )
        )


async def audit_refusal(request: Request, error: Exception) -> None:
    """Record a refused action (403) in the audit log, in its own transaction: the request's
    own work was rolled back with the error. Never fails the refusal itself."""
    actor = getattr(request.state, "actor", None)
    target = f"{request.method} {request.url.path}"

    def write() -> None:
        with open_session(request) as session:
            audit.record(
                session,
                actor.audit_id if actor is not None else None,
                actor.label if actor is not None else "(not signed in)",
                "access.denied",
                target,
                reason=type(error).__name__,
            )
            session.commit()

    try:
        await run_in_threadpool(write)
    except outage.ERRORS as failure:
        outage.note(failure, request.method, request.url.path)


class SecurityHeaders:
    """Adds the headers every response should carry (pure ASGI, so streaming is untouched)."""

    def __init__(self, app: ASGIApp, hsts: bool) -> None:
        self.app = app
        self.headers: list[tuple[bytes, bytes]] = [
            (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                existing: list[Any] = list(message.get("headers", []))
                names = {name.lower() for name, _ in existing}
                existing.extend(h for h in self.headers if h[0] not in names)
                if not scope["path"].startswith("/static/") and b"cache-control" not in names:
                    existing.append((b"cache-control", b"no-store"))
                message["headers"] = existing
            await send(message)

        await self.app(scope, receive, send_with_headers)
