"""Personal calendar subscriptions: `/calendar/{token}.ics`, a secret address per person
that a calendar application polls without a session.

The token is `{key}-{secret}`: the key finds the row, the secret's SHA-256 is compared
with `hmac.compare_digest`, so a wrong token takes the same time however much of it is
right. The feed lists the person's registrations and the events of their groups, filtered
by the same visibility rule as the calendar page, so it shows nothing the person could not
open in the hub, in the person's language. Resetting makes a new token; the old address
stops working at once.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlmodel import Session, col, or_, select

from hub import i18n
from hub.auth.sessions import load_actor
from hub.clock import as_utc, utcnow
from hub.config import Settings
from hub.errors import NotFound
from hub.events import ics
from hub.events.models import (
    ACTIVE_STATES,
    Audience,
    CalendarFeed,
    Event,
    EventInvite,
    Registration,
)
from hub.events.models import RegistrationState as State
from hub.events.registrations import view_of
from hub.i18n import gettext as _
from hub.members.models import Brand, Person
from hub.policy import Action, Actor, can, visible_events
from hub.secretbox import open_sealed, seal

FEED_EVENTS = 500


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_token(session: Session, settings: Settings, feed: CalendarFeed) -> str:
    key, secret = secrets.token_hex(8), secrets.token_urlsafe(24)
    feed.key = key
    feed.secret_hash = _hash(secret)
    feed.sealed_secret = seal(settings, secret)
    feed.created_at = utcnow()
    session.add(feed)
    return f"{key}-{secret}"


def token_of(session: Session, settings: Settings, actor: Actor) -> str:
    """The person's feed token, made on first use."""
    feed = session.exec(
        select(CalendarFeed).where(CalendarFeed.person_id == actor.person_id)
    ).first()
    if feed is None:
        token = _new_token(
            session,
            settings,
            CalendarFeed(person_id=actor.person_id, key="", secret_hash="", sealed_secret=""),
        )
        session.commit()
        return token
    return f"{feed.key}-{open_sealed(settings, feed.sealed_secret)}"


def reset(session: Session, settings: Settings, actor: Actor) -> str:
    feed = session.exec(
        select(CalendarFeed).where(CalendarFeed.person_id == actor.person_id)
    ).first()
    feed = feed or CalendarFeed(person_id=actor.person_id, key="", secret_hash="", sealed_secret="")
    token = _new_token(session, settings, feed)
    session.commit()
    return token


def owner_of(session: Session, token: str) -> Actor:
    """The person whose feed the token opens; a 404 for anything else."""
    key, _sep, secret = token.partition("-")
    feed = (
        session.exec(select(CalendarFeed).where(CalendarFeed.key == key)).first() if key else None
    )
    # Compare against something even when the key is unknown, so both failures look alike.
    expected = feed.secret_hash if feed is not None else _hash(secrets.token_hex(8))
    if not hmac.compare_digest(expected, _hash(secret)) or feed is None:
        raise NotFound(_("There is no such calendar."))
    person = session.get(Person, feed.person_id)
    brand = session.get(Brand, person.brand_id) if person is not None else None
    if person is None or brand is None or not person.is_active or not brand.is_active:
        raise NotFound(_("There is no such calendar."))
    now = utcnow()
    # Calendars poll often; the last use is kept to the hour, not written on every poll.
    if feed.last_used_at is None or as_utc(feed.last_used_at) < now - timedelta(hours=1):
        feed.last_used_at = now
        session.add(feed)
        session.commit()
    return load_actor(session, person, brand)


def feed_calendar(session: Session, settings: Settings, actor: Actor) -> bytes:
    """The person's registrations, and the events of their groups, of the alliance and
    those their brand is invited to, that they may see: what their calendar application
    should show."""
    mine = {
        registration.event_id: registration.state
        for registration in session.exec(
            select(Registration).where(
                Registration.person_id == actor.person_id,
                col(Registration.state).in_(ACTIVE_STATES),
            )
        )
    }
    own_groups = sorted(actor.group_ids | actor.coordinated_group_ids)
    invited = select(EventInvite.event_id).where(EventInvite.brand_id == actor.brand_id)
    events = session.exec(
        select(Event)
        .where(
            visible_events(actor),
            or_(
                col(Event.id).in_(sorted(mine)),
                col(Event.group_id).in_(own_groups),
                col(Event.audience) == Audience.alliance,
                col(Event.id).in_(invited),
            ),
        )
        .order_by(col(Event.starts_at).desc())
        .limit(FEED_EVENTS)
    ).all()
    entries = [
        ics.Entry(
            event,
            show_link=can(
                actor,
                Action.see_meeting_link,
                view_of(event, attending=mine.get(event.id or 0) == State.confirmed),
            ),
        )
        for event in events
    ]
    # Written in the owner's language, whoever's calendar application asks.
    with i18n.presenting(actor.language, actor.time_zone):
        name = _("Alliance Hub: %(name)s", name=actor.name)
        return ics.calendar(entries, settings.base_url, name)
