"""Tables of organisations, their e-mail domains and the people who work there."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.clock import utcnow
from hub.i18n import lazy_gettext


class OrgKind(StrEnum):
    brand = "brand"
    alliance = "alliance"  # the secretariat: alliance staff belong here


class Role(StrEnum):
    """A person's role inside their organisation. Coordinators are appointed per group."""

    member = "member"
    brand_admin = "brand_admin"
    alliance_admin = "alliance_admin"


# Shown in the viewer's language: each label is translated whenever it is written out.
ROLE_LABELS = {
    Role.member: lazy_gettext("Member"),
    Role.brand_admin: lazy_gettext("Brand admin"),
    Role.alliance_admin: lazy_gettext("Alliance admin"),
}


class Brand(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_type=String(60), unique=True, index=True)
    name: str = Field(sa_type=String(120))
    country: str = Field(sa_type=String(2))  # ISO 3166-1 alpha-2
    kind: str = Field(default=OrgKind.brand, sa_type=String(20))
    website: str = Field(default="", sa_type=String(200))
    description: str = Field(default="", sa_type=String(2000))
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class BrandDomain(SQLModel, table=True):
    """An e-mail domain that identifies a brand at login (home realm discovery)."""

    __tablename__ = "brand_domain"

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", index=True, ondelete="CASCADE")
    domain: str = Field(sa_type=String(253), unique=True)
    # The provider people of this domain sign in with; a brand with subsidiaries may have
    # one per domain. None: the brand's first enabled provider.
    provider_id: int | None = Field(
        default=None, foreign_key="identity_provider.id", ondelete="SET NULL"
    )


class Person(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("oidc_issuer", "oidc_subject"),)

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)
    email: str = Field(sa_type=String(254), unique=True)
    name: str = Field(sa_type=String(120))
    job_title: str = Field(default="", sa_type=String(120))
    role: str = Field(default=Role.member, sa_type=String(20))
    is_active: bool = True
    # The identity a provider vouched for at first login; later logins must match it.
    oidc_issuer: str | None = Field(default=None, sa_type=String(500))
    oidc_subject: str | None = Field(default=None, sa_type=String(255))
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None
    # The zone times are shown in; empty means "as the browser says", else UTC.
    time_zone: str = Field(default="", sa_type=String(64))
    # The language the hub speaks to them in (a code of hub.i18n.languages()); empty means
    # "as the browser asks".
    language: str = Field(default="", sa_type=String(16))
