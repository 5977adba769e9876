"""Tables of identity provider settings and of signed-in sessions."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String, Text
from sqlmodel import Field, SQLModel

from hub.clock import utcnow


class IdentityProvider(SQLModel, table=True):
    """A brand's OpenID Connect provider, found through the brand's e-mail domains."""

    __tablename__ = "identity_provider"

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", index=True, ondelete="CASCADE")
    name: str = Field(sa_type=String(120))
    issuer: str = Field(sa_type=String(500))
    client_id: str = Field(sa_type=String(255))
    # Encrypted with hub.secretbox; never shown again once saved.
    client_secret_sealed: str = Field(sa_type=String(1000))
    # People whose `admin_claim` claim contains `admin_value` become brand admins.
    admin_claim: str = Field(default="", sa_type=String(100))
    admin_value: str = Field(default="", sa_type=String(200))
    # Trust the e-mail claim even when the provider does not send email_verified=true
    # (some corporate providers only issue verified company addresses and omit it).
    email_authoritative: bool = False
    enabled: bool = False
    # Bumped on every change so each worker process rebuilds its cached OAuth client.
    version: int = 1
    # The version a real test sign-in succeeded with; enabling needs the current one.
    tested_version: int | None = None
    tested_at: datetime | None = None
    # The last "test connection": when, and what it found (empty when all was well).
    checked_at: datetime | None = None
    check_problems: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def tested(self) -> bool:
        return self.tested_version == self.version


class WebSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its hash is stored."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_type=String(64), unique=True)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    provider_id: int | None = Field(
        default=None, foreign_key="identity_provider.id", ondelete="SET NULL"
    )
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = None
    ip: str = Field(default="", sa_type=String(45))
    user_agent: str = Field(default="", sa_type=String(300))


class LoginOutcome(StrEnum):
    success = "success"
    refused = "refused"


class LoginEvent(SQLModel, table=True):
    """One attempt to sign in to a brand: who, when, through which provider, and how it
    ended. The brand's admins read these as the sign-in log."""

    __tablename__ = "login_event"
    __table_args__ = (Index("ix_login_event_brand_id_id", "brand_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    brand_id: int = Field(foreign_key="brand.id", ondelete="CASCADE")
    provider_id: int | None = Field(
        default=None, foreign_key="identity_provider.id", ondelete="SET NULL"
    )
    person_id: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")
    email: str = Field(default="", sa_type=String(254))
    outcome: str = Field(sa_type=String(20))
    reason: str = Field(default="", sa_type=String(500))
    ip: str = Field(default="", sa_type=String(45))
    test_only: bool = False


class RateCounter(SQLModel, table=True):
    """Attempts counted per key (an address or an e-mail) in a fixed time window; in the
    database so every worker process shares the count."""

    __tablename__ = "rate_counter"

    key: str = Field(sa_type=String(300), primary_key=True)
    window_start: datetime
    count: int = 0
