"""Purchases: planned against a brand's confirmed slots, then tracked from order to
verdict, with their costs, evidence files and status history."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, func, select

from hub import audit, i18n
from hub.api import webhooks
from hub.clock import utcnow
from hub.config import Settings
from hub.db import row_id
from hub.errors import Conflict, FormCheck, NotFound
from hub.i18n import gettext as _
from hub.i18n import lazy_gettext, ngettext
from hub.intel import evidence as files
from hub.members.models import Brand, Person, Role
from hub.notify.models import Notification
from hub.policy import Action, Actor, PurchaseView, can, ensure, visible_purchases
from hub.testbuys import signups
from hub.testbuys.campaigns import parse_currency, parse_money
from hub.testbuys.models import (
    PURCHASE_STATUS_LABELS,
    Campaign,
    CampaignStatus,
    Persona,
    Purchase,
    PurchaseEvent,
    PurchaseEvidence,
    PurchaseStatus,
    Signup,
    SignupState,
    Verdict,
)
from hub.testbuys.signups import lock_campaign

S = PurchaseStatus
# The usual road, with a few corrections allowed (a parcel that never arrives).
NEXT_STATUSES: dict[str, list[PurchaseStatus]] = {
    S.planned: [S.ordered, S.closed],
    S.ordered: [S.shipped, S.received, S.verdict],
    S.shipped: [S.received, S.verdict],
    S.received: [S.examined, S.verdict],
    S.examined: [S.verdict],
    S.verdict: [S.reported, S.closed, S.examined],
    S.reported: [S.closed],
    S.closed: [],
}
# Steps a brand's own people may take: examining and judging their own product.
BRAND_STEPS = {S.examined, S.verdict}
DATE_OF_STATUS = {
    S.ordered: "ordered_on",
    S.shipped: "shipped_on",
    S.received: "received_on",
    S.examined: "examined_on",
}


def view_of(purchase: Purchase, campaign: Campaign) -> PurchaseView:
    return PurchaseView(group_id=campaign.group_id, brand_id=purchase.brand_id)


@dataclass
class PurchaseForm:
    signup: str = ""  # id of the brand's sign-up in this campaign
    product: str = ""
    marketplace: str = ""
    seller: str = ""
    listing_url: str = ""
    persona: str = ""
    order_number: str = ""
    ordered_on: str = ""
    shipped_on: str = ""
    received_on: str = ""
    examined_on: str = ""
    item_cost: str = ""
    shipping_cost: str = ""
    fees: str = ""
    cost_currency: str = ""
    amount: str = ""


def form_of(purchase: Purchase) -> PurchaseForm:
    def day(value: date | None) -> str:
        return value.isoformat() if value else ""

    return PurchaseForm(
        signup=str(purchase.signup_id),
        product=purchase.product,
        marketplace=purchase.marketplace,
        seller=purchase.seller,
        listing_url=purchase.listing_url,
        persona=str(purchase.persona_id or ""),
        order_number=purchase.order_number,
        ordered_on=day(purchase.ordered_on),
        shipped_on=day(purchase.shipped_on),
        received_on=day(purchase.received_on),
        examined_on=day(purchase.examined_on),
        item_cost=f"{purchase.item_cost:.2f}",
        shipping_cost=f"{purchase.shipping_cost:.2f}",
        fees=f"{purchase.fees:.2f}",
        cost_currency=purchase.cost_currency,
        amount=f"{purchase.amount:.2f}",
    )


def _parse_day(check: FormCheck, name: str, value: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        check.fail(name, _("Give a date as YYYY-MM-DD."))
        return None


def _check(
    session: Session, campaign: Campaign, form: PurchaseForm, current: Purchase | None
) -> dict[str, object]:
    check = FormCheck()
    signup = None
    if (signup_id := row_id(form.signup)) is not None:
        signup = session.get(Signup, signup_id)
    if signup is None or signup.campaign_id != campaign.id or signup.granted == 0:
        check.fail("signup", _("Choose a brand holding confirmed slots in this campaign."))
    for name, limit in (
        ("product", 200),
        ("marketplace", 120),
        ("seller", 200),
        ("order_number", 120),
    ):
        if len(getattr(form, name)) > limit:
            check.fail(name, _("Keep this under %(limit)s characters.", limit=i18n.number(limit)))
    url = form.listing_url.strip()
    if len(url) > 1000:
        check.fail("listing_url", _("Keep the address under 1,000 characters."))
    elif url and not url.lower().startswith(("http://", "https://")):
        check.fail("listing_url", _("Give the listing's full address, starting with https://."))
    if not (form.seller.strip() or url):
        check.fail("seller", _("Name the seller or give the listing's address."))
    persona = None
    if form.persona.strip():
        persona_id = row_id(form.persona)
        persona = session.get(Persona, persona_id) if persona_id is not None else None
        if persona is None or persona.group_id != campaign.group_id:
            check.fail("persona", _("Choose one of this group's buyer personas."))
        elif persona.burned_at is not None and (
            current is None or current.persona_id != persona.id
        ):
            check.fail("persona", _("This persona is burned: the sellers know it. Choose another."))
    days = {name: _parse_day(check, name, getattr(form, name)) for name in DATE_OF_STATUS.values()}
    sequence = [days[name] for name in ("ordered_on", "shipped_on", "received_on", "examined_on")]
    known = [d for d in sequence if d is not None]
    if known != sorted(known):
        check.fail(
            "received_on",
            _("The dates must follow each other: ordered, shipped, received, examined."),
        )
    costs = {
        name: parse_money(check, name, getattr(form, name), label)
        for name, label in (
            ("item_cost", _("The item's price")),
            ("shipping_cost", _("Shipping")),
            ("fees", _("Fees")),
        )
    }
    currency = parse_currency(check, "cost_currency", form.cost_currency or campaign.currency)
    amount = parse_money(check, "amount", form.amount, _("The amount"))
    if not form.amount.strip():
        if currency == campaign.currency:
            amount = sum(costs.values(), Decimal(0))
        elif any(costs.values()):
            check.fail(
                "amount",
                _(
                    "The costs are in %(currency)s: give their total in %(campaign_currency)s, "
                    "the campaign's currency, as charged.",
                    currency=currency,
                    campaign_currency=campaign.currency,
                ),
            )
    check.done()
    assert signup is not None
    return {
        "signup_id": signup.id,
        "brand_id": signup.brand_id,
        "product": form.product.strip(),
        "marketplace": form.marketplace.strip(),
        "seller": form.seller.strip(),
        "listing_url": url,
        "persona_id": persona.id if persona else None,
        "order_number": form.order_number.strip(),
        **days,
        **costs,
        "cost_currency": currency,
        "amount": amount,
    }


def create(session: Session, actor: Actor, campaign: Campaign, form: PurchaseForm) -> Purchase:
    """Plan a purchase on one of a brand's confirmed slots; a brand never gets more
    purchases than it holds slots (checked under the campaign's lock)."""
    ensure(actor, Action.run_campaigns, campaign.group_id)
    if campaign.status in (CampaignStatus.draft, CampaignStatus.completed):
        raise Conflict(_("Purchases are planned once sign-ups are in, before the campaign ends."))
    values = _check(session, campaign, form, None)
    campaign = lock_campaign(session, campaign.id or 0)
    signup = session.get(Signup, values["signup_id"])
    assert signup is not None
    session.refresh(signup)
    used = signups.planned(session, signup)
    if (
        signup.state not in (SignupState.confirmed, SignupState.waitlisted)
        or used >= signup.granted
    ):
        check = FormCheck()
        check.fail(
            "signup",
            ngettext(
                "That brand's %(num)s confirmed slot is planned already.",
                "That brand's %(num)s confirmed slots are all planned.",
                signup.granted,
            ),
        )
        check.done()
    purchase = Purchase(campaign_id=campaign.id or 0, created_by_id=actor.person_id, **values)  # type: ignore[arg-type]
    session.add(purchase)
    session.flush()
    audit.record(
        session, actor.audit_id, actor.label, "testbuy.purchase_planned", f"purchase:{purchase.id}"
    )
    session.commit()
    return purchase


def update(
    session: Session, actor: Actor, purchase: Purchase, campaign: Campaign, form: PurchaseForm
) -> Purchase:
    """Correct the details and costs; the brand it was bought for stays the same."""
    ensure(actor, Action.run_campaigns, campaign.group_id)
    form.signup = str(purchase.signup_id)
    values = _check(session, campaign, form, purchase)
    for name, value in values.items():
        setattr(purchase, name, value)
    purchase.updated_at = utcnow()
    session.add(purchase)
    audit.record(
        session, actor.audit_id, actor.label, "testbuy.purchase_edited", f"purchase:{purchase.id}"
    )
    session.commit()
    return purchase


def may_step(actor: Actor, purchase: Purchase, campaign: Campaign, status: str) -> bool:
    if can(actor, Action.run_campaigns, campaign.group_id):
        return True
    return status in BRAND_STEPS and can(
        actor, Action.examine_purchase, view_of(purchase, campaign)
    )


def _tell_brand_of_verdict(
    session: Session, actor: Actor, purchase: Purchase, campaign: Campaign
) -> None:
    """The brand's admins (and whoever signed it up) hear of a verdict on its products,
    except the person who gave it."""
    people = session.exec(
        select(Person.id, Person.language, Person.time_zone)
        .where(
            Person.brand_id == purchase.brand_id,
            Person.role == Role.brand_admin,
            col(Person.is_active).is_(True),
            Person.id != actor.person_id,
        )
        .order_by(col(Person.id))
    ).all()
    for person_id, language, zone in people:
        with i18n.presenting(language, zone):
            text = _verdict_news(purchase, campaign)
        session.add(
            Notification(
                person_id=person_id or 0,
                kind="testbuy.verdict",
                group_id=campaign.group_id,
                text=text[:500],
                link=f"/testbuys/purchases/{purchase.id}",
            )
        )


def _verdict_news(purchase: Purchase, campaign: Campaign) -> str:
    """The verdict on a brand's product, as its people read it."""
    title, seller = campaign.title, purchase.seller or purchase.listing_url
    if purchase.verdict == Verdict.genuine:
        return _(
            "Test-buy “%(title)s”: the item bought from %(seller)s is genuine.",
            title=title,
            seller=seller,
        )
    if purchase.verdict == Verdict.counterfeit:
        return _(
            "Test-buy “%(title)s”: the item bought from %(seller)s is counterfeit.",
            title=title,
            seller=seller,
        )
    if purchase.verdict == Verdict.grey_market:
        return _(
            "Test-buy “%(title)s”: the item bought from %(seller)s is grey market / unauthorised.",
            title=title,
            seller=seller,
        )
    return _(
        "Test-buy “%(title)s”: the item bought from %(seller)s was not received.",
        title=title,
        seller=seller,
    )


def change_status(
    session: Session,
    actor: Actor,
    purchase: Purchase,
    campaign: Campaign,
    status: str,
    verdict: str = "",
    note: str = "",
) -> Purchase:
    """Move the purchase one step on; a verdict step needs the verdict itself."""
    ensure(actor, Action.examine_purchase, view_of(purchase, campaign))
    if status not in NEXT_STATUSES.get(purchase.status, []):
        raise Conflict(
            _(
                "A purchase that is “%(before)s” cannot become “%(after)s”.",
                before=PURCHASE_STATUS_LABELS[purchase.status],
                after=PURCHASE_STATUS_LABELS.get(status, status),
            )
        )
    if not may_step(actor, purchase, campaign, status):
        raise Conflict(_("Only the campaign's coordinators move a purchase through this step."))
    note = note.strip()
    if len(note) > 1000:
        raise Conflict(_("Keep the note under 1,000 characters."))
    if status == S.verdict:
        if verdict not in {v.value for v in Verdict}:
            check = FormCheck()
            check.fail(
                "verdict",
                _("Choose the verdict: genuine, counterfeit, grey market or not received."),
            )
            check.done()
        purchase.verdict = verdict
        purchase.verdict_note = note
        purchase.verdict_by_id = actor.person_id
        purchase.verdict_at = utcnow()
        if purchase.examined_on is None and verdict != Verdict.not_received:
            purchase.examined_on = utcnow().date()
        _tell_brand_of_verdict(session, actor, purchase, campaign)
        webhooks.verdict_given(session, purchase, campaign)
    day_field = DATE_OF_STATUS.get(S(status))
    if day_field and getattr(purchase, day_field) is None:
        setattr(purchase, day_field, utcnow().date())
    record_step(session, actor, purchase, status, note)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "testbuy.purchase_status",
        f"purchase:{purchase.id}",
        status=status,
        verdict=verdict,
    )
    session.commit()
    return purchase


# Notes the hub itself writes on a purchase's history: stored in English, as everyone who
# reads the history shares them, and shown to each reader in their own language.
POSTED_TO_BOARD = "Posted to the intelligence board."
_HUB_NOTES = {POSTED_TO_BOARD: lazy_gettext("Posted to the intelligence board.")}


def step_note(event: PurchaseEvent) -> str:
    """A history step's note in the reader's language (a note as it was typed)."""
    return str(_HUB_NOTES.get(event.note, event.note))


def record_step(session: Session, actor: Actor, purchase: Purchase, status: str, note: str) -> None:
    """Move the purchase to `status` and keep the step in its history; the caller has
    checked the step and commits."""
    session.add(
        PurchaseEvent(
            purchase_id=purchase.id or 0,
            person_id=actor.person_id,
            from_status=purchase.status,
            to_status=status,
            note=note,
        )
    )
    purchase.status = status
    purchase.updated_at = utcnow()
    session.add(purchase)


def get_visible(session: Session, actor: Actor, purchase_id: int) -> tuple[Purchase, Campaign]:
    row = session.exec(
        select(Purchase, Campaign)
        .join(Campaign, col(Campaign.id) == Purchase.campaign_id)
        .where(Purchase.id == purchase_id, visible_purchases(actor))
    ).first()
    if row is None:
        raise NotFound(_("There is no such purchase, or it is not your brand's."))
    return row


@dataclass(frozen=True)
class PurchaseLine:
    purchase: Purchase
    brand: Brand
    persona: Persona | None


def of_campaign(
    session: Session, actor: Actor, campaign: Campaign, extra: ColumnElement[bool] | None = None
) -> list[PurchaseLine]:
    """The campaign's purchases the actor may see (all for its runners, else their own)."""
    query = (
        select(Purchase, Brand, Persona)
        .join(Campaign, col(Campaign.id) == Purchase.campaign_id)
        .join(Brand, col(Brand.id) == Purchase.brand_id)
        .outerjoin(Persona, col(Persona.id) == Purchase.persona_id)
        .where(Purchase.campaign_id == campaign.id, visible_purchases(actor))
        .order_by(col(Purchase.id))
    )
    if extra is not None:
        query = query.where(extra)
    return [PurchaseLine(p, b, persona) for p, b, persona in session.exec(query).all()]


def history(session: Session, purchase: Purchase) -> list[tuple[PurchaseEvent, Person]]:
    return list(
        session.exec(
            select(PurchaseEvent, Person)
            .join(Person, col(Person.id) == PurchaseEvent.person_id)
            .where(PurchaseEvent.purchase_id == purchase.id)
            .order_by(col(PurchaseEvent.id))
        ).all()
    )


def attach(
    session: Session,
    settings: Settings,
    actor: Actor,
    purchase: Purchase,
    campaign: Campaign,
    checked: list[files.Checked],
) -> list[PurchaseEvidence]:
    """Keep checked files (stored like the boards' evidence) and say who added them."""
    ensure(actor, Action.examine_purchase, view_of(purchase, campaign))
    added: list[PurchaseEvidence] = []
    for item in checked:
        files.store(settings, item)
        row = PurchaseEvidence(
            purchase_id=purchase.id or 0,
            sha256=item.sha256,
            filename=files.clean_filename(item.upload.filename),
            content_type=item.content_type,
            size=len(item.upload.data),
            width=item.width,
            height=item.height,
            uploaded_by_id=actor.person_id,
        )
        session.add(row)
        added.append(row)
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "testbuy.evidence_added",
        f"purchase:{purchase.id}",
        files=[(e.filename, e.sha256) for e in added],
    )
    session.commit()
    return added


def evidence_of(session: Session, purchase: Purchase) -> list[PurchaseEvidence]:
    return list(
        session.exec(
            select(PurchaseEvidence)
            .where(PurchaseEvidence.purchase_id == purchase.id)
            .order_by(col(PurchaseEvidence.id))
        )
    )


def get_evidence(session: Session, actor: Actor, evidence_id: int) -> PurchaseEvidence:
    """A purchase's file, if the reader may see the purchase; otherwise it does not exist."""
    item = session.exec(
        select(PurchaseEvidence)
        .join(Purchase, col(Purchase.id) == PurchaseEvidence.purchase_id)
        .join(Campaign, col(Campaign.id) == Purchase.campaign_id)
        .where(PurchaseEvidence.id == evidence_id, visible_purchases(actor))
    ).first()
    if item is None:
        raise NotFound(_("There is no such file, or it is not shared with you."))
    return item


def slots_left_to_plan(session: Session, campaign: Campaign) -> list[tuple[Signup, Brand, int]]:
    """Sign-ups with confirmed slots not yet planned as purchases: (sign-up, brand, left)."""
    used = (
        select(func.count())
        .select_from(Purchase)
        .where(col(Purchase.signup_id) == Signup.id, col(Purchase.campaign_id) == campaign.id)
        .scalar_subquery()
    )
    rows = session.exec(
        select(Signup, Brand, used)
        .join(Brand, col(Brand.id) == Signup.brand_id)
        .where(Signup.campaign_id == campaign.id, col(Signup.granted) > 0)
        .order_by(col(Brand.name))
    ).all()
    left = [(s, b, s.granted - int(n or 0)) for s, b, n in rows]
    return [(s, b, n) for s, b, n in left if n > 0]
