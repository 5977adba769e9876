"""The authorization matrix of the test-buy program: every test-buy route, asked by every
role of the main matrix (tests/test_authorization_matrix.py), with the answer each must get.

Same conventions as the main matrix: SIGN_IN, DONE or a status; a thing the actor may not
see answers 404 (a campaign of another group, a purchase of another brand, a sign-up or a
persona to anyone but the campaign's runners), an action they may not take on a thing they
can see answers 403. The main file's meta-tests count these rows too, so a new test-buy
route without a row here fails the suite.

The columns act on the apparel side, but other-brand-admin (admin_c, of toys, on the
apparel things) and other-coordinator (the apparel coordinator, on the toys things).
"""

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from fastapi import FastAPI
from sqlalchemy import Connection
from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from hub.clock import utcnow
from hub.config import Settings
from hub.groups.models import WorkingGroup
from hub.intel import evidence
from hub.members.models import Brand, Person, Role
from hub.testbuys import campaigns, custody, personas, purchases
from hub.testbuys.campaigns import DATETIME_FORMAT
from hub.testbuys.models import (
    Campaign,
    CampaignStatus,
    CustodyEntry,
    Persona,
    Purchase,
    PurchaseEvidence,
    PurchaseStatus,
    Signup,
    SignupEvent,
    SignupState,
    Verdict,
)
from tests import factories
from tests.conftest import ClientAs, World
from tests.intel.factories import actor_of, picture
from tests.test_authorization_matrix import (
    COLUMNS,
    DONE,
    ROLES,
    SIGN_IN,
    Answer,
    _browser,
    ask,
)
from tests.testbuys.factories import make_campaign, make_purchase, sign_up

# fmt: off
TESTBUY_MATRIX: dict[tuple[str, str], tuple[Answer, ...]] = {
    # (method, path template): answers in the order of ROLES
    #    anonym.  member   b-admin  other-b  coord.   other-c  alliance
    # The list holds only what each one may see; opening campaigns is for their runners.
    ("GET", "/testbuys"):
        (SIGN_IN, 200,     200,     200,     200,     200,     200),
    ("GET", "/testbuys/new"):
        (SIGN_IN, 404,     404,     404,     200,     200,     200),
    # Someone who runs no group's campaigns finds no form; a runner is refused another group.
    ("POST", "/testbuys"):
        (SIGN_IN, 404,     404,     404,     DONE,    403,     DONE),
    # An open campaign: seen by the group's brands, its coordinators and alliance admins.
    ("GET", "/testbuys/{campaign_id}"):
        (SIGN_IN, 200,     200,     404,     200,     404,     200),
    ("GET", "/testbuys/{campaign_id}/results"):
        (SIGN_IN, 200,     200,     404,     200,     404,     200),
    ("GET", "/testbuys/{campaign_id}/results.csv"):
        (SIGN_IN, 200,     200,     404,     200,     404,     200),
    # Running the campaign: its group's coordinators and alliance admins.
    ("GET", "/testbuys/{campaign_id}/roster"):
        (SIGN_IN, 403,     403,     404,     200,     404,     200),
    ("GET", "/testbuys/{campaign_id}/edit"):
        (SIGN_IN, 403,     403,     404,     200,     404,     200),
    ("POST", "/testbuys/{campaign_id}/edit"):
        (SIGN_IN, 403,     403,     404,     DONE,    404,     DONE),
    ("GET", "/testbuys/{campaign_id}/duplicate"):
        (SIGN_IN, 403,     403,     404,     200,     404,     200),
    ("POST", "/testbuys/{campaign_id}/status"):
        (SIGN_IN, 403,     403,     404,     DONE,    404,     DONE),
    ("POST", "/testbuys/{campaign_id}/purchases"):
        (SIGN_IN, 403,     403,     404,     DONE,    404,     DONE),
    # Signing up and withdrawing: the brand admins of the group's brands, for their brand.
    ("POST", "/testbuys/{campaign_id}/signup"):
        (SIGN_IN, 403,     DONE,    404,     403,     404,     403),
    ("POST", "/testbuys/{campaign_id}/withdraw"):
        (SIGN_IN, 403,     DONE,    404,     403,     404,     403),
    # A sign-up, by its id, exists only for the campaign's runners.
    ("POST", "/testbuys/signups/{signup_id}/approve"):
        (SIGN_IN, 404,     404,     404,     DONE,    404,     DONE),
    ("POST", "/testbuys/signups/{signup_id}/reorder"):
        (SIGN_IN, 404,     404,     404,     DONE,    404,     DONE),
    ("POST", "/testbuys/signups/{signup_id}/move"):
        (SIGN_IN, 404,     404,     404,     DONE,    404,     DONE),
    # A purchase: seen by the runners and the brand it was bought for; the brand's people
    # examine it (verdict, evidence, custody), only the runners plan and edit it.
    ("GET", "/testbuys/purchases/{purchase_id}"):
        (SIGN_IN, 200,     200,     404,     200,     404,     200),
    ("POST", "/testbuys/purchases/{purchase_id}/edit"):
        (SIGN_IN, 403,     403,     404,     DONE,    404,     DONE),
    ("POST", "/testbuys/purchases/{purchase_id}/status"):
        (SIGN_IN, DONE,    DONE,    404,     DONE,    404,     DONE),
    ("POST", "/testbuys/purchases/{purchase_id}/evidence"):
        (SIGN_IN, DONE,    DONE,    404,     DONE,    404,     DONE),
    ("GET", "/testbuys/evidence/{evidence_id}"):
        (SIGN_IN, 200,     200,     404,     200,     404,     200),
    ("GET", "/testbuys/evidence/{evidence_id}/thumbnail"):
        (SIGN_IN, 200,     200,     404,     200,     404,     200),
    ("POST", "/testbuys/purchases/{purchase_id}/custody"):
        (SIGN_IN, DONE,    DONE,    404,     DONE,    404,     DONE),
    # To the board: who examines the purchase and may post in the group (as on the boards,
    # alliance admins do not post).
    ("POST", "/testbuys/purchases/{purchase_id}/report"):
        (SIGN_IN, DONE,    DONE,    404,     DONE,    404,     403),
    # Buyer personas: kept by the runners; to anyone else the register does not exist.
    ("GET", "/testbuys/personas"):
        (SIGN_IN, 404,     404,     404,     200,     200,     200),
    ("POST", "/testbuys/personas"):
        (SIGN_IN, 404,     404,     404,     DONE,    403,     DONE),
    ("GET", "/testbuys/personas/{persona_id}"):
        (SIGN_IN, 404,     404,     404,     200,     404,     200),
    ("POST", "/testbuys/personas/{persona_id}/burn"):
        (SIGN_IN, 404,     404,     404,     DONE,    404,     DONE),
}
# fmt: on


@dataclass(frozen=True)
class BuySide:
    """The test-buy things of one side of the world: a group, one of its brands, and more."""

    group: WorkingGroup
    brand: Brand  # in `group`
    campaign: Campaign  # open now; `brand` confirmed for three purchases, two planned
    other_campaign: Campaign  # another open campaign of `group`; `brand` confirmed for one
    signup: Signup  # `brand`'s sign-up for `campaign`, not approved yet
    waitlisted: Signup  # another brand's sign-up for `campaign`, on the waitlist
    purchase: Purchase  # for `brand`, examined: ready for its verdict; has custody, a file
    judged: Purchase  # for `brand`, judged counterfeit, not on the board yet
    custody: CustodyEntry  # the first link of `purchase`'s chain of custody
    evidence: PurchaseEvidence  # a picture of `purchase`
    persona: Persona  # a buyer persona of `group`

    def url(self, path: str) -> str:
        """The concrete URL for a route's path template."""
        # `brand` withdraws where no purchase is planned on its slots yet.
        campaign = self.other_campaign if path.endswith("/withdraw") else self.campaign
        signup = self.signup if path.endswith("/approve") else self.waitlisted
        purchase = self.judged if path.endswith("/report") else self.purchase
        return path.format(
            campaign_id=campaign.id,
            signup_id=signup.id,
            purchase_id=purchase.id,
            evidence_id=self.evidence.id,
            persona_id=self.persona.id,
        )


def _campaign_form(t: BuySide) -> dict[str, str]:
    now = utcnow()
    return {
        "group": t.group.slug,
        "title": "Opened by the matrix",
        "goal": "Buy what the matrix finds.",
        "channels": "Marketplace One",
        "region": "Europe",
        "opens_at": (now + timedelta(days=1)).strftime(DATETIME_FORMAT),
        "closes_at": (now + timedelta(days=8)).strftime(DATETIME_FORMAT),
        "slots": "4",
        "max_per_brand": "2",
        "budget": "500.00",
        "currency": "EUR",
        "cost_rule": "own",
    }


# What each form sends: valid data, so an allowed request really does the thing.
FORMS: dict[tuple[str, str], Callable[[BuySide], Mapping[str, str | list[str]]]] = {
    ("POST", "/testbuys"): _campaign_form,
    ("POST", "/testbuys/{campaign_id}/edit"): lambda t: (
        asdict(campaigns.form_of(t.campaign, t.group)) | {"title": "Edited by the matrix"}
    ),
    ("POST", "/testbuys/{campaign_id}/status"): lambda t: {"status": CampaignStatus.closed},
    ("POST", "/testbuys/{campaign_id}/purchases"): lambda t: {
        "signup": str(t.signup.id),
        "product": "Handbag model 9",
        "marketplace": "Marketplace Two",
        "seller": "Planned by the matrix",
        "listing_url": "https://marketplace.example/item/matrix",
        "item_cost": "40.00",
        "cost_currency": "EUR",
    },
    # The brand asks for as many purchases as it holds: only what it wants bought changes.
    ("POST", "/testbuys/{campaign_id}/signup"): lambda t: {
        "requested": "3",
        "products": "Asked for by the matrix",
        "targets": "",
    },
    ("POST", "/testbuys/{campaign_id}/withdraw"): lambda t: {},
    ("POST", "/testbuys/signups/{signup_id}/approve"): lambda t: {},
    ("POST", "/testbuys/signups/{signup_id}/reorder"): lambda t: {
        "place": "1",
        "reason": "Reordered by the matrix.",
    },
    ("POST", "/testbuys/signups/{signup_id}/move"): lambda t: {
        "to": str(t.other_campaign.id),
        "reason": "Moved by the matrix.",
    },
    ("POST", "/testbuys/purchases/{purchase_id}/edit"): lambda t: (
        asdict(purchases.form_of(t.purchase)) | {"order_number": "MATRIX-ORDER"}
    ),
    ("POST", "/testbuys/purchases/{purchase_id}/status"): lambda t: {
        "status": PurchaseStatus.verdict,
        "verdict": Verdict.counterfeit,
        "note": "Judged by the matrix.",
    },
    ("POST", "/testbuys/purchases/{purchase_id}/evidence"): lambda t: {},  # and FILES
    ("POST", "/testbuys/purchases/{purchase_id}/custody"): lambda t: {
        "kind": "handover",
        "occurred_at": utcnow().strftime(DATETIME_FORMAT),
        "from_party": "Coordinator",
        "to_party": "Matrix lab",
        "place": "Paris",
        "purpose": "Examination",
        "seal_number": "M-1",
        "seal_intact": "yes",
    },
    ("POST", "/testbuys/purchases/{purchase_id}/report"): lambda t: {},
    ("POST", "/testbuys/personas"): lambda t: {
        "group": t.group.slug,
        "name": "Matrix Persona",
        "drop_address": "1 Matrix Street, Lyon",
        "contact": "matrix.persona@example.com",
        "accounts": "",
    },
    ("POST", "/testbuys/personas/{persona_id}/burn"): lambda t: {"reason": "Burned by the matrix."},
}

# Files some forms send with their data.
FILES: dict[tuple[str, str], Callable[[BuySide], dict[str, tuple[str, bytes, str]]]] = {
    ("POST", "/testbuys/purchases/{purchase_id}/evidence"): lambda t: {
        "evidence_files": ("matrix.png", picture("testbuy-matrix"), "image/png")
    },
}


Row = TypeVar("Row", Campaign, Signup, Purchase, Persona)


def _fresh(db: Session, row: Row) -> Row:
    fresh = db.get(type(row), row.id)
    assert fresh is not None
    return fresh


def _exists(db: Session, query: SelectOfScalar[Any]) -> bool:
    return db.exec(query).first() is not None


# What each form changes; checked to have happened when allowed and not when refused.
EFFECTS: dict[tuple[str, str], Callable[[Session, BuySide], bool]] = {
    ("POST", "/testbuys"): lambda db, t: _exists(
        db,
        select(Campaign).where(
            Campaign.group_id == t.group.id, Campaign.title == "Opened by the matrix"
        ),
    ),
    ("POST", "/testbuys/{campaign_id}/edit"): lambda db, t: (
        _fresh(db, t.campaign).title == "Edited by the matrix"
    ),
    ("POST", "/testbuys/{campaign_id}/status"): lambda db, t: (
        _fresh(db, t.campaign).status == CampaignStatus.closed
    ),
    ("POST", "/testbuys/{campaign_id}/purchases"): lambda db, t: _exists(
        db,
        select(Purchase).where(
            Purchase.campaign_id == t.campaign.id, Purchase.seller == "Planned by the matrix"
        ),
    ),
    ("POST", "/testbuys/{campaign_id}/signup"): lambda db, t: _exists(
        db,
        select(Signup).where(
            Signup.campaign_id == t.campaign.id, Signup.products == "Asked for by the matrix"
        ),
    ),
    ("POST", "/testbuys/{campaign_id}/withdraw"): lambda db, t: _exists(
        db,
        select(Signup).where(
            Signup.campaign_id == t.other_campaign.id,
            Signup.brand_id == t.brand.id,
            Signup.state == SignupState.withdrawn,
        ),
    ),
    ("POST", "/testbuys/signups/{signup_id}/approve"): lambda db, t: (
        _fresh(db, t.signup).approved_at is not None
    ),
    ("POST", "/testbuys/signups/{signup_id}/reorder"): lambda db, t: _exists(
        db,
        select(SignupEvent).where(
            SignupEvent.signup_id == t.waitlisted.id, SignupEvent.kind == "reordered"
        ),
    ),
    ("POST", "/testbuys/signups/{signup_id}/move"): lambda db, t: (
        _fresh(db, t.waitlisted).state == SignupState.moved
    ),
    ("POST", "/testbuys/purchases/{purchase_id}/edit"): lambda db, t: (
        _fresh(db, t.purchase).order_number == "MATRIX-ORDER"
    ),
    ("POST", "/testbuys/purchases/{purchase_id}/status"): lambda db, t: (
        _fresh(db, t.purchase).verdict == Verdict.counterfeit
    ),
    ("POST", "/testbuys/purchases/{purchase_id}/evidence"): lambda db, t: _exists(
        db,
        select(PurchaseEvidence).where(
            PurchaseEvidence.purchase_id == t.purchase.id,
            PurchaseEvidence.filename == "matrix.png",
        ),
    ),
    ("POST", "/testbuys/purchases/{purchase_id}/custody"): lambda db, t: _exists(
        db,
        select(CustodyEntry).where(
            CustodyEntry.purchase_id == t.purchase.id, CustodyEntry.to_party == "Matrix lab"
        ),
    ),
    ("POST", "/testbuys/purchases/{purchase_id}/report"): lambda db, t: (
        _fresh(db, t.judged).report_id is not None
    ),
    ("POST", "/testbuys/personas"): lambda db, t: _exists(
        db,
        select(Persona).where(Persona.group_id == t.group.id, Persona.name == "Matrix Persona"),
    ),
    ("POST", "/testbuys/personas/{persona_id}/burn"): lambda db, t: (
        _fresh(db, t.persona).burned_at is not None
    ),
}


def _step(
    db: Session,
    runner: Person,
    purchase: Purchase,
    campaign: Campaign,
    *statuses: PurchaseStatus,
    verdict: str = "",
) -> None:
    actor = actor_of(db, runner)
    for status in statuses:
        given = verdict if status == PurchaseStatus.verdict else ""
        purchases.change_status(db, actor, purchase, campaign, status, given, "")


def _side(
    db: Session,
    settings: Settings,
    group: WorkingGroup,
    runner: Person,
    brand_admin: Person,
    waiting_admin: Person,
) -> BuySide:
    """One side of the world: `runner` runs `group`'s campaigns, `brand_admin`'s brand takes
    part, `waiting_admin`'s brand (another of the group) waits for a slot."""
    label = group.slug
    campaign = make_campaign(db, runner, group, slots=3, max_per_brand=3, title=f"{label} one")
    other = make_campaign(db, runner, group, slots=3, max_per_brand=3, title=f"{label} two")
    signup = sign_up(db, brand_admin, campaign, 3)
    waitlisted = sign_up(db, waiting_admin, campaign, 1)
    sign_up(db, brand_admin, other, 1)
    assert signup.state == SignupState.confirmed and waitlisted.state == SignupState.waitlisted
    purchase = make_purchase(db, runner, campaign, signup, seller=f"{label} examined seller")
    steps = (PurchaseStatus.ordered, PurchaseStatus.received, PurchaseStatus.examined)
    _step(db, runner, purchase, campaign, *steps)
    judged = make_purchase(db, runner, campaign, signup, seller=f"{label} judged seller")
    steps = (PurchaseStatus.ordered, PurchaseStatus.verdict)
    _step(db, runner, judged, campaign, *steps, verdict=Verdict.counterfeit)
    actor = actor_of(db, runner)
    link = custody.append(
        db,
        actor,
        purchase,
        campaign,
        custody.CustodyForm(
            kind="handover",
            occurred_at=(utcnow() - timedelta(days=1)).strftime(DATETIME_FORMAT),
            from_party="Courier",
            to_party="Coordinator",
            place="Brussels",
        ),
    )
    upload = evidence.Upload("receipt.png", picture(f"{label}-receipt"))
    (file,) = purchases.attach(
        db, settings, actor, purchase, campaign, [evidence.check(settings, upload)]
    )
    persona = personas.create(
        db, actor, personas.PersonaForm(group=group.slug, name=f"{label} persona")
    )
    brand = db.get(Brand, signup.brand_id)
    assert brand is not None
    return BuySide(
        group=group,
        brand=brand,
        campaign=campaign,
        other_campaign=other,
        signup=signup,
        waitlisted=waitlisted,
        purchase=purchase,
        judged=judged,
        custody=link,
        evidence=file,
        persona=persona,
    )


@pytest.fixture(scope="module")
def buys(module_db: Session, module_world: World, shared_uploads: Settings) -> dict[str, BuySide]:
    """Built once for the module: each case runs in a savepoint of it (see `connection`)."""
    return _build_buys(module_db, module_world, shared_uploads)


@pytest.fixture
def connection(buys: dict[str, BuySide], savepoint: Connection) -> Connection:
    """Every case starts from the shared world and test buys, and its changes are undone."""
    return savepoint


@pytest.fixture
def world(module_world: World) -> World:
    """The world the test buys were built in, not a second one."""
    return module_world


def _build_buys(db: Session, world: World, uploads: Settings) -> dict[str, BuySide]:
    """The apparel side (brand A, brand B waiting) and the toys side (brand C, brand D
    waiting; coordinated by someone else than the apparel coordinator)."""
    toys_coordinator = factories.make_person(db, world.secretariat, name="Toby Coordinator")
    factories.appoint(db, world.toys, toys_coordinator)
    admin_b = factories.make_person(db, world.brand_b, Role.brand_admin, name="Bea Admin")
    brand_d = factories.make_brand(db, "brand-d", [world.toys], name="Brand D")
    admin_d = factories.make_person(db, brand_d, Role.brand_admin, name="Dora Admin")
    db.commit()
    apparel = _side(db, uploads, world.apparel, world.coordinator, world.admin_a, admin_b)
    toys = _side(db, uploads, world.toys, toys_coordinator, world.admin_c, admin_d)
    assert apparel.brand.id == world.brand_a.id and toys.brand.id == world.brand_c.id
    db.commit()
    return {"apparel": apparel, "toys": toys}


CASES = [
    pytest.param(method, path, role, answer, id=f"{method} {path}-{role}")
    for (method, path), answers in TESTBUY_MATRIX.items()
    for role, answer in zip(ROLES, answers, strict=True)
]


@pytest.mark.parametrize(("method", "path", "role", "answer"), CASES)
def test_testbuy_route_answers_role(
    method: str,
    path: str,
    role: str,
    answer: Answer,
    app: FastAPI,
    db: Session,
    world: World,
    buys: dict[str, BuySide],
    uploads_copy: Settings,
    client_as: ClientAs,
) -> None:
    """The route answers the role as the matrix says, and a form acts only when allowed."""
    browser = _browser(app, client_as, world, role)
    target = buys[COLUMNS[role][1]]
    ask(method, path, role, answer, db, target, browser, FORMS, EFFECTS, FILES)
