"""Tables of working groups, brand memberships, coordinators and join requests."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from hub.clock import utcnow


class RequestStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    refused = "refused"
    withdrawn = "withdrawn"


class WorkingGroup(SQLModel, table=True):
    __tablename__ = "working_group"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_type=String(60), unique=True, index=True)
    name: str = Field(sa_type=String(120))
    description: str = Field(default="", sa_type=String(2000))
    created_at: datetime = Field(default_factory=utcnow)


class GroupMembership(SQLModel, table=True):
    """A brand belongs to a working group."""

    __tablename__ = "group_membership"

    group_id: int = Field(foreign_key="working_group.id", primary_key=True, ondelete="CASCADE")
    brand_id: int = Field(foreign_key="brand.id", primary_key=True, index=True, ondelete="CASCADE")
    joined_at: datetime = Field(default_factory=utcnow)


class Coordinator(SQLModel, table=True):
    """A person appointed to run a working group."""

    group_id: int = Field(foreign_key="working_group.id", primary_key=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", primary_key=True, index=True)
    appointed_by_id: int | None = Field(default=None, foreign_key="person.id")
    appointed_at: datetime = Field(default_factory=utcnow)


class JoinRequest(SQLModel, table=True):
    """A brand asks to join a working group; a coordinator of that group decides."""

    __tablename__ = "join_request"

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="working_group.id", index=True, ondelete="CASCADE")
    brand_id: int = Field(foreign_key="brand.id", index=True, ondelete="CASCADE")
    requested_by_id: int = Field(foreign_key="person.id")
    message: str = Field(default="", sa_type=String(1000))
    status: str = Field(default=RequestStatus.pending, sa_type=String(20), index=True)
    created_at: datetime = Field(default_factory=utcnow)
    decided_by_id: int | None = Field(default=None, foreign_key="person.id")
    decided_at: datetime | None = None
    decision_note: str = Field(default="", sa_type=String(1000))
