"""create_app(): settings, middleware, routers, templates and the error pages."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlencode

import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine, text
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp

from hub import ROOT, outage, query_count
from hub.admin.audit_routes import router as audit_router
from hub.admin.routes import router as admin_router
from hub.api import problems
from hub.api.app import create_api
from hub.api.pages import router as developers_router
from hub.audit import RequestOrigin
from hub.auth.clients import ProviderClients
from hub.auth.routes import demo_accounts
from hub.auth.routes import router as auth_router
from hub.auth.sso_routes import router as sso_router
from hub.config import Environment, Settings, get_settings
from hub.db import make_engine, session_factory
from hub.errors import DomainError, NotSignedIn
from hub.events.routes import router as events_router
from hub.groups.routes import router as groups_router
from hub.home import router as home_router
from hub.i18n import Localise, lazy_gettext
from hub.i18n import gettext as _
from hub.impact.referral_routes import router as referral_router
from hub.impact.report_routes import router as impact_report_router
from hub.impact.routes import router as impact_router
from hub.impact.snapshot import SharedFigures
from hub.intel.discussion_routes import router as discussion_router
from hub.intel.import_routes import router as import_router
from hub.intel.routes import router as intel_router
from hub.members.personal_routes import router as personal_router
from hub.members.routes import router as members_router
from hub.notify.routes import router as notify_router
from hub.query_count import QueryCountHeader
from hub.ratelimit import RateLimited
from hub.security import (
    SecurityHeaders,
    audit_refusal,
    authenticate,
    check_csrf,
    refuse_nul_characters,
)
from hub.testbuys.purchase_routes import router as purchase_router
from hub.testbuys.routes import router as testbuys_router
from hub.web import build_environment, is_fragment_request, render

log = logging.getLogger("hub")


class HubApp(FastAPI):
    """FastAPI with the security headers outermost, so even the crash page carries them."""

    def build_middleware_stack(self) -> ASGIApp:
        settings: Settings = self.state.settings
        stack = SecurityHeaders(
            RequestOrigin(Localise(super().build_middleware_stack())),
            hsts=settings.secure_cookies,
        )
        return QueryCountHeader(stack) if settings.count_queries else stack


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    settings.check()
    engine = engine or make_engine(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        if settings.dev_idp_enabled:
            with app.state.session_factory() as session:
                app.state.demo_accounts = demo_accounts(session)
        yield

    app = HubApp(
        title="Alliance Hub",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(authenticate), Depends(check_csrf), Depends(refuse_nul_characters)],
    )
    app.state.engine = engine
    if settings.count_queries:
        query_count.watch(engine)
    app.state.session_factory = session_factory(engine)
    app.state.templates = build_environment(auto_reload=settings.env != Environment.production)
    forget_everything(app, settings)

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        # Behind https the name carries the __Host- prefix: browsers then accept the cookie
        # only if it is Secure, for this host alone, on every path.
        session_cookie=("__Host-" if settings.secure_cookies else "") + "hub_session",
        max_age=settings.session_days * 86400,
        same_site="lax",
        https_only=settings.secure_cookies,
    )

    for router in (
        home_router,
        auth_router,
        sso_router,
        members_router,
        groups_router,
        import_router,  # before intel_router: /groups/{slug}/intel/import is not a report
        intel_router,
        discussion_router,
        notify_router,
        admin_router,
        audit_router,
        purchase_router,  # before testbuys_router: /testbuys/personas is not a campaign id
        testbuys_router,
        events_router,
        referral_router,
        impact_report_router,
        impact_router,
        personal_router,
        developers_router,
    ):
        app.include_router(router)
    app.state.api = create_api(app)
    app.mount("/api/v1", app.state.api)
    app.mount("/static", StaticFiles(directory=ROOT / "static"), name="static")
    if settings.dev_idp_enabled:
        from hub.auth.devidp import create_dev_idp

        app.mount("/dev-idp", create_dev_idp(settings, engine, app.state.templates))

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> Response:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            log.warning("readiness: the database is not reachable")
            return JSONResponse(
                {"status": "database unreachable"},
                status_code=503,
                headers={"Retry-After": str(outage.RETRY_AFTER_S)},
            )
        return JSONResponse({"status": "ok"})

    _install_error_pages(app)
    return app


def forget_everything(app: FastAPI, settings: Settings) -> None:
    """Set what the app learns while it runs (identity providers' metadata, counted
    figures, demo accounts) to a new start. The tests reuse one app this way: FastAPI
    prepares each route's request model at an app's first request, half a second a test."""
    app.state.settings = settings
    app.state.provider_clients = ProviderClients(settings)
    app.state.shared_figures = SharedFigures(settings.impact_cache_ttl)
    app.state.demo_accounts = []


def _error_page(request: Request, status_code: int, title: str, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        # Addresses under /api/ that the API itself does not answer (such as one whose id
        # holds a line break): still the API's problem+json.
        return problems.problem(status_code, message)
    response = render(
        request,
        "errors/error.html",
        {"status_code": status_code, "title": title, "message": message},
        block="message" if is_fragment_request(request) else None,
        status_code=status_code,
    )
    if is_fragment_request(request):
        # htmx shows the message in the page's message area instead of the swap target.
        response.headers["HX-Retarget"] = "#messages"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


# Shown in the viewer's language: each title is translated whenever a page is made.
TITLES = {
    400: lazy_gettext("That did not work"),
    401: lazy_gettext("Please sign in"),
    403: lazy_gettext("Not allowed"),
    404: lazy_gettext("Page not found"),
    405: lazy_gettext("Not allowed here"),
    409: lazy_gettext("That clashes with something"),
    422: lazy_gettext("Please check what you entered"),
    429: lazy_gettext("Please slow down"),
    500: lazy_gettext("Something went wrong on our side"),
}


def _title(status: int) -> str:
    return str(TITLES.get(status) or TITLES[400])


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, error: NotSignedIn) -> Response:
        target = "/login"
        if request.method == "GET" and request.url.path != "/":
            wanted = request.url.path
            if request.url.query:
                wanted += f"?{request.url.query}"
            target += "?" + urlencode({"next": wanted}, safe="/")
        if request.headers.get("hx-request") == "true":
            return Response(status_code=401, headers={"HX-Redirect": target})
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "not signed in"}, status_code=401)
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> Response:
        if error.status_code == 403:
            await audit_refusal(request, error)
        response = _error_page(request, error.status_code, _title(error.status_code), error.message)
        if isinstance(error, RateLimited):
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        messages = {
            404: _("We could not find that page. It may have moved, or the address has a typo."),
            405: _("That address does not accept this kind of request."),
        }
        status = error.status_code
        message = messages.get(status, str(error.detail))
        return _error_page(request, status, _title(status), message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> Response:
        fields = sorted({str(e["loc"][-1]) for e in error.errors() if e.get("loc")})
        if fields:
            message = _(
                "Some of what was sent could not be understood (%(fields)s).",
                fields=", ".join(fields),
            )
        else:
            message = _("Some of what was sent could not be understood.")
        return _error_page(request, 422, _title(422), message)

    async def database_unavailable(request: Request, error: Exception) -> Response:
        outage.note(error, request.method, request.url.path)
        response = _error_page(request, 503, outage.title(), outage.message())
        response.headers["Retry-After"] = str(outage.RETRY_AFTER_S)
        return response

    for unavailable in outage.ERRORS:
        app.add_exception_handler(unavailable, database_unavailable)

    @app.exception_handler(Exception)
    async def crash(request: Request, error: Exception) -> Response:
        log.exception("unhandled error on %s %r", request.method, request.url.path)
        return _error_page(
            request,
            500,
            _title(500),
            _(
                "The error has been logged. Nothing you saved before this was lost; please try "
                "again in a moment."
            ),
        )
