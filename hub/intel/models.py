"""Tables of intelligence reports and what hangs off them."""

from datetime import datetime
from enum import StrEnum

from babel.support import LazyProxy
from sqlalchemy import JSON, Index, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from hub.clock import utcnow
from hub.i18n import lazy_gettext


class Tlp(StrEnum):
    """Traffic Light Protocol 2.0 markings; who may see what is in hub/policy.py."""

    clear = "clear"
    green = "green"
    amber = "amber"
    amber_strict = "amber_strict"
    red = "red"


# The markings are written the same in every language: they are not translated.
TLP_LABELS: dict[str, str] = {
    Tlp.clear: "TLP:CLEAR",
    Tlp.green: "TLP:GREEN",
    Tlp.amber: "TLP:AMBER",
    Tlp.amber_strict: "TLP:AMBER+STRICT",
    Tlp.red: "TLP:RED",
}


class Category(StrEnum):
    online_listing = "online_listing"
    seller = "seller"
    manufacturer = "manufacturer"
    logistics = "logistics"
    payment = "payment"
    other = "other"


CATEGORY_LABELS: dict[str, LazyProxy] = {
    Category.online_listing: lazy_gettext("Online listing"),
    Category.seller: lazy_gettext("Seller / store"),
    Category.manufacturer: lazy_gettext("Manufacturer / warehouse"),
    Category.logistics: lazy_gettext("Logistics / shipping"),
    Category.payment: lazy_gettext("Payment"),
    Category.other: lazy_gettext("Other"),
}


class Infringement(StrEnum):
    counterfeit = "counterfeit"
    lookalike = "lookalike"
    unauthorised_reseller = "unauthorised_reseller"
    grey_market = "grey_market"


INFRINGEMENT_LABELS: dict[str, LazyProxy] = {
    Infringement.counterfeit: lazy_gettext("Counterfeit"),
    Infringement.lookalike: lazy_gettext("Lookalike"),
    Infringement.unauthorised_reseller: lazy_gettext("Unauthorised reseller"),
    Infringement.grey_market: lazy_gettext("Grey market"),
}


class Confidence(StrEnum):
    confirmed = "confirmed"
    probable = "probable"
    possible = "possible"
    doubtful = "doubtful"


CONFIDENCE_LABELS: dict[str, LazyProxy] = {
    Confidence.confirmed: lazy_gettext("Confirmed"),
    Confidence.probable: lazy_gettext("Probable"),
    Confidence.possible: lazy_gettext("Possible"),
    Confidence.doubtful: lazy_gettext("Doubtful"),
}


class Reliability(StrEnum):
    """Source reliability, on the usual A-F intelligence scale."""

    a = "A"
    b = "B"
    c = "C"
    d = "D"
    e = "E"
    f = "F"


RELIABILITY_LABELS: dict[str, LazyProxy] = {
    Reliability.a: lazy_gettext("A: reliable"),
    Reliability.b: lazy_gettext("B: usually reliable"),
    Reliability.c: lazy_gettext("C: fairly reliable"),
    Reliability.d: lazy_gettext("D: not usually reliable"),
    Reliability.e: lazy_gettext("E: unreliable"),
    Reliability.f: lazy_gettext("F: cannot be judged"),
}


class Status(StrEnum):
    new = "new"
    verified = "verified"
    notice_filed = "notice_filed"
    taken_down = "taken_down"
    relisted = "relisted"
    closed = "closed"


STATUS_LABELS: dict[str, LazyProxy] = {
    Status.new: lazy_gettext("New"),
    Status.verified: lazy_gettext("Verified"),
    Status.notice_filed: lazy_gettext("Notice filed"),
    Status.taken_down: lazy_gettext("Taken down"),
    Status.relisted: lazy_gettext("Relisted"),
    Status.closed: lazy_gettext("Closed"),
}


class IndicatorKind(StrEnum):
    listing_url = "listing_url"
    store_url = "store_url"
    seller_id = "seller_id"
    shop_name = "shop_name"
    phone = "phone"
    email = "email"
    handle = "handle"
    domain = "domain"
    payment_account = "payment_account"
    address = "address"
    tracking_number = "tracking_number"


INDICATOR_LABELS: dict[str, LazyProxy] = {
    IndicatorKind.listing_url: lazy_gettext("Listing URL"),
    IndicatorKind.store_url: lazy_gettext("Store URL"),
    IndicatorKind.seller_id: lazy_gettext("Seller / store id"),
    IndicatorKind.shop_name: lazy_gettext("Shop name"),
    IndicatorKind.phone: lazy_gettext("Phone"),
    IndicatorKind.email: lazy_gettext("E-mail"),
    IndicatorKind.handle: lazy_gettext("Messaging handle"),
    IndicatorKind.domain: lazy_gettext("Website domain"),
    IndicatorKind.payment_account: lazy_gettext("Payment account"),
    IndicatorKind.address: lazy_gettext("Physical address"),
    IndicatorKind.tracking_number: lazy_gettext("Courier tracking number"),
}


class IntelReport(SQLModel, table=True):
    __tablename__ = "intel_report"
    __table_args__ = (
        Index("ix_intel_report_group_id_id", "group_id", "id"),
        Index("ix_intel_report_tlp_id", "tlp", "id"),
        Index("ix_intel_report_created_at", "created_at"),
        # The few pinned reports of a board, found without reading the board.
        Index(
            "ix_intel_report_pinned",
            "group_id",
            "id",
            sqlite_where=text("pinned"),
            postgresql_where=text("pinned"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="working_group.id")
    brand_id: int = Field(foreign_key="brand.id", index=True)  # the author's brand
    author_id: int = Field(foreign_key="person.id", index=True)
    title: str = Field(sa_type=String(200))
    body_md: str = Field(default="", sa_type=Text)
    body_html: str = Field(default="", sa_type=Text)  # sanitised when saved
    category: str = Field(sa_type=String(30))
    marketplace: str = Field(default="", sa_type=String(120), index=True)
    brands_affected: str = Field(default="", sa_type=String(500))
    products_affected: str = Field(default="", sa_type=String(500))
    infringement: str = Field(sa_type=String(30))
    confidence: str = Field(sa_type=String(20))
    reliability: str = Field(sa_type=String(1))
    tlp: str = Field(sa_type=String(20))
    status: str = Field(default=Status.new, sa_type=String(20))
    pinned: bool = False
    hidden_reason: str = Field(default="", sa_type=String(1000))
    merged_into_id: int | None = Field(default=None, foreign_key="intel_report.id")
    # Names a seller, listing or trace another brand reported before (marked up to AMBER):
    # the impact figures' correlations, kept so they are not worked out across every
    # report's indicators on each count (hub.intel.correlation.mark_correlated).
    correlated: bool = False
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def is_hidden(self) -> bool:
        return bool(self.hidden_reason)


class ReportRecipient(SQLModel, table=True):
    """A person named on a TLP:RED report: only they (and the author) may read it."""

    __tablename__ = "intel_recipient"

    report_id: int = Field(foreign_key="intel_report.id", primary_key=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", primary_key=True, index=True)


class Indicator(SQLModel, table=True):
    __tablename__ = "intel_indicator"
    __table_args__ = (Index("ix_intel_indicator_kind_normalised", "kind", "normalised"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="intel_report.id", index=True, ondelete="CASCADE")
    kind: str = Field(sa_type=String(30))
    value: str = Field(sa_type=String(1000))  # as typed
    normalised: str = Field(sa_type=String(1000))  # what correlation compares


class ReportVersion(SQLModel, table=True):
    """An earlier state of a report, kept when its author edits it."""

    __tablename__ = "intel_report_version"
    __table_args__ = (UniqueConstraint("report_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="intel_report.id", index=True, ondelete="CASCADE")
    version: int
    snapshot: str = Field(sa_type=Text)  # JSON of the fields and indicators
    edited_by_id: int = Field(foreign_key="person.id")
    edited_at: datetime = Field(default_factory=utcnow)


class StatusChange(SQLModel, table=True):
    __tablename__ = "intel_status_change"

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="intel_report.id", index=True, ondelete="CASCADE")
    from_status: str = Field(sa_type=String(20))
    to_status: str = Field(sa_type=String(20))
    by_id: int = Field(foreign_key="person.id")
    at: datetime = Field(default_factory=utcnow)
    note: str = Field(default="", sa_type=String(1000))


class TakedownOutcome(StrEnum):
    pending = "pending"  # the notice is with the marketplace
    taken_down = "taken_down"
    not_taken_down = "not_taken_down"  # the notice ended without a removal


class Takedown(SQLModel, table=True):
    """A takedown request: one notice filed about a report's listing, and when (if) the
    listing came down. The alliance's "handled within 24 hours" is measured per notice,
    so a relisted listing's second notice is a second request."""

    __tablename__ = "intel_takedown"
    __table_args__ = (Index("ix_intel_takedown_filed_at", "filed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="intel_report.id", index=True, ondelete="CASCADE")
    filed_at: datetime
    filed_by_id: int = Field(foreign_key="person.id")
    outcome: str = Field(default=TakedownOutcome.pending, sa_type=String(20))
    ended_at: datetime | None = None
    ended_by_id: int | None = Field(default=None, foreign_key="person.id")
    # ended_at - filed_at of a removal, kept so every database sums it alike
    handling_seconds: int | None = None


class Comment(SQLModel, table=True):
    """A reply on a report; `parent_id` threads it under another comment."""

    __tablename__ = "intel_comment"
    __table_args__ = (Index("ix_intel_comment_report_id_id", "report_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="intel_report.id", ondelete="CASCADE")
    parent_id: int | None = Field(default=None, foreign_key="intel_comment.id")
    author_id: int = Field(foreign_key="person.id")
    body_md: str = Field(sa_type=Text)
    body_html: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow)


class SightingKind(StrEnum):
    seen = "seen"  # "seen it too"
    disputed = "disputed"  # "disputed / false positive"


class Sighting(SQLModel, table=True):
    """A brand's confirmation (or dispute) of a report: one per brand."""

    __tablename__ = "intel_sighting"
    __table_args__ = (UniqueConstraint("report_id", "brand_id"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="intel_report.id", index=True, ondelete="CASCADE")
    brand_id: int = Field(foreign_key="brand.id")
    person_id: int = Field(foreign_key="person.id")
    kind: str = Field(default=SightingKind.seen, sa_type=String(20))
    note: str = Field(default="", sa_type=String(1000))
    created_at: datetime = Field(default_factory=utcnow)


class Follow(SQLModel, table=True):
    __tablename__ = "intel_follow"

    report_id: int = Field(foreign_key="intel_report.id", primary_key=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", primary_key=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class GroupFollow(SQLModel, table=True):
    """A person following a working group's board: told of each new report they may read."""

    __tablename__ = "intel_group_follow"

    group_id: int = Field(foreign_key="working_group.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class Evidence(SQLModel, table=True):
    """A file attached to a report, stored by its SHA-256 under HUB_UPLOAD_DIR."""

    __tablename__ = "intel_evidence"

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="intel_report.id", index=True, ondelete="CASCADE")
    sha256: str = Field(sa_type=String(64), index=True)
    filename: str = Field(sa_type=String(255))
    content_type: str = Field(sa_type=String(100))
    size: int
    width: int | None = None
    height: int | None = None
    uploaded_by_id: int = Field(foreign_key="person.id")
    uploaded_at: datetime = Field(default_factory=utcnow)


class ImportState(StrEnum):
    queued = "queued"
    checking = "checking"  # reading and checking each row; `checked` counts them
    saving = "saving"  # writing everything in one transaction
    done = "done"
    failed = "failed"  # nothing was imported


class ImportJob(SQLModel, table=True):
    """A bulk import of a monitoring tool's file into one board, and its outcome."""

    __tablename__ = "intel_import"

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="working_group.id")
    brand_id: int = Field(foreign_key="brand.id")
    person_id: int = Field(foreign_key="person.id", index=True)
    filename: str = Field(sa_type=String(200))
    format: str = Field(sa_type=String(8))  # csv or stix
    tlp: str = Field(sa_type=String(20))  # for rows that do not say
    all_or_nothing: bool = True  # a rejected row stops the whole import
    content: str = Field(default="", sa_type=Text)  # the file, emptied once imported
    state: str = Field(default=ImportState.queued, sa_type=String(10))
    total: int = 0
    checked: int = 0
    created: int = 0
    merged: int = 0
    # [{"where": "line 12", "reason": "..."}]: the entries refused, and why
    rejected: list[dict[str, str]] = Field(default_factory=list, sa_type=JSON)
    error: str = Field(default="", sa_type=String(1000))
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
