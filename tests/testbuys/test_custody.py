"""The chain of custody of a bought item (hub/testbuys/custody.py): entries are chained by
hash and verify; the database itself refuses to change or delete an entry; and when the
protection is bypassed anyway (as someone with direct database access could), verify()
and the purchase page point at the broken link."""

from datetime import timedelta

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col

from hub.clock import utcnow
from hub.errors import Forbidden, InvalidForm
from hub.members.models import Person
from hub.testbuys import custody
from hub.testbuys.campaigns import DATETIME_FORMAT
from hub.testbuys.models import Campaign, CustodyEntry, CustodyKind, Purchase
from tests.conftest import ClientAs, World
from tests.intel.factories import actor_of
from tests.testbuys.factories import make_campaign, make_purchase, sign_up

REFUSAL = "append-only"  # in the message of the migration's triggers


@pytest.fixture
def bought(db: Session, world: World) -> tuple[Purchase, Campaign]:
    """A purchase for brand A in an apparel campaign."""
    campaign = make_campaign(db, world.coordinator, world.apparel)
    signup = sign_up(db, world.admin_a, campaign, 1)
    return make_purchase(db, world.coordinator, campaign, signup), campaign


def record(
    db: Session, person: Person, purchase: Purchase, campaign: Campaign, **fields: str
) -> CustodyEntry:
    """Append one link through the service, as the purchase page does."""
    form = custody.CustodyForm(**fields)
    return custody.append(db, actor_of(db, person), purchase, campaign, form)


def three_links(
    db: Session, world: World, purchase: Purchase, campaign: Campaign
) -> list[CustodyEntry]:
    """Parcel received, handed to the brand, examined by the brand's expert."""
    start = utcnow() - timedelta(days=3)

    def when(days: int) -> str:
        return (start + timedelta(days=days)).strftime(DATETIME_FORMAT)

    return [
        record(
            db,
            world.coordinator,
            purchase,
            campaign,
            kind=CustodyKind.handover,
            occurred_at=when(0),
            from_party="Courier",
            to_party="Drop address",
            seal_number="SEAL-001",
            seal_intact="yes",
        ),
        record(
            db,
            world.coordinator,
            purchase,
            campaign,
            kind=CustodyKind.handover,
            occurred_at=when(1),
            from_party="Drop address",
            to_party="Brand A lab",
            place="Paris",
            purpose="Examination",
        ),
        record(
            db,
            world.member_a,
            purchase,
            campaign,
            kind=CustodyKind.examination,
            occurred_at=when(2),
            findings="Stitching and hologram do not match the genuine article.",
        ),
    ]


def unprotect(db: Session) -> None:
    """Switch the append-only triggers off inside the test's transaction (the rollback at
    the end of the test brings them back), to play someone editing the table directly."""
    if db.get_bind().dialect.name == "postgresql":
        db.connection().execute(text("ALTER TABLE testbuy_custody DISABLE TRIGGER USER"))
    else:
        db.connection().execute(text("DROP TRIGGER testbuy_custody_no_update"))
        db.connection().execute(text("DROP TRIGGER testbuy_custody_no_delete"))


def test_entries_chain_by_hash_and_verify(
    db: Session, world: World, bought: tuple[Purchase, Campaign]
) -> None:
    """Each entry is numbered, points at the hash of the one before (the first at the
    genesis hash), is sealed with the hash of its content, and the chain read back from
    the database verifies."""
    purchase, campaign = bought

    entries = three_links(db, world, purchase, campaign)

    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == custody.GENESIS
    assert [e.prev_hash for e in entries[1:]] == [e.entry_hash for e in entries[:-1]]
    assert len({e.entry_hash for e in entries}) == 3
    db.expire_all()  # read every row back as stored
    chain = custody.verify(db, purchase)
    assert chain.verifies
    assert chain.first_break is None
    assert [link.entry.seq for link in chain.links] == [1, 2, 3]
    assert all(link.entry.entry_hash == custody.seal(link.entry) for link in chain.links)
    assert [link.recorder.id for link in chain.links if link.recorder] == [
        world.coordinator.id,
        world.coordinator.id,
        world.member_a.id,
    ]
    assert chain.links[0].entry.seal_intact is True
    assert custody.count(db, purchase) == 3


def test_an_empty_chain_verifies(db: Session, bought: tuple[Purchase, Campaign]) -> None:
    """A purchase with no custody entries yet has nothing broken."""
    purchase, _ = bought

    chain = custody.verify(db, purchase)

    assert chain.links == [] and chain.verifies


def test_incomplete_entries_are_refused(
    db: Session, world: World, bought: tuple[Purchase, Campaign]
) -> None:
    """A handover names both parties, an examination says what it found, and both say
    when; nothing is recorded otherwise."""
    purchase, campaign = bought

    with pytest.raises(InvalidForm) as refused:
        record(db, world.coordinator, purchase, campaign, kind=CustodyKind.handover)
    assert {"occurred_at", "to_party"} <= set(refused.value.errors)

    with pytest.raises(InvalidForm) as refused:
        record(
            db,
            world.coordinator,
            purchase,
            campaign,
            kind=CustodyKind.examination,
            occurred_at=utcnow().strftime(DATETIME_FORMAT),
        )
    assert "findings" in refused.value.errors
    assert custody.count(db, purchase) == 0


def test_another_brand_may_not_add_to_the_chain(
    db: Session, world: World, bought: tuple[Purchase, Campaign]
) -> None:
    """Brand B shares the group but the item was bought for brand A."""
    purchase, campaign = bought

    with pytest.raises(Forbidden):
        record(
            db,
            world.member_b,
            purchase,
            campaign,
            kind=CustodyKind.examination,
            occurred_at=utcnow().strftime(DATETIME_FORMAT),
            findings="Looks fine to us",
        )
    assert custody.count(db, purchase) == 0


def test_the_database_refuses_to_update_an_entry(
    db: Session, world: World, bought: tuple[Purchase, Campaign]
) -> None:
    """An UPDATE of a custody row, by plain SQL or through the ORM, is refused by the
    migration's trigger, and the row stays as recorded."""
    purchase, campaign = bought
    entry = three_links(db, world, purchase, campaign)[1]

    with pytest.raises(DBAPIError, match=REFUSAL), db.begin_nested():
        db.connection().execute(
            update(CustodyEntry)
            .where(col(CustodyEntry.id) == entry.id)
            .values(to_party="Someone else")
        )
    with pytest.raises(DBAPIError, match=REFUSAL), db.begin_nested():
        entry.place = "Elsewhere"
        db.add(entry)
        db.flush()

    db.expire_all()
    stored = db.get(CustodyEntry, entry.id)
    assert stored is not None
    assert (stored.to_party, stored.place) == ("Brand A lab", "Paris")
    assert custody.verify(db, purchase).verifies


def test_the_database_refuses_to_delete_an_entry(
    db: Session, world: World, bought: tuple[Purchase, Campaign]
) -> None:
    """A DELETE of a custody row is refused by the trigger; every entry is still there."""
    purchase, campaign = bought
    entries = three_links(db, world, purchase, campaign)

    with pytest.raises(DBAPIError, match=REFUSAL), db.begin_nested():
        db.connection().execute(delete(CustodyEntry).where(col(CustodyEntry.id) == entries[0].id))

    assert custody.count(db, purchase) == 3
    assert custody.verify(db, purchase).verifies


def test_a_changed_field_breaks_the_chain_at_that_entry(
    db: Session, world: World, bought: tuple[Purchase, Campaign]
) -> None:
    """With the triggers bypassed, a quietly edited finding no longer matches its hash:
    verify() reports that very entry, and only it."""
    purchase, campaign = bought
    entries = three_links(db, world, purchase, campaign)
    unprotect(db)

    db.connection().execute(
        update(CustodyEntry)
        .where(col(CustodyEntry.id) == entries[2].id)
        .values(findings="Genuine article, all in order.")
    )
    db.expire_all()

    chain = custody.verify(db, purchase)
    assert not chain.verifies
    assert chain.first_break is not None
    assert chain.first_break.entry.seq == 3
    assert "content was changed" in chain.first_break.problem
    assert [link.intact for link in chain.links] == [True, True, False]


def test_a_row_rewritten_with_a_fresh_hash_breaks_the_next_link(
    db: Session, world: World, bought: tuple[Purchase, Campaign]
) -> None:
    """Resealing an edited entry does not help: the entry after it still carries the old
    hash, so the chain breaks there."""
    purchase, campaign = bought
    entries = three_links(db, world, purchase, campaign)
    unprotect(db)
    forged = entries[0]
    forged.seal_intact = False
    forged.entry_hash = custody.seal(forged)
    db.connection().execute(
        update(CustodyEntry)
        .where(col(CustodyEntry.id) == forged.id)
        .values(seal_intact=False, entry_hash=forged.entry_hash)
    )
    db.expire_all()

    chain = custody.verify(db, purchase)

    assert [link.intact for link in chain.links] == [True, False, True]
    assert chain.first_break is not None and chain.first_break.entry.seq == 2
    assert "does not follow" in chain.first_break.problem


def test_a_deleted_middle_entry_breaks_the_chain(
    db: Session, world: World, bought: tuple[Purchase, Campaign]
) -> None:
    """With the triggers bypassed, removing the middle entry leaves a gap that verify()
    reports at the entry after it."""
    purchase, campaign = bought
    entries = three_links(db, world, purchase, campaign)
    unprotect(db)

    db.connection().execute(delete(CustodyEntry).where(col(CustodyEntry.id) == entries[1].id))
    db.expire_all()

    chain = custody.verify(db, purchase)
    assert not chain.verifies
    assert [link.entry.seq for link in chain.links] == [1, 3]
    assert chain.first_break is not None
    assert chain.first_break.entry.seq == 3
    assert "entry 2 is missing" in chain.first_break.problem


def test_tampering_with_one_purchase_leaves_another_chain_intact(
    db: Session, world: World, bought: tuple[Purchase, Campaign]
) -> None:
    """Chains are per purchase: a break in one says nothing against another."""
    purchase, campaign = bought
    signup = sign_up(db, world.admin_a, campaign, 2)  # ask for a second slot
    other = make_purchase(db, world.coordinator, campaign, signup, seller="Other Seller")
    entries = three_links(db, world, purchase, campaign)
    three_links(db, world, other, campaign)
    unprotect(db)

    db.connection().execute(
        update(CustodyEntry).where(col(CustodyEntry.id) == entries[0].id).values(place="Moon")
    )
    db.expire_all()

    assert not custody.verify(db, purchase).verifies
    assert custody.verify(db, other).verifies


def test_the_purchase_page_says_whether_the_chain_verifies(
    db: Session, world: World, bought: tuple[Purchase, Campaign], client_as: ClientAs
) -> None:
    """The purchase page tells its readers the chain verifies, and after a row was edited
    behind the hub's back, that it is broken."""
    purchase, campaign = bought
    entries = three_links(db, world, purchase, campaign)
    coordinator = client_as(world.coordinator)
    brand_expert = client_as(world.member_a)
    page = f"/testbuys/purchases/{purchase.id}"

    for browser in (coordinator, brand_expert):
        intact = browser.get(page)
        assert intact.status_code == 200
        assert "The chain of custody verifies" in intact.text
        assert "The chain is broken" not in intact.text

    unprotect(db)
    db.connection().execute(
        update(CustodyEntry).where(col(CustodyEntry.id) == entries[1].id).values(to_party="Nobody")
    )

    for browser in (coordinator, brand_expert):
        broken = browser.get(page)
        assert broken.status_code == 200
        assert "The chain is broken at entry 2" in broken.text
        assert "The chain of custody verifies" not in broken.text
