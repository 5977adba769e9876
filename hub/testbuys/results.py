"""A campaign's results: counterfeit rates by marketplace and by seller, and what each
brand pays under the campaign's cost-sharing rule. Only purchases the viewer may see
count (hub.policy.visible_purchases), so a brand sees its own results, not others'."""

import csv
import io
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from sqlmodel import Session, col, select

from hub import i18n
from hub.i18n import gettext as _
from hub.i18n import pgettext
from hub.intel.exports import safe_cell
from hub.members.models import Brand
from hub.policy import Action, Actor, can
from hub.testbuys.models import (
    VERDICT_LABELS,
    Campaign,
    CostRule,
    Purchase,
    Signup,
    Verdict,
)
from hub.testbuys.purchases import PurchaseLine, of_campaign

CENT = Decimal("0.01")
# What an examined item can be; "not received" is counted apart from the rate.
JUDGED = (Verdict.genuine, Verdict.counterfeit, Verdict.grey_market)


@dataclass(frozen=True)
class Rate:
    label: str
    judged: int  # items with a verdict on the product itself
    counterfeit: int
    grey_market: int
    not_received: int

    @property
    def percent(self) -> float:
        return 100.0 * self.counterfeit / self.judged if self.judged else 0.0

    @property
    def share(self) -> float:
        """The counterfeit rate as a share (0..1), for hub.i18n.percent."""
        return self.percent / 100


@dataclass(frozen=True)
class BrandCost:
    brand: Brand
    purchases: int
    spent: Decimal  # the brand's own purchases, in the campaign currency
    pays: Decimal  # under the cost-sharing rule


@dataclass(frozen=True)
class Results:
    lines: list[PurchaseLine]
    overall: Rate
    by_marketplace: list[Rate]
    by_seller: list[Rate]
    costs: list[BrandCost]
    total: Decimal
    sharing_brands: int


def _rate(label: str, purchases: list[Purchase]) -> Rate:
    verdicts = [p.verdict for p in purchases]
    return Rate(
        label=label,
        judged=sum(1 for v in verdicts if v in JUDGED),
        counterfeit=verdicts.count(Verdict.counterfeit),
        grey_market=verdicts.count(Verdict.grey_market),
        not_received=verdicts.count(Verdict.not_received),
    )


def _rates_by(purchases: list[Purchase], key: str) -> list[Rate]:
    groups: dict[str, list[Purchase]] = {}
    for purchase in purchases:
        label = getattr(purchase, key).strip() or _("(not given)")
        groups.setdefault(label, []).append(purchase)
    rates = [_rate(label, items) for label, items in groups.items()]
    return sorted(rates, key=lambda r: (-r.percent, -r.judged, r.label.lower()))


def split_evenly(total: Decimal, parts: int) -> list[Decimal]:
    """`total` in `parts` shares that differ by at most a cent and add up exactly."""
    if parts <= 0:
        return []
    share = (total / parts).quantize(CENT, rounding=ROUND_DOWN)
    shares = [share] * parts
    left_over = int((total - share * parts) / CENT)
    for index in range(left_over):
        shares[index] += CENT
    return shares


def compute(session: Session, actor: Actor, campaign: Campaign) -> Results:
    lines = of_campaign(session, actor, campaign)
    purchases = [line.purchase for line in lines]
    judged = [p for p in purchases if p.verdict]
    spent: dict[int, tuple[int, Decimal]] = {}
    for purchase in purchases:
        count, amount = spent.get(purchase.brand_id, (0, Decimal(0)))
        spent[purchase.brand_id] = (count + 1, amount + purchase.amount)
    # Who shares: every brand that held slots, whether or not the viewer sees its rows.
    sharing = session.exec(
        select(Brand)
        .join(Signup, col(Signup.brand_id) == Brand.id)
        .where(Signup.campaign_id == campaign.id, col(Signup.granted) > 0)
        .order_by(col(Brand.name))
    ).all()
    visible_brands = {line.brand.id: line.brand for line in lines}
    runs = can(actor, Action.run_campaigns, campaign.group_id)
    total = sum((amount for _, amount in spent.values()), Decimal(0))
    costs: list[BrandCost] = []
    if campaign.cost_rule == CostRule.split_equally:
        # The campaign's whole cost, which only its runners see in full; shared by all.
        everything = _campaign_total(session, campaign)
        shares = dict(
            zip([b.id for b in sharing], split_evenly(everything, len(sharing)), strict=True)
        )
        for brand in sharing:
            # The runners see every brand's share; a brand sees its own, purchases or not.
            if runs or brand.id == actor.brand_id:
                count, amount = spent.get(brand.id or 0, (0, Decimal(0)))
                costs.append(BrandCost(brand, count, amount, shares[brand.id]))
    else:
        for brand_id, (count, amount) in spent.items():
            costs.append(BrandCost(visible_brands[brand_id], count, amount, amount))
    costs.sort(key=lambda c: c.brand.name.lower())
    return Results(
        lines=lines,
        overall=_rate(_("All marketplaces"), judged),
        by_marketplace=_rates_by(judged, "marketplace"),
        by_seller=_rates_by(judged, "seller"),
        costs=costs,
        total=total,
        sharing_brands=len(sharing),
    )


def _campaign_total(session: Session, campaign: Campaign) -> Decimal:
    amounts = session.exec(
        select(col(Purchase.amount)).where(Purchase.campaign_id == campaign.id)
    ).all()
    return sum((Decimal(str(a)) for a in amounts), Decimal(0))


CHART_ROWS = 20


@dataclass(frozen=True)
class Charts:
    """Bars for the results page: (label, value, text shown beside the bar)."""

    marketplaces: list[tuple[str, float, str]]
    sellers: list[tuple[str, float, str]]
    costs: list[tuple[str, float, str]]
    cost_top: float


def charts(results: Results, currency: str) -> Charts:
    def rate_bars(rates: list[Rate]) -> list[tuple[str, float, str]]:
        return [
            (
                r.label,
                r.percent,
                _(
                    "%(rate)s of %(judged)s",
                    rate=i18n.percent(r.share),
                    judged=i18n.number(r.judged),
                ),
            )
            for r in rates[:CHART_ROWS]
        ]

    costs = [(c.brand.name, float(c.pays), i18n.money(c.pays, currency)) for c in results.costs]
    return Charts(
        marketplaces=rate_bars(results.by_marketplace),
        sellers=rate_bars(results.by_seller),
        costs=costs[:CHART_ROWS],
        cost_top=max((value for _, value, _ in costs), default=0.0),
    )


def to_csv(results: Results, campaign: Campaign) -> str:
    """One row per purchase the viewer may see, as a spreadsheet reads it: the headings
    and verdicts in the reader's language, the values as they are stored."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            pgettext("results.csv", "purchase"),
            pgettext("results.csv", "brand"),
            pgettext("results.csv", "product"),
            pgettext("results.csv", "marketplace"),
            pgettext("results.csv", "seller"),
            pgettext("results.csv", "listing"),
            pgettext("results.csv", "order number"),
            pgettext("results.csv", "ordered"),
            pgettext("results.csv", "received"),
            pgettext("results.csv", "status"),
            pgettext("results.csv", "verdict"),
            pgettext("results.csv", "amount (%(currency)s)", currency=campaign.currency),
            pgettext("results.csv", "item cost"),
            pgettext("results.csv", "shipping"),
            pgettext("results.csv", "fees"),
            pgettext("results.csv", "cost currency"),
        ]
    )
    for line in results.lines:
        p = line.purchase
        writer.writerow(
            safe_cell(cell)
            for cell in [
                p.id,
                line.brand.name,
                p.product,
                p.marketplace,
                p.seller,
                p.listing_url,
                p.order_number,
                p.ordered_on or "",
                p.received_on or "",
                p.status,
                str(VERDICT_LABELS.get(p.verdict, "")),
                f"{p.amount:.2f}",
                f"{p.item_cost:.2f}",
                f"{p.shipping_cost:.2f}",
                f"{p.fees:.2f}",
                p.cost_currency,
            ]
        )
    return out.getvalue()
