"""Correlation: the same normalised indicator in several reports. Counts and lists only
ever include reports the reader may see."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, or_
from sqlalchemy import update as sa_update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from hub import i18n
from hub.api import webhooks
from hub.auth.sessions import load_actor
from hub.i18n import gettext as _
from hub.intel.models import Indicator, IntelReport
from hub.members.models import Brand, Person
from hub.notify.models import Notification
from hub.policy import Actor, visible_intel

# Aliases are built once: building one per call costs more than the query it serves.
_OWN = aliased(Indicator, name="own_indicator")
_OTHER = aliased(Indicator, name="other_indicator")


@dataclass(frozen=True)
class Sighted:
    report: IntelReport
    brand: Brand


def counts_for(session: Session, actor: Actor, report: IntelReport) -> dict[int, int]:
    """Per indicator of `report`: how many *other* visible reports name the same value."""
    own = _OWN
    rows = session.exec(
        select(own.id, func.count(func.distinct(Indicator.report_id)))
        .join(
            Indicator,
            (col(Indicator.kind) == own.kind)
            & (col(Indicator.normalised) == own.normalised)
            & (col(Indicator.report_id) != own.report_id),
        )
        .join(IntelReport, col(IntelReport.id) == Indicator.report_id)
        .where(own.report_id == report.id, visible_intel(actor))
        .group_by(col(own.id))
    ).all()
    return {indicator_id: count for indicator_id, count in rows if indicator_id is not None}


def indicators_with_counts(
    session: Session, actor: Actor, report: IntelReport
) -> list[tuple[Indicator, int]]:
    """The report's indicators, each with `counts_for`'s number, in one statement."""
    other = _OTHER
    naming = (
        select(func.count(func.distinct(other.report_id)))
        .join(IntelReport, col(IntelReport.id) == other.report_id)
        .where(
            col(other.kind) == Indicator.kind,
            col(other.normalised) == Indicator.normalised,
            col(other.report_id) != Indicator.report_id,
            visible_intel(actor),
        )
        .scalar_subquery()
    )
    rows = session.exec(
        select(Indicator, naming)
        .where(Indicator.report_id == report.id)
        .order_by(col(Indicator.id))
    ).all()
    return [(indicator, int(count or 0)) for indicator, count in rows]


def reports_naming(
    session: Session, actor: Actor, kind: str, normalised: str, limit: int = 200
) -> list[Sighted]:
    """Every visible report carrying this indicator value, newest first."""
    rows = session.exec(
        select(IntelReport, Brand)
        .join(Brand, col(Brand.id) == IntelReport.brand_id)
        .where(
            col(IntelReport.id).in_(
                select(Indicator.report_id).where(
                    Indicator.kind == kind, Indicator.normalised == normalised
                )
            ),
            visible_intel(actor),
        )
        .order_by(col(IntelReport.id).desc())
        .limit(limit)
    ).all()
    return [Sighted(report, brand) for report, brand in rows]


def notify_matches(session: Session, author: Actor, report: IntelReport) -> int:
    """Tell the authors of both reports when a new report names an indicator already
    reported in the same group, each only about a report they may read."""
    own = _OWN
    matches = session.exec(
        select(IntelReport)
        .where(
            IntelReport.group_id == report.group_id,
            IntelReport.id != report.id,
            col(IntelReport.id).in_(
                select(Indicator.report_id).join(
                    own,
                    (col(own.kind) == Indicator.kind)
                    & (col(own.normalised) == Indicator.normalised)
                    & (col(own.report_id) == report.id),
                )
            ),
        )
        .order_by(col(IntelReport.id))
    ).all()
    sent = 0
    for other in matches:
        if can_see(session, author, other):
            # The author is the one posting (or importing): written as they read the hub now.
            session.add(
                Notification(
                    person_id=author.person_id,
                    kind="intel.match",
                    report_id=other.id,
                    group_id=other.group_id,
                    text=_(
                        "Your report “%(title)s” names an indicator also in “%(other)s”.",
                        title=report.title,
                        other=other.title,
                    ),
                )
            )
            sent += 1
        webhooks.correlation_found(session, report, other)
        other_author = actor_of(session, other.author_id)
        if (
            other_author is not None
            and other.author_id != author.person_id
            and can_see(session, other_author, report)
        ):
            with i18n.presenting(other_author.language, other_author.time_zone):
                text = _(
                    "A new report, “%(title)s”, names an indicator from your report “%(other)s”.",
                    title=report.title,
                    other=other.title,
                )
            session.add(
                Notification(
                    person_id=other.author_id,
                    kind="intel.match",
                    report_id=report.id,
                    group_id=report.group_id,
                    text=text,
                )
            )
            sent += 1
    return sent


def can_see(session: Session, actor: Actor, report: IntelReport) -> bool:
    return (
        session.exec(
            select(IntelReport.id).where(IntelReport.id == report.id, visible_intel(actor))
        ).first()
        is not None
    )


def actor_of(session: Session, person_id: int) -> Actor | None:
    person = session.get(Person, person_id)
    if person is None or not person.is_active:
        return None
    brand = session.get(Brand, person.brand_id)
    return load_actor(session, person, brand) if brand is not None else None


_EARLIER = aliased(IntelReport, name="earlier_report")
_EARLIER_INDICATOR = aliased(Indicator, name="earlier_indicator")
OPEN_MARKINGS = ("clear", "green")


def matches_earlier_report() -> Any:
    """Whether a report names a seller, listing or trace that another brand reported
    before it, where the report's own group may see it: in a TLP:CLEAR or GREEN report,
    or an AMBER one of the same group; never hidden (a match with an AMBER+STRICT or RED
    report, or with another group's AMBER one, is that report's secret)."""
    return exists(
        select(col(Indicator.id))
        .join(
            _EARLIER_INDICATOR,
            and_(
                col(_EARLIER_INDICATOR.kind) == Indicator.kind,
                col(_EARLIER_INDICATOR.normalised) == Indicator.normalised,
            ),
        )
        .join(_EARLIER, col(_EARLIER.id) == _EARLIER_INDICATOR.report_id)
        .where(
            col(Indicator.report_id) == IntelReport.id,
            col(_EARLIER.brand_id) != IntelReport.brand_id,
            col(_EARLIER.id) < IntelReport.id,
            or_(
                col(_EARLIER.tlp).in_(OPEN_MARKINGS),
                and_(
                    col(_EARLIER.tlp) == "amber",
                    col(_EARLIER.group_id) == IntelReport.group_id,
                ),
            ),
            col(_EARLIER.hidden_reason) == "",
        )
    )


def mark_correlated(session: Session, report_ids: Sequence[int]) -> None:
    """Record, for reports just posted, edited or imported into, whether they match an
    earlier report of another brand. A later change to that earlier report (hidden,
    marked RED) does not undo the match: it was found when it was found."""
    for start in range(0, len(report_ids), 1000):
        chunk = list(report_ids[start : start + 1000])
        session.execute(
            sa_update(IntelReport)
            .where(col(IntelReport.id).in_(chunk))
            .values(correlated=matches_earlier_report())
            .execution_options(synchronize_session=False)
        )
