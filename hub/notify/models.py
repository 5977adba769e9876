"""The notification table (one line a person should know about) and the e-mail outbox."""

from datetime import datetime

from sqlalchemy import JSON, Index, String, Text, text
from sqlmodel import Field, SQLModel

from hub.clock import utcnow


class Notification(SQLModel, table=True):
    """Something a person should know about, shown in the hub (e-mail comes later)."""

    __table_args__ = (
        Index("ix_notification_person_id_id", "person_id", "id"),
        # The mail job reads only what is still to be mailed: a small part of the table.
        Index(
            "ix_notification_unmailed",
            "person_id",
            "id",
            sqlite_where=text("mailed_at IS NULL"),
            postgresql_where=text("mailed_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", ondelete="CASCADE")
    kind: str = Field(sa_type=String(40))
    report_id: int | None = Field(default=None, foreign_key="intel_report.id", ondelete="CASCADE")
    text: str = Field(sa_type=String(500))
    link: str = Field(default="", sa_type=String(300))  # where to go, when not a report
    group_id: int | None = Field(default=None, foreign_key="working_group.id")  # for digests
    # When it went out by e-mail, was put in a digest, or was decided not to be mailed
    # (the person turned its kind off); empty while a digest is still to carry it.
    mailed_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    read_at: datetime | None = None


class OutboxMail(SQLModel, table=True):
    """One e-mail to send (hub.notify.outbox queues, hub.notify.mail sends), kept after it
    went out or was given up on, as the record of what the hub sent."""

    __tablename__ = "outbox_mail"

    id: int | None = Field(default=None, primary_key=True)
    to_address: str = Field(sa_type=String(254))
    subject: str = Field(sa_type=String(300))
    body: str = Field(sa_type=Text)
    # [{"filename", "content_type", "data" (base64)}]: small files such as .ics invitations.
    attachments: list[dict[str, str]] = Field(default_factory=list, sa_type=JSON)
    # The same key is never queued twice (NULLs do not collide), e.g. "reminder:42:7".
    dedupe_key: str | None = Field(default=None, sa_type=String(200), unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    attempts: int = 0  # counted when a worker claims the mail, so a crash counts too
    # None once sent or given up, so finding due mail never looks at the history.
    next_attempt_at: datetime | None = Field(default_factory=utcnow, index=True)
    # A worker's claim; it lapses after hub.notify.mail.LEASE, so a crashed worker's mail
    # is taken up again.
    claimed_at: datetime | None = None
    claim_token: str | None = Field(default=None, sa_type=String(32))
    sent_at: datetime | None = None
    last_error: str = Field(default="", sa_type=String(1000))


class NotificationPreference(SQLModel, table=True):
    """How one person wants one topic by e-mail; a topic without a row takes its default
    (hub.notify.topics)."""

    __tablename__ = "notification_preference"

    person_id: int = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")
    topic: str = Field(sa_type=String(20), primary_key=True)
    delivery: str = Field(sa_type=String(10))  # instant, digest or off
