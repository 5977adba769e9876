"""Languages: which one a viewer reads, the translated messages, and how dates, numbers and
money are written for them.

English is the source language: every message is written in English in the code and the
templates, marked with `_()` (or `{% trans %}`), and translated in
`hub/translations/<locale>/LC_MESSAGES/messages.po`. A language is offered as soon as its
`.po` file exists (see README: adding a language). A request's language is the person's
profile choice, else the one they picked on the sign-in page (the `hub_lang` cookie), else
the best their browser asks for (Accept-Language), else English. Its time zone is the
profile's, else the browser's (`hub_tz` cookie), else UTC.

The choice lives in a context variable holding one `Presentation` per request: the
middleware makes it before anything else runs, and sign-in (which runs in a worker thread
with a copy of the context) updates that same object once it knows the person.
"""

import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from gettext import NullTranslations
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy, Translations
from jinja2 import Environment
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from hub import ROOT

TRANSLATIONS = ROOT / "hub" / "translations"
SOURCE_LANGUAGE = "en"
LANGUAGE_COOKIE = "hub_lang"
ZONE_COOKIE = "hub_tz"
DEFAULT_ZONE = "UTC"


@lru_cache(maxsize=1)
def languages() -> tuple[str, ...]:
    """English, then every language with a catalogue, in the order of their codes."""
    found = sorted(path.parent.parent.name for path in TRANSLATIONS.glob("*/LC_MESSAGES/*.po"))
    return (SOURCE_LANGUAGE, *found)


def language_name(code: str) -> str:
    """A language as its readers write it: 'English', '中文 (简体)'."""
    return Locale.parse(code).get_display_name(code) or code


@lru_cache(maxsize=16)
def translations(code: str) -> NullTranslations:
    """The compiled catalogue of `code`; read from its `.po` file when no `.mo` file is as
    new (a fresh clone, or a translation edited since `make messages`)."""
    if code == SOURCE_LANGUAGE:
        return NullTranslations()
    folder = TRANSLATIONS / code / "LC_MESSAGES"
    po, mo = folder / "messages.po", folder / "messages.mo"
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as file:
            return Translations(file)
    return Translations(io.BytesIO(_compiled(po)))


def _compiled(po: Path) -> bytes:
    with po.open("rb") as file:
        catalog = read_po(file)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # fuzzy entries are left out, as `pybabel compile` does
    buffer.seek(0)
    return buffer.getvalue()


@dataclass
class Presentation:
    """How one request, e-mail or feed is written: its language, the locale its dates and
    numbers follow (English in the British way for an en-GB browser), and its time zone."""

    language: str = SOURCE_LANGUAGE
    formats: Locale | None = None
    zone: str = DEFAULT_ZONE

    @property
    def locale(self) -> Locale:
        return self.formats or _locale(self.language)

    def prefer(self, language: str, zone: str) -> None:
        """A signed-in person's own choices, where they made them."""
        if language in languages() and language != self.language:
            self.language, self.formats = language, None
        if zone:
            self.zone = zone


_current: ContextVar[Presentation] = ContextVar("presentation")


def current() -> Presentation:
    """The request's (or e-mail's) Presentation; outside both, English in UTC."""
    try:
        return _current.get()
    except LookupError:
        return Presentation()


@contextmanager
def presenting(language: str, zone: str = "") -> Iterator[Presentation]:
    """Write something for a person outside their request (an e-mail, a feed)."""
    chosen = Presentation()
    chosen.prefer(language, zone)
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


@lru_cache(maxsize=16)
def _locale(code: str) -> Locale:
    return Locale.parse(code)


def negotiate(accept_language: str) -> tuple[str, Locale | None]:
    """The best offered language for an Accept-Language header, and the locale its dates
    and numbers follow. zh-CN, zh-SG and bare zh read Simplified Chinese; zh-TW and zh-HK
    ask for Traditional, which is not offered."""
    offered = {_locale(code): code for code in languages()}
    for tag in _by_quality(accept_language):
        try:
            asked = Locale.parse(tag, sep="-")
        except (ValueError, UnknownLocaleError):
            continue
        for locale, code in offered.items():
            same_script = asked.script is None or locale.script in (None, asked.script)
            if locale.language == asked.language and same_script:
                return code, asked if asked.territory else None
    return SOURCE_LANGUAGE, None


def _by_quality(header: str) -> list[str]:
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


def from_request(headers: Mapping[str, str], cookies: Mapping[str, str]) -> Presentation:
    chosen = cookies.get(LANGUAGE_COOKIE, "")
    language, formats = negotiate(headers.get("accept-language", ""))
    if chosen in languages() and chosen != language:
        language, formats = chosen, None
    return Presentation(language, formats, cookies.get(ZONE_COOKIE, "") or DEFAULT_ZONE)


class Localise:
    """ASGI middleware: every request gets its own Presentation before anything renders,
    so even an error page is in the viewer's language."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]
        }
        token = _current.set(from_request(headers, cookie_parser(headers.get("cookie", ""))))
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)


# Messages ----------------------------------------------------------------------------------


def gettext(message: str, **variables: Any) -> str:
    """`message` in the current language; `%(name)s` placeholders filled from `variables`."""
    text = translations(current().language).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    """The form for `n`; `%(num)s` is `n` written in the current locale."""
    text = translations(current().language).ngettext(singular, plural, n)
    return text % {"num": number(n), **variables}


def pgettext(context: str, message: str, **variables: Any) -> str:
    """For a word whose translation depends on where it is used ('Open' a door or a case)."""
    text = translations(current().language).pgettext(context, message)
    return text % variables if variables else text


def lazy_gettext(message: str, **variables: Any) -> LazyProxy:
    """For labels defined once at import: translated each time it is shown."""
    return LazyProxy(gettext, message, enable_cache=False, **variables)


def english(message: LazyProxy | str) -> str:
    """A message marked with lazy_gettext, in the source language: for records kept in
    one language whoever caused them (the sign-in log, stored connection checks)."""
    with presenting(SOURCE_LANGUAGE):
        return str(message)


_ = gettext


# Dates, numbers and money ------------------------------------------------------------------


def _local(value: datetime, zone: str | None = None) -> datetime:
    from hub.events.times import to_local  # the zone rules live with the calendar's

    return to_local(value, zone or current().zone)


def when(value: datetime | None, zone: str | None = None) -> str:
    """A moment as the viewer's clock read it, with the zone's abbreviation:
    'Nov 30, 2026, 5:25 PM CET', '2026年11月30日 17:25 CST'."""
    if value is None:
        return "—"
    local = _local(value, zone)
    locale = current().locale
    text = joined(
        babel_dates.format_date(local, "medium", locale=locale),
        babel_dates.format_time(local, "short", locale=locale),
    )
    return f"{text} {local.strftime('%Z')}".strip()


def joined(day_text: str, time_text: str) -> str:
    """A day and a time of day put together as the locale does: 'Nov 30, 2026, 5:25 PM',
    '2026年11月30日 17:25'."""
    return str(current().locale.datetime_formats["medium"]).format(time_text, day_text)


def day(value: date | datetime | None, width: str = "medium") -> str:
    """A date, for a datetime the viewer's day of it: '30 Nov 2026', '2026年11月30日'."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = _local(value).date()
    return babel_dates.format_date(value, width, locale=current().locale)


def clock(value: datetime | None, zone: str | None = None) -> str:
    """The time of day alone: '17:25', '5:25 PM'."""
    if value is None:
        return "—"
    return babel_dates.format_time(_local(value, zone), "short", locale=current().locale)


def skeleton(value: date | datetime, pattern: str) -> str:
    """A date in a shape the locale knows: skeleton 'MMMMy' gives 'November 2026', '2026年11月'."""
    if isinstance(value, datetime):
        value = _local(value)
    return babel_dates.format_skeleton(pattern, value, locale=current().locale)


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """How long before (or after) now: '3 hours ago', '3小时前', 'in 2 days'."""
    if value is None:
        return "—"
    from hub.clock import as_utc

    delta: timedelta = as_utc(value) - (now or datetime.now(UTC))
    return babel_dates.format_timedelta(
        delta, add_direction=True, threshold=1.0, locale=current().locale
    )


def duration(delta: timedelta) -> str:
    """A length of time: '5 hours', '5小时'."""
    return babel_dates.format_timedelta(delta, threshold=1.0, locale=current().locale)


def number(value: int | float | Decimal | None, decimals: int | None = None) -> str:
    """'1,234,567' (or '1.234.567' for a German reader); `decimals` fixes the fraction."""
    if value is None:
        return "—"
    if decimals is None:
        return babel_numbers.format_decimal(value, locale=current().locale)
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return babel_numbers.format_decimal(value, pattern, locale=current().locale)


def percent(value: float | None, decimals: int = 0) -> str:
    """A share 0..1 as '87%' ('87 %' in French)."""
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + "%"
    return babel_numbers.format_percent(value, pattern, locale=current().locale)


def money(amount: int | float | Decimal | None, currency: str) -> str:
    """An amount with its currency, never converted: '$1,250.00' / 'CN¥340.00' in English,
    'US$1,250.00' / '¥340.00' as Chinese readers write them; an unknown code as given."""
    if amount is None:
        return "—"
    return babel_numbers.format_currency(amount, currency, locale=current().locale)


def install(env: Environment) -> None:
    """Jinja's i18n extension with this module's catalogues, filters and globals.

    Templates call `_("...")`, `ngettext(...)` or use `{% trans %}`; Jinja fills the
    `%(name)s` placeholders itself, escaping them, so a literal % is written %%."""
    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True  # a {% trans %} block's line breaks are spaces
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda message: translations(current().language).gettext(message),
        ngettext=_counted,
        pgettext=lambda context, message: translations(current().language).pgettext(
            context, message
        ),
        newstyle=True,
    )
    env.filters.update(FILTERS)
    env.globals.update(
        current_language=lambda: current().language,
        languages=languages,
        language_name=language_name,
    )


def _counted(singular: str, plural: str, n: int) -> str:
    """For templates: the form for `n`, with `%(num)s` written in the current locale (Jinja
    fills the other placeholders)."""
    text = translations(current().language).ngettext(singular, plural, n)
    return text.replace("%(num)s", number(n))


FILTERS = {
    "when": when,
    "day": day,
    "clock": clock,
    "skeleton": skeleton,
    "ago": ago,
    "duration": duration,
    "number": number,
    "percent": percent,
    "money": money,
}
