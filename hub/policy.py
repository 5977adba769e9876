"""Every authorization rule of the hub, as plain functions over plain data.

Routes and services ask here and nowhere else. A thing the actor may not see is reported
as missing (404) rather than forbidden, so its existence does not leak.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true, union
from sqlmodel import col

from hub.errors import Forbidden
from hub.events.models import Audience, Event, EventInvite
from hub.impact.models import Referral, ReferralPurchase, ReferralReport
from hub.intel.models import IntelReport, ReportRecipient, Tlp
from hub.members.models import OrgKind, Role
from hub.testbuys.models import Campaign, CampaignStatus, Purchase


@dataclass(frozen=True)
class Actor:
    """The signed-in person, with what the rules need to know about them."""

    person_id: int
    brand_id: int
    brand_slug: str
    brand_kind: str
    name: str
    email: str
    role: str
    group_ids: frozenset[int] = field(default_factory=frozenset)
    coordinated_group_ids: frozenset[int] = field(default_factory=frozenset)
    session_id: int | None = None
    unread_notifications: int = 0
    time_zone: str = ""  # chosen on the profile; empty: as the browser says
    language: str = ""  # chosen on the profile; empty: as the browser asks
    brand_name: str = ""
    # A brand API token: the brand's shared view, without the person's own TLP:RED
    # reports or coordinator rights (hub.api.tokens).
    acts_for_brand: bool = False

    @property
    def is_alliance_admin(self) -> bool:
        return self.role == Role.alliance_admin

    @property
    def is_brand_admin(self) -> bool:
        return self.role == Role.brand_admin and self.brand_kind == OrgKind.brand

    @property
    def is_coordinator(self) -> bool:
        return bool(self.coordinated_group_ids)

    @property
    def label(self) -> str:
        return f"{self.name} <{self.email}>"

    @property
    def audit_id(self) -> int | None:
        """The person to record in the audit log; None for the command line."""
        return self.person_id or None


def command_line_actor(who: str) -> Actor:
    """The `hub admin` command acts with alliance-admin rights, recorded under `who`."""
    return Actor(
        person_id=0,
        brand_id=0,
        brand_slug="",
        brand_kind=OrgKind.alliance,
        name=f"hub admin command ({who})",
        email="command-line",
        role=Role.alliance_admin,
    )


class Action(StrEnum):
    view_directory = "view-directory"  # brands and working groups lists, profiles
    view_brand_people = "view-brand-people"  # thing: BrandView
    manage_brand_people = "manage-brand-people"  # thing: brand id
    manage_brand_sso = "manage-brand-sso"  # thing: brand id; providers, sign-in log, sessions
    request_group_join = "request-group-join"  # thing: brand id
    decide_group_join = "decide-group-join"  # thing: group id
    create_brand = "create-brand"
    edit_brand = "edit-brand"  # thing: brand id
    create_group = "create-group"
    appoint_coordinator = "appoint-coordinator"
    read_audit_log = "read-audit-log"  # thing: brand id (that brand's entries) or None (all)
    post_intel = "post-intel"  # thing: group id
    edit_report = "edit-report"  # thing: IntelReport (already visible)
    change_report_status = "change-report-status"  # thing: IntelReport (already visible)
    add_evidence = "add-evidence"  # thing: IntelReport (already visible)
    moderate_group = "moderate-group"  # thing: group id
    run_campaigns = "run-campaigns"  # thing: group id; test-buy campaigns, personas, purchases
    sign_up_brand = "sign-up-brand"  # thing: group id; the actor's brand joins a campaign
    examine_purchase = "examine-purchase"  # thing: PurchaseView; verdict, evidence, custody
    organise_events = "organise-events"  # thing: group id, or None for alliance-wide
    manage_event = "manage-event"  # thing: EventView; edit, cancel, approve, attendee list
    see_attendees = "see-attendees"  # thing: EventView
    see_meeting_link = "see-meeting-link"  # thing: EventView; page, .ics and feed alike
    administer = "administer"  # the admin area at all
    use_api = "use-api"  # personal API tokens
    manage_brand_api = "manage-brand-api"  # thing: brand id; brand tokens and webhooks
    refer_case = "refer-case"  # thing: group id; a referral to law enforcement
    record_outcome = "record-outcome"  # thing: ReferralView (already visible)
    view_group_impact = "view-group-impact"  # thing: group id; a group's own dashboard
    write_narrative = "write-narrative"  # thing: group id; its section of an impact report
    publish_impact = "publish-impact"  # impact reports: publish to every member
    read_impact_draft = "read-impact-draft"  # an impact report before it is published


@dataclass(frozen=True)
class BrandView:
    """What the rules need to know about a brand someone wants to look into."""

    brand_id: int
    group_ids: frozenset[int]


@dataclass(frozen=True)
class PurchaseView:
    """What the rules need to know about a test purchase: whose it is, in which group."""

    group_id: int
    brand_id: int


@dataclass(frozen=True)
class ReferralView:
    """What the rules need to know about a referral the actor already sees."""

    group_id: int
    brand_id: int


@dataclass(frozen=True)
class EventView:
    """What the rules need to know about an event the actor already sees."""

    group_id: int | None
    attendees_visible: bool = False
    attending: bool = False  # the actor holds a confirmed seat


def _signed_in(actor: Actor, _thing: Any) -> bool:
    return True


def _alliance_admin(actor: Actor, _thing: Any) -> bool:
    return actor.is_alliance_admin


def _admin_of_brand(actor: Actor, brand_id: Any) -> bool:
    return actor.is_alliance_admin or (actor.is_brand_admin and actor.brand_id == brand_id)


def _brand_admin_of_own_brand(actor: Actor, brand_id: Any) -> bool:
    return actor.is_brand_admin and actor.brand_id == brand_id


def _audit_reader(actor: Actor, brand_id: Any) -> bool:
    """The whole log for alliance admins; a brand's entries for its own brand admins."""
    return actor.is_alliance_admin or (
        brand_id is not None and _brand_admin_of_own_brand(actor, brand_id)
    )


def _coordinator_of(actor: Actor, group_id: Any) -> bool:
    return group_id in actor.coordinated_group_ids


def _fellow_of(actor: Actor, brand: Any) -> bool:
    """People of a brand are shown to its own staff, brands sharing a working group with
    it, those groups' coordinators, and alliance admins; not to the whole alliance."""
    assert isinstance(brand, BrandView)
    return (
        actor.is_alliance_admin
        or actor.brand_id == brand.brand_id
        or bool(actor.group_ids & brand.group_ids)
        or bool(actor.coordinated_group_ids & brand.group_ids)
    )


def _any_admin_area(actor: Actor, _thing: Any) -> bool:
    return actor.is_alliance_admin


def _member_or_coordinator_of(actor: Actor, group_id: Any) -> bool:
    return group_id in actor.group_ids or group_id in actor.coordinated_group_ids


def _author_of(actor: Actor, report: Any) -> bool:
    assert isinstance(report, IntelReport)
    return report.author_id == actor.person_id


def _authors_brand_or_coordinator(actor: Actor, report: Any) -> bool:
    assert isinstance(report, IntelReport)
    return report.brand_id == actor.brand_id or report.group_id in actor.coordinated_group_ids


def _runs_campaigns_of(actor: Actor, group_id: Any) -> bool:
    return actor.is_alliance_admin or group_id in actor.coordinated_group_ids


def runs_any_campaigns(actor: Actor) -> bool:
    """Whether the actor runs test-buy campaigns anywhere: the campaign form and the
    persona register exist only for them."""
    return actor.is_alliance_admin or bool(actor.coordinated_group_ids)


def _brand_admin_in(actor: Actor, group_id: Any) -> bool:
    return actor.is_brand_admin and group_id in actor.group_ids


def _purchase_people(actor: Actor, purchase: Any) -> bool:
    """The campaign's runners, and the people of the brand the item was bought for (its
    product experts give the verdict)."""
    assert isinstance(purchase, PurchaseView)
    return _runs_campaigns_of(actor, purchase.group_id) or (
        actor.brand_id == purchase.brand_id and actor.brand_kind == OrgKind.brand
    )


def _organiser_for(actor: Actor, group_id: Any) -> bool:
    """Coordinators organise their group's events; only alliance staff organise for the
    whole alliance."""
    return actor.is_alliance_admin or (group_id is not None and _coordinator_of(actor, group_id))


def runs_any_events(actor: Actor) -> bool:
    """Whether the actor organises events anywhere: the event form exists only for them."""
    return actor.is_alliance_admin or bool(actor.coordinated_group_ids)


def _manages_event(actor: Actor, event: Any) -> bool:
    assert isinstance(event, EventView)
    return _organiser_for(actor, event.group_id)


def _sees_attendees(actor: Actor, event: Any) -> bool:
    """The organisers; other attendees only if the organiser chose so."""
    assert isinstance(event, EventView)
    return _manages_event(actor, event) or (event.attendees_visible and event.attending)


def _holds_seat_or_organises(actor: Actor, event: Any) -> bool:
    """An online event's link goes to those holding a seat and to the organisers, so it
    does not travel beyond the people admitted."""
    assert isinstance(event, EventView)
    return event.attending or _manages_event(actor, event)


def _refers_in(actor: Actor, group_id: Any) -> bool:
    """Cases go to law enforcement from the group's coordinators, the brand admins of its
    member brands (they answer for their brand's evidence) and alliance staff."""
    return (
        actor.is_alliance_admin
        or _coordinator_of(actor, group_id)
        or _brand_admin_in(actor, group_id)
    )


def _outcome_recorder(actor: Actor, referral: Any) -> bool:
    assert isinstance(referral, ReferralView)
    return (
        actor.is_alliance_admin
        or _coordinator_of(actor, referral.group_id)
        or (actor.is_brand_admin and actor.brand_id == referral.brand_id)
    )


def _group_insider(actor: Actor, group_id: Any) -> bool:
    return actor.is_alliance_admin or _member_or_coordinator_of(actor, group_id)


def _narrator_of(actor: Actor, group_id: Any) -> bool:
    return actor.is_alliance_admin or _coordinator_of(actor, group_id)


def _drafts_reader(actor: Actor, _thing: Any) -> bool:
    """Those who write a report's sections read it before it is published."""
    return actor.is_alliance_admin or actor.is_coordinator


RULES: dict[Action, Callable[[Actor, Any], bool]] = {
    Action.view_directory: _signed_in,
    Action.view_brand_people: _fellow_of,
    Action.manage_brand_people: _admin_of_brand,
    Action.manage_brand_sso: _admin_of_brand,
    Action.request_group_join: _brand_admin_of_own_brand,
    Action.decide_group_join: _coordinator_of,
    Action.create_brand: _alliance_admin,
    Action.edit_brand: _admin_of_brand,
    Action.create_group: _alliance_admin,
    Action.appoint_coordinator: _alliance_admin,
    Action.read_audit_log: _audit_reader,
    Action.administer: _any_admin_area,
    Action.post_intel: _member_or_coordinator_of,
    Action.edit_report: _author_of,
    Action.change_report_status: _authors_brand_or_coordinator,
    Action.add_evidence: _authors_brand_or_coordinator,
    Action.moderate_group: _coordinator_of,
    Action.run_campaigns: _runs_campaigns_of,
    Action.sign_up_brand: _brand_admin_in,
    Action.examine_purchase: _purchase_people,
    Action.organise_events: _organiser_for,
    Action.manage_event: _manages_event,
    Action.see_attendees: _sees_attendees,
    Action.see_meeting_link: _holds_seat_or_organises,
    Action.use_api: _signed_in,
    Action.manage_brand_api: _brand_admin_of_own_brand,
    Action.refer_case: _refers_in,
    Action.record_outcome: _outcome_recorder,
    Action.view_group_impact: _group_insider,
    Action.write_narrative: _narrator_of,
    Action.publish_impact: _alliance_admin,
    Action.read_impact_draft: _drafts_reader,
}


def can(actor: Actor, action: Action, thing: Any = None) -> bool:
    return RULES[action](actor, thing)


def ensure(actor: Actor, action: Action, thing: Any = None) -> None:
    """Raise Forbidden unless the actor may do it."""
    if not can(actor, action, thing):
        raise Forbidden()


def assignable_roles(actor: Actor, org_kind: str) -> list[Role]:
    """Roles this actor may give to people of an organisation they administer: brand
    admins run brands; alliance admins belong to the secretariat and only they make more."""
    if org_kind == OrgKind.alliance:
        return [Role.member, Role.alliance_admin] if actor.is_alliance_admin else []
    return [Role.member, Role.brand_admin]


def _in(column: Any, values: frozenset[int]) -> ColumnElement[bool]:
    return col(column).in_(sorted(values)) if values else false()


def visible_intel(actor: Actor) -> ColumnElement[bool]:
    """Rows of IntelReport the actor may read: the TLP table of ARCHITECTURE.md.

    Every way out (board, report page, evidence, search, correlation counts, exports, the
    API) filters with this, so a list can never show what a detail page would refuse.
    """
    report = IntelReport
    coordinates = _in(report.group_id, actor.coordinated_group_ids)
    named = exists(
        select(col(ReportRecipient.report_id)).where(
            col(ReportRecipient.report_id) == report.id,
            col(ReportRecipient.person_id) == actor.person_id,
        )
    )
    by_marking = or_(
        col(report.tlp).in_([Tlp.clear, Tlp.green]),
        and_(
            col(report.tlp) == Tlp.amber,
            or_(
                _in(report.group_id, actor.group_ids),
                coordinates,
                true() if actor.is_alliance_admin else false(),
            ),
        ),
        and_(
            col(report.tlp) == Tlp.amber_strict,
            or_(col(report.brand_id) == actor.brand_id, coordinates),
        ),
        and_(col(report.tlp) == Tlp.red, named),
    )
    # A report hidden by a coordinator stays readable to its author and the coordinators.
    not_hidden = or_(col(report.hidden_reason) == "", coordinates)
    own = col(report.author_id) == actor.person_id
    if actor.acts_for_brand:
        # A brand's tool never reads what was addressed to one person.
        own = and_(own, col(report.tlp) != Tlp.red)
        by_marking = and_(by_marking, col(report.tlp) != Tlp.red)
    return or_(own, and_(by_marking, not_hidden))


def visible_campaigns(actor: Actor) -> ColumnElement[bool]:
    """Rows of Campaign the actor may see: every campaign of the groups they run, and the
    published (not draft) campaigns of their brand's groups. Anything else is a 404."""
    if actor.is_alliance_admin:
        return true()
    return or_(
        _in(Campaign.group_id, actor.coordinated_group_ids),
        and_(
            _in(Campaign.group_id, actor.group_ids),
            col(Campaign.status) != CampaignStatus.draft,
        ),
    )


def visible_purchases(actor: Actor) -> ColumnElement[bool]:
    """Rows of Purchase (joined with Campaign) the actor may see: all of a campaign they
    run, and their own brand's. Other brands of the campaign see only counts."""
    own = col(Purchase.brand_id) == actor.brand_id
    if actor.is_alliance_admin:
        return true()
    return or_(_in(Campaign.group_id, actor.coordinated_group_ids), own)


def visible_events(actor: Actor) -> ColumnElement[bool]:
    """Rows of Event the actor may see: alliance-wide events, their brand's groups' events,
    events their brand is invited to, and every event of a group they coordinate. Anything
    else is a 404, on the calendar, the event page, its .ics and the feed alike."""
    if actor.is_alliance_admin:
        return true()
    invited = exists(
        select(col(EventInvite.event_id)).where(
            col(EventInvite.event_id) == Event.id, col(EventInvite.brand_id) == actor.brand_id
        )
    )
    return or_(
        col(Event.audience) == Audience.alliance,
        _in(Event.group_id, actor.coordinated_group_ids),
        and_(col(Event.audience) == Audience.group, _in(Event.group_id, actor.group_ids)),
        and_(col(Event.audience) == Audience.invited, invited),
    )


def _unreadable_sources(actor: Actor, referral_id: Any) -> ColumnElement[bool]:
    """Whether a referral draws on a report or purchase the actor may not read."""
    report = exists(
        select(col(ReferralReport.report_id))
        .join(IntelReport, col(IntelReport.id) == ReferralReport.report_id)
        .where(col(ReferralReport.referral_id) == referral_id, ~visible_intel(actor))
    )
    purchase = exists(
        select(col(ReferralPurchase.purchase_id))
        .join(Purchase, col(Purchase.id) == ReferralPurchase.purchase_id)
        .join(Campaign, col(Campaign.id) == Purchase.campaign_id)
        .where(col(ReferralPurchase.referral_id) == referral_id, ~visible_purchases(actor))
    )
    return or_(report, purchase)


def visible_referrals(actor: Actor) -> ColumnElement[bool]:
    """Rows of Referral the actor may read: those whose every source report and purchase
    the actor may read, so a referral never shows more than its sources would. Anything
    else is a 404, on its page, in lists and in the dashboard's rows alike."""
    return ~_unreadable_sources(actor, Referral.id)


def restricted_sources(referral_id: Any) -> ColumnElement[bool]:
    """Whether a referral draws on a TLP:AMBER+STRICT, TLP:RED or hidden report: then even
    its numbers count only for those who may read it."""
    return exists(
        select(col(ReferralReport.report_id))
        .join(IntelReport, col(IntelReport.id) == ReferralReport.report_id)
        .where(
            col(ReferralReport.referral_id) == referral_id,
            or_(
                col(IntelReport.tlp).in_([Tlp.amber_strict, Tlp.red]),
                col(IntelReport.hidden_reason) != "",
            ),
        )
    )


AGGREGATE_MARKINGS = (Tlp.clear, Tlp.green, Tlp.amber)


def intel_counted_for_all() -> ColumnElement[bool]:
    """Reports every member's impact figures count, as a number only (a count reveals
    nothing of them): those marked TLP:CLEAR, GREEN or AMBER, unless hidden."""
    return and_(col(IntelReport.hidden_reason) == "", col(IntelReport.tlp).in_(AGGREGATE_MARKINGS))


def intel_counted_for_readers(actor: Actor) -> ColumnElement[bool]:
    """The AMBER+STRICT and RED reports the actor's figures count besides: those the actor
    may read (visible_intel's rules for these two markings), so their numbers never reach
    anyone outside their marking. Written as the few ids the actor's own brand, groups and
    name lead to, so a year of a million reports is not read to find them."""
    report = IntelReport
    strict = col(report.tlp) == Tlp.amber_strict
    readable = [
        select(col(report.id)).where(col(report.brand_id) == actor.brand_id, strict),
        select(col(report.id)).where(_in(report.group_id, actor.coordinated_group_ids), strict),
        select(col(report.id)).where(
            col(report.author_id) == actor.person_id,
            col(report.tlp).not_in(AGGREGATE_MARKINGS),
        ),
    ]
    if not actor.acts_for_brand:
        readable.append(
            select(col(ReportRecipient.report_id)).where(
                col(ReportRecipient.person_id) == actor.person_id
            )
        )
    if actor.acts_for_brand:
        readable[2] = readable[2].where(col(report.tlp) != Tlp.red)
    return and_(
        col(report.hidden_reason) == "",
        col(report.tlp).not_in(AGGREGATE_MARKINGS),
        col(report.id).in_(union(*readable)),
    )


def countable_intel(actor: Actor) -> ColumnElement[bool]:
    """Reports the impact figures count for the actor: never a hidden one."""
    return or_(intel_counted_for_all(), intel_counted_for_readers(actor))


def referrals_counted_for_all() -> ColumnElement[bool]:
    """Referrals every member's figures count: none of their reports is AMBER+STRICT, RED
    or hidden."""
    return ~restricted_sources(Referral.id)


def referrals_counted_for_readers(actor: Actor) -> ColumnElement[bool]:
    return and_(restricted_sources(Referral.id), visible_referrals(actor))


def countable_referrals(actor: Actor) -> ColumnElement[bool]:
    return or_(referrals_counted_for_all(), referrals_counted_for_readers(actor))
