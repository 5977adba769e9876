"""Notifications in the reader's language: the page follows the viewer, and each mail is
written in its recipient's language and time zone, whoever's request caused it."""

from sqlmodel import Session, select

from hub import i18n
from hub.clock import utcnow
from hub.config import Settings
from hub.i18n import translations
from hub.intel import discussion, moderation
from hub.intel.models import Tlp
from hub.members.models import Person
from hub.notify import topics
from hub.notify.mailing import mail_instant, send_digests
from hub.notify.models import Notification, OutboxMail
from tests.chinese import zh
from tests.conftest import ClientAs, World
from tests.intel.factories import actor_of, make_report
from tests.notify.test_mailing import at_local_hour

CHINESE = {"Accept-Language": "zh-CN"}


def speaks_chinese(db: Session, person: Person, zone: str = "UTC") -> None:
    person.language, person.time_zone = "zh_Hans", zone
    db.add(person)
    db.commit()


def test_the_notifications_page_speaks_the_viewers_language(
    db: Session, world: World, client_as: ClientAs
) -> None:
    note = Notification(person_id=world.member_a.id or 0, kind="test", text="Note", link="/")
    db.add(note)
    db.commit()

    page = client_as(world.member_a).get("/notifications", headers=CHINESE)

    assert f"<h1>{zh('Notifications')}</h1>" in page.text
    assert zh("Mark all as read") in page.text
    with i18n.presenting("zh_Hans", world.member_a.time_zone or "UTC"):
        shown = i18n.when(note.created_at)
    assert "年" in shown and shown in page.text


def test_a_choice_refused_on_the_settings_page_says_so_in_chinese(
    world: World, client_as: ClientAs
) -> None:
    refused = client_as(world.member_a).post(
        "/me/e-mail", data={"discussion": "hourly"}, headers=CHINESE
    )

    assert refused.status_code == 422
    assert zh("Choose at once, in a daily digest, or not by e-mail.") in refused.text
    assert str(topics.DELIVERY_LABELS["digest"]) == "In a daily digest"  # lazy: English here


def test_an_instant_mail_is_in_its_recipients_language(
    db: Session, world: World, settings: Settings
) -> None:
    """The coordinator hides the report in English; its author reads Chinese."""
    speaks_chinese(db, world.member_a)
    report = make_report(
        db, world.member_a, world.apparel, Tlp.red, "Secret", recipients=[world.coordinator]
    )
    moderation.hide(db, actor_of(db, world.coordinator), report, "Hidden.")

    mail_instant(db, settings, utcnow())

    (mail,) = db.exec(select(OutboxMail).where(OutboxMail.to_address == world.member_a.email))
    assert mail.subject == zh("An item marked %(marking)s for you", marking="TLP:RED")
    assert zh("There is an item marked %(marking)s for you on the hub.", marking="TLP:RED") in (
        mail.body
    )
    assert f"/intel/{report.id}" in mail.body


def test_a_digest_is_in_its_recipients_language(
    db: Session, world: World, settings: Settings
) -> None:
    speaks_chinese(db, world.member_a)
    report = make_report(db, world.member_a, world.apparel, Tlp.amber, "Sneaker drop fakes")
    discussion.add_comment(db, actor_of(db, world.member_b), report, "Seen them too.", None)
    db.commit()

    assert send_digests(db, settings, at_local_hour(8)) == 1

    (mail,) = db.exec(select(OutboxMail).where(OutboxMail.to_address == world.member_a.email))
    catalogue = translations("zh_Hans")
    subject = catalogue.ngettext(
        "Your Alliance Hub digest: %(num)s update", "Your Alliance Hub digest: %(num)s updates", 1
    )
    assert subject != "Your Alliance Hub digest: %(num)s update"
    assert mail.subject == subject % {"num": "1"}
    assert zh("What happened on the hub since your last digest.") in mail.body
    assert "== Apparel (test) ==" in mail.body
    assert zh(
        "Choose what reaches you by e-mail: %(address)s", address=f"{settings.base_url}/me"
    ) in (mail.body)
