"""Campaigns: creating, editing, duplicating, the status workflow, and finding them.

Every read goes through hub.policy.visible_campaigns; every change needs
Action.run_campaigns on the campaign's group (its coordinators and alliance admins).
"""

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from hub import audit
from hub.clock import utcnow
from hub.db import row_id
from hub.errors import Conflict, FormCheck, NotFound
from hub.groups.models import WorkingGroup
from hub.i18n import gettext as _
from hub.i18n import ngettext, number
from hub.policy import Action, Actor, ensure, visible_campaigns
from hub.testbuys import signups
from hub.testbuys.models import (
    CAMPAIGN_STATUS_LABELS,
    Campaign,
    CampaignStatus,
    CostRule,
    Signup,
    SignupState,
)

# Built once: an alias made per call re-adapts every column it touches.
_MINE = aliased(Signup, name="my_signup")


MAX_SLOTS = 10_000
# The usual order, with one step back from "open" for a campaign published too early.
NEXT_STATUSES: dict[str, list[CampaignStatus]] = {
    CampaignStatus.draft: [CampaignStatus.open],
    CampaignStatus.open: [CampaignStatus.closed, CampaignStatus.draft],
    CampaignStatus.closed: [CampaignStatus.running, CampaignStatus.open],
    CampaignStatus.running: [CampaignStatus.completed],
    CampaignStatus.completed: [],
}
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


@dataclass
class CampaignForm:
    """The campaign form as typed: every field a string until checked."""

    group: str = ""  # slug
    title: str = ""
    goal: str = ""
    channels: str = ""
    region: str = ""
    opens_at: str = ""  # datetime-local, UTC
    closes_at: str = ""
    slots: str = ""
    max_per_brand: str = ""
    budget: str = ""
    currency: str = "EUR"
    cost_rule: str = CostRule.own
    copied_from: str = ""


@dataclass(frozen=True)
class CheckedCampaign:
    group: WorkingGroup
    title: str
    goal: str
    channels: str
    region: str
    opens_at: datetime
    closes_at: datetime
    slots: int
    max_per_brand: int
    budget: Decimal
    currency: str
    cost_rule: str

    def columns(self) -> dict[str, Any]:
        """The campaign's own columns, as checked (the group is stored by its id)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "group"}


def parse_datetime(value: str) -> datetime | None:
    """A `datetime-local` value (read as UTC), or None if it is not one."""
    try:
        return datetime.strptime(value.strip()[:16], DATETIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def parse_count(check: FormCheck, name: str, value: str, low: int, high: int, label: str) -> int:
    try:
        count = int(value.strip())
    except ValueError:
        check.fail(name, _("%(label)s must be a whole number.", label=label))
        return 0
    if not low <= count <= high:
        check.fail(
            name,
            _(
                "%(label)s must be between %(low)s and %(high)s.",
                label=label,
                low=number(low),
                high=number(high),
            ),
        )
    return count


def parse_money(check: FormCheck, name: str, value: str, label: str) -> Decimal:
    text = value.strip().replace(",", "")
    if not text:
        return Decimal(0)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        check.fail(name, _("%(label)s must be an amount such as 1250.00.", label=label))
        return Decimal(0)
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
        check.fail(name, _("%(label)s must be zero or more, below a trillion.", label=label))
        return Decimal(0)
    if amount != amount.quantize(Decimal("0.01")):
        check.fail(name, _("%(label)s can have at most two decimals.", label=label))
    return amount.quantize(Decimal("0.01"))


def parse_currency(check: FormCheck, name: str, value: str) -> str:
    code = value.strip().upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        check.fail(name, _("Give a three-letter currency code, such as EUR, USD or CNY."))
    return code


def check_form(session: Session, actor: Actor, form: CampaignForm) -> CheckedCampaign:
    check = FormCheck()
    group = session.exec(select(WorkingGroup).where(WorkingGroup.slug == form.group)).first()
    if group is None:
        check.fail("group", _("Choose the working group the campaign is for."))
    else:
        ensure(actor, Action.run_campaigns, group.id)
    title = form.title.strip()
    if not title:
        check.fail("title", _("Give the campaign a title."))
    elif len(title) > 200:
        check.fail("title", _("Keep the title under 200 characters."))
    if len(form.goal) > 5000:
        check.fail("goal", _("Keep the goal under 5,000 characters."))
    if len(form.channels) > 300:
        check.fail("channels", _("Keep the list of marketplaces under 300 characters."))
    if len(form.region) > 120:
        check.fail("region", _("Keep the region under 120 characters."))
    opens_at = parse_datetime(form.opens_at)
    closes_at = parse_datetime(form.closes_at)
    if opens_at is None:
        check.fail("opens_at", _("Give the date and time sign-ups open."))
    if closes_at is None:
        check.fail("closes_at", _("Give the date and time sign-ups close."))
    elif opens_at is not None and closes_at <= opens_at:
        check.fail("closes_at", _("Sign-ups must close after they open."))
    slots = parse_count(check, "slots", form.slots, 1, MAX_SLOTS, _("The number of slots"))
    cap = parse_count(check, "max_per_brand", form.max_per_brand, 1, MAX_SLOTS, _("The cap"))
    if slots and cap > slots:
        check.fail("max_per_brand", _("A brand cannot take more slots than the campaign has."))
    budget = parse_money(check, "budget", form.budget, _("The budget"))
    currency = parse_currency(check, "currency", form.currency)
    if form.cost_rule not in {rule.value for rule in CostRule}:
        check.fail("cost_rule", _("Choose how the costs are shared."))
    check.done()
    assert group is not None and opens_at is not None and closes_at is not None
    return CheckedCampaign(
        group=group,
        title=title,
        goal=form.goal.strip(),
        channels=", ".join(part.strip() for part in form.channels.split(",") if part.strip()),
        region=form.region.strip(),
        opens_at=opens_at,
        closes_at=closes_at,
        slots=slots,
        max_per_brand=cap,
        budget=budget,
        currency=currency,
        cost_rule=form.cost_rule,
    )


def create(session: Session, actor: Actor, form: CampaignForm) -> Campaign:
    """A new campaign, as a draft nobody but its runners sees yet."""
    checked = check_form(session, actor, form)
    copied_from = None
    if (original := row_id(form.copied_from)) is not None:
        copied_from = get_visible(session, actor, original).id
    campaign = Campaign(
        group_id=checked.group.id or 0,
        copied_from_id=copied_from,
        created_by_id=actor.person_id,
        **checked.columns(),
    )
    session.add(campaign)
    session.flush()
    audit.record(
        session, actor.audit_id, actor.label, "testbuy.campaign_created", f"campaign:{campaign.id}"
    )
    session.commit()
    return campaign


def update(session: Session, actor: Actor, campaign: Campaign, form: CampaignForm) -> Campaign:
    """Save the edited campaign. More slots promote the waitlist; fewer than are taken
    are refused. The group stays the one the campaign was made for."""
    ensure(actor, Action.run_campaigns, campaign.group_id)
    group = session.get(WorkingGroup, campaign.group_id)
    assert group is not None
    form.group = group.slug
    checked = check_form(session, actor, form)
    campaign = signups.lock_campaign(session, campaign.id or 0)
    if checked.slots < campaign.slots_taken:
        check = FormCheck()
        check.fail(
            "slots",
            ngettext(
                "%(num)s slot is already taken by a brand; the campaign cannot have fewer. "
                "Ask brands to withdraw, or move their sign-ups, first.",
                "%(num)s slots are already taken by brands; the campaign cannot have fewer. "
                "Ask brands to withdraw, or move their sign-ups, first.",
                campaign.slots_taken,
            ),
        )
        check.done()
    largest = _largest_request(session, campaign)
    if checked.max_per_brand < largest:
        check = FormCheck()
        check.fail(
            "max_per_brand",
            ngettext(
                "A brand has already asked for %(num)s slot; the cap cannot go below that.",
                "A brand has already asked for %(num)s slots; the cap cannot go below that.",
                largest,
            ),
        )
        check.done()
    for name, value in checked.columns().items():
        setattr(campaign, name, value)
    campaign.updated_at = utcnow()
    session.add(campaign)
    signups.fill_from_waitlist(session, campaign, actor.person_id)
    audit.record(
        session, actor.audit_id, actor.label, "testbuy.campaign_edited", f"campaign:{campaign.id}"
    )
    session.commit()
    return campaign


def _largest_request(session: Session, campaign: Campaign) -> int:
    """The most any confirmed or waiting sign-up asks for: a new cap must allow it, or the
    waitlist would later hand a brand more than the cap."""
    largest = session.exec(
        select(func.max(Signup.requested)).where(
            Signup.campaign_id == campaign.id, col(Signup.state).in_(signups.ACTIVE)
        )
    ).one()
    return int(largest or 0)


def change_status(session: Session, actor: Actor, campaign: Campaign, status: str) -> Campaign:
    ensure(actor, Action.run_campaigns, campaign.group_id)
    campaign = signups.lock_campaign(session, campaign.id or 0)
    if status not in NEXT_STATUSES.get(campaign.status, []):
        raise Conflict(
            _(
                "A campaign that is “%(before)s” cannot become “%(after)s”.",
                before=CAMPAIGN_STATUS_LABELS[campaign.status],
                after=CAMPAIGN_STATUS_LABELS.get(status, status),
            )
        )
    if status == CampaignStatus.draft and campaign.slots_taken:
        raise Conflict(_("Brands have signed up already: close the campaign instead."))
    before = campaign.status
    campaign.status = status
    campaign.updated_at = utcnow()
    session.add(campaign)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "testbuy.campaign_status",
        f"campaign:{campaign.id}",
        before=before,
        after=status,
    )
    session.commit()
    return campaign


def form_of(campaign: Campaign, group: WorkingGroup) -> CampaignForm:
    return CampaignForm(
        group=group.slug,
        title=campaign.title,
        goal=campaign.goal,
        channels=campaign.channels,
        region=campaign.region,
        opens_at=campaign.opens_at.strftime(DATETIME_FORMAT),
        closes_at=campaign.closes_at.strftime(DATETIME_FORMAT),
        slots=str(campaign.slots),
        max_per_brand=str(campaign.max_per_brand),
        budget=f"{campaign.budget:.2f}",
        currency=campaign.currency,
        cost_rule=campaign.cost_rule,
    )


def duplicate_form(campaign: Campaign, group: WorkingGroup) -> CampaignForm:
    """An earlier campaign's settings for a new one; the sign-up window is chosen anew."""
    form = form_of(campaign, group)
    form.title = _("%(title)s (copy)", title=campaign.title)[:200]
    form.opens_at = form.closes_at = ""
    form.copied_from = str(campaign.id)
    return form


def get_visible(session: Session, actor: Actor, campaign_id: int) -> Campaign:
    campaign = session.exec(
        select(Campaign).where(Campaign.id == campaign_id, visible_campaigns(actor))
    ).first()
    if campaign is None:
        raise NotFound(_("There is no such campaign, or it is not open to your brand."))
    return campaign


@dataclass(frozen=True)
class CampaignLine:
    campaign: Campaign
    group: WorkingGroup
    brands: int  # brands holding slots
    waiting: int  # sign-ups on the waitlist
    mine: Signup | None  # the actor's brand's sign-up


def listing(session: Session, actor: Actor, status: str = "") -> list[CampaignLine]:
    """The campaigns the actor may see, newest first, with the counts everyone may see."""
    query = (
        select(Campaign, WorkingGroup)
        .join(WorkingGroup, col(WorkingGroup.id) == Campaign.group_id)
        .where(visible_campaigns(actor))
        .order_by(col(Campaign.opens_at).desc(), col(Campaign.id).desc())
        .limit(200)
    )
    if status in CAMPAIGN_STATUS_LABELS:
        query = query.where(Campaign.status == status)
    return _lines(session, actor, query)


def open_for_sign_up(session: Session, actor: Actor, limit: int) -> list[CampaignLine]:
    """The visible campaigns taking sign-ups right now (signups.window_is_open, in SQL),
    newest first: however many campaigns there are, only `limit` rows are read."""
    now = utcnow()
    query = (
        select(Campaign, WorkingGroup)
        .join(WorkingGroup, col(WorkingGroup.id) == Campaign.group_id)
        .where(
            visible_campaigns(actor),
            Campaign.status == CampaignStatus.open,
            col(Campaign.opens_at) <= now,
            col(Campaign.closes_at) > now,
        )
        .order_by(col(Campaign.opens_at).desc(), col(Campaign.id).desc())
        .limit(limit)
    )
    return _lines(session, actor, query)


def page(
    session: Session, actor: Actor, status: str, before: int | None, limit: int
) -> tuple[list[CampaignLine], int | None]:
    """The visible campaigns by id, newest first, `limit` after `before` (the API's
    pages); with the id to continue before, if there are more."""
    query = (
        select(Campaign, WorkingGroup)
        .join(WorkingGroup, col(WorkingGroup.id) == Campaign.group_id)
        .where(visible_campaigns(actor))
        .order_by(col(Campaign.id).desc())
        .limit(limit + 1)
    )
    if status:
        query = query.where(Campaign.status == status)
    if before:
        query = query.where(col(Campaign.id) < before)
    lines = _lines(session, actor, query)
    more = len(lines) > limit
    lines = lines[:limit]
    return lines, (lines[-1].campaign.id if more and lines else None)


def line(session: Session, actor: Actor, campaign_id: int) -> CampaignLine:
    """One visible campaign with the same counts as the list; a 404 otherwise."""
    query = (
        select(Campaign, WorkingGroup)
        .join(WorkingGroup, col(WorkingGroup.id) == Campaign.group_id)
        .where(Campaign.id == campaign_id, visible_campaigns(actor))
    )
    lines = _lines(session, actor, query)
    if not lines:
        raise NotFound(_("There is no such campaign, or it is not open to your brand."))
    return lines[0]


def _lines(session: Session, actor: Actor, query: Any) -> list[CampaignLine]:
    """The campaigns of `query` (Campaign, WorkingGroup) with the counts everyone may see
    and the actor's brand's sign-up, in the same statement."""
    holding, waiting = signups.count_columns()
    mine = _MINE
    rows = session.exec(
        query.add_columns(holding, waiting, mine).outerjoin(
            mine,
            (col(mine.campaign_id) == Campaign.id)
            & (col(mine.brand_id) == actor.brand_id)
            & col(mine.state).in_([SignupState.confirmed, SignupState.waitlisted]),
        )
    ).all()
    return [
        CampaignLine(campaign, group, int(brands or 0), int(waits or 0), signup)
        for campaign, group, brands, waits, signup in rows
    ]
