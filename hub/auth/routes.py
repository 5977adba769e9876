"""Sign-in pages: ask for an e-mail, send the browser to the brand's provider, come back."""

import time
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import httpx2
from authlib.integrations.base_client.errors import OAuthError
from babel.support import LazyProxy
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from joserfc.errors import JoseError
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from hub import i18n, ratelimit
from hub.auth import providers, service, sessions
from hub.auth.clients import ProviderClients
from hub.auth.models import IdentityProvider
from hub.config import Settings
from hub.db import open_session
from hub.errors import Invalid
from hub.groups.models import Coordinator
from hub.i18n import gettext as _
from hub.i18n import lazy_gettext
from hub.members.models import ROLE_LABELS, Brand, OrgKind, Person, Role
from hub.secretbox import SecretUnreadable
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
    demo_people: list[tuple[Person, Brand, LazyProxy]] = []
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
    settings: Settings = request.app.state.settings
    next_url = safe_next(next)
    address = service.normalise_email(email)
    limits = ratelimit.login_limits(settings, ratelimit.client_ip(request), address)
    too_many = await in_db(request, lambda session: ratelimit.check(request, session, *limits))
    if too_many is not None:
        response = _login_page(request, email, too_many.message, next_url)
        response.status_code = 429
        response.headers["Retry-After"] = str(too_many.retry_after)
        return response
    try:
        brand, provider = await in_db(
            request, lambda session: service.provider_for_email(session, email)
        )
        return await redirect_to_provider(request, brand, provider, address, next_url)
    except Invalid as error:
        return _login_page(request, email, error.message, next_url)
    except service.LoginRefused as refusal:
        return _login_page(request, email, refusal.message, next_url)


async def redirect_to_provider(
    request: Request,
    brand: Brand,
    provider: IdentityProvider,
    email: str,
    next_url: str,
    *,
    test_by: int | None = None,
) -> Response:
    """Send the browser to the provider (code flow, PKCE S256, state, nonce), remembering
    in the session which brand and provider the answer must come back from."""
    settings: Settings = request.app.state.settings
    clients: ProviderClients = request.app.state.provider_clients
    try:
        client = clients.get(provider, fresh=True)
        metadata = await client.load_server_metadata()
        if metadata.get("issuer") != provider.issuer:
            raise service.LoginRefused(
                lazy_gettext(
                    "%(brand)s's identity provider describes itself as a different issuer "
                    "than the one configured, so the hub will not trust it. Tell your "
                    "brand's admin.",
                    brand=brand.name,
                )
            )
        response: Response = await client.authorize_redirect(
            request, f"{settings.base_url}/auth/{brand.slug}/callback", login_hint=email
        )
    except SecretUnreadable as error:
        raise service.LoginRefused(
            lazy_gettext(
                "The hub cannot read %(brand)s's client secret (was HUB_ENCRYPTION_KEY or "
                "HUB_SECRET_KEY changed?). Ask the brand's admin to enter the secret again.",
                brand=brand.name,
            )
        ) from error
    except (httpx2.HTTPError, ValueError, RuntimeError, OAuthError) as error:
        raise service.LoginRefused(
            lazy_gettext(
                "We could not reach %(brand)s's identity provider just now. Please try again "
                "in a minute; if it keeps happening, tell your brand's admin.",
                brand=brand.name,
            )
        ) from error
    request.session[LOGIN_KEY] = {
        "brand": brand.slug,
        "provider": provider.id,
        "email": email,
        "next": next_url,
        "started": int(time.time()),
        "test_by": test_by,
        "version": provider.version,
    }
    return response


STALE_LINK = lazy_gettext(
    "This sign-in link is no longer valid (it was used already, has expired, or was started "
    "in another browser). Please sign in again."
)


@router.get("/auth/{brand_slug}/callback")
async def login_callback(brand_slug: str, request: Request) -> Response:
    settings: Settings = request.app.state.settings
    pending: dict[str, Any] | None = request.session.pop(LOGIN_KEY, None)
    if (
        not isinstance(pending, dict)
        or pending.get("brand") != brand_slug
        or time.time() - pending.get("started", 0) > settings.login_timeout_minutes * 60
    ):
        if getattr(request.state, "actor", None) is not None:
            request.session["flash"] = [{"kind": "error", "message": str(STALE_LINK)}]
            return RedirectResponse("/", status_code=303)
        return _login_page(request, error=str(STALE_LINK))
    email, next_url = pending.get("email", ""), safe_next(pending.get("next"))
    test_by: int | None = pending.get("test_by")
    provider: IdentityProvider | None = None
    try:
        provider = await in_db(
            request,
            lambda session: service.provider_of_brand(
                session, brand_slug, pending["provider"], test=test_by is not None
            ),
        )
        claims = await _verified_claims(request, provider)
    except service.LoginRefused as refusal:
        return await _refused(request, pending, provider, refusal)
    if test_by is not None:
        return await _finish_test_sign_in(request, pending, provider, claims)

    def finish(session: Session) -> tuple[str, Person]:
        assert provider is not None
        person = service.complete_login(session, provider, claims, ratelimit.client_ip(request))
        token_value = sessions.start(
            session,
            settings,
            person,
            provider.id,
            ratelimit.client_ip(request),
            request.headers.get("user-agent", ""),
        )
        session.commit()
        return token_value, person

    try:
        token_value, person = await in_db(request, finish)
    except service.LoginRefused as refusal:
        return _login_page(request, email, refusal.message, next_url)
    earlier = request.session.get("sid")
    if isinstance(earlier, str):
        # Signing in again in this browser ends the session it had, on the server too.
        await in_db(request, lambda session: _end(session, earlier))
    # A fresh session id and CSRF token at login: nothing from before sign-in carries over.
    request.session.clear()
    request.session["sid"] = token_value
    # From here on the hub speaks as the person chose in their profile, if they did.
    i18n.current().prefer(person.language, person.time_zone)
    signed_in = _(
        "Signed in as %(email)s through %(provider)s.", email=person.email, provider=provider.name
    )
    request.session["flash"] = [{"kind": "success", "message": signed_in}]
    return RedirectResponse(next_url, status_code=303)


def _end(session: Session, token: str) -> None:
    sessions.end(session, token)
    session.commit()


async def _verified_claims(request: Request, provider: IdentityProvider) -> dict[str, Any]:
    """Exchange the code and return the ID token's claims, checked by authlib (signature
    against the provider's keys, iss, aud, exp, iat, nonce) and here (RFC 9207 iss)."""
    if request.query_params.get("error"):
        description = request.query_params.get("error_description")
        raise service.LoginRefused(
            lazy_gettext("The identity provider did not sign you in: %(why)s", why=description)
            if description
            else lazy_gettext("The identity provider did not sign you in.")
        )
    iss = request.query_params.get("iss")
    if iss is not None and iss != provider.issuer:
        raise service.LoginRefused(
            lazy_gettext("The answer came from a different identity provider.")
        )
    try:
        client = request.app.state.provider_clients.get(provider)
        token = await client.authorize_access_token(request)
    except (OAuthError, JoseError, ValueError) as error:
        raise service.LoginRefused(_explain(error)) from error
    except (httpx2.HTTPError, SecretUnreadable) as error:
        raise service.LoginRefused(
            lazy_gettext("We could not reach your identity provider. Please try again.")
        ) from error
    claims = token.get("userinfo")
    if not claims:
        raise service.LoginRefused(lazy_gettext("The identity provider did not send an ID token."))
    return dict(claims)


async def _refused(
    request: Request,
    pending: dict[str, Any],
    provider: IdentityProvider | None,
    refusal: service.LoginRefused,
    claimed_email: str | None = None,
) -> Response:
    """Log the refusal in the brand's sign-in log (in English) and tell the person why (in
    their language)."""
    testing = pending.get("test_by") is not None
    # A test sign-in is logged under the address the provider claimed, not the tester's.
    email = (
        claimed_email
        if claimed_email is not None
        else ("" if testing else pending.get("email", ""))
    )

    def log(session: Session) -> None:
        if provider is not None:
            service.log_attempt(
                session,
                provider.brand_id,
                provider.id,
                email,
                refusal.reason,
                ratelimit.client_ip(request),
                test_only=testing,
            )
            session.commit()

    await in_db(request, log)
    if testing:
        failed = _("Test sign-in failed: %(reason)s", reason=refusal.message)
        request.session["flash"] = [{"kind": "error", "message": failed}]
        return RedirectResponse(safe_next(pending.get("next")), status_code=303)
    return _login_page(request, email, refusal.message, safe_next(pending.get("next")))


async def _finish_test_sign_in(
    request: Request, pending: dict[str, Any], provider: IdentityProvider, claims: dict[str, Any]
) -> Response:
    """A brand admin's test of a provider: check what it vouches for, sign nobody in."""
    actor = getattr(request.state, "actor", None)
    if actor is None or actor.person_id != pending["test_by"]:
        return _login_page(request, error=str(STALE_LINK))

    def check(session: Session) -> str:
        brand = session.get(Brand, provider.brand_id)
        assert brand is not None
        email, _subject = service.vouched_identity(session, brand, provider, claims)
        fresh = session.get(IdentityProvider, provider.id)
        assert fresh is not None
        if fresh.version != pending.get("version"):
            raise service.LoginRefused(
                lazy_gettext(
                    "The provider's settings changed while you were testing. Run the test again."
                )
            )
        providers.record_test_sign_in(session, actor, brand, fresh, email)
        service.log_attempt(
            session,
            brand.id or 0,
            provider.id,
            email,
            "",
            ratelimit.client_ip(request),
            test_only=True,
        )
        session.commit()
        return email

    try:
        email = await in_db(request, check)
    except service.LoginRefused as refusal:
        claimed = service.normalise_email(str(claims.get("email") or ""))
        return await _refused(request, pending, provider, refusal, claimed)
    worked = _(
        "Test sign-in worked: %(provider)s vouched for %(email)s. You can switch it on now.",
        provider=provider.name,
        email=email,
    )
    request.session["flash"] = [{"kind": "success", "message": worked}]
    return RedirectResponse(f"/brands/{pending['brand']}/sso/{provider.id}", status_code=303)


def _explain(error: Exception) -> LazyProxy:
    text = str(error).lower()
    if "state" in text:
        return lazy_gettext("This sign-in link is no longer valid. Please sign in again.")
    if "nonce" in text:
        return lazy_gettext(
            "The identity provider's answer did not match this sign-in (nonce). "
            "Please sign in again."
        )
    if "iss" in text or "issuer" in text:
        return lazy_gettext("The answer came from a different identity provider than expected.")
    if "invalid_grant" in text or "expired" in text:
        return lazy_gettext("The sign-in code was expired or already used. Please sign in again.")
    return lazy_gettext(
        "The identity provider's answer could not be verified. Please sign in again."
    )


@router.post("/logout")
def logout(request: Request) -> Response:
    token = request.session.get("sid")
    if isinstance(token, str):
        with open_session(request) as session:
            _end(session, token)
    request.session.clear()
    request.session["flash"] = [{"kind": "success", "message": _("You are signed out.")}]
    return RedirectResponse("/login", status_code=303)


def demo_accounts(session: Session) -> list[tuple[Person, Brand, LazyProxy]]:
    """People to try each role with, for the development login page's cheat sheet; their
    labels are written in each viewer's language."""
    people = (
        select(Person, Brand)
        .join(Brand, col(Brand.id) == Person.brand_id)
        .where(col(Person.is_active).is_(True))
        .order_by(col(Person.id))
    )
    picks: list[tuple[Person, Brand, LazyProxy]] = []
    admin = session.exec(people.where(Person.role == Role.alliance_admin)).first()
    if admin:
        picks.append((*admin, ROLE_LABELS[Role.alliance_admin]))
    coordinator = session.exec(
        people.join(Coordinator, col(Coordinator.person_id) == Person.id)
    ).first()
    if coordinator:
        picks.append((*coordinator, lazy_gettext("Coordinator")))
    for role in (Role.brand_admin, Role.member):
        label = ROLE_LABELS[role]
        rows = session.exec(
            people.where(Person.role == role, Brand.kind == OrgKind.brand).limit(2)
        ).all()
        picks.extend((person, brand, label) for person, brand in rows)
    return picks
