"""Sign-in pages: ask for an e-mail, send the browser to the brand's provider, come back."""

import time
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import httpx2
from authlib.integrations.base_client.errors import OAuthError
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from joserfc.errors import JoseError
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from hub.auth import service, sessions
from hub.auth.clients import ProviderClients
from hub.config import Settings
from hub.db import open_session
from hub.errors import Invalid
from hub.groups.models import Coordinator
from hub.members.models import Brand, OrgKind, Person, Role
from hub.web import render

router = APIRouter()
T = TypeVar("T")

LOGIN_KEY = "login"


async def in_db(request: Request, work: Callable[[Session], T]) -> T:
    """Run database work from an async route without blocking the event loop."""

    def run() -> T:
        with open_session(request) as session:
            return work(session)

    return await run_in_threadpool(run)


def safe_next(value: str | None) -> str:
    """Only same-site paths, so /login?next= cannot send people to another site."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _login_page(
    request: Request, email: str = "", error: str | None = None, next_url: str = "/"
) -> Response:
    settings: Settings = request.app.state.settings
    demo_people: list[tuple[Person, Brand, str]] = []
    if settings.dev_idp_enabled:
        demo_people = request.app.state.demo_accounts
    return render(
        request,
        "auth/login.html",
        {"email": email, "error": error, "next": next_url, "demo_people": demo_people},
        status_code=400 if error else 200,
    )


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    if getattr(request.state, "actor", None) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next_url=safe_next(next))


@router.post("/login")
async def login_start(
    request: Request, email: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/"
) -> Response:
    next_url = safe_next(next)
    try:
        brand, provider = await in_db(
            request, lambda session: service.provider_for_email(session, email)
        )
    except Invalid as error:
        return _login_page(request, email, error.message, next_url)
    clients: ProviderClients = request.app.state.provider_clients
    client = clients.get(provider)
    settings: Settings = request.app.state.settings
    redirect_uri = f"{settings.base_url}/auth/{brand.slug}/callback"
    try:
        metadata = await client.load_server_metadata()
        if metadata.get("issuer") != provider.issuer:
            return _login_page(
                request,
                email,
                f"{brand.name}'s identity provider describes itself as a different issuer "
                "than the one configured, so the hub will not trust it. Tell your brand's "
                "admin.",
                next_url,
            )
        response: Response = await client.authorize_redirect(
            request, redirect_uri, login_hint=service.normalise_email(email)
        )
    except (httpx2.HTTPError, ValueError, RuntimeError, OAuthError):
        return _login_page(
            request,
            email,
            f"We could not reach {brand.name}'s identity provider just now. Please try again "
            "in a minute; if it keeps happening, tell your brand's admin.",
            next_url,
        )
    request.session[LOGIN_KEY] = {
        "brand": brand.slug,
        "provider": provider.id,
        "email": service.normalise_email(email),
        "next": next_url,
        "started": int(time.time()),
    }
    return response


@router.get("/auth/{brand_slug}/callback")
async def login_callback(brand_slug: str, request: Request) -> Response:
    settings: Settings = request.app.state.settings
    pending: dict[str, Any] | None = request.session.pop(LOGIN_KEY, None)
    if (
        not isinstance(pending, dict)
        or pending.get("brand") != brand_slug
        or time.time() - pending.get("started", 0) > settings.login_timeout_minutes * 60
    ):
        return _login_page(
            request,
            error="This sign-in link is no longer valid (it was used already, has expired, or "
            "was started in another browser). Please sign in again.",
        )
    email, next_url = pending.get("email", ""), safe_next(pending.get("next"))
    try:
        provider = await in_db(
            request,
            lambda session: service.provider_of_brand(session, brand_slug, pending["provider"]),
        )
        if request.query_params.get("error"):
            raise service.LoginRefused(
                "The identity provider did not sign you in"
                + (
                    f": {request.query_params['error_description']}"
                    if request.query_params.get("error_description")
                    else "."
                )
            )
        # RFC 9207: when the provider names itself in the response, it must be this one.
        iss = request.query_params.get("iss")
        if iss is not None and iss != provider.issuer:
            raise service.LoginRefused("The answer came from a different identity provider.")
        client = request.app.state.provider_clients.get(provider)
        token = await client.authorize_access_token(request)
        claims = token.get("userinfo")
        if not claims:
            raise service.LoginRefused("The identity provider did not send an ID token.")
    except service.LoginRefused as refusal:
        return _login_page(request, email, refusal.message, next_url)
    except (OAuthError, JoseError, ValueError) as error:
        return _login_page(request, email, _explain(error), next_url)
    except httpx2.HTTPError:
        return _login_page(
            request, email, "We could not reach your identity provider. Please try again."
        )

    def finish(session: Session) -> tuple[str, Person]:
        person = service.complete_login(session, provider, dict(claims))
        token_value = sessions.start(
            session,
            settings,
            person,
            provider.id,
            request.client.host if request.client else "",
            request.headers.get("user-agent", ""),
        )
        session.commit()
        return token_value, person

    try:
        token_value, person = await in_db(request, finish)
    except service.LoginRefused as refusal:
        return _login_page(request, email, refusal.message, next_url)
    # A fresh session id and CSRF token at login: nothing from before sign-in carries over.
    request.session.clear()
    request.session["sid"] = token_value
    request.session["flash"] = [
        {"kind": "success", "message": f"Signed in as {person.email} through {provider.name}."}
    ]
    return RedirectResponse(next_url, status_code=303)


def _explain(error: Exception) -> str:
    text = str(error).lower()
    if "state" in text:
        return "This sign-in link is no longer valid. Please sign in again."
    if "nonce" in text:
        return (
            "The identity provider's answer did not match this sign-in (nonce). "
            "Please sign in again."
        )
    if "iss" in text or "issuer" in text:
        return "The answer came from a different identity provider than expected."
    if "invalid_grant" in text or "expired" in text:
        return "The sign-in code was expired or already used. Please sign in again."
    return "The identity provider's answer could not be verified. Please sign in again."


@router.post("/logout")
def logout(request: Request) -> Response:
    token = request.session.get("sid")
    if isinstance(token, str):
        with open_session(request) as session:
            sessions.end(session, token)
            session.commit()
    request.session.clear()
    request.session["flash"] = [{"kind": "success", "message": "You are signed out."}]
    return RedirectResponse("/login", status_code=303)


def demo_accounts(session: Session) -> list[tuple[Person, Brand, str]]:
    """People to try each role with, for the development login page's cheat sheet."""
    people = (
        select(Person, Brand)
        .join(Brand, col(Brand.id) == Person.brand_id)
        .where(col(Person.is_active).is_(True))
        .order_by(col(Person.id))
    )
    picks: list[tuple[Person, Brand, str]] = []
    admin = session.exec(people.where(Person.role == Role.alliance_admin)).first()
    if admin:
        picks.append((*admin, "Alliance admin"))
    coordinator = session.exec(
        people.join(Coordinator, col(Coordinator.person_id) == Person.id)
    ).first()
    if coordinator:
        picks.append((*coordinator, "Coordinator"))
    for role, label in ((Role.brand_admin, "Brand admin"), (Role.member, "Member")):
        rows = session.exec(
            people.where(Person.role == role, Brand.kind == OrgKind.brand).limit(2)
        ).all()
        picks.extend((person, brand, label) for person, brand in rows)
    return picks
