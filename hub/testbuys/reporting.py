"""From a verdict to the board: a counterfeit (or grey-market) purchase becomes an
intelligence report in the campaign's group, or joins the report that already names its
seller or listing, with its evidence files."""

from sqlmodel import Session

from hub import i18n
from hub.config import Settings
from hub.errors import Conflict
from hub.groups.models import WorkingGroup
from hub.i18n import gettext as _
from hub.intel import correlation, discussion, evidence
from hub.intel import indicators as indicator_rules
from hub.intel import service as intel
from hub.intel.models import Category, Confidence, IndicatorKind, Infringement, IntelReport, Tlp
from hub.members.models import Brand
from hub.policy import Action, Actor, ensure
from hub.testbuys.models import (
    VERDICT_LABELS,
    Campaign,
    Purchase,
    PurchaseStatus,
    Verdict,
)
from hub.testbuys.purchases import POSTED_TO_BOARD, evidence_of, record_step, view_of

REPORTABLE = {
    Verdict.counterfeit: Infringement.counterfeit,
    Verdict.grey_market: Infringement.grey_market,
}


def indicators_of(purchase: Purchase) -> list[tuple[str, str]]:
    pairs = []
    if purchase.listing_url:
        pairs.append((IndicatorKind.listing_url.value, purchase.listing_url))
    if purchase.seller:
        pairs.append((IndicatorKind.shop_name.value, purchase.seller))
    return pairs


def existing_report(
    session: Session, actor: Actor, purchase: Purchase, group_id: int
) -> IntelReport | None:
    """The newest report on the group's board, readable by the actor, naming this seller
    or listing."""
    for kind, value in indicators_of(purchase):
        normalised = indicator_rules.normalise(kind, value)
        for sighted in correlation.reports_naming(session, actor, kind, normalised, limit=20):
            if sighted.report.group_id == group_id and sighted.report.merged_into_id is None:
                return sighted.report
    return None


def _summary(purchase: Purchase, campaign: Campaign, brand: Brand) -> str:
    """The verdict as a report's text (Markdown), in the language of whoever posts it."""
    verdict = f"**{VERDICT_LABELS[purchase.verdict]}**"
    lines = [
        _(
            "Test purchase #%(id)s in the campaign “%(title)s”, for %(brand)s.",
            id=purchase.id,
            title=campaign.title,
            brand=brand.name,
        ),
        "",
        "- " + _("Verdict: %(verdict)s", verdict=verdict),
    ]
    if purchase.product:
        lines.append("- " + _("Product: %(product)s", product=purchase.product))
    if purchase.marketplace:
        lines.append("- " + _("Marketplace: %(marketplace)s", marketplace=purchase.marketplace))
    if purchase.seller:
        lines.append("- " + _("Seller: %(seller)s", seller=purchase.seller))
    if purchase.order_number:
        lines.append("- " + _("Order number: %(number)s", number=purchase.order_number))
    if purchase.ordered_on:
        lines.append("- " + _("Ordered on %(day)s", day=i18n.day(purchase.ordered_on)))
    if purchase.verdict_note:
        lines += ["", purchase.verdict_note]
    return "\n".join(lines)


def _report_title(verdict: str, seller: str) -> str:
    if verdict == Verdict.grey_market:
        return _("Test buy: grey market / unauthorised from %(seller)s", seller=seller)
    return _("Test buy: counterfeit from %(seller)s", seller=seller)


def report(
    session: Session, settings: Settings, actor: Actor, purchase: Purchase, campaign: Campaign
) -> tuple[IntelReport, bool]:
    """Post the verdict to the board; returns the report and whether it is a new one."""
    ensure(actor, Action.examine_purchase, view_of(purchase, campaign))
    ensure(actor, Action.post_intel, campaign.group_id)
    if purchase.verdict not in REPORTABLE:
        raise Conflict(_("Only a counterfeit or grey-market verdict goes to the board."))
    if purchase.report_id is not None:
        raise Conflict(_("This purchase is already on the board."))
    if not indicators_of(purchase):
        raise Conflict(_("Name the seller or the listing first, so the board can match it."))
    group = session.get(WorkingGroup, campaign.group_id)
    brand = session.get(Brand, purchase.brand_id)
    assert group is not None and brand is not None
    summary = _summary(purchase, campaign, brand)
    found = existing_report(session, actor, purchase, campaign.group_id)
    _mark_reported(session, actor, purchase)
    if found is not None:
        purchase.report_id = found.id
        session.add(purchase)
        discussion.add_comment(session, actor, found, summary, None)  # commits both
        return found, False
    files = [
        evidence.check(
            settings,
            evidence.Upload(
                item.filename, evidence.stored_path(settings, item.sha256).read_bytes()
            ),
        )
        for item in evidence_of(session, purchase)
        if evidence.stored_path(settings, item.sha256).exists()
    ]
    seller = purchase.seller or purchase.listing_url
    form = intel.ReportForm(
        title=_report_title(purchase.verdict, seller)[:200],
        body_md=summary,
        category=Category.seller if purchase.seller else Category.online_listing,
        marketplace=purchase.marketplace,
        brands_affected=brand.name,
        products_affected=purchase.product,
        infringement=REPORTABLE[Verdict(purchase.verdict)],
        confidence=Confidence.confirmed,
        reliability="A",
        tlp=Tlp.amber,
        indicators=indicators_of(purchase),
    )
    created = intel.create_report(session, actor, group, form, settings, files)
    purchase.report_id = created.id
    session.add(purchase)
    session.commit()
    return created, True


def _mark_reported(session: Session, actor: Actor, purchase: Purchase) -> None:
    if purchase.status == PurchaseStatus.verdict:
        record_step(session, actor, purchase, PurchaseStatus.reported, POSTED_TO_BOARD)
