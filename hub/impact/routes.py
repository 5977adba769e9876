"""Pages of the alliance's impact: the dashboard (alliance-wide, or one working group's),
the rows behind any number, and the CSV of every figure shown."""

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from hub import audit, i18n
from hub.db import SessionDep
from hub.deps import CurrentActor
from hub.errors import Invalid, NotFound
from hub.groups.models import WorkingGroup
from hub.i18n import gettext as _
from hub.i18n import lazy_gettext
from hub.impact import figures
from hub.impact.models import REFERRAL_STATUS_LABELS
from hub.impact.periods import FIRST_YEAR, Period
from hub.impact.sources import SOURCES
from hub.impact.views import Dashboard, breakdown_label, csv_rows, hours_text
from hub.intel.exports import safe_cell
from hub.intel.models import STATUS_LABELS, TLP_LABELS, TakedownOutcome
from hub.members.countries import country_name
from hub.policy import Action, Actor, can, ensure
from hub.testbuys.models import VERDICT_LABELS
from hub.web import render

router = APIRouter()
Param = Annotated[str, Query()]

OUTCOME_LABELS = {
    TakedownOutcome.pending: lazy_gettext("With the marketplace"),
    TakedownOutcome.taken_down: lazy_gettext("Taken down"),
    TakedownOutcome.not_taken_down: lazy_gettext("Not taken down"),
}


def all_groups(session: Session) -> dict[int, WorkingGroup]:
    return {
        group.id or 0: group
        for group in session.exec(select(WorkingGroup).order_by(col(WorkingGroup.name))).all()
    }


def period_of(year: str, quarter: str) -> Period:
    if not year:
        return Period.current()
    period = Period.parse(year, quarter)
    if period is None:
        raise Invalid(
            _(
                "Choose a year from %(first)s to %(last)s, and a quarter from 1 to 4 (or "
                "none, for the whole year).",
                first=FIRST_YEAR,
                last=Period.current().year,
            )
        )
    return period


def scope_of(actor: Actor, groups: dict[int, WorkingGroup], slug: str) -> WorkingGroup | None:
    """The working group whose own dashboard is asked for: only for its members."""
    if not slug:
        return None
    group = next((g for g in groups.values() if g.slug == slug), None)
    if group is None:
        raise NotFound()
    ensure(actor, Action.view_group_impact, group.id)
    return group


def dashboard_of(
    request: Request, session: Session, actor: Actor, period: Period, slug: str
) -> tuple[Dashboard, WorkingGroup | None]:
    """The viewer's figures of the period, alliance-wide or for the group `slug`."""
    groups = all_groups(session)
    group = scope_of(actor, groups, slug)
    shared = request.app.state.shared_figures
    impact = figures.compute(
        session,
        actor,
        period,
        group.id if group else None,
        shared,
        request.app.state.session_factory,
    )
    return Dashboard(impact, groups, group.slug if group else ""), group


def my_groups(actor: Actor, groups: dict[int, WorkingGroup]) -> list[WorkingGroup]:
    """The groups whose own dashboard the actor may open, for the scope picker."""
    return [g for g in groups.values() if can(actor, Action.view_group_impact, g.id)]


@router.get("/impact")
def impact_dashboard(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    year: Param = "",
    quarter: Param = "",
    scope: Param = "",
) -> Response:
    period = period_of(year, quarter)
    dashboard, group = dashboard_of(request, session, actor, period, scope)
    return render(
        request,
        "impact/dashboard.html",
        {
            "period": period,
            "group": group,
            "dashboard": dashboard,
            "tiles": dashboard.tiles(),
            "charts": dashboard.charts(),
            "my_groups": my_groups(actor, dashboard.groups),
            "years": list(range(Period.current().year, Period.current().year - 6, -1)),
        },
    )


@router.get("/impact/export.csv")
def impact_csv(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    year: Param = "",
    quarter: Param = "",
    scope: Param = "",
    chart: Param = "",
) -> Response:
    """Every figure of the dashboard (or of one chart), as the viewer sees it."""
    period = period_of(year, quarter)
    dashboard, group = dashboard_of(request, session, actor, period, scope)
    charts = dashboard.charts()
    tiles = dashboard.tiles()
    if chart:
        charts = [c for c in charts if c.key == chart]
        if not charts:
            raise NotFound()
        tiles = []
    out = io.StringIO()
    writer = csv.writer(out)
    base_url = request.app.state.settings.base_url
    for line in csv_rows(tiles, charts, base_url):
        writer.writerow([safe_cell(cell) for cell in line])
    name = (
        f"impact-{period.slug}"
        + (f"-{group.slug}" if group else "")
        + (f"-{chart}" if chart else "")
    )
    audit.taken_out(
        session,
        actor,
        "export.impact_csv",
        f"group:{group.slug}" if group else "",
        period=period.slug,
        chart=chart,
    )
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get("/impact/rows")
def impact_rows(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    figure: Param = "",
    year: Param = "",
    quarter: Param = "",
    scope: Param = "",
    bucket: Param = "",
) -> Response:
    """The rows behind one number that the viewer may open, and how many more it counts."""
    if figure not in figures.FIGURES:
        raise Invalid(_("That figure does not exist; follow a number on the impact dashboard."))
    period = period_of(year, quarter)
    groups = all_groups(session)
    group = scope_of(actor, groups, scope)
    chosen_bucket = _bucket(period, bucket)
    only = _breakdown(request, figure, groups)
    found = figures.trace(
        session, actor, figure, period, group.id if group else None, chosen_bucket, only
    )
    return render(
        request,
        "impact/rows.html",
        {
            "period": period,
            "group": group,
            "trace": found,
            "bucket": period.bucket(chosen_bucket) if chosen_bucket is not None else None,
            "only": {
                str(figures.BREAKDOWNS[dim]): breakdown_label(dim, value, groups)
                for dim, value in only.items()
            },
            "groups": groups,
            "cell_text": lambda kind, value: cell_text(kind, value, groups),
            "limit": figures.TRACE_LIMIT,
        },
    )


def _bucket(period: Period, bucket: str) -> int | None:
    if not bucket:
        return None
    if bucket.isascii() and bucket.isdigit() and period.bucket(int(bucket)) is not None:
        return int(bucket)
    raise Invalid(
        _(
            "%(period)s has no part number %(part)s; follow a number on the dashboard.",
            period=period.label,
            part=bucket[:20],
        )
    )


def _breakdown(request: Request, figure: str, groups: dict[int, WorkingGroup]) -> dict[str, Any]:
    """The breakdown values of the number followed: only those its rows have."""
    source = SOURCES[figures.FIGURES[figure].source]
    only: dict[str, Any] = {}
    for dim in ("group", "country", "marketplace", "status", "currency"):
        if dim not in request.query_params:
            continue
        value = request.query_params[dim]
        if dim not in source.dims:
            raise Invalid(
                _(
                    "%(figure)s has no breakdown by %(breakdown)s.",
                    figure=figures.FIGURES[figure].label,
                    breakdown=figures.BREAKDOWNS[dim],
                )
            )
        if dim == "group":
            if not (value.isascii() and value.isdigit() and int(value) in groups):
                raise Invalid(_("That working group does not exist."))
            only[dim] = int(value)
        else:
            only[dim] = value[:200]
    return only


def cell_text(kind: str, value: Any, groups: dict[int, WorkingGroup]) -> str:
    if value is None or value == "":
        return "—"
    if kind == "group":
        return breakdown_label("group", value, groups)
    if kind == "country":
        return country_name(value)
    if kind == "tlp":
        return str(TLP_LABELS.get(value, value))
    if kind == "time":
        return i18n.when(value)
    if kind == "day":
        return i18n.day(value)
    if kind == "outcome":
        return str(OUTCOME_LABELS.get(value, value))
    if kind == "verdict":
        return str(VERDICT_LABELS.get(value, value))
    if kind == "referral_status":
        return str(REFERRAL_STATUS_LABELS.get(value, value))
    if kind == "status":
        return str(STATUS_LABELS.get(value, value))
    if kind == "duration":
        return hours_text(value, 1)
    if kind == "money":
        return i18n.number(value, 2)
    if kind == "number":
        return i18n.number(value)
    return str(value)
