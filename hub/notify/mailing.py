"""Notifications by e-mail, as each person chose per topic: the worker mails the instant
ones within seconds and gathers the rest into one daily digest, grouped by working group.

Each mail is written in its reader's language and time zone (hub.i18n.presenting), as
they chose on their profile. The notification's own line was written when it was made.

TLP holds in e-mail too: an item about a TLP:RED or TLP:AMBER+STRICT report never puts
the report's words in a mail body; the mail says there is one and links to it, and the hub
asks the reader to sign in before showing it.
"""

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from hub import i18n
from hub.auth.sessions import load_actor
from hub.config import Settings
from hub.events.times import to_local
from hub.groups.models import WorkingGroup
from hub.i18n import gettext as _
from hub.i18n import ngettext
from hub.intel.models import TLP_LABELS, Indicator, IntelReport, Tlp
from hub.members.models import Brand, Person
from hub.notify.models import Notification
from hub.notify.outbox import queue_mail
from hub.notify.topics import Delivery, choices, topic_of
from hub.policy import visible_intel

BATCH = 500
MAX_PAGES = 40  # a run reads at most this many pages; the next run, seconds later, goes on
DIGEST_HOUR = 7  # local time of the person: the digest is there when the day starts
RESTRICTED = (Tlp.red, Tlp.amber_strict)


def _link(settings: Settings, item: Notification) -> str:
    path = f"/intel/{item.report_id}" if item.report_id else (item.link or "/notifications")
    return f"{settings.base_url.rstrip('/')}{path}"


def _restricted(report: IntelReport | None) -> str:
    """The marking that keeps the item's words out of e-mail, or ""."""
    return TLP_LABELS[report.tlp] if report is not None and report.tlp in RESTRICTED else ""


# Built once, as hub.intel.correlation does: an alias made per call costs more.
_OWN = aliased(Indicator, name="own_indicator")
_LINKED = aliased(Indicator, name="linked_indicator")


def _marking(session: Session, item: Notification, report: IntelReport | None) -> str:
    """The marking that keeps the item's words out of e-mail, or "". Some notices name a
    second report beside the one they link to, whose marking counts as well: a merge
    notice the report kept, a match notice the reader's own report sharing an indicator."""
    marking = _restricted(report)
    if marking or report is None:
        return marking
    if item.kind == "intel.moderated" and report.merged_into_id is not None:
        return _restricted(session.get(IntelReport, report.merged_into_id))
    if item.kind != "intel.match":
        return ""
    own = session.exec(
        select(IntelReport)
        .join(_OWN, col(_OWN.report_id) == IntelReport.id)
        .join(
            _LINKED,
            (col(_LINKED.kind) == _OWN.kind) & (col(_LINKED.normalised) == _OWN.normalised),
        )
        .where(
            _LINKED.report_id == report.id,
            IntelReport.author_id == item.person_id,
            IntelReport.id != report.id,
            col(IntelReport.tlp).in_(RESTRICTED),
        )
        .limit(1)
    ).first()
    return _restricted(own)


def _line(settings: Settings, item: Notification, marking: str) -> str:
    if marking:
        there_is = _("There is an item marked %(marking)s for you on the hub.", marking=marking)
        return f"{there_is}\n{_link(settings, item)}"
    return f"{item.text}\n{_link(settings, item)}"


def _unmailed(session: Session, now: datetime) -> Iterator[tuple[Notification, Person]]:
    """Every notification still to be mailed, oldest first, a page at a time: items waiting
    for a digest stay unmailed all day and must not hide the instant ones behind them."""
    after = 0
    for _page in range(MAX_PAGES):
        rows = session.exec(
            select(Notification, Person)
            .join(Person, col(Person.id) == Notification.person_id)
            .where(
                col(Notification.mailed_at).is_(None),
                col(Notification.created_at) <= now,
                col(Notification.id) > after,
            )
            .order_by(col(Notification.id))
            .limit(BATCH)
        ).all()
        yield from rows
        if len(rows) < BATCH:
            return
        after = rows[-1][0].id or 0


def _reports(session: Session, items: list[Notification]) -> dict[int, IntelReport]:
    ids = sorted({item.report_id for item in items if item.report_id})
    if not ids:
        return {}
    found = session.exec(select(IntelReport).where(col(IntelReport.id).in_(ids)))
    return {report.id or 0: report for report in found}


def _unreadable(session: Session, rows: list[tuple[Notification, Person]]) -> set[int]:
    """The notifications about a report their person may no longer read (hidden by a
    coordinator, re-marked, or their brand left its group since): their text names the
    report, so they are settled without a mail."""
    asked: dict[int, tuple[Person, set[int]]] = {}
    for item, person in rows:
        if item.report_id:
            asked.setdefault(person.id or 0, (person, set()))[1].add(item.report_id)
    gone: set[tuple[int, int]] = set()
    for person_id, (person, report_ids) in asked.items():
        brand = session.get(Brand, person.brand_id)
        readable: set[int | None] = set()
        if brand is not None:
            reader = load_actor(session, person, brand)
            readable = set(
                session.exec(
                    select(IntelReport.id).where(
                        col(IntelReport.id).in_(sorted(report_ids)), visible_intel(reader)
                    )
                )
            )
        gone |= {(person_id, report_id) for report_id in report_ids - readable}
    return {item.id or 0 for item, person in rows if (person.id, item.report_id) in gone}


def mail_instant(session: Session, settings: Settings, now: datetime) -> int:
    """Mail each notification whose person wants its topic at once; settle the ones they
    do not want by e-mail, and the ones about a report they may no longer read. Digest
    items wait for `send_digests`."""
    rows = list(_unmailed(session, now))
    unreadable = _unreadable(session, rows)
    reports = _reports(session, [item for item, _ in rows])
    chosen: dict[int, dict[str, str]] = {}
    queued = 0
    for item, person in rows:
        topic = topic_of(item.kind)
        wants = chosen.get(person.id or 0)
        if wants is None:  # one query per person, not per notification
            wants = chosen[person.id or 0] = choices(session, person.id or 0)
        delivery = wants.get(topic.key, Delivery.off) if topic else Delivery.off
        if item.id in unreadable:
            delivery = Delivery.off
        if delivery == Delivery.digest and person.is_active:
            continue
        if delivery == Delivery.instant and person.is_active:
            report = reports.get(item.report_id or 0)
            marking = _marking(session, item, report)
            with i18n.presenting(person.language, person.time_zone):
                if marking:
                    subject = _("An item marked %(marking)s for you", marking=marking)
                else:
                    subject = item.text[:150]
                body = _line(settings, item, marking) + "\n"
            queue_mail(
                session,
                person.email,
                " ".join(subject.split()),
                body,
                dedupe_key=f"notification:{item.id}",
            )
            queued += 1
        item.mailed_at = now
        session.add(item)
    session.commit()
    return queued


def send_digests(session: Session, settings: Settings, now: datetime) -> int:
    """One mail a day per person with digest items, once their day has begun, grouped by
    working group; the items are then settled."""
    pending: dict[int, list[Notification]] = defaultdict(list)
    people: dict[int, Person] = {}
    chosen: dict[int, dict[str, str]] = {}
    for item, person in _unmailed(session, now):
        topic = topic_of(item.kind)
        wants = chosen.get(person.id or 0)
        if wants is None:  # one query per person, not per notification
            wants = chosen[person.id or 0] = choices(session, person.id or 0)
        if topic is None or wants.get(topic.key) != Delivery.digest:
            continue
        pending[person.id or 0].append(item)
        people[person.id or 0] = person
    sent = 0
    for person_id, items in pending.items():
        person = people[person_id]
        local = to_local(now, person.time_zone or "UTC")
        if local.hour < DIGEST_HOUR:
            continue
        unreadable = _unreadable(session, [(item, person) for item in items])
        for item in items:
            if item.id in unreadable:
                item.mailed_at = now
                session.add(item)
        items = [item for item in items if item.id not in unreadable]
        if not items:
            continue
        with i18n.presenting(person.language, person.time_zone):
            body = _digest_body(session, settings, items)
            subject = ngettext(
                "Your Alliance Hub digest: %(num)s update",
                "Your Alliance Hub digest: %(num)s updates",
                len(items),
            )
        if queue_mail(
            session, person.email, subject, body, dedupe_key=f"digest:{person_id}:{local:%Y-%m-%d}"
        ):
            sent += 1
            for item in items:
                item.mailed_at = now
                session.add(item)
    session.commit()
    return sent


def _digest_body(session: Session, settings: Settings, items: list[Notification]) -> str:
    reports = _reports(session, items)
    by_group: dict[int | None, list[str]] = defaultdict(list)
    for item in items:
        report = reports.get(item.report_id or 0)
        group_id = item.group_id or (report.group_id if report else None)
        by_group[group_id].append(_line(settings, item, _marking(session, item, report)))
    names = {
        group.id: group.name
        for group in session.exec(
            select(WorkingGroup).where(col(WorkingGroup.id).in_([g for g in by_group if g]))
        )
    }
    parts = [_("What happened on the hub since your last digest.") + "\n"]
    for group_id in sorted(by_group, key=lambda g: (g is None, names.get(g, ""))):
        named = names.get(group_id) or _("Working group")
        title = named if group_id else _("Across the alliance")
        parts.append(f"== {title} ==")
        parts.extend(f"- {line}" for line in by_group[group_id])
        parts.append("")
    settings_page = f"{settings.base_url.rstrip('/')}/me"
    parts.append(_("Choose what reaches you by e-mail: %(address)s", address=settings_page))
    return "\n".join(parts) + "\n"
