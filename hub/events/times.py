"""Time zones: the event's own zone, the viewer's zone, and moving between them.

Times are stored in UTC. An event keeps the IANA zone it happens in, so its local times
survive daylight-saving changes anywhere; a viewer sees times in the zone of their profile,
else the one their browser reported (the `hub_tz` cookie set by static/js/hub.js), else UTC.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import dates as babel_dates
from fastapi import Request

from hub import i18n
from hub.clock import as_utc
from hub.i18n import gettext as _
from hub.policy import Actor

TZ_COOKIE = "hub_tz"
DEFAULT_ZONE = "UTC"


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    """Every IANA zone a person may pick, without the legacy aliases of the database."""
    names = {name for name in available_timezones() if "/" in name and not name.startswith("Etc/")}
    return tuple(sorted(names | {"UTC"}))


def is_zone(name: str) -> bool:
    return name in zone_names()


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name) if is_zone(name) else ZoneInfo(DEFAULT_ZONE)
    except ZoneInfoNotFoundError:
        return ZoneInfo(DEFAULT_ZONE)


def to_local(value: datetime, zone_name: str) -> datetime:
    return as_utc(value).astimezone(zone(zone_name))


def from_local(day: date, at: time, zone_name: str) -> datetime:
    """The UTC instant of a wall-clock time in a zone. A time that does not exist (skipped
    by a daylight-saving change) moves forward; an ambiguous one takes its first meaning."""
    local = datetime.combine(day, at, tzinfo=zone(zone_name))
    return local.astimezone(UTC)


def viewer_zone(request: Request, actor: Actor | None) -> str:
    if actor is not None and is_zone(actor.time_zone):
        return actor.time_zone
    browser = request.cookies.get(TZ_COOKIE, "")
    return browser if is_zone(browser) else DEFAULT_ZONE


def zone_abbreviation(value: datetime, zone_name: str) -> str:
    """'CST', 'GMT', 'EDT'... or the offset where a zone has no letters ('+08')."""
    return to_local(value, zone_name).strftime("%Z")


@dataclass(frozen=True)
class Month:
    """A calendar month as weeks of seven days, Monday first."""

    first: date

    @classmethod
    def parse(cls, text: str, today: date) -> "Month":
        try:
            year, month = (int(part) for part in text.split("-", 1))
            if not date.min.year < year < date.max.year:  # its grid would leave the calendar
                raise ValueError(text)
            return cls(date(year, month, 1))
        except ValueError:
            return cls(today.replace(day=1))

    @property
    def key(self) -> str:
        return f"{self.first:%Y-%m}"

    @property
    def label(self) -> str:
        """'March 2030', '2030年3月'."""
        return i18n.skeleton(self.first, "yMMMM")

    @staticmethod
    def weekdays() -> list[tuple[str, str]]:
        """The grid's column headers, Monday first: each day's short and full name in
        the viewer's language ('Mon', 'Monday'; '周一', '星期一')."""
        locale = i18n.current().locale
        short = babel_dates.get_day_names("abbreviated", "stand-alone", locale)
        full = babel_dates.get_day_names("wide", "stand-alone", locale)
        return [(short[day], full[day]) for day in range(7)]

    @property
    def previous(self) -> "Month":
        return Month((self.first - timedelta(days=1)).replace(day=1))

    @property
    def next(self) -> "Month":
        return Month((self.first + timedelta(days=32)).replace(day=1))

    @property
    def weeks(self) -> list[list[date]]:
        start = self.first - timedelta(days=self.first.weekday())
        end = self.next.first
        weeks: list[list[date]] = []
        day = start
        while day < end:
            weeks.append([day + timedelta(days=offset) for offset in range(7)])
            day += timedelta(days=7)
        return weeks

    def bounds(self, zone_name: str) -> tuple[datetime, datetime]:
        """The UTC instants the grid covers, in the viewer's zone."""
        weeks = self.weeks
        first, last = weeks[0][0], weeks[-1][-1] + timedelta(days=1)
        return from_local(first, time(0), zone_name), from_local(last, time(0), zone_name)


def _moment(value: datetime, zone_name: str) -> str:
    """A moment's day, with its weekday, and time of day in a zone, as the viewer's locale
    joins them: 'Wed, Mar 20, 2030, 2:00 AM', '2030年3月20日周三 02:00'."""
    day = i18n.skeleton(to_local(value, zone_name).date(), "yMMMEd")
    return i18n.joined(day, i18n.clock(value, zone_name))


def span_text(
    starts_at: datetime, ends_at: datetime, all_day: bool, event_zone: str, viewer: str
) -> str:
    """When an event happens, as the viewer reads it, in their language: whole days as the
    event's own dates; timed events in the viewer's zone, with the event's local time
    beside them when the zones differ."""
    if all_day:
        first = to_local(starts_at, event_zone).date()
        last = (to_local(ends_at, event_zone) - timedelta(days=1)).date()
        if first == last:
            return _("%(day)s, all day", day=i18n.skeleton(first, "yMMMEd"))
        days = babel_dates.format_interval(first, last, "yMMMEd", locale=i18n.current().locale)
        return _("%(days)s, whole days", days=days)
    starts, ends = to_local(starts_at, viewer), to_local(ends_at, viewer)
    if ends.date() == starts.date():
        text = _(
            "%(day)s, %(start)s – %(end)s %(zone)s",
            day=i18n.skeleton(starts.date(), "yMMMEd"),
            start=i18n.clock(starts_at, viewer),
            end=i18n.clock(ends_at, viewer),
            zone=ends.strftime("%Z"),
        )
    else:
        text = _(
            "%(start)s – %(end)s %(zone)s",
            start=_moment(starts_at, viewer),
            end=_moment(ends_at, viewer),
            zone=ends.strftime("%Z"),
        )
    if viewer != event_zone:
        weekday = i18n.skeleton(to_local(starts_at, event_zone).date(), "EEE")
        there = i18n.joined(weekday, i18n.clock(starts_at, event_zone))
        text = _("%(when)s (%(there)s %(zone)s)", when=text, there=there, zone=event_zone)
    return text
