"""A brand's "Sign-in (SSO)" pages: its identity providers, sign-in log and open sessions."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from hub.auth import providers, signins
from hub.auth.models import IdentityProvider
from hub.auth.routes import in_db, redirect_to_provider
from hub.auth.service import LoginRefused
from hub.config import Settings
from hub.db import SessionDep
from hub.deps import CurrentActor
from hub.errors import InvalidForm
from hub.i18n import gettext as _
from hub.i18n import ngettext
from hub.members import service as members
from hub.members.models import Brand
from hub.policy import Action, Actor
from hub.web import after_change, flash, redirect, render

router = APIRouter()
LOG_PAGE_SIZE = 50


def _brand(session: SessionDep, actor: Actor, slug: str) -> Brand:
    return members.brand_to_manage(session, actor, slug, Action.manage_brand_sso)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _form(
    name: str,
    issuer: str,
    client_id: str,
    client_secret: str,
    domains: list[str] | None,
    admin_claim: str,
    admin_value: str,
    email_authoritative: str,
) -> providers.ProviderForm:
    return providers.ProviderForm(
        name=name,
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        domains=domains or [],
        admin_claim=admin_claim,
        admin_value=admin_value,
        email_authoritative=email_authoritative == "on",
    )


FormName = Annotated[str, Form()]


def _overview(
    request: Request,
    session: SessionDep,
    actor: Actor,
    brand: Brand,
    errors: dict[str, str] | None = None,
    values: providers.ProviderForm | None = None,
) -> Response:
    return render(
        request,
        "auth/sso.html",
        {
            "brand": brand,
            "views": providers.providers_of(session, brand),
            "domains": members.domains_of(session, brand),
            "redirect_uri": providers.redirect_uri(_settings(request), brand),
            "errors": errors or {},
            "form": values or providers.ProviderForm(),
        },
        status_code=422 if errors else 200,
    )


@router.get("/brands/{slug}/sso")
def overview(slug: str, request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    return _overview(request, session, actor, _brand(session, actor, slug))


@router.post("/brands/{slug}/sso")
def add(
    slug: str,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    name: FormName = "",
    issuer: FormName = "",
    client_id: FormName = "",
    client_secret: FormName = "",
    domains: Annotated[list[str] | None, Form()] = None,
    admin_claim: FormName = "",
    admin_value: FormName = "",
    email_authoritative: FormName = "",
) -> Response:
    brand = _brand(session, actor, slug)
    form = _form(
        name,
        issuer,
        client_id,
        client_secret,
        domains,
        admin_claim,
        admin_value,
        email_authoritative,
    )
    try:
        provider = providers.add_provider(session, _settings(request), actor, brand, form)
    except InvalidForm as invalid:
        form.client_secret = ""  # never echoed back into the page
        return _overview(request, session, actor, brand, invalid.errors, form)
    flash(
        request,
        _(
            "%(provider)s was saved, switched off. Test the connection and a sign-in, then "
            "switch it on.",
            provider=provider.name,
        ),
    )
    return redirect(request, f"/brands/{brand.slug}/sso/{provider.id}")


def _detail(
    request: Request,
    session: SessionDep,
    brand: Brand,
    provider: IdentityProvider,
    errors: dict[str, str] | None = None,
    values: providers.ProviderForm | None = None,
    problems: list[str] | None = None,
) -> Response:
    view = next(v for v in providers.providers_of(session, brand) if v.provider.id == provider.id)
    form = values or providers.ProviderForm(
        name=provider.name,
        issuer=provider.issuer,
        client_id=provider.client_id,
        # A brand-wide provider (no domain of its own) serves every unassigned domain.
        domains=view.domains or providers.unassigned_domains(session, brand),
        admin_claim=provider.admin_claim,
        admin_value=provider.admin_value,
        email_authoritative=provider.email_authoritative,
    )
    return render(
        request,
        "auth/sso_provider.html",
        {
            "brand": brand,
            "provider": provider,
            "view": view,
            "domains": members.domains_of(session, brand),
            "redirect_uri": providers.redirect_uri(_settings(request), brand),
            "errors": errors or {},
            "form": form,
            "problems": problems,
        },
        block="check" if problems is not None else None,
        status_code=422 if errors else 200,
    )


@router.get("/brands/{slug}/sso/{provider_id}")
def detail(
    slug: str, provider_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    brand = _brand(session, actor, slug)
    return _detail(request, session, brand, providers.get_provider(session, brand, provider_id))


@router.post("/brands/{slug}/sso/{provider_id}")
def update(
    slug: str,
    provider_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    name: FormName = "",
    issuer: FormName = "",
    client_id: FormName = "",
    client_secret: FormName = "",
    domains: Annotated[list[str] | None, Form()] = None,
    admin_claim: FormName = "",
    admin_value: FormName = "",
    email_authoritative: FormName = "",
) -> Response:
    brand = _brand(session, actor, slug)
    provider = providers.get_provider(session, brand, provider_id)
    form = _form(
        name,
        issuer,
        client_id,
        client_secret,
        domains,
        admin_claim,
        admin_value,
        email_authoritative,
    )
    was_tested = provider.tested
    try:
        providers.update_provider(session, _settings(request), actor, brand, provider, form)
    except InvalidForm as invalid:
        form.client_secret = ""
        session.refresh(provider)
        return _detail(request, session, brand, provider, invalid.errors, form)
    if was_tested and not provider.tested:
        message = _(
            "%(provider)s was saved. Its connection changed: run a test sign-in again.",
            provider=provider.name,
        )
    else:
        message = _("%(provider)s was saved.", provider=provider.name)
    flash(request, message)
    return redirect(request, f"/brands/{brand.slug}/sso/{provider.id}")


@router.post("/brands/{slug}/sso/{provider_id}/check")
def check(
    slug: str, provider_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    brand = _brand(session, actor, slug)
    provider = providers.get_provider(session, brand, provider_id)
    problems = providers.check_connection(session, _settings(request), actor, brand, provider)
    return _detail(request, session, brand, provider, problems=problems)


@router.post("/brands/{slug}/sso/{provider_id}/test-sign-in")
async def test_sign_in(
    slug: str, provider_id: int, request: Request, actor: CurrentActor
) -> Response:
    def load(session: SessionDep) -> tuple[Brand, IdentityProvider]:
        brand = _brand(session, actor, slug)
        return brand, providers.get_provider(session, brand, provider_id)

    brand, provider = await in_db(request, load)
    try:
        return await redirect_to_provider(
            request,
            brand,
            provider,
            actor.email,
            f"/brands/{slug}/sso/{provider_id}",
            test_by=actor.person_id,
        )
    except LoginRefused as refusal:
        flash(
            request, _("Test sign-in could not start: %(reason)s", reason=refusal.message), "error"
        )
        return redirect(request, f"/brands/{slug}/sso/{provider_id}")


@router.post("/brands/{slug}/sso/{provider_id}/enable")
def enable(
    slug: str, provider_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    brand = _brand(session, actor, slug)
    provider = providers.get_provider(session, brand, provider_id)
    providers.set_enabled(session, actor, brand, provider, True)
    flash(
        request,
        _(
            "%(provider)s is switched on: its people sign in with it from now on.",
            provider=provider.name,
        ),
    )
    return redirect(request, f"/brands/{brand.slug}/sso/{provider.id}")


@router.post("/brands/{slug}/sso/{provider_id}/disable")
def disable(
    slug: str, provider_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    brand = _brand(session, actor, slug)
    provider = providers.get_provider(session, brand, provider_id)
    providers.set_enabled(session, actor, brand, provider, False)
    flash(
        request,
        _("%(provider)s is switched off: nobody can sign in with it now.", provider=provider.name),
    )
    return redirect(request, f"/brands/{brand.slug}/sso/{provider.id}")


@router.get("/brands/{slug}/sign-ins")
def sign_in_log(
    slug: str,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    before: int | None = None,
) -> Response:
    brand = _brand(session, actor, slug)
    lines = signins.sign_in_log(session, actor, brand, LOG_PAGE_SIZE + 1, before)
    more = len(lines) > LOG_PAGE_SIZE
    lines = lines[:LOG_PAGE_SIZE]
    return render(
        request,
        "auth/sign_ins.html",
        {
            "brand": brand,
            "lines": lines,
            "next_before": lines[-1].event.id if more and lines else None,
        },
        block="lines",
    )


def _sessions_page(request: Request, session: SessionDep, actor: Actor, brand: Brand) -> Response:
    return render(
        request,
        "auth/sessions.html",
        {"brand": brand, "open": signins.open_sessions(session, actor, brand)},
        block="sessions",
    )


@router.get("/brands/{slug}/sessions")
def open_sessions(
    slug: str, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    brand = members.brand_to_manage(session, actor, slug)
    return _sessions_page(request, session, actor, brand)


def _sessions_changed(
    request: Request, session: SessionDep, actor: Actor, brand: Brand, message: str
) -> Response:
    return after_change(
        request,
        message,
        f"/brands/{brand.slug}/sessions",
        "auth/sessions.html",
        {"brand": brand, "open": signins.open_sessions(session, actor, brand)},
        block="sessions",
    )


@router.post("/brands/{slug}/sessions/{session_id}/end")
def end_session(
    slug: str, session_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    brand = members.brand_to_manage(session, actor, slug)
    person = signins.end_session(session, actor, brand, session_id)
    return _sessions_changed(
        request, session, actor, brand, _("One of %(name)s's sessions ended.", name=person.name)
    )


@router.post("/brands/{slug}/people/{person_id}/sign-out")
def sign_out_person(
    slug: str, person_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    brand = members.brand_to_manage(session, actor, slug)
    person = signins.sign_out_person(session, actor, brand, person_id)
    return _sessions_changed(
        request, session, actor, brand, _("%(name)s is signed out everywhere.", name=person.name)
    )


@router.post("/brands/{slug}/sessions/end-all")
def sign_out_brand(
    slug: str, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    brand = members.brand_to_manage(session, actor, slug)
    ended = signins.sign_out_brand(session, actor, brand)
    return _sessions_changed(
        request,
        session,
        actor,
        brand,
        ngettext(
            "Everyone at %(brand)s is signed out (%(num)s session).",
            "Everyone at %(brand)s is signed out (%(num)s sessions).",
            ended,
            brand=brand.name,
        ),
    )
