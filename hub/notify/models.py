"""The notification table: one line a person should know about."""

from datetime import datetime

from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from hub.clock import utcnow


class Notification(SQLModel, table=True):
    """Something a person should know about, shown in the hub (e-mail comes later)."""

    __table_args__ = (Index("ix_notification_person_id_id", "person_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", ondelete="CASCADE")
    kind: str = Field(sa_type=String(40))
    report_id: int | None = Field(default=None, foreign_key="intel_report.id", ondelete="CASCADE")
    text: str = Field(sa_type=String(500))
    link: str = Field(default="", sa_type=String(300))  # where to go, when not a report
    created_at: datetime = Field(default_factory=utcnow)
    read_at: datetime | None = None
