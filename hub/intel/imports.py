"""Bulk import of a monitoring tool's file into one board: start a job, check every entry
(the progress the page shows), then save everything in one transaction.

An entry naming an indicator the brand already reported on this board (or an earlier
entry of the same file did) is merged: its new indicators are added to that report
instead of making a second one. Either every accepted entry is saved or, on any failure,
nothing is; with "all or nothing" chosen, one rejected entry also stops the import.
"""

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from hub import audit, i18n
from hub.api import webhooks
from hub.clock import utcnow
from hub.errors import FormCheck, NotFound
from hub.groups.models import WorkingGroup
from hub.i18n import gettext as _
from hub.i18n import ngettext
from hub.intel import correlation, evidence, search_index
from hub.intel.import_files import Entry, Unreadable, read_csv, read_stix
from hub.intel.models import GroupFollow, ImportJob, ImportState, Indicator, IntelReport, Tlp
from hub.intel.service import ReportForm, check_form, report_fields
from hub.notify.models import Notification
from hub.policy import Action, Actor, ensure, visible_intel

log = logging.getLogger("hub.imports")

SessionFactory = Callable[[], Session]

# Built once: an alias made per call re-adapts every column it touches.
_OTHER = aliased(Indicator, name="other_indicator")


MAX_BYTES = 10 * 1024 * 1024
PROGRESS_EVERY = 200  # entries checked between two progress updates
# A job still unfinished this long after it started was cut off (the process stopped);
# being one transaction, it left nothing behind.
STALE_AFTER = timedelta(minutes=30)
FORMATS = {"csv": read_csv, "stix": read_stix}


def start(
    session: Session,
    actor: Actor,
    group: WorkingGroup,
    filename: str,
    data: bytes,
    tlp: str,
    all_or_nothing: bool,
) -> ImportJob:
    """Check the upload as a whole and queue the job; `run` does the rest."""
    ensure(actor, Action.post_intel, group.id)
    check = FormCheck()
    name = evidence.clean_filename(filename)[:200] if filename.strip() else ""
    file_format = _format_of(name, data)
    if not data:
        check.fail("file", _("Choose a CSV or STIX file to import."))
    elif len(data) > MAX_BYTES:
        check.fail(
            "file",
            _(
                "A file can be at most %(mb)s MB; split it.",
                mb=i18n.number(MAX_BYTES // (1024 * 1024)),
            ),
        )
    elif file_format is None:
        check.fail("file", _("Choose a CSV file (.csv) or a STIX 2.1 bundle (.json)."))
    if tlp not in {t.value for t in Tlp} or tlp == Tlp.red:
        check.fail(
            "tlp",
            _("Choose a marking; TLP:RED reports are posted one by one with their readers."),
        )
    content = ""
    if not check.errors:
        try:
            content = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            check.fail("file", _("Save the file in UTF-8 (Excel: “CSV UTF-8”)."))
    check.done()
    job = ImportJob(
        group_id=group.id or 0,
        brand_id=actor.brand_id,
        person_id=actor.person_id,
        filename=name,
        format=file_format or "csv",
        tlp=tlp,
        all_or_nothing=all_or_nothing,
        content=content,
    )
    session.add(job)
    session.commit()
    return job


def _format_of(name: str, data: bytes) -> str | None:
    lowered = name.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith(".json") or data.lstrip()[:1] == b"{":
        return "stix"
    return None


def get_own(session: Session, actor: Actor, job_id: int) -> ImportJob:
    """The actor's own import; one cut off by a stopped process is reported as failed."""
    job = session.get(ImportJob, job_id)
    if job is None or job.person_id != actor.person_id:
        raise NotFound(_("There is no such import among yours."))
    unfinished = job.state not in (ImportState.done, ImportState.failed)
    if unfinished and utcnow() - job.created_at > STALE_AFTER:
        job.state, job.content = ImportState.failed, ""
        job.error = _("The import was cut off before it finished; nothing was imported.")
        session.add(job)
        session.commit()
    return job


@dataclass
class Plan:
    """What saving will do: reports to create, indicators to add to existing ones."""

    create: list[tuple[ReportForm, list[tuple[str, str, str]]]] = field(default_factory=list)
    add: dict[int, list[tuple[str, str, str]]] = field(default_factory=dict)
    rejected: list[dict[str, str]] = field(default_factory=list)
    merged: int = 0  # entries whose indicators went to a report already there


def run(session_factory: SessionFactory, job_id: int, actor: Actor) -> None:
    """Check and save a queued job; never raises (the outcome is on the job, in the
    importer's language)."""
    with _their_language(actor):
        try:
            plan = _check_all(session_factory, job_id, actor)
            if plan is not None:
                _save(session_factory, job_id, actor, plan)
        except Exception:
            log.exception("import %d failed", job_id)
            _update(
                session_factory,
                job_id,
                state=ImportState.failed,
                content="",
                error=_(
                    "Something went wrong on our side; nothing was imported. The error is "
                    "logged; please try again later."
                ),
                finished_at=utcnow(),
            )


def _their_language(actor: Actor) -> AbstractContextManager[object]:
    """The importer's own language, where their profile names one; otherwise the one of
    the request that started the import (a background task runs in its context)."""
    if actor.language:
        return i18n.presenting(actor.language, actor.time_zone)
    return nullcontext()


def _update(session_factory: SessionFactory, job_id: int, **values: object) -> None:
    with session_factory() as session:
        job = session.get(ImportJob, job_id)
        assert job is not None
        for name, value in values.items():
            setattr(job, name, value)
        session.add(job)
        session.commit()


def _entries(job: ImportJob) -> Iterator[Entry]:
    return FORMATS[job.format](job.content.encode(), job.tlp)


def _check_all(session_factory: SessionFactory, job_id: int, actor: Actor) -> Plan | None:
    """Check every entry, committing the progress as it goes (the checks only read)."""
    with session_factory() as session:
        job = session.get(ImportJob, job_id)
        assert job is not None

        def record(**values: object) -> None:
            for name, value in values.items():
                setattr(job, name, value)
            session.add(job)
            session.commit()

        try:
            entries = list(_entries(job))
        except Unreadable as unreadable:
            record(
                state=ImportState.failed, content="", error=str(unreadable), finished_at=utcnow()
            )
            return None
        record(state=ImportState.checking, total=len(entries))
        known = _known_indicators(session, job, actor)
        plan = Plan()
        for number, entry in enumerate(entries, start=1):
            _plan_entry(session, entry, known, plan)
            if number % PROGRESS_EVERY == 0:
                record(checked=number)
        if job.all_or_nothing and plan.rejected:
            record(
                state=ImportState.failed,
                checked=len(entries),
                rejected=plan.rejected,
                content="",
                error=ngettext(
                    "%(rejected)s of %(num)s entry was rejected, so nothing was imported. "
                    "Correct it and import the file again.",
                    "%(rejected)s of %(num)s entries were rejected, so nothing was imported. "
                    "Correct them and import the file again.",
                    len(entries),
                    rejected=i18n.number(len(plan.rejected)),
                ),
                finished_at=utcnow(),
            )
            return None
        record(state=ImportState.saving, checked=len(entries))
    return plan


# Where a new report's indicators are found: an existing report's id, or the index of a
# report this import creates (as a negative number, -1 for the first).
Known = dict[tuple[str, str], int]


def _known_indicators(session: Session, job: ImportJob, actor: Actor) -> Known:
    """The indicators of the brand's reports on the board that the importer may read: a
    row is never added to a report they may not read (a brand-mate's TLP:RED, a hidden
    one), which would also tell them it exists."""
    rows = session.exec(
        select(Indicator.kind, Indicator.normalised, Indicator.report_id)
        .join(IntelReport, col(IntelReport.id) == Indicator.report_id)
        .where(
            IntelReport.group_id == job.group_id,
            IntelReport.brand_id == job.brand_id,
            col(IntelReport.merged_into_id).is_(None),
            visible_intel(actor),
        )
        .order_by(col(Indicator.report_id))
    )
    known: Known = {}
    for kind, normalised, report_id in rows:
        known.setdefault((kind, normalised), report_id)
    return known


def _plan_entry(session: Session, entry: Entry, known: Known, plan: Plan) -> None:
    if entry.form is None:
        plan.rejected.append({"where": entry.where, "reason": entry.reason})
        return
    if not any(value.strip() for _, value in entry.form.indicators):
        plan.rejected.append(
            {"where": entry.where, "reason": _("It names no indicator (listing, seller, phone…).")}
        )
        return
    if entry.form.tlp == Tlp.red:
        plan.rejected.append(
            {
                "where": entry.where,
                "reason": _(
                    "TLP:RED reports are posted one by one, with the people who may read them."
                ),
            }
        )
        return
    check, normalised, _recipients = check_form(session, entry.form)
    if check.errors:
        reason = " ".join(
            _("%(column)s: %(problem)s", column=name, problem=message)
            for name, message in check.errors.items()
        )
        plan.rejected.append({"where": entry.where, "reason": reason})
        return
    match = next((known[(k, n)] for k, _, n in normalised if (k, n) in known), None)
    if match is None:
        plan.create.append((entry.form, normalised))
        place = -len(plan.create)
    elif match < 0:
        plan.create[-match - 1][1].extend(normalised)
        plan.merged, place = plan.merged + 1, match
    else:
        plan.add.setdefault(match, []).extend(normalised)
        plan.merged, place = plan.merged + 1, match
    for kind, _value, norm in normalised:
        known.setdefault((kind, norm), place)


def _save(session_factory: SessionFactory, job_id: int, actor: Actor, plan: Plan) -> None:
    with session_factory() as session:
        job = session.get(ImportJob, job_id)
        group = session.get(WorkingGroup, job.group_id) if job else None
        assert job is not None and group is not None
        reports = [
            IntelReport(
                group_id=job.group_id,
                brand_id=job.brand_id,
                author_id=job.person_id,
                **report_fields(form),
            )
            for form, _indicators in plan.create
        ]
        session.add_all(reports)
        session.flush()
        for report, (_form, normalised) in zip(reports, plan.create, strict=True):
            _add_indicators(session, report.id or 0, normalised, set())
        for report_id, normalised in plan.add.items():
            present = set(
                session.exec(
                    select(Indicator.kind, Indicator.normalised).where(
                        Indicator.report_id == report_id
                    )
                ).all()
            )
            _add_indicators(session, report_id, normalised, present)
        session.flush()
        created_ids = [r.id or 0 for r in reports]
        search_index.reindex_many(session, created_ids + list(plan.add))
        correlation.mark_correlated(session, created_ids + list(plan.add))
        matching = _matching(session, job.group_id, created_ids)
        for report in reports:
            if report.id in matching:
                correlation.notify_matches(session, actor, report)
            webhooks.report_created(session, report)
        _tell_followers(session, job, group, [r.id or 0 for r in reports], actor.name)
        audit.record(
            session,
            actor.audit_id,
            actor.label,
            "intel.imported",
            f"import:{job.id}",
            group=group.slug,
            created=len(reports),
            merged=plan.merged,
            rejected=len(plan.rejected),
        )
        job.state, job.content, job.finished_at = ImportState.done, "", utcnow()
        job.created, job.merged, job.rejected = len(reports), plan.merged, plan.rejected
        session.add(job)
        session.commit()


def _matching(session: Session, group_id: int, ids: list[int], chunk: int = 500) -> set[int]:
    """Which new reports name an indicator of another report on the board: only those
    need correlation's closer look (most of a large import names nothing known)."""
    other = _OTHER
    found: set[int] = set()
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        found |= set(
            session.exec(
                select(Indicator.report_id)
                .join(
                    other,
                    (col(other.kind) == Indicator.kind)
                    & (col(other.normalised) == Indicator.normalised)
                    & (col(other.report_id) != Indicator.report_id),
                )
                .join(IntelReport, col(IntelReport.id) == other.report_id)
                .where(col(Indicator.report_id).in_(part), IntelReport.group_id == group_id)
                .distinct()
            ).all()
        )
    return found


def _add_indicators(
    session: Session,
    report_id: int,
    normalised: list[tuple[str, str, str]],
    present: set[tuple[str, str]],
) -> None:
    for kind, value, norm in normalised:
        if (kind, norm) not in present:
            present.add((kind, norm))
            session.add(Indicator(report_id=report_id, kind=kind, value=value, normalised=norm))


def _tell_followers(
    session: Session, job: ImportJob, group: WorkingGroup, ids: list[int], who: str
) -> None:
    """One line per follower for the whole import, counting what each may read."""
    if not ids:
        return
    followers = session.exec(
        select(GroupFollow.person_id).where(
            GroupFollow.group_id == group.id, GroupFollow.person_id != job.person_id
        )
    ).all()
    for person_id in followers:
        reader = correlation.actor_of(session, person_id)
        if reader is None:
            continue
        visible = session.exec(
            select(func.count())
            .select_from(IntelReport)
            .where(col(IntelReport.id).in_(ids), visible_intel(reader))
        ).one()
        if visible:
            with i18n.presenting(reader.language, reader.time_zone):
                text = ngettext(
                    "%(name)s imported %(num)s report into the %(group)s board.",
                    "%(name)s imported %(num)s reports into the %(group)s board.",
                    visible,
                    name=who,
                    group=group.name,
                )
            session.add(
                Notification(
                    person_id=person_id,
                    kind="intel.new_report",
                    group_id=group.id,
                    link=f"/groups/{group.slug}/intel",
                    text=text,
                )
            )
