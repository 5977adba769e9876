"""Reading what a person gets back: an element of a page, a field's error, their calendar
address, an .ics file as one calendar application would read it, and mailed attachments."""

import base64
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import icalendar
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from hub.notify.models import OutboxMail


class _ElementText(HTMLParser):
    """The text inside the element with a given id, tags stripped, spaces collapsed."""

    VOID = {"br", "input", "img", "hr", "meta", "link", "source", "wbr"}

    def __init__(self, element_id: str) -> None:
        super().__init__()
        self.element_id = element_id
        self.depth = 0  # open elements inside the wanted one, itself included
        self.found = False
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        if self.depth:
            self.depth += 1
        elif dict(attrs).get("id") == self.element_id and not self.found:
            self.found, self.depth = True, 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag not in self.VOID:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.parts.append(data)


def element_text(html: str, element_id: str) -> str | None:
    """The text of `#element_id`, or None when the page has no such element."""
    parser = _ElementText(element_id)
    parser.feed(html)
    return " ".join("".join(parser.parts).split()) if parser.found else None


class _MonthGrid(HTMLParser):
    """The cells of the month view: each day's number and the links placed on it."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[str, list[str], list[str]]] = []  # classes, day text, links
        self.in_day = 0  # open spans inside the day number, itself included

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        classes = (values.get("class") or "").split()
        if tag == "td":
            self.cells.append((" ".join(classes), [], []))
        elif tag == "a" and self.cells and values.get("href"):
            self.cells[-1][2].append(values["href"] or "")
        elif tag == "span" and (self.in_day or "day-number" in classes):
            self.in_day += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self.in_day:
            self.in_day -= 1

    def handle_data(self, data: str) -> None:
        if self.in_day and self.cells:
            self.cells[-1][1].append(data)


def month_days(html: str) -> dict[int, list[str]]:
    """The month view's own days (not the neighbouring months' days that fill its first
    and last weeks), each with the addresses of the events shown on it."""
    grid = _MonthGrid()
    grid.feed(html)
    days: dict[int, list[str]] = {}
    for classes, text, links in grid.cells:
        digits = "".join(ch for ch in "".join(text) if ch.isdigit())
        if digits and "other-month" not in classes.split():
            days[int(digits)] = links
    return days


def field_error(html: str, field: str) -> str | None:
    """The message shown beside a form field (the macros give it the id `e-<field>`)."""
    return element_text(html, f"e-{field}")


def feed_path(browser: TestClient) -> str:
    """The secret calendar address the person's settings page shows, as a path."""
    page = browser.get("/me")
    assert page.status_code == 200
    found = re.search(r'id="feed-url"[^>]*value="([^"]+)"', page.text)
    assert found is not None, "the settings page shows no calendar address"
    return urlsplit(found.group(1)).path


def calendar_of(data: bytes) -> icalendar.Calendar:
    cal = icalendar.Calendar.from_ical(data)
    assert isinstance(cal, icalendar.Calendar)
    return cal


def vevents(data: bytes) -> list[icalendar.Event]:
    return list(calendar_of(data).walk("VEVENT"))


def unfolded(data: bytes) -> str:
    """The file's text with folded lines joined again (RFC 5545, 3.1)."""
    return data.decode().replace("\r\n ", "").replace("\r\n\t", "")


def mails_to(session: Session, address: str, after: int = 0) -> list[OutboxMail]:
    return list(
        session.exec(
            select(OutboxMail)
            .where(OutboxMail.to_address == address, col(OutboxMail.id) > after)
            .order_by(col(OutboxMail.id))
        )
    )


def last_mail_id(session: Session) -> int:
    found = session.exec(select(OutboxMail.id).order_by(col(OutboxMail.id).desc())).first()
    return found or 0


def ics_attachments(mail: OutboxMail) -> list[bytes]:
    return [
        base64.b64decode(attachment["data"])
        for attachment in mail.attachments
        if attachment["content_type"].startswith("text/calendar")
    ]
