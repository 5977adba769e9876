"""iCalendar (RFC 5545) files: one event, the personal feed, and e-mail attachments.

Times are written in the event's own zone with its VTIMEZONE, so a calendar shows the
right local time whatever daylight-saving rules the reader lives under; whole-day events
(a three-day conference) are written as dates. The UID never changes and SEQUENCE goes up
with every change, so calendars update the event they already hold instead of adding one.

The texts for people (summary, description, category) are in the current language: the
reader's for a download, the person's for an e-mail or their feed (hub.i18n.presenting);
property values stay machine formats.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import icalendar

from hub.clock import as_utc
from hub.events.models import ATTENDANCE_LABELS, EVENT_KIND_LABELS, Attendance, Event, EventStatus
from hub.events.times import to_local
from hub.i18n import gettext as _
from hub.intel.models import TLP_LABELS

PRODID = "-//Alliance Hub//Event calendar//EN"
CONTENT_TYPE = "text/calendar; charset=utf-8"


@dataclass(frozen=True)
class Entry:
    """One event as one reader may see it: the meeting link only for those holding a seat
    (and the organisers)."""

    event: Event
    show_link: bool = False


def _location(event: Event, show_link: bool) -> str:
    place = ", ".join(part for part in (event.venue, event.address) if part)
    if event.attendance == Attendance.online:
        return event.online_url if show_link else _("Online")
    return place


def _description(event: Event, page: str, show_link: bool) -> str:
    lines = [event.description] if event.description else []
    if event.online_url and show_link:
        lines.append(_("Join online: %(link)s", link=event.online_url))
    elif event.attendance != Attendance.in_person:
        lines.append(_("The meeting link is shown on the hub to people holding a seat."))
    marking = str(TLP_LABELS.get(event.materials_tlp, event.materials_tlp))
    if event.chatham_house:
        lines.append(_("Materials: %(tlp)s under the Chatham House Rule.", tlp=marking))
    else:
        lines.append(_("Materials: %(tlp)s.", tlp=marking))
    if event.status == EventStatus.cancelled:
        cancelled = _("CANCELLED.")
        if event.cancel_reason:
            cancelled = _("CANCELLED: %(reason)s", reason=event.cancel_reason)
        lines.insert(0, cancelled)
    lines.append(_("Details and registration: %(link)s", link=page))
    return "\n\n".join(lines)


def component(entry: Entry, base_url: str) -> icalendar.Event:
    event = entry.event
    page = f"{base_url.rstrip('/')}/events/{event.id}"
    item = icalendar.Event()
    item.add("uid", event.uid)
    item.add("sequence", event.sequence)
    item.add("dtstamp", as_utc(event.updated_at))
    item.add("created", as_utc(event.created_at))
    item.add("last-modified", as_utc(event.updated_at))
    starts = to_local(event.starts_at, event.time_zone)
    ends = to_local(event.ends_at, event.time_zone)
    if event.all_day:
        # DTEND of a whole-day event is the day after the last one (RFC 5545, 3.6.1).
        item.add("dtstart", starts.date())
        item.add("dtend", ends.date())
    else:
        item.add("dtstart", starts)
        item.add("dtend", ends)
    if event.status == EventStatus.cancelled:
        item.add("summary", _("Cancelled: %(title)s", title=event.title))
    else:
        item.add("summary", event.title)
    item.add("description", _description(event, page, entry.show_link))
    location = _location(event, entry.show_link)
    if location:
        item.add("location", location)
    item.add("url", page)
    item.add("categories", [str(EVENT_KIND_LABELS.get(event.kind, event.kind))])
    item.add("status", "CANCELLED" if event.status == EventStatus.cancelled else "CONFIRMED")
    item.add("transp", "TRANSPARENT" if event.all_day else "OPAQUE")
    item.add("x-alliance-hub-attendance", str(ATTENDANCE_LABELS.get(event.attendance, "")))
    return item


def calendar(entries: Iterable[Entry], base_url: str, name: str) -> bytes:
    """A calendar of the entries, with a VTIMEZONE for every zone they use."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    # Subscribed calendars ask again after this long (Apple and Outlook honour it).
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    entries = list(entries)
    for entry in entries:
        cal.add_component(component(entry, base_url))
    if entries:
        # The zone rules of the years the events span, not every year since 1970.
        first = min(as_utc(entry.event.starts_at) for entry in entries).date()
        last = max(as_utc(entry.event.ends_at) for entry in entries).date()
        cal.add_missing_timezones(first - timedelta(days=366), last + timedelta(days=366))
    else:
        # RFC 5545 wants at least one component: an empty feed still parses everywhere.
        cal.add_component(icalendar.Timezone.from_tzid("UTC"))
    return bytes(cal.to_ical())


def one_event(entry: Entry, base_url: str) -> bytes:
    """PUBLISH even for a cancelled event: iTIP's CANCEL needs an ORGANIZER and attendee
    addresses, which a file handed to any calendar does not carry; STATUS:CANCELLED with a
    higher SEQUENCE makes calendars mark the event they hold as cancelled."""
    return calendar([entry], base_url, entry.event.title)


def filename(event: Event) -> str:
    return f"event-{event.id}.ics"
