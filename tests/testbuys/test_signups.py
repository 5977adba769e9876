"""Service-level rules of test-buy sign-ups and purchases: slots, per-brand caps, the
sign-up window, who may sign up, the waitlist (order, promotion, reordering, moving,
withdrawing), the database's own CHECK constraints, and the limits on planning and
stepping purchases."""

from datetime import timedelta

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from hub.clock import utcnow
from hub.errors import Conflict, Forbidden, InvalidForm
from hub.members.models import Person, Role
from hub.notify.models import Notification
from hub.testbuys import campaigns, personas, purchases, signups
from hub.testbuys.models import (
    Campaign,
    CampaignStatus,
    Purchase,
    PurchaseStatus,
    Signup,
    SignupEvent,
    SignupState,
    Verdict,
)
from tests import factories
from tests.conftest import World
from tests.intel.factories import actor_of
from tests.testbuys.factories import make_campaign, make_purchase, sign_up


@pytest.fixture
def admin_b(db: Session, world: World) -> Person:
    """A brand admin for brand B (apparel), which `world` leaves without one."""
    person = factories.make_person(db, world.brand_b, Role.brand_admin, name="Bea Admin")
    db.commit()
    return person


@pytest.fixture
def admin_d(db: Session, world: World) -> Person:
    """The admin of a fourth brand, D, also in apparel."""
    brand_d = factories.make_brand(db, "brand-d", [world.apparel], name="Brand D")
    person = factories.make_person(db, brand_d, Role.brand_admin, name="Dora Admin")
    db.commit()
    return person


def stored(db: Session, row: Campaign | Signup | Purchase) -> None:
    """Read `row` again from the database, so assertions see what was committed."""
    db.refresh(row)


def queue(db: Session, campaign: Campaign) -> list[int]:
    """Brand ids on the campaign's waitlist, next first, as the roster shows them."""
    return [
        line.signup.brand_id
        for line in signups.roster(db, campaign)
        if line.signup.state == SignupState.waitlisted
    ]


def new_notifications(db: Session, person: Person, after: int) -> list[Notification]:
    return list(
        db.exec(
            select(Notification)
            .where(Notification.person_id == person.id, col(Notification.id) > after)
            .order_by(col(Notification.id))
        )
    )


def last_notification_id(db: Session) -> int:
    return int(db.exec(select(func.max(Notification.id))).one() or 0)


def test_sign_up_is_confirmed_while_slots_are_free(db: Session, world: World) -> None:
    """A brand asking for no more than the free slots is confirmed for all it asked, and
    the campaign counts the slots as taken."""
    campaign = make_campaign(db, world.coordinator, world.apparel, slots=5, max_per_brand=3)

    signup = sign_up(db, world.admin_a, campaign, 2)

    stored(db, signup)
    stored(db, campaign)
    assert (signup.state, signup.requested, signup.granted) == (SignupState.confirmed, 2, 2)
    assert signup.brand_id == world.brand_a.id
    assert campaign.slots_taken == 2


def test_partial_grant_waitlists_the_rest_in_arrival_order(
    db: Session, world: World, admin_b: Person, admin_d: Person
) -> None:
    """Asking 3 with 2 left grants 2 and waitlists the sign-up; a later sign-up queues
    behind it, and freed slots go to the earlier one first."""
    campaign = make_campaign(db, world.coordinator, world.apparel, slots=4, max_per_brand=3)
    first = sign_up(db, world.admin_a, campaign, 2)
    partial = sign_up(db, admin_b, campaign, 3)
    later = sign_up(db, admin_d, campaign, 1)

    stored(db, partial)
    assert (partial.state, partial.requested, partial.granted) == (SignupState.waitlisted, 3, 2)
    assert "2 of 3 purchases confirmed" in signups.standing(partial)
    stored(db, later)
    assert (later.state, later.granted) == (SignupState.waitlisted, 0)
    assert signups.place_in_queue(db, partial) == 1
    assert signups.place_in_queue(db, later) == 2
    assert queue(db, campaign) == [admin_b.brand_id, admin_d.brand_id]
    assert first.position < partial.position < later.position

    signups.withdraw(db, actor_of(db, world.admin_a), campaign)

    stored(db, partial)
    stored(db, later)
    stored(db, campaign)
    assert (partial.state, partial.granted) == (SignupState.confirmed, 3)
    assert (later.state, later.granted) == (SignupState.confirmed, 1)
    assert campaign.slots_taken == 4


def test_asking_more_than_the_per_brand_cap_is_refused(db: Session, world: World) -> None:
    """The cap is checked before anything is written, with a message naming it."""
    campaign = make_campaign(db, world.coordinator, world.apparel, slots=5, max_per_brand=2)

    with pytest.raises(InvalidForm) as refused:
        sign_up(db, world.admin_a, campaign, 3)

    assert "at most 2" in refused.value.errors["requested"]
    assert signups.of_brand(db, campaign, world.brand_a.id or 0) is None
    stored(db, campaign)
    assert campaign.slots_taken == 0


@pytest.mark.parametrize("requested", ["0", "-1", "two", ""])
def test_asking_for_no_or_no_number_of_purchases_is_refused(
    db: Session, world: World, requested: str
) -> None:
    """The number of purchases must be a whole number of at least one."""
    campaign = make_campaign(db, world.coordinator, world.apparel)

    with pytest.raises(InvalidForm) as refused:
        signups.sign_up(
            db, actor_of(db, world.admin_a), campaign, signups.SignupForm(requested=requested)
        )

    assert "requested" in refused.value.errors
    assert signups.of_brand(db, campaign, world.brand_a.id or 0) is None


def test_sign_up_before_the_window_opens_is_refused(db: Session, world: World) -> None:
    """An open campaign whose window starts tomorrow takes no sign-up yet."""
    campaign = make_campaign(db, world.coordinator, world.apparel)
    campaign.opens_at = utcnow() + timedelta(days=1)
    campaign.closes_at = utcnow() + timedelta(days=8)
    db.add(campaign)
    db.commit()

    with pytest.raises(Conflict) as refused:
        sign_up(db, world.admin_a, campaign, 1)

    assert "Sign-ups open on" in refused.value.message
    assert signups.of_brand(db, campaign, world.brand_a.id or 0) is None


def test_sign_up_after_the_window_closed_is_refused(db: Session, world: World) -> None:
    """An open campaign whose window ended yesterday takes no sign-up any more."""
    campaign = make_campaign(db, world.coordinator, world.apparel)
    campaign.opens_at = utcnow() - timedelta(days=8)
    campaign.closes_at = utcnow() - timedelta(days=1)
    db.add(campaign)
    db.commit()

    with pytest.raises(Conflict) as refused:
        sign_up(db, world.admin_a, campaign, 1)

    assert "Sign-ups closed on" in refused.value.message
    assert signups.of_brand(db, campaign, world.brand_a.id or 0) is None


def test_window_is_read_again_under_the_lock(db: Session, world: World) -> None:
    """A caller holding a stale copy of the campaign (still open) is refused when the
    database says the window has closed meanwhile."""
    campaign = make_campaign(db, world.coordinator, world.apparel)
    # Straight to the table, past the session, so the object in hand keeps the old dates.
    db.connection().execute(
        update(Campaign)
        .where(col(Campaign.id) == campaign.id)
        .values(closes_at=utcnow() - timedelta(minutes=1))
    )
    assert signups.window_is_open(campaign)  # the copy in hand is stale

    with pytest.raises(Conflict) as refused:
        sign_up(db, world.admin_a, campaign, 1)

    assert "Sign-ups closed on" in refused.value.message
    assert signups.of_brand(db, campaign, world.brand_a.id or 0) is None


@pytest.mark.parametrize("status", [CampaignStatus.draft, CampaignStatus.closed])
def test_sign_up_for_a_campaign_not_open_is_refused(db: Session, world: World, status: str) -> None:
    """A draft or a closed campaign takes no sign-up, even inside its dates."""
    campaign = make_campaign(db, world.coordinator, world.apparel, status=status)
    assert campaign.status == status

    with pytest.raises(Conflict) as refused:
        sign_up(db, world.admin_a, campaign, 1)

    assert "not open for sign-ups" in refused.value.message
    assert signups.of_brand(db, campaign, world.brand_a.id or 0) is None


def test_brand_outside_the_group_may_not_sign_up(db: Session, world: World) -> None:
    """Brand C is in the toys group, not apparel: its admin is refused by the policy."""
    campaign = make_campaign(db, world.coordinator, world.apparel)

    with pytest.raises(Forbidden):
        sign_up(db, world.admin_c, campaign, 1)

    assert signups.of_brand(db, campaign, world.brand_c.id or 0) is None


@pytest.mark.parametrize("who", ["member_a", "coordinator"])
def test_only_a_brand_admin_signs_the_brand_up(db: Session, world: World, who: str) -> None:
    """A plain member of a brand in the group, or the coordinator running the campaign,
    cannot sign a brand up: that is the brand admin's decision."""
    campaign = make_campaign(db, world.coordinator, world.apparel)
    person: Person = getattr(world, who)

    with pytest.raises(Forbidden):
        sign_up(db, person, campaign, 1)

    stored(db, campaign)
    assert campaign.slots_taken == 0
    assert db.exec(select(Signup).where(Signup.campaign_id == campaign.id)).first() is None


def test_withdrawing_promotes_the_next_in_line_and_tells_both_brands(
    db: Session, world: World, admin_b: Person, admin_d: Person
) -> None:
    """The slots freed by a withdrawal go to the first sign-up in the queue (not to a
    later, smaller one), and both brands are notified with a link to the campaign."""
    campaign = make_campaign(db, world.coordinator, world.apparel, slots=2, max_per_brand=2)
    sign_up(db, world.admin_a, campaign, 2)
    next_in_line = sign_up(db, admin_b, campaign, 2)
    behind = sign_up(db, admin_d, campaign, 1)
    before = last_notification_id(db)

    withdrawn = signups.withdraw(db, actor_of(db, world.admin_a), campaign)

    stored(db, withdrawn)
    stored(db, next_in_line)
    stored(db, behind)
    stored(db, campaign)
    assert (withdrawn.state, withdrawn.granted) == (SignupState.withdrawn, 0)
    assert (next_in_line.state, next_in_line.granted) == (SignupState.confirmed, 2)
    assert (behind.state, behind.granted) == (SignupState.waitlisted, 0)
    assert campaign.slots_taken == 2
    link = f"/testbuys/{campaign.id}"
    told_a = new_notifications(db, world.admin_a, before)
    told_b = new_notifications(db, admin_b, before)
    assert [n.link for n in told_a] == [link]
    assert "withdrawn" in told_a[0].text
    assert [n.link for n in told_b] == [link]
    assert "promoted from the waitlist" in told_b[0].text
    assert new_notifications(db, admin_d, before) == []
    kinds = db.exec(select(SignupEvent.kind).where(SignupEvent.signup_id == next_in_line.id))
    assert "promoted" in list(kinds)


def test_withdrawing_without_a_sign_up_is_refused(db: Session, world: World) -> None:
    """A brand that never signed up has nothing to withdraw."""
    campaign = make_campaign(db, world.coordinator, world.apparel)

    with pytest.raises(Conflict):
        signups.withdraw(db, actor_of(db, world.admin_a), campaign)


def test_more_slots_from_the_coordinator_promote_the_waitlist(
    db: Session, world: World, admin_b: Person, admin_d: Person
) -> None:
    """Raising the number of slots in the campaign form hands the new slots to the
    waitlist at once, first in line first."""
    campaign = make_campaign(db, world.coordinator, world.apparel, slots=2, max_per_brand=2)
    sign_up(db, world.admin_a, campaign, 2)
    waiting_b = sign_up(db, admin_b, campaign, 2)
    waiting_d = sign_up(db, admin_d, campaign, 2)
    form = campaigns.form_of(campaign, world.apparel)
    form.slots = "5"

    campaigns.update(db, actor_of(db, world.coordinator), campaign, form)

    stored(db, campaign)
    stored(db, waiting_b)
    stored(db, waiting_d)
    assert (campaign.slots, campaign.slots_taken) == (5, 5)
    assert (waiting_b.state, waiting_b.granted) == (SignupState.confirmed, 2)
    assert (waiting_d.state, waiting_d.granted) == (SignupState.waitlisted, 1)


def test_fewer_slots_than_are_taken_is_refused(db: Session, world: World, admin_b: Person) -> None:
    """A campaign cannot shrink below the slots brands already hold."""
    campaign = make_campaign(db, world.coordinator, world.apparel, slots=5, max_per_brand=3)
    sign_up(db, world.admin_a, campaign, 3)
    sign_up(db, admin_b, campaign, 1)
    form = campaigns.form_of(campaign, world.apparel)
    form.slots = "3"

    with pytest.raises(InvalidForm) as refused:
        campaigns.update(db, actor_of(db, world.coordinator), campaign, form)

    assert "4 slots are already taken" in refused.value.errors["slots"]
    db.rollback()
    stored(db, campaign)
    assert (campaign.slots, campaign.slots_taken) == (5, 4)


def test_reordering_with_a_reason_changes_who_is_promoted(
    db: Session, world: World, admin_b: Person, admin_d: Person
) -> None:
    """A coordinator moves the later sign-up to the front for a reason; the next free
    slot goes to it, and its history records the reason."""
    campaign = make_campaign(db, world.coordinator, world.apparel, slots=1, max_per_brand=1)
    sign_up(db, world.admin_a, campaign, 1)
    first = sign_up(db, admin_b, campaign, 1)
    second = sign_up(db, admin_d, campaign, 1)
    assert queue(db, campaign) == [admin_b.brand_id, admin_d.brand_id]
    reason = "Brand D's product launch is next week"

    signups.reorder(db, actor_of(db, world.coordinator), second, campaign, "1", reason)

    assert queue(db, campaign) == [admin_d.brand_id, admin_b.brand_id]
    events = list(
        db.exec(
            select(SignupEvent).where(
                SignupEvent.signup_id == second.id, SignupEvent.kind == "reordered"
            )
        )
    )
    assert len(events) == 1
    assert reason in events[0].detail
    assert events[0].person_id == world.coordinator.id

    signups.withdraw(db, actor_of(db, world.admin_a), campaign)

    stored(db, first)
    stored(db, second)
    assert (second.state, second.granted) == (SignupState.confirmed, 1)
    assert (first.state, first.granted) == (SignupState.waitlisted, 0)


@pytest.mark.parametrize("reason", ["", "   "])
def test_reordering_without_a_reason_is_refused(
    db: Session, world: World, admin_b: Person, admin_d: Person, reason: str
) -> None:
    """The brands may ask why the order changed, so a reason is required; nothing moves."""
    campaign = make_campaign(db, world.coordinator, world.apparel, slots=1, max_per_brand=1)
    sign_up(db, world.admin_a, campaign, 1)
    sign_up(db, admin_b, campaign, 1)
    second = sign_up(db, admin_d, campaign, 1)

    with pytest.raises(InvalidForm) as refused:
        signups.reorder(db, actor_of(db, world.coordinator), second, campaign, "1", reason)

    assert "reason" in refused.value.errors
    assert queue(db, campaign) == [admin_b.brand_id, admin_d.brand_id]


def test_a_brand_admin_may_not_reorder_the_queue(
    db: Session, world: World, admin_b: Person, admin_d: Person
) -> None:
    """Only the campaign's runners reorder; a brand admin jumping the queue is refused."""
    campaign = make_campaign(db, world.coordinator, world.apparel, slots=1, max_per_brand=1)
    sign_up(db, world.admin_a, campaign, 1)
    sign_up(db, admin_b, campaign, 1)
    mine = sign_up(db, admin_d, campaign, 1)

    with pytest.raises(Forbidden):
        signups.reorder(db, actor_of(db, admin_d), mine, campaign, "1", "We are in a hurry")

    assert queue(db, campaign) == [admin_b.brand_id, admin_d.brand_id]


def test_moving_a_sign_up_frees_its_slots_here_and_queues_it_there(
    db: Session, world: World, admin_b: Person, admin_d: Person
) -> None:
    """Moved to another open campaign of the group, a confirmed sign-up gives its slots
    to this campaign's waitlist and joins the back of the other campaign's queue."""
    here = make_campaign(db, world.coordinator, world.apparel, slots=2, max_per_brand=2)
    there = make_campaign(db, world.coordinator, world.apparel, slots=2, max_per_brand=2)
    leaving = sign_up(db, world.admin_a, here, 2)
    waiting_here = sign_up(db, admin_b, here, 1)
    holder_there = sign_up(db, admin_d, there, 2)

    moved = signups.move(
        db, actor_of(db, world.coordinator), leaving, here, there, "Better fit for brand A"
    )

    stored(db, leaving)
    stored(db, waiting_here)
    stored(db, here)
    assert (leaving.state, leaving.granted) == (SignupState.moved, 0)
    assert (waiting_here.state, waiting_here.granted) == (SignupState.confirmed, 1)
    assert here.slots_taken == 1
    stored(db, moved)
    stored(db, there)
    assert moved.campaign_id == there.id and moved.brand_id == world.brand_a.id
    assert (moved.state, moved.requested, moved.granted) == (SignupState.waitlisted, 2, 0)
    assert moved.position > holder_there.position
    assert there.slots_taken == 2
    assert queue(db, there) == [world.brand_a.id]
    details = db.exec(select(SignupEvent.detail).where(SignupEvent.signup_id == leaving.id))
    assert any("Better fit for brand A" in detail for detail in details)


def test_moving_to_a_campaign_of_another_group_is_refused(db: Session, world: World) -> None:
    """A sign-up stays within its working group, even for an alliance admin who runs
    both groups' campaigns."""
    here = make_campaign(db, world.alliance_admin, world.apparel)
    there = make_campaign(db, world.alliance_admin, world.toys)
    signup = sign_up(db, world.admin_a, here, 1)

    with pytest.raises(Conflict):
        signups.move(db, actor_of(db, world.alliance_admin), signup, here, there, "")

    stored(db, signup)
    assert (signup.state, signup.granted) == (SignupState.confirmed, 1)


def test_signing_up_again_after_withdrawing_goes_to_the_back(
    db: Session, world: World, admin_b: Person, admin_d: Person
) -> None:
    """A brand that withdrew and signs up again does not keep its old place: it queues
    behind those who waited meanwhile."""
    campaign = make_campaign(db, world.coordinator, world.apparel, slots=1, max_per_brand=1)
    sign_up(db, world.admin_a, campaign, 1)
    b_first = sign_up(db, admin_b, campaign, 1)
    d_second = sign_up(db, admin_d, campaign, 1)
    signups.withdraw(db, actor_of(db, admin_b), campaign)

    again = sign_up(db, admin_b, campaign, 1)

    assert again.id == b_first.id  # one row per brand and campaign
    stored(db, again)
    stored(db, d_second)
    assert again.state == SignupState.waitlisted
    assert again.position > d_second.position
    assert queue(db, campaign) == [admin_d.brand_id, admin_b.brand_id]

    signups.withdraw(db, actor_of(db, world.admin_a), campaign)

    stored(db, again)
    stored(db, d_second)
    assert (d_second.state, d_second.granted) == (SignupState.confirmed, 1)
    assert (again.state, again.granted) == (SignupState.waitlisted, 0)


def test_the_database_refuses_an_overbooked_campaign(db: Session, world: World) -> None:
    """Even written straight into the table, slots_taken > slots breaks the CHECK
    constraint: the last line of defence if code ever forgot the count."""
    campaign = make_campaign(db, world.coordinator, world.apparel, slots=3, max_per_brand=3)

    with pytest.raises(IntegrityError), db.begin_nested():
        db.connection().execute(
            text("UPDATE testbuy_campaign SET slots_taken = slots + 1 WHERE id = :id"),
            {"id": campaign.id},
        )

    taken = db.connection().execute(
        text("SELECT slots_taken FROM testbuy_campaign WHERE id = :id"), {"id": campaign.id}
    )
    assert taken.scalar_one() == 0


def test_the_database_refuses_more_granted_than_requested(db: Session, world: World) -> None:
    """A sign-up can never hold more slots than it asked for, by the table's CHECK."""
    campaign = make_campaign(db, world.coordinator, world.apparel, slots=3, max_per_brand=3)
    signup = sign_up(db, world.admin_a, campaign, 1)

    with pytest.raises(IntegrityError), db.begin_nested():
        db.connection().execute(
            text("UPDATE testbuy_signup SET granted = requested + 1 WHERE id = :id"),
            {"id": signup.id},
        )

    stored(db, signup)
    assert signup.granted == 1


# Purchases -------------------------------------------------------------------------------


def test_no_more_purchases_than_granted_slots(db: Session, world: World) -> None:
    """A brand with 2 confirmed slots gets 2 planned purchases, not a third."""
    campaign = make_campaign(db, world.coordinator, world.apparel, slots=3, max_per_brand=2)
    signup = sign_up(db, world.admin_a, campaign, 2)
    make_purchase(db, world.coordinator, campaign, signup, seller="First Seller")
    make_purchase(db, world.coordinator, campaign, signup, seller="Second Seller")

    with pytest.raises(InvalidForm) as refused:
        make_purchase(db, world.coordinator, campaign, signup, seller="Third Seller")

    assert "all planned" in refused.value.errors["signup"]
    db.rollback()
    count = db.exec(
        select(func.count()).select_from(Purchase).where(Purchase.signup_id == signup.id)
    )
    assert count.one() == 2


def test_a_waiting_sign_up_without_slots_gets_no_purchase(
    db: Session, world: World, admin_b: Person
) -> None:
    """Purchases are planned only on confirmed slots: a sign-up holding none is refused."""
    campaign = make_campaign(db, world.coordinator, world.apparel, slots=1, max_per_brand=1)
    sign_up(db, world.admin_a, campaign, 1)
    waiting = sign_up(db, admin_b, campaign, 1)
    assert waiting.granted == 0

    with pytest.raises(InvalidForm) as refused:
        make_purchase(db, world.coordinator, campaign, waiting)

    assert "signup" in refused.value.errors


def test_a_brand_admin_may_not_plan_purchases(db: Session, world: World) -> None:
    """Planning purchases is the campaign runners' job."""
    campaign = make_campaign(db, world.coordinator, world.apparel)
    signup = sign_up(db, world.admin_a, campaign, 1)

    with pytest.raises(Forbidden):
        make_purchase(db, world.admin_a, campaign, signup)


def _persona(db: Session, world: World, name: str) -> int:
    form = personas.PersonaForm(group=world.apparel.slug, name=name, drop_address="1 Rue X")
    persona = personas.create(db, actor_of(db, world.coordinator), form)
    assert persona.id is not None
    return persona.id


def _purchase_form(signup: Signup, persona_id: int) -> purchases.PurchaseForm:
    return purchases.PurchaseForm(
        signup=str(signup.id),
        product="Handbag model 7",
        marketplace="Marketplace One",
        seller="LuxeOutlet88",
        persona=str(persona_id),
        item_cost="50.00",
    )


def test_a_burned_persona_is_refused_for_a_new_purchase(db: Session, world: World) -> None:
    """A persona the sellers know is offered for no new purchase; a fresh one is fine,
    and a purchase already made under the persona keeps it when edited."""
    campaign = make_campaign(db, world.coordinator, world.apparel, slots=3, max_per_brand=3)
    signup = sign_up(db, world.admin_a, campaign, 3)
    coordinator = actor_of(db, world.coordinator)
    burned_id = _persona(db, world, "Jo Buyer")
    fresh_id = _persona(db, world, "Sam Buyer")
    earlier = purchases.create(db, coordinator, campaign, _purchase_form(signup, burned_id))
    burned = personas.get(db, coordinator, burned_id)
    personas.burn(db, coordinator, burned, "The seller blocked the account")

    with pytest.raises(InvalidForm) as refused:
        purchases.create(db, coordinator, campaign, _purchase_form(signup, burned_id))

    assert "burned" in refused.value.errors["persona"]
    db.rollback()
    planned = purchases.create(db, coordinator, campaign, _purchase_form(signup, fresh_id))
    assert planned.persona_id == fresh_id
    form = purchases.form_of(earlier)
    form.order_number = "ORD-1"
    edited = purchases.update(db, coordinator, earlier, campaign, form)
    assert (edited.persona_id, edited.order_number) == (burned_id, "ORD-1")


def test_purchase_steps_brand_people_judge_coordinators_order(db: Session, world: World) -> None:
    """A member of the brand the item was bought for gives the verdict, but may not
    mark it ordered; the coordinator moves it along; another brand may do neither."""
    campaign = make_campaign(db, world.coordinator, world.apparel)
    signup = sign_up(db, world.admin_a, campaign, 1)
    purchase = make_purchase(db, world.coordinator, campaign, signup)
    member = actor_of(db, world.member_a)

    with pytest.raises(Conflict) as refused:
        purchases.change_status(db, member, purchase, campaign, PurchaseStatus.ordered)
    assert "coordinators" in refused.value.message
    stored(db, purchase)
    assert purchase.status == PurchaseStatus.planned

    with pytest.raises(Forbidden):
        purchases.change_status(
            db, actor_of(db, world.member_b), purchase, campaign, PurchaseStatus.ordered
        )

    coordinator = actor_of(db, world.coordinator)
    purchases.change_status(db, coordinator, purchase, campaign, PurchaseStatus.ordered)
    purchases.change_status(db, coordinator, purchase, campaign, PurchaseStatus.received)
    purchases.change_status(
        db, member, purchase, campaign, PurchaseStatus.verdict, Verdict.counterfeit, "Bad seams"
    )

    stored(db, purchase)
    assert purchase.status == PurchaseStatus.verdict
    assert (purchase.verdict, purchase.verdict_note) == (Verdict.counterfeit, "Bad seams")
    assert purchase.verdict_by_id == world.member_a.id
    assert purchase.ordered_on is not None and purchase.received_on is not None
    steps = [(e.from_status, e.to_status) for e, _ in purchases.history(db, purchase)]
    assert steps == [
        (PurchaseStatus.planned, PurchaseStatus.ordered),
        (PurchaseStatus.ordered, PurchaseStatus.received),
        (PurchaseStatus.received, PurchaseStatus.verdict),
    ]


def test_a_step_off_the_road_is_refused(db: Session, world: World) -> None:
    """A planned purchase cannot jump to a verdict, even for the coordinator."""
    campaign = make_campaign(db, world.coordinator, world.apparel)
    signup = sign_up(db, world.admin_a, campaign, 1)
    purchase = make_purchase(db, world.coordinator, campaign, signup)

    with pytest.raises(Conflict):
        purchases.change_status(
            db,
            actor_of(db, world.coordinator),
            purchase,
            campaign,
            PurchaseStatus.verdict,
            Verdict.genuine,
        )

    stored(db, purchase)
    assert (purchase.status, purchase.verdict) == (PurchaseStatus.planned, "")


@pytest.mark.parametrize("verdict", ["", "fake", "Counterfeit"])
def test_a_verdict_step_needs_a_valid_verdict(db: Session, world: World, verdict: str) -> None:
    """Giving the verdict without one of the four verdicts is refused on the verdict
    field, and the purchase stays where it was."""
    campaign = make_campaign(db, world.coordinator, world.apparel)
    signup = sign_up(db, world.admin_a, campaign, 1)
    purchase = make_purchase(db, world.coordinator, campaign, signup)
    coordinator = actor_of(db, world.coordinator)
    purchases.change_status(db, coordinator, purchase, campaign, PurchaseStatus.ordered)

    with pytest.raises(InvalidForm) as refused:
        purchases.change_status(
            db, coordinator, purchase, campaign, PurchaseStatus.verdict, verdict
        )

    assert "verdict" in refused.value.errors
    db.rollback()
    stored(db, purchase)
    assert (purchase.status, purchase.verdict) == (PurchaseStatus.ordered, "")


@pytest.mark.parametrize("gives_back", ["withdraws", "asks for fewer"])
def test_planned_purchases_never_outnumber_the_slots(
    db: Session, world: World, admin_b: Person, gives_back: str
) -> None:
    """Slots on which purchases are already planned cannot go to another brand while
    those purchases stay planned: either giving them back is refused, or the campaign
    still has no more (open) purchases than slots once the next brand's are planned."""
    campaign = make_campaign(db, world.coordinator, world.apparel, slots=2, max_per_brand=2)
    holder = sign_up(db, world.admin_a, campaign, 2)
    waiting = sign_up(db, admin_b, campaign, 2)
    make_purchase(db, world.coordinator, campaign, holder, seller="First Seller")
    make_purchase(db, world.coordinator, campaign, holder, seller="Second Seller")

    try:
        if gives_back == "withdraws":
            signups.withdraw(db, actor_of(db, world.admin_a), campaign)
        else:
            sign_up(db, world.admin_a, campaign, 1)
    except (Conflict, InvalidForm):
        db.rollback()
    for seller in ("Third Seller", "Fourth Seller"):
        try:
            make_purchase(db, world.coordinator, campaign, waiting, seller=seller)
        except InvalidForm:
            db.rollback()

    open_purchases = db.exec(
        select(func.count())
        .select_from(Purchase)
        .where(Purchase.campaign_id == campaign.id, Purchase.status != PurchaseStatus.closed)
    ).one()
    stored(db, campaign)
    assert open_purchases <= campaign.slots
    for signup in (holder, waiting):
        stored(db, signup)
        planned = db.exec(
            select(func.count()).select_from(Purchase).where(Purchase.signup_id == signup.id)
        ).one()
        assert planned <= signup.granted, (signup.brand_id, planned, signup.granted)


def test_a_lowered_cap_holds_for_the_waitlist_too(
    db: Session, world: World, admin_b: Person
) -> None:
    """Once the coordinator lowers the per-brand cap, no brand is handed more slots than
    the new cap, not even a waiting one that asked for more under the old cap when slots
    free up later (either the lower cap is refused, or it binds the waitlist)."""
    campaign = make_campaign(db, world.coordinator, world.apparel, slots=4, max_per_brand=3)
    sign_up(db, world.admin_a, campaign, 2)
    waiting = sign_up(db, admin_b, campaign, 3)
    assert (waiting.granted, waiting.state) == (2, SignupState.waitlisted)
    form = campaigns.form_of(campaign, world.apparel)
    form.max_per_brand = "2"
    try:
        campaigns.update(db, actor_of(db, world.coordinator), campaign, form)
    except InvalidForm:
        db.rollback()

    signups.withdraw(db, actor_of(db, world.admin_a), campaign)

    stored(db, campaign)
    stored(db, waiting)
    assert waiting.granted <= campaign.max_per_brand, (waiting.granted, campaign.max_per_brand)
    assert waiting.requested <= campaign.max_per_brand
