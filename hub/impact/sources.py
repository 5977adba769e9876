"""The kinds of rows the impact figures count (reports, confirmations, correlations,
takedown requests, test purchases, referrals, member brands) and, for each, who may have
it counted and who may open it.

A figure counts a row when the viewer may read it, or when the row is marked at most
TLP:AMBER (a number reveals nothing of it); AMBER+STRICT and RED rows, and hidden ones,
count only for those who may read them (hub.policy.intel_counted_for_readers). The rows behind a
number are listed only where the viewer may read them, so a number may say "and 4 more
from working groups you are not in" but never show one of them.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from babel.support import LazyProxy
from sqlalchemy import ColumnElement, and_, case, literal, or_, select, true
from sqlalchemy.orm import aliased
from sqlmodel import col

from hub.clock import utcnow
from hub.groups.models import GroupMembership
from hub.i18n import lazy_gettext
from hub.impact.models import Referral
from hub.intel.models import (
    IntelReport,
    Sighting,
    SightingKind,
    Takedown,
    TakedownOutcome,
    Tlp,
)
from hub.members.models import Brand, OrgKind
from hub.policy import (
    Actor,
    intel_counted_for_all,
    intel_counted_for_readers,
    referrals_counted_for_all,
    referrals_counted_for_readers,
    visible_intel,
    visible_purchases,
    visible_referrals,
)
from hub.testbuys.models import Campaign, CampaignStatus, Purchase, Verdict

# A label defined at import: translated each time it is shown (str() it where a str is due).
Label = str | LazyProxy
DAY_SECONDS = 24 * 3600
EXAMINED = (Verdict.genuine, Verdict.counterfeit, Verdict.grey_market)


@dataclass(frozen=True)
class Measure:
    """What a figure adds up over a source's rows: the rows matching `when` (all if None),
    counted, or their `value` summed."""

    when: Callable[[], ColumnElement[bool]] | None = None
    value: Any = None


@dataclass(frozen=True)
class Column:
    heading: Label
    expr: Any
    kind: str = "text"  # text, time, day, money, number, group, country, tlp


@dataclass(frozen=True)
class Source:
    name: str
    noun: Label  # what one row is, for "12 reports you may open"
    entity: Any
    at: Any  # the time that puts a row in a period
    joins: tuple[tuple[Any, Any], ...]
    group: Any  # the working group a row belongs to
    dims: dict[str, Any]  # breakdowns: group, country, marketplace, status, currency
    measures: dict[str, Measure]
    # Rows every viewer's figures count (the same for all, so they may be kept a while),
    # and the rows only some viewers' figures count besides (kept for each viewer apart).
    shared: Callable[[], ColumnElement[bool]]
    readable: Callable[[Actor], ColumnElement[bool]]
    title: Any  # a row's title in a list
    link: str  # "/intel/{}" filled with the row's `key`
    key: Any  # what its page is found by
    columns: tuple[Column, ...]
    where: Callable[[], tuple[ColumnElement[bool], ...]] = field(default=lambda: ())
    personal: Callable[[Actor], ColumnElement[bool]] | None = None
    uses_days: bool = False  # `at` is a date, not a time
    cumulative: bool = False  # a figure as it stands at the period's end (member brands)

    def countable(self, actor: Actor) -> ColumnElement[bool]:
        shared = self.shared()
        return or_(shared, self.personal(actor)) if self.personal else shared

    def select_from(self, *columns: Any) -> Any:
        query = select(*columns).select_from(self.entity)
        for table, on in self.joins:
            query = query.join(table, on)
        return query.where(*self.where())


_AUTHOR_BRAND = aliased(Brand, name="author_brand")
_CONFIRMING_BRAND = aliased(Brand, name="confirming_brand")


# How far a row's words may travel: a row marked AMBER names its marketplace only to its
# own group (hub.impact.figures masks it for the others).
_MARKING = case(
    (col(IntelReport.tlp).in_([Tlp.clear, Tlp.green]), "open"),
    (col(IntelReport.tlp) == Tlp.amber, "amber"),
    else_="restricted",
)
OTHER_GROUPS = "\x00other-groups"  # a marketplace shown only as "other working groups"


def _report_columns() -> tuple[Column, ...]:
    return (
        Column(lazy_gettext("Working group"), IntelReport.group_id, "group"),
        Column(lazy_gettext("Brand"), _AUTHOR_BRAND.name),
        Column(lazy_gettext("Marketplace"), IntelReport.marketplace),
        Column(lazy_gettext("Marking"), IntelReport.tlp, "tlp"),
        Column(lazy_gettext("Posted"), IntelReport.created_at, "time"),
    )


REPORTS = Source(
    name="reports",
    noun=lazy_gettext("reports"),
    entity=IntelReport,
    at=IntelReport.created_at,
    joins=((_AUTHOR_BRAND, col(_AUTHOR_BRAND.id) == IntelReport.brand_id),),
    group=IntelReport.group_id,
    dims={"group": IntelReport.group_id, "country": _AUTHOR_BRAND.country},
    measures={"reports": Measure()},
    shared=intel_counted_for_all,
    personal=intel_counted_for_readers,
    readable=visible_intel,
    title=IntelReport.title,
    link="/intel/{}",
    key=IntelReport.id,
    columns=_report_columns(),
)


def _insiders_reading(actor: Actor) -> ColumnElement[bool]:
    """A report listed as matching an earlier one tells of that one, which may be an AMBER
    report of its group: only the group's insiders see which reports match; others get
    the number."""
    insiders = sorted(actor.group_ids | actor.coordinated_group_ids)
    in_group = true() if actor.is_alliance_admin else col(IntelReport.group_id).in_(insiders)
    return and_(visible_intel(actor), in_group)


CORRELATIONS = Source(
    name="correlations",
    noun=lazy_gettext("reports matching another brand's"),
    entity=IntelReport,
    at=IntelReport.created_at,
    joins=((_AUTHOR_BRAND, col(_AUTHOR_BRAND.id) == IntelReport.brand_id),),
    group=IntelReport.group_id,
    dims={"group": IntelReport.group_id},
    measures={"correlations": Measure()},
    shared=intel_counted_for_all,
    personal=intel_counted_for_readers,
    readable=_insiders_reading,
    title=IntelReport.title,
    link="/intel/{}",
    key=IntelReport.id,
    columns=_report_columns(),
    where=lambda: (col(IntelReport.correlated).is_(True),),
)

CONFIRMATIONS = Source(
    name="confirmations",
    noun=lazy_gettext("confirmations"),
    entity=Sighting,
    at=Sighting.created_at,
    joins=(
        (IntelReport, col(IntelReport.id) == Sighting.report_id),
        (_CONFIRMING_BRAND, col(_CONFIRMING_BRAND.id) == Sighting.brand_id),
    ),
    group=IntelReport.group_id,
    dims={"group": IntelReport.group_id},
    measures={"confirmations": Measure()},
    shared=intel_counted_for_all,
    personal=intel_counted_for_readers,
    readable=visible_intel,
    title=IntelReport.title,
    link="/intel/{}",
    key=IntelReport.id,
    columns=(
        Column(lazy_gettext("Working group"), IntelReport.group_id, "group"),
        Column(lazy_gettext("Confirmed by"), _CONFIRMING_BRAND.name),
        Column(lazy_gettext("Confirmed on"), Sighting.created_at, "time"),
    ),
    where=lambda: (
        col(Sighting.kind) == SightingKind.seen,
        col(Sighting.brand_id) != IntelReport.brand_id,
    ),
)


def _decided() -> ColumnElement[bool]:
    """A request whose 24 hours are over, or that ended sooner: one still with the
    marketplace and younger than a day is neither in time nor late yet."""
    return or_(
        col(Takedown.outcome) != TakedownOutcome.pending,
        col(Takedown.filed_at) <= utcnow() - timedelta(seconds=DAY_SECONDS),
    )


def _removed() -> ColumnElement[bool]:
    return col(Takedown.outcome) == TakedownOutcome.taken_down


def _within_a_day() -> ColumnElement[bool]:
    return and_(_removed(), col(Takedown.handling_seconds) <= DAY_SECONDS)


TAKEDOWNS = Source(
    name="takedowns",
    noun=lazy_gettext("takedown requests"),
    entity=Takedown,
    at=Takedown.filed_at,
    joins=(
        (IntelReport, col(IntelReport.id) == Takedown.report_id),
        (_AUTHOR_BRAND, col(_AUTHOR_BRAND.id) == IntelReport.brand_id),
    ),
    group=IntelReport.group_id,
    dims={
        "group": IntelReport.group_id,
        "marketplace": IntelReport.marketplace,
        "marking": _MARKING,
    },
    measures={
        "requests": Measure(),
        "removed": Measure(_removed),
        "decided": Measure(_decided),
        "within_24h": Measure(_within_a_day),
        "handling_seconds": Measure(_removed, Takedown.handling_seconds),
    },
    shared=intel_counted_for_all,
    personal=intel_counted_for_readers,
    readable=visible_intel,
    title=IntelReport.title,
    link="/intel/{}",
    key=IntelReport.id,
    columns=(
        Column(lazy_gettext("Working group"), IntelReport.group_id, "group"),
        Column(lazy_gettext("Marketplace"), IntelReport.marketplace),
        Column(lazy_gettext("Notice filed on"), Takedown.filed_at, "time"),
        Column(lazy_gettext("Outcome"), Takedown.outcome, "outcome"),
        Column(lazy_gettext("Handled in"), Takedown.handling_seconds, "duration"),
    ),
)


def _published_campaign() -> ColumnElement[bool]:
    """Other brands see a campaign's counts, never its purchases: every purchase of a
    published campaign counts for everyone."""
    return col(Campaign.status) != CampaignStatus.draft


def _counterfeit() -> ColumnElement[bool]:
    return col(Purchase.verdict) == Verdict.counterfeit


def _examined() -> ColumnElement[bool]:
    return col(Purchase.verdict).in_(EXAMINED)


_BUYING_BRAND = aliased(Brand, name="buying_brand")

PURCHASES = Source(
    name="purchases",
    noun=lazy_gettext("test purchases"),
    entity=Purchase,
    at=Purchase.verdict_at,
    joins=(
        (Campaign, col(Campaign.id) == Purchase.campaign_id),
        (_BUYING_BRAND, col(_BUYING_BRAND.id) == Purchase.brand_id),
    ),
    group=Campaign.group_id,
    dims={"group": Campaign.group_id},
    measures={
        "test_buys": Measure(),
        "examined": Measure(_examined),
        "counterfeit": Measure(_counterfeit),
    },
    shared=_published_campaign,
    readable=visible_purchases,
    title=Purchase.product,
    link="/testbuys/purchases/{}",
    key=Purchase.id,
    columns=(
        Column(lazy_gettext("Working group"), Campaign.group_id, "group"),
        Column(lazy_gettext("Campaign"), Campaign.title),
        Column(lazy_gettext("Bought for"), _BUYING_BRAND.name),
        Column(lazy_gettext("Marketplace"), Purchase.marketplace),
        Column(lazy_gettext("Verdict"), Purchase.verdict, "verdict"),
        Column(lazy_gettext("Verdict given on"), Purchase.verdict_at, "time"),
    ),
    where=lambda: (col(Purchase.verdict) != "", col(Purchase.verdict_at).is_not(None)),
)


REFERRALS = Source(
    name="referrals",
    noun=lazy_gettext("referrals"),
    entity=Referral,
    at=Referral.sent_on,
    joins=(),
    group=Referral.group_id,
    dims={
        "group": Referral.group_id,
        "country": Referral.country,
        "status": Referral.status,
        "currency": Referral.goods_currency,
    },
    measures={
        "referrals": Measure(),
        "arrests": Measure(None, Referral.suspects_arrested),
        "facilities": Measure(None, Referral.facilities_closed),
        "goods_seized": Measure(None, Referral.goods_seized),
        "goods_value": Measure(None, Referral.goods_value),
    },
    shared=referrals_counted_for_all,
    personal=referrals_counted_for_readers,
    readable=visible_referrals,
    title=Referral.agency,
    link="/referrals/{}",
    key=Referral.id,
    columns=(
        Column(lazy_gettext("Working group"), Referral.group_id, "group"),
        Column(lazy_gettext("Country"), Referral.country, "country"),
        Column(lazy_gettext("Jurisdiction"), Referral.jurisdiction),
        Column(lazy_gettext("Date sent"), Referral.sent_on, "day"),
        Column(lazy_gettext("Status"), Referral.status, "referral_status"),
        Column(lazy_gettext("Arrested"), Referral.suspects_arrested, "number"),
        Column(lazy_gettext("Facilities closed"), Referral.facilities_closed, "number"),
        Column(lazy_gettext("Items seized"), Referral.goods_seized, "number"),
        Column(lazy_gettext("Value"), Referral.goods_value, "money"),
        Column(lazy_gettext("Currency"), Referral.goods_currency),
    ),
    uses_days=True,
)


def _anyone(_actor: Actor) -> ColumnElement[bool]:
    return true()


BRANDS = Source(
    name="brands",
    noun=lazy_gettext("member brands"),
    entity=Brand,
    at=Brand.created_at,
    joins=(),
    group=literal(None),
    dims={"country": Brand.country},
    measures={"brands": Measure()},
    shared=true,
    readable=_anyone,
    title=Brand.name,
    link="/brands/{}",
    key=Brand.slug,
    columns=(
        Column(lazy_gettext("Country"), Brand.country, "country"),
        Column(lazy_gettext("Joined on"), Brand.created_at, "time"),
    ),
    where=lambda: (col(Brand.kind) == OrgKind.brand,),
    cumulative=True,
)

# A working group's member brands, as of when each joined the group.
GROUP_BRANDS = Source(
    name="group_brands",
    noun=lazy_gettext("member brands"),
    entity=GroupMembership,
    at=GroupMembership.joined_at,
    joins=((Brand, col(Brand.id) == GroupMembership.brand_id),),
    group=GroupMembership.group_id,
    dims={"group": GroupMembership.group_id, "country": Brand.country},
    measures={"brands": Measure()},
    shared=true,
    readable=_anyone,
    title=Brand.name,
    link="/brands/{}",
    key=Brand.slug,
    columns=(
        Column(lazy_gettext("Country"), Brand.country, "country"),
        Column(lazy_gettext("Joined the group on"), GroupMembership.joined_at, "time"),
    ),
    where=lambda: (col(Brand.kind) == OrgKind.brand,),
    cumulative=True,
)

SOURCES: dict[str, Source] = {
    source.name: source
    for source in (
        REPORTS,
        CONFIRMATIONS,
        CORRELATIONS,
        TAKEDOWNS,
        PURCHASES,
        REFERRALS,
        BRANDS,
        GROUP_BRANDS,
    )
}
