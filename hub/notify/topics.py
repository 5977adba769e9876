"""What a person can be told about, grouped in topics, and how each person wants each topic
by e-mail: at once, in a daily digest, or not at all. In the hub every notification is
listed whatever the choice."""

from dataclasses import dataclass
from enum import StrEnum

from babel.support import LazyProxy
from sqlmodel import Session, col, select

from hub.errors import FormCheck
from hub.i18n import gettext as _
from hub.i18n import lazy_gettext
from hub.notify.models import NotificationPreference


class Delivery(StrEnum):
    instant = "instant"
    digest = "digest"
    off = "off"


# Shown in the viewer's language: each label is translated whenever it is written out.
DELIVERY_LABELS: dict[str, LazyProxy] = {
    Delivery.instant: lazy_gettext("At once"),
    Delivery.digest: lazy_gettext("In a daily digest"),
    Delivery.off: lazy_gettext("Not by e-mail"),
}


@dataclass(frozen=True)
class Topic:
    key: str  # at most 20 characters (notification_preference.topic)
    label: LazyProxy  # translated whenever it is shown
    default: Delivery
    kinds: tuple[str, ...]  # Notification.kind values of the topic


EVENT_REGISTRATION_KINDS = (
    "event_confirmed",
    "event_waitlisted",
    "event_pending",
    "event_promoted",
    "event_declined",
    "event_handed_to",
    "event_changed",
    "event_cancelled",
)

TOPICS: tuple[Topic, ...] = (
    Topic(
        "new_reports",
        lazy_gettext("New reports on boards I follow"),
        Delivery.digest,
        ("intel.new_report",),
    ),
    Topic(
        "correlations",
        lazy_gettext("Another report names an indicator of my report"),
        Delivery.instant,
        ("intel.match",),
    ),
    Topic(
        "discussion",
        lazy_gettext("Comments, mentions, confirmations and status changes on reports I follow"),
        Delivery.digest,
        ("intel.activity",),
    ),
    Topic(
        "moderation",
        lazy_gettext("A coordinator hides or merges my report"),
        Delivery.instant,
        ("intel.moderated",),
    ),
    Topic(
        "testbuys",
        lazy_gettext("My brand's test-buy sign-ups and verdicts"),
        Delivery.instant,
        ("testbuy.signup", "testbuy.verdict"),
    ),
    Topic(
        "events",
        lazy_gettext("My event registrations, and changes to those events"),
        Delivery.instant,
        EVENT_REGISTRATION_KINDS,
    ),
    Topic(
        "reminders",
        lazy_gettext("Event reminders and registration deadlines"),
        Delivery.instant,
        ("event_reminder",),
    ),
)

_TOPIC_OF_KIND = {kind: topic for topic in TOPICS for kind in topic.kinds}
_BY_KEY = {topic.key: topic for topic in TOPICS}


def topic_of(kind: str) -> Topic | None:
    return _TOPIC_OF_KIND.get(kind)


def choices(session: Session, person_id: int) -> dict[str, str]:
    """Every topic with the person's delivery for it."""
    saved = dict(
        session.exec(
            select(NotificationPreference.topic, NotificationPreference.delivery).where(
                NotificationPreference.person_id == person_id
            )
        ).all()
    )
    return {topic.key: saved.get(topic.key, topic.default) for topic in TOPICS}


def delivery_of(session: Session, person_id: int, kind: str) -> Delivery:
    """How a notification of `kind` reaches `person_id` by e-mail; a kind of no topic is
    not mailed."""
    topic = topic_of(kind)
    if topic is None:
        return Delivery.off
    saved = session.exec(
        select(NotificationPreference.delivery).where(
            NotificationPreference.person_id == person_id,
            NotificationPreference.topic == topic.key,
        )
    ).first()
    return Delivery(saved) if saved in DELIVERY_LABELS else topic.default


def save(session: Session, person_id: int, chosen: dict[str, str]) -> None:
    """Store the person's choice for every topic; an unknown value is refused beside it."""
    check = FormCheck()
    for topic in TOPICS:
        if chosen.get(topic.key, topic.default) not in DELIVERY_LABELS:
            check.fail(topic.key, _("Choose at once, in a daily digest, or not by e-mail."))
    check.done()
    existing = {
        row.topic: row
        for row in session.exec(
            select(NotificationPreference).where(
                NotificationPreference.person_id == person_id,
                col(NotificationPreference.topic).in_(list(_BY_KEY)),
            )
        )
    }
    for topic in TOPICS:
        row = existing.get(topic.key) or NotificationPreference(
            person_id=person_id, topic=topic.key, delivery=topic.default
        )
        row.delivery = chosen.get(topic.key, row.delivery)
        session.add(row)
    session.commit()
