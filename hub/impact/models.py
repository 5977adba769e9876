"""Tables of the alliance's results: referrals to law enforcement with their outcomes, and
the coordinators' narratives of the annual (or quarterly) impact report."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from babel.support import LazyProxy
from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.clock import utcnow
from hub.i18n import lazy_gettext
from hub.testbuys.models import MONEY


class ReferralStatus(StrEnum):
    sent = "sent"
    accepted = "accepted"
    raid_done = "raid_done"
    prosecuted = "prosecuted"
    closed_no_action = "closed_no_action"


REFERRAL_STATUS_LABELS: dict[str, LazyProxy] = {
    ReferralStatus.sent: lazy_gettext("Sent"),
    ReferralStatus.accepted: lazy_gettext("Accepted by the agency"),
    ReferralStatus.raid_done: lazy_gettext("Raid done"),
    ReferralStatus.prosecuted: lazy_gettext("Prosecuted"),
    ReferralStatus.closed_no_action: lazy_gettext("Closed without action"),
}


class Referral(SQLModel, table=True):
    """A case handed to a law-enforcement agency, built from intelligence reports and
    test-purchase verdicts; readable only by those who may read every one of them."""

    __tablename__ = "impact_referral"
    __table_args__ = (Index("ix_impact_referral_sent_on", "sent_on"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="working_group.id", index=True)
    brand_id: int = Field(foreign_key="brand.id", index=True)  # the referring brand
    created_by_id: int = Field(foreign_key="person.id")
    agency: str = Field(sa_type=String(200))
    jurisdiction: str = Field(default="", sa_type=String(120))  # province, state or city
    country: str = Field(sa_type=String(2))  # ISO 3166-1 alpha-2
    sent_on: date
    contact: str = Field(default="", sa_type=String(200))
    reference: str = Field(default="", sa_type=String(120))
    summary: str = Field(default="", sa_type=Text)
    # The outcome as last recorded; each change is a ReferralUpdate.
    status: str = Field(default=ReferralStatus.sent, sa_type=String(20))
    raid_on: date | None = None
    suspects_arrested: int = 0
    facilities_closed: int = 0
    goods_seized: int = 0  # items
    goods_value: Decimal = Field(default=Decimal(0), sa_type=MONEY)
    goods_currency: str = Field(default="CNY", sa_type=String(3))
    version: int = 1  # two people recording an outcome at once: the second is told
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ReferralReport(SQLModel, table=True):
    __tablename__ = "impact_referral_report"

    referral_id: int = Field(foreign_key="impact_referral.id", primary_key=True, ondelete="CASCADE")
    report_id: int = Field(foreign_key="intel_report.id", primary_key=True, index=True)


class ReferralPurchase(SQLModel, table=True):
    __tablename__ = "impact_referral_purchase"

    referral_id: int = Field(foreign_key="impact_referral.id", primary_key=True, ondelete="CASCADE")
    purchase_id: int = Field(foreign_key="testbuy_purchase.id", primary_key=True, index=True)


class ReferralUpdate(SQLModel, table=True):
    """One recorded step of a referral's outcome, as it was entered."""

    __tablename__ = "impact_referral_update"

    id: int | None = Field(default=None, primary_key=True)
    referral_id: int = Field(foreign_key="impact_referral.id", index=True, ondelete="CASCADE")
    by_id: int = Field(foreign_key="person.id")
    at: datetime = Field(default_factory=utcnow)
    status: str = Field(sa_type=String(20))
    raid_on: date | None = None
    suspects_arrested: int = 0
    facilities_closed: int = 0
    goods_seized: int = 0
    goods_value: Decimal = Field(default=Decimal(0), sa_type=MONEY)
    goods_currency: str = Field(default="CNY", sa_type=String(3))
    note: str = Field(default="", sa_type=String(2000))


class ImpactReport(SQLModel, table=True):
    """The annual (quarter 0) or quarterly impact report: a draft for coordinators and
    alliance admins until an admin publishes it to every member."""

    __tablename__ = "impact_report"
    __table_args__ = (UniqueConstraint("year", "quarter"),)

    id: int | None = Field(default=None, primary_key=True)
    year: int
    quarter: int = 0  # 0: the whole year
    published_at: datetime | None = None
    published_by_id: int | None = Field(default=None, foreign_key="person.id")


class GroupNarrative(SQLModel, table=True):
    """A working group's coordinators' words for its section of an impact report."""

    __tablename__ = "impact_narrative"
    __table_args__ = (UniqueConstraint("report_id", "group_id"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="impact_report.id", ondelete="CASCADE")
    group_id: int = Field(foreign_key="working_group.id")
    body_md: str = Field(default="", sa_type=Text)
    body_html: str = Field(default="", sa_type=Text)  # sanitised when saved
    updated_by_id: int = Field(foreign_key="person.id")
    updated_at: datetime = Field(default_factory=utcnow)
