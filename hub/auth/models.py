"""Tables of identity provider settings and of signed-in sessions."""

from datetime import datetime

from sqlalchemy import String
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
    client_secret: str = Field(sa_type=String(500))
    # People whose `admin_claim` claim contains `admin_value` become brand admins.
    admin_claim: str = Field(default="", sa_type=String(100))
    admin_value: str = Field(default="", sa_type=String(200))
    enabled: bool = True
    # Bumped on every change so each worker process rebuilds its cached OAuth client.
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


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
