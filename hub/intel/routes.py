"""Pages of the intelligence boards: a group's board, posting, a report, editing it."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlmodel import col, select

from hub import audit, ratelimit
from hub.clock import utcnow
from hub.config import Settings
from hub.db import RowId, SessionDep
from hub.deps import CurrentActor
from hub.errors import InvalidForm
from hub.events import schedule as event_schedule
from hub.events.times import viewer_zone
from hub.groups import service as groups
from hub.groups.models import WorkingGroup
from hub.i18n import gettext as _
from hub.i18n import ngettext
from hub.intel import (
    correlation,
    discussion,
    evidence,
    exports,
    moderation,
    search,
    service,
)
from hub.intel.models import (
    CATEGORY_LABELS,
    CONFIDENCE_LABELS,
    INDICATOR_LABELS,
    INFRINGEMENT_LABELS,
    RELIABILITY_LABELS,
    STATUS_LABELS,
    TLP_LABELS,
    IntelReport,
    ReportRecipient,
    ReportVersion,
    Tlp,
)
from hub.members.models import Brand, Person
from hub.policy import Action, Actor, can, ensure
from hub.web import OptionalDay, flash, redirect, render

router = APIRouter()
BLANK_INDICATOR_ROWS = 3

LABELS = {
    "categories": CATEGORY_LABELS,
    "infringements": INFRINGEMENT_LABELS,
    "confidences": CONFIDENCE_LABELS,
    "reliabilities": RELIABILITY_LABELS,
    "tlps": TLP_LABELS,
    "statuses": STATUS_LABELS,
    "indicator_kinds": INDICATOR_LABELS,
}

Text = Annotated[str, Form()]
TextList = Annotated[list[str] | None, Form()]


def board_filters(
    category: str = "",
    marketplace: str = "",
    status: str = "",
    tlp: str = "",
    brand: str = "",
    since: OptionalDay = None,
    until: OptionalDay = None,
    before: int | None = None,
) -> service.BoardFilters:
    """The board's filters from the query string, for the board, search and exports."""
    return service.BoardFilters(category, marketplace, status, tlp, brand, since, until, before)


Filters = Annotated[service.BoardFilters, Depends(board_filters)]


def filters_query(filters: service.BoardFilters, **extra: object) -> str:
    """The query string that reproduces these filters (for "older" links)."""
    values = {
        "category": filters.category,
        "marketplace": filters.marketplace,
        "status": filters.status,
        "tlp": filters.tlp,
        "brand": filters.brand,
        "since": filters.since or "",
        "until": filters.until or "",
        **extra,
    }
    return urlencode({key: value for key, value in values.items() if value})


@router.get("/groups/{slug}/intel")
def board(
    slug: str, request: Request, session: SessionDep, actor: CurrentActor, filters: Filters
) -> Response:
    group = groups.get_group(session, slug)
    page = service.board_page(session, actor, group, filters)
    return render(
        request,
        "intel/board.html",
        {
            "group": group,
            "page": page,
            "filters": filters,
            "can_post": can(actor, Action.post_intel, group.id),
            "following": discussion.follows_group(session, actor, group.id or 0),
            "older_url": f"/groups/{group.slug}/intel?"
            + filters_query(filters, before=page.next_before),
            **LABELS,
        },
        block="items" if filters.before else "results",
    )


def _form_page(
    request: Request,
    group: WorkingGroup,
    form: service.ReportForm,
    errors: dict[str, str] | None = None,
    report: IntelReport | None = None,
    status_code: int = 422,
) -> Response:
    rows = list(form.indicators) + [("", "")] * BLANK_INDICATOR_ROWS
    return render(
        request,
        "intel/form.html",
        {
            "group": group,
            "form": form,
            "rows": rows,
            "errors": errors or {},
            "report": report,
            **LABELS,
        },
        status_code=status_code if errors else 200,
    )


def report_form(
    title: Text = "",
    body_md: Text = "",
    category: Text = "",
    marketplace: Text = "",
    brands_affected: Text = "",
    products_affected: Text = "",
    infringement: Text = "",
    confidence: Text = "",
    reliability: Text = "",
    tlp: Text = "",
    recipients: Text = "",
    indicator_kind: TextList = None,
    indicator_value: TextList = None,
) -> service.ReportForm:
    """The report form as posted; indicator rows left empty are dropped."""
    kinds, values = indicator_kind or [], indicator_value or []
    pairs = [(kind, value) for kind, value in zip(kinds, values, strict=False) if value.strip()]
    return service.ReportForm(
        title=title,
        body_md=body_md,
        category=category,
        marketplace=marketplace,
        brands_affected=brands_affected,
        products_affected=products_affected,
        infringement=infringement,
        confidence=confidence,
        reliability=reliability,
        tlp=tlp,
        recipients=recipients,
        indicators=pairs,
    )


PostedReport = Annotated[service.ReportForm, Depends(report_form)]


def _download(body: str, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post("/groups/{slug}/intel/follow")
def follow_board(slug: str, request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    """Follow the board (told of each new report one may read, as chosen on /me), or stop."""
    group = groups.get_group(session, slug)
    now_following = discussion.toggle_group_follow(session, actor, group.id or 0)
    flash(
        request,
        _(
            "You follow the %(group)s board now: new reports you may read are notified.",
            group=group.name,
        )
        if now_following
        else _("You no longer follow the %(group)s board.", group=group.name),
    )
    return redirect(request, f"/groups/{group.slug}/intel")


@router.get("/groups/{slug}/intel/export.csv")
def board_csv(
    slug: str,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    filters: Filters,
) -> Response:
    group = groups.get_group(session, slug)
    ids = service.matching_ids(session, actor, group.id, filters, exports.EXPORT_LIMIT)
    reports = exports.visible_reports(session, actor, ids)
    audit.taken_out(session, actor, "export.board_csv", f"group:{slug}", reports=len(reports))
    settings: Settings = request.app.state.settings
    return _download(
        exports.to_csv(session, reports, settings.base_url), "text/csv", f"{slug}-board.csv"
    )


@router.get("/groups/{slug}/intel/export.stix.json")
def board_stix(
    slug: str,
    session: SessionDep,
    actor: CurrentActor,
    filters: Filters,
) -> Response:
    group = groups.get_group(session, slug)
    ids = service.matching_ids(session, actor, group.id, filters, exports.EXPORT_LIMIT)
    reports = exports.visible_reports(session, actor, ids)
    audit.taken_out(session, actor, "export.board_stix", f"group:{slug}", reports=len(reports))
    return _download(
        exports.to_stix(session, reports), "application/stix+json", f"{slug}-board.stix.json"
    )


@router.get("/groups/{slug}/intel/new")
def new_report(slug: str, request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    group = groups.get_group(session, slug)
    ensure(actor, Action.post_intel, group.id)
    return _form_page(request, group, service.ReportForm())


@router.get("/intel/indicator-row")
def indicator_row(request: Request, actor: CurrentActor) -> Response:
    """One more blank indicator row, for the "add another" button."""
    return render(request, "intel/_indicator_row.html", {"kind": "", "value": "", **LABELS})


@router.post("/groups/{slug}/intel")
def post_report(
    slug: str,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    form: PostedReport,
    evidence_files: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    group = groups.get_group(session, slug)
    settings: Settings = request.app.state.settings
    refusal = too_many_files(request, session, actor, evidence_files)
    if refusal is not None:
        response = _form_page(request, group, form, {"evidence": refusal.message}, status_code=429)
        response.headers["Retry-After"] = str(refusal.retry_after)
        return response
    try:
        files = evidence.check_all(settings, read_uploads(settings, evidence_files))
    except InvalidForm as bad_file:
        errors = service.form_errors(session, form) | bad_file.errors
        return _form_page(request, group, form, errors)
    try:
        report = service.create_report(session, actor, group, form, settings, files)
    except InvalidForm as invalid:
        return _form_page(request, group, form, invalid.errors, status_code=invalid.status_code)
    flash(request, _("Your report was posted to %(group)s.", group=group.name))
    return redirect(request, f"/intel/{report.id}")


def too_many_files(
    request: Request, session: SessionDep, actor: Actor, files: list[UploadFile] | None
) -> ratelimit.Refusal | None:
    """Count the chosen files against the person's hourly limit, before reading them."""
    chosen = sum(1 for file in files or [] if file.filename)
    if not chosen:
        return None
    limit = ratelimit.evidence_limit(request.app.state.settings, actor.person_id)
    return ratelimit.check(request, session, limit, amount=chosen, count_refused=False)


def read_uploads(settings: Settings, files: list[UploadFile] | None) -> list[evidence.Upload]:
    """The chosen files' bytes; one byte past the limit is enough to refuse a file."""
    limit = settings.max_upload_mb * 1024 * 1024
    return [
        evidence.Upload(file.filename or "", file.file.read(limit + 1))
        for file in files or []
        if file.filename
    ]


def report_page_response(
    request: Request,
    session: SessionDep,
    actor: Actor,
    report: IntelReport | int,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 422,
) -> Response:
    """The report page (also re-shown with a form's errors): eight statements in all,
    however much discussion and correlation the report has."""
    seen = service.report_context(
        session, actor, report if isinstance(report, int) else report.id or 0
    )
    report = seen.report
    recipients = (
        session.exec(
            select(Person)
            .join(ReportRecipient, col(ReportRecipient.person_id) == Person.id)
            .where(ReportRecipient.report_id == report.id)
            .order_by(col(Person.name))
        ).all()
        if report.tlp == Tlp.red
        else []
    )
    indicators = correlation.indicators_with_counts(session, actor, report)
    history = service.status_history(session, report)
    return render(
        request,
        "intel/report.html",
        {
            "report": report,
            "group": seen.group,
            "author": seen.author,
            "brand": seen.brand,
            "indicators": [indicator for indicator, _count in indicators],
            "files": evidence.of_report(session, report),
            "can_add_evidence": can(actor, Action.add_evidence, report),
            "correlated": {indicator.id: count for indicator, count in indicators if count},
            "thread": discussion.thread(session, report),
            "sightings": discussion.sightings(session, report),
            "following": seen.following,
            "errors": errors or {},
            "values": values or {},
            "recipients": recipients,
            "history": history,
            "handled_in": service.handling_times(history),
            "next_statuses": service.NEXT_STATUSES.get(report.status, []),
            "can_edit": can(actor, Action.edit_report, report),
            "can_change_status": can(actor, Action.change_report_status, report),
            "can_moderate": can(actor, Action.moderate_group, report.group_id),
            "may_refer": can(actor, Action.refer_case, report.group_id),
            "merged_into": _kept_report(session, actor, report),
            **LABELS,
        },
        status_code=status_code if errors else 200,
    )


def _kept_report(session: SessionDep, actor: Actor, report: IntelReport) -> IntelReport | None:
    """The report a duplicate was merged into, named only to those who may read it."""
    kept = session.get(IntelReport, report.merged_into_id) if report.merged_into_id else None
    return kept if kept is not None and correlation.can_see(session, actor, kept) else None


@router.get("/intel/search")
def search_page(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    filters: Filters,
    q: str = "",
    group: str = "",
) -> Response:
    """Search every board the reader can see, with the boards' filters."""
    settings: Settings = request.app.state.settings
    ip = ratelimit.client_ip(request)
    ratelimit.enforce(request, session, *ratelimit.search_limits(settings, ip, actor.person_id))
    chosen = groups.get_group(session, group) if group else None
    hits = search.search(session, actor, q, filters, chosen.id if chosen else None)
    return render(
        request,
        "intel/search.html",
        {
            "q": q,
            "group": group,
            "groups": groups.all_groups(session),
            "filters": filters,
            "hits": hits,
            "events": event_schedule.search(session, actor, q) if q else [],
            **LABELS,
        },
        block="results",
    )


@router.get("/intel/search/export.csv")
def search_csv(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    filters: Filters,
    q: str = "",
    group: str = "",
) -> Response:
    chosen = groups.get_group(session, group) if group else None
    hits = search.search(session, actor, q, filters, chosen.id if chosen else None)
    reports = exports.visible_reports(session, actor, [h.report.id or 0 for h in hits])
    audit.taken_out(session, actor, "export.search_csv", "", query=q[:200], reports=len(reports))
    settings: Settings = request.app.state.settings
    return _download(exports.to_csv(session, reports, settings.base_url), "text/csv", "search.csv")


@router.get("/intel/indicators")
def indicator_page(
    request: Request, session: SessionDep, actor: CurrentActor, kind: str = "", value: str = ""
) -> Response:
    """Every report the reader may see that names one indicator value (e.g. one seller)."""
    sightings = correlation.reports_naming(session, actor, kind, value) if kind and value else []
    return render(
        request,
        "intel/indicator.html",
        {"kind": kind, "value": value, "sightings": sightings, **LABELS},
    )


@router.get("/intel/{report_id}")
def report_page(
    report_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    return report_page_response(request, session, actor, report_id)


@router.get("/intel/{report_id}/edit")
def edit_form(
    report_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    report = service.get_visible(session, actor, report_id)
    ensure(actor, Action.edit_report, report)
    group = session.get(WorkingGroup, report.group_id)
    assert group is not None
    return _form_page(request, group, service.form_of(session, report), report=report)


@router.post("/intel/{report_id}/edit")
def edit(
    report_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    form: PostedReport,
) -> Response:
    report = service.get_visible(session, actor, report_id)
    group = session.get(WorkingGroup, report.group_id)
    assert group is not None
    try:
        service.update_report(session, actor, report, form)
    except InvalidForm as invalid:
        return _form_page(request, group, form, invalid.errors, report)
    flash(request, _("Your changes were saved; the earlier version is kept."))
    return redirect(request, f"/intel/{report.id}")


@router.post("/intel/{report_id}/status")
def change_status(
    report_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    status: Text = "",
    note: Text = "",
    happened_at: Text = "",
) -> Response:
    report = service.get_visible(session, actor, report_id)
    values = {"status": status, "note": note, "happened_at": happened_at}
    zone = viewer_zone(request, actor)
    when = event_schedule.local_moment(happened_at, zone) if happened_at.strip() else None
    if happened_at.strip() and when is None:
        errors = {
            "happened_at": _(
                "Give the time as a date and a time, e.g. %(example)s.", example="2026-03-01 14:30"
            )
        }
        return report_page_response(request, session, actor, report, errors, values)
    try:
        service.change_status(session, actor, report, status, note, when)
    except InvalidForm as invalid:
        session.rollback()
        return report_page_response(request, session, actor, report_id, invalid.errors, values)
    flash(request, _("Status is now %(status)s.", status=STATUS_LABELS.get(status, status)))
    return redirect(request, f"/intel/{report.id}")


@router.get("/intel/{report_id}/versions")
def versions(
    report_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    report = service.get_visible(session, actor, report_id)
    rows = session.exec(
        select(ReportVersion, Person)
        .join(Person, col(Person.id) == ReportVersion.edited_by_id)
        .where(ReportVersion.report_id == report.id)
        .order_by(col(ReportVersion.version).desc())
    ).all()
    return render(
        request,
        "intel/versions.html",
        {"report": report, "versions": [(v, p, service.snapshot(v)) for v, p in rows], **LABELS},
    )


@router.post("/intel/{report_id}/evidence")
def add_evidence(
    report_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    evidence_files: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    report = service.get_visible(session, actor, report_id)
    ensure(actor, Action.add_evidence, report)
    settings: Settings = request.app.state.settings
    refusal = too_many_files(request, session, actor, evidence_files)
    if refusal is not None:
        response = report_page_response(
            request, session, actor, report, {"evidence": refusal.message}, status_code=429
        )
        response.headers["Retry-After"] = str(refusal.retry_after)
        return response
    try:
        files = evidence.check_all(settings, read_uploads(settings, evidence_files))
    except InvalidForm as bad_file:
        return report_page_response(request, session, actor, report, bad_file.errors)
    if not files:
        return report_page_response(
            request, session, actor, report, {"evidence": _("Choose at least one file.")}
        )
    try:
        evidence.attach(session, settings, actor, report, files)
    except evidence.StoreFull as full:
        return report_page_response(
            request, session, actor, report, full.errors, status_code=full.status_code
        )
    session.commit()
    flash(request, ngettext("%(num)s file added.", "%(num)s files added.", len(files)))
    return redirect(request, f"/intel/{report.id}#evidence")


def _file_response(
    request: Request, session: SessionDep, actor: Actor, evidence_id: int, thumbnail: bool
) -> Response:
    item = evidence.get_visible(session, actor, evidence_id)
    if not thumbnail:  # the original leaves the hub; a thumbnail is part of a page
        # The file's hash, not its name: a TLP:RED file's name is not for the audit log's
        # readers (as when it was added, hub.intel.evidence.attach).
        audit.taken_out(
            session, actor, "evidence.downloaded", f"evidence:{item.id}", sha256=item.sha256
        )
    settings: Settings = request.app.state.settings
    return evidence.file_response(
        settings, item.sha256, item.content_type, item.filename, thumbnail
    )


@router.get("/evidence/{evidence_id}")
def evidence_file(
    evidence_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    return _file_response(request, session, actor, evidence_id, thumbnail=False)


@router.get("/evidence/{evidence_id}/thumbnail")
def evidence_thumbnail(
    evidence_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    return _file_response(request, session, actor, evidence_id, thumbnail=True)


@router.get("/intel/{report_id}/export.stix.json")
def report_stix(report_id: int, session: SessionDep, actor: CurrentActor) -> Response:
    report = service.get_visible(session, actor, report_id)
    audit.taken_out(session, actor, "export.report_stix", f"report:{report.id}")
    return _download(
        exports.to_stix(session, [report]), "application/stix+json", f"report-{report.id}.stix.json"
    )


@router.get("/intel/{report_id}/print")
def printable(
    report_id: int, request: Request, session: SessionDep, actor: CurrentActor
) -> Response:
    """A plain page for a takedown notice's evidence pack: facts, indicators, files, history."""
    report = service.get_visible(session, actor, report_id)
    history = service.status_history(session, report)
    return render(
        request,
        "intel/print.html",
        {
            "report": report,
            "group": session.get(WorkingGroup, report.group_id),
            "author": session.get(Person, report.author_id),
            "brand": session.get(Brand, report.brand_id),
            "indicators": service.indicators_of(session, report),
            "files": evidence.of_report(session, report),
            "history": history,
            "now": utcnow(),
            **LABELS,
        },
    )


@router.post("/intel/{report_id}/hide")
def hide(
    report_id: int, request: Request, session: SessionDep, actor: CurrentActor, reason: Text = ""
) -> Response:
    report = service.get_visible(session, actor, report_id)
    try:
        moderation.hide(session, actor, report, reason)
    except InvalidForm as invalid:
        return report_page_response(request, session, actor, report, invalid.errors)
    flash(request, _("The report is hidden from the board; its author was told why."))
    return redirect(request, f"/intel/{report.id}")


@router.post("/intel/{report_id}/unhide")
def unhide(report_id: int, request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    report = service.get_visible(session, actor, report_id)
    moderation.unhide(session, actor, report)
    flash(request, _("The report is on the board again."))
    return redirect(request, f"/intel/{report.id}")


@router.post("/intel/{report_id}/pin")
def pin(
    report_id: int, request: Request, session: SessionDep, actor: CurrentActor, pinned: Text = "1"
) -> Response:
    report = service.get_visible(session, actor, report_id)
    moderation.set_pinned(session, actor, report, pinned == "1")
    flash(request, _("Pinned to the top of the board.") if pinned == "1" else _("Unpinned."))
    return redirect(request, f"/intel/{report.id}")


@router.post("/intel/{report_id}/merge")
def merge(
    report_id: int,
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    into: Annotated[RowId, Form()] = 0,
) -> Response:
    report = service.get_visible(session, actor, report_id)
    target = moderation.merge(session, actor, report, into)
    flash(request, _("Merged into report %(id)s.", id=target.id))
    return redirect(request, f"/intel/{target.id}")
