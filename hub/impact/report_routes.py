"""The annual (or quarterly) impact report: a printable page of the period's figures with
a section per working group, its narratives, and publishing it to every member."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from hub.db import SessionDep
from hub.deps import CurrentActor
from hub.errors import InvalidForm, NotFound
from hub.i18n import gettext as _
from hub.impact import annual, figures
from hub.impact.periods import Period
from hub.impact.routes import Param, all_groups, period_of
from hub.impact.views import Dashboard
from hub.policy import Action, Actor, can
from hub.web import flash, redirect, render

router = APIRouter()
Text = Annotated[str, Form()]


def report_url(period: Period) -> str:
    return f"/impact/report?year={period.year}" + (
        f"&quarter={period.quarter}" if period.quarter else ""
    )


def _page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    period: Period,
    errors: dict[int, str] | None = None,
    typed: dict[int, str] | None = None,
    status_code: int = 200,
) -> Response:
    state = annual.readable(session, actor, period)
    groups = all_groups(session)
    shared = request.app.state.shared_figures
    dashboard = Dashboard(
        figures.compute(session, actor, period, None, shared, request.app.state.session_factory),
        groups,
    )
    return render(
        request,
        "impact/report.html",
        {
            "period": period,
            "state": state,
            "dashboard": dashboard,
            "tiles": dashboard.tiles(),
            "charts": [c for c in dashboard.charts() if c.key != "reports-by-group"],
            "groups": list(groups.values()),
            "writes": set()
            if state.published
            else annual.writers_groups(actor, list(groups.values())),
            "can_publish": can(actor, Action.publish_impact),
            "seen": {gid: annual.seen_token(n) for gid, n in state.narratives.items()},
            "errors": errors or {},
            "typed": typed or {},
            "max_narrative": annual.MAX_NARRATIVE,
        },
        status_code=status_code,
    )


@router.get("/impact/report")
def impact_report(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    year: Param = "",
    quarter: Param = "",
) -> Response:
    period = period_of(year, quarter) if year else Period(Period.current().year - 1)
    return _page(request, session, actor, period)


@router.post("/impact/report/narrative")
def save_narrative(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    year: Text = "",
    quarter: Text = "",
    group: Text = "",
    body: Text = "",
    seen: Text = "",
) -> Response:
    period = period_of(year, quarter) if year else Period.current()
    chosen = next((g for g in all_groups(session).values() if g.slug == group), None)
    if chosen is None:
        raise NotFound(_("That working group does not exist."))
    try:
        annual.save_narrative(session, actor, period, chosen, body, seen)
    except InvalidForm as invalid:
        session.rollback()
        gid = chosen.id or 0
        errors, typed = {gid: invalid.errors["body"]}, {gid: body}
        return _page(request, session, actor, period, errors, typed, invalid.status_code)
    flash(
        request,
        _(
            "The %(group)s section of the %(period)s report is saved.",
            group=chosen.name,
            period=period.label,
        ),
    )
    return redirect(request, report_url(period) + f"#group-{chosen.slug}")


@router.post("/impact/report/publish")
def publish(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    year: Text = "",
    quarter: Text = "",
    action: Text = "publish",
) -> Response:
    period = period_of(year, quarter) if year else Period.current()
    published = action != "withdraw"
    annual.set_published(session, actor, period, published)
    flash(
        request,
        _("The %(period)s report is published to every member.", period=period.label)
        if published
        else _(
            "The %(period)s report is withdrawn; its sections can change again.",
            period=period.label,
        ),
    )
    return redirect(request, report_url(period))
