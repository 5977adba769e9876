"""The impact figures against a year counted by hand: a fixed data set over last year's four
quarters, kept as plain specs here; every number of the dashboard, its CSV, the rows behind
each number and the annual report is worked out from those specs in Python (never with SQL
or the hub's code) for viewers of every kind, and compared. Restricted rows carry canary
strings that must reach their rightful readers and nobody else."""

import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlmodel import Session, col, select

from hub import i18n
from hub.app import create_app
from hub.clock import as_utc, utcnow
from hub.config import Settings
from hub.groups.models import GroupMembership
from hub.impact import figures
from hub.impact.models import Referral
from hub.impact.periods import Period
from hub.impact.snapshot import SharedFigures
from hub.impact.sources import OTHER_GROUPS
from hub.intel import discussion, moderation, service
from hub.intel.models import IntelReport, Sighting, SightingKind, Status, Takedown, Tlp
from hub.members.models import Brand, OrgKind, Person, Role
from hub.testbuys.models import Purchase, Verdict
from tests import factories
from tests.conftest import ClientAs, World, _bound_session
from tests.impact.factories import judge, make_referral, record_outcome
from tests.intel.factories import actor_of, make_report
from tests.testbuys.factories import make_campaign, make_purchase, sign_up

Y = utcnow().year - 1  # a year that is over
Number = int | Decimal


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --- The data set, as plain specs ----------------------------------------------------------

# Who is who: a person's brand, and a brand's working groups come from BRANDS below.
PEOPLE = {
    "member_a": "brand_a",
    "admin_a": "brand_a",
    "member_b": "brand_b",
    "admin_b": "brand_b",  # made here: the world has no brand admin of B
    "member_c": "brand_c",
    "admin_c": "brand_c",
    "coordinator": "secretariat",
    "alliance_admin": "secretariat",
}
COORDINATES = {"coordinator": frozenset({"apparel"})}
ALLIANCE_ADMINS = {"alliance_admin"}


@dataclass(frozen=True)
class BrandSpec:
    key: str
    name: str
    country: str
    created: datetime
    joined: dict[str, datetime] = field(default_factory=dict)  # working group -> joined_at
    kind: str = OrgKind.brand


BRANDS = [
    BrandSpec("secretariat", "Secretariat", "BE", at(Y - 1, 1, 1), kind=OrgKind.alliance),
    BrandSpec("brand_a", "Brand A", "FR", at(Y - 2, 6, 1, 10), {"apparel": at(Y - 2, 6, 2)}),
    BrandSpec("brand_b", "Brand B", "IT", at(Y, 1, 5), {"apparel": at(Y, 1, 6)}),
    BrandSpec("brand_c", "Brand C", "US", at(Y, 3, 1), {"toys": at(Y, 3, 2)}),
    # Joins toys as the second quarter starts; apparel only as the year is over.
    BrandSpec(
        "brand_d",
        "Brand D",
        "DE",
        at(Y, 2, 14),
        {"toys": at(Y, 4, 1), "apparel": at(Y + 1, 1, 1)},
    ),
    BrandSpec("brand_e", "Brand E", "CN", at(Y + 1, 1, 1), {"toys": at(Y + 1, 1, 1)}),
    BrandSpec("brand_f", "Brand F", "CN", at(Y, 12, 31, 23, 59, 59)),
]
BRAND = {brand.key: brand for brand in BRANDS}

# Canaries: unique words in the restricted rows' titles, marketplaces and agencies.
CANARY = "zq"  # every canary word begins so; no other word on the pages does


@dataclass(frozen=True)
class ReportSpec:
    key: str
    author: str
    group: str
    tlp: str
    marketplace: str
    created: datetime
    indicators: tuple[tuple[str, str], ...] = ()
    recipients: tuple[str, ...] = ()
    hidden: bool = False
    canary: bool = False

    @property
    def title(self) -> str:
        return f"{CANARY}-{self.key}-title" if self.canary else f"Report {self.key} ({self.tlp})"

    @property
    def brand(self) -> str:
        return PEOPLE[self.author]


def _market(key: str) -> str:
    return f"{CANARY}-{key}-market"


SHOP_ALPHA = ("shop_name", "Alpha Shop")
SHOP_CHARLIE = ("shop_name", "Charlie Store")
SHOP_DELTA = ("shop_name", "Delta Traders")
SHOP_ECHO = ("shop_name", "Echo Goods")
SELLER_BRAVO = ("seller_id", "seller-bravo")
SELLER_FOXTROT = ("seller_id", "seller-foxtrot")

A, T = "apparel", "toys"
CLEAR, GREEN, AMBER, STRICT, RED = Tlp.clear, Tlp.green, Tlp.amber, Tlp.amber_strict, Tlp.red

# Made in this order (a correlation is with a report made before).
# fmt: off
REPORTS = [
    #          key    author      group marking marketplace     posted
    ReportSpec("R0",  "member_a", A, GREEN,  "Shopee",      at(Y - 1, 12, 31, 23, 59, 59)),
    ReportSpec("R1",  "member_a", A, CLEAR,  "Shopee",      at(Y, 1, 1), (SHOP_ALPHA,)),
    ReportSpec("R2",  "member_b", A, GREEN,  "Lazada",      at(Y, 2, 20, 9), (SELLER_BRAVO,)),
    ReportSpec("R3",  "member_a", A, AMBER,  _market("R3"), at(Y, 3, 31, 23, 59, 59),
               (SHOP_CHARLIE, SELLER_FOXTROT), canary=True),
    ReportSpec("R4",  "member_b", A, STRICT, _market("R4"), at(Y, 4, 1), canary=True),
    ReportSpec("R5",  "member_b", A, RED,    _market("R5"), at(Y, 5, 10, 12), (SHOP_DELTA,),
               recipients=("admin_c",), canary=True),
    ReportSpec("R6",  "member_c", T, CLEAR,  "Amazon",      at(Y, 6, 15)),
    ReportSpec("R7",  "member_c", T, AMBER,  _market("R7"), at(Y, 7, 1), canary=True),
    ReportSpec("R8",  "member_c", T, STRICT, _market("R8"), at(Y, 8, 15), (SHOP_ALPHA,),
               canary=True),
    ReportSpec("R9",  "member_a", A, GREEN,  _market("R9"), at(Y, 9, 30, 23), (SHOP_ECHO,),
               hidden=True, canary=True),
    # Matches R2 (brand B's): counts.
    ReportSpec("R10", "member_a", A, AMBER,  "Shopee",      at(Y, 10, 5), (SELLER_BRAVO,)),
    # Matches only the TLP:RED R5: counts for nobody.
    ReportSpec("R11", "member_a", A, GREEN,  "Lazada",      at(Y, 10, 20), (SHOP_DELTA,)),
    # Matches apparel's AMBER R3 from the toys board: that report is apparel's secret.
    ReportSpec("R12", "member_c", T, GREEN,  "Amazon",      at(Y, 11, 2), (SHOP_CHARLIE,)),
    # Matches its own brand's R1 and the STRICT R8: counts for nobody.
    ReportSpec("R13", "member_a", A, CLEAR,  "",            at(Y, 11, 20), (SHOP_ALPHA,)),
    # Matches only the hidden R9: counts for nobody.
    ReportSpec("R14", "member_b", A, GREEN,  "Shopee",      at(Y, 12, 1), (SHOP_ECHO,)),
    # Matches apparel's AMBER R10 (brand A's), in the new year.
    ReportSpec("R15", "member_b", A, AMBER,  "Lazada",      at(Y + 1, 1, 1), (SELLER_BRAVO,)),
    # Posted last, dated in the year: matches its own group's AMBER R3 (brand A's), so
    # counts; listed only to apparel's insiders, though toys may read it.
    ReportSpec("R16", "member_b", A, GREEN,  "Lazada",      at(Y, 12, 10), (SELLER_FOXTROT,)),
]
# fmt: on
REPORT = {report.key: report for report in REPORTS}


@dataclass(frozen=True)
class SightingSpec:
    report: str
    by: str
    at: datetime
    kind: str = SightingKind.seen
    direct: bool = False  # written as a row: the service refuses a brand's own "seen it too"


SIGHTINGS = [
    SightingSpec("R1", "member_b", at(Y, 1, 5)),
    SightingSpec("R2", "admin_a", at(Y, 4, 2)),  # confirmed a quarter after it was posted
    SightingSpec("R1", "member_c", at(Y, 7, 7)),
    SightingSpec("R4", "coordinator", at(Y, 4, 3)),  # on an AMBER+STRICT report
    SightingSpec("R5", "admin_c", at(Y, 5, 12)),  # on a TLP:RED report, by its recipient
    SightingSpec("R2", "member_b", at(Y, 2, 21), direct=True),  # the author's own brand
    SightingSpec("R6", "member_a", at(Y, 6, 20), kind=SightingKind.disputed),
    SightingSpec("R6", "member_b", at(Y, 12, 31, 23, 59, 59)),
    SightingSpec("R9", "member_b", at(Y, 9, 30, 23, 45)),  # on the hidden report
    SightingSpec("R2", "coordinator", at(Y + 1, 1, 1)),  # after the year
]


@dataclass(frozen=True)
class TakedownSpec:
    report: str
    filed: datetime
    hours: float | None  # to the removal; None: not taken down
    closed: datetime | None = None  # ended without a removal; neither: still pending

    @property
    def outcome(self) -> str:
        if self.hours is not None:
            return "taken_down"
        return "not_taken_down" if self.closed is not None else "pending"

    @property
    def seconds(self) -> int:
        return round((self.hours or 0) * 3600)


TAKEDOWNS = [
    TakedownSpec("R0", at(Y - 1, 12, 31, 23, 59, 59), 3),  # filed before the year
    TakedownSpec("R1", at(Y, 1, 2, 8), 5),
    TakedownSpec("R2", at(Y, 2, 21, 8), 24),  # exactly 24 hours: in time
    TakedownSpec("R3", at(Y, 3, 31, 23, 59, 59), 30),  # filed in Q1, down in Q2
    TakedownSpec("R4", at(Y, 4, 2, 10), 20),
    TakedownSpec("R5", at(Y, 5, 11, 10), 1),
    TakedownSpec("R6", at(Y, 6, 16, 10), None, closed=at(Y, 6, 20)),
    TakedownSpec("R7", at(Y, 7, 2, 10), 2),
    TakedownSpec("R8", at(Y, 8, 16), None, closed=at(Y, 8, 20)),
    TakedownSpec("R9", at(Y, 9, 30, 23, 30), 4),
    TakedownSpec("R10", at(Y, 10, 6, 9), 3),  # removed, relisted, and filed again:
    TakedownSpec("R10", at(Y, 10, 20, 10), 50),
    TakedownSpec("R12", at(Y, 12, 30, 10), None),  # still with the marketplace: due
    TakedownSpec("R14", at(Y, 12, 31, 23), 2),  # down only in the new year
]


@dataclass(frozen=True)
class PurchaseSpec:
    key: str
    brand: str
    group: str
    verdict: str
    verdict_at: datetime
    marketplace: str = "Marketplace One"
    canary: bool = False

    @property
    def product(self) -> str:
        return f"{CANARY}-{self.key}-product" if self.canary else f"Handbag {self.key}"

    @property
    def market(self) -> str:
        return _market(self.key) if self.canary else self.marketplace


PURCHASES = [
    PurchaseSpec("P1", "brand_a", "apparel", Verdict.counterfeit, at(Y, 1, 20)),
    PurchaseSpec("P2", "brand_a", "apparel", Verdict.genuine, at(Y, 4, 15), "Marketplace Two"),
    PurchaseSpec("P3", "brand_b", "apparel", Verdict.grey_market, at(Y, 5, 20), canary=True),
    PurchaseSpec("P4", "brand_b", "apparel", Verdict.counterfeit, at(Y, 9, 10)),
    PurchaseSpec("P5", "brand_c", "toys", Verdict.counterfeit, at(Y, 8, 5)),
    PurchaseSpec("P6", "brand_c", "toys", Verdict.not_received, at(Y, 11, 11)),
    PurchaseSpec("P7", "brand_a", "apparel", Verdict.counterfeit, at(Y + 1, 1, 1)),
    PurchaseSpec("P8", "brand_c", "toys", Verdict.genuine, at(Y, 12, 31, 23, 59, 59)),
]
PURCHASE = {purchase.key: purchase for purchase in PURCHASES}
BRAND_ADMIN = {"brand_a": "admin_a", "brand_b": "admin_b", "brand_c": "admin_c"}
RUNNER = {"apparel": "coordinator", "toys": "alliance_admin"}


@dataclass(frozen=True)
class ReferralSpec:
    key: str
    by: str
    group: str
    country: str
    sent_on: date
    reports: tuple[str, ...] = ()
    purchases: tuple[str, ...] = ()
    status: str = "sent"
    arrests: int = 0
    facilities: int = 0
    seized: int = 0
    value: Decimal = Decimal("0.00")
    currency: str = "CNY"
    canary: bool = False

    @property
    def agency(self) -> str:
        return f"{CANARY}-{self.key}-agency" if self.canary else f"Agency {self.key}"


REFERRALS = [
    ReferralSpec("F0", "admin_a", "apparel", "CN", date(Y - 1, 12, 31), ("R2",)),
    ReferralSpec(
        "F1", "admin_a", "apparel", "CN", date(Y, 1, 1), ("R1",), ("P1",), "raid_done",
        3, 1, 500, Decimal("120000.50"), "CNY",
    ),
    # Drawn on an apparel TLP:AMBER report: counted by everyone, read by apparel.
    ReferralSpec(
        "F2", "coordinator", "apparel", "TH", date(Y, 4, 20), ("R3",), (), "prosecuted",
        2, 0, 40, Decimal("8000.00"), "EUR", canary=True,
    ),
    # Drawn on an AMBER+STRICT report: counted only by those who may read it.
    ReferralSpec(
        "F3", "admin_b", "apparel", "PE", date(Y, 7, 15), ("R4",), (), "raid_done",
        5, 2, 1000, Decimal("30000.00"), "EUR", canary=True,
    ),
    ReferralSpec(
        "F4", "admin_c", "toys", "CN", date(Y, 10, 10), ("R6",), ("P5",), "raid_done",
        1, 1, 200, Decimal("15000.00"), "CNY",
    ),
    ReferralSpec(
        "F5", "admin_c", "toys", "VN", date(Y, 12, 31), ("R7",), (), "accepted", canary=True
    ),
    # Drawn on brand B's purchase only: counted by everyone, read by B and the runners.
    ReferralSpec(
        "F6", "admin_b", "apparel", "CN", date(Y, 6, 30), (), ("P3",), "raid_done",
        0, 1, 300, Decimal("5000.00"), "CNY", canary=True,
    ),
]  # fmt: skip
# The country only F3 is sent to: a name only its readers may meet.
F3_COUNTRY_NAME = "Peru"

GROUPS = {"apparel": ("apparel-t", "Apparel (test)"), "toys": ("toys-t", "Toys (test)")}
COUNTRY_NAMES = {
    "BE": "Belgium",
    "CN": "China",
    "DE": "Germany",
    "FR": "France",
    "IT": "Italy",
    "PE": "Peru",
    "TH": "Thailand",
    "US": "United States",
    "VN": "Vietnam",
}
STATUS_NAMES = {
    "sent": "Sent",
    "accepted": "Accepted by the agency",
    "raid_done": "Raid done",
    "prosecuted": "Prosecuted",
    "closed_no_action": "Closed without action",
}


# --- Who may read and who may count, per the rules (ARCHITECTURE.md, hub.impact.sources) ---


@dataclass(frozen=True)
class Viewer:
    person: str

    @property
    def brand(self) -> str:
        return PEOPLE[self.person]

    @property
    def groups(self) -> frozenset[str]:
        return frozenset(BRAND[self.brand].joined)

    @property
    def coordinates(self) -> frozenset[str]:
        return COORDINATES.get(self.person, frozenset())

    @property
    def alliance_admin(self) -> bool:
        return self.person in ALLIANCE_ADMINS


def reads_report(viewer: Viewer, report: ReportSpec) -> bool:
    if report.author == viewer.person:
        return True
    if report.hidden and report.group not in viewer.coordinates:
        return False
    if report.tlp in (Tlp.clear, Tlp.green):
        return True
    if report.tlp == Tlp.amber:
        return (
            report.group in viewer.groups
            or report.group in viewer.coordinates
            or viewer.alliance_admin
        )
    if report.tlp == Tlp.amber_strict:
        return report.brand == viewer.brand or report.group in viewer.coordinates
    return viewer.person in report.recipients


def counts_report(viewer: Viewer, report: ReportSpec) -> bool:
    """Never hidden; up to AMBER as a number for anyone; STRICT and RED for their readers."""
    if report.hidden:
        return False
    return report.tlp in (Tlp.clear, Tlp.green, Tlp.amber) or reads_report(viewer, report)


def reads_purchase(viewer: Viewer, purchase: PurchaseSpec) -> bool:
    return (
        viewer.alliance_admin
        or purchase.group in viewer.coordinates
        or purchase.brand == viewer.brand
    )


def reads_referral(viewer: Viewer, referral: ReferralSpec) -> bool:
    return all(reads_report(viewer, REPORT[r]) for r in referral.reports) and all(
        reads_purchase(viewer, PURCHASE[p]) for p in referral.purchases
    )


def counts_referral(viewer: Viewer, referral: ReferralSpec) -> bool:
    restricted = any(
        REPORT[r].tlp in (Tlp.amber_strict, Tlp.red) or REPORT[r].hidden for r in referral.reports
    )
    return reads_referral(viewer, referral) or not restricted


def _anyone(_viewer: Viewer) -> bool:
    return True


def _nobody(_viewer: Viewer) -> bool:
    return False


# --- The rows each figure counts, worked out from the specs --------------------------------

# The one marketplace a viewer sees for every row whose marketplace is not theirs to know.
NOT_IN = "(in working groups you are not in)"


@dataclass(frozen=True)
class Fact:
    """One row of a kind the figures count: when it falls, its breakdowns, and for each
    figure over it whether the figure counts it and with what value."""

    source: str
    when: datetime | date
    group: str | None
    dims: dict[str, str]
    measures: dict[str, tuple[bool, Number]]
    counts: Callable[[Viewer], bool]
    reads: Callable[[Viewer], bool]
    title: str
    hides_marketplace: Callable[[Viewer], bool] = _nobody

    def dim(self, name: str, viewer: Viewer) -> str | None:
        """A breakdown's value as this viewer's figures have it."""
        if name == "marketplace" and self.hides_marketplace(viewer):
            return NOT_IN
        return self.dims.get(name)


def _report_rule(report: ReportSpec) -> tuple[Callable[[Viewer], bool], Callable[[Viewer], bool]]:
    return (lambda v: counts_report(v, report)), (lambda v: reads_report(v, report))


def insider(viewer: Viewer, group: str) -> bool:
    """A member brand of the working group, its coordinator, or an alliance admin."""
    return group in viewer.groups or group in viewer.coordinates or viewer.alliance_admin


def _correlates(report: ReportSpec) -> bool:
    """It names an indicator that another brand's earlier report named too, where that
    report is not hidden and is CLEAR or GREEN, or AMBER of the same working group (a match
    with another group's AMBER, a STRICT or a RED report is that report's secret). No
    report of the specs is changed after a later one is posted."""
    earlier = REPORTS[: REPORTS.index(report)]
    return any(
        other.brand != report.brand
        and not other.hidden
        and (
            other.tlp in (Tlp.clear, Tlp.green)
            or (other.tlp == Tlp.amber and other.group == report.group)
        )
        and set(other.indicators) & set(report.indicators)
        for other in earlier
    )


def _hides_marketplace(report: ReportSpec) -> Callable[[Viewer], bool]:
    """An AMBER report's marketplace is its group's to know: the others count its rows under
    one label for every group they are not in."""
    return lambda v: report.tlp == Tlp.amber and not report.hidden and not insider(v, report.group)


def build_facts() -> list[Fact]:
    facts: list[Fact] = []
    for report in REPORTS:
        counts, reads = _report_rule(report)
        country = BRAND[report.brand].country
        facts.append(
            Fact(
                "reports",
                report.created,
                report.group,
                {"group": report.group, "country": country},
                {"reports": (True, 1)},
                counts,
                reads,
                report.title,
            )
        )
        if _correlates(report):
            facts.append(
                Fact(
                    "correlations",
                    report.created,
                    report.group,
                    {"group": report.group},
                    {"correlations": (True, 1)},
                    counts,
                    # Which reports match tells of the earlier ones: listed to the insiders.
                    lambda v, r=report: reads_report(v, r) and insider(v, r.group),
                    report.title,
                )
            )
    for sighting in SIGHTINGS:
        report = REPORT[sighting.report]
        confirming = PEOPLE[sighting.by]
        if sighting.kind != SightingKind.seen or confirming == report.brand:
            continue
        counts, reads = _report_rule(report)
        facts.append(
            Fact(
                "confirmations",
                sighting.at,
                report.group,
                {"group": report.group},
                {"confirmations": (True, 1)},
                counts,
                reads,
                report.title,
            )
        )
    now = utcnow()
    for takedown in TAKEDOWNS:
        report = REPORT[takedown.report]
        counts, reads = _report_rule(report)
        removed = takedown.outcome == "taken_down"
        due = takedown.outcome != "pending" or takedown.filed <= now - timedelta(hours=24)
        facts.append(
            Fact(
                "takedowns",
                takedown.filed,
                report.group,
                {"group": report.group, "marketplace": report.marketplace},
                {
                    "takedown_requests": (True, 1),
                    "takedowns": (removed, 1),
                    "takedowns_decided": (due, 1),
                    "within_24h": (removed and takedown.seconds <= 24 * 3600, 1),
                    "handling_seconds": (removed, takedown.seconds),
                },
                counts,
                reads,
                report.title,
                _hides_marketplace(report),
            )
        )
    for purchase in PURCHASES:
        examined = purchase.verdict in (Verdict.genuine, Verdict.counterfeit, Verdict.grey_market)
        facts.append(
            Fact(
                "purchases",
                purchase.verdict_at,
                purchase.group,
                {"group": purchase.group},
                {
                    "test_buys": (True, 1),
                    "examined": (examined, 1),
                    "counterfeits": (purchase.verdict == Verdict.counterfeit, 1),
                },
                _anyone,  # every purchase of a published campaign counts, as a number
                lambda v, p=purchase: reads_purchase(v, p),
                purchase.product,
            )
        )
    for referral in REFERRALS:
        facts.append(
            Fact(
                "referrals",
                referral.sent_on,
                referral.group,
                {
                    "group": referral.group,
                    "country": referral.country,
                    "status": referral.status,
                    "currency": referral.currency,
                },
                {
                    "referrals": (True, 1),
                    "arrests": (True, referral.arrests),
                    "facilities": (True, referral.facilities),
                    "goods_seized": (True, referral.seized),
                    "goods_value": (True, referral.value),
                },
                lambda v, r=referral: counts_referral(v, r),
                lambda v, r=referral: reads_referral(v, r),
                referral.agency,
            )
        )
    for brand in BRANDS:
        if brand.kind != OrgKind.brand:
            continue
        facts.append(
            Fact(
                "brands",
                brand.created,
                None,
                {"country": brand.country},
                {"brands": (True, 1)},
                _anyone,
                _anyone,
                brand.name,
            )
        )
        for group, joined in brand.joined.items():
            facts.append(
                Fact(
                    "group_brands",
                    joined,
                    group,
                    {"group": group, "country": brand.country},
                    {"brands": (True, 1)},
                    _anyone,
                    _anyone,
                    brand.name,
                )
            )
    return facts


FACTS = build_facts()
SOURCE_OF = {
    "reports": "reports",
    "confirmations": "confirmations",
    "correlations": "correlations",
    "takedown_requests": "takedowns",
    "takedowns": "takedowns",
    "takedowns_decided": "takedowns",
    "within_24h": "takedowns",
    "handling_seconds": "takedowns",
    "test_buys": "purchases",
    "examined": "purchases",
    "counterfeits": "purchases",
    "referrals": "referrals",
    "arrests": "referrals",
    "facilities": "referrals",
    "goods_seized": "referrals",
    "goods_value": "referrals",
    "brands": "brands",
}
CUMULATIVE = {"brands", "group_brands"}


# --- Periods, as the issue defines them: a year of quarters, a quarter of months ------------

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Span:
    year: int
    quarter: int = 0

    @property
    def label(self) -> str:
        return f"Q{self.quarter} {self.year}" if self.quarter else str(self.year)

    @property
    def bounds(self) -> tuple[date, date]:
        if not self.quarter:
            return date(self.year, 1, 1), date(self.year + 1, 1, 1)
        return _month_start(self.year, 3 * self.quarter - 2), _month_start(
            self.year, 3 * self.quarter + 1
        )

    def buckets(self) -> list[tuple[int, str, date, date]]:
        if not self.quarter:
            return [(q, f"Q{q}", *Span(self.year, q).bounds) for q in (1, 2, 3, 4)]
        first = 3 * self.quarter - 2
        return [
            (
                n + 1,
                MONTHS[month - 1],
                _month_start(self.year, month),
                _month_start(self.year, month + 1),
            )
            for n, month in enumerate(range(first, first + 3))
        ]

    def bucket(self, number: int) -> tuple[date, date]:
        return next((start, end) for n, _, start, end in self.buckets() if n == number)


def _month_start(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def _before(when: datetime | date, day: date) -> bool:
    if isinstance(when, datetime):
        return when < datetime(day.year, day.month, day.day, tzinfo=UTC)
    return when < day


@dataclass(frozen=True)
class Counted:
    """What a figure counts for a viewer, and which of those rows the viewer may open."""

    value: Number
    rows: int
    listed: int
    listed_value: Number
    titles: list[str]


@dataclass
class Model:
    """The figures of one viewer, one period and scope, counted from the specs."""

    viewer: Viewer
    span: Span
    scope: str | None = None  # a working group's key

    def facts(self, figure: str, bucket: int | None = None, **only: str) -> list[Fact]:
        source = SOURCE_OF[figure]
        if source == "brands" and self.scope:
            source = "group_brands"
        start, end = self.span.bucket(bucket) if bucket is not None else self.span.bounds
        chosen = []
        for fact in FACTS:
            if fact.source != source or not _before(fact.when, end):
                continue
            if source not in CUMULATIVE and _before(fact.when, start):
                continue
            if self.scope and fact.group != self.scope:
                continue
            if any(fact.dim(dim, self.viewer) != value for dim, value in only.items()):
                continue
            if fact.counts(self.viewer) and fact.measures[figure][0]:
                chosen.append(fact)
        return chosen

    def count(
        self, figure: str, bucket: int | None = None, behind_link: bool = False, **only: str
    ) -> Counted:
        """The figure; `behind_link`: as the page behind its link counts it, where a number
        of one marketplace counts only the rows the viewer may read (that name it to them)."""
        chosen = self.facts(figure, bucket, **only)
        if behind_link and "marketplace" in only:
            chosen = [fact for fact in chosen if fact.reads(self.viewer)]
        listed = [fact for fact in chosen if fact.reads(self.viewer)]
        return Counted(
            value=_sum(fact.measures[figure][1] for fact in chosen),
            rows=len(chosen),
            listed=len(listed),
            listed_value=_sum(fact.measures[figure][1] for fact in listed),
            titles=sorted(fact.title for fact in listed),
        )

    def value(self, figure: str, bucket: int | None = None, **only: str) -> Number:
        return self.count(figure, bucket, **only).value

    def by(self, figure: str, dim: str, **only: str) -> dict[Any, Number]:
        """Every value of the breakdown a counted row has (a row's figure may add 0)."""
        facts = self.facts(_any_row_figure(figure), **only)
        values = {fact.dim(dim, self.viewer) for fact in facts}
        return {value: self.value(figure, **only, **{dim: value}) for value in values}

    def joined(self, bucket: int | None = None) -> int:
        start = self.span.bucket(bucket)[0] if bucket is not None else self.span.bounds[0]
        return sum(1 for fact in self.facts("brands", bucket) if not _before(fact.when, start))


def _any_row_figure(figure: str) -> str:
    """A figure of the same source that counts every row of it."""
    return {
        "takedowns": "takedown_requests",
        "purchases": "test_buys",
        "referrals": "referrals",
    }.get(SOURCE_OF[figure], figure)


def _sum(values: Iterator[Number]) -> Number:
    total: Number = 0
    for value in values:
        total += value
    return total


# --- The data set, made through the services, with the chosen times ------------------------


@dataclass
class Built:
    people: dict[str, Person]
    group_ids: dict[str, int]
    report_ids: dict[str, int]

    def group_key(self, group_id: int) -> str:
        return next(key for key, gid in self.group_ids.items() if gid == group_id)


def _brands(db: Session, world: World) -> dict[str, Brand]:
    made = {
        "secretariat": world.secretariat,
        "brand_a": world.brand_a,
        "brand_b": world.brand_b,
        "brand_c": world.brand_c,
    }
    groups = {"apparel": world.apparel, "toys": world.toys}
    for spec in BRANDS:
        brand = made.get(spec.key) or factories.make_brand(
            db, spec.key.replace("_", "-"), name=spec.name
        )
        made[spec.key] = brand
        brand.country, brand.created_at = spec.country, spec.created
        db.add(brand)
        for group, joined in spec.joined.items():
            key = (groups[group].id or 0, brand.id or 0)
            membership = db.get(GroupMembership, key) or GroupMembership(
                group_id=key[0], brand_id=key[1]
            )
            membership.joined_at = joined
            db.add(membership)
    db.commit()
    return made


def _take_down(db: Session, people: dict[str, Person], reports: dict[str, IntelReport]) -> None:
    for spec in TAKEDOWNS:
        report = reports[spec.report]
        actor = actor_of(db, people[REPORT[spec.report].author])
        if report.status == Status.taken_down:  # relisted, and a new notice filed
            service.change_status(db, actor, report, Status.relisted, "", spec.filed)
        service.change_status(db, actor, report, Status.notice_filed, "", spec.filed)
        if spec.hours is not None:
            removed = spec.filed + timedelta(hours=spec.hours)
            service.change_status(db, actor, report, Status.taken_down, "", removed)
        elif spec.closed is not None:
            service.change_status(db, actor, report, Status.closed, "", spec.closed)


def _sightings(db: Session, people: dict[str, Person], reports: dict[str, IntelReport]) -> None:
    for spec in SIGHTINGS:
        report, person = reports[spec.report], people[spec.by]
        if spec.direct:
            sighting = Sighting(
                report_id=report.id or 0, brand_id=person.brand_id, person_id=person.id or 0
            )
        else:
            sighting = discussion.set_sighting(db, actor_of(db, person), report, spec.kind, "")
        sighting.created_at = spec.at
        db.add(sighting)
        db.commit()


def _purchases(db: Session, world: World, people: dict[str, Person]) -> dict[str, Purchase]:
    groups = {"apparel": world.apparel, "toys": world.toys}
    made: dict[str, Purchase] = {}
    for group in groups:
        runner = people[RUNNER[group]]
        campaign = make_campaign(db, runner, groups[group], slots=8, max_per_brand=3)
        mine = [p for p in PURCHASES if p.group == group]
        for brand, wanted in Counter(p.brand for p in mine).items():
            signup = sign_up(db, people[BRAND_ADMIN[brand]], campaign, wanted)
            for spec in (p for p in mine if p.brand == brand):
                purchase = make_purchase(
                    db,
                    runner,
                    campaign,
                    signup,
                    seller=f"Seller {spec.key}",
                    marketplace=spec.market,
                )
                purchase = judge(db, runner, purchase, campaign, spec.verdict)
                purchase.product, purchase.verdict_at = spec.product, spec.verdict_at
                db.add(purchase)
                db.commit()
                made[spec.key] = purchase
    return made


def _referrals(
    db: Session,
    people: dict[str, Person],
    reports: dict[str, IntelReport],
    purchases: dict[str, Purchase],
) -> None:
    for spec in REFERRALS:
        referral = make_referral(
            db,
            people[spec.by],
            [reports[r] for r in spec.reports],
            [purchases[p] for p in spec.purchases],
            agency=spec.agency,
            country=spec.country,
            sent_on=spec.sent_on,
        )
        if spec.status != "sent":
            record_outcome(
                db,
                people[spec.by],
                referral,
                spec.status,
                arrested=spec.arrests,
                facilities=spec.facilities,
                seized=spec.seized,
                value=spec.value,
                currency=spec.currency,
            )


@pytest.fixture(scope="module")
def built(module_db: Session, module_world: World) -> Built:
    db, world = module_db, module_world
    people: dict[str, Person] = {key: getattr(world, key) for key in PEOPLE if key != "admin_b"}
    people["admin_b"] = factories.make_person(db, world.brand_b, Role.brand_admin, name="Bea Admin")
    _brands(db, world)
    groups = {"apparel": world.apparel, "toys": world.toys}
    reports: dict[str, IntelReport] = {}
    for spec in REPORTS:
        reports[spec.key] = make_report(
            db,
            people[spec.author],
            groups[spec.group],
            spec.tlp,
            title=spec.title,
            indicators=spec.indicators,
            recipients=[people[p] for p in spec.recipients],
            marketplace=spec.marketplace,
        )
        if spec.hidden:  # at once: the later reports meet it hidden
            moderation.hide(db, actor_of(db, world.coordinator), reports[spec.key], "In error.")
    _take_down(db, people, reports)
    _sightings(db, people, reports)
    purchases = _purchases(db, world, people)
    _referrals(db, people, reports, purchases)
    for spec in REPORTS:
        report = reports[spec.key]
        report.created_at = spec.created
        db.add(report)
    db.commit()
    # The figures count the whole database: it must hold the specs' rows and no others.
    assert len(db.exec(select(IntelReport.id)).all()) == len(REPORTS)
    brand_rows = db.exec(select(Brand.id).where(Brand.kind == OrgKind.brand)).all()
    assert len(brand_rows) == sum(1 for b in BRANDS if b.kind == OrgKind.brand)
    assert len(db.exec(select(Referral.id)).all()) == len(REFERRALS)
    return Built(
        people=people,
        group_ids={key: group.id or 0 for key, group in groups.items()},
        report_ids={key: report.id or 0 for key, report in reports.items()},
    )


@pytest.fixture
def connection(built: Built, savepoint: Connection) -> Connection:
    return savepoint


@pytest.fixture(scope="module")
def module_app(settings: Settings, engine: Engine, module_connection: Connection) -> FastAPI:
    """One app for the module, on the module's connection (each test's savepoint): its
    templates are compiled once, not once per test."""
    app = create_app(settings, engine)
    app.state.session_factory = lambda: _bound_session(module_connection)
    return app


@pytest.fixture
def app(module_app: FastAPI, connection: Connection) -> FastAPI:
    module_app.state.shared_figures = SharedFigures(module_app.state.settings.impact_cache_ttl)
    return module_app


@pytest.fixture
def world(module_world: World) -> World:
    return module_world


def test_the_data_set_is_made_as_specified(db: Session, built: Built) -> None:
    """The rows carry the specs' times: the figures below depend on them."""
    for report_spec in REPORTS:
        report = db.get(IntelReport, built.report_ids[report_spec.key])
        assert report is not None
        assert as_utc(report.created_at) == report_spec.created
        assert report.is_hidden == report_spec.hidden
        assert report.correlated == _correlates(report_spec), report_spec.key
    for purchase in db.exec(select(Purchase)).all():
        purchase_spec = next(p for p in PURCHASES if p.product == purchase.product)
        assert purchase.verdict == purchase_spec.verdict
        assert purchase.verdict_at is not None
        assert as_utc(purchase.verdict_at) == purchase_spec.verdict_at
    for referral in db.exec(select(Referral)).all():
        referral_spec = next(r for r in REFERRALS if r.agency == referral.agency)
        assert (referral.sent_on, referral.status, referral.goods_value) == (
            referral_spec.sent_on,
            referral_spec.status,
            referral_spec.value,
        )
    assert len(db.exec(select(Sighting)).all()) == len(SIGHTINGS)
    takedowns = db.exec(select(Takedown).order_by(col(Takedown.filed_at))).all()
    assert [(as_utc(t.filed_at), t.outcome, t.handling_seconds) for t in takedowns] == [
        (s.filed, s.outcome, s.seconds if s.outcome == "taken_down" else None)
        for s in sorted(TAKEDOWNS, key=lambda s: s.filed)
    ]


# --- Who looks ------------------------------------------------------------------------------

# A member of apparel, a member of toys, the TLP:RED report's recipient (of toys), the
# apparel coordinator, an alliance admin, and the author of the restricted apparel rows.
VIEWERS = ["member_a", "member_c", "admin_c", "coordinator", "alliance_admin", "member_b"]
INSIDERS = {
    "apparel": ["member_a", "coordinator", "alliance_admin", "member_b"],
    "toys": ["member_c", "admin_c", "alliance_admin"],
}
DIMS = {
    # Each kind of row broken down only as a chart shows it.
    "reports": ("group", "country"),
    "confirmations": ("group",),
    "correlations": ("group",),
    "takedowns": ("group", "marketplace"),
    "purchases": ("group",),
    "referrals": ("group", "country", "status", "currency"),
}
SHARE_PARTS = {
    "within_24h_share": ("within_24h", "takedowns_decided"),
    "counterfeit_rate": ("counterfeits", "examined"),
}


def test_a_match_found_stays_when_the_earlier_report_changes(
    db: Session, built: Built, world: World
) -> None:
    """R16 matched apparel's AMBER R3 when it was posted: hiding R3 afterwards does not undo
    that, though a report posted after the hiding finds no match in R3."""
    earlier = db.get(IntelReport, built.report_ids["R3"])
    assert earlier is not None
    moderation.hide(db, actor_of(db, built.people["coordinator"]), earlier, "Checked again.")
    later = make_report(
        db, built.people["member_b"], world.apparel, Tlp.green, indicators=[SELLER_FOXTROT]
    )
    db.expire_all()
    r16, after = db.get(IntelReport, built.report_ids["R16"]), db.get(IntelReport, later.id)
    assert r16 is not None and after is not None
    assert (r16.correlated, after.correlated) == (True, False)
    actor = actor_of(db, built.people["member_b"])
    counted = figures.compute(db, actor, Period(Y), None).total("correlations")
    assert counted == Model(Viewer("member_b"), Span(Y)).value("correlations")


def test_the_rules_are_those_of_the_sharing_table() -> None:
    """The hand-written rules say what ARCHITECTURE.md's table says, for the canary rows."""
    readers = {
        key: {person for person in PEOPLE if reads_report(Viewer(person), REPORT[key])}
        for key in ("R3", "R4", "R5", "R7", "R8", "R9")
    }
    assert readers["R3"] == {
        "member_a", "admin_a", "member_b", "admin_b", "coordinator", "alliance_admin"
    }  # fmt: skip
    assert readers["R4"] == {"member_b", "admin_b", "coordinator"}
    assert readers["R5"] == {"member_b", "admin_c"}
    assert readers["R7"] == {"member_c", "admin_c", "alliance_admin"}
    assert readers["R8"] == {"member_c", "admin_c"}
    assert readers["R9"] == {"member_a", "coordinator"}  # but hidden: counted for nobody
    assert not any(counts_report(Viewer(person), REPORT["R9"]) for person in PEOPLE)
    # Matches: R8 (of toys) with A's CLEAR R1 of apparel, R10 with B's GREEN R2, R15 and R16
    # with A's AMBER R10 and R3 of apparel, as they are; not R11 (with RED), R12 (another
    # group's AMBER), R13 (its own brand's, and STRICT), R14 (hidden).
    correlated = {report.key for report in REPORTS if _correlates(report)}
    assert correlated == {"R8", "R10", "R15", "R16"}
    listed = next(
        f for f in FACTS if f.source == "correlations" and f.title == "Report R16 (green)"
    )
    assert {person for person in PEOPLE if listed.reads(Viewer(person))} == {
        "member_a", "admin_a", "member_b", "admin_b", "coordinator", "alliance_admin"
    }  # fmt: skip
    assert all(reads_report(Viewer(person), REPORT["R16"]) for person in ("member_c", "admin_c"))


class Mismatches(list[str]):
    def check(self, what: str, got: Any, expected: Any) -> None:
        if got != expected:
            self.append(f"{what}: got {got!r}, expected {expected!r}")

    def report(self) -> str:
        shown = "\n".join(self[:60])
        return shown + (f"\n... and {len(self) - 60} more" if len(self) > 60 else "")


def _nonzero(values: dict[Any, Number]) -> dict[Any, Number]:
    return {key: value for key, value in values.items() if value}


@pytest.mark.parametrize("person", VIEWERS)
def test_compute_gives_the_figures_counted_by_hand(db: Session, built: Built, person: str) -> None:
    """Every figure, share and breakdown of figures.compute: the year by quarter, each
    working group's year, and a quarter by month."""
    actor = actor_of(db, built.people[person])
    wrong = Mismatches()
    for span, scope in (
        (Span(Y), None),
        (Span(Y), "apparel"),
        (Span(Y), "toys"),
        (Span(Y, 2), None),
    ):
        group_id = built.group_ids[scope] if scope else None
        impact = figures.compute(db, actor, Period(span.year, span.quarter), group_id)
        model = Model(Viewer(person), span, scope)
        where = f"{person} {span.label} {scope or 'alliance'}"
        for figure, source in SOURCE_OF.items():
            wrong.check(f"{where} {figure}", impact.total(figure), model.value(figure))
            if figure == "brands":
                continue
            for number, *_ in span.buckets():
                wrong.check(
                    f"{where} {figure} bucket {number}",
                    impact.total(figure, bucket=number),
                    model.value(figure, number),
                )
            for dim in DIMS[source]:
                got = _nonzero(impact.by(figure, dim))
                if dim == "group":
                    got = {built.group_key(gid): n for gid, n in got.items()}
                elif dim == "marketplace":  # the hub's key for the label NOT_IN
                    got = {NOT_IN if m == OTHER_GROUPS else m: n for m, n in got.items()}
                wrong.check(f"{where} {figure} by {dim}", got, _nonzero(model.by(figure, dim)))
        for key, (part, whole) in SHARE_PARTS.items():
            p, w = model.value(part), model.value(whole)
            wrong.check(f"{where} {key}", impact.share(key), float(p) / float(w) if w else None)
        standing = {number: model.value("brands", number) for number, *_ in span.buckets()}
        wrong.check(f"{where} members by bucket", impact.members_by_bucket(), standing)
        wrong.check(f"{where} joined", impact.joined(), model.joined())
        wrong.check(
            f"{where} brands by country",
            _nonzero(impact.by("brands", "country")),
            _nonzero(model.by("brands", "country")),
        )
    assert not wrong, wrong.report()


# --- The dashboard as it should read: every tile and table cell, worked out from the model --

LABELS = {
    "reports": "Reports shared",
    "confirmations": "Cross-brand confirmations",
    "correlations": "Reports matching another brand's",
    "takedown_requests": "Takedown requests",
    "takedowns": "Listings taken down",
    "takedowns_decided": "Requests due",
    "within_24h": "Taken down within 24 hours",
    "test_buys": "Test purchases with a verdict",
    "examined": "Items examined",
    "counterfeits": "Counterfeits found",
    "referrals": "Referrals to law enforcement",
    "arrests": "Suspects arrested",
    "facilities": "Facilities closed",
    "goods_seized": "Items seized",
    "goods_value": "Value of goods seized",
    "brands": "Member brands",
    "within_24h_share": "Handled within 24 hours",
    "counterfeit_rate": "Counterfeit rate",
}


@dataclass(frozen=True)
class Link:
    """Where a number leads: its figure, its period's part, its breakdown values."""

    figure: str
    bucket: int | None = None
    only: tuple[tuple[str, str], ...] = ()


def link(figure: str, bucket: int | None = None, **only: str) -> Link | None:
    """None for the rows of the working groups one is not in: not the viewer's to open,
    nor to pick out."""
    if only.get("marketplace") == NOT_IN:
        return None
    return Link(figure, bucket, tuple(sorted(only.items())))


@dataclass(frozen=True)
class Cell:
    section: str  # "Headline", a chart's title, or a report group's caption
    row: str
    heading: str
    raw: Number | float | None  # as the CSV gives it
    shown: str
    link: Link | None
    tile: str = ""  # a tile's key
    note: str = ""


# The numbers are counted here by hand; they are written as an English reader reads them,
# through hub.i18n (outside a request, it writes English).
def count_text(value: Number) -> str:
    return i18n.number(value, 0)


def money_text(value: Number, currency: str) -> str:
    return i18n.money(value, currency)


def share_of(part: Number, whole: Number) -> tuple[float | None, str]:
    if not whole:
        return None, "—"
    ratio = float(part) / float(whole)
    return ratio, i18n.percent(ratio, 1)


def csv_raw(value: Number | float | None) -> str:
    """The CSV's raw value as the export promises it (a share to 4 places, money to 2),
    stated here, not imported: the values it writes are this file's own counts."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def tiles_of(model: Model, section: str = "Headline", **only: str) -> list[Cell]:
    def tile(figure: str) -> Cell:
        value = model.value(figure, **only)
        return Cell(
            section, "", LABELS[figure], value, count_text(value), link(figure, **only), figure
        )

    def share(key: str) -> Cell:
        part_figure, whole_figure = SHARE_PARTS[key]
        part, whole = model.value(part_figure, **only), model.value(whole_figure, **only)
        raw, shown = share_of(part, whole)
        note = f"{count_text(part)} of {count_text(whole)}"
        return Cell(section, "", LABELS[key], raw, shown, link(part_figure, **only), key, note)

    values = model.by("goods_value", "currency", **only)
    cells = [
        *(tile(f) for f in ("reports", "confirmations", "correlations", "takedown_requests")),
        tile("takedowns"),
        share("within_24h_share"),
        tile("test_buys"),
        share("counterfeit_rate"),
        *(tile(f) for f in ("referrals", "arrests", "facilities", "goods_seized")),
        *(
            Cell(
                section,
                "",
                f"Value of goods seized ({currency})",
                amount,
                money_text(amount, currency),
                link("goods_value", **only, currency=currency),
                f"goods_value_{currency}",
            )
            for currency, amount in sorted(values.items())
            if amount
        ),
    ]
    if "group" not in only:
        brands = tile("brands")
        note = f"{count_text(model.joined())} joined in {model.span.label}"
        cells.append(Cell(**{**brands.__dict__, "note": note}))
    return cells


def _label(dim: str, value: str) -> str:
    if dim == "group":
        return GROUPS[value][1]
    if dim == "country":
        return COUNTRY_NAMES[value]
    if dim == "status":
        return STATUS_NAMES[value]
    return value or "(not given)"


@dataclass
class Chart:
    key: str
    title: str
    headings: list[str]
    rows: list[tuple[str, list[Cell]]] = field(default_factory=list)

    def add(self, label: str, cells: list[tuple[Number | float | None, str, Link | None]]) -> None:
        self.rows.append(
            (
                label,
                [
                    Cell(self.title, label, heading, raw, shown, to)
                    for heading, (raw, shown, to) in zip(self.headings, cells, strict=True)
                ],
            )
        )


def _ordered(model: Model, figure: str, dim: str) -> list[str]:
    by = model.by(figure, dim)
    return sorted(by, key=lambda value: (-by[value], _label(dim, value)))


def charts_of(model: Model) -> list[Chart]:
    span = model.span

    def number(
        figure: str, bucket: int | None = None, **only: str
    ) -> tuple[Number, str, Link | None]:
        value = model.value(figure, bucket, **only)
        return value, count_text(value), link(figure, bucket, **only)

    def money(figure: str, **only: str) -> tuple[Number, str, Link | None]:
        value = model.value(figure, **only)
        return value, money_text(value, only["currency"]), link(figure, **only)

    def share(
        key: str, bucket: int | None = None, **only: str
    ) -> tuple[float | None, str, Link | None]:
        part_figure, whole_figure = SHARE_PARTS[key]
        raw, shown = share_of(
            model.value(part_figure, bucket, **only), model.value(whole_figure, bucket, **only)
        )
        return raw, shown, link(part_figure, bucket, **only)

    activity = Chart(
        "activity",
        f"Activity in {span.label}, by {'month' if span.quarter else 'quarter'}",
        [
            LABELS[key]
            for key in (
                "reports",
                "confirmations",
                "correlations",
                "takedown_requests",
                "within_24h_share",
                "test_buys",
                "counterfeit_rate",
                "referrals",
                "arrests",
            )
        ],
    )
    members = Chart(
        "member-brands",
        "Member brands" + (" of the working group" if model.scope else ""),
        ["Joined", "Members at the end"],
    )
    for n, label, *_ in span.buckets():
        activity.add(
            label,
            [
                number("reports", n),
                number("confirmations", n),
                number("correlations", n),
                number("takedown_requests", n),
                share("within_24h_share", n),
                number("test_buys", n),
                share("counterfeit_rate", n),
                number("referrals", n),
                number("arrests", n),
            ],
        )
        joined, standing = model.joined(n), model.value("brands", n)
        members.add(
            label,
            [
                (joined, count_text(joined), None),
                (standing, count_text(standing), link("brands", n)),
            ],
        )
    charts = [activity, members]

    def takedowns_by(dim: str, title: str) -> Chart:
        chart = Chart(
            f"takedowns-by-{dim}",
            title,
            ["Requests due", "Within 24 hours", "Share", "Average time to take down"],
        )
        for value in _ordered(model, "takedowns_decided", dim):
            only = {dim: value}
            seconds, removed = (
                model.value("handling_seconds", **only),
                model.value("takedowns", **only),
            )
            hours = (
                f"{i18n.number(float(seconds) / float(removed) / 3600, 1)} h" if removed else "—"
            )
            chart.add(
                _label(dim, value),
                [
                    number("takedowns_decided", **only),
                    number("within_24h", **only),
                    share("within_24h_share", **only),
                    (None, hours, link("takedowns", **only)),
                ],
            )
        return chart

    def count_by(figure: str, dim: str, title: str) -> Chart:
        chart = Chart(f"{figure}-by-{dim}", title, [LABELS[figure]])
        for value in _ordered(model, figure, dim):
            chart.add(_label(dim, value), [number(figure, **{dim: value})])
        return chart

    charts.append(takedowns_by("marketplace", "Takedowns within 24 hours, by marketplace"))
    if not model.scope:
        charts.append(takedowns_by("group", "Takedowns within 24 hours, by working group"))
        rate = Chart(
            "counterfeit-rate-by-group",
            "Test purchases: counterfeit rate, by working group",
            ["Test purchases", "Items examined", "Counterfeits", "Rate"],
        )
        for group in _ordered(model, "test_buys", "group"):
            rate.add(
                _label("group", group),
                [
                    number("test_buys", group=group),
                    number("examined", group=group),
                    number("counterfeits", group=group),
                    share("counterfeit_rate", group=group),
                ],
            )
        charts.append(rate)
        charts.append(count_by("reports", "group", "Reports shared, by working group"))
    charts.append(
        count_by("reports", "country", "Reports shared, by the reporting brand's country")
    )
    charts.append(
        count_by("brands", "country", "Member brands at the end of the period, by country")
    )
    charts.append(count_by("referrals", "status", "Referrals to law enforcement, by status"))
    currencies = sorted(c for c, v in model.by("goods_value", "currency").items() if v)
    enforcement = Chart(
        "enforcement-by-country",
        "Enforcement outcomes, by country",
        [
            LABELS["referrals"],
            LABELS["arrests"],
            LABELS["facilities"],
            LABELS["goods_seized"],
            *(f"Value ({currency})" for currency in currencies),
        ],
    )
    for country in _ordered(model, "referrals", "country"):
        enforcement.add(
            _label("country", country),
            [
                number("referrals", country=country),
                number("arrests", country=country),
                number("facilities", country=country),
                number("goods_seized", country=country),
                *(money("goods_value", country=country, currency=c) for c in currencies),
            ],
        )
    charts.append(enforcement)
    return charts


# --- Reading the pages ----------------------------------------------------------------------


@dataclass
class HtmlCell:
    tag: str
    text: str = ""
    href: str = ""


@dataclass
class HtmlTable:
    id: str
    caption: str = ""
    rows: list[list[HtmlCell]] = field(default_factory=list)


@dataclass
class HtmlTile:
    text: str = ""
    href: str = ""
    note: str = ""


class PageParser(HTMLParser):
    """The tiles, the tables (with each cell's text and link) and every link of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tiles: dict[str, HtmlTile] = {}
        self.tables: list[HtmlTable] = []
        self.links: list[str] = []
        self._tile: HtmlTile | None = None
        self._tile_part = ""
        self._cell: HtmlCell | None = None
        self._in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        if tag == "li" and attributes.get("id", "").startswith("tile-"):
            self._tile = self.tiles.setdefault(attributes["id"][5:], HtmlTile())
        elif self._tile is not None and tag == "a" and "tile-value" in attributes.get("class", ""):
            self._tile.href, self._tile_part = attributes["href"], "text"
        elif self._tile is not None and tag == "span" and attributes.get("class") == "tile-note":
            self._tile_part = "note"
        elif tag == "table":
            self.tables.append(HtmlTable(attributes.get("id", "")))
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tr" and self.tables:
            self.tables[-1].rows.append([])
        elif tag in ("th", "td") and self.tables and self.tables[-1].rows:
            self._cell = HtmlCell(tag)
            self.tables[-1].rows[-1].append(self._cell)
        elif tag == "a" and self._cell is not None:
            self._cell.href = attributes.get("href", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "li":
            self._tile = None
        elif tag in ("a", "span"):
            self._tile_part = ""
        elif tag == "caption":
            self._in_caption = False
        elif tag in ("th", "td") and self._cell is not None:
            self._cell.text = " ".join(self._cell.text.split())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._tile is not None and self._tile_part:
            setattr(
                self._tile, self._tile_part, getattr(self._tile, self._tile_part) + data.strip()
            )
        if self._in_caption and self.tables:
            self.tables[-1].caption += data
        if self._cell is not None:
            self._cell.text += data


def parse_page(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


@dataclass(frozen=True)
class Where:
    """What a page or a link is about: its period and its working group."""

    span: Span
    scope: str | None = None


def read_link(href: str, built: Built) -> tuple[Where, Link]:
    parts = urlsplit(href)
    assert parts.path == "/impact/rows", href
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    year, quarter = int(query.pop("year")), query.pop("quarter", "")
    scope_slug = query.pop("scope", "")
    scope = next((key for key, (slug, _) in GROUPS.items() if slug == scope_slug), None)
    assert bool(scope) == bool(scope_slug), href
    figure = query.pop("figure")
    bucket = query.pop("bucket", None)
    if "group" in query:
        query["group"] = built.group_key(int(query["group"]))
    where = Where(Span(year, int(quarter) if quarter else 0), scope)
    return where, Link(figure, int(bucket) if bucket else None, tuple(sorted(query.items())))


def page_url(where: Where, path: str = "/impact") -> str:
    query = f"year={where.span.year}"
    if where.span.quarter:
        query += f"&quarter={where.span.quarter}"
    if where.scope:
        query += f"&scope={GROUPS[where.scope][0]}"
    return f"{path}?{query}"


# --- Canaries: where each restricted word may be met ----------------------------------------


@dataclass(frozen=True)
class Canary:
    word: str
    # Whom the word may reach: those who may read its row, where a figure counts the row
    # (a hidden report is counted, so shown, to nobody).
    reads: Callable[[Viewer], bool]
    counted: bool  # counted in the year, so its readers meet it behind a number


def canaries() -> list[Canary]:
    found: list[Canary] = []
    for report in REPORTS:
        if report.canary:
            counted = not report.hidden and report.created.year == Y
            for word in (report.title, report.marketplace):
                found.append(
                    Canary(
                        word,
                        lambda v, r=report: reads_report(v, r) and counts_report(v, r),
                        counted,
                    )
                )
    for purchase in PURCHASES:
        if purchase.canary:
            for word in (purchase.product, purchase.market):
                found.append(Canary(word, lambda v, p=purchase: reads_purchase(v, p), True))
    for referral in REFERRALS:
        if referral.canary:
            found.append(Canary(referral.agency, lambda v, r=referral: reads_referral(v, r), True))
    f3 = next(r for r in REFERRALS if r.key == "F3")
    found.append(Canary(F3_COUNTRY_NAME, lambda v: reads_referral(v, f3), True))
    return found


CANARIES = canaries()


@dataclass
class Visitor:
    """A signed-in browser that checks every page it fetches for words it may not meet."""

    viewer: Viewer
    browser: TestClient
    met: set[str] = field(default_factory=set)
    rows_links: set[str] = field(default_factory=set)  # met on the pages fetched so far
    leaks: list[str] = field(default_factory=list)

    def get(self, url: str) -> str:
        response = self.browser.get(url)
        if url.startswith(("/impact?", "/impact/report?")):
            self.rows_links |= {
                h for h in parse_page(response.text).links if h.startswith("/impact/rows?")
            }
        elif url.startswith("/impact/export.csv?"):
            for line in list(csv.reader(io.StringIO(response.text)))[1:]:
                if line[5]:
                    self.rows_links.add(line[5].removeprefix("http://testserver"))
        assert response.status_code == 200, f"{self.viewer.person} {url}: {response.status_code}"
        for canary in CANARIES:
            if canary.word in response.text:
                if canary.reads(self.viewer):
                    self.met.add(canary.word)
                else:
                    self.leaks.append(f"{self.viewer.person} meets {canary.word!r} on {url}")
        return response.text

    def unmet(self) -> list[str]:
        """Each restricted row this viewer may read that shows up nowhere for them: the
        leak checks must not pass on an empty world."""
        theirs = {c.word for c in CANARIES if c.counted and c.reads(self.viewer)}
        return [f"{self.viewer.person} never meets {word!r}" for word in sorted(theirs - self.met)]


# --- Comparing a page, its CSV and the rows behind its numbers with the model ---------------


@dataclass
class Claims:
    """The numbers a page shows behind each link, to be met again on the rows' page."""

    by_href: dict[str, list[tuple[str, Number]]] = field(default_factory=dict)

    def add(self, href: str, what: str, number: Number) -> None:
        said = self.by_href.setdefault(href, [])
        if (what, number) not in said:
            said.append((what, number))

    def merge(self, other: "Claims") -> None:
        for href, said in other.by_href.items():
            for what, number in said:
                self.add(href, what, number)


def _number_shown(text: str) -> int:
    return int(text.replace(",", ""))


def check_tiles(
    page: PageParser, expected: list[Cell], where: Where, built: Built, wrong: Mismatches
) -> Claims:
    claims = Claims()
    wrong.check(f"{where} tiles", sorted(page.tiles), sorted(c.tile for c in expected))
    for cell in expected:
        tile = page.tiles.get(cell.tile)
        if tile is None:
            continue
        what = f"{where} tile {cell.tile}"
        wrong.check(what, (tile.text, tile.note), (cell.shown, cell.note))
        wrong.check(f"{what} link", read_link(tile.href, built), (where, cell.link))
        if cell.tile in SHARE_PARTS:
            claims.add(tile.href, what, _number_shown(tile.note.split(" of ")[0]))
        elif not cell.tile.startswith("goods_value"):
            claims.add(tile.href, what, _number_shown(tile.text))
    return claims


def _chart_tables(page: PageParser) -> dict[str, HtmlTable]:
    return {
        t.caption.removesuffix(": the numbers"): t
        for t in page.tables
        if t.caption.endswith(": the numbers")
    }


def check_charts(
    page: PageParser,
    charts: list[Chart],
    where: Where,
    built: Built,
    wrong: Mismatches,
    claims: Claims,
) -> None:
    tables = _chart_tables(page)
    shown = [chart for chart in charts if chart.rows]
    wrong.check(f"{where} charts", sorted(tables), sorted(chart.title for chart in shown))
    for chart in shown:
        table = tables.get(chart.title)
        if table is None:
            continue
        head, *rows = table.rows
        wrong.check(f"{where} {chart.title} headings", [c.text for c in head[1:]], chart.headings)
        got_labels = [row[0].text for row in rows]
        wrong.check(f"{where} {chart.title} rows", got_labels, [label for label, _ in chart.rows])
        for (label, cells), row in zip(chart.rows, rows, strict=False):
            for cell, html in zip(cells, row[1:], strict=True):
                what = f"{where} {chart.title} / {label} / {cell.heading}"
                wrong.check(what, html.text, cell.shown)
                got_link = read_link(html.href, built) if html.href else None
                wrong.check(f"{what} link", got_link, (where, cell.link) if cell.link else None)
                counted = isinstance(cell.raw, int) and not cell.heading.startswith("Value (")
                if html.href and cell.link is not None and counted:
                    claims.add(html.href, what, _number_shown(html.text))


def check_csv(
    text: str, expected: list[Cell], where: Where, built: Built, wrong: Mismatches
) -> Claims:
    """Every line's value and text equal the counted ones, in the page's order; each money
    line is a claim its rows' page must add up to. Money is compared as an amount (no
    rows to add up may be written 0 or 0.00)."""
    claims = Claims()
    header, *lines = list(csv.reader(io.StringIO(text)))
    wrong.check(
        f"{where} CSV header", header, ["section", "row", "figure", "value", "shown", "rows"]
    )
    got = [
        (*line[:3], _amount(line[3]) if "figure=goods_value" in line[5] else line[3], line[4])
        for line in lines
    ]
    wanted = [
        (
            c.section,
            c.row,
            c.heading,
            _amount(str(c.raw)) if _is_money(c) else csv_raw(c.raw),
            c.shown,
        )
        for c in expected
    ]
    for line in sorted(set(got) ^ set(wanted)):
        wrong.append(f"{where} CSV {'extra' if line in got else 'missing'} line {line}")
    if set(got) != set(wanted):
        return claims
    for number, (line, wanted_line) in enumerate(zip(got, wanted, strict=True)):
        wrong.check(f"{where} CSV line {number + 2}", line, wanted_line)
    for line, cell in zip(lines, expected, strict=True):
        url = line[5]
        href = url.removeprefix("http://testserver") if url else ""
        got_link = read_link(href, built) if href else None
        wrong.check(
            f"{where} CSV link of {line[:3]}", got_link, (where, cell.link) if cell.link else None
        )
        if href and _is_money(cell):
            claims.add(href, f"{where} CSV {line[:3]}", Decimal(line[3]))
    return claims


def _is_money(cell: Cell) -> bool:
    return cell.link is not None and cell.link.figure == "goods_value"


def _amount(text: str) -> str:
    return f"{Decimal(text):.2f}"


def csv_cells(tiles: list[Cell], charts: list[Chart]) -> list[Cell]:
    return [*tiles, *(cell for chart in charts for _, cells in chart.rows for cell in cells)]


SUMMARY_COUNT = re.compile(
    r"The figure counts <strong>([\d,]+)</strong>.*?you may open <strong>([\d,]+)</strong>", re.S
)
SUMMARY_VALUE = re.compile(
    r"The figure adds up <strong>([\d,.]+)</strong> over ([\d,]+) .*?the ([\d,]+) you may open "
    r"add up to ([\d,.]+)\.",
    re.S,
)


# Figures that add up a value over their rows (arrests over referrals...), not count them.
SUMMED = {"arrests", "facilities", "goods_seized", "goods_value", "handling_seconds"}


def _decimal(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def _summary(html: str) -> str:
    return " ".join(html.split('id="trace-summary">')[-1].split("</p>")[0].split())


def check_rows_page(
    visitor: Visitor, href: str, built: Built, wrong: Mismatches, claims: list[tuple[str, Number]]
) -> None:
    """The page behind a number lists exactly the rows the viewer may read, says how many
    more it counts, and states the number the page showed: a count of rows, or for a
    summed figure (arrests...) the sum over its rows."""
    html = visitor.get(href)
    where, to = read_link(href, built)
    counted = Model(visitor.viewer, where.span, where.scope).count(
        to.figure, to.bucket, behind_link=True, **dict(to.only)
    )
    what = f"{visitor.viewer.person} {href}"
    page_number: Number | None = None
    summed = to.figure in SUMMED
    if summed and (found := SUMMARY_VALUE.search(html)):
        got: tuple[Number, ...] = (
            _decimal(found[1]),
            _number_shown(found[2]),
            _number_shown(found[3]),
            _decimal(found[4]),
        )
        expected = (counted.value, counted.rows, counted.listed, counted.listed_value)
        wrong.check(f"{what} (adds up, over rows, you may open, adding up)", got, expected)
        page_number = got[0]
    elif not summed and (found := SUMMARY_COUNT.search(html)):
        got = (_number_shown(found[1]), _number_shown(found[2]))
        wrong.check(f"{what} (counts, you may open)", got, (counted.rows, counted.listed))
        more = counted.rows - counted.listed
        wrong.check(f"{what} says how many more", f"The other {more:,} belong" in html, bool(more))
        page_number = got[0]
    else:
        said = "sum" if summed else "count"
        wrong.append(f"{what}: no summary of the {said} in {_summary(html)!r}")
    for claimed_where, number in claims if page_number is not None else []:
        wrong.check(f"{claimed_where}: the number behind its link ({href})", page_number, number)
    tables = [t for t in parse_page(html).tables if t.id == "trace-rows"]
    titles = sorted(row[0].text for t in tables for row in t.rows[1:])
    wrong.check(f"{what} rows listed", titles, counted.titles)


def check_dashboard(visitor: Visitor, where: Where, built: Built, wrong: Mismatches) -> Claims:
    """The page's tiles and tables, then its CSV, against the model; the numbers behind
    its links, for the rows' pages."""
    model = Model(visitor.viewer, where.span, where.scope)
    tiles, charts = tiles_of(model), charts_of(model)
    page = parse_page(visitor.get(page_url(where)))
    claims = check_tiles(page, tiles, where, built, wrong)
    check_charts(page, charts, where, built, wrong, claims)
    csv_text = visitor.get(page_url(where, "/impact/export.csv"))
    claims.merge(check_csv(csv_text, csv_cells(tiles, charts), where, built, wrong))
    return claims


def check_report(visitor: Visitor, built: Built, wrong: Mismatches) -> Claims:
    """The published report of the year: the alliance's tiles and charts, and each working
    group's table, as counted for this viewer."""
    year = Where(Span(Y))
    model = Model(visitor.viewer, year.span)
    page = parse_page(visitor.get(f"/impact/report?year={Y}"))
    claims = check_tiles(page, tiles_of(model), year, built, wrong)
    charts = [chart for chart in charts_of(model) if chart.key != "reports-by-group"]
    check_charts(page, charts, year, built, wrong, claims)
    tables = {t.caption: t for t in page.tables}
    for group, (_, name) in GROUPS.items():
        table = tables.get(f"{name}: figures of {Y}")
        assert table is not None, f"{visitor.viewer.person}: no section for {name}"
        expected = tiles_of(model, name, group=group)
        got = [(row[0].text, row[1].text) for row in table.rows]
        shown = [(c.heading, f"{c.shown} ({c.note})" if c.note else c.shown) for c in expected]
        wrong.check(f"report {name} figures", got, shown)
        for cell, row in zip(expected, table.rows, strict=False):
            wrong.check(
                f"report {name} {cell.heading} link",
                read_link(row[1].href, built),
                (year, cell.link),
            )
            if cell.tile in SHARE_PARTS:
                claims.add(
                    row[1].href,
                    f"report {name} {cell.heading}",
                    _number_shown(cell.note.split(" of ")[0]),
                )
            elif isinstance(cell.raw, int):
                claims.add(row[1].href, f"report {name} {cell.heading}", _number_shown(row[1].text))
    return claims


def _whole(href: str, built: Built) -> bool:
    """A headline number's link: the whole period, at most one currency."""
    _, to = read_link(href, built)
    return to.bucket is None and {dim for dim, _ in to.only} <= {"currency"}


# The named viewers' year pages are checked with the rows behind them below.
VIEWS = [
    pytest.param("member_b", Where(Span(Y)), id="member_b-year"),
    pytest.param("admin_c", Where(Span(Y, 2)), id="admin_c-q2"),
    pytest.param("coordinator", Where(Span(Y), "apparel"), id="coordinator-apparel"),
    pytest.param("member_c", Where(Span(Y), "toys"), id="member_c-toys"),
]


@pytest.mark.parametrize(("person", "where"), VIEWS)
def test_dashboard_and_csv_show_the_figures_counted_by_hand(
    client_as: ClientAs, built: Built, person: str, where: Where
) -> None:
    """Every tile, every table cell (with its link) and every CSV line, for a quarter and
    for a working group's own dashboard; the headline numbers and the member brands at the
    end of each part of the period lead to exactly their readable rows."""
    visitor = Visitor(Viewer(person), client_as(built.people[person]))
    wrong = Mismatches()
    claims = check_dashboard(visitor, where, built, wrong)
    for href in sorted(visitor.rows_links):
        if _whole(href, built) or read_link(href, built)[1].figure == "brands":
            check_rows_page(visitor, href, built, wrong, claims.by_href.get(href, []))
    assert not wrong, wrong.report()


# The viewers the issue names: a member of apparel, a member of toys, the TLP:RED report's
# recipient (of toys), the apparel coordinator, an alliance admin. The toys member, an
# outsider to every restricted row of apparel, follows every link of the year's pages; the
# others the headline numbers' (each link costs the hub about 30 ms: the module stays fast).
LOOKERS = [
    pytest.param("member_a", False, id="member_a"),
    pytest.param("member_c", True, id="member_c-every-link"),
    pytest.param("admin_c", False, id="admin_c"),
    pytest.param("coordinator", False, id="coordinator"),
    pytest.param("alliance_admin", False, id="alliance_admin"),
]


@pytest.mark.parametrize(("person", "every_link"), LOOKERS)
def test_numbers_lead_to_their_readable_rows_and_no_outsider_meets_a_restricted_detail(
    client_as: ClientAs, built: Built, person: str, every_link: bool
) -> None:
    """The year's dashboard, its CSV and the published report show the counted figures;
    each number followed lists exactly the rows this viewer may read, says how many more
    it counts and counts the number shown. On those pages, the quarters' and the viewer's
    groups' dashboards, no restricted word reaches this viewer unless they may read its
    row, and each one they may read does."""
    publisher = client_as(built.people["alliance_admin"])
    assert publisher.post("/impact/report/publish", data={"year": str(Y)}).status_code == 303
    visitor = Visitor(Viewer(person), client_as(built.people[person]))
    wrong = Mismatches()
    claims = check_dashboard(visitor, Where(Span(Y)), built, wrong)
    claims.merge(check_report(visitor, built, wrong))
    for href in sorted(visitor.rows_links):
        if every_link or _whole(href, built):
            check_rows_page(visitor, href, built, wrong, claims.by_href.get(href, []))
    others = [Where(Span(Y, q)) for q in (1, 2, 3, 4)]
    others += [Where(Span(Y), g) for g, people in INSIDERS.items() if person in people]
    for where in others:
        visitor.get(page_url(where))  # its CSV holds the same cells as the page
    # Leaks first: a wrong number below them does not hide them.
    wrong[:0] = visitor.leaks + visitor.unmet()
    assert not wrong, wrong.report()


def test_figures_kept_for_a_few_minutes_stay_each_viewers_own(
    app: FastAPI, client_as: ClientAs, built: Built
) -> None:
    """With the shared figures kept (as in production), each viewer still gets their own
    dashboard, whoever asked first: the TLP:RED reader's rows reach nobody else."""
    app.state.shared_figures = SharedFigures(300)
    year = Where(Span(Y))
    wrong = Mismatches()
    for person in ("admin_c", "member_a", "coordinator", "member_c", "alliance_admin"):
        visitor = Visitor(Viewer(person), client_as(built.people[person]))
        model = Model(visitor.viewer, year.span)
        page = parse_page(visitor.get(page_url(year)))
        claims = check_tiles(page, tiles_of(model), year, built, wrong)
        check_charts(page, charts_of(model), year, built, wrong, claims)
    assert not wrong, wrong.report()


@pytest.mark.parametrize("figure", ["arrests", "facilities", "goods_seized", "goods_value"])
def test_rows_of_a_summed_figure_state_its_number(
    client_as: ClientAs, built: Built, figure: str
) -> None:
    """A summed figure ("Suspects arrested: 11") leads to a page that says 11, over how
    many referrals, and how much of it the viewer may open, as the value seized does."""
    viewer = Viewer("coordinator")
    counted = Model(viewer, Span(Y)).count(figure)
    assert counted.value != counted.rows  # the figure is not the number of its referrals
    html = client_as(built.people[viewer.person]).get(f"/impact/rows?figure={figure}&year={Y}")
    found = SUMMARY_VALUE.search(html.text)
    got = (
        (_decimal(found[1]), _number_shown(found[2]), _number_shown(found[3]), _decimal(found[4]))
        if found
        else _summary(html.text)
    )
    expected = (counted.value, counted.rows, counted.listed, counted.listed_value)
    assert got == expected, f"{figure} is {counted.value}; its rows' page says: {got}"
