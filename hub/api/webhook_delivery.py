"""Sending queued webhook deliveries: claim one (hub.leases), POST it signed, record the
receiver's answer, retry with back-off until MAX_ATTEMPTS.

The signature follows the scheme of the well-known payment platforms: the header
`Hub-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the secret>`.
Receivers recompute it, compare in constant time, and refuse a `t` more than five minutes
from their clock, so a captured request cannot be replayed later. Each event carries an
`id` that stays the same on every retry, for receivers to drop repeats.
"""

import hashlib
import hmac
import ipaddress
import logging
import socket
import threading
from datetime import datetime
from urllib.parse import urlsplit

import httpx

from hub import leases, secretbox
from hub.api.models import Webhook, WebhookDelivery
from hub.clock import utcnow
from hub.config import Environment, Settings
from hub.leases import Claim, SessionFactory

log = logging.getLogger("hub.webhooks")

TIMEOUT_SECONDS = 10
MAX_ATTEMPTS = 10  # about eight hours of retrying, then given up (and kept in the log)
USER_AGENT = "AllianceHub-Webhooks/1"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class Refused(Exception):
    """The delivery cannot be made and retrying would not help."""


def deliver_webhooks(
    session_factory: SessionFactory,
    settings: Settings,
    now: datetime | None = None,
    limit: int = 50,
    stop: threading.Event | None = None,
) -> int:
    """Send up to `limit` due deliveries; return how many the receivers accepted. Once
    `stop` is set, finish the delivery under way and claim no more."""
    delivered = 0
    with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
        for _ in range(limit):
            if stop is not None and stop.is_set():
                break
            claim = leases.claim_next(session_factory, WebhookDelivery, now)
            if claim is None:
                break
            delivered += _deliver(session_factory, settings, client, claim, now)
    return delivered


def _deliver(
    session_factory: SessionFactory,
    settings: Settings,
    client: httpx.Client,
    claim: Claim,
    now: datetime | None,
) -> int:
    with session_factory() as session:
        delivery = session.get(WebhookDelivery, claim.row_id)
        webhook = session.get(Webhook, delivery.webhook_id) if delivery else None
        if delivery is None or webhook is None:
            return 0  # removed with its webhook while claimed
        url, payload, active = webhook.url, delivery.payload, webhook.active
        try:
            secret = secretbox.open_sealed(settings, webhook.secret_sealed)
        except secretbox.SecretUnreadable as error:
            _failed(session_factory, claim, None, str(error), now, for_good=True)
            return 0
    if not active:
        _failed(session_factory, claim, None, "The webhook is switched off.", now, for_good=True)
        return 0
    body = payload.encode()
    at = now if now is not None else utcnow()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Hub-Delivery": str(claim.row_id),
        "Hub-Signature": signature(secret, int(at.timestamp()), body),
    }
    try:
        _check_target(settings, url)
        response = client.post(url, content=body, headers=headers)
    except Refused as error:
        _failed(session_factory, claim, None, str(error), now, for_good=True)
        return 0
    except httpx.HTTPError as error:
        _failed(session_factory, claim, None, f"{type(error).__name__}: {error}", now)
        return 0
    if 200 <= response.status_code < 300:
        leases.finish(
            session_factory,
            WebhookDelivery,
            claim,
            delivered_at=at,
            next_attempt_at=None,
            last_status=response.status_code,
            last_error="",
        )
        return 1
    _failed(session_factory, claim, response.status_code, _reason(response), now)
    return 0


def _reason(response: httpx.Response) -> str:
    text = response.text[:200].strip()
    return f"HTTP {response.status_code}" + (f": {text}" if text else "")


def _failed(
    session_factory: SessionFactory,
    claim: Claim,
    status: int | None,
    reason: str,
    now: datetime | None,
    for_good: bool = False,
) -> None:
    at = now if now is not None else utcnow()
    if for_good or claim.attempts >= MAX_ATTEMPTS:
        log.warning("webhook delivery %d given up: %s", claim.row_id, reason)
        next_at = None
    else:
        next_at = at + leases.retry_delay(claim.attempts)
    leases.finish(
        session_factory,
        WebhookDelivery,
        claim,
        next_attempt_at=next_at,
        last_status=status,
        last_error=reason[:500],
    )


def _check_target(settings: Settings, url: str) -> None:
    """In production a webhook may only reach the public internet, never the hub's own
    network (cloud metadata, databases): the address is checked when sending, as DNS
    may have changed since the webhook was saved. (A name that changes its answer between
    this check and the connection could still slip through; an egress proxy would close
    that.)"""
    if settings.env != Environment.production:
        return
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError as error:  # perhaps for a moment: retried like a refused connection
        raise httpx.ConnectError(f"The host {host} could not be resolved.") from error
    for address in addresses:
        if not ipaddress.ip_address(str(address).split("%")[0]).is_global:
            raise Refused(f"{host} resolves to a private address; webhooks go to public ones.")
