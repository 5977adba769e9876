"""The shapes the API reads and writes; they are also its OpenAPI document."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hub.intel.models import (
    Category,
    Confidence,
    IndicatorKind,
    Infringement,
    Reliability,
    SightingKind,
    Tlp,
)

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,59}$")]


class Strict(BaseModel):
    """Input models refuse fields they do not know, so a typo is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class GroupOut(BaseModel):
    slug: str
    name: str
    member: bool = Field(description="The caller's brand belongs to the group (can post).")


class MeOut(BaseModel):
    name: str
    email: str
    brand: str
    token_kind: Literal["personal", "brand"]
    scope: Literal["read", "write"]
    groups: list[GroupOut]


class IndicatorIn(Strict):
    kind: IndicatorKind
    value: Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class IndicatorOut(BaseModel):
    kind: str
    value: str
    normalised: str = Field(description="The form correlation compares.")
    other_reports: int | None = Field(
        description="Other reports the caller may see naming the same indicator "
        "(on a single report; null in lists)."
    )


class ReportIn(Strict):
    group: Slug = Field(description="The working group's slug, e.g. from GET /groups.")
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    body_md: Annotated[str, StringConstraints(max_length=50_000)] = ""
    category: Category = Category.online_listing
    marketplace: Annotated[str, StringConstraints(max_length=120)] = ""
    brands_affected: Annotated[str, StringConstraints(max_length=500)] = ""
    products_affected: Annotated[str, StringConstraints(max_length=500)] = ""
    infringement: Infringement = Infringement.counterfeit
    confidence: Confidence = Confidence.probable
    reliability: Reliability = Reliability.b
    tlp: Tlp = Tlp.amber
    recipients: list[Annotated[str, StringConstraints(max_length=254)]] = Field(
        default_factory=list,
        max_length=50,
        description="For TLP:RED only: the e-mail addresses of the people who may read it.",
    )
    indicators: list[IndicatorIn] = Field(default_factory=list, max_length=50)


class ReportOut(BaseModel):
    id: int
    url: str = Field(description="The report's page in the hub.")
    group: str
    brand: str = Field(description="The reporting brand's slug.")
    author: str
    title: str
    body_md: str
    category: str
    marketplace: str
    brands_affected: str
    products_affected: str
    infringement: str
    confidence: str
    reliability: str
    tlp: str
    status: str
    created_at: datetime
    updated_at: datetime
    indicators: list[IndicatorOut]


class SightingIn(Strict):
    kind: SightingKind = SightingKind.seen
    note: Annotated[str, StringConstraints(max_length=1000)] = ""


class SightingOut(BaseModel):
    report_id: int
    brand: str
    kind: str
    note: str


class CampaignOut(BaseModel):
    id: int
    url: str
    group: str
    title: str
    goal: str
    channels: str
    region: str
    status: str
    opens_at: datetime
    closes_at: datetime
    slots: int
    slots_taken: int
    max_per_brand: int
    budget: Decimal
    currency: str
    brands_signed_up: int
    my_brand_signup: str | None = Field(
        description="The caller's brand's sign-up: confirmed, waitlisted, or null."
    )


class EventOut(BaseModel):
    id: int
    url: str
    ics_url: str
    group: str | None
    kind: str
    title: str
    description: str
    status: str
    time_zone: str
    all_day: bool
    starts_at: datetime
    ends_at: datetime
    attendance: str
    venue: str
    address: str
    capacity: int
    seats_taken: int
    registration_opens_at: datetime
    registration_closes_at: datetime
    my_registration: str | None = Field(
        description="The caller's registration: confirmed, waitlisted, pending, or null."
    )
