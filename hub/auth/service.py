"""The rules of signing in: which provider an e-mail goes to, and who comes back."""

from collections.abc import Mapping
from typing import Any

from babel.support import LazyProxy
from sqlmodel import Session, col, select

from hub import audit, i18n
from hub.auth.models import IdentityProvider, LoginEvent, LoginOutcome
from hub.clock import utcnow
from hub.errors import Invalid
from hub.i18n import gettext as _
from hub.i18n import lazy_gettext
from hub.members.models import Brand, BrandDomain, Person, Role


class LoginRefused(Exception):
    """Sign-in failed for a reason the person can be told: `message` in their language,
    `reason` in English for the brand's sign-in log and the audit log, which the brand's
    admins read whatever language the refused person speaks."""

    def __init__(self, text: LazyProxy) -> None:
        self.message = str(text)
        self.reason = i18n.english(text)
        super().__init__(self.reason)


def normalise_email(raw: str) -> str:
    return raw.strip().lower()


def email_domain(email: str) -> str:
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or " " in email:
        raise Invalid(_("Enter your work e-mail address, like name@yourbrand.com."), "email")
    return domain


def _enabled_provider_for(
    session: Session, brand: Brand, domain_row: BrandDomain
) -> IdentityProvider | None:
    """The provider serving a domain: its own if it has one (and only while switched on),
    else the brand's first enabled provider."""
    if domain_row.provider_id is not None:
        provider = session.get(IdentityProvider, domain_row.provider_id)
        return provider if provider is not None and provider.enabled else None
    return session.exec(
        select(IdentityProvider)
        .where(IdentityProvider.brand_id == brand.id, col(IdentityProvider.enabled).is_(True))
        .order_by(col(IdentityProvider.id))
    ).first()


def provider_for_email(session: Session, raw_email: str) -> tuple[Brand, IdentityProvider]:
    """Home realm discovery: the brand that owns the e-mail's domain, and its provider."""
    email = normalise_email(raw_email)
    if not email:
        raise Invalid(_("Enter your work e-mail address."), "email")
    domain = email_domain(email)
    row = session.exec(
        select(Brand, BrandDomain)
        .join(BrandDomain, col(BrandDomain.brand_id) == Brand.id)
        .where(BrandDomain.domain == domain)
    ).first()
    if row is None:
        raise Invalid(
            _(
                "No member brand signs in with @%(domain)s addresses. Check the address, or "
                "ask your brand's admin which e-mail to use.",
                domain=domain,
            ),
            "email",
        )
    brand, domain_row = row
    if not brand.is_active:
        raise Invalid(
            _("%(brand)s is suspended from the hub. Contact the alliance.", brand=brand.name),
            "email",
        )
    provider = _enabled_provider_for(session, brand, domain_row)
    if provider is None:
        raise Invalid(
            _(
                "%(brand)s has not switched on a sign-in for @%(domain)s yet. Ask your brand's "
                "admin or the alliance to connect your company's identity provider.",
                brand=brand.name,
                domain=domain,
            ),
            "email",
        )
    return brand, provider


def _claim_contains(claims: Mapping[str, Any], name: str, value: str) -> bool:
    claim = claims.get(name)
    if isinstance(claim, list):
        return value in claim
    return claim == value


def vouched_identity(
    session: Session, brand: Brand, provider: IdentityProvider, claims: Mapping[str, Any]
) -> tuple[str, str]:
    """The (e-mail, subject) the provider vouches for, after every check that decides
    whether this provider may speak for that address at all."""
    subject = str(claims.get("sub") or "")
    email = normalise_email(str(claims.get("email") or ""))
    if claims.get("iss") != provider.issuer:
        # Mix-up defence: the token must come from the issuer configured for this brand.
        raise LoginRefused(
            lazy_gettext("The ID token was issued by a different identity provider.")
        )
    if not subject:
        raise LoginRefused(
            lazy_gettext("The identity provider did not say who you are (no subject).")
        )
    if not email:
        raise LoginRefused(lazy_gettext("The identity provider did not share your e-mail address."))
    if claims.get("email_verified") is not True and not provider.email_authoritative:
        raise LoginRefused(
            lazy_gettext(
                "Your identity provider did not confirm that your e-mail address is verified."
            )
        )
    domain = email.rpartition("@")[2]
    owner = session.exec(select(BrandDomain).where(BrandDomain.domain == domain)).first()
    if owner is None or owner.brand_id != brand.id:
        raise LoginRefused(
            lazy_gettext(
                "%(brand)s's identity provider signed you in as %(email)s, but that address "
                "does not belong to %(brand)s.",
                brand=brand.name,
                email=email,
            )
        )
    if owner.provider_id is not None and owner.provider_id != provider.id:
        raise LoginRefused(
            lazy_gettext(
                "@%(domain)s addresses sign in through another of %(brand)s's providers.",
                domain=domain,
                brand=brand.name,
            )
        )
    return email, subject


def complete_login(
    session: Session,
    provider: IdentityProvider,
    claims: Mapping[str, Any],
    ip: str = "",
) -> Person:
    """Find or create the person the provider vouched for. Creates nothing on refusal."""
    brand = session.get(Brand, provider.brand_id)
    assert brand is not None
    claimed_email = normalise_email(str(claims.get("email") or ""))
    try:
        email, subject = vouched_identity(session, brand, provider, claims)
        if not brand.is_active:
            raise LoginRefused(
                lazy_gettext("%(brand)s is suspended from the hub.", brand=brand.name)
            )
        person = session.exec(select(Person).where(Person.email == email)).first()
        if person is None:
            person = _create_just_in_time(session, brand, provider, claims, email, subject)
        elif person.brand_id != brand.id:
            raise LoginRefused(
                lazy_gettext("%(email)s belongs to another organisation in the hub.", email=email)
            )
        elif person.oidc_subject is not None and (
            person.oidc_subject != subject or person.oidc_issuer != provider.issuer
        ):
            raise LoginRefused(
                lazy_gettext(
                    "The hub knows %(email)s from a different account at your identity "
                    "provider. Ask your brand's admin to check your account.",
                    email=email,
                )
            )
        if not person.is_active:
            raise LoginRefused(
                lazy_gettext(
                    "Your account has been deactivated. Ask your brand's admin to reactivate it."
                )
            )
    except LoginRefused as refusal:
        session.rollback()
        log_attempt(session, brand.id or 0, provider.id, claimed_email, refusal.reason, ip)
        session.commit()
        raise
    person.oidc_issuer = provider.issuer
    person.oidc_subject = subject
    person.last_login_at = utcnow()
    session.add(person)
    log_attempt(session, brand.id or 0, provider.id, email, "", ip, person_id=person.id)
    return person


def log_attempt(
    session: Session,
    brand_id: int,
    provider_id: int | None,
    email: str,
    refusal: str,
    ip: str,
    *,
    person_id: int | None = None,
    test_only: bool = False,
) -> None:
    """Add a line to the brand's sign-in log, and to the audit log; an empty refusal means
    it worked. The refusal is a LoginRefused's English `reason`."""
    audit.record(
        session,
        person_id,
        email or "(no address)",
        ("auth.test_sign_in" if test_only else "auth.signed_in")
        if not refusal
        else ("auth.test_sign_in_refused" if test_only else "auth.sign_in_refused"),
        f"idp:{provider_id}" if provider_id else "",
        brand_id=brand_id or None,
        **({"reason": refusal[:500]} if refusal else {}),
    )
    session.add(
        LoginEvent(
            brand_id=brand_id,
            provider_id=provider_id,
            person_id=person_id,
            email=email[:254],
            outcome=LoginOutcome.refused if refusal else LoginOutcome.success,
            reason=refusal[:500],
            ip=ip[:45],
            test_only=test_only,
        )
    )


def _create_just_in_time(
    session: Session,
    brand: Brand,
    provider: IdentityProvider,
    claims: Mapping[str, Any],
    email: str,
    subject: str,
) -> Person:
    role = Role.member
    if provider.admin_claim and _claim_contains(claims, provider.admin_claim, provider.admin_value):
        role = Role.brand_admin
    name = str(claims.get("name") or "").strip() or email.partition("@")[0]
    person = Person(brand_id=brand.id or 0, email=email, name=name[:120], role=role)
    session.add(person)
    session.flush()
    audit.record(
        session,
        person.id,
        f"{person.name} <{email}>",
        "person.created_at_first_login",
        f"brand:{brand.slug}",
        role=role,
        provider=provider.issuer,
        subject=subject,
    )
    return person


def provider_of_brand(
    session: Session, brand_slug: str, provider_id: int, *, test: bool = False
) -> IdentityProvider:
    """The provider a callback belongs to; a test sign-in may use one not yet switched on."""
    provider = session.get(IdentityProvider, provider_id)
    brand = session.exec(select(Brand).where(Brand.slug == brand_slug)).first()
    if provider is None or brand is None or provider.brand_id != brand.id:
        raise LoginRefused(
            lazy_gettext("This sign-in does not belong to that brand. Please start again.")
        )
    if not provider.enabled and not test:
        raise LoginRefused(
            lazy_gettext("This identity provider has been switched off. Please start again.")
        )
    return provider
