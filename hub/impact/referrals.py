"""Referrals to law enforcement: a case built from intelligence reports and test-purchase
verdicts of one working group, all of which the referrer may read, then its outcome recorded
step by step (two people recording at once are told of each other, nothing is lost).

Every read goes through hub.policy.visible_referrals: a referral is readable only by those
who may read every one of its sources.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from hub import audit, i18n
from hub.clock import utcnow
from hub.db import MAX_ROW_ID, lock_row, row_id
from hub.errors import Conflict, Forbidden, FormCheck, NotFound
from hub.groups.models import WorkingGroup
from hub.i18n import gettext as _
from hub.i18n import lazy_gettext, ngettext
from hub.impact.models import (
    REFERRAL_STATUS_LABELS,
    Referral,
    ReferralPurchase,
    ReferralReport,
    ReferralStatus,
    ReferralUpdate,
)
from hub.intel.models import IntelReport
from hub.members.countries import COUNTRIES
from hub.members.models import Brand, Person
from hub.policy import (
    Action,
    Actor,
    ReferralView,
    can,
    ensure,
    visible_intel,
    visible_purchases,
    visible_referrals,
)
from hub.testbuys.campaigns import parse_money
from hub.testbuys.models import Campaign, Purchase, Verdict

PAGE_SIZE = 25
MAX_SOURCES = 50  # reports and purchases of one referral
MAX_COUNT = 10_000_000  # arrests, facilities, items seized
EARLIEST_YEAR = 2000
# The currencies seizures are valued in, most usual first.
CURRENCIES = (
    "CNY",
    "EUR",
    "USD",
    "HKD",
    "GBP",
    "JPY",
    "KRW",
    "CHF",
    "SGD",
    "TWD",
    "INR",
    "BRL",
    "AUD",
    "CAD",
)
DEFAULT_CURRENCY = "CNY"
# Only an item judged fake or diverted is evidence worth an agency's time.
REFERABLE_VERDICTS = frozenset({Verdict.counterfeit, Verdict.grey_market})
# Outcomes that happened on a day the agency acted.
RAID_STATUSES = frozenset({ReferralStatus.raid_done, ReferralStatus.prosecuted})
LIMITS = {"agency": 200, "jurisdiction": 120, "contact": 200, "reference": 120, "summary": 5000}
COUNT_LABELS = {
    "suspects_arrested": lazy_gettext("Suspects arrested"),
    "facilities_closed": lazy_gettext("Facilities closed"),
    "goods_seized": lazy_gettext("Goods seized"),
}


@dataclass
class ReferralForm:
    agency: str = ""
    jurisdiction: str = ""
    country: str = ""
    sent_on: str = ""
    contact: str = ""
    reference: str = ""
    summary: str = ""


@dataclass
class OutcomeForm:
    status: str = ReferralStatus.sent
    raid_on: str = ""
    suspects_arrested: str = "0"
    facilities_closed: str = "0"
    goods_seized: str = "0"
    goods_value: str = "0.00"
    goods_currency: str = DEFAULT_CURRENCY
    note: str = ""
    version: str = ""  # the referral's version the form was filled in against


def outcome_form_of(referral: Referral) -> OutcomeForm:
    """The outcome form, starting from the outcome as last recorded."""
    return OutcomeForm(
        status=referral.status,
        raid_on=referral.raid_on.isoformat() if referral.raid_on else "",
        suspects_arrested=str(referral.suspects_arrested),
        facilities_closed=str(referral.facilities_closed),
        goods_seized=str(referral.goods_seized),
        goods_value=f"{referral.goods_value:.2f}",
        goods_currency=referral.goods_currency,
        version=str(referral.version),
    )


def view_of(referral: Referral) -> ReferralView:
    return ReferralView(group_id=referral.group_id, brand_id=referral.brand_id)


@dataclass(frozen=True)
class Sources:
    """The reports and purchases (with their campaigns) a referral draws on."""

    reports: list[IntelReport]
    purchases: list[tuple[Purchase, Campaign]]

    @property
    def group_ids(self) -> set[int]:
        return {r.group_id for r in self.reports} | {c.group_id for _, c in self.purchases}

    @property
    def count(self) -> int:
        return len(self.reports) + len(self.purchases)


@dataclass(frozen=True)
class Draft:
    """A referral about to be made: its sources, their group (when they share one) and
    what stops it, as messages for the form's "sources" field."""

    sources: Sources
    group: WorkingGroup | None
    problems: dict[str, str]


def _ids(texts: Sequence[str], missing: str) -> list[int]:
    """Row ids from a form or query string, in order, each once; one that names no row
    could not be read either (`missing` says so)."""
    ids: list[int] = []
    for text in texts:
        number = row_id(text)
        if number is None:
            raise NotFound(missing)
        if number not in ids:
            ids.append(number)
    return ids


def load_sources(
    session: Session, actor: Actor, report_ids: list[int], purchase_ids: list[int]
) -> Sources:
    """The named reports and purchases; a 404 if the actor may not read any one of them,
    so a referral never draws on what its referrer could not see. Two statements."""
    reports = (
        list(
            session.exec(
                select(IntelReport).where(col(IntelReport.id).in_(report_ids), visible_intel(actor))
            )
        )
        if report_ids
        else []
    )
    if len(reports) != len(report_ids):
        raise NotFound(_("There is no such report, or it is not shared with you."))
    purchases = (
        list(
            session.exec(
                select(Purchase, Campaign)
                .join(Campaign, col(Campaign.id) == Purchase.campaign_id)
                .where(col(Purchase.id).in_(purchase_ids), visible_purchases(actor))
            ).all()
        )
        if purchase_ids
        else []
    )
    if len(purchases) != len(purchase_ids):
        raise NotFound(_("There is no such purchase, or it is not your brand's."))
    reports.sort(key=lambda r: report_ids.index(r.id or 0))
    purchases.sort(key=lambda pc: purchase_ids.index(pc[0].id or 0))
    return Sources(reports, purchases)


def prepare(
    session: Session, actor: Actor, report_texts: Sequence[str], purchase_texts: Sequence[str]
) -> Draft:
    """The sources of a new referral, checked: unreadable ones are a 404; a group the actor
    may not refer cases of is a 403; anything else wrong is a message for the form."""
    report_ids = _ids(report_texts, _("There is no such report, or it is not shared with you."))
    purchase_ids = _ids(
        purchase_texts, _("There is no such purchase, or it is not shared with you.")
    )
    if len(report_ids) + len(purchase_ids) > MAX_SOURCES:
        # Refused before any query, so a long list costs nothing (and shows nothing).
        message = _(
            "A referral draws on at most %(limit)s reports and purchases.", limit=MAX_SOURCES
        )
        return Draft(Sources([], []), None, {"sources": message})
    sources = load_sources(session, actor, report_ids, purchase_ids)
    group_ids = sources.group_ids
    groups = (
        list(
            session.exec(
                select(WorkingGroup)
                .where(col(WorkingGroup.id).in_(sorted(group_ids)))
                .order_by(col(WorkingGroup.name))
            )
        )
        if group_ids
        else []
    )
    if group_ids and not any(can(actor, Action.refer_case, g) for g in group_ids):
        raise Forbidden(
            _(
                "Cases go to law enforcement from the group's coordinators and the brand "
                "admins of its member brands."
            )
        )
    problems: dict[str, str] = {}
    if not sources.count:
        problems["sources"] = _(
            "Start from at least one intelligence report or test purchase: use “Refer to law "
            "enforcement” on its page."
        )
    elif len(groups) > 1:
        names = ", ".join(g.name for g in groups)
        problems["sources"] = _(
            "All reports and purchases of a referral must come from one working group; "
            "these come from %(groups)s.",
            groups=names,
        )
    else:
        unjudged = [p.id for p, _ in sources.purchases if p.verdict not in REFERABLE_VERDICTS]
        if unjudged:
            listed = ", ".join(str(i) for i in unjudged)
            problems["sources"] = ngettext(
                "Purchase %(ids)s has no counterfeit or grey-market verdict: only such "
                "purchases go to law enforcement.",
                "Purchases %(ids)s have no counterfeit or grey-market verdict: only such "
                "purchases go to law enforcement.",
                len(unjudged),
                ids=listed,
            )
    group = groups[0] if len(groups) == 1 else None
    return Draft(sources, group, problems)


def _parse_day(check: FormCheck, name: str, text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        check.fail(name, _("Give a date as YYYY-MM-DD."))
        return None


def _too_long(name: str, limit: int) -> str:
    """The message of a referral field over its limit, in the viewer's language."""
    shown = i18n.number(limit)
    messages = {
        "agency": _("Keep the agency's name to %(limit)s characters at most.", limit=shown),
        "jurisdiction": _("Keep the jurisdiction to %(limit)s characters at most.", limit=shown),
        "contact": _("Keep the contact to %(limit)s characters at most.", limit=shown),
        "reference": _("Keep the reference number to %(limit)s characters at most.", limit=shown),
        "summary": _("Keep the summary to %(limit)s characters at most.", limit=shown),
    }
    return messages[name]


def _check_fields(check: FormCheck, form: ReferralForm, today: date) -> dict[str, object]:
    values = {name: getattr(form, name).strip() for name in LIMITS}
    if not values["agency"]:
        check.fail("agency", _("Name the agency the case goes to, e.g. the city's police."))
    for name, limit in LIMITS.items():
        if len(values[name]) > limit:
            check.fail(name, _too_long(name, limit))
    country = form.country.strip().upper()
    if not country:
        check.fail("country", _("Choose the agency's country."))
    elif country not in COUNTRIES:
        check.fail("country", _("Choose a country from the list."))
    sent_on = _parse_day(check, "sent_on", form.sent_on)
    if sent_on is None:
        if not form.sent_on.strip():
            check.fail("sent_on", _("Give the date the referral was sent."))
    elif sent_on > today:
        check.fail("sent_on", _("The date sent cannot be in the future."))
    elif sent_on.year < EARLIEST_YEAR:
        check.fail("sent_on", _("Give a date from %(year)s on.", year=EARLIEST_YEAR))
    return {**values, "country": country, "sent_on": sent_on}


def create(
    session: Session,
    actor: Actor,
    form: ReferralForm,
    report_texts: Sequence[str],
    purchase_texts: Sequence[str],
    today: date,
) -> Referral:
    """Refer a case drawn on reports and purchases of one group, for the actor's brand.
    `today` is the date where the actor is: a referral sent today is never "future"."""
    draft = prepare(session, actor, report_texts, purchase_texts)
    if draft.group is not None:
        ensure(actor, Action.refer_case, draft.group.id)
    check = FormCheck()
    for name, message in draft.problems.items():
        check.fail(name, message)
    values = _check_fields(check, form, today)
    check.done()
    assert draft.group is not None and draft.group.id is not None
    referral = Referral(
        group_id=draft.group.id,
        brand_id=actor.brand_id,
        created_by_id=actor.person_id,
        **values,  # type: ignore[arg-type]
    )
    session.add(referral)
    session.flush()
    assert referral.id is not None
    report_ids = [r.id or 0 for r in draft.sources.reports]
    purchase_ids = [p.id or 0 for p, _ in draft.sources.purchases]
    session.add_all(ReferralReport(referral_id=referral.id, report_id=i) for i in report_ids)
    session.add_all(ReferralPurchase(referral_id=referral.id, purchase_id=i) for i in purchase_ids)
    # Ids only: the audit log's readers may not read the sources.
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "referral.created",
        f"referral:{referral.id}",
        group_id=referral.group_id,
        reports=report_ids,
        purchases=purchase_ids,
    )
    session.commit()
    return referral


def _whole_number(check: FormCheck, name: str, text: str) -> int:
    label = COUNT_LABELS[name]
    text = text.strip().replace(",", "")
    if not text:
        return 0
    if not (text.isascii() and text.isdigit()):
        check.fail(name, _("%(field)s: give a whole number, such as 12.", field=label))
        return 0
    if len(text) > len(str(MAX_COUNT)) or int(text) > MAX_COUNT:
        check.fail(
            name,
            _(
                "%(field)s: give a number from 0 to %(limit)s.",
                field=label,
                limit=i18n.number(MAX_COUNT),
            ),
        )
        return 0
    return int(text)


def _check_outcome(
    check: FormCheck, form: OutcomeForm, sent_on: date, today: date
) -> dict[str, object]:
    status = form.status.strip()
    if status not in REFERRAL_STATUS_LABELS:
        check.fail("status", _("Choose one of the outcomes offered."))
    raid_on = _parse_day(check, "raid_on", form.raid_on)
    if raid_on is None:
        if status in RAID_STATUSES and not form.raid_on.strip():
            check.fail("raid_on", _("Give the date of the raid."))
    elif raid_on < sent_on:
        check.fail(
            "raid_on",
            _(
                "The raid cannot be before the referral was sent (%(day)s).",
                day=i18n.day(sent_on),
            ),
        )
    elif raid_on > today:
        check.fail("raid_on", _("The raid date cannot be in the future."))
    counts = {name: _whole_number(check, name, getattr(form, name)) for name in COUNT_LABELS}
    value = parse_money(check, "goods_value", form.goods_value, _("The value of the goods"))
    if value == 0:
        value = Decimal("0.00")  # never a "-0.00"
    currency = form.goods_currency.strip().upper() or DEFAULT_CURRENCY
    if currency not in CURRENCIES:
        check.fail("goods_currency", _("Choose one of the currencies offered."))
    note = form.note.strip()
    if len(note) > 2000:
        check.fail(
            "note", _("Keep the note to %(limit)s characters at most.", limit=i18n.number(2000))
        )
    return {
        "status": status,
        "raid_on": raid_on,
        **counts,
        "goods_value": value,
        "goods_currency": currency,
        "note": note,
    }


class OutcomeChanged(Conflict):
    """Someone else recorded an outcome after the form was opened: it says what they
    recorded, so the second person decides with both in view."""

    def __init__(self, latest: ReferralUpdate | None, by: Person | None) -> None:
        if latest is None or by is None:
            message = _(
                "Someone else changed this referral meanwhile. Your entry was not saved: it "
                "is below, check it and save it again."
            )
        else:
            message = _(
                "While you were entering this, %(name)s recorded an outcome (%(when)s): "
                "%(outcome)s. Your entry was not saved: it is below, check it and save it "
                "again.",
                name=by.name,
                when=i18n.when(latest.at),
                outcome=describe(latest),
            )
        super().__init__(message)
        self.latest = latest


def describe(update: ReferralUpdate) -> str:
    """An outcome in words, as the conflict message gives it."""
    facts = {
        "status": REFERRAL_STATUS_LABELS.get(update.status, update.status),
        "arrested": i18n.number(update.suspects_arrested),
        "closed": i18n.number(update.facilities_closed),
        "seized": i18n.number(update.goods_seized),
        "value": i18n.money(update.goods_value, update.goods_currency),
    }
    if update.raid_on:
        text = _(
            "%(status)s, raid on %(day)s, %(arrested)s arrested, %(closed)s facilities closed, "
            "%(seized)s items seized, worth %(value)s",
            day=i18n.day(update.raid_on),
            **facts,
        )
    else:
        text = _(
            "%(status)s, %(arrested)s arrested, %(closed)s facilities closed, %(seized)s items "
            "seized, worth %(value)s",
            **facts,
        )
    return (
        _("%(outcome)s; note: “%(note)s”", outcome=text, note=update.note) if update.note else text
    )


def record_outcome(
    session: Session, actor: Actor, referral: Referral, form: OutcomeForm, today: date
) -> ReferralUpdate:
    """Keep one step of the outcome and make it the referral's current one. The form names
    the version it was filled in against: if another outcome was recorded since (read under
    the referral's row lock), OutcomeChanged says which and nothing is written."""
    ensure(actor, Action.record_outcome, view_of(referral))
    check = FormCheck()
    values = _check_outcome(check, form, referral.sent_on, today)
    version = row_id(form.version)
    if version is None:
        check.fail("version", _("The form was incomplete: reload the page and enter it again."))
    check.done()
    locked = lock_row(session, Referral, referral.id or 0, "version")
    if locked is None:
        raise NotFound(_("There is no such referral, or it is not shared with you."))
    if locked.version != version:
        raise OutcomeChanged(*_latest_update(session, locked))
    update = ReferralUpdate(referral_id=locked.id or 0, by_id=actor.person_id, **values)  # type: ignore[arg-type]
    for name, value in values.items():
        if name != "note":
            setattr(locked, name, value)
    locked.version += 1
    locked.updated_at = utcnow()
    session.add(update)
    session.add(locked)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "referral.outcome",
        f"referral:{locked.id}",
        status=locked.status,
        version=locked.version,
    )
    session.commit()
    return update


def _latest_update(
    session: Session, referral: Referral
) -> tuple[ReferralUpdate | None, Person | None]:
    row = session.exec(
        select(ReferralUpdate, Person)
        .join(Person, col(Person.id) == ReferralUpdate.by_id)
        .where(ReferralUpdate.referral_id == referral.id)
        .order_by(col(ReferralUpdate.id).desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else (None, None)


def get_visible(session: Session, actor: Actor, referral_id: int) -> Referral:
    referral = (
        session.exec(
            select(Referral).where(Referral.id == referral_id, visible_referrals(actor))
        ).first()
        if 0 < referral_id <= MAX_ROW_ID
        else None
    )
    if referral is None:
        raise NotFound(_("There is no such referral, or it is not shared with you."))
    return referral


@dataclass(frozen=True)
class ReferralContext:
    """A visible referral with its group, the referring brand and the person who sent it."""

    referral: Referral
    group: WorkingGroup
    brand: Brand
    creator: Person


def context(session: Session, actor: Actor, referral_id: int) -> ReferralContext:
    """A visible referral and what its page names around it: one statement."""
    row = (
        session.exec(
            select(Referral, WorkingGroup, Brand, Person)
            .join(WorkingGroup, col(WorkingGroup.id) == Referral.group_id)
            .join(Brand, col(Brand.id) == Referral.brand_id)
            .join(Person, col(Person.id) == Referral.created_by_id)
            .where(Referral.id == referral_id, visible_referrals(actor))
        ).first()
        if 0 < referral_id <= MAX_ROW_ID
        else None
    )
    if row is None:
        raise NotFound(_("There is no such referral, or it is not shared with you."))
    return ReferralContext(*row)


def sources_of(session: Session, referral: Referral) -> Sources:
    """A referral's sources; only for a referral the reader may read (then they may read
    each of its sources too). Two statements."""
    reports = session.exec(
        select(IntelReport)
        .join(ReferralReport, col(ReferralReport.report_id) == IntelReport.id)
        .where(ReferralReport.referral_id == referral.id)
        .order_by(col(IntelReport.id))
    ).all()
    purchases = session.exec(
        select(Purchase, Campaign)
        .join(Campaign, col(Campaign.id) == Purchase.campaign_id)
        .join(ReferralPurchase, col(ReferralPurchase.purchase_id) == Purchase.id)
        .where(ReferralPurchase.referral_id == referral.id)
        .order_by(col(Purchase.id))
    ).all()
    return Sources(list(reports), [(p, c) for p, c in purchases])


def history(session: Session, referral: Referral) -> list[tuple[ReferralUpdate, Person]]:
    """The outcomes recorded, oldest first, with who recorded each."""
    return [
        (update, person)
        for update, person in session.exec(
            select(ReferralUpdate, Person)
            .join(Person, col(Person.id) == ReferralUpdate.by_id)
            .where(ReferralUpdate.referral_id == referral.id)
            .order_by(col(ReferralUpdate.id))
        ).all()
    ]


@dataclass(frozen=True)
class ListFilters:
    group: str = ""  # a working group's slug
    status: str = ""
    before: int | None = None  # keyset paging: the last referral of the previous page


@dataclass(frozen=True)
class ReferralLine:
    referral: Referral
    group: WorkingGroup


@dataclass(frozen=True)
class ReferralPage:
    lines: list[ReferralLine]
    next_before: int | None  # the id to page on from; None on the last page


def listing(session: Session, actor: Actor, filters: ListFilters) -> ReferralPage:
    """The referrals the actor may read, the latest sent first, a page at a time: at most
    two statements, however many there are."""
    query = (
        select(Referral, WorkingGroup)
        .join(WorkingGroup, col(WorkingGroup.id) == Referral.group_id)
        .where(visible_referrals(actor))
    )
    if filters.group:
        query = query.where(WorkingGroup.slug == filters.group)
    if filters.status:
        query = query.where(Referral.status == filters.status)
    if filters.before is not None:
        # The page goes on after the cursor's place in (sent_on, id) order; the cursor too
        # must be readable, or its date would leak through the page it opens.
        sent_on = session.exec(
            select(col(Referral.sent_on)).where(
                Referral.id == filters.before, visible_referrals(actor)
            )
        ).first()
        if sent_on is None:
            return ReferralPage([], None)
        query = query.where(
            or_(
                col(Referral.sent_on) < sent_on,
                and_(col(Referral.sent_on) == sent_on, col(Referral.id) < filters.before),
            )
        )
    rows = session.exec(
        query.order_by(col(Referral.sent_on).desc(), col(Referral.id).desc()).limit(PAGE_SIZE + 1)
    ).all()
    lines = [ReferralLine(referral, group) for referral, group in rows[:PAGE_SIZE]]
    more = len(rows) > PAGE_SIZE
    return ReferralPage(lines, lines[-1].referral.id if more else None)


def all_groups(session: Session) -> list[WorkingGroup]:
    """The working groups, for the list's filter."""
    return list(session.exec(select(WorkingGroup).order_by(col(WorkingGroup.name))))
