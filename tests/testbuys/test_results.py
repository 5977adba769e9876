"""A campaign's results (hub/testbuys/results.py) and the way verdicts reach the board
(hub/testbuys/reporting.py): counterfeit rates counted from the verdicts given, costs
under each cost-sharing rule, what each brand may see of them, the CSV export, and a
counterfeit purchase becoming (or joining) an intelligence report."""

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlmodel import Session, col, func, select

from hub.config import Settings
from hub.errors import Conflict
from hub.intel.indicators import normalise
from hub.intel.models import Comment, Indicator, IndicatorKind, IntelReport
from hub.members.models import Person, Role
from hub.testbuys import purchases, reporting, results
from hub.testbuys.models import (
    Campaign,
    CostRule,
    Purchase,
    PurchaseStatus,
    Signup,
    Verdict,
)
from tests import factories
from tests.conftest import World
from tests.intel.factories import actor_of
from tests.testbuys.factories import make_campaign, make_purchase, sign_up

V = Verdict
JUDGED = {V.genuine, V.counterfeit, V.grey_market}


@pytest.fixture
def admin_b(db: Session, world: World) -> Person:
    """A brand admin for brand B (apparel), which `world` leaves without one."""
    person = factories.make_person(db, world.brand_b, Role.brand_admin, name="Bea Admin")
    db.commit()
    return person


def judge(db: Session, world: World, purchase: Purchase, campaign: Campaign, verdict: str) -> None:
    """The coordinator marks the purchase ordered, then gives the verdict."""
    coordinator = actor_of(db, world.coordinator)
    purchases.change_status(db, coordinator, purchase, campaign, PurchaseStatus.ordered)
    purchases.change_status(db, coordinator, purchase, campaign, PurchaseStatus.verdict, verdict)


@dataclass(frozen=True)
class Bought:
    brand: str  # "a" or "b"
    marketplace: str
    seller: str
    verdict: str  # "" for a purchase not judged yet
    amount: str


# Brand A has five purchases, brand B three; one of B's is not judged yet.
PLAN = [
    Bought("a", "Marketplace One", "LuxeOutlet88", V.counterfeit, "92.50"),
    Bought("a", "Marketplace One", "LuxeOutlet88", V.genuine, "120.00"),
    Bought("a", "Marketplace One", "BagBarn", V.not_received, "45.10"),
    Bought("a", "Marketplace Two", "BagBarn", V.counterfeit, "60.00"),
    Bought("a", "Marketplace Two", "TrendyDeals", V.grey_market, "75.25"),
    Bought("b", "Marketplace Two", "TrendyDeals", V.counterfeit, "33.33"),
    Bought("b", "Marketplace One", "LuxeOutlet88", V.counterfeit, "19.99"),
    Bought("b", "Marketplace Two", "TrendyDeals", "", "10.00"),
]


@dataclass
class Programme:
    campaign: Campaign
    bought: list[tuple[Bought, Purchase]]


def run_programme(
    db: Session, world: World, admin_b: Person, cost_rule: str = CostRule.own
) -> Programme:
    """A campaign with the PLAN's purchases, each judged as planned."""
    campaign = make_campaign(
        db, world.coordinator, world.apparel, slots=10, max_per_brand=5, cost_rule=cost_rule
    )
    signups = {
        "a": sign_up(db, world.admin_a, campaign, sum(1 for b in PLAN if b.brand == "a")),
        "b": sign_up(db, admin_b, campaign, sum(1 for b in PLAN if b.brand == "b")),
    }
    made = []
    for item in PLAN:
        purchase = make_purchase(
            db,
            world.coordinator,
            campaign,
            signups[item.brand],
            seller=item.seller,
            marketplace=item.marketplace,
            amount=item.amount,
        )
        if item.verdict:
            judge(db, world, purchase, campaign, item.verdict)
        made.append((item, purchase))
    return Programme(campaign, made)


def counted(items: list[Bought], key: str) -> dict[str, tuple[int, int, int, int]]:
    """(judged, counterfeit, grey market, not received) per marketplace or seller,
    counted here from the plan, independently of the code under test."""
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for item in items:
        if not item.verdict:
            continue
        row = tally[getattr(item, key)]
        row[0] += item.verdict in JUDGED
        row[1] += item.verdict == V.counterfeit
        row[2] += item.verdict == V.grey_market
        row[3] += item.verdict == V.not_received
    return {label: (a, b, c, d) for label, (a, b, c, d) in tally.items()}


def as_counts(rates: list[results.Rate]) -> dict[str, tuple[int, int, int, int]]:
    return {r.label: (r.judged, r.counterfeit, r.grey_market, r.not_received) for r in rates}


def test_counterfeit_rates_by_marketplace_and_seller(
    db: Session, world: World, admin_b: Person
) -> None:
    """The coordinator's results count every judged purchase per marketplace and per
    seller exactly as a hand count of the verdicts does, and order the worst first."""
    programme = run_programme(db, world, admin_b)

    outcome = results.compute(db, actor_of(db, world.coordinator), programme.campaign)

    for key, rates in (("marketplace", outcome.by_marketplace), ("seller", outcome.by_seller)):
        expected = counted(PLAN, key)
        assert as_counts(rates) == expected
        for rate in rates:
            judged_here, fakes_here, _, _ = expected[rate.label]
            assert rate.percent == pytest.approx(100 * fakes_here / judged_here)
    percents = [rate.percent for rate in outcome.by_seller]
    assert percents == sorted(percents, reverse=True)
    judged = [b for b in PLAN if b.verdict in JUDGED]
    fakes = [b for b in PLAN if b.verdict == V.counterfeit]
    assert (outcome.overall.judged, outcome.overall.counterfeit) == (len(judged), len(fakes))
    assert outcome.overall.percent == pytest.approx(100 * len(fakes) / len(judged))
    assert len(outcome.lines) == len(PLAN)  # the unjudged purchase is listed, not rated


def test_not_received_is_left_out_of_the_rate(db: Session, world: World, admin_b: Person) -> None:
    """Marketplace One has 2 counterfeits, 1 genuine and 1 parcel that never came: its
    rate is 2 in 3, not 2 in 4, and the missing parcel is counted apart."""
    programme = run_programme(db, world, admin_b)

    outcome = results.compute(db, actor_of(db, world.coordinator), programme.campaign)

    one = next(r for r in outcome.by_marketplace if r.label == "Marketplace One")
    assert (one.judged, one.counterfeit, one.not_received) == (3, 2, 1)
    assert one.percent == pytest.approx(200 / 3)
    bag_barn = next(r for r in outcome.by_seller if r.label == "BagBarn")
    assert (bag_barn.judged, bag_barn.counterfeit, bag_barn.not_received) == (1, 1, 1)
    assert bag_barn.percent == pytest.approx(100.0)


def test_a_brand_sees_only_its_own_results(db: Session, world: World, admin_b: Person) -> None:
    """Brand B's admin gets rates and costs from brand B's purchases only; the
    coordinator gets everyone's."""
    programme = run_programme(db, world, admin_b)
    mine = [b for b in PLAN if b.brand == "b"]

    outcome = results.compute(db, actor_of(db, admin_b), programme.campaign)

    assert {line.purchase.brand_id for line in outcome.lines} == {world.brand_b.id}
    assert len(outcome.lines) == len(mine)
    assert as_counts(outcome.by_marketplace) == counted(mine, "marketplace")
    assert as_counts(outcome.by_seller) == counted(mine, "seller")
    assert [cost.brand.id for cost in outcome.costs] == [world.brand_b.id]
    assert outcome.total == sum(Decimal(b.amount) for b in mine)
    everyone = results.compute(db, actor_of(db, world.coordinator), programme.campaign)
    assert {cost.brand.id for cost in everyone.costs} == {world.brand_a.id, world.brand_b.id}


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_holds_only_what_the_reader_may_see(
    db: Session, world: World, admin_b: Person
) -> None:
    """One CSV row per visible purchase: all of them for the coordinator, only brand B's
    for brand B."""
    programme = run_programme(db, world, admin_b)
    campaign = programme.campaign
    ids: dict[str, set[str]] = {"a": set(), "b": set()}
    for item, purchase in programme.bought:
        ids[item.brand].add(str(purchase.id))

    for_coordinator = csv_rows(
        results.to_csv(results.compute(db, actor_of(db, world.coordinator), campaign), campaign)
    )
    for_b = csv_rows(results.to_csv(results.compute(db, actor_of(db, admin_b), campaign), campaign))

    assert {row["purchase"] for row in for_coordinator} == ids["a"] | ids["b"]
    assert {row["purchase"] for row in for_b} == ids["b"]
    assert {row["brand"] for row in for_b} == {world.brand_b.name}
    amounts = {row["purchase"]: row[f"amount ({campaign.currency})"] for row in for_coordinator}
    assert amounts == {str(p.id): item.amount for item, p in programme.bought}


def test_the_csv_defuses_formula_cells(db: Session, world: World) -> None:
    """A seller named like a spreadsheet formula comes out as text, behind a quote."""
    campaign = make_campaign(db, world.coordinator, world.apparel)
    signup = sign_up(db, world.admin_a, campaign, 2)
    evil = '=HYPERLINK("https://evil.example","Click")'
    make_purchase(db, world.coordinator, campaign, signup, seller=evil)
    make_purchase(db, world.coordinator, campaign, signup, seller="@SUM(A1:A9)")

    rows = csv_rows(
        results.to_csv(results.compute(db, actor_of(db, world.coordinator), campaign), campaign)
    )

    assert [row["seller"] for row in rows] == ["'" + evil, "'@SUM(A1:A9)"]
    assert all(not row["seller"].startswith(("=", "+", "-", "@")) for row in rows)


def test_cost_under_each_brand_pays_its_own(db: Session, world: World, admin_b: Person) -> None:
    """Under "own", each brand pays exactly the sum of its own purchases."""
    programme = run_programme(db, world, admin_b, CostRule.own)

    outcome = results.compute(db, actor_of(db, world.coordinator), programme.campaign)

    expected = {
        world.brand_a.id: sum(Decimal(b.amount) for b in PLAN if b.brand == "a"),
        world.brand_b.id: sum(Decimal(b.amount) for b in PLAN if b.brand == "b"),
    }
    assert {cost.brand.id: cost.pays for cost in outcome.costs} == expected
    assert {cost.brand.id: cost.spent for cost in outcome.costs} == expected
    assert {cost.brand.id: cost.purchases for cost in outcome.costs} == {
        world.brand_a.id: 5,
        world.brand_b.id: 3,
    }
    assert outcome.total == sum(expected.values())


def test_cost_split_equally_adds_up_to_the_cent(db: Session, world: World, admin_b: Person) -> None:
    """Under "split equally", 100.00 spent for three brands is shared in three: the
    shares add up to 100.00 exactly and differ by a cent at most, whoever spent what;
    each brand sees its own share, the same the coordinator sees."""
    brand_d = factories.make_brand(db, "brand-d", [world.apparel], name="Brand D")
    admin_d = factories.make_person(db, brand_d, Role.brand_admin)
    campaign = make_campaign(db, world.coordinator, world.apparel, cost_rule=CostRule.split_equally)
    a = sign_up(db, world.admin_a, campaign, 2)
    b = sign_up(db, admin_b, campaign, 1)
    d = sign_up(db, admin_d, campaign, 1)
    make_purchase(db, world.coordinator, campaign, a, amount="35.00")
    make_purchase(db, world.coordinator, campaign, a, amount="25.00")
    make_purchase(db, world.coordinator, campaign, b, amount="30.00")
    make_purchase(db, world.coordinator, campaign, d, amount="10.00")

    outcome = results.compute(db, actor_of(db, world.coordinator), campaign)

    shares = {cost.brand.id: cost.pays for cost in outcome.costs}
    assert set(shares) == {world.brand_a.id, world.brand_b.id, brand_d.id}
    assert sum(shares.values()) == Decimal("100.00") == outcome.total
    assert max(shares.values()) - min(shares.values()) <= Decimal("0.01")
    assert sorted(shares.values()) == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
    spent = {cost.brand.id: cost.spent for cost in outcome.costs}
    assert spent == {
        world.brand_a.id: Decimal("60.00"),
        world.brand_b.id: Decimal("30.00"),
        brand_d.id: Decimal("10.00"),
    }
    assert outcome.sharing_brands == 3
    for admin in (world.admin_a, admin_b, admin_d):
        own = results.compute(db, actor_of(db, admin), campaign)
        assert [(c.brand.id, c.pays) for c in own.costs] == [
            (admin.brand_id, shares[admin.brand_id])
        ]


def test_a_brand_holding_slots_without_purchases_is_shown_its_share(
    db: Session, world: World, admin_b: Person
) -> None:
    """Under "split equally" every brand holding slots shares the cost, including one
    none of whose purchases is made yet: the coordinator's cost table lists its share
    (so the table adds up to the total), and the brand itself is shown what it owes."""
    brand_d = factories.make_brand(db, "brand-d", [world.apparel], name="Brand D")
    admin_d = factories.make_person(db, brand_d, Role.brand_admin)
    campaign = make_campaign(db, world.coordinator, world.apparel, cost_rule=CostRule.split_equally)
    a = sign_up(db, world.admin_a, campaign, 2)
    b = sign_up(db, admin_b, campaign, 1)
    sign_up(db, admin_d, campaign, 1)
    make_purchase(db, world.coordinator, campaign, a, amount="60.00")
    make_purchase(db, world.coordinator, campaign, b, amount="40.00")

    outcome = results.compute(db, actor_of(db, world.coordinator), campaign)
    for_d = results.compute(db, actor_of(db, admin_d), campaign)

    assert outcome.sharing_brands == 3
    assert sum(cost.pays for cost in outcome.costs) == Decimal("100.00")
    assert brand_d.id in {cost.brand.id for cost in outcome.costs}
    assert [cost.brand.id for cost in for_d.costs] == [brand_d.id]
    assert for_d.costs[0].pays in (Decimal("33.33"), Decimal("33.34"))


@pytest.mark.parametrize(
    ("total", "parts"),
    [("100.00", 3), ("0.01", 3), ("0.00", 4), ("10.00", 4), ("1234.57", 7), ("999.99", 1)],
)
def test_split_evenly_adds_up_exactly(total: str, parts: int) -> None:
    """Shares are whole cents, add up to the total exactly, and differ by a cent at most."""
    shares = results.split_evenly(Decimal(total), parts)

    assert len(shares) == parts
    assert sum(shares) == Decimal(total)
    assert max(shares) - min(shares) <= Decimal("0.01")
    assert all(share == share.quantize(Decimal("0.01")) for share in shares)


def test_split_evenly_of_no_parts_is_empty() -> None:
    """Nobody to share with: no shares (rather than a division by zero)."""
    assert results.split_evenly(Decimal("10.00"), 0) == []


# From a verdict to the board -------------------------------------------------------------


def reports_in(db: Session, world: World) -> int:
    return db.exec(
        select(func.count())
        .select_from(IntelReport)
        .where(IntelReport.group_id == world.apparel.id)
    ).one()


def counterfeit(
    db: Session, world: World, campaign: Campaign, signup: Signup, seller: str
) -> Purchase:
    purchase = make_purchase(db, world.coordinator, campaign, signup, seller=seller)
    judge(db, world, purchase, campaign, V.counterfeit)
    return purchase


def test_a_counterfeit_verdict_becomes_a_report_naming_the_seller(
    db: Session, world: World, settings: Settings
) -> None:
    """Reporting a counterfeit purchase posts a new report on the campaign group's board,
    with the seller (and the listing) as indicators, and marks the purchase reported."""
    campaign = make_campaign(db, world.coordinator, world.apparel)
    signup = sign_up(db, world.admin_a, campaign, 2)
    purchase = counterfeit(db, world, campaign, signup, "LuxeOutlet88")
    before = reports_in(db, world)

    report, created = reporting.report(
        db, settings, actor_of(db, world.coordinator), purchase, campaign
    )

    assert created
    assert reports_in(db, world) == before + 1
    assert report.group_id == world.apparel.id
    assert "LuxeOutlet88" in report.title
    indicators = {
        (i.kind, i.normalised)
        for i in db.exec(select(Indicator).where(Indicator.report_id == report.id))
    }
    assert (
        IndicatorKind.shop_name,
        normalise(IndicatorKind.shop_name, "LuxeOutlet88"),
    ) in indicators
    assert (
        IndicatorKind.listing_url,
        normalise(IndicatorKind.listing_url, purchase.listing_url),
    ) in indicators
    db.refresh(purchase)
    assert (purchase.report_id, purchase.status) == (report.id, PurchaseStatus.reported)


def test_a_second_purchase_from_the_same_seller_joins_that_report(
    db: Session, world: World, settings: Settings
) -> None:
    """Another counterfeit from the same seller (spelled differently, on another listing)
    becomes a comment on the existing report, not a second report."""
    campaign = make_campaign(db, world.coordinator, world.apparel)
    signup = sign_up(db, world.admin_a, campaign, 2)
    first = counterfeit(db, world, campaign, signup, "LuxeOutlet88")
    second = counterfeit(db, world, campaign, signup, "luxeoutlet88")
    coordinator = actor_of(db, world.coordinator)
    report, _ = reporting.report(db, settings, coordinator, first, campaign)
    before = reports_in(db, world)

    joined, created = reporting.report(db, settings, coordinator, second, campaign)

    assert not created
    assert joined.id == report.id
    assert reports_in(db, world) == before
    comments = list(db.exec(select(Comment).where(Comment.report_id == report.id)))
    assert len(comments) == 1
    assert f"Test purchase #{second.id}" in comments[0].body_md
    db.refresh(second)
    assert (second.report_id, second.status) == (report.id, PurchaseStatus.reported)


def test_only_counterfeit_or_grey_market_verdicts_are_reported(
    db: Session, world: World, settings: Settings
) -> None:
    """A genuine item is no intelligence: reporting it is refused, and nothing is posted."""
    campaign = make_campaign(db, world.coordinator, world.apparel)
    signup = sign_up(db, world.admin_a, campaign, 1)
    purchase = make_purchase(db, world.coordinator, campaign, signup)
    judge(db, world, purchase, campaign, V.genuine)
    before = reports_in(db, world)

    with pytest.raises(Conflict):
        reporting.report(db, settings, actor_of(db, world.coordinator), purchase, campaign)

    assert reports_in(db, world) == before
    assert db.exec(select(col(Purchase.report_id)).where(Purchase.id == purchase.id)).one() is None
