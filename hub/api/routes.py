"""The /api/v1 operations. Each one calls the same service function as the page showing
the same thing, so the API can never see more than the hub's pages would show."""

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from sqlmodel import Session, col, select

from hub.api import schemas
from hub.api.access import CurrentCaller, Writer
from hub.api.problems import ApiProblem, responses
from hub.clock import as_utc, utcnow
from hub.db import SessionDep
from hub.errors import InvalidForm
from hub.events import schedule
from hub.events.models import Event, EventKind
from hub.groups import service as groups
from hub.groups.models import WorkingGroup
from hub.i18n import gettext as _
from hub.intel import correlation, discussion, search
from hub.intel import service as intel
from hub.intel.models import Category, Indicator, IntelReport, Status, Tlp
from hub.members.models import Brand, Person
from hub.policy import Actor
from hub.testbuys import campaigns
from hub.testbuys.models import CampaignStatus

# Every operation may answer these two.
router = APIRouter(responses=responses(401, 429, 503))

# Ids are PostgreSQL integers; a larger (or non-positive) one names nothing: a 404.
MAX_ID = 2**31 - 1
Limit = Annotated[int, Query(ge=1, le=100, description="Items per page.")]
# A cursor is where the previous page ended. Every string of its pattern is a place in the
# list (before an id; after a start time and id), so a cursor is either one this API could
# have made, or a 400 (never a crash, and never a wrong page).
ID_CURSOR = r"^[0-9]{1,18}$"
EVENT_CURSOR = r"^-?[0-9]{1,18}_[0-9]{1,18}$"
CURSOR_HELP = "The `next_cursor` of the previous page; start without one."
IdCursor = Annotated[
    str | None, Query(description=CURSOR_HELP, json_schema_extra={"pattern": ID_CURSOR})
]
EventCursor = Annotated[
    str | None, Query(description=CURSOR_HELP, json_schema_extra={"pattern": EVENT_CURSOR})
]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def _bad_cursor() -> ApiProblem:
    return ApiProblem(400, _("This cursor was not made by this API; start without one."), "cursor")


def _id_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not re.fullmatch(ID_CURSOR, cursor):
        raise _bad_cursor()
    before = int(cursor)
    return before if before <= MAX_ID else None  # before every id there is: from the top


def _event_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """The (starts_at, id) after which the page starts; a moment beyond the calendar is
    its first or last day."""
    if cursor is None:
        return None
    if not re.fullmatch(EVENT_CURSOR, cursor):
        raise _bad_cursor()
    micros, event_id = cursor.split("_")
    try:
        moment = EPOCH + int(micros) * MICROSECOND
    except OverflowError:
        moment = (datetime.min if micros.startswith("-") else datetime.max).replace(tzinfo=UTC)
    return moment, min(int(event_id), MAX_ID)  # the query's parameter must fit the column


def _event_position(starts_at: datetime, event_id: int) -> str:
    return f"{(as_utc(starts_at) - EPOCH) // MICROSECOND}_{event_id}"


def _text(max_length: int, description: str | None = None) -> Any:
    """A free-text filter: at most `max_length` characters, no NUL."""
    return Query(max_length=max_length, pattern=schemas.NO_NUL, description=description)


def _id(what: str) -> Any:
    return Path(ge=1, le=MAX_ID, description=f"The {what}'s id.")


def _url(request: Request, path: str) -> str:
    base: str = request.app.state.settings.base_url
    return base.rstrip("/") + path


@router.get("/me", response_model=schemas.MeOut, summary="Who this token acts as")
def me(caller: CurrentCaller, session: SessionDep) -> schemas.MeOut:
    actor = caller.actor
    return schemas.MeOut(
        name=actor.name,
        email=actor.email,
        brand=actor.brand_slug,
        token_kind="brand" if actor.acts_for_brand else "personal",
        scope="write" if caller.may_write else "read",
        groups=_groups(session, actor),
    )


def _groups(session: Session, actor: Actor) -> list[schemas.GroupOut]:
    return [
        schemas.GroupOut(
            slug=g.slug,
            name=g.name,
            member=g.id in actor.group_ids,
            can_post=g.id in actor.group_ids | actor.coordinated_group_ids,
        )
        for g in groups.of_actor(session, actor)
    ]


@router.get("/groups", response_model=list[schemas.GroupOut], summary="The caller's groups")
def list_groups(caller: CurrentCaller, session: SessionDep) -> list[schemas.GroupOut]:
    """The working groups whose boards the caller reads and posts to."""
    return _groups(session, caller.actor)


@router.get(
    "/reports",
    response_model=schemas.Page[schemas.ReportOut],
    summary="Reports",
    responses=responses(400, 422),
)
def list_reports(
    request: Request,
    caller: CurrentCaller,
    session: SessionDep,
    q: Annotated[str, _text(200, "Words to search for.")] = "",
    group: Annotated[str, _text(60, "A working group's slug.")] = "",
    category: Category | None = None,
    marketplace: Annotated[str, _text(120)] = "",
    status: Status | None = None,
    tlp: Tlp | None = None,
    brand: Annotated[str, _text(120, "Brand affected.")] = "",
    since: schemas.Day | None = None,
    until: schemas.Day | None = None,
    cursor: IdCursor = None,
    limit: Limit = 25,
) -> schemas.Page[schemas.ReportOut]:
    """The reports the caller may read, newest first, as on the boards and in search."""
    group_id = None
    if group:
        found = session.exec(select(WorkingGroup).where(WorkingGroup.slug == group)).first()
        group_id = found.id if found else -1  # an unknown group simply has no reports
    filters = intel.BoardFilters(
        category=category or "",
        marketplace=marketplace,
        status=status or "",
        tlp=tlp or "",
        brand=brand,
        since=since,
        until=until,
        before=_id_cursor(cursor),
    )
    reports, more = search.newest(session, caller.actor, q, filters, group_id, limit)
    return schemas.Page(
        items=_report_outs(request, session, caller.actor, reports, counts=False),
        next_cursor=str(more) if more else None,
    )


@router.get(
    "/reports/{report_id}",
    response_model=schemas.ReportOut,
    summary="One report",
    responses=responses(404),
)
def get_report(
    request: Request,
    report_id: Annotated[int, _id("report")],
    caller: CurrentCaller,
    session: SessionDep,
) -> schemas.ReportOut:
    report = intel.get_visible(session, caller.actor, report_id)
    return _report_outs(request, session, caller.actor, [report], counts=True)[0]


@router.post(
    "/reports",
    response_model=schemas.ReportOut,
    status_code=201,
    summary="Post a report",
    responses={
        201: {
            "description": "The report as posted.",
            "headers": {
                "Location": {
                    "description": "The report's address in the API.",
                    "required": True,
                    "schema": {"type": "string", "format": "uri"},
                }
            },
        },
        **responses(400, 403, 404, 422, notes={400: "The body is not UTF-8 text."}),
    },
)
def create_report(
    request: Request,
    response: Response,
    body: schemas.ReportIn,
    caller: Writer,
    session: SessionDep,
) -> schemas.ReportOut:
    """Post a report with its indicators to one of the caller's working groups; others
    reporting the same indicators are told, as when posting on the board."""
    actor = caller.actor
    target = next((g for g in groups.of_actor(session, actor) if g.slug == body.group), None)
    if target is None:
        raise ApiProblem(
            404, _("There is no such working group among yours (GET /groups lists them).")
        )
    if target.id not in actor.group_ids | actor.coordinated_group_ids:
        raise ApiProblem(403, _("Your brand is not in this working group, so cannot post to it."))
    if actor.acts_for_brand and body.tlp == Tlp.red:
        # A brand's tool could never read it back: TLP:RED is for the people it names.
        raise InvalidForm({"tlp": _("A brand token cannot post TLP:RED; use a personal token.")})
    form = intel.ReportForm(
        title=body.title,
        body_md=body.body_md,
        category=body.category,
        marketplace=body.marketplace,
        brands_affected=body.brands_affected,
        products_affected=body.products_affected,
        infringement=body.infringement,
        confidence=body.confidence,
        reliability=body.reliability,
        tlp=body.tlp,
        recipients=", ".join(body.recipients),
        indicators=[(item.kind, item.value) for item in body.indicators],
    )
    report = intel.create_report(session, actor, target, form, request.app.state.settings)
    response.headers["Location"] = _url(request, f"/api/v1/reports/{report.id}")
    return _report_outs(request, session, actor, [report], counts=True)[0]


@router.post(
    "/reports/{report_id}/sightings",
    response_model=schemas.SightingOut,
    summary="Confirm or dispute a report",
    responses=responses(400, 403, 404, 409, 422, notes={400: "The body is not UTF-8 text."}),
)
def add_sighting(
    report_id: Annotated[int, _id("report")],
    body: schemas.SightingIn,
    caller: Writer,
    session: SessionDep,
) -> schemas.SightingOut:
    """The caller's brand has seen it too (or disputes it): one per brand, replaceable.
    A brand cannot say it has seen its own report too (409)."""
    report = intel.get_visible(session, caller.actor, report_id)
    sighting = discussion.set_sighting(session, caller.actor, report, body.kind, body.note)
    return schemas.SightingOut(
        report_id=report_id,
        brand=caller.actor.brand_slug,
        kind=sighting.kind,
        note=sighting.note,
    )


def _report_outs(
    request: Request, session: Session, actor: Actor, reports: list[IntelReport], counts: bool
) -> list[schemas.ReportOut]:
    """Reports with their groups, brands, authors and indicators, in four queries."""
    if not reports:
        return []
    group_slugs = _names(session, WorkingGroup, WorkingGroup.slug, {r.group_id for r in reports})
    brand_slugs = _names(session, Brand, Brand.slug, {r.brand_id for r in reports})
    authors = _names(session, Person, Person.name, {r.author_id for r in reports})
    indicators: dict[int, list[schemas.IndicatorOut]] = {r.id or 0: [] for r in reports}
    rows = session.exec(
        select(Indicator)
        .where(col(Indicator.report_id).in_(list(indicators)))
        .order_by(col(Indicator.id))
    )
    other: dict[int, int] = {}
    if counts:
        for report in reports:
            other.update(correlation.counts_for(session, actor, report))
    for item in rows:
        indicators[item.report_id].append(
            schemas.IndicatorOut(
                kind=item.kind,
                value=item.value,
                normalised=item.normalised,
                other_reports=other.get(item.id or 0, 0) if counts else None,
            )
        )
    return [
        schemas.ReportOut(
            id=report.id or 0,
            url=_url(request, f"/intel/{report.id}"),
            group=group_slugs.get(report.group_id, ""),
            brand=brand_slugs.get(report.brand_id, ""),
            author=authors.get(report.author_id, ""),
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
            status=report.status,
            created_at=report.created_at,
            updated_at=report.updated_at,
            indicators=indicators[report.id or 0],
        )
        for report in reports
    ]


def _names(session: Session, model: Any, column: Any, ids: set[int]) -> dict[int, str]:
    rows = session.exec(select(model.id, column).where(col(model.id).in_(sorted(ids))))
    return {row_id: value for row_id, value in rows.all()}


@router.get(
    "/campaigns",
    response_model=schemas.Page[schemas.CampaignOut],
    summary="Campaigns",
    responses=responses(400, 422),
)
def list_campaigns(
    request: Request,
    caller: CurrentCaller,
    session: SessionDep,
    status: CampaignStatus | None = None,
    cursor: IdCursor = None,
    limit: Limit = 25,
) -> schemas.Page[schemas.CampaignOut]:
    """The test-buy campaigns the caller may see, newest first."""
    lines, more = campaigns.page(session, caller.actor, status or "", _id_cursor(cursor), limit)
    return schemas.Page(
        items=[_campaign_out(request, line) for line in lines],
        next_cursor=str(more) if more else None,
    )


@router.get(
    "/campaigns/{campaign_id}",
    response_model=schemas.CampaignOut,
    summary="A campaign",
    responses=responses(404),
)
def get_campaign(
    request: Request,
    campaign_id: Annotated[int, _id("campaign")],
    caller: CurrentCaller,
    session: SessionDep,
) -> schemas.CampaignOut:
    return _campaign_out(request, campaigns.line(session, caller.actor, campaign_id))


def _campaign_out(request: Request, line: campaigns.CampaignLine) -> schemas.CampaignOut:
    campaign = line.campaign
    return schemas.CampaignOut(
        id=campaign.id or 0,
        url=_url(request, f"/testbuys/{campaign.id}"),
        group=line.group.slug,
        title=campaign.title,
        goal=campaign.goal,
        channels=campaign.channels,
        region=campaign.region,
        status=campaign.status,
        opens_at=campaign.opens_at,
        closes_at=campaign.closes_at,
        slots=campaign.slots,
        slots_taken=campaign.slots_taken,
        max_per_brand=campaign.max_per_brand,
        budget=campaign.budget,
        currency=campaign.currency,
        brands_signed_up=line.brands,
        my_brand_signup=line.mine.state if line.mine else None,
    )


@router.get(
    "/events",
    response_model=schemas.Page[schemas.EventOut],
    summary="Events",
    responses=responses(400, 422),
)
def list_events(
    request: Request,
    caller: CurrentCaller,
    session: SessionDep,
    start: Annotated[
        schemas.Day | None,
        Query(alias="from", description="Events ending after this day (UTC)."),
    ] = None,
    end: Annotated[
        schemas.Day | None,
        Query(alias="to", description="Events starting before this day (UTC)."),
    ] = None,
    group: Annotated[str, _text(60, "A working group's slug.")] = "",
    kind: EventKind | None = None,
    cursor: EventCursor = None,
    limit: Limit = 25,
) -> schemas.Page[schemas.EventOut]:
    """The events the caller may see, soonest first; by default those not over yet."""
    after = _event_cursor(cursor)
    lines, more = schedule.page(
        session,
        caller.actor,
        schedule.Filters(group=group, kind=kind or ""),
        _midnight(start) if start else utcnow(),
        _midnight(end) if end else None,
        after,
        limit,
    )
    return schemas.Page(
        items=[_event_out(request, caller.actor, line) for line in lines],
        next_cursor=_event_position(*more) if more else None,
    )


@router.get(
    "/events/{event_id}",
    response_model=schemas.EventOut,
    summary="An event",
    responses=responses(404),
)
def get_event(
    request: Request,
    event_id: Annotated[int, _id("event")],
    caller: CurrentCaller,
    session: SessionDep,
) -> schemas.EventOut:
    return _event_out(request, caller.actor, schedule.line(session, caller.actor, event_id))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _event_out(request: Request, actor: Actor, line: schedule.EventLine) -> schemas.EventOut:
    event: Event = line.event
    return schemas.EventOut(
        id=event.id or 0,
        url=_url(request, f"/events/{event.id}"),
        ics_url=_url(request, f"/events/{event.id}.ics"),
        group=line.group.slug if line.group else None,
        kind=event.kind,
        title=event.title,
        description=event.description,
        status=event.status,
        time_zone=event.time_zone,
        all_day=event.all_day,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        attendance=event.attendance,
        venue=event.venue,
        address=event.address,
        capacity=event.capacity,
        seats_taken=event.seats_taken,
        registration_opens_at=event.registration_opens_at,
        registration_closes_at=event.registration_closes_at,
        my_registration=line.mine.state if line.mine else None,
    )
