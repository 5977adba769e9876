"""Creating, changing and cancelling events, and finding the ones a person may see.

The form is written in the event's own time zone (an organiser in Shanghai types Shanghai
times); the checked values are stored in UTC with the zone beside them.
"""

import secrets
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, or_, select
from sqlmodel import update as update_rows

from hub import audit, i18n
from hub.clock import as_utc, utcnow
from hub.config import Settings
from hub.errors import Conflict, FormCheck, NotFound
from hub.events import notices
from hub.events.models import (
    ACTIVE_STATES,
    Attendance,
    Audience,
    BrandSeats,
    Event,
    EventInvite,
    EventKind,
    EventStatus,
    Registration,
)
from hub.events.registrations import fill_seats, lock_event, view_of
from hub.events.times import from_local, is_zone, to_local
from hub.groups.models import WorkingGroup
from hub.i18n import gettext as _
from hub.i18n import ngettext
from hub.intel.markdown import to_safe_html
from hub.intel.models import Tlp
from hub.members.models import Brand
from hub.policy import Action, Actor, ensure, visible_events

# Built once: an alias made per call re-adapts every column it touches.
_MINE = aliased(Registration, name="my_registration")


MAX_SEATS = 100_000
MAX_DAYS = 31
LIST_LIMIT = 100
DATE_FORMAT = "%Y-%m-%d"
TIME_FORMAT = "%H:%M"
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
# A change to any of these is news for people's calendars: SEQUENCE goes up, they are told.
CALENDAR_FIELDS = (
    "title",
    "description",
    "time_zone",
    "all_day",
    "starts_at",
    "ends_at",
    "attendance",
    "venue",
    "address",
    "online_url",
)


@dataclass
class EventForm:
    group: str = ""
    audience: str = Audience.group
    kind: str = EventKind.workshop
    title: str = ""
    description: str = ""
    time_zone: str = "Asia/Shanghai"
    starts_on: str = ""
    starts_time: str = "09:00"
    ends_on: str = ""
    ends_time: str = "17:00"
    all_day: str = ""
    attendance: str = Attendance.in_person
    venue: str = ""
    address: str = ""
    online_url: str = ""
    capacity: str = "30"
    seats_per_brand: str = "2"
    registration_opens: str = ""
    registration_closes: str = ""
    needs_approval: str = ""
    attendees_visible: str = ""
    materials_tlp: str = Tlp.green
    chatham_house: str = ""
    invited: list[str] = field(default_factory=list)


@dataclass
class CheckedEvent:
    group: WorkingGroup | None
    invited: list[Brand]
    audience: str
    kind: str
    title: str
    description: str
    description_html: str
    time_zone: str
    all_day: bool
    starts_at: datetime
    ends_at: datetime
    attendance: str
    venue: str
    address: str
    online_url: str
    capacity: int
    seats_per_brand: int
    registration_opens_at: datetime
    registration_closes_at: datetime
    needs_approval: bool
    attendees_visible: bool
    materials_tlp: str
    chatham_house: bool

    def columns(self) -> dict[str, Any]:
        """The event's own columns, as checked (the group is stored by its id)."""
        skip = {"group", "invited"}
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        values["group_id"] = self.group.id if self.group is not None else None
        return values


def _in_calendar(day: date) -> bool:
    """Far enough from the ends of the calendar (years 1 and 9999) that moving the day to
    UTC from any zone, or on to the next day, stays inside it."""
    return 2 <= day.year <= 9998


def _day(value: str) -> date | None:
    try:
        day = datetime.strptime(value.strip(), DATE_FORMAT).date()
    except ValueError:
        return None
    return day if _in_calendar(day) else None


def _clock(value: str) -> time | None:
    try:
        return datetime.strptime(value.strip()[:5], TIME_FORMAT).time()
    except ValueError:
        return None


def local_moment(value: str, zone_name: str) -> datetime | None:
    try:
        moment = datetime.strptime(value.strip()[:16], LOCAL_FORMAT)
    except ValueError:
        return None
    if not _in_calendar(moment.date()):
        return None
    return from_local(moment.date(), moment.time(), zone_name)


def _on(value: str) -> bool:
    return value.strip().lower() in {"on", "true", "1", "yes"}


def _check_group(
    session: Session, actor: Actor, form: EventForm, check: FormCheck
) -> tuple[WorkingGroup | None, list[Brand]]:
    group = None
    if form.group.strip():
        group = session.exec(select(WorkingGroup).where(WorkingGroup.slug == form.group)).first()
        if group is None:
            check.fail("group", _("Choose a working group from the list."))
    if form.audience not in {a.value for a in Audience}:
        check.fail("audience", _("Choose who the event is for."))
    elif form.audience == Audience.alliance:
        ensure(actor, Action.organise_events, None)
    elif group is None:
        check.fail("group", _("Choose the working group that organises the event."))
    if group is not None:
        ensure(actor, Action.organise_events, group.id)
    invited: list[Brand] = []
    if form.audience == Audience.invited:
        slugs = sorted({slug.strip() for slug in form.invited if slug.strip()})
        invited = list(session.exec(select(Brand).where(col(Brand.slug).in_(slugs))))
        if not slugs:
            check.fail("invited", _("Invite at least one brand."))
        elif len(invited) != len(slugs):
            check.fail("invited", _("Pick the invited brands from the list."))
    return group, invited


def _check_times(form: EventForm, check: FormCheck) -> tuple[datetime, datetime]:
    zone_name = form.time_zone.strip()
    if not is_zone(zone_name):
        check.fail("time_zone", _("Choose the time zone the event happens in, e.g. Asia/Shanghai."))
        zone_name = "UTC"
    first, last = _day(form.starts_on), _day(form.ends_on or form.starts_on)
    if first is None:
        check.fail("starts_on", _("Give the day the event starts."))
    if last is None:
        check.fail("ends_on", _("Give the day the event ends."))
    if first is None or last is None:
        return utcnow(), utcnow()
    if _on(form.all_day):
        starts_at = from_local(first, time(0), zone_name)
        ends_at = from_local(last + timedelta(days=1), time(0), zone_name)
        if last < first:
            check.fail("ends_on", _("The last day cannot be before the first."))
    else:
        start_clock, end_clock = _clock(form.starts_time), _clock(form.ends_time)
        if start_clock is None:
            check.fail("starts_time", _("Give the time it starts, such as 09:30."))
        if end_clock is None:
            check.fail("ends_time", _("Give the time it ends, such as 17:00."))
        if start_clock is None or end_clock is None:
            return utcnow(), utcnow()
        starts_at = from_local(first, start_clock, zone_name)
        ends_at = from_local(last, end_clock, zone_name)
        if ends_at <= starts_at:
            check.fail("ends_time", _("The event must end after it starts."))
    if ends_at - starts_at > timedelta(days=MAX_DAYS):
        check.fail("ends_on", _("An event can last at most %(most)s days.", most=MAX_DAYS))
    return starts_at, ends_at


def _check_place(form: EventForm, check: FormCheck) -> None:
    if form.attendance not in {a.value for a in Attendance}:
        check.fail("attendance", _("Choose whether it happens in person or online."))
        return
    if form.attendance != Attendance.online and not form.venue.strip():
        check.fail("venue", _("Give the venue of an event held in person."))
    if form.attendance != Attendance.in_person:
        link = urlsplit(form.online_url.strip())
        if link.scheme not in {"https", "http"} or not link.netloc:
            check.fail("online_url", _("Give the meeting link, starting with https://."))
    for name, limit in (("venue", 200), ("address", 500), ("online_url", 500)):
        if len(getattr(form, name)) > limit:
            check.fail(name, _("Keep it under %(most)s characters.", most=limit))


def _seats(check: FormCheck, name: str, value: str) -> int:
    """A number of seats from 1 to MAX_SEATS: the capacity, or the seats one brand may take."""
    try:
        count = int(value.strip())
    except ValueError:
        check.fail(name, _("Give a whole number of seats, such as 30."))
        return 0
    if not 1 <= count <= MAX_SEATS:
        most = i18n.number(MAX_SEATS)
        check.fail(name, _("Give a number of seats between 1 and %(most)s.", most=most))
    return count


def _moment_or(
    check: FormCheck, name: str, form: EventForm, zone_name: str, default: datetime
) -> datetime:
    """A registration-window field read in the event's zone; empty means `default`."""
    value = getattr(form, name)
    if not value.strip():
        return default
    moment = local_moment(value, zone_name)
    if moment is None:
        check.fail(name, _("Give a date and time, such as 2026-12-01 09:00."))
        return default
    return moment


def check_form(session: Session, actor: Actor, form: EventForm, new: bool = True) -> CheckedEvent:
    """The form's values, checked and converted; every problem is reported beside its
    field at once. Only a new event must lie in the future: a past one can still be
    corrected."""
    check = FormCheck()
    group, invited = _check_group(session, actor, form, check)
    if form.kind not in {kind.value for kind in EventKind}:
        check.fail("kind", _("Choose the type of event."))
    title = " ".join(form.title.split())  # one line: it is also the subject of e-mails
    if len(title) < 3:
        check.fail("title", _("Give the event a title of at least 3 characters."))
    elif len(title) > 200:
        check.fail("title", _("Keep the title under 200 characters."))
    if len(form.description) > 20_000:
        check.fail(
            "description",
            _("Keep the description under %(most)s characters.", most=i18n.number(20_000)),
        )
    starts_at, ends_at = _check_times(form, check)
    _check_place(form, check)
    capacity = _seats(check, "capacity", form.capacity)
    per_brand = _seats(check, "seats_per_brand", form.seats_per_brand)
    if capacity and per_brand > capacity:
        check.fail("seats_per_brand", _("A brand cannot have more seats than the event has."))
    zone_name = form.time_zone.strip() if is_zone(form.time_zone.strip()) else "UTC"
    now = utcnow().replace(second=0, microsecond=0)
    if new and "starts_on" not in check.errors and starts_at <= now:
        check.fail("starts_on", _("A new event must start in the future."))
    opens_at = _moment_or(check, "registration_opens", form, zone_name, now)
    closes_at = _moment_or(check, "registration_closes", form, zone_name, starts_at)
    if closes_at <= opens_at:
        check.fail("registration_closes", _("Registration must close after it opens."))
    elif closes_at > ends_at:
        check.fail("registration_closes", _("Registration cannot close after the event ends."))
    if form.materials_tlp not in {tlp.value for tlp in Tlp}:
        check.fail("materials_tlp", _("Choose the TLP marking of the materials."))
    check.done()
    return CheckedEvent(
        group=group,
        invited=invited,
        audience=form.audience,
        kind=form.kind,
        title=title,
        description=form.description.strip(),
        description_html=to_safe_html(form.description.strip()),
        time_zone=zone_name,
        all_day=_on(form.all_day),
        starts_at=starts_at,
        ends_at=ends_at,
        attendance=form.attendance,
        venue=form.venue.strip() if form.attendance != Attendance.online else "",
        address=form.address.strip() if form.attendance != Attendance.online else "",
        online_url=form.online_url.strip() if form.attendance != Attendance.in_person else "",
        capacity=capacity,
        seats_per_brand=per_brand,
        registration_opens_at=opens_at,
        registration_closes_at=closes_at,
        needs_approval=_on(form.needs_approval),
        attendees_visible=_on(form.attendees_visible),
        materials_tlp=form.materials_tlp,
        chatham_house=_on(form.chatham_house),
    )


def _set_invites(session: Session, event: Event, brands: list[Brand]) -> None:
    current = set(
        session.exec(select(EventInvite.brand_id).where(EventInvite.event_id == event.id))
    )
    wanted = {brand.id or 0 for brand in brands}
    for brand_id in current - wanted:
        invite = session.get(EventInvite, (event.id, brand_id))
        if invite is not None:
            session.delete(invite)
    for brand_id in wanted - current:
        session.add(EventInvite(event_id=event.id or 0, brand_id=brand_id))


def create(session: Session, actor: Actor, form: EventForm) -> Event:
    checked = check_form(session, actor, form)
    event = Event(
        uid=f"{secrets.token_hex(12)}@alliance-hub",
        created_by_id=actor.person_id,
        **checked.columns(),
    )
    session.add(event)
    session.flush()
    _set_invites(session, event, checked.invited)
    audit.record(session, actor.audit_id, actor.label, "event.created", f"event:{event.id}")
    session.commit()
    return event


def update(
    session: Session, settings: Settings, actor: Actor, event: Event, form: EventForm
) -> Event:
    """Change the event. Seats already given stay given: the capacity and the per-brand
    cap cannot drop below what people hold; raising them serves the waitlist at once."""
    ensure(actor, Action.manage_event, view_of(event))
    checked = check_form(session, actor, form, new=False)
    event = lock_event(session, event.id or 0)
    _refuse_if_cancelled(event)
    check = FormCheck()
    if checked.capacity < event.seats_taken:
        check.fail(
            "capacity",
            ngettext(
                "%(num)s person already holds a seat: keep the capacity at least that, or "
                "ask them to cancel first.",
                "%(num)s people already hold seats: keep the capacity at least that, or "
                "ask some to cancel first.",
                event.seats_taken,
            ),
        )
    most = session.exec(
        select(func.max(BrandSeats.taken)).where(BrandSeats.event_id == event.id)
    ).one()
    if most and checked.seats_per_brand < most:
        check.fail(
            "seats_per_brand",
            ngettext(
                "A brand already holds %(num)s seat: keep the cap at least that.",
                "A brand already holds %(num)s seats: keep the cap at least that.",
                most,
            ),
        )
    check.done()
    before = {name: _comparable(getattr(event, name)) for name in CALENDAR_FIELDS}
    for name, value in checked.columns().items():
        setattr(event, name, value)
    changed = [n for n in CALENDAR_FIELDS if _comparable(getattr(event, n)) != before[n]]
    if changed:
        event.sequence += 1
    event.updated_at = utcnow()
    session.add(event)
    session.exec(
        update_rows(BrandSeats)
        .where(col(BrandSeats.event_id) == event.id)
        .values(cap=checked.seats_per_brand)
    )
    _set_invites(session, event, checked.invited)
    fill_seats(session, settings, event)
    if changed:
        notices.event_changed(session, settings, event, changed)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "event.updated",
        f"event:{event.id}",
        changed=changed,
    )
    session.commit()
    return event


def _comparable(value: object) -> object:
    return as_utc(value) if isinstance(value, datetime) else value


def _refuse_if_cancelled(event: Event) -> None:
    if event.status == EventStatus.cancelled:
        raise Conflict(_("This event was cancelled; it cannot be changed."))


def cancel(session: Session, settings: Settings, actor: Actor, event: Event, reason: str) -> Event:
    """Cancel the event: it stays on calendars marked cancelled (so subscribed calendars
    remove it), and everyone registered is told."""
    ensure(actor, Action.manage_event, view_of(event))
    reason = reason.strip()
    if len(reason) > 500:
        check = FormCheck()
        check.fail("reason", _("Keep the reason under 500 characters."))
        check.done()
    event = lock_event(session, event.id or 0)
    _refuse_if_cancelled(event)
    event.status = EventStatus.cancelled
    event.cancel_reason = reason
    event.sequence += 1
    event.updated_at = utcnow()
    session.add(event)
    notices.event_cancelled(session, settings, event)
    audit.record(session, actor.audit_id, actor.label, "event.cancelled", f"event:{event.id}")
    session.commit()
    return event


def form_of(session: Session, event: Event) -> EventForm:
    """The form as the organiser would type the event now, in its own zone."""
    group = session.get(WorkingGroup, event.group_id) if event.group_id else None
    starts, ends = (
        to_local(event.starts_at, event.time_zone),
        to_local(event.ends_at, event.time_zone),
    )
    if event.all_day:
        ends = ends - timedelta(days=1)
    invited = session.exec(
        select(Brand.slug)
        .join(EventInvite, col(EventInvite.brand_id) == Brand.id)
        .where(EventInvite.event_id == event.id)
    ).all()
    return EventForm(
        group=group.slug if group else "",
        audience=event.audience,
        kind=event.kind,
        title=event.title,
        description=event.description,
        time_zone=event.time_zone,
        starts_on=starts.strftime(DATE_FORMAT),
        starts_time=starts.strftime(TIME_FORMAT),
        ends_on=ends.strftime(DATE_FORMAT),
        ends_time=ends.strftime(TIME_FORMAT),
        all_day="on" if event.all_day else "",
        attendance=event.attendance,
        venue=event.venue,
        address=event.address,
        online_url=event.online_url,
        capacity=str(event.capacity),
        seats_per_brand=str(event.seats_per_brand),
        registration_opens=to_local(event.registration_opens_at, event.time_zone).strftime(
            LOCAL_FORMAT
        ),
        registration_closes=to_local(event.registration_closes_at, event.time_zone).strftime(
            LOCAL_FORMAT
        ),
        needs_approval="on" if event.needs_approval else "",
        attendees_visible="on" if event.attendees_visible else "",
        materials_tlp=event.materials_tlp,
        chatham_house="on" if event.chatham_house else "",
        invited=list(invited),
    )


def get_visible(session: Session, actor: Actor, event_id: int) -> Event:
    event = session.exec(select(Event).where(Event.id == event_id, visible_events(actor))).first()
    if event is None:
        raise NotFound(_("There is no such event, or it is not open to your brand."))
    return event


@dataclass(frozen=True)
class EventLine:
    event: Event
    group: WorkingGroup | None
    mine: Registration | None  # the actor's active registration

    @property
    def full(self) -> bool:
        return self.event.seats_taken >= self.event.capacity


@dataclass
class Filters:
    group: str = ""
    kind: str = ""
    when: str = "upcoming"  # upcoming, past, or all (the month view)


def _lines(session: Session, actor: Actor, query: Any) -> list[EventLine]:
    """The events of `query` (Event, WorkingGroup) with the actor's active registration,
    in the same statement."""
    mine = _MINE
    rows = session.exec(
        query.add_columns(mine).outerjoin(
            mine,
            (col(mine.event_id) == Event.id)
            & (col(mine.person_id) == actor.person_id)
            & col(mine.state).in_(ACTIVE_STATES),
        )
    ).all()
    return [EventLine(event, group, registration) for event, group, registration in rows]


def _visible_query(actor: Actor, filters: Filters) -> Any:
    query = (
        select(Event, WorkingGroup)
        .outerjoin(WorkingGroup, col(WorkingGroup.id) == Event.group_id)
        .where(visible_events(actor))
    )
    if filters.group:
        query = query.where(WorkingGroup.slug == filters.group)
    if filters.kind in {kind.value for kind in EventKind}:
        query = query.where(Event.kind == filters.kind)
    return query


def listing(
    session: Session, actor: Actor, filters: Filters, limit: int = LIST_LIMIT
) -> list[EventLine]:
    """Upcoming events soonest first, or past events latest first."""
    now = utcnow()
    query = _visible_query(actor, filters)
    if filters.when == "past":
        query = query.where(col(Event.ends_at) <= now).order_by(col(Event.starts_at).desc())
    else:
        query = query.where(col(Event.ends_at) > now).order_by(col(Event.starts_at))
    return _lines(session, actor, query.limit(limit))


def between(
    session: Session, actor: Actor, filters: Filters, start: datetime, end: datetime
) -> list[EventLine]:
    """Events overlapping [start, end), for the month view."""
    query = (
        _visible_query(actor, filters)
        .where(col(Event.starts_at) < end, col(Event.ends_at) > start)
        .order_by(col(Event.starts_at))
        .limit(500)
    )
    return _lines(session, actor, query)


def line(session: Session, actor: Actor, event_id: int) -> EventLine:
    """One visible event with the actor's registration; a 404 otherwise."""
    lines = _lines(session, actor, _visible_query(actor, Filters()).where(Event.id == event_id))
    if not lines:
        raise NotFound(_("There is no such event, or it is not open to your brand."))
    return lines[0]


def page(
    session: Session,
    actor: Actor,
    filters: Filters,
    start: datetime,
    end: datetime | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> tuple[list[EventLine], tuple[datetime, int] | None]:
    """Visible events ending after `start` (and starting before `end`), soonest first,
    `limit` after the (starts_at, id) `after` (the API's pages); with where to continue."""
    query = _visible_query(actor, filters).where(col(Event.ends_at) > start)
    if end is not None:
        query = query.where(col(Event.starts_at) < end)
    if after is not None:
        starts_at, event_id = after
        query = query.where(
            or_(
                col(Event.starts_at) > starts_at,
                (col(Event.starts_at) == starts_at) & (col(Event.id) > event_id),
            )
        )
    lines = _lines(
        session, actor, query.order_by(col(Event.starts_at), col(Event.id)).limit(limit + 1)
    )
    more = len(lines) > limit
    lines = lines[:limit]
    last = lines[-1].event if more and lines else None
    return lines, ((last.starts_at, last.id or 0) if last else None)


def by_day(lines: list[EventLine], days: list[date], zone_name: str) -> dict[date, list[EventLine]]:
    """Each day of the grid with the events happening on it in the viewer's zone; whole
    days are the event's own dates, wherever the viewer is."""
    placed: dict[date, list[EventLine]] = {day: [] for day in days}
    for line in lines:
        on = line.event.time_zone if line.event.all_day else zone_name
        first = to_local(line.event.starts_at, on).date()
        # An event ending exactly at midnight does not spill onto the next day.
        last = (to_local(line.event.ends_at, on) - timedelta(microseconds=1)).date()
        for day in days:
            if first <= day <= last:
                placed[day].append(line)
    return placed


def search(session: Session, actor: Actor, text: str, limit: int = 10) -> list[EventLine]:
    """Events the actor may see whose title or venue holds every word of `text`, latest
    first; the site search shows them beside the intelligence hits."""
    words = [word for word in text.split() if len(word) >= 2][:5]
    if not words:
        return []
    query = _visible_query(actor, Filters())
    for word in words:
        pattern = f"%{word.replace('%', '').replace('_', '')}%"
        query = query.where(or_(col(Event.title).ilike(pattern), col(Event.venue).ilike(pattern)))
    return _lines(session, actor, query.order_by(col(Event.starts_at).desc()).limit(limit))
