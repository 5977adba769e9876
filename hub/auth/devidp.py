"""The development identity provider: a small OpenID Connect provider for the demo.

Each demo brand gets its own issuer (`/dev-idp/{brand}`), so signing in to the demo runs
exactly the login code a real brand's provider would. It exists only when HUB_ENV is
development; create_app refuses to mount it in production.
"""

import base64
import hashlib
import hmac
import secrets
import threading
import time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import Environment
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlmodel import Session, select

from hub.config import Environment as HubEnvironment
from hub.config import Settings
from hub.i18n import gettext as _
from hub.members.models import Brand, BrandDomain, Person
from hub.members.service import any_of_domains

CODE_LIFETIME_SECONDS = 60
TOKEN_LIFETIME_SECONDS = 300


def dev_client_id(slug: str) -> str:
    return f"hub-dev-{slug}"


def dev_client_secret(settings: Settings, slug: str) -> str:
    return hmac.new(settings.secret_key.encode(), f"dev-idp:{slug}".encode(), "sha256").hexdigest()


def dev_issuer(settings: Settings, slug: str) -> str:
    return f"{settings.base_url}/dev-idp/{slug}"


class _UsedCodes:
    """Codes are single-use; remembered until they would have expired anyway."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_use(self, code: str) -> bool:
        now = time.time()
        with self._lock:
            self._seen = {c: t for c, t in self._seen.items() if now - t < CODE_LIFETIME_SECONDS}
            if code in self._seen:
                return False
            self._seen[code] = now
            return True


def create_dev_idp(settings: Settings, engine: Any, templates: Environment) -> FastAPI:
    if settings.env == HubEnvironment.production:
        raise RuntimeError("The development identity provider refuses to run in production.")
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "use": "sig"})
    codes = URLSafeTimedSerializer(settings.secret_key, salt="dev-idp-code")
    access_tokens = URLSafeTimedSerializer(settings.secret_key, salt="dev-idp-access")
    used_codes = _UsedCodes()

    def brand_or_none(slug: str) -> Brand | None:
        with Session(engine) as session:
            return session.exec(select(Brand).where(Brand.slug == slug)).first()

    def oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
        return JSONResponse({"error": error, "error_description": description}, status)

    @app.get("/{slug}/.well-known/openid-configuration")
    def discovery(slug: str) -> Response:
        if brand_or_none(slug) is None:
            return JSONResponse({"error": "not_found"}, 404)
        issuer = dev_issuer(settings, slug)
        return JSONResponse(
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/authorize",
                "token_endpoint": f"{issuer}/token",
                "userinfo_endpoint": f"{issuer}/userinfo",
                "jwks_uri": f"{issuer}/jwks",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "code_challenge_methods_supported": ["S256"],
                "claims_supported": ["sub", "email", "email_verified", "name", "groups"],
                "authorization_response_iss_parameter_supported": True,
            }
        )

    @app.get("/{slug}/jwks")
    def jwks(slug: str) -> Response:
        return JSONResponse({"keys": [key.as_dict(private=False)]})

    def check_request(slug: str, params: dict[str, str]) -> str | None:
        """What is wrong with an authorization request, or None (in the viewer's language:
        the page shows it to the developer)."""
        if params.get("client_id") != dev_client_id(slug):
            return _("Unknown client_id for this provider.")
        expected = f"{settings.base_url}/auth/{slug}/callback"
        if params.get("redirect_uri") != expected:
            return _("redirect_uri must be %(expected)s.", expected=expected)
        if params.get("response_type") != "code":
            return _("Only response_type=code is supported.")
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return _("PKCE with S256 is required.")
        if "openid" not in params.get("scope", "").split():
            return _("The openid scope is required.")
        if not params.get("state") or not params.get("nonce"):
            return _("state and nonce are required.")
        return None

    @app.get("/{slug}/authorize")
    def authorize_page(slug: str, request: Request) -> Response:
        brand = brand_or_none(slug)
        params = dict(request.query_params)
        problem = _("Unknown brand.") if brand is None else check_request(slug, params)
        people: list[Person] = []
        domains: list[str] = []
        if brand is not None:
            with Session(engine) as session:
                people = list(
                    session.exec(
                        select(Person).where(Person.brand_id == brand.id).order_by(Person.name)
                    )
                )
                domains = list(
                    session.exec(select(BrandDomain.domain).where(BrandDomain.brand_id == brand.id))
                )
        html = templates.get_template("auth/dev_idp.html").render(
            brand=brand,
            params=params,
            problem=problem,
            people=people,
            domains=any_of_domains(domains),
            login_hint=params.get("login_hint", ""),
        )
        return HTMLResponse(html, status_code=400 if problem else 200)

    @app.post("/{slug}/authorize")
    def authorize_submit(
        slug: str,
        request: Request,
        email: Annotated[str, Form()] = "",
        name: Annotated[str, Form()] = "",
        decision: Annotated[str, Form()] = "allow",
        client_id: Annotated[str, Form()] = "",
        redirect_uri: Annotated[str, Form()] = "",
        response_type: Annotated[str, Form()] = "",
        scope: Annotated[str, Form()] = "",
        state: Annotated[str, Form()] = "",
        nonce: Annotated[str, Form()] = "",
        code_challenge: Annotated[str, Form()] = "",
        code_challenge_method: Annotated[str, Form()] = "",
        groups: Annotated[str, Form()] = "",
    ) -> Response:
        params = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "response_type": response_type,
            "scope": scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge,
            "code_challenge_method": code_challenge_method,
        }
        if brand_or_none(slug) is None or check_request(slug, params):
            return HTMLResponse(_("Invalid authorization request."), 400)
        issuer = dev_issuer(settings, slug)
        if decision != "allow":
            query = {"error": "access_denied", "state": state, "iss": issuer}
            return RedirectResponse(f"{redirect_uri}?{urlencode(query)}", 303)
        email = email.strip().lower()
        if "@" not in email:
            return RedirectResponse(f"/dev-idp/{slug}/authorize?{urlencode(params)}", 303)
        code = codes.dumps(
            {
                "sub": hashlib.sha256(f"{slug}:{email}".encode()).hexdigest()[:24],
                "email": email,
                "name": name.strip() or email.partition("@")[0],
                "groups": [g.strip() for g in groups.split(",") if g.strip()],
                "nonce": nonce,
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "code_challenge": code_challenge,
            }
        )
        query = {"code": code, "state": state, "iss": issuer}
        return RedirectResponse(f"{redirect_uri}?{urlencode(query)}", 303)

    def client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:]).decode()
            except (ValueError, UnicodeDecodeError):
                return "", ""
            client_id, _, client_secret = decoded.partition(":")
            return client_id, client_secret
        return form.get("client_id", ""), form.get("client_secret", "")

    @app.post("/{slug}/token")
    async def token(slug: str, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        client_id, client_secret = client_credentials(request, form)
        if client_id != dev_client_id(slug) or not hmac.compare_digest(
            client_secret, dev_client_secret(settings, slug)
        ):
            return oauth_error("invalid_client", "Client authentication failed.", 401)
        if form.get("grant_type") != "authorization_code":
            return oauth_error("unsupported_grant_type", "Only authorization_code.")
        code = form.get("code", "")
        try:
            grant: dict[str, Any] = codes.loads(code, max_age=CODE_LIFETIME_SECONDS)
        except BadSignature:
            return oauth_error("invalid_grant", "The code is invalid or expired.")
        if not used_codes.first_use(code):
            return oauth_error("invalid_grant", "The code was already used.")
        if grant["client_id"] != client_id or grant["redirect_uri"] != form.get("redirect_uri"):
            return oauth_error("invalid_grant", "The code was issued to another client.")
        verifier = form.get("code_verifier", "")
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if not verifier or not hmac.compare_digest(challenge, grant["code_challenge"]):
            return oauth_error("invalid_grant", "PKCE verification failed.")
        now = int(time.time())
        claims = {
            "iss": dev_issuer(settings, slug),
            "sub": grant["sub"],
            "aud": client_id,
            "iat": now,
            "exp": now + TOKEN_LIFETIME_SECONDS,
            "nonce": grant["nonce"],
            "email": grant["email"],
            "email_verified": True,
            "name": grant["name"],
            "groups": grant["groups"],
        }
        id_token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
        access_token = access_tokens.dumps({k: claims[k] for k in ("sub", "email", "name")})
        return JSONResponse(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_SECONDS,
                "id_token": id_token,
                "scope": "openid email profile",
            },
            headers={"Cache-Control": "no-store"},
        )

    @app.get("/{slug}/userinfo")
    def userinfo(slug: str, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        try:
            data = access_tokens.loads(header[7:], max_age=TOKEN_LIFETIME_SECONDS)
        except BadSignature:
            return oauth_error("invalid_token", "The access token is invalid.", 401)
        return JSONResponse(data)

    return app
