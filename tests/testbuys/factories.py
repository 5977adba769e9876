"""Campaigns, sign-ups and purchases for tests, made through the services as real ones are."""

import itertools
from datetime import timedelta

from sqlmodel import Session

from hub.clock import utcnow
from hub.groups.models import WorkingGroup
from hub.members.models import Person
from hub.testbuys import campaigns, purchases, signups
from hub.testbuys.campaigns import DATETIME_FORMAT
from hub.testbuys.models import Campaign, CampaignStatus, CostRule, Purchase, Signup
from tests.intel.factories import actor_of

_numbers = itertools.count(1)


def make_campaign(
    session: Session,
    runner: Person,
    group: WorkingGroup,
    slots: int = 5,
    max_per_brand: int = 3,
    status: str = CampaignStatus.open,
    cost_rule: str = CostRule.own,
    currency: str = "EUR",
    title: str | None = None,
) -> Campaign:
    """A campaign of `group` whose sign-up window is open now; `runner` coordinates the
    group (or is an alliance admin)."""
    now = utcnow()
    form = campaigns.CampaignForm(
        group=group.slug,
        title=title or f"Campaign {next(_numbers)}",
        goal="Find who sells fakes.",
        channels="Marketplace One, Marketplace Two",
        region="Europe",
        opens_at=(now - timedelta(days=1)).strftime(DATETIME_FORMAT),
        closes_at=(now + timedelta(days=7)).strftime(DATETIME_FORMAT),
        slots=str(slots),
        max_per_brand=str(max_per_brand),
        budget="1000.00",
        currency=currency,
        cost_rule=cost_rule,
    )
    actor = actor_of(session, runner)
    campaign = campaigns.create(session, actor, form)
    if status != CampaignStatus.draft:
        campaign = campaigns.change_status(session, actor, campaign, CampaignStatus.open)
    if status in (CampaignStatus.closed, CampaignStatus.running, CampaignStatus.completed):
        campaign = campaigns.change_status(session, actor, campaign, CampaignStatus.closed)
    if status in (CampaignStatus.running, CampaignStatus.completed):
        campaign = campaigns.change_status(session, actor, campaign, CampaignStatus.running)
    if status == CampaignStatus.completed:
        campaign = campaigns.change_status(session, actor, campaign, CampaignStatus.completed)
    return campaign


def sign_up(
    session: Session, brand_admin: Person, campaign: Campaign, requested: int = 1
) -> Signup:
    """`brand_admin` signs their brand up for `requested` purchases."""
    form = signups.SignupForm(requested=str(requested), products="Handbag model 7")
    return signups.sign_up(session, actor_of(session, brand_admin), campaign, form)


def make_purchase(
    session: Session,
    runner: Person,
    campaign: Campaign,
    signup: Signup,
    seller: str = "LuxeOutlet88",
    marketplace: str = "Marketplace One",
    amount: str = "",
    item_cost: str = "80.00",
) -> Purchase:
    """A purchase planned by `runner` on one of the sign-up's confirmed slots."""
    form = purchases.PurchaseForm(
        signup=str(signup.id),
        product="Handbag model 7",
        marketplace=marketplace,
        seller=seller,
        listing_url=f"https://marketplace.example/item/{next(_numbers)}",
        item_cost=item_cost,
        shipping_cost="10.00",
        fees="2.50",
        cost_currency=campaign.currency,
        amount=amount,
    )
    return purchases.create(session, actor_of(session, runner), campaign, form)
