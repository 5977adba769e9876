"""Business rules of the boards: posting, editing, the status workflow, reading a board.

Every read goes through hub.policy.visible_intel, so nothing here can show a report the
reader may not see.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, literal, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from hub import audit, i18n
from hub.api import webhooks
from hub.clock import as_utc, utcnow
from hub.config import Settings
from hub.errors import Conflict, FormCheck, Invalid, InvalidForm, NotFound
from hub.groups.models import WorkingGroup
from hub.i18n import gettext as _
from hub.intel import correlation, discussion, evidence, search_index
from hub.intel import indicators as indicator_rules
from hub.intel.markdown import to_safe_html
from hub.intel.models import (
    STATUS_LABELS,
    Category,
    Comment,
    Confidence,
    Evidence,
    Follow,
    Indicator,
    IndicatorKind,
    Infringement,
    IntelReport,
    Reliability,
    ReportRecipient,
    ReportVersion,
    Sighting,
    SightingKind,
    Status,
    StatusChange,
    Takedown,
    TakedownOutcome,
    Tlp,
)
from hub.members.models import Brand, Person
from hub.policy import Action, Actor, ensure, visible_intel

PAGE_SIZE = 25
NO_ID_ABOVE = 2**31 - 1  # an id greater than any (ids are 32-bit on PostgreSQL)
MAX_INDICATORS = 50

# Which status may follow which: the takedown lifecycle, with room to correct mistakes.
NEXT_STATUSES: dict[str, list[Status]] = {
    Status.new: [Status.verified, Status.notice_filed, Status.closed],
    Status.verified: [Status.notice_filed, Status.taken_down, Status.closed],
    Status.notice_filed: [Status.taken_down, Status.verified, Status.closed],
    Status.taken_down: [Status.relisted, Status.closed],
    Status.relisted: [Status.notice_filed, Status.taken_down, Status.closed],
    Status.closed: [Status.relisted, Status.verified],
}


@dataclass
class ReportForm:
    title: str = ""
    body_md: str = ""
    category: str = Category.online_listing
    marketplace: str = ""
    brands_affected: str = ""
    products_affected: str = ""
    infringement: str = Infringement.counterfeit
    confidence: str = Confidence.probable
    reliability: str = Reliability.b
    tlp: str = Tlp.amber
    recipients: str = ""  # e-mail addresses, for TLP:RED
    indicators: list[tuple[str, str]] = field(default_factory=list)  # (kind, value)


@dataclass(frozen=True)
class BoardFilters:
    category: str = ""
    marketplace: str = ""
    status: str = ""
    tlp: str = ""
    brand: str = ""  # brand affected, free text
    since: date | None = None
    until: date | None = None
    before: int | None = None  # keyset paging: reports older than this id


@dataclass(frozen=True)
class ReportCard:
    report: IntelReport
    author: Person
    brand: Brand
    indicator_count: int
    seen_count: int
    comment_count: int
    evidence_count: int


@dataclass(frozen=True)
class BoardPage:
    cards: list[ReportCard]
    next_before: int | None


def check_form(
    session: Session, form: ReportForm
) -> tuple[FormCheck, list[tuple[str, str, str]], list[Person]]:
    check = FormCheck()
    form.title = form.title.strip()
    if not form.title:
        check.fail("title", _("Give the report a title, e.g. the seller's name and marketplace."))
    elif len(form.title) > 200:
        check.fail("title", _("Keep the title under %(most)s characters.", most=i18n.number(200)))
    if len(form.body_md) > 50_000:
        check.fail(
            "body_md",
            _("Keep the description under %(most)s characters.", most=i18n.number(50_000)),
        )
    for name, value, allowed in (
        ("category", form.category, Category),
        ("infringement", form.infringement, Infringement),
        ("confidence", form.confidence, Confidence),
        ("reliability", form.reliability, Reliability),
        ("tlp", form.tlp, Tlp),
    ):
        if value not in {member.value for member in allowed}:
            check.fail(name, _("Choose one of the options offered."))
    for name in ("marketplace", "brands_affected", "products_affected"):
        setattr(form, name, getattr(form, name).strip())
    if len(form.marketplace) > 120:
        check.fail(
            "marketplace",
            _("Keep the marketplace under %(most)s characters.", most=i18n.number(120)),
        )
    for name in ("brands_affected", "products_affected"):
        if len(getattr(form, name)) > 500:
            check.fail(name, _("Keep this under %(most)s characters.", most=i18n.number(500)))
    normalised: list[tuple[str, str, str]] = []
    filled = [(kind, value.strip()) for kind, value in form.indicators if value.strip()]
    if len(filled) > MAX_INDICATORS:
        check.fail(
            "indicators",
            _("A report can carry at most %(most)s indicators.", most=i18n.number(MAX_INDICATORS)),
        )
    for kind, value in filled[:MAX_INDICATORS]:
        if kind not in {member.value for member in IndicatorKind}:
            check.fail(
                "indicators", _("Choose what kind of indicator '%(value)s' is.", value=value)
            )
            continue
        if len(value) > 1000:
            check.fail(
                "indicators",
                _("An indicator can be at most %(most)s characters.", most=i18n.number(1000)),
            )
            continue
        try:
            normalised.append((kind, value, indicator_rules.normalise(kind, value)))
        except Invalid as error:
            check.fail("indicators", error.message)
    recipients: list[Person] = []
    if form.tlp == Tlp.red:
        addresses = sorted(
            {a.strip().lower() for a in form.recipients.replace(";", ",").split(",") if a.strip()}
        )
        if not addresses:
            check.fail(
                "recipients", _("TLP:RED needs the people who may read it: enter their e-mails.")
            )
        found = list(
            session.exec(
                select(Person).where(
                    col(Person.email).in_(addresses), col(Person.is_active).is_(True)
                )
            )
        )
        missing = sorted(set(addresses) - {p.email for p in found})
        if missing:
            check.fail(
                "recipients",
                _(
                    "Nobody active in the hub has the address %(addresses)s.",
                    addresses=", ".join(missing),
                ),
            )
        recipients = found
    return check, normalised, recipients


def form_errors(session: Session, form: ReportForm) -> dict[str, str]:
    """What is wrong with a report form, without saving anything."""
    return check_form(session, form)[0].errors


def create_report(
    session: Session,
    actor: Actor,
    group: WorkingGroup,
    form: ReportForm,
    settings: Settings | None = None,
    files: Sequence[evidence.Checked] = (),
) -> IntelReport:
    """Post a report with its indicators and (checked) evidence files, all or nothing."""
    ensure(actor, Action.post_intel, group.id)
    check, normalised, recipients = check_form(session, form)
    check.done()
    report = IntelReport(
        group_id=group.id or 0,
        brand_id=actor.brand_id,
        author_id=actor.person_id,
        **report_fields(form),
    )
    session.add(report)
    session.flush()
    _replace_indicators(session, report, normalised)
    _replace_recipients(session, report, recipients)
    session.flush()
    correlation.mark_correlated(session, [report.id or 0])
    search_index.reindex(session, report.id or 0)
    if files:
        assert settings is not None, "storing evidence needs the upload settings"
        evidence.attach(session, settings, actor, report, list(files))
    correlation.notify_matches(session, actor, report)
    discussion.notify_board_followers(session, report, group.name)
    webhooks.report_created(session, report)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "intel.posted",
        f"report:{report.id}",
        tlp=form.tlp,
        group=group.slug,
    )
    session.commit()
    return report


def report_fields(form: ReportForm) -> dict[str, Any]:
    return {
        "title": form.title,
        "body_md": form.body_md,
        "body_html": to_safe_html(form.body_md),
        "category": form.category,
        "marketplace": form.marketplace,
        "brands_affected": form.brands_affected,
        "products_affected": form.products_affected,
        "infringement": form.infringement,
        "confidence": form.confidence,
        "reliability": form.reliability,
        "tlp": form.tlp,
    }


def _replace_indicators(
    session: Session, report: IntelReport, normalised: list[tuple[str, str, str]]
) -> None:
    for old in session.exec(select(Indicator).where(Indicator.report_id == report.id)):
        session.delete(old)
    seen: set[tuple[str, str]] = set()
    for kind, value, norm in normalised:
        if (kind, norm) in seen:
            continue
        seen.add((kind, norm))
        session.add(Indicator(report_id=report.id or 0, kind=kind, value=value, normalised=norm))


def _replace_recipients(session: Session, report: IntelReport, recipients: list[Person]) -> None:
    for old in session.exec(select(ReportRecipient).where(ReportRecipient.report_id == report.id)):
        session.delete(old)
    for person in recipients:
        session.add(ReportRecipient(report_id=report.id or 0, person_id=person.id or 0))


def form_of(session: Session, report: IntelReport) -> ReportForm:
    """The edit form filled with the report as it is."""
    emails = session.exec(
        select(Person.email)
        .join(ReportRecipient, col(ReportRecipient.person_id) == Person.id)
        .where(ReportRecipient.report_id == report.id)
    ).all()
    return ReportForm(
        title=report.title,
        body_md=report.body_md,
        category=report.category,
        marketplace=report.marketplace,
        brands_affected=report.brands_affected,
        products_affected=report.products_affected,
        infringement=report.infringement,
        confidence=report.confidence,
        reliability=report.reliability,
        tlp=report.tlp,
        recipients=", ".join(sorted(emails)),
        indicators=[(i.kind, i.value) for i in indicators_of(session, report)],
    )


def update_report(
    session: Session, actor: Actor, report: IntelReport, form: ReportForm
) -> IntelReport:
    """The author edits; the state before the edit is kept as a version."""
    ensure(actor, Action.edit_report, report)
    check, normalised, recipients = check_form(session, form)
    check.done()
    before = form_of(session, report)
    session.add(
        ReportVersion(
            report_id=report.id or 0,
            version=report.version,
            snapshot=json.dumps(before.__dict__, default=str),
            edited_by_id=actor.person_id,
        )
    )
    for name, value in report_fields(form).items():
        setattr(report, name, value)
    report.version += 1
    report.updated_at = utcnow()
    session.add(report)
    _replace_indicators(session, report, normalised)
    _replace_recipients(session, report, recipients)
    session.flush()
    correlation.mark_correlated(session, [report.id or 0])
    search_index.reindex(session, report.id or 0)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "intel.edited",
        f"report:{report.id}",
        version=report.version,
    )
    session.commit()
    return report


def change_status(
    session: Session,
    actor: Actor,
    report: IntelReport,
    to_status: str,
    note: str = "",
    happened_at: datetime | None = None,
) -> StatusChange:
    """Move a report along the takedown lifecycle. `happened_at` is when it really
    happened (a notice filed on a marketplace's portal before the hub heard of it); it
    may not be in the future nor before the report's previous change."""
    ensure(actor, Action.change_report_status, report)
    if to_status not in NEXT_STATUSES.get(report.status, []):
        now, wanted = (
            STATUS_LABELS.get(report.status, report.status),
            STATUS_LABELS.get(to_status, to_status),
        )
        raise Conflict(
            _("A report that is '%(now)s' cannot become '%(wanted)s'.", now=now, wanted=wanted)
        )
    at = _when_it_happened(session, report, happened_at)
    change = StatusChange(
        report_id=report.id or 0,
        from_status=report.status,
        to_status=to_status,
        by_id=actor.person_id,
        at=at,
        note=note.strip()[:1000],
    )
    _record_takedown(session, actor, report, to_status, at)
    report.status = to_status
    report.updated_at = utcnow()
    session.add(report)
    session.add(change)
    discussion.notify_status_change(session, actor, report, to_status)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "intel.status_changed",
        f"report:{report.id}",
        to=to_status,
    )
    session.commit()
    return change


EARLIEST_CHANGE = datetime(2000, 1, 1, tzinfo=UTC)


def _when_it_happened(
    session: Session, report: IntelReport, happened_at: datetime | None
) -> datetime:
    now = utcnow()
    if happened_at is None:
        return now
    at = as_utc(happened_at).replace(microsecond=0)
    if at > now:
        raise InvalidForm({"happened_at": _("That time is still to come; give when it happened.")})
    previous = session.exec(
        select(func.max(StatusChange.at)).where(StatusChange.report_id == report.id)
    ).one()
    earliest = as_utc(previous) if previous is not None else EARLIEST_CHANGE
    if at < earliest:
        raise InvalidForm(
            {
                "happened_at": _(
                    "That is before the report's previous status change (%(moment)s); "
                    "give a later time.",
                    moment=i18n.when(earliest),
                )
            }
        )
    return at


def _record_takedown(
    session: Session, actor: Actor, report: IntelReport, to_status: str, at: datetime
) -> None:
    """A notice filed opens a takedown request; the status after it closes the request,
    as a removal only if the listing came down."""
    if report.status == Status.notice_filed:
        pending = session.exec(
            select(Takedown)
            .where(
                Takedown.report_id == report.id,
                Takedown.outcome == TakedownOutcome.pending,
            )
            .order_by(col(Takedown.id).desc())
        ).first()
        if pending is not None:
            removed = to_status == Status.taken_down
            pending.outcome = (
                TakedownOutcome.taken_down if removed else TakedownOutcome.not_taken_down
            )
            pending.ended_at = at
            pending.ended_by_id = actor.person_id
            if removed:
                pending.handling_seconds = int((at - as_utc(pending.filed_at)).total_seconds())
            session.add(pending)
    if to_status == Status.notice_filed:
        session.add(
            Takedown(
                report_id=report.id or 0,
                filed_at=at,
                filed_by_id=actor.person_id,
            )
        )


def get_visible(session: Session, actor: Actor, report_id: int) -> IntelReport:
    report = session.exec(
        select(IntelReport).where(IntelReport.id == report_id, visible_intel(actor))
    ).first()
    if report is None:
        raise NotFound(_("There is no report at this address, or it is not shared with you."))
    return report


@dataclass(frozen=True)
class ReportContext:
    """A report with what its page shows around it."""

    report: IntelReport
    group: WorkingGroup
    author: Person
    brand: Brand
    following: bool  # the reader follows it


def report_context(session: Session, actor: Actor, report_id: int) -> ReportContext:
    """A visible report with its group, author, brand and whether the reader follows it:
    one statement."""
    following = exists(
        select(col(Follow.report_id)).where(
            col(Follow.report_id) == IntelReport.id, col(Follow.person_id) == actor.person_id
        )
    )
    row = session.execute(
        sa_select(IntelReport, WorkingGroup, Person, Brand, following)
        .join(WorkingGroup, col(WorkingGroup.id) == IntelReport.group_id)
        .join(Person, col(Person.id) == IntelReport.author_id)
        .join(Brand, col(Brand.id) == IntelReport.brand_id)
        .where(col(IntelReport.id) == report_id, visible_intel(actor))
    ).first()
    if row is None:
        raise NotFound(_("There is no report at this address, or it is not shared with you."))
    report, group, author, brand, follows = row
    return ReportContext(report, group, author, brand, bool(follows))


def status_history(session: Session, report: IntelReport) -> list[tuple[StatusChange, Person]]:
    """Every status change of a report, oldest first, with who made it."""
    rows = session.exec(
        select(StatusChange, Person)
        .join(Person, col(Person.id) == StatusChange.by_id)
        .where(StatusChange.report_id == report.id)
        .order_by(col(StatusChange.id))
    ).all()
    return [(change, person) for change, person in rows]


def handling_times(history: Sequence[tuple[StatusChange, Person]]) -> dict[int, str]:
    """For each takedown in a report's history, how long after its notice it came."""
    times: dict[int, str] = {}
    notice: datetime | None = None
    for change, _person in history:
        if change.to_status == Status.taken_down and notice is not None:
            hours = (as_utc(change.at) - notice).total_seconds() / 3600
            times[change.id or 0] = _(
                "%(hours)s hours after the notice", hours=i18n.number(hours, 1)
            )
        notice = as_utc(change.at) if change.to_status == Status.notice_filed else None
    return times


def indicators_of(session: Session, report: IntelReport) -> list[Indicator]:
    return list(
        session.exec(
            select(Indicator).where(Indicator.report_id == report.id).order_by(col(Indicator.id))
        )
    )


def apply_filters(query: Any, group_id: int | None, filters: BoardFilters) -> Any:
    """The board's filters, shared by the board and by search."""
    if group_id is not None:
        query = query.where(IntelReport.group_id == group_id)
    if filters.category:
        query = query.where(IntelReport.category == filters.category)
    if filters.marketplace:
        query = query.where(
            func.lower(IntelReport.marketplace) == filters.marketplace.strip().lower()
        )
    if filters.status:
        query = query.where(IntelReport.status == filters.status)
    if filters.tlp:
        query = query.where(IntelReport.tlp == filters.tlp)
    if filters.brand:
        query = query.where(col(IntelReport.brands_affected).ilike(f"%{filters.brand.strip()}%"))
    if filters.since:
        query = query.where(col(IntelReport.created_at) >= _start_of(filters.since))
    if filters.until and filters.until < date.max:  # the last day of the calendar: no end
        query = query.where(col(IntelReport.created_at) < _start_of(filters.until + timedelta(1)))
    return query


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def matching_ids(
    session: Session, actor: Actor, group_id: int | None, filters: BoardFilters, limit: int
) -> list[int]:
    """Ids of the visible reports a board shows with these filters, newest first (exports)."""
    query = select(IntelReport.id).where(
        visible_intel(actor), col(IntelReport.merged_into_id).is_(None)
    )
    query = apply_filters(query, group_id, filters).order_by(col(IntelReport.id).desc())
    return [report_id for report_id in session.exec(query.limit(limit)) if report_id]


def latest_in_my_groups(session: Session, actor: Actor, limit: int = 6) -> list[IntelReport]:
    """The newest reports the actor may see on their brand's (or coordinated) boards."""
    group_ids = actor.group_ids | actor.coordinated_group_ids
    if not group_ids:
        return []
    return list(
        session.exec(
            select(IntelReport)
            .where(
                col(IntelReport.group_id).in_(sorted(group_ids)),
                visible_intel(actor),
                col(IntelReport.merged_into_id).is_(None),
                col(IntelReport.hidden_reason) == "",
            )
            .order_by(col(IntelReport.id).desc())
            .limit(limit)
        )
    )


def board_page(
    session: Session, actor: Actor, group: WorkingGroup | None, filters: BoardFilters
) -> BoardPage:
    """Newest first (pinned reports first on the first page), keyset-paged; a fixed number
    of queries however big the board. The pinned few are read on their own, so the rest
    is read newest first along the (group, id) index and stops after a page, instead of
    sorting the whole board by (pinned, id)."""
    query = (
        select(IntelReport, Person, Brand)
        .join(Person, col(Person.id) == IntelReport.author_id)
        .join(Brand, col(Brand.id) == IntelReport.brand_id)
        .where(visible_intel(actor), col(IntelReport.merged_into_id).is_(None))
    )
    query = apply_filters(query, group.id if group else None, filters)
    pinned: list[Any] = []
    if filters.before:
        query = query.where(col(IntelReport.id) < filters.before)
    else:
        pinned = list(
            session.exec(
                query.where(col(IntelReport.pinned))  # as the partial index says it
                .order_by(col(IntelReport.id).desc())
                .limit(PAGE_SIZE)
            ).all()
        )
    # Pinned reports were all shown on the first page.
    rest = session.exec(
        query.where(~col(IntelReport.pinned))
        .order_by(col(IntelReport.id).desc())
        .limit(PAGE_SIZE + 1 - len(pinned))
    ).all()
    rows = pinned + list(rest)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    ids = [report.id for report, _, _ in rows]
    counts = _counts(session, ids)
    cards = [
        ReportCard(
            report,
            person,
            brand,
            *(
                counts[name].get(report.id or 0, 0)
                for name in ("indicators", "seen", "comments", "evidence")
            ),
        )
        for report, person, brand in rows
    ]
    # The next page goes on below the last unpinned report shown (from the top when the
    # first page held only pinned ones).
    unpinned = [report.id for report, _, _ in rows if not report.pinned]
    next_before = (unpinned[-1] if unpinned else NO_ID_ABOVE) if more else None
    return BoardPage(cards, next_before)


def _counts(session: Session, ids: list[int | None]) -> dict[str, dict[int, int]]:
    """Per-report counts for a page of reports: one statement (four grouped counts in a
    UNION ALL), not four per report."""
    found: dict[str, dict[int, int]] = {
        "indicators": {},
        "seen": {},
        "comments": {},
        "evidence": {},
    }
    if not ids:
        return found

    def grouped(name: str, report_id: Any, *where: ColumnElement[bool]) -> Any:
        return (
            select(literal(name), report_id, func.count())
            .where(col(report_id).in_(ids), *where)
            .group_by(report_id)
        )

    statement = union_all(
        grouped("indicators", Indicator.report_id),
        grouped("seen", Sighting.report_id, col(Sighting.kind) == SightingKind.seen),
        grouped("comments", Comment.report_id),
        grouped("evidence", Evidence.report_id),
    )
    for name, report_id, count in session.execute(statement).all():
        found[name][report_id] = count
    return found


def snapshot(version: ReportVersion) -> ReportForm:
    """An earlier version as it was, for the history page."""
    data = json.loads(version.snapshot)
    data["indicators"] = [tuple(pair) for pair in data.get("indicators", [])]
    return ReportForm(**data)
