"""Tables of the event calendar: events, who is invited, registrations, brand seats, and
each person's calendar feed.

An event holds `capacity` seats and counts the seats taken on its own row under a CHECK
constraint; each brand's confirmed seats are counted in `event_brand_seats`, under a CHECK
against the event's per-brand cap. Every change of seats locks the event row first
(hub.events.registrations), so concurrent registrations decide one after the other and the
constraints are the last line if code ever forgot.
"""

from datetime import datetime
from enum import StrEnum

from babel.support import LazyProxy
from sqlalchemy import CheckConstraint, Index, String, Text, text
from sqlmodel import Field, SQLModel

from hub.clock import utcnow
from hub.i18n import lazy_gettext


class EventKind(StrEnum):
    workshop = "workshop"
    training = "training"
    webinar = "webinar"
    conference = "conference"
    meeting = "meeting"


EVENT_KIND_LABELS: dict[str, LazyProxy] = {
    EventKind.workshop: lazy_gettext("Workshop"),
    EventKind.training: lazy_gettext("Training"),
    EventKind.webinar: lazy_gettext("Webinar"),
    EventKind.conference: lazy_gettext("Conference"),
    EventKind.meeting: lazy_gettext("Group meeting"),
}


class Audience(StrEnum):
    alliance = "alliance"  # every member of the alliance
    group = "group"  # the brands of the organising working group
    invited = "invited"  # the brands named in event_invite


AUDIENCE_LABELS: dict[str, LazyProxy] = {
    Audience.alliance: lazy_gettext("The whole alliance"),
    Audience.group: lazy_gettext("The working group"),
    Audience.invited: lazy_gettext("Invited brands only"),
}


class Attendance(StrEnum):
    in_person = "in_person"
    online = "online"
    hybrid = "hybrid"


ATTENDANCE_LABELS: dict[str, LazyProxy] = {
    Attendance.in_person: lazy_gettext("In person"),
    Attendance.online: lazy_gettext("Online"),
    Attendance.hybrid: lazy_gettext("In person and online"),
}


class EventStatus(StrEnum):
    scheduled = "scheduled"
    cancelled = "cancelled"


class Event(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="not_overbooked"),
        CheckConstraint("seats_per_brand >= 1", name="seats_per_brand_positive"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_event_starts_at", "starts_at"),
        Index("ix_event_group_id_starts_at", "group_id", "starts_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # A stable iCalendar UID: calendars recognise the event across updates by it.
    uid: str = Field(sa_type=String(80), unique=True)
    sequence: int = 0  # iCalendar SEQUENCE, bumped whenever attendees must update
    group_id: int | None = Field(default=None, foreign_key="working_group.id")
    audience: str = Field(sa_type=String(10))
    kind: str = Field(sa_type=String(12))
    title: str = Field(sa_type=String(200))
    description: str = Field(default="", sa_type=Text)  # Markdown as written
    description_html: str = Field(default="", sa_type=Text)  # sanitised when saved
    time_zone: str = Field(sa_type=String(64))  # the event's own IANA zone
    all_day: bool = False  # whole days: starts and ends at midnight in the event's zone
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC; for all-day events the midnight after the last day
    attendance: str = Field(sa_type=String(10))
    venue: str = Field(default="", sa_type=String(200))
    address: str = Field(default="", sa_type=String(500))
    online_url: str = Field(default="", sa_type=String(500))  # shown to confirmed people only
    capacity: int
    seats_taken: int = 0
    seats_per_brand: int
    registration_opens_at: datetime
    registration_closes_at: datetime
    needs_approval: bool = False
    attendees_visible: bool = False  # may confirmed attendees see each other?
    materials_tlp: str = Field(default="green", sa_type=String(12))
    chatham_house: bool = False
    status: str = Field(default=EventStatus.scheduled, sa_type=String(10))
    cancel_reason: str = Field(default="", sa_type=String(500))
    next_position: int = 1  # arrival order of registrations, handed out under the row lock
    deadline_reminded_at: datetime | None = None
    created_by_id: int = Field(foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class EventInvite(SQLModel, table=True):
    """A brand invited to an event whose audience is `invited`."""

    __tablename__ = "event_invite"

    event_id: int = Field(foreign_key="event.id", primary_key=True, ondelete="CASCADE")
    brand_id: int = Field(foreign_key="brand.id", primary_key=True, index=True)


class RegistrationState(StrEnum):
    pending = "pending"  # waits for the organiser's approval
    confirmed = "confirmed"  # holds a seat
    waitlisted = "waitlisted"  # waits for a seat, in `position` order
    cancelled = "cancelled"  # by the person, or the event was cancelled
    declined = "declined"  # by the organiser
    handed_over = "handed_over"  # the seat went to a colleague


ACTIVE_STATES = (
    RegistrationState.pending,
    RegistrationState.confirmed,
    RegistrationState.waitlisted,
)

REGISTRATION_STATE_LABELS: dict[str, LazyProxy] = {
    RegistrationState.pending: lazy_gettext("Awaiting approval"),
    RegistrationState.confirmed: lazy_gettext("Registered"),
    RegistrationState.waitlisted: lazy_gettext("On the waitlist"),
    RegistrationState.cancelled: lazy_gettext("Cancelled"),
    RegistrationState.declined: lazy_gettext("Declined"),
    RegistrationState.handed_over: lazy_gettext("Handed over"),
}


class Registration(SQLModel, table=True):
    """One person's place at one event. Rows are never deleted: a cancelled registration
    stays as history, and registering again makes a new row at the back of the queue."""

    __table_args__ = (
        # One active registration per person and event, whatever the code does.
        Index(
            "uq_registration_active_person",
            "event_id",
            "person_id",
            unique=True,
            sqlite_where=text("state IN ('pending', 'confirmed', 'waitlisted')"),
            postgresql_where=text("state IN ('pending', 'confirmed', 'waitlisted')"),
        ),
        Index("ix_registration_event_id_position", "event_id", "position"),
        Index("ix_registration_person_id_state", "person_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id")
    person_id: int = Field(foreign_key="person.id")
    brand_id: int = Field(foreign_key="brand.id")
    state: str = Field(sa_type=String(12))
    position: int  # arrival order; the waitlist is served in this order
    note: str = Field(default="", sa_type=String(500))
    handed_from_id: int | None = Field(default=None, foreign_key="person.id")
    decided_by_id: int | None = Field(default=None, foreign_key="person.id")
    reminded_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class BrandSeats(SQLModel, table=True):
    """Confirmed seats of one brand at one event; `cap` mirrors the event's per-brand cap
    so the database itself refuses a brand more seats than that."""

    __tablename__ = "event_brand_seats"
    __table_args__ = (CheckConstraint("taken >= 0 AND taken <= cap", name="within_brand_cap"),)

    event_id: int = Field(foreign_key="event.id", primary_key=True)
    brand_id: int = Field(foreign_key="brand.id", primary_key=True)
    taken: int = 0
    cap: int


class CalendarFeed(SQLModel, table=True):
    """A person's secret calendar subscription. The URL carries `key` (to find the row)
    and a secret whose SHA-256 is compared in constant time; the secret itself is kept
    sealed so the settings page can show the URL again."""

    __tablename__ = "calendar_feed"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", unique=True)
    key: str = Field(sa_type=String(24), unique=True)
    secret_hash: str = Field(sa_type=String(64))
    sealed_secret: str = Field(sa_type=String(400))
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
