"""A brand's identity provider settings: add, edit, test, enable, disable.

A provider starts as a draft. "Test connection" reads its discovery document and keys;
"test sign-in" runs a real login with it; only a provider whose current settings passed a
test sign-in can be enabled. Every change bumps its version, so each worker process
rebuilds its cached OAuth client on the next login.
"""

import ipaddress
import re
import socket
from dataclasses import dataclass, field
from urllib.parse import urlparse

import httpx
from babel.support import LazyProxy
from sqlmodel import Session, col, select

from hub import audit, i18n
from hub.auth.clients import discovery_url
from hub.auth.models import IdentityProvider
from hub.clock import utcnow
from hub.config import Environment, Settings
from hub.errors import Conflict, FormCheck, NotFound
from hub.i18n import gettext as _
from hub.i18n import lazy_gettext
from hub.members.models import Brand, BrandDomain
from hub.members.service import DOMAIN_PATTERN
from hub.policy import Action, Actor, ensure
from hub.secretbox import seal

CHECK_TIMEOUT_SECONDS = 8


@dataclass
class ProviderForm:
    """What a brand admin types on the SSO page."""

    name: str = ""
    issuer: str = ""
    client_id: str = ""
    client_secret: str = ""  # empty when editing: keep the saved one
    domains: list[str] = field(default_factory=list)
    admin_claim: str = ""
    admin_value: str = ""
    email_authoritative: bool = False


@dataclass(frozen=True)
class ProviderView:
    provider: IdentityProvider
    domains: list[str]


def get_provider(session: Session, brand: Brand, provider_id: int) -> IdentityProvider:
    provider = session.get(IdentityProvider, provider_id)
    if provider is None or provider.brand_id != brand.id:
        raise NotFound(_("This brand has no such identity provider."))
    return provider


def providers_of(session: Session, brand: Brand) -> list[ProviderView]:
    providers = session.exec(
        select(IdentityProvider)
        .where(IdentityProvider.brand_id == brand.id)
        .order_by(col(IdentityProvider.id))
    ).all()
    domains = session.exec(
        select(BrandDomain).where(BrandDomain.brand_id == brand.id).order_by(BrandDomain.domain)
    ).all()
    return [
        ProviderView(p, [d.domain for d in domains if d.provider_id == p.id]) for p in providers
    ]


def unassigned_domains(session: Session, brand: Brand) -> list[str]:
    return list(
        session.exec(
            select(BrandDomain.domain)
            .where(BrandDomain.brand_id == brand.id, col(BrandDomain.provider_id).is_(None))
            .order_by(BrandDomain.domain)
        )
    )


def redirect_uri(settings: Settings, brand: Brand) -> str:
    return f"{settings.base_url}/auth/{brand.slug}/callback"


def _normalise_domains(raw: list[str]) -> list[str]:
    found: set[str] = set()
    for item in raw:
        for part in re.split(r"[\s,]+", item):
            if part.strip():
                found.add(part.strip().lower().lstrip("@"))
    return sorted(found)


def _check_form(
    session: Session,
    settings: Settings,
    actor: Actor,
    brand: Brand,
    form: ProviderForm,
    provider: IdentityProvider | None,
) -> tuple[FormCheck, list[str]]:
    check = FormCheck()
    form.issuer = form.issuer.strip().rstrip("/")
    issuer_problem = issuer_address_problem(settings, form.issuer)
    if issuer_problem:
        check.fail("issuer", issuer_problem)
    elif len(form.issuer) > 500:
        check.fail("issuer", _("An issuer URL has at most 500 characters."))
    if not form.client_id.strip():
        check.fail("client_id", _("Enter the client id the provider gave you."))
    elif len(form.client_id.strip()) > 255:
        check.fail("client_id", _("A client id has at most 255 characters: check what was pasted."))
    if provider is None and not form.client_secret.strip():
        check.fail("client_secret", _("Enter the client secret the provider gave you."))
    elif len(form.client_secret.strip().encode()) > 500:
        # Sealed, a secret's bytes grow by half and must fit in its 1,000 characters.
        check.fail("client_secret", _("A client secret has at most 500 characters."))
    if bool(form.admin_claim.strip()) != bool(form.admin_value.strip()):
        check.fail("admin_claim", _("Give both the claim name and the value, or neither."))
    elif len(form.admin_claim.strip()) > 100 or len(form.admin_value.strip()) > 200:
        check.fail(
            "admin_claim", _("Keep the claim name under 100 characters, its value under 200.")
        )
    domains = _normalise_domains(form.domains)
    if not domains:
        check.fail(
            "domains", _("Choose at least one e-mail domain whose people use this provider.")
        )
    for domain in domains:
        if not DOMAIN_PATTERN.match(domain):
            check.fail("domains", _("'%(domain)s' is not a domain name.", domain=domain))
            break
        owner = session.exec(select(BrandDomain).where(BrandDomain.domain == domain)).first()
        if owner is not None and owner.brand_id != brand.id:
            check.fail(
                "domains",
                _("@%(domain)s belongs to another organisation in the hub.", domain=domain),
            )
            break
        # A brand admin may only use the domains the alliance recorded for the brand;
        # otherwise a brand could claim another company's addresses.
        if owner is None and not actor.is_alliance_admin:
            check.fail(
                "domains",
                _(
                    "@%(domain)s is not one of %(brand)s's domains. Ask the alliance to add it.",
                    domain=domain,
                    brand=brand.name,
                ),
            )
            break
        if owner is not None and owner.provider_id not in (None, provider and provider.id):
            other = session.get(IdentityProvider, owner.provider_id)
            if other is not None and other.enabled:
                check.fail(
                    "domains",
                    _(
                        "@%(domain)s already signs in with %(provider)s.",
                        domain=domain,
                        provider=other.name,
                    ),
                )
                break
    return check, domains


def _assign_domains(
    session: Session, brand: Brand, provider: IdentityProvider, domains: list[str]
) -> None:
    rows = session.exec(select(BrandDomain).where(BrandDomain.brand_id == brand.id)).all()
    known = {row.domain: row for row in rows}
    for row in rows:
        if row.provider_id == provider.id and row.domain not in domains:
            row.provider_id = None
            session.add(row)
    for domain in domains:
        row = known.get(domain) or BrandDomain(brand_id=brand.id or 0, domain=domain)
        row.provider_id = provider.id
        session.add(row)


def add_provider(
    session: Session,
    settings: Settings,
    actor: Actor,
    brand: Brand,
    form: ProviderForm,
) -> IdentityProvider:
    """Save a new provider as a draft: switched off until tested and enabled."""
    ensure(actor, Action.manage_brand_sso, brand.id)
    check, domains = _check_form(session, settings, actor, brand, form, None)
    check.done()
    provider = IdentityProvider(
        brand_id=brand.id or 0,
        # A name is data, kept as saved: the default one is in English.
        name=form.name.strip()[:120] or f"{brand.name} sign-in",
        issuer=form.issuer,
        client_id=form.client_id.strip(),
        client_secret_sealed=seal(settings, form.client_secret.strip()),
        admin_claim=form.admin_claim.strip(),
        admin_value=form.admin_value.strip(),
        email_authoritative=form.email_authoritative,
        enabled=False,
    )
    session.add(provider)
    session.flush()
    _assign_domains(session, brand, provider, domains)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "idp.added",
        f"brand:{brand.slug}",
        provider=provider.id,
        issuer=provider.issuer,
        client_id=provider.client_id,
        domains=domains,
    )
    session.commit()
    return provider


def update_provider(
    session: Session,
    settings: Settings,
    actor: Actor,
    brand: Brand,
    provider: IdentityProvider,
    form: ProviderForm,
) -> IdentityProvider:
    """Change the settings; takes effect at the next sign-in in every worker."""
    ensure(actor, Action.manage_brand_sso, brand.id)
    check, domains = _check_form(session, settings, actor, brand, form, provider)
    check.done()
    connection_changed = (
        form.issuer != provider.issuer
        or form.client_id.strip() != provider.client_id
        or bool(form.client_secret.strip())
    )
    provider.name = form.name.strip()[:120] or provider.name
    provider.issuer = form.issuer
    provider.client_id = form.client_id.strip()
    if form.client_secret.strip():
        provider.client_secret_sealed = seal(settings, form.client_secret.strip())
    provider.admin_claim = form.admin_claim.strip()
    provider.admin_value = form.admin_value.strip()
    provider.email_authoritative = form.email_authoritative
    # Names, domains and the role rule do not need a new test sign-in.
    _bump(provider, keep_tested=not connection_changed)
    if connection_changed:
        provider.checked_at, provider.check_problems = None, ""
    _assign_domains(session, brand, provider, domains)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "idp.changed",
        f"brand:{brand.slug}",
        provider=provider.id,
        issuer=provider.issuer,
        client_id=provider.client_id,
        secret_replaced=bool(form.client_secret.strip()),
        domains=domains,
    )
    session.commit()
    return provider


def _bump(provider: IdentityProvider, keep_tested: bool) -> None:
    was_tested = provider.tested
    provider.version += 1
    provider.updated_at = utcnow()
    if was_tested and keep_tested:
        provider.tested_version = provider.version


def issuer_address_problem(settings: Settings, issuer: str, what: str = "issuer") -> str | None:
    """What is wrong with an issuer URL (or another address the hub would fetch, named by
    `what`) before anything is fetched from it, in the viewer's language."""
    problem = _address_problem(settings, issuer, what)
    return None if problem is None else str(problem)


def _address_problem(settings: Settings, issuer: str, what: str) -> LazyProxy | None:
    # `what` is the protocol's own name of the address (issuer, jwks_uri): never translated.
    parsed = urlparse(issuer)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return lazy_gettext(
            "Enter the %(what)s as a full URL, like https://login.example.com.", what=what
        )
    if settings.env != Environment.production:
        return None
    if parsed.scheme != "https":
        return lazy_gettext("The %(what)s must use https.", what=what)
    # The hub fetches this address itself: keep it from reaching internal services.
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(parsed.hostname, None)}
    except OSError:
        return lazy_gettext("The name %(host)s does not resolve.", host=parsed.hostname)
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved:
            return lazy_gettext(
                "%(host)s points to a private address; use the public %(what)s.",
                host=parsed.hostname,
                what=what,
            )
    return None


def check_connection(
    session: Session, settings: Settings, actor: Actor, brand: Brand, provider: IdentityProvider
) -> list[str]:
    """Fetch the discovery document and keys; return the problems in plain words, in the
    viewer's language. The provider keeps them (and the audit log records them) in English."""
    ensure(actor, Action.manage_brand_sso, brand.id)
    found = _connection_problems(settings, provider.issuer)
    problems = [i18n.english(problem) for problem in found]
    provider.checked_at = utcnow()
    provider.check_problems = "\n".join(problems)
    session.add(provider)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "idp.checked",
        f"brand:{brand.slug}",
        provider=provider.id,
        problems=problems,
    )
    session.commit()
    return [str(problem) for problem in found]


def connection_problems(settings: Settings, issuer: str) -> list[str]:
    """What is wrong with the provider at `issuer`, in the viewer's language."""
    return [str(problem) for problem in _connection_problems(settings, issuer)]


def _connection_problems(settings: Settings, issuer: str) -> list[LazyProxy]:
    problem = _address_problem(settings, issuer, "issuer")
    if problem:
        return [problem]
    url = discovery_url(issuer)
    try:
        with httpx.Client(timeout=CHECK_TIMEOUT_SECONDS, follow_redirects=False) as http:
            answer = http.get(url)
            if answer.status_code != 200:
                return [
                    lazy_gettext(
                        "%(url)s answered HTTP %(status)s, not the discovery document.",
                        url=url,
                        status=answer.status_code,
                    )
                ]
            try:
                metadata = answer.json()
            except ValueError:
                return [lazy_gettext("%(url)s did not answer with JSON.", url=url)]
            if not isinstance(metadata, dict):
                return [lazy_gettext("%(url)s did not answer with a discovery document.", url=url)]
            problems = _metadata_problems(issuer, metadata)
            jwks_uri = metadata.get("jwks_uri")
            if isinstance(jwks_uri, str) and jwks_uri:
                # The document names this address: it gets the same guard as the issuer.
                refused = _address_problem(settings, jwks_uri, "jwks_uri")
                problems.extend([refused] if refused else _jwks_problems(http, jwks_uri))
            return problems
    except httpx.TimeoutException:
        return [
            lazy_gettext(
                "The provider did not answer within %(seconds)s seconds (%(url)s).",
                seconds=CHECK_TIMEOUT_SECONDS,
                url=url,
            )
        ]
    except httpx.HTTPError as error:
        return [_unreachable(error, url)]


def _unreachable(error: httpx.HTTPError, url: str) -> LazyProxy:
    if isinstance(error, httpx.ConnectError):
        return lazy_gettext(
            "The provider cannot be reached at %(url)s: nothing answers there (connection "
            "refused, or the name does not resolve).",
            url=url,
        )
    if isinstance(error, httpx.TimeoutException):
        return lazy_gettext(
            "The provider cannot be reached at %(url)s: it did not answer in time.", url=url
        )
    return lazy_gettext(
        "The provider cannot be reached at %(url)s: the connection failed.", url=url
    )


def _keys_unreachable(error: httpx.HTTPError, url: str) -> LazyProxy:
    if isinstance(error, httpx.ConnectError):
        return lazy_gettext(
            "The provider's keys cannot be fetched from %(url)s: nothing answers there "
            "(connection refused, or the name does not resolve).",
            url=url,
        )
    if isinstance(error, httpx.TimeoutException):
        return lazy_gettext(
            "The provider's keys cannot be fetched from %(url)s: it did not answer in time.",
            url=url,
        )
    return lazy_gettext(
        "The provider's keys cannot be fetched from %(url)s: the connection failed.", url=url
    )


def _metadata_problems(issuer: str, metadata: dict[str, object]) -> list[LazyProxy]:
    problems: list[LazyProxy] = []
    if metadata.get("issuer") != issuer:
        problems.append(
            lazy_gettext(
                "The provider calls itself '%(claimed)s', not '%(issuer)s'. Enter exactly the "
                "issuer its discovery document names.",
                claimed=metadata.get("issuer"),
                issuer=issuer,
            )
        )
    for endpoint in ("authorization_endpoint", "token_endpoint"):
        if not metadata.get(endpoint):
            problems.append(
                lazy_gettext("The discovery document has no %(endpoint)s.", endpoint=endpoint)
            )
    methods = metadata.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        problems.append(
            lazy_gettext("The provider does not support PKCE with S256, which the hub requires.")
        )
    response_types = metadata.get("response_types_supported")
    if isinstance(response_types, list) and "code" not in response_types:
        problems.append(lazy_gettext("The provider does not offer the authorization code flow."))
    if not metadata.get("jwks_uri"):
        problems.append(
            lazy_gettext("The discovery document has no jwks_uri: ID tokens cannot be verified.")
        )
    return problems


def _jwks_problems(http: httpx.Client, jwks_uri: str) -> list[LazyProxy]:
    try:
        answer = http.get(jwks_uri)
    except httpx.HTTPError as error:
        return [_keys_unreachable(error, jwks_uri)]
    if answer.status_code != 200:
        return [
            lazy_gettext(
                "The provider's keys at %(url)s answered HTTP %(status)s.",
                url=jwks_uri,
                status=answer.status_code,
            )
        ]
    try:
        keys = answer.json().get("keys")
    except (ValueError, AttributeError):
        keys = None
    if not isinstance(keys, list) or not any(
        isinstance(key, dict) and key.get("use", "sig") == "sig" for key in keys
    ):
        return [lazy_gettext("The provider publishes no signing keys at %(url)s.", url=jwks_uri)]
    return []


def record_test_sign_in(
    session: Session, actor: Actor, brand: Brand, provider: IdentityProvider, email: str
) -> None:
    ensure(actor, Action.manage_brand_sso, brand.id)
    provider.tested_version = provider.version
    provider.tested_at = utcnow()
    session.add(provider)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "idp.test_sign_in_passed",
        f"brand:{brand.slug}",
        provider=provider.id,
        signed_in_as=email,
    )
    session.commit()


def set_enabled(
    session: Session,
    actor: Actor,
    brand: Brand,
    provider: IdentityProvider,
    enabled: bool,
    *,
    without_test: bool = False,
) -> IdentityProvider:
    """Switch a provider on (only after a test sign-in of its current settings) or off."""
    ensure(actor, Action.manage_brand_sso, brand.id)
    if enabled and not provider.tested and not without_test:
        raise Conflict(
            _(
                "Run a successful test sign-in with these settings before switching the "
                "provider on, so nobody is locked out by a typo."
            )
        )
    if provider.enabled == enabled:
        return provider
    provider.enabled = enabled
    _bump(provider, keep_tested=True)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "idp.enabled" if enabled else "idp.disabled",
        f"brand:{brand.slug}",
        provider=provider.id,
        issuer=provider.issuer,
        **({"without_test_sign_in": True} if without_test else {}),
    )
    session.commit()
    return provider
