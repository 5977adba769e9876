"""The shapes the API reads and writes; they are also its OpenAPI document."""

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from hub.i18n import gettext as _
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

# PostgreSQL text cannot hold NUL, so no string the API takes may carry one.
NO_NUL = r"^[^\x00]*$"


def _spaces() -> str:
    """Python's whitespace (what str.strip() removes) as the body of a regex class, spelled
    out, since a backslash-s class means something else in each of JSON Schema, Python and
    pydantic's Rust engine."""
    ranges: list[list[int]] = []
    for code in range(0x10000):
        if chr(code).isspace():
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return "".join(
        f"\\u{low:04x}" if low == high else f"\\u{low:04x}-\\u{high:04x}" for low, high in ranges
    )


# Some character that is neither NUL nor whitespace: the text is not blank once stripped.
NOT_BLANK = rf"^[^\x00]*[^\x00{_spaces()}][^\x00]*$"


def _iso_day(value: object) -> object:
    # Pydantic would also take "0" or "1715000000" as a day (a Unix time).
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError(_("Give the day as YYYY-MM-DD."))
    return value


# A day as the OpenAPI document says: format date, YYYY-MM-DD, and nothing else.
Day = Annotated[date, BeforeValidator(_iso_day)]


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
    member: bool = Field(description="The caller's brand belongs to the group.")
    can_post: bool = Field(description="The caller may post reports to the group's board.")


class MeOut(BaseModel):
    name: str
    email: str
    brand: str
    token_kind: Literal["personal", "brand"]
    scope: Literal["read", "write"]
    groups: list[GroupOut]


class IndicatorIn(Strict):
    kind: IndicatorKind
    value: Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=NO_NUL)] = Field(
        description="Blank values are left out."
    )


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
    title: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NOT_BLANK)]
    body_md: Annotated[str, StringConstraints(max_length=50_000, pattern=NO_NUL)] = Field(
        default="", description="The description, in Markdown."
    )
    category: Category = Category.online_listing
    marketplace: Annotated[str, StringConstraints(max_length=120, pattern=NO_NUL)] = ""
    brands_affected: Annotated[str, StringConstraints(max_length=500, pattern=NO_NUL)] = ""
    products_affected: Annotated[str, StringConstraints(max_length=500, pattern=NO_NUL)] = ""
    infringement: Infringement = Infringement.counterfeit
    confidence: Confidence = Confidence.probable
    reliability: Reliability = Reliability.b
    tlp: Tlp = Tlp.amber
    recipients: list[Annotated[str, StringConstraints(max_length=254, pattern=NO_NUL)]] = Field(
        default_factory=list,
        max_length=50,
        description="For TLP:RED only, and then at least one: the e-mail addresses of the "
        "active hub members who may read it.",
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
    note: Annotated[str, StringConstraints(max_length=1000, pattern=NO_NUL)] = ""


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
