"""Imports every table so the metadata (for Alembic and tests) is complete."""

from sqlmodel import SQLModel

from hub.api.models import ApiToken, Webhook, WebhookDelivery
from hub.audit import AuditEntry
from hub.auth.models import IdentityProvider, LoginEvent, RateCounter, WebSession
from hub.events.models import (
    BrandSeats,
    CalendarFeed,
    Event,
    EventInvite,
    Registration,
)
from hub.groups.models import Coordinator, GroupMembership, JoinRequest, WorkingGroup
from hub.impact.models import (
    GroupNarrative,
    ImpactReport,
    Referral,
    ReferralPurchase,
    ReferralReport,
    ReferralUpdate,
)
from hub.intel.models import (
    Comment,
    Evidence,
    Follow,
    GroupFollow,
    ImportJob,
    Indicator,
    IntelReport,
    ReportRecipient,
    ReportVersion,
    Sighting,
    StatusChange,
    Takedown,
)
from hub.members.models import Brand, BrandDomain, Person
from hub.notify.models import Notification
from hub.testbuys.models import (
    Campaign,
    CustodyEntry,
    Persona,
    Purchase,
    PurchaseEvent,
    PurchaseEvidence,
    Signup,
    SignupEvent,
    SignupTarget,
)

metadata = SQLModel.metadata

__all__ = [
    "ApiToken",
    "Webhook",
    "WebhookDelivery",
    "Comment",
    "Evidence",
    "Follow",
    "GroupFollow",
    "ImportJob",
    "Indicator",
    "IntelReport",
    "Notification",
    "ReportRecipient",
    "ReportVersion",
    "Sighting",
    "StatusChange",
    "Takedown",
    "GroupNarrative",
    "ImpactReport",
    "Referral",
    "ReferralPurchase",
    "ReferralReport",
    "ReferralUpdate",
    "AuditEntry",
    "Brand",
    "BrandDomain",
    "Coordinator",
    "GroupMembership",
    "IdentityProvider",
    "JoinRequest",
    "LoginEvent",
    "RateCounter",
    "Person",
    "WebSession",
    "WorkingGroup",
    "Campaign",
    "CustodyEntry",
    "Persona",
    "Purchase",
    "PurchaseEvent",
    "PurchaseEvidence",
    "Signup",
    "SignupEvent",
    "SignupTarget",
    "BrandSeats",
    "CalendarFeed",
    "Event",
    "EventInvite",
    "Registration",
    "metadata",
]
