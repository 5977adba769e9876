"""Brand webhooks: brand admins register where events go, and the hub queues each event
in the same transaction as the change that caused it (hub.api.webhook_delivery sends).
Links in events are paths on the hub ("path"), to be joined to the hub's address.

An event reaches a brand only if the brand, as a brand, may read what it is about: the
policy is asked with a brand-level actor (no person, so never a TLP:RED report), exactly
as for a brand API token.
"""

import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from babel.support import LazyProxy
from sqlmodel import Session, col, func, select

from hub import audit, secretbox
from hub.api.models import Webhook, WebhookDelivery, WebhookEvent
from hub.clock import utcnow
from hub.config import Environment, Settings
from hub.errors import FormCheck, NotFound
from hub.groups.models import GroupMembership, WorkingGroup
from hub.i18n import gettext as _
from hub.i18n import lazy_gettext, ngettext
from hub.intel.models import Indicator, IntelReport
from hub.members.models import Brand, OrgKind, Role
from hub.policy import Action, Actor, ensure, visible_intel
from hub.testbuys.models import Campaign, Purchase

MAX_PER_BRAND = 5
PING = "ping"  # the test event a brand admin sends from the page

# Shown in the viewer's language: each label is translated whenever it is written out.
EVENT_LABELS: dict[str, LazyProxy] = {
    WebhookEvent.report_created: lazy_gettext("A report is posted in one of our working groups"),
    WebhookEvent.correlation: lazy_gettext("Another brand's report names an indicator from ours"),
    WebhookEvent.verdict: lazy_gettext("A test purchase for our brand has its verdict"),
}


@dataclass(frozen=True)
class WebhookLine:
    webhook: Webhook
    events: list[str]
    delivered: int
    failing: int  # given up, or waiting for a retry after a failure


def _check(settings: Settings, url: str, events: list[str]) -> tuple[str, list[str]]:
    check = FormCheck()
    url = url.strip()
    parts = urlsplit(url)
    production = settings.env == Environment.production
    if len(url) > 500:
        check.fail("url", _("Keep the address under 500 characters."))
    elif parts.scheme not in ({"https"} if production else {"https", "http"}) or not parts.hostname:
        check.fail("url", _("Enter the full address your tool listens on, starting with https://."))
    elif parts.username or parts.password:
        check.fail("url", _("Leave passwords out of the address: requests are signed instead."))
    chosen = sorted({e for e in events if e})
    if not chosen:
        check.fail("events", _("Choose at least one kind of event."))
    elif any(e not in EVENT_LABELS for e in chosen):
        check.fail("events", _("Choose among the events offered."))
    check.done()
    return url, chosen


def create(
    session: Session, settings: Settings, actor: Actor, url: str, events: list[str]
) -> tuple[Webhook, str]:
    """Register a webhook for the actor's brand; returns it with its signing secret,
    which is shown this once."""
    ensure(actor, Action.manage_brand_api, actor.brand_id)
    url, chosen = _check(settings, url, events)
    count = session.exec(
        select(func.count()).select_from(Webhook).where(Webhook.brand_id == actor.brand_id)
    ).one()
    if count >= MAX_PER_BRAND:
        check = FormCheck()
        check.fail(
            "url",
            ngettext(
                "A brand can have %(num)s webhook; remove it first.",
                "A brand can have %(num)s webhooks; remove one first.",
                MAX_PER_BRAND,
            ),
        )
        check.done()
    secret = "whsec_" + secrets.token_urlsafe(32)
    webhook = Webhook(
        brand_id=actor.brand_id,
        url=url,
        secret_sealed=secretbox.seal(settings, secret),
        events=",".join(chosen),
        created_by_id=actor.person_id,
    )
    session.add(webhook)
    session.flush()
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "webhook.created",
        f"webhook:{webhook.id}",
        url=url,
        events=chosen,
    )
    session.commit()
    return webhook, secret


def get_own(session: Session, actor: Actor, webhook_id: int) -> Webhook:
    ensure(actor, Action.manage_brand_api, actor.brand_id)
    webhook = session.get(Webhook, webhook_id)
    if webhook is None or webhook.brand_id != actor.brand_id:
        raise NotFound(_("There is no such webhook among your brand's."))
    return webhook


def remove(session: Session, actor: Actor, webhook_id: int) -> None:
    """Remove a webhook and its delivery log; queued deliveries go with it."""
    webhook = get_own(session, actor, webhook_id)
    session.delete(webhook)
    audit.record(session, actor.audit_id, actor.label, "webhook.removed", f"webhook:{webhook_id}")
    session.commit()


def send_test(session: Session, actor: Actor, webhook_id: int) -> WebhookDelivery:
    webhook = get_own(session, actor, webhook_id)
    # Sent at the brand admin's request, so in their language: a text for people to read.
    message = _("A test event from Alliance Hub.")
    delivery = _queue(session, webhook, PING, {"message": message})
    session.commit()
    return delivery


def redeliver(session: Session, actor: Actor, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again from the start (after the receiver was fixed)."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFound(_("There is no such delivery."))
    get_own(session, actor, delivery.webhook_id)
    delivery.next_attempt_at, delivery.attempts, delivery.delivered_at = utcnow(), 0, None
    delivery.claimed_at = delivery.claim_token = None
    session.add(delivery)
    session.commit()
    return delivery


def listing(session: Session, actor: Actor) -> list[WebhookLine]:
    ensure(actor, Action.manage_brand_api, actor.brand_id)
    hooks = list(
        session.exec(
            select(Webhook).where(Webhook.brand_id == actor.brand_id).order_by(col(Webhook.id))
        )
    )
    ids = [hook.id for hook in hooks]
    delivered = dict(
        session.exec(
            select(WebhookDelivery.webhook_id, func.count())
            .where(
                col(WebhookDelivery.webhook_id).in_(ids),
                col(WebhookDelivery.delivered_at).is_not(None),
            )
            .group_by(col(WebhookDelivery.webhook_id))
        ).all()
    )
    failing = dict(
        session.exec(
            select(WebhookDelivery.webhook_id, func.count())
            .where(
                col(WebhookDelivery.webhook_id).in_(ids),
                col(WebhookDelivery.delivered_at).is_(None),
                col(WebhookDelivery.last_error) != "",
            )
            .group_by(col(WebhookDelivery.webhook_id))
        ).all()
    )
    return [
        WebhookLine(
            hook,
            hook.events.split(","),
            delivered.get(hook.id or 0, 0),
            failing.get(hook.id or 0, 0),
        )
        for hook in hooks
    ]


def deliveries(
    session: Session, actor: Actor, webhook_id: int, limit: int = 50
) -> list[WebhookDelivery]:
    """The newest deliveries of one of the brand's webhooks: the brand admin's log."""
    get_own(session, actor, webhook_id)
    return list(
        session.exec(
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook_id)
            .order_by(col(WebhookDelivery.id).desc())
            .limit(limit)
        )
    )


# Queueing events -------------------------------------------------------------------


def _queue(session: Session, webhook: Webhook, event: str, data: dict[str, Any]) -> WebhookDelivery:
    body = {
        "id": uuid.uuid4().hex,  # the same on every retry: receivers drop repeats by it
        "type": event,
        "created_at": utcnow().isoformat(),
        "data": data,
    }
    delivery = WebhookDelivery(
        webhook_id=webhook.id or 0,
        event=event,
        payload=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
    )
    session.add(delivery)
    return delivery


def _subscribed(session: Session, event: str, brand_ids: set[int]) -> list[Webhook]:
    if not brand_ids:
        return []
    hooks = session.exec(
        select(Webhook).where(col(Webhook.brand_id).in_(sorted(brand_ids)), Webhook.active)
    ).all()
    return [hook for hook in hooks if event in hook.events.split(",")]


def _brand_actor(session: Session, brand_id: int) -> Actor:
    """The brand as a brand: its working groups, no person behind it."""
    brand = session.get(Brand, brand_id)
    groups = session.exec(
        select(GroupMembership.group_id).where(GroupMembership.brand_id == brand_id)
    ).all()
    return Actor(
        person_id=0,
        brand_id=brand_id,
        brand_slug=brand.slug if brand else "",
        brand_kind=brand.kind if brand else OrgKind.brand,
        name=brand.name if brand else "",
        email="",
        role=Role.member,
        group_ids=frozenset(groups),
        acts_for_brand=True,
    )


def _brand_sees(session: Session, brand_id: int, report: IntelReport) -> bool:
    query = select(IntelReport.id).where(
        IntelReport.id == report.id, visible_intel(_brand_actor(session, brand_id))
    )
    return session.exec(query).first() is not None


def _report_data(session: Session, report: IntelReport) -> dict[str, Any]:
    group = session.get(WorkingGroup, report.group_id)
    brand = session.get(Brand, report.brand_id)
    indicators = session.exec(
        select(Indicator).where(Indicator.report_id == report.id).order_by(col(Indicator.id))
    ).all()
    return {
        "id": report.id,
        "path": f"/intel/{report.id}",
        "api_path": f"/api/v1/reports/{report.id}",
        "group": group.slug if group else "",
        "brand": brand.slug if brand else "",
        "title": report.title,
        "category": report.category,
        "marketplace": report.marketplace,
        "tlp": report.tlp,
        "created_at": report.created_at.isoformat(),
        "indicators": [{"kind": i.kind, "value": i.value} for i in indicators],
    }


def report_created(session: Session, report: IntelReport) -> int:
    """Queue `report.created` for the group's brands that may read the report."""
    in_group = set(
        session.exec(
            select(GroupMembership.brand_id).where(GroupMembership.group_id == report.group_id)
        ).all()
    )
    hooks = [
        hook
        for hook in _subscribed(session, WebhookEvent.report_created, in_group)
        if _brand_sees(session, hook.brand_id, report)
    ]
    if hooks:
        data = _report_data(session, report)
        for hook in hooks:
            _queue(session, hook, WebhookEvent.report_created, {"report": data})
    return len(hooks)


def correlation_found(session: Session, report: IntelReport, earlier: IntelReport) -> int:
    """Queue `correlation.found` for the brand of an earlier report that a new report of
    another brand matches, if that brand may read both: the event names the earlier one
    too, and a brand's tools never read a TLP:RED or a hidden report, even their own
    people's."""
    if earlier.brand_id == report.brand_id or not (
        _brand_sees(session, earlier.brand_id, report)
        and _brand_sees(session, earlier.brand_id, earlier)
    ):
        return 0
    hooks = _subscribed(session, WebhookEvent.correlation, {earlier.brand_id})
    data = {
        "report": _report_data(session, report),
        "your_report": {
            "id": earlier.id,
            "path": f"/intel/{earlier.id}",
            "title": earlier.title,
        },
    }
    for hook in hooks:
        _queue(session, hook, WebhookEvent.correlation, data)
    return len(hooks)


def verdict_given(session: Session, purchase: Purchase, campaign: Campaign) -> int:
    """Queue `purchase.verdict` for the brand the item was bought for."""
    hooks = _subscribed(session, WebhookEvent.verdict, {purchase.brand_id})
    data = {
        "purchase": {
            "id": purchase.id,
            "path": f"/testbuys/purchases/{purchase.id}",
            "campaign_id": campaign.id,
            "campaign": campaign.title,
            "verdict": purchase.verdict,
            "product": purchase.product,
            "seller": purchase.seller,
            "marketplace": purchase.marketplace,
        }
    }
    for hook in hooks:
        _queue(session, hook, WebhookEvent.verdict, data)
    return len(hooks)
