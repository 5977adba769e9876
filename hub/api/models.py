"""API tokens, brand webhooks and the log of webhook deliveries."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String, Text, text
from sqlmodel import Field, SQLModel

from hub.clock import utcnow


class TokenKind(StrEnum):
    personal = "personal"  # acts as the person who made it
    brand = "brand"  # a brand's tool: the brand's shared view, never a person's TLP:RED


class Scope(StrEnum):
    read = "read"
    write = "write"  # read, and post reports and sightings


class ApiToken(SQLModel, table=True):
    """A bearer token for /api/v1, stored only as its SHA-256; shown once when made."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_type=String(64), unique=True)
    # The first characters, so people can tell their tokens apart in the list.
    prefix: str = Field(sa_type=String(16))
    name: str = Field(sa_type=String(80))
    kind: str = Field(sa_type=String(10))
    scope: str = Field(sa_type=String(10))
    brand_id: int = Field(foreign_key="brand.id", index=True)
    # Who made it and answers for it: reports posted with a brand token carry their name,
    # and a brand token stops working when they leave.
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class WebhookEvent(StrEnum):
    report_created = "report.created"  # a report others may read, in one of my groups
    correlation = "correlation.found"  # another brand's report names my brand's indicator
    verdict = "purchase.verdict"  # a test purchase for my brand has its verdict


class Webhook(SQLModel, table=True):
    """Where a brand wants events POSTed, signed with a secret only it and the hub know."""

    __tablename__ = "webhook"

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)
    url: str = Field(sa_type=String(500))
    secret_sealed: str = Field(sa_type=String(500))  # hub.secretbox
    events: str = Field(sa_type=String(200))  # WebhookEvent values, comma separated
    active: bool = True
    created_by_id: int = Field(foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow)


class WebhookDelivery(SQLModel, table=True):
    """One event to POST to one webhook, kept afterwards as the brand's delivery log."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_webhook_id_id", "webhook_id", "id"),
        Index(
            "ix_webhook_delivery_due",
            "next_attempt_at",
            sqlite_where=text("next_attempt_at IS NOT NULL"),
            postgresql_where=text("next_attempt_at IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(foreign_key="webhook.id", ondelete="CASCADE")
    event: str = Field(sa_type=String(40))
    payload: str = Field(sa_type=Text)  # the exact JSON body, signed as sent
    created_at: datetime = Field(default_factory=utcnow)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default_factory=utcnow)  # None: done
    claimed_at: datetime | None = None
    claim_token: str | None = Field(default=None, sa_type=String(32))
    delivered_at: datetime | None = None
    last_status: int | None = None  # the receiver's HTTP status of the last try
    last_error: str = Field(default="", sa_type=String(500))
