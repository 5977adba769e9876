"""Adding and listing a brand's identity provider settings."""

from urllib.parse import urlparse

from sqlmodel import Session, select

from hub import audit
from hub.auth.models import IdentityProvider
from hub.clock import utcnow
from hub.config import Environment, Settings
from hub.errors import FormCheck
from hub.members.models import Brand
from hub.policy import Action, Actor, ensure


def check_issuer(check: FormCheck, settings: Settings, issuer: str) -> None:
    parsed = urlparse(issuer)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        check.fail("issuer", "Enter the issuer as a full URL, like https://login.example.com.")
    elif parsed.scheme != "https" and settings.env == Environment.production:
        check.fail("issuer", "In production the issuer must use https.")


def add_provider(
    session: Session,
    settings: Settings,
    actor: Actor,
    brand: Brand,
    *,
    name: str,
    issuer: str,
    client_id: str,
    client_secret: str,
    admin_claim: str = "",
    admin_value: str = "",
    enabled: bool = True,
) -> IdentityProvider:
    ensure(actor, Action.edit_brand, brand.id)
    check = FormCheck()
    issuer = issuer.strip().rstrip("/")
    check_issuer(check, settings, issuer)
    if not client_id.strip():
        check.fail("client_id", "Enter the client id the provider gave you.")
    if not client_secret.strip():
        check.fail("client_secret", "Enter the client secret the provider gave you.")
    if bool(admin_claim.strip()) != bool(admin_value.strip()):
        check.fail("admin_claim", "Give both the claim name and the value, or neither.")
    check.done()
    provider = IdentityProvider(
        brand_id=brand.id or 0,
        name=name.strip() or f"{brand.name} sign-in",
        issuer=issuer,
        client_id=client_id.strip(),
        client_secret=client_secret.strip(),
        admin_claim=admin_claim.strip(),
        admin_value=admin_value.strip(),
        enabled=enabled,
    )
    session.add(provider)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "idp.added",
        f"brand:{brand.slug}",
        issuer=issuer,
        client_id=provider.client_id,
    )
    session.commit()
    return provider


def set_enabled(
    session: Session, actor: Actor, provider: IdentityProvider, enabled: bool
) -> IdentityProvider:
    ensure(actor, Action.edit_brand, provider.brand_id)
    provider.enabled = enabled
    provider.version += 1
    provider.updated_at = utcnow()
    session.add(provider)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "idp.enabled" if enabled else "idp.disabled",
        f"idp:{provider.id}",
        issuer=provider.issuer,
    )
    session.commit()
    return provider


def providers_of(session: Session, brand: Brand) -> list[IdentityProvider]:
    return list(
        session.exec(
            select(IdentityProvider)
            .where(IdentityProvider.brand_id == brand.id)
            .order_by(IdentityProvider.id)  # type: ignore[arg-type]
        )
    )
