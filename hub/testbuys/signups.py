"""Sign-ups: slots, per-brand caps and the waitlist, decided under a lock on the campaign.

Every function that hands out or gives back slots first locks the campaign's row
(`lock_campaign`), then reads the counts, decides and commits. Concurrent requests, in any
number of processes, therefore decide one after the other on fresh counts; the CHECK
constraint on the campaign (slots_taken <= slots) is the last line if code ever forgot.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, and_, col, func, or_, select

from hub import audit, i18n
from hub.clock import as_utc, utcnow
from hub.db import lock_row, row_id
from hub.errors import Conflict, FormCheck, NotFound
from hub.i18n import gettext as _
from hub.i18n import ngettext
from hub.intel.models import IntelReport
from hub.members.models import Brand, Person, Role
from hub.notify.models import Notification
from hub.policy import Action, Actor, can, ensure, visible_intel
from hub.testbuys.models import (
    Campaign,
    CampaignStatus,
    Purchase,
    Signup,
    SignupEvent,
    SignupState,
    SignupTarget,
)

ACTIVE = (SignupState.confirmed, SignupState.waitlisted)
MAX_TARGET_REPORTS = 20


def window_is_open(campaign: Campaign, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return campaign.status == CampaignStatus.open and as_utc(campaign.opens_at) <= now < as_utc(
        campaign.closes_at
    )


def lock_campaign(session: Session, campaign_id: int) -> Campaign:
    """Hold the campaign's row until the caller commits, and return it freshly read."""
    campaign = lock_row(session, Campaign, campaign_id, "slots")
    if campaign is None:
        raise NotFound(_("There is no such campaign."))
    return campaign


@dataclass
class SignupForm:
    requested: str = "1"
    products: str = ""
    targets: str = ""
    report_ids: list[str] | None = None  # intelligence reports picked as targets


def _check(
    session: Session, actor: Actor, campaign: Campaign, form: SignupForm
) -> tuple[int, list[int]]:
    check = FormCheck()
    requested = 0
    try:
        requested = int(form.requested.strip())
    except ValueError:
        check.fail("requested", _("Give the number of purchases as a whole number."))
    else:
        if requested < 1:
            check.fail("requested", _("Ask for at least one purchase."))
        elif requested > campaign.max_per_brand:
            check.fail(
                "requested",
                ngettext(
                    "A brand can take at most %(most)s of this campaign's %(num)s slot.",
                    "A brand can take at most %(most)s of this campaign's %(num)s slots.",
                    campaign.slots,
                    most=i18n.number(campaign.max_per_brand),
                ),
            )
    if len(form.products) > 2000:
        check.fail("products", _("Keep the products under 2,000 characters."))
    if len(form.targets) > 5000:
        check.fail("targets", _("Keep the targets under 5,000 characters."))
    picked = sorted({n for n in map(row_id, form.report_ids or []) if n is not None})
    if len(picked) > MAX_TARGET_REPORTS:
        check.fail(
            "report_ids", _("Pick at most %(most)s reports.", most=i18n.number(MAX_TARGET_REPORTS))
        )
    readable = (
        set()
        if not picked
        else set(
            session.exec(
                select(IntelReport.id).where(
                    col(IntelReport.id).in_(picked),
                    IntelReport.group_id == campaign.group_id,
                    visible_intel(actor),
                )
            )
        )
    )
    if len(readable) != len(picked):
        check.fail("report_ids", _("Pick reports from this group's board that you can read."))
    check.done()
    return requested, picked


def sign_up(session: Session, actor: Actor, campaign: Campaign, form: SignupForm) -> Signup:
    """Sign the actor's brand up, or change its sign-up: confirmed as far as slots are
    free, the rest waitlisted in arrival order. The brand's admins are told either way."""
    ensure(actor, Action.sign_up_brand, campaign.group_id)
    _require_open_window(campaign)
    requested, picked = _check(session, actor, campaign, form)
    campaign = lock_campaign(session, campaign.id or 0)
    _require_open_window(campaign)  # it may have closed while we waited for the lock
    signup = session.exec(
        select(Signup).where(Signup.campaign_id == campaign.id, Signup.brand_id == actor.brand_id)
    ).first()
    if signup is None or signup.state not in ACTIVE:
        signup = _join_queue(session, campaign, actor.brand_id, actor.person_id, requested, signup)
        kind = "signed_up"
    else:
        _change_request(session, campaign, signup, requested)
        kind = "changed"
    signup.products = form.products.strip()
    signup.targets = form.targets.strip()
    signup.updated_at = utcnow()
    session.add(signup)
    session.flush()
    _replace_targets(session, signup, picked)
    _event(session, signup, actor.person_id, kind, f"asked for {requested}")
    fill_from_waitlist(session, campaign, actor.person_id, acting=signup)
    _tell_brand(session, campaign, signup, lambda title, brand: _news(title, brand, signup))
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        f"testbuy.{kind}",
        f"campaign:{campaign.id}",
        requested=requested,
        granted=signup.granted,
    )
    session.commit()
    return signup


def _require_open_window(campaign: Campaign) -> None:
    if campaign.status != CampaignStatus.open:
        raise Conflict(_("This campaign is not open for sign-ups."))
    now = utcnow()
    if now < as_utc(campaign.opens_at):
        raise Conflict(_("Sign-ups open on %(moment)s.", moment=i18n.when(campaign.opens_at)))
    if now >= as_utc(campaign.closes_at):
        raise Conflict(_("Sign-ups closed on %(moment)s.", moment=i18n.when(campaign.closes_at)))


def _join_queue(
    session: Session,
    campaign: Campaign,
    brand_id: int,
    person_id: int,
    requested: int,
    former: Signup | None,
) -> Signup:
    """A new place at the back of the queue (a withdrawn sign-up starts again there)."""
    signup = former or Signup(
        campaign_id=campaign.id or 0,
        brand_id=brand_id,
        requested=requested,
        state=SignupState.waitlisted,
        position=0,
        created_by_id=person_id,
    )
    signup.requested = requested
    signup.granted = 0
    signup.state = SignupState.waitlisted
    signup.approved_at = None
    signup.approved_by_id = None
    signup.position = campaign.next_position
    campaign.next_position += 1
    session.add(campaign)
    session.add(signup)
    return signup


def _change_request(session: Session, campaign: Campaign, signup: Signup, requested: int) -> None:
    """Keep the place in the queue; asking for fewer gives slots back at once."""
    _refuse_if_planned(session, signup, keep=requested)
    if requested < signup.granted:
        campaign.slots_taken -= signup.granted - requested
        signup.granted = requested
        session.add(campaign)
    signup.requested = requested
    signup.state = SignupState.confirmed if signup.granted == requested else SignupState.waitlisted


def fill_from_waitlist(
    session: Session, campaign: Campaign, person_id: int | None, acting: Signup | None = None
) -> list[Signup]:
    """Hand free slots to waiting sign-ups, first in the queue first. The campaign must be
    locked by the caller. The sign-ups that gained slots are told, but for `acting`, the
    one being signed up right now (its own answer tells it)."""
    free = campaign.slots - campaign.slots_taken
    promoted: list[Signup] = []
    if free <= 0:
        return promoted
    waiting = session.exec(
        select(Signup)
        .where(Signup.campaign_id == campaign.id, Signup.state == SignupState.waitlisted)
        .order_by(col(Signup.position), col(Signup.id))
    ).all()
    for signup in waiting:
        if free <= 0:
            break
        given = min(free, signup.requested - signup.granted)
        signup.granted += given
        free -= given
        campaign.slots_taken += given
        if signup.granted == signup.requested:
            signup.state = SignupState.confirmed
        signup.updated_at = utcnow()
        session.add(signup)
        if signup is not acting:
            _event(
                session, signup, person_id, "promoted", f"{given} more slot(s) from the waitlist"
            )
            promoted.append(signup)
    session.add(campaign)
    session.flush()
    for signup in promoted:
        _tell_brand(session, campaign, signup, _promoted_news(signup))
    return promoted


def _promoted_news(signup: Signup) -> Callable[[str, str], str]:
    def news(title: str, brand: str) -> str:
        return _(
            "Test-buy “%(title)s”: %(brand)s is promoted from the waitlist: %(standing)s.",
            title=title,
            brand=brand,
            standing=standing(signup),
        )

    return news


def withdraw(session: Session, actor: Actor, campaign: Campaign) -> Signup:
    """The actor's brand leaves the campaign while the window is open; its slots go to
    the waitlist at once."""
    ensure(actor, Action.sign_up_brand, campaign.group_id)
    campaign = lock_campaign(session, campaign.id or 0)
    signup = session.exec(
        select(Signup).where(Signup.campaign_id == campaign.id, Signup.brand_id == actor.brand_id)
    ).first()
    if signup is None or signup.state not in ACTIVE:
        raise Conflict(_("Your brand is not signed up for this campaign."))
    if not window_is_open(campaign):
        raise Conflict(
            _(
                "Sign-ups are closed, so your brand can no longer withdraw here: "
                "ask the campaign's coordinator."
            )
        )
    _release(session, campaign, signup, SignupState.withdrawn)
    _event(session, signup, actor.person_id, "withdrawn", "")
    fill_from_waitlist(session, campaign, actor.person_id)
    _tell_brand(
        session,
        campaign,
        signup,
        lambda title, brand: _(
            "Test-buy “%(title)s”: %(brand)s is withdrawn.", title=title, brand=brand
        ),
    )
    audit.record(
        session, actor.audit_id, actor.label, "testbuy.withdrawn", f"campaign:{campaign.id}"
    )
    session.commit()
    return signup


def planned(session: Session, signup: Signup) -> int:
    """How many purchases are already planned on the sign-up's slots."""
    return session.exec(
        select(func.count()).select_from(Purchase).where(Purchase.signup_id == signup.id)
    ).one()


def _refuse_if_planned(session: Session, signup: Signup, keep: int = 0) -> None:
    count = planned(session, signup)
    if count > keep:
        raise Conflict(
            ngettext(
                "%(num)s purchase is already planned on these slots: ask the campaign's "
                "coordinator.",
                "%(num)s purchases are already planned on these slots: ask the campaign's "
                "coordinator.",
                count,
            )
        )


def _release(session: Session, campaign: Campaign, signup: Signup, state: SignupState) -> None:
    _refuse_if_planned(session, signup)
    campaign.slots_taken -= signup.granted
    signup.granted = 0
    signup.state = state
    signup.updated_at = utcnow()
    session.add(campaign)
    session.add(signup)
    session.flush()


def get_for_runner(session: Session, actor: Actor, signup_id: int) -> tuple[Signup, Campaign]:
    """A sign-up, for the coordinators of its campaign; to anyone else it does not exist."""
    row = session.exec(
        select(Signup, Campaign)
        .join(Campaign, col(Campaign.id) == Signup.campaign_id)
        .where(Signup.id == signup_id)
    ).first()
    if row is None:
        raise NotFound(_("There is no such sign-up."))
    signup, campaign = row
    if not can(actor, Action.run_campaigns, campaign.group_id):
        raise NotFound(_("There is no such sign-up."))
    return signup, campaign


def approve(session: Session, actor: Actor, signup: Signup, campaign: Campaign) -> Signup:
    ensure(actor, Action.run_campaigns, campaign.group_id)
    if signup.state not in ACTIVE or signup.granted == 0:
        raise Conflict(_("Only a sign-up holding slots can be approved."))
    if signup.approved_at is not None:
        raise Conflict(_("This sign-up is already approved."))
    signup.approved_at = utcnow()
    signup.approved_by_id = actor.person_id
    session.add(signup)
    _event(session, signup, actor.person_id, "approved", "")
    _tell_brand(
        session,
        campaign,
        signup,
        lambda title, brand: _(
            "Test-buy “%(title)s”: %(brand)s is approved by the coordinator.",
            title=title,
            brand=brand,
        ),
    )
    session.commit()
    return signup


def reorder(
    session: Session, actor: Actor, signup: Signup, campaign: Campaign, place: str, reason: str
) -> Signup:
    """Move a waiting sign-up to another place in the waitlist, for a recorded reason."""
    ensure(actor, Action.run_campaigns, campaign.group_id)
    check = FormCheck()
    reason = reason.strip()
    if not reason:
        check.fail("reason", _("Say why the order changes: the brands can ask."))
    elif len(reason) > 400:
        check.fail("reason", _("Keep the reason under 400 characters."))
    try:
        wanted = int(place.strip())
    except ValueError:
        check.fail("place", _("Give the new place as a number (1 is first)."))
        wanted = 0
    check.done()
    campaign = lock_campaign(session, campaign.id or 0)
    session.refresh(signup)
    if signup.state != SignupState.waitlisted:
        raise Conflict(_("Only sign-ups on the waitlist can be reordered."))
    queue = list(
        session.exec(
            select(Signup)
            .where(Signup.campaign_id == campaign.id, Signup.state == SignupState.waitlisted)
            .order_by(col(Signup.position), col(Signup.id))
        )
    )
    if not 1 <= wanted <= len(queue):
        raise Conflict(_("Choose a place between 1 and %(last)s.", last=i18n.number(len(queue))))
    before = queue.index(signup) + 1
    positions = [s.position for s in queue]
    queue.remove(signup)
    queue.insert(wanted - 1, signup)
    for item, position in zip(queue, positions, strict=True):
        item.position = position
        session.add(item)
    _event(session, signup, actor.person_id, "reordered", f"place {before} → {wanted}: {reason}")
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "testbuy.reordered",
        f"signup:{signup.id}",
        before=before,
        after=wanted,
        reason=reason,
    )
    session.commit()
    return signup


def move(
    session: Session,
    actor: Actor,
    signup: Signup,
    campaign: Campaign,
    target: Campaign,
    reason: str,
) -> Signup:
    """Hand a sign-up to another campaign of the same group, at the back of its queue."""
    ensure(actor, Action.run_campaigns, campaign.group_id)
    ensure(actor, Action.run_campaigns, target.group_id)
    if target.id == campaign.id:
        raise Conflict(_("Choose another campaign to move the sign-up to."))
    if target.group_id != campaign.group_id:
        raise Conflict(_("A sign-up can only move to a campaign of the same working group."))
    if target.status not in (CampaignStatus.open, CampaignStatus.closed):
        raise Conflict(_("The other campaign does not take sign-ups any more."))
    reason = reason.strip()[:400]
    # Lock both, lower id first, so two opposite moves cannot wait on each other.
    first, second = sorted([campaign.id or 0, target.id or 0])
    locked = {first: lock_campaign(session, first), second: lock_campaign(session, second)}
    here, there = locked[campaign.id or 0], locked[target.id or 0]
    session.refresh(signup)
    if signup.state not in ACTIVE:
        raise Conflict(_("Only a confirmed or waiting sign-up can be moved."))
    if signup.requested > there.max_per_brand:
        raise Conflict(
            _(
                "The other campaign takes at most %(most)s per brand.",
                most=i18n.number(there.max_per_brand),
            )
        )
    existing = session.exec(
        select(Signup).where(Signup.campaign_id == there.id, Signup.brand_id == signup.brand_id)
    ).first()
    if existing is not None and existing.state in ACTIVE:
        raise Conflict(_("That brand is already signed up for the other campaign."))
    _release(session, here, signup, SignupState.moved)
    moved = _join_queue(
        session, there, signup.brand_id, actor.person_id, signup.requested, existing
    )
    moved.products, moved.targets = signup.products, signup.targets
    session.flush()
    detail = f"moved to campaign {there.id}" + (f": {reason}" if reason else "")
    _event(session, signup, actor.person_id, "moved", detail)
    _event(session, moved, actor.person_id, "moved", f"moved from campaign {here.id}")
    fill_from_waitlist(session, here, actor.person_id)
    fill_from_waitlist(session, there, actor.person_id, acting=moved)
    _tell_brand(
        session,
        there,
        moved,
        lambda title, brand: _(
            "Test-buy “%(title)s”: %(brand)s is moved here by the coordinator: %(standing)s.",
            title=title,
            brand=brand,
            standing=standing(moved),
        ),
    )
    audit.record(
        session,
        actor.audit_id,
        actor.label,
        "testbuy.moved",
        f"signup:{signup.id}",
        to=f"campaign:{there.id}",
        reason=reason,
    )
    session.commit()
    return moved


def _replace_targets(session: Session, signup: Signup, report_ids: list[int]) -> None:
    for old in session.exec(select(SignupTarget).where(SignupTarget.signup_id == signup.id)):
        session.delete(old)
    session.flush()
    for report_id in report_ids:
        session.add(SignupTarget(signup_id=signup.id or 0, report_id=report_id))


def _event(session: Session, signup: Signup, person_id: int | None, kind: str, detail: str) -> None:
    """Keep a step of the sign-up's history. The detail is stored in English, in one of the
    shapes `event_detail` knows, and shown to each reader in their own language."""
    session.add(
        SignupEvent(signup_id=signup.id or 0, person_id=person_id, kind=kind, detail=detail[:500])
    )


# The stored shapes of SignupEvent.detail (see `_event`), and how a reader reads them.
_DETAILS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"asked for (\d+)"),
        lambda m: ngettext("asked for %(num)s purchase", "asked for %(num)s purchases", int(m[1])),
    ),
    (
        re.compile(r"(\d+) more slot\(s\) from the waitlist"),
        lambda m: ngettext(
            "%(num)s more slot from the waitlist", "%(num)s more slots from the waitlist", int(m[1])
        ),
    ),
    (
        re.compile(r"place (\d+) → (\d+): (.*)", re.DOTALL),
        lambda m: _(
            "place %(before)s → %(after)s: %(reason)s",
            before=i18n.number(int(m[1])),
            after=i18n.number(int(m[2])),
            reason=m[3],
        ),
    ),
    (
        re.compile(r"moved to campaign (\d+): (.*)", re.DOTALL),
        lambda m: _("moved to campaign %(id)s: %(reason)s", id=m[1], reason=m[2]),
    ),
    (
        re.compile(r"moved to campaign (\d+)"),
        lambda m: _("moved to campaign %(id)s", id=m[1]),
    ),
    (
        re.compile(r"moved from campaign (\d+)"),
        lambda m: _("moved from campaign %(id)s", id=m[1]),
    ),
]


def event_detail(event: SignupEvent) -> str:
    """A history entry's detail in the reader's language (a reason as it was typed)."""
    for shape, read in _DETAILS:
        if found := shape.fullmatch(event.detail):
            return read(found)
    return event.detail


def standing(signup: Signup) -> str:
    """How a sign-up stands, as a phrase that follows a colon: 'confirmed for 2 purchases'."""
    if signup.state == SignupState.confirmed:
        return ngettext(
            "confirmed for %(num)s purchase", "confirmed for %(num)s purchases", signup.granted
        )
    if signup.granted:
        return ngettext(
            "%(granted)s of %(num)s purchase confirmed, the rest on the waitlist",
            "%(granted)s of %(num)s purchases confirmed, the rest on the waitlist",
            signup.requested,
            granted=i18n.number(signup.granted),
        )
    return _("on the waitlist")


def your_standing(signup: Signup) -> str:
    """How the reader's own brand stands, as a sentence."""
    if signup.state == SignupState.confirmed:
        return ngettext(
            "Your brand is confirmed for %(num)s purchase.",
            "Your brand is confirmed for %(num)s purchases.",
            signup.granted,
        )
    if signup.granted:
        return ngettext(
            "Your brand has %(granted)s of %(num)s purchase confirmed; the rest is on the "
            "waitlist.",
            "Your brand has %(granted)s of %(num)s purchases confirmed; the rest is on the "
            "waitlist.",
            signup.requested,
            granted=i18n.number(signup.granted),
        )
    return _("Your brand is on the waitlist.")


def _news(title: str, brand: str, signup: Signup) -> str:
    """A brand's news after it signed up or changed its sign-up."""
    if signup.state == SignupState.confirmed:
        return ngettext(
            "Test-buy “%(title)s”: %(brand)s is confirmed for %(num)s purchase.",
            "Test-buy “%(title)s”: %(brand)s is confirmed for %(num)s purchases.",
            signup.granted,
            title=title,
            brand=brand,
        )
    if signup.granted:
        return ngettext(
            "Test-buy “%(title)s”: %(brand)s has %(granted)s of %(num)s purchase confirmed; "
            "the rest is on the waitlist.",
            "Test-buy “%(title)s”: %(brand)s has %(granted)s of %(num)s purchases confirmed; "
            "the rest is on the waitlist.",
            signup.requested,
            title=title,
            brand=brand,
            granted=i18n.number(signup.granted),
        )
    return _("Test-buy “%(title)s”: %(brand)s is on the waitlist.", title=title, brand=brand)


def _tell_brand(
    session: Session, campaign: Campaign, signup: Signup, news: Callable[[str, str], str]
) -> None:
    """Tell the brand's admins (and whoever signed up) how the sign-up stands, each in
    their own language: `news(campaign title, brand name)` writes the sentence."""
    people = session.exec(
        select(Person.id, Person.language, Person.time_zone)
        .where(
            or_(
                and_(
                    Person.brand_id == signup.brand_id,
                    Person.role == Role.brand_admin,
                    col(Person.is_active).is_(True),
                ),
                Person.id == signup.created_by_id,
            )
        )
        .order_by(col(Person.id))
    ).all()
    brand = session.get(Brand, signup.brand_id)
    for person_id, language, zone in people:
        with i18n.presenting(language, zone):
            text = news(campaign.title, brand.name if brand else _("your brand"))
        session.add(
            Notification(
                person_id=person_id or 0,
                kind="testbuy.signup",
                group_id=campaign.group_id,
                text=text[:500],
                link=f"/testbuys/{campaign.id}",
            )
        )


def count_columns() -> tuple[Any, Any]:
    """Per campaign, the counts everyone may see: brands holding slots, sign-ups waiting;
    as columns correlated to Campaign, so a listing reads them in its own statement."""

    def counted(condition: Any) -> Any:
        return (
            select(func.count())
            .select_from(Signup)
            .where(
                col(Signup.campaign_id) == Campaign.id,
                col(Signup.state).in_(ACTIVE),
                condition,
            )
            .scalar_subquery()
        )

    return counted(col(Signup.granted) > 0), counted(col(Signup.state) == SignupState.waitlisted)


@dataclass(frozen=True)
class RosterLine:
    signup: Signup
    brand: Brand
    place: int | None  # on the waitlist, 1 is next
    events: list[SignupEvent]


def roster(session: Session, campaign: Campaign) -> list[RosterLine]:
    """Every sign-up of the campaign, holding slots first, then the waitlist in order.
    For the campaign's runners only (the caller checks)."""
    # One statement: each sign-up with its history, a row per event.
    found = session.exec(
        select(Signup, Brand, SignupEvent)
        .join(Brand, col(Brand.id) == Signup.brand_id)
        .outerjoin(SignupEvent, col(SignupEvent.signup_id) == Signup.id)
        .where(Signup.campaign_id == campaign.id)
        .order_by(col(Signup.position), col(Signup.id), col(SignupEvent.id))
    ).all()
    rows: dict[int, tuple[Signup, Brand]] = {}
    events: dict[int, list[SignupEvent]] = {}
    for signup, brand, event in found:
        rows.setdefault(signup.id or 0, (signup, brand))
        if event is not None:
            events.setdefault(signup.id or 0, []).append(event)
    lines: list[RosterLine] = []
    place = 0
    for signup, brand in rows.values():
        waiting = signup.state == SignupState.waitlisted
        place += 1 if waiting else 0
        lines.append(
            RosterLine(signup, brand, place if waiting else None, events.get(signup.id or 0, []))
        )
    return lines


def place_in_queue(session: Session, signup: Signup) -> int | None:
    """Where a waiting sign-up stands: 1 is next to get a slot."""
    if signup.state != SignupState.waitlisted:
        return None
    ahead = session.exec(
        select(func.count())
        .select_from(Signup)
        .where(
            Signup.campaign_id == signup.campaign_id,
            Signup.state == SignupState.waitlisted,
            col(Signup.position) < signup.position,
        )
    ).one()
    return int(ahead) + 1


def of_brand(session: Session, campaign: Campaign, brand_id: int) -> Signup | None:
    return session.exec(
        select(Signup).where(Signup.campaign_id == campaign.id, Signup.brand_id == brand_id)
    ).first()


def target_reports(session: Session, actor: Actor, signup: Signup) -> list[IntelReport]:
    """The reports a sign-up picked as targets, as far as the reader may see them."""
    return list(
        session.exec(
            select(IntelReport)
            .join(SignupTarget, col(SignupTarget.report_id) == IntelReport.id)
            .where(SignupTarget.signup_id == signup.id, visible_intel(actor))
            .order_by(col(IntelReport.id))
        )
    )
