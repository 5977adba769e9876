"""Notifications by e-mail as each person chose: at once, in the daily digest, or not at
all; and never the words of a TLP:RED or AMBER+STRICT item in a mail body."""

from datetime import datetime, timedelta

from sqlmodel import Session, select

from hub.clock import utcnow
from hub.config import Settings
from hub.intel import discussion, moderation
from hub.intel.models import Tlp
from hub.notify import topics
from hub.notify.mailing import BATCH as MAILING_BATCH
from hub.notify.mailing import mail_instant, send_digests
from hub.notify.models import Notification, OutboxMail
from hub.testbuys import purchases
from hub.testbuys.models import PurchaseStatus, Verdict
from tests.conftest import ClientAs, World
from tests.events.factories import make_event, register
from tests.intel.factories import actor_of, make_report
from tests.testbuys.factories import make_campaign, make_purchase, sign_up


def mails_to(db: Session, address: str) -> list[OutboxMail]:
    return list(db.exec(select(OutboxMail).where(OutboxMail.to_address == address)))


def at_local_hour(hour: int) -> datetime:
    """A moment after now when the clock in UTC (the people's zone here) shows `hour`."""
    now = utcnow() + timedelta(minutes=1)
    moment = now.replace(hour=hour, minute=30, second=0, microsecond=0)
    return moment if moment > now else moment + timedelta(days=1)


def test_an_instant_topic_is_mailed_once(db: Session, world: World, settings: Settings) -> None:
    report = make_report(db, world.member_a, world.apparel, Tlp.amber, "Fake parkas on shop X")
    moderation.hide(db, actor_of(db, world.coordinator), report, "Duplicate of an older one.")

    assert mail_instant(db, settings, utcnow()) == 1
    assert mail_instant(db, settings, utcnow()) == 0

    (mail,) = mails_to(db, world.member_a.email)
    assert "Fake parkas on shop X" in mail.body and "Duplicate of an older one." in mail.body
    assert f"{settings.base_url}/intel/{report.id}" in mail.body
    told = db.exec(select(Notification).where(Notification.person_id == world.member_a.id)).all()
    assert [item.mailed_at is not None for item in told] == [True]


def test_a_red_item_says_only_that_there_is_one(
    db: Session, world: World, settings: Settings
) -> None:
    secret = "Warehouse 7 at Harbour Road stores the fakes"
    report = make_report(
        db, world.member_a, world.apparel, Tlp.red, secret, recipients=[world.coordinator]
    )
    moderation.hide(db, actor_of(db, world.coordinator), report, f"Hidden: {secret}")

    mail_instant(db, settings, utcnow())

    (mail,) = mails_to(db, world.member_a.email)
    assert secret not in mail.subject and secret not in mail.body
    assert "TLP:RED" in mail.body and f"/intel/{report.id}" in mail.body


def test_a_topic_turned_off_is_not_mailed(db: Session, world: World, settings: Settings) -> None:
    topics.save(db, world.member_a.id or 0, {"moderation": "off", "events": "off"})
    report = make_report(db, world.member_a, world.apparel, Tlp.amber)
    moderation.hide(db, actor_of(db, world.coordinator), report, "Off topic.")
    event = make_event(db, world.coordinator, world.apparel)
    register(db, settings, world.member_a, event)

    mail_instant(db, settings, utcnow())

    assert mails_to(db, world.member_a.email) == []
    kinds = {
        n.kind
        for n in db.exec(select(Notification).where(Notification.person_id == world.member_a.id))
    }
    assert kinds == {"intel.moderated", "event_confirmed"}  # still listed in the hub


def test_digest_comes_once_a_day_grouped_by_group(
    db: Session, world: World, settings: Settings
) -> None:
    """Comments on a report one follows are a digest topic by default: nothing at once,
    one mail when the reader's day has begun, grouped under the working group."""
    report = make_report(db, world.member_a, world.apparel, Tlp.amber, "Sneaker drop fakes")
    discussion.add_comment(db, actor_of(db, world.member_b), report, "Seen them in Lyon too.", None)
    db.commit()

    assert mail_instant(db, settings, utcnow()) == 0
    assert send_digests(db, settings, at_local_hour(5)) == 0
    morning = at_local_hour(8)
    assert send_digests(db, settings, morning) == 1
    assert send_digests(db, settings, morning + timedelta(hours=1)) == 0

    (mail,) = mails_to(db, world.member_a.email)
    assert "== Apparel (test) ==" in mail.body
    assert "commented on “Sneaker drop fakes”" in mail.body


def test_e_mail_choices_refuse_an_unknown_value(
    db: Session, world: World, client_as: ClientAs
) -> None:
    browser = client_as(world.member_a)
    refused = browser.post("/me/e-mail", data={"discussion": "hourly", "events": "off"})

    assert refused.status_code == 422
    assert "Choose at once, in a daily digest, or not by e-mail." in refused.text
    assert topics.choices(db, world.member_a.id or 0)["events"] == "instant"
    saved = browser.post("/me/e-mail", data={"discussion": "off"})
    assert saved.status_code == 303
    assert topics.choices(db, world.member_a.id or 0)["discussion"] == "off"


def test_a_verdict_on_a_brands_product_reaches_its_admins(
    db: Session, world: World, settings: Settings
) -> None:
    campaign = make_campaign(db, world.coordinator, world.apparel, slots=2, max_per_brand=2)
    signup = sign_up(db, world.admin_a, campaign, 1)
    purchase = make_purchase(db, world.coordinator, campaign, signup, seller="GlossyOutlet")
    runner = actor_of(db, world.coordinator)
    purchases.change_status(db, runner, purchase, campaign, PurchaseStatus.ordered)
    purchases.change_status(
        db, runner, purchase, campaign, PurchaseStatus.verdict, Verdict.counterfeit
    )

    mail_instant(db, settings, utcnow())

    told = db.exec(
        select(Notification).where(
            Notification.person_id == world.admin_a.id, Notification.kind == "testbuy.verdict"
        )
    ).all()
    assert [item.link for item in told] == [f"/testbuys/purchases/{purchase.id}"]
    assert any(
        "GlossyOutlet is counterfeit" in mail.body for mail in mails_to(db, world.admin_a.email)
    )
    assert not db.exec(
        select(Notification).where(
            Notification.person_id == world.member_a.id, Notification.kind == "testbuy.verdict"
        )
    ).all()


def test_items_waiting_for_a_digest_do_not_hold_up_instant_ones(
    db: Session, world: World, settings: Settings
) -> None:
    """A busy follower's digest items (more than one page of them) wait all day; an
    instant notification made after them still goes out at once."""
    for number in range(MAILING_BATCH + 5):
        db.add(
            Notification(person_id=world.member_b.id or 0, kind="intel.activity", text=f"#{number}")
        )
    db.commit()
    report = make_report(db, world.member_a, world.apparel, Tlp.amber)
    moderation.hide(db, actor_of(db, world.coordinator), report, "Behind the queue.")

    assert mail_instant(db, settings, utcnow()) == 1
    assert len(mails_to(db, world.member_a.email)) == 1
    assert mails_to(db, world.member_b.email) == []


def test_a_followed_board_tells_of_new_reports_one_may_read(
    db: Session, world: World, settings: Settings, client_as: ClientAs
) -> None:
    """Following apparel's board: a member of it hears of a new TLP:AMBER report there, in
    the morning digest by default; a brand outside the group, following too, hears nothing
    of a report it may not read."""
    assert (
        client_as(world.member_b).post(f"/groups/{world.apparel.slug}/intel/follow").status_code
        == 303
    )
    assert (
        client_as(world.member_c).post(f"/groups/{world.apparel.slug}/intel/follow").status_code
        == 303
    )

    report = make_report(db, world.member_a, world.apparel, Tlp.amber, "Fake down jackets")

    told = db.exec(select(Notification).where(Notification.kind == "intel.new_report")).all()
    assert [(item.person_id, item.report_id) for item in told] == [(world.member_b.id, report.id)]
    assert mail_instant(db, settings, utcnow()) == 0  # a digest topic unless chosen otherwise
    assert send_digests(db, settings, at_local_hour(8)) == 1
    (mail,) = mails_to(db, world.member_b.email)
    assert "Fake down jackets" in mail.body
