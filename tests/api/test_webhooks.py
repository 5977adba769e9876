"""Brand webhooks: who is sent which event (never what the brand may not read), the signed
POST to a real HTTP receiver on loopback, retries with back-off, the delivery log."""

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, delete, select

from hub import secretbox
from hub.api import webhooks
from hub.api.models import Webhook, WebhookDelivery, WebhookEvent
from hub.api.webhook_delivery import MAX_ATTEMPTS, deliver_webhooks, signature
from hub.clock import utcnow
from hub.config import Environment, Settings
from hub.db import make_engine, session_factory, upgrade_database
from hub.intel.models import Tlp
from hub.leases import SessionFactory
from hub.members.models import Brand, Person
from hub.testbuys import purchases
from hub.testbuys.models import PurchaseStatus, Verdict
from tests.conftest import World, build_world
from tests.databases import throwaway_database
from tests.intel.factories import actor_of, make_report
from tests.testbuys.factories import make_campaign, make_purchase, sign_up


def add_hook(
    session: Session, settings: Settings, admin: Person, url: str, events: list[str]
) -> tuple[Webhook, str]:
    return webhooks.create(session, settings, actor_of(session, admin), url, events)


def queued(session: Session, brand: Brand) -> list[dict[str, object]]:
    rows = session.exec(
        select(WebhookDelivery)
        .join(Webhook, col(Webhook.id) == WebhookDelivery.webhook_id)
        .where(Webhook.brand_id == brand.id)
        .order_by(col(WebhookDelivery.id))
    ).all()
    return [json.loads(row.payload) for row in rows]


ALL = [event.value for event in WebhookEvent]


# Who is sent what ---------------------------------------------------------------------


def test_a_report_reaches_the_groups_brands_that_may_read_it(
    db: Session, world: World, settings: Settings
) -> None:
    add_hook(db, settings, world.admin_a, "http://127.0.0.1:9/a", ALL)
    b_admin = _admin_of(db, world.brand_b)
    add_hook(db, settings, b_admin, "http://127.0.0.1:9/b", ALL)
    add_hook(db, settings, world.admin_c, "http://127.0.0.1:9/c", ALL)

    green = make_report(db, world.member_a, world.apparel, Tlp.green, title="Green one")
    strict = make_report(db, world.member_a, world.apparel, Tlp.amber_strict, title="Strict")
    red = make_report(
        db, world.member_b, world.apparel, Tlp.red, title="Red one", recipients=[world.member_a]
    )
    toys = make_report(db, world.member_c, world.toys, Tlp.green, title="Toys one")

    def titles(brand: Brand) -> list[object]:
        return [
            event["data"]["report"]["title"]  # type: ignore[index]
            for event in queued(db, brand)
            if event["type"] == WebhookEvent.report_created
        ]

    # Brand A wrote the strict one (its own brand may read it); brand B may not; nobody's
    # tool gets a TLP:RED report, not even the addressee's brand; toys stay with toys.
    assert titles(world.brand_a) == ["Green one", "Strict"]
    assert titles(world.brand_b) == ["Green one"]
    assert titles(world.brand_c) == ["Toys one"]
    assert red.id and strict.id and green.id and toys.id


def test_an_event_carries_the_report_and_its_indicators_with_paths(
    db: Session, world: World, settings: Settings
) -> None:
    add_hook(db, settings, world.admin_a, "http://127.0.0.1:9/a", [WebhookEvent.report_created])
    report = make_report(
        db,
        world.member_b,
        world.apparel,
        Tlp.amber,
        title="Outlet on Marketplace One",
        indicators=[("shop_name", "Lucky Outlet")],
    )

    (event,) = queued(db, world.brand_a)

    assert event["type"] == "report.created" and len(str(event["id"])) == 32
    data = event["data"]["report"]  # type: ignore[index]
    assert data["path"] == f"/intel/{report.id}"
    assert data["api_path"] == f"/api/v1/reports/{report.id}"
    assert (data["group"], data["brand"], data["tlp"]) == ("apparel-t", "brand-b", "amber")
    assert data["indicators"] == [{"kind": "shop_name", "value": "Lucky Outlet"}]


def test_only_chosen_events_are_sent(db: Session, world: World, settings: Settings) -> None:
    add_hook(db, settings, world.admin_a, "http://127.0.0.1:9/a", [WebhookEvent.verdict])
    make_report(db, world.member_b, world.apparel, Tlp.green)

    assert queued(db, world.brand_a) == []


def test_a_correlation_reaches_the_brand_of_the_earlier_report(
    db: Session, world: World, settings: Settings
) -> None:
    add_hook(db, settings, world.admin_a, "http://127.0.0.1:9/a", [WebhookEvent.correlation])
    b_admin = _admin_of(db, world.brand_b)
    add_hook(db, settings, b_admin, "http://127.0.0.1:9/b", [WebhookEvent.correlation])
    earlier = make_report(
        db, world.member_a, world.apparel, Tlp.amber, indicators=[("phone", "+86 138 0013 8000")]
    )
    later = make_report(
        db, world.member_b, world.apparel, Tlp.amber, indicators=[("phone", "+8613800138000")]
    )

    (event,) = queued(db, world.brand_a)
    assert event["type"] == "correlation.found"
    assert event["data"]["report"]["id"] == later.id  # type: ignore[index]
    assert event["data"]["your_report"]["id"] == earlier.id  # type: ignore[index]
    # The later report's brand is not told about its own report.
    assert queued(db, world.brand_b) == []


def test_a_correlation_with_a_report_the_brand_may_not_read_is_not_sent(
    db: Session, world: World, settings: Settings
) -> None:
    add_hook(db, settings, world.admin_a, "http://127.0.0.1:9/a", [WebhookEvent.correlation])
    make_report(db, world.member_a, world.apparel, Tlp.amber, indicators=[("handle", "@fakes")])
    make_report(
        db, world.member_b, world.apparel, Tlp.amber_strict, indicators=[("handle", "@fakes")]
    )

    assert queued(db, world.brand_a) == []


def test_a_verdict_reaches_the_brand_the_item_was_bought_for(
    db: Session, world: World, settings: Settings
) -> None:
    add_hook(db, settings, world.admin_a, "http://127.0.0.1:9/a", [WebhookEvent.verdict])
    b_admin = _admin_of(db, world.brand_b)
    add_hook(db, settings, b_admin, "http://127.0.0.1:9/b", ALL)
    campaign = make_campaign(db, world.coordinator, world.apparel, slots=2, max_per_brand=2)
    signup = sign_up(db, world.admin_a, campaign, 1)
    purchase = make_purchase(db, world.coordinator, campaign, signup, seller="GlossyOutlet")
    runner = actor_of(db, world.coordinator)
    purchases.change_status(db, runner, purchase, campaign, PurchaseStatus.ordered)
    assert queued(db, world.brand_a) == []  # no verdict yet
    purchases.change_status(
        db, runner, purchase, campaign, PurchaseStatus.verdict, Verdict.counterfeit
    )

    (event,) = queued(db, world.brand_a)
    assert event["type"] == "purchase.verdict"
    assert event["data"]["purchase"]["verdict"] == "counterfeit"  # type: ignore[index]
    assert event["data"]["purchase"]["seller"] == "GlossyOutlet"  # type: ignore[index]
    assert queued(db, world.brand_b) == []


def test_the_secret_is_stored_sealed(db: Session, world: World, settings: Settings) -> None:
    hook, secret = add_hook(db, settings, world.admin_a, "https://tools.example/h", ALL)

    assert secret.startswith("whsec_") and secret not in hook.secret_sealed
    assert secretbox.open_sealed(settings, hook.secret_sealed) == secret


@pytest.mark.parametrize(
    ("url", "events", "field"),
    [
        ("", ALL, "url"),
        ("ftp://tools.example/h", ALL, "url"),
        ("https://user:pw@tools.example/h", ALL, "url"),
        ("https://tools.example/" + "x" * 500, ALL, "url"),
        ("https://tools.example/h", [], "events"),
        ("https://tools.example/h", ["report.deleted"], "events"),
    ],
)
def test_a_bad_webhook_is_refused_with_a_reason(
    db: Session, world: World, settings: Settings, url: str, events: list[str], field: str
) -> None:
    from hub.errors import InvalidForm

    with pytest.raises(InvalidForm) as refused:
        add_hook(db, settings, world.admin_a, url, events)

    assert field in refused.value.errors
    assert db.exec(select(Webhook)).all() == []


def test_production_takes_only_https(db: Session, world: World, settings: Settings) -> None:
    from hub.errors import InvalidForm

    production = settings.model_copy(update={"env": Environment.production})
    with pytest.raises(InvalidForm):
        add_hook(db, production, world.admin_a, "http://tools.example/h", ALL)


def _admin_of(db: Session, brand: Brand) -> Person:
    from hub.members.models import Role
    from tests import factories

    return factories.make_person(db, brand, Role.brand_admin, name=f"Admin of {brand.slug}")


# Sending ---------------------------------------------------------------------------


@dataclass
class Receiver:
    """A real HTTP server on loopback that records each POST and answers with the next
    status in `answers` (then 200)."""

    answers: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the http.server name)
                length = int(self.headers.get("Content-Length", "0"))
                receiver.received.append((dict(self.headers), self.rfile.read(length)))
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"thanks" if status < 300 else b"receiver is down")

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def committed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Engine, Settings, World]]:
    """A database of its own whose rows are committed: the sender reads them from sessions
    of its own, as the worker does."""
    with throwaway_database(tmp_path_factory.mktemp("webhooks")) as url:
        settings = Settings(
            env=Environment.test, database_url=url, base_url="http://testserver", dev_idp=False
        )
        engine = make_engine(settings)
        upgrade_database(engine)
        with Session(engine, expire_on_commit=False) as session:
            world = build_world(session)
        try:
            yield engine, settings, world
        finally:
            engine.dispose()


@pytest.fixture
def sessions(committed: tuple[Engine, Settings, World]) -> SessionFactory:
    engine, _, _ = committed
    with Session(engine) as session:
        session.exec(delete(WebhookDelivery))
        session.exec(delete(Webhook))
        session.commit()
    return session_factory(engine)


def _post_one(
    sessions: SessionFactory, settings: Settings, world: World, url: str
) -> tuple[str, int]:
    with sessions() as session:
        hook, secret = add_hook(session, settings, world.admin_a, url, ALL)
        make_report(session, world.member_b, world.apparel, Tlp.green, title="Sent one")
        assert hook.id is not None
        return secret, hook.id


def test_a_delivery_is_posted_signed_and_recorded(
    sessions: SessionFactory, committed: tuple[Engine, Settings, World], receiver: Receiver
) -> None:
    _, settings, world = committed
    secret, hook_id = _post_one(sessions, settings, world, receiver.url)

    assert deliver_webhooks(sessions, settings) == 1

    ((headers, body),) = receiver.received
    assert json.loads(body)["data"]["report"]["title"] == "Sent one"
    assert headers["Content-Type"] == "application/json"
    stamp, signed = dict(p.split("=", 1) for p in headers["Hub-Signature"].split(",")).values()
    expected = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
    assert hmac.compare_digest(signed, expected.hexdigest())
    assert abs(utcnow().timestamp() - int(stamp)) < 60
    with sessions() as session:
        (delivery,) = session.exec(select(WebhookDelivery)).all()
        assert delivery.delivered_at is not None and delivery.next_attempt_at is None
        assert (delivery.last_status, delivery.attempts) == (200, 1)
        assert headers["Hub-Delivery"] == str(delivery.id)
    # Nothing is sent twice.
    assert deliver_webhooks(sessions, settings) == 0
    assert len(receiver.received) == 1


def test_a_signature_made_with_another_secret_does_not_match() -> None:
    body = b'{"id":"1"}'
    assert signature("whsec_a", 1700000000, body) != signature("whsec_b", 1700000000, body)
    assert signature("whsec_a", 1700000000, body) != signature("whsec_a", 1700000001, body)


def test_a_failing_receiver_is_retried_with_back_off_then_given_up(
    sessions: SessionFactory, committed: tuple[Engine, Settings, World], receiver: Receiver
) -> None:
    _, settings, world = committed
    _post_one(sessions, settings, world, receiver.url)
    receiver.answers = [500] * MAX_ATTEMPTS
    now = utcnow()

    waits = []
    for _ in range(MAX_ATTEMPTS):
        assert deliver_webhooks(sessions, settings, now=now) == 0
        with sessions() as session:
            (delivery,) = session.exec(select(WebhookDelivery)).all()
        if delivery.next_attempt_at is None:
            break
        waits.append(delivery.next_attempt_at - now)
        assert deliver_webhooks(sessions, settings, now=now) == 0  # not due yet
        now = delivery.next_attempt_at

    assert waits[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert len(receiver.received) == MAX_ATTEMPTS
    assert delivery.attempts == MAX_ATTEMPTS and delivery.delivered_at is None
    assert delivery.last_status == 500 and "receiver is down" in delivery.last_error
    # The brand admin sends it again once the receiver is fixed: the same event id.
    with sessions() as session:
        admin = actor_of(session, world.admin_a)
        webhooks.redeliver(session, admin, delivery.id or 0)
    assert deliver_webhooks(sessions, settings, now=now) == 1
    first, last = receiver.received[0][1], receiver.received[-1][1]
    assert json.loads(first)["id"] == json.loads(last)["id"]


def test_an_unreachable_receiver_is_retried(
    sessions: SessionFactory, committed: tuple[Engine, Settings, World]
) -> None:
    _, settings, world = committed
    closed = Receiver().start()
    url = closed.url
    closed.stop()  # nothing listens there any more
    _post_one(sessions, settings, world, url)

    assert deliver_webhooks(sessions, settings) == 0

    with sessions() as session:
        (delivery,) = session.exec(select(WebhookDelivery)).all()
    assert delivery.next_attempt_at is not None and delivery.last_status is None
    assert "ConnectError" in delivery.last_error


def test_production_never_posts_to_a_private_address(
    sessions: SessionFactory, committed: tuple[Engine, Settings, World], receiver: Receiver
) -> None:
    _, settings, world = committed
    _post_one(sessions, settings, world, receiver.url)
    production = settings.model_copy(update={"env": Environment.production})

    assert deliver_webhooks(sessions, production) == 0

    assert receiver.received == []
    with sessions() as session:
        (delivery,) = session.exec(select(WebhookDelivery)).all()
    assert delivery.next_attempt_at is None and "private address" in delivery.last_error


def test_a_removed_webhook_takes_its_queue_and_log_with_it(
    sessions: SessionFactory, committed: tuple[Engine, Settings, World], receiver: Receiver
) -> None:
    _, settings, world = committed
    _, hook_id = _post_one(sessions, settings, world, receiver.url)
    with sessions() as session:
        webhooks.remove(session, actor_of(session, world.admin_a), hook_id)

    assert deliver_webhooks(sessions, settings) == 0
    assert receiver.received == []
    with sessions() as session:
        assert session.exec(select(WebhookDelivery)).all() == []
