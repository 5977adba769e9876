"""The annual (or quarterly) impact report: its coordinators' narratives per working group,
and its publication to every member by an alliance admin."""

from dataclasses import dataclass

from sqlmodel import Session, select

from hub import audit
from hub.clock import as_utc, utcnow
from hub.errors import Conflict, InvalidForm, NotFound
from hub.groups.models import WorkingGroup
from hub.i18n import gettext as _
from hub.i18n import number
from hub.impact.models import GroupNarrative, ImpactReport
from hub.impact.periods import Period
from hub.intel.markdown import to_safe_html
from hub.policy import Action, Actor, can, ensure

MAX_NARRATIVE = 4000


class NarrativeChanged(InvalidForm):
    """Someone else saved the section since the writer's form was shown."""

    status_code = 409


@dataclass
class ReportState:
    period: Period
    report: ImpactReport | None
    narratives: dict[int, GroupNarrative]

    @property
    def published(self) -> bool:
        return self.report is not None and self.report.published_at is not None


def state_of(session: Session, period: Period) -> ReportState:
    report = session.exec(
        select(ImpactReport).where(
            ImpactReport.year == period.year, ImpactReport.quarter == period.quarter
        )
    ).first()
    narratives = (
        {
            n.group_id: n
            for n in session.exec(
                select(GroupNarrative).where(GroupNarrative.report_id == report.id)
            ).all()
        }
        if report is not None
        else {}
    )
    return ReportState(period, report, narratives)


def readable(session: Session, actor: Actor, period: Period) -> ReportState:
    """A published report is for every member; a draft for those who write it."""
    state = state_of(session, period)
    if not state.published and not can(actor, Action.read_impact_draft):
        raise NotFound(
            _(
                "The impact report for %(period)s is not published yet. The impact dashboard "
                "shows the figures as they stand.",
                period=period.label,
            )
        )
    return state


def seen_token(narrative: GroupNarrative | None) -> str:
    """What the writer's form saw, so a second writer's save does not overwrite the first."""
    return as_utc(narrative.updated_at).isoformat() if narrative is not None else ""


def save_narrative(
    session: Session,
    actor: Actor,
    period: Period,
    group: WorkingGroup,
    body_md: str,
    seen: str,
) -> GroupNarrative:
    ensure(actor, Action.write_narrative, group.id)
    state = state_of(session, period)
    if state.published:
        # As a form error, so the writer's text comes back with it rather than being lost.
        raise NarrativeChanged(
            {
                "body": _(
                    "The %(period)s report is published; an alliance admin must withdraw it "
                    "before its sections change. Your text is kept below.",
                    period=period.label,
                )
            }
        )
    body = body_md.strip()
    if len(body) > MAX_NARRATIVE:
        raise InvalidForm(
            {
                "body": _(
                    "Keep it to %(limit)s characters; this has %(length)s.",
                    limit=number(MAX_NARRATIVE),
                    length=number(len(body)),
                )
            }
        )
    report = state.report
    if report is None:
        report = ImpactReport(year=period.year, quarter=period.quarter)
        session.add(report)
        session.flush()
    narrative = state.narratives.get(group.id or 0)
    if seen_token(narrative) != seen:
        raise NarrativeChanged(
            {
                "body": _(
                    "Someone else saved this section while you were writing; their text is "
                    "below yours. Merge them and save again."
                )
            }
        )
    if narrative is None:
        narrative = GroupNarrative(
            report_id=report.id or 0, group_id=group.id or 0, updated_by_id=actor.person_id
        )
    narrative.body_md = body
    narrative.body_html = to_safe_html(body)
    narrative.updated_by_id = actor.person_id
    narrative.updated_at = utcnow()
    session.add(narrative)
    audit.by(session, actor, "impact.narrative_saved", f"group:{group.slug}", period=period.slug)
    session.commit()
    return narrative


def set_published(session: Session, actor: Actor, period: Period, published: bool) -> None:
    ensure(actor, Action.publish_impact)
    state = state_of(session, period)
    report = state.report or ImpactReport(year=period.year, quarter=period.quarter)
    if published and period.is_running:
        raise Conflict(
            _("%(period)s is not over yet; publish its report once it ends.", period=period.label)
        )
    report.published_at = utcnow() if published else None
    report.published_by_id = actor.person_id if published else None
    session.add(report)
    audit.by(
        session,
        actor,
        "impact.report_published" if published else "impact.report_withdrawn",
        f"impact:{period.slug}",
    )
    session.commit()


def writers_groups(actor: Actor, groups: list[WorkingGroup]) -> set[int]:
    return {g.id or 0 for g in groups if can(actor, Action.write_narrative, g.id)}
