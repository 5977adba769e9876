"""API tokens: making one (shown once), listing, revoking, and the actor behind a token.

A token is "hub_" and 43 random URL-safe characters; only its SHA-256 is stored, so a
copy of the database lets nobody call the API. A personal token acts as its maker. A
brand token acts for the maker's brand: the maker's working groups and brand, but never
the TLP:RED reports addressed to the maker, and no coordinator or admin rights.
"""

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlmodel import Session, col, select, update

from hub import audit
from hub.api.models import ApiToken, Scope, TokenKind
from hub.auth.sessions import load_actor
from hub.clock import utcnow
from hub.errors import FormCheck, NotFound
from hub.i18n import gettext as _
from hub.i18n import ngettext
from hub.members.models import Brand, Person, Role
from hub.policy import Action, Actor, can, ensure

PREFIX = "hub_"
MAX_ACTIVE_PER_PERSON = 20
# Writing last_used_at on every call would turn each read into a write.
LAST_USED_GRANULARITY = timedelta(minutes=5)


@dataclass(frozen=True)
class Caller:
    """Who is calling the API: the token's actor, and what the token allows."""

    actor: Actor
    token_id: int
    scope: str

    @property
    def may_write(self) -> bool:
        return self.scope == Scope.write


@dataclass(frozen=True)
class TokenLine:
    token: ApiToken
    maker: Person


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(session: Session, actor: Actor, name: str, kind: str, scope: str) -> str:
    """Make a token and return it; this is the only time anyone sees it."""
    ensure(actor, Action.use_api)
    check = FormCheck()
    name = name.strip()
    if not name:
        check.fail("name", _("Name the token after the tool that will use it."))
    elif len(name) > 80:
        check.fail("name", _("Keep the name under 80 characters."))
    if kind not in {k.value for k in TokenKind}:
        check.fail("kind", _("Choose a personal or a brand token."))
    elif kind == TokenKind.brand and not can(actor, Action.manage_brand_api, actor.brand_id):
        check.fail("kind", _("Only your brand's administrators can make brand tokens."))
    if scope not in {s.value for s in Scope}:
        check.fail("scope", _("Choose read, or read and write."))
    active = session.exec(
        select(col(ApiToken.id)).where(
            ApiToken.person_id == actor.person_id, col(ApiToken.revoked_at).is_(None)
        )
    ).all()
    if len(active) >= MAX_ACTIVE_PER_PERSON:
        check.fail(
            "name",
            ngettext(
                "You have %(num)s token; revoke one you no longer use first.",
                "You have %(num)s tokens; revoke one you no longer use first.",
                len(active),
            ),
        )
    check.done()
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        token_hash=_hash(secret),
        prefix=secret[:10],
        name=name,
        kind=kind,
        scope=scope,
        brand_id=actor.brand_id,
        person_id=actor.person_id,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "api.token_created",
        f"api-token:{token.id}",
        kind=kind,
        scope=scope,
        name=name,
    )
    session.commit()
    return secret


def listing(session: Session, actor: Actor) -> list[TokenLine]:
    """The actor's own tokens and, for brand admins, every brand token of their brand."""
    mine = col(ApiToken.person_id) == actor.person_id
    query = select(ApiToken, Person).join(Person, col(Person.id) == ApiToken.person_id)
    if can(actor, Action.manage_brand_api, actor.brand_id):
        query = query.where(
            mine | ((col(ApiToken.brand_id) == actor.brand_id) & (ApiToken.kind == TokenKind.brand))
        )
    else:
        query = query.where(mine)
    rows = session.exec(query.order_by(col(ApiToken.revoked_at).is_not(None), col(ApiToken.id)))
    return [TokenLine(token, maker) for token, maker in rows.all()]


def revoke(session: Session, actor: Actor, token_id: int) -> ApiToken:
    """Revoke one of the actor's tokens, or (brand admins) one of the brand's tokens."""
    token = session.get(ApiToken, token_id)
    if token is None or not _may_manage(actor, token):
        raise NotFound(_("There is no such token among yours."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        audit.record(
            session, actor.audit_id, actor.label, "api.token_revoked", f"api-token:{token.id}"
        )
        session.commit()
    return token


def _may_manage(actor: Actor, token: ApiToken) -> bool:
    if token.person_id == actor.person_id:
        return True
    return token.kind == TokenKind.brand and can(actor, Action.manage_brand_api, token.brand_id)


def caller_for(session: Session, secret: str) -> Caller | None:
    """The caller behind a bearer token, or None if it is unknown, revoked, or its maker
    or brand is no longer active."""
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    row = session.exec(
        select(ApiToken, Person, Brand)
        .join(Person, col(Person.id) == ApiToken.person_id)
        .join(Brand, col(Brand.id) == ApiToken.brand_id)
        .where(ApiToken.token_hash == _hash(secret))
    ).first()
    if row is None:
        return None
    token, person, brand = row
    if (
        token.revoked_at is not None
        or not person.is_active
        or not brand.is_active
        or person.brand_id != brand.id  # moved to another organisation since
    ):
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_GRANULARITY:
        # A single UPDATE in a transaction of its own: on SQLite, the read above could not
        # turn into a write once a concurrent call of the same token had written.
        session.commit()
        session.execute(
            update(ApiToken).where(col(ApiToken.id) == token.id).values(last_used_at=now)
        )
        session.commit()
    actor = load_actor(session, person, brand)
    if token.kind == TokenKind.brand:
        actor = replace(
            actor,
            role=Role.member,
            coordinated_group_ids=frozenset(),
            acts_for_brand=True,
            unread_notifications=0,
        )
    assert token.id is not None
    return Caller(actor=actor, token_id=token.id, scope=token.scope)
