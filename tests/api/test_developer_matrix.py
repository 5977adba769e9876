"""The authorization matrix of the Developers pages: API tokens (everyone makes their own;
brand tokens are their brand admin's) and webhooks (a brand admin's, for their own brand
only), asked by every role of the main matrix (tests/test_authorization_matrix.py).

Same conventions as the main matrix. Webhooks are a brand administrator's tool: anyone
else is refused the pages (403); another brand's webhook, token or delivery is a 404. The
columns act on brand A (apparel), but other-coordinator acts on brand C (toys).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from sqlalchemy import Connection
from sqlmodel import Session, select

from hub.api import tokens, webhooks
from hub.api.models import ApiToken, Webhook, WebhookDelivery
from hub.config import Settings
from hub.members.models import Brand, Person
from tests.conftest import ClientAs, World
from tests.intel.factories import actor_of
from tests.test_authorization_matrix import COLUMNS, DONE, ROLES, SIGN_IN, Answer, _browser, ask

# fmt: off
DEVELOPER_MATRIX: dict[tuple[str, str], tuple[Answer, ...]] = {
    # (method, path template): answers in the order of ROLES
    #    anonym.  member   b-admin  other-b  coord.   other-c  alliance
    # Everyone signed in reads the reference and makes personal tokens.
    ("GET", "/developers"):
        (SIGN_IN, 200,     200,     200,     200,     200,     200),
    ("POST", "/developers/tokens"):
        (SIGN_IN, 200,     200,     200,     200,     200,     200),
    # The brand's brand token: its brand admin revokes it; to anyone else it is not there.
    ("POST", "/developers/tokens/{token_id}/revoke"):
        (SIGN_IN, 404,     DONE,    404,     404,     404,     404),
    # Webhooks: brand admins, each for their own brand.
    ("GET", "/developers/webhooks"):
        (SIGN_IN, 403,     200,     200,     403,     403,     403),
    ("POST", "/developers/webhooks"):
        (SIGN_IN, 403,     200,     200,     403,     403,     403),
    ("GET", "/developers/webhooks/{webhook_id}"):
        (SIGN_IN, 403,     200,     404,     403,     403,     403),
    ("POST", "/developers/webhooks/{webhook_id}/test"):
        (SIGN_IN, 403,     DONE,    404,     403,     403,     403),
    ("POST", "/developers/webhooks/{webhook_id}/remove"):
        (SIGN_IN, 403,     DONE,    404,     403,     403,     403),
    ("POST", "/developers/webhooks/deliveries/{delivery_id}/redeliver"):
        (SIGN_IN, 403,     DONE,    404,     403,     403,     403),
}
# fmt: on

NEW_HOOK_URL = "https://tools.example/matrix"


@dataclass(frozen=True)
class DeveloperSide:
    """One brand's developer things: a brand token, a webhook with a given-up delivery."""

    brand: Brand
    token: ApiToken
    webhook: Webhook
    delivery: WebhookDelivery

    def url(self, path: str) -> str:
        return path.format(
            token_id=self.token.id, webhook_id=self.webhook.id, delivery_id=self.delivery.id
        )


def _side(db: Session, settings: Settings, admin: Person) -> DeveloperSide:
    actor = actor_of(db, admin)
    tokens.create(db, actor, f"Brand tool of {actor.brand_slug}", "brand", "read")
    token = db.exec(select(ApiToken).where(ApiToken.person_id == admin.id)).one()
    webhook, _ = webhooks.create(
        db, settings, actor, f"https://{actor.brand_slug}.example/hook", ["report.created"]
    )
    delivery = WebhookDelivery(
        webhook_id=webhook.id or 0,
        event="ping",
        payload="{}",
        attempts=10,
        last_error="HTTP 500",
    )
    db.add(delivery)
    db.flush()
    delivery.next_attempt_at = None  # given up; set after the insert, whose default is "now"
    db.commit()
    brand = db.get(Brand, admin.brand_id)
    assert brand is not None
    return DeveloperSide(brand, token, webhook, delivery)


@pytest.fixture(scope="module")
def sides(module_db: Session, module_world: World, settings: Settings) -> dict[str, DeveloperSide]:
    """Built once for the module: each case runs in a savepoint of it (see `connection`)."""
    return {
        "apparel": _side(module_db, settings, module_world.admin_a),
        "toys": _side(module_db, settings, module_world.admin_c),
    }


@pytest.fixture
def connection(sides: dict[str, DeveloperSide], savepoint: Connection) -> Connection:
    return savepoint


@pytest.fixture
def world(module_world: World) -> World:
    return module_world


FORMS: dict[tuple[str, str], Callable[[DeveloperSide], Mapping[str, str | list[str]]]] = {
    ("POST", "/developers/tokens"): lambda t: {"name": "Matrix token", "scope": "read"},
    ("POST", "/developers/tokens/{token_id}/revoke"): lambda t: {},
    ("POST", "/developers/webhooks"): lambda t: {
        "url": NEW_HOOK_URL,
        "events": ["report.created"],
    },
    ("POST", "/developers/webhooks/{webhook_id}/test"): lambda t: {},
    ("POST", "/developers/webhooks/{webhook_id}/remove"): lambda t: {},
    ("POST", "/developers/webhooks/deliveries/{delivery_id}/redeliver"): lambda t: {},
}

FILES: dict[tuple[str, str], Callable[[DeveloperSide], dict[str, tuple[str, bytes, str]]]] = {}


def _row(db: Session, model: type, row_id: int | None) -> object:
    db.expire_all()
    return db.get(model, row_id)


EFFECTS: dict[tuple[str, str], Callable[[Session, DeveloperSide], bool]] = {
    ("POST", "/developers/tokens"): lambda db, t: (
        db.exec(select(ApiToken).where(ApiToken.name == "Matrix token")).first() is not None
    ),
    ("POST", "/developers/tokens/{token_id}/revoke"): lambda db, t: (
        getattr(_row(db, ApiToken, t.token.id), "revoked_at", None) is not None
    ),
    ("POST", "/developers/webhooks"): lambda db, t: (
        db.exec(select(Webhook).where(Webhook.url == NEW_HOOK_URL)).first() is not None
    ),
    ("POST", "/developers/webhooks/{webhook_id}/test"): lambda db, t: (
        db.exec(
            select(WebhookDelivery).where(
                WebhookDelivery.webhook_id == t.webhook.id, WebhookDelivery.attempts == 0
            )
        ).first()
        is not None
    ),
    ("POST", "/developers/webhooks/{webhook_id}/remove"): lambda db, t: (
        _row(db, Webhook, t.webhook.id) is None
    ),
    ("POST", "/developers/webhooks/deliveries/{delivery_id}/redeliver"): lambda db, t: (
        getattr(_row(db, WebhookDelivery, t.delivery.id), "next_attempt_at", None) is not None
    ),
}

CASES = [
    pytest.param(method, path, role, answer, id=f"{method} {path}-{role}")
    for (method, path), answers in DEVELOPER_MATRIX.items()
    for role, answer in zip(ROLES, answers, strict=True)
]


@pytest.mark.parametrize(("method", "path", "role", "answer"), CASES)
def test_developer_route_answers_role(
    method: str,
    path: str,
    role: str,
    answer: Answer,
    app: FastAPI,
    db: Session,
    world: World,
    sides: dict[str, DeveloperSide],
    client_as: ClientAs,
) -> None:
    """The route answers the role as the matrix says, and a form acts only when allowed."""
    browser = _browser(app, client_as, world, role)
    target = sides[COLUMNS[role][1]]
    ask(method, path, role, answer, db, target, browser, FORMS, EFFECTS, FILES)


def test_the_matrix_covers_both_brands(sides: dict[str, DeveloperSide]) -> None:
    """The two sides are different brands, so the other-brand columns mean something."""
    assert sides["apparel"].brand.id != sides["toys"].brand.id
    assert DONE in DEVELOPER_MATRIX[("POST", "/developers/webhooks/{webhook_id}/remove")]
