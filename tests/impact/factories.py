"""Referrals, their outcomes and judged purchases for tests, made through the services as
real ones are."""

import itertools
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import Session

from hub.clock import utcnow
from hub.groups.models import WorkingGroup
from hub.impact import referrals
from hub.impact.models import Referral, ReferralStatus, ReferralUpdate
from hub.intel.models import IntelReport
from hub.members.models import Person
from hub.testbuys import purchases
from hub.testbuys.models import Campaign, Purchase, PurchaseStatus, Verdict
from tests.intel.factories import actor_of
from tests.testbuys.factories import make_campaign, make_purchase, sign_up

_numbers = itertools.count(1)


def today() -> date:
    return utcnow().date()


def judge(
    session: Session,
    runner: Person,
    purchase: Purchase,
    campaign: Campaign,
    verdict: str = Verdict.counterfeit,
) -> Purchase:
    """`runner` (who runs the campaign) marks the purchase ordered, then gives the verdict."""
    actor = actor_of(session, runner)
    purchases.change_status(session, actor, purchase, campaign, PurchaseStatus.ordered)
    return purchases.change_status(
        session, actor, purchase, campaign, PurchaseStatus.verdict, verdict
    )


def make_judged_purchase(
    session: Session,
    runner: Person,
    group: WorkingGroup,
    brand_admin: Person,
    verdict: str = Verdict.counterfeit,
    seller: str | None = None,
) -> tuple[Purchase, Campaign]:
    """A purchase for `brand_admin`'s brand in a new campaign of `group` run by `runner`,
    judged `verdict`."""
    campaign = make_campaign(session, runner, group, slots=5, max_per_brand=3)
    signup = sign_up(session, brand_admin, campaign, 1)
    purchase = make_purchase(
        session, runner, campaign, signup, seller=seller or f"Seller{next(_numbers)}"
    )
    return judge(session, runner, purchase, campaign, verdict), campaign


def referral_form(
    agency: str | None = None,
    country: str = "CN",
    jurisdiction: str = "Guangdong",
    sent_on: date | None = None,
    contact: str = "",
    reference: str = "",
    summary: str = "",
) -> referrals.ReferralForm:
    return referrals.ReferralForm(
        agency=agency or f"Public Security Bureau {next(_numbers)}",
        jurisdiction=jurisdiction,
        country=country,
        sent_on=(sent_on or today() - timedelta(days=30)).isoformat(),
        contact=contact,
        reference=reference,
        summary=summary,
    )


def make_referral(
    session: Session,
    referrer: Person,
    reports: Sequence[IntelReport] = (),
    purchases: Sequence[Purchase] = (),
    agency: str | None = None,
    country: str = "CN",
    jurisdiction: str = "Guangdong",
    sent_on: date | None = None,
    summary: str = "",
) -> Referral:
    """A referral by `referrer` (who must be allowed to refer cases of the sources' group
    and read every source), sent 30 days ago unless told otherwise."""
    form = referral_form(agency, country, jurisdiction, sent_on, summary=summary)
    return referrals.create(
        session,
        actor_of(session, referrer),
        form,
        [str(r.id) for r in reports],
        [str(p.id) for p in purchases],
        today(),
    )


def record_outcome(
    session: Session,
    person: Person,
    referral: Referral,
    status: str = ReferralStatus.raid_done,
    raid_on: date | None = None,
    arrested: int = 0,
    facilities: int = 0,
    seized: int = 0,
    value: Decimal | str = "0",
    currency: str = "CNY",
    note: str = "",
) -> ReferralUpdate:
    """`person` records an outcome against the referral's current version; a raid (or a
    prosecution) without a date happened the day after the referral was sent."""
    session.refresh(referral)
    if raid_on is None and status in referrals.RAID_STATUSES:
        raid_on = min(referral.sent_on + timedelta(days=1), today())
    form = referrals.OutcomeForm(
        status=status,
        raid_on=raid_on.isoformat() if raid_on else "",
        suspects_arrested=str(arrested),
        facilities_closed=str(facilities),
        goods_seized=str(seized),
        goods_value=str(value),
        goods_currency=currency,
        note=note,
        version=str(referral.version),
    )
    update = referrals.record_outcome(session, actor_of(session, person), referral, form, today())
    session.refresh(referral)
    return update
