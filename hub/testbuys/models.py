"""Tables of the test-buy program.

A campaign holds a number of slots (purchases); brands sign up for some of them. The
campaign row carries the count of slots taken, under a CHECK constraint, and every
allocation locks that row first (hub.testbuys.signups), so no two requests can hand out
the same slot, whatever the number of processes.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from babel.support import LazyProxy
from sqlalchemy import CheckConstraint, Index, Numeric, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.clock import utcnow
from hub.i18n import lazy_gettext

MONEY = Numeric(14, 2)


class CampaignStatus(StrEnum):
    draft = "draft"
    open = "open"
    closed = "closed"
    running = "running"
    completed = "completed"


CAMPAIGN_STATUS_LABELS: dict[str, LazyProxy] = {
    CampaignStatus.draft: lazy_gettext("Draft"),
    CampaignStatus.open: lazy_gettext("Open for sign-ups"),
    CampaignStatus.closed: lazy_gettext("Sign-ups closed"),
    CampaignStatus.running: lazy_gettext("Purchasing"),
    CampaignStatus.completed: lazy_gettext("Completed"),
}


class CostRule(StrEnum):
    own = "own"
    split_equally = "split"


COST_RULE_LABELS: dict[str, LazyProxy] = {
    CostRule.own: lazy_gettext("Each brand pays for its own purchases"),
    CostRule.split_equally: lazy_gettext(
        "The total is split equally between the brands taking part"
    ),
}


class Campaign(SQLModel, table=True):
    __tablename__ = "testbuy_campaign"
    __table_args__ = (
        CheckConstraint("slots >= 0", name="slots_not_negative"),
        CheckConstraint("slots_taken >= 0 AND slots_taken <= slots", name="not_overbooked"),
        CheckConstraint("max_per_brand >= 1", name="max_per_brand_positive"),
        Index("ix_testbuy_campaign_group_id_id", "group_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="working_group.id")
    title: str = Field(sa_type=String(200))
    goal: str = Field(default="", sa_type=Text)
    channels: str = Field(default="", sa_type=String(300))  # marketplaces, comma separated
    region: str = Field(default="", sa_type=String(120))
    opens_at: datetime
    closes_at: datetime
    slots: int
    slots_taken: int = 0
    max_per_brand: int
    budget: Decimal = Field(default=Decimal(0), sa_type=MONEY)
    currency: str = Field(default="EUR", sa_type=String(3))
    cost_rule: str = Field(default=CostRule.own, sa_type=String(10))
    status: str = Field(default=CampaignStatus.draft, sa_type=String(12))
    next_position: int = 1  # arrival order of sign-ups, handed out under the row lock
    copied_from_id: int | None = Field(default=None, foreign_key="testbuy_campaign.id")
    created_by_id: int = Field(foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SignupState(StrEnum):
    confirmed = "confirmed"  # every purchase asked for has a slot
    waitlisted = "waitlisted"  # some or all still wait for a slot, in `position` order
    withdrawn = "withdrawn"
    moved = "moved"  # handed to another campaign by a coordinator


SIGNUP_STATE_LABELS: dict[str, LazyProxy] = {
    SignupState.confirmed: lazy_gettext("Confirmed"),
    SignupState.waitlisted: lazy_gettext("On the waitlist"),
    SignupState.withdrawn: lazy_gettext("Withdrawn"),
    SignupState.moved: lazy_gettext("Moved"),
}


class Signup(SQLModel, table=True):
    """One brand's place in one campaign; `granted` of `requested` purchases hold slots."""

    __tablename__ = "testbuy_signup"
    __table_args__ = (
        UniqueConstraint("campaign_id", "brand_id"),
        CheckConstraint("granted >= 0 AND granted <= requested", name="granted_within_request"),
        Index("ix_testbuy_signup_campaign_id_position", "campaign_id", "position"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="testbuy_campaign.id")
    brand_id: int = Field(foreign_key="brand.id", index=True)
    requested: int
    granted: int = 0
    state: str = Field(sa_type=String(12))
    position: int  # queue order: arrival, unless a coordinator reordered with a reason
    products: str = Field(default="", sa_type=Text)  # products / SKUs to buy
    targets: str = Field(default="", sa_type=Text)  # listings or sellers, free text
    approved_at: datetime | None = None
    approved_by_id: int | None = Field(default=None, foreign_key="person.id")
    created_by_id: int = Field(foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SignupTarget(SQLModel, table=True):
    """An intelligence report a brand picked as a target of its purchases."""

    __tablename__ = "testbuy_signup_target"

    signup_id: int = Field(foreign_key="testbuy_signup.id", primary_key=True, ondelete="CASCADE")
    report_id: int = Field(foreign_key="intel_report.id", primary_key=True, ondelete="CASCADE")


# The kinds of a sign-up's history (SignupEvent.kind), as the roster shows them.
SIGNUP_EVENT_LABELS: dict[str, LazyProxy] = {
    "signed_up": lazy_gettext("Signed up"),
    "changed": lazy_gettext("Changed the sign-up"),
    "promoted": lazy_gettext("Promoted from the waitlist"),
    "withdrawn": lazy_gettext("Withdrawn"),
    "approved": lazy_gettext("Approved"),
    "reordered": lazy_gettext("Reordered"),
    "moved": lazy_gettext("Moved"),
}


class SignupEvent(SQLModel, table=True):
    """What happened to a sign-up and why: the roster's history."""

    __tablename__ = "testbuy_signup_event"

    id: int | None = Field(default=None, primary_key=True)
    signup_id: int = Field(foreign_key="testbuy_signup.id", index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    kind: str = Field(sa_type=String(20))
    detail: str = Field(default="", sa_type=String(500))
    created_at: datetime = Field(default_factory=utcnow)


class Persona(SQLModel, table=True):
    """A buyer identity with a drop address, kept by a group's coordinators."""

    __tablename__ = "testbuy_persona"

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="working_group.id", index=True)
    name: str = Field(sa_type=String(120))
    drop_address: str = Field(default="", sa_type=Text)
    contact: str = Field(default="", sa_type=String(200))  # phone or e-mail used to order
    accounts: str = Field(default="", sa_type=Text)  # marketplace accounts
    burned_at: datetime | None = None
    burned_reason: str = Field(default="", sa_type=String(500))
    created_by_id: int = Field(foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow)


class PurchaseStatus(StrEnum):
    planned = "planned"
    ordered = "ordered"
    shipped = "shipped"
    received = "received"
    examined = "examined"
    verdict = "verdict"
    reported = "reported"
    closed = "closed"


PURCHASE_STATUS_LABELS: dict[str, LazyProxy] = {
    PurchaseStatus.planned: lazy_gettext("Planned"),
    PurchaseStatus.ordered: lazy_gettext("Ordered"),
    PurchaseStatus.shipped: lazy_gettext("Shipped"),
    PurchaseStatus.received: lazy_gettext("Received"),
    PurchaseStatus.examined: lazy_gettext("Examined"),
    PurchaseStatus.verdict: lazy_gettext("Verdict given"),
    PurchaseStatus.reported: lazy_gettext("Reported"),
    PurchaseStatus.closed: lazy_gettext("Closed"),
}


class Verdict(StrEnum):
    genuine = "genuine"
    counterfeit = "counterfeit"
    grey_market = "grey_market"
    not_received = "not_received"


VERDICT_LABELS: dict[str, LazyProxy] = {
    Verdict.genuine: lazy_gettext("Genuine"),
    Verdict.counterfeit: lazy_gettext("Counterfeit"),
    Verdict.grey_market: lazy_gettext("Grey market / unauthorised"),
    Verdict.not_received: lazy_gettext("Not received"),
}


class Purchase(SQLModel, table=True):
    __tablename__ = "testbuy_purchase"
    __table_args__ = (Index("ix_testbuy_purchase_campaign_id_id", "campaign_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="testbuy_campaign.id")
    signup_id: int = Field(foreign_key="testbuy_signup.id", index=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)
    product: str = Field(default="", sa_type=String(200))
    marketplace: str = Field(default="", sa_type=String(120))
    seller: str = Field(default="", sa_type=String(200))
    listing_url: str = Field(default="", sa_type=String(1000))
    target_report_id: int | None = Field(default=None, foreign_key="intel_report.id")
    persona_id: int | None = Field(default=None, foreign_key="testbuy_persona.id", index=True)
    order_number: str = Field(default="", sa_type=String(120))
    ordered_on: date | None = None
    shipped_on: date | None = None
    received_on: date | None = None
    examined_on: date | None = None
    item_cost: Decimal = Field(default=Decimal(0), sa_type=MONEY)
    shipping_cost: Decimal = Field(default=Decimal(0), sa_type=MONEY)
    fees: Decimal = Field(default=Decimal(0), sa_type=MONEY)
    cost_currency: str = Field(default="EUR", sa_type=String(3))
    amount: Decimal = Field(default=Decimal(0), sa_type=MONEY)  # in the campaign's currency
    status: str = Field(default=PurchaseStatus.planned, sa_type=String(12))
    verdict: str = Field(default="", sa_type=String(20))
    verdict_note: str = Field(default="", sa_type=Text)
    verdict_by_id: int | None = Field(default=None, foreign_key="person.id")
    verdict_at: datetime | None = None
    report_id: int | None = Field(default=None, foreign_key="intel_report.id")  # reported as
    created_by_id: int = Field(foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class PurchaseEvent(SQLModel, table=True):
    """A purchase's status history."""

    __tablename__ = "testbuy_purchase_event"

    id: int | None = Field(default=None, primary_key=True)
    purchase_id: int = Field(foreign_key="testbuy_purchase.id", index=True)
    person_id: int = Field(foreign_key="person.id")
    from_status: str = Field(sa_type=String(12))
    to_status: str = Field(sa_type=String(12))
    note: str = Field(default="", sa_type=String(1000))
    created_at: datetime = Field(default_factory=utcnow)


class PurchaseEvidence(SQLModel, table=True):
    """A photo, receipt or PDF of a purchase, stored like the boards' evidence."""

    __tablename__ = "testbuy_evidence"

    id: int | None = Field(default=None, primary_key=True)
    purchase_id: int = Field(foreign_key="testbuy_purchase.id", index=True)
    sha256: str = Field(sa_type=String(64))
    filename: str = Field(sa_type=String(255))
    content_type: str = Field(sa_type=String(60))
    size: int
    width: int | None = None
    height: int | None = None
    uploaded_by_id: int = Field(foreign_key="person.id")
    uploaded_at: datetime = Field(default_factory=utcnow)


class CustodyKind(StrEnum):
    handover = "handover"
    examination = "examination"


CUSTODY_KIND_LABELS: dict[str, LazyProxy] = {
    CustodyKind.handover: lazy_gettext("Handover"),
    CustodyKind.examination: lazy_gettext("Examination"),
}


class CustodyEntry(SQLModel, table=True):
    """One link of a physical item's chain of custody. Rows are only ever added (database
    triggers refuse UPDATE and DELETE); each carries the hash of the one before."""

    __tablename__ = "testbuy_custody"
    __table_args__ = (UniqueConstraint("purchase_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    purchase_id: int = Field(foreign_key="testbuy_purchase.id")
    seq: int
    kind: str = Field(sa_type=String(12))
    occurred_at: datetime
    from_party: str = Field(default="", sa_type=String(200))
    to_party: str = Field(default="", sa_type=String(200))
    place: str = Field(default="", sa_type=String(200))
    purpose: str = Field(default="", sa_type=String(300))
    seal_number: str = Field(default="", sa_type=String(80))
    seal_intact: bool | None = None
    findings: str = Field(default="", sa_type=Text)
    recorded_by_id: int = Field(foreign_key="person.id")
    recorded_at: datetime = Field(default_factory=utcnow)
    prev_hash: str = Field(sa_type=String(64))
    entry_hash: str = Field(sa_type=String(64))
