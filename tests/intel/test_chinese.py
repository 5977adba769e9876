"""The boards in Simplified Chinese: pages, form errors, dates and numbers for a Chinese
reader; notifications and import results in the language of whoever reads them; exports
that stay in English so anyone can import them again."""

from sqlmodel import Session, col, select

from hub import i18n
from hub.intel import discussion, exports
from hub.intel.models import STATUS_LABELS, ImportJob, IntelReport, Status, Tlp
from hub.members.models import Person
from hub.notify.models import Notification
from tests.chinese import CHINESE, zh
from tests.conftest import ClientAs, World
from tests.intel.factories import actor_of, make_report

ASKS_CHINESE = {"accept-language": "zh-CN,zh;q=0.9"}
BOARD = "/groups/apparel-t/intel"


def zh_counted(singular: str, plural: str, n: int, **values: object) -> str:
    text = i18n.translations(CHINESE).ngettext(singular, plural, n)
    assert text not in (singular, plural), f"{singular!r} has no Chinese translation"
    with i18n.presenting(CHINESE):
        return text % {"num": i18n.number(n), **values}


def _speaks_chinese(db: Session, person: Person) -> None:
    person.language = CHINESE
    db.add(person)
    db.commit()


def test_the_board_speaks_chinese_with_chinese_dates_and_counts(
    db: Session, world: World, client_as: ClientAs
) -> None:
    report = make_report(
        db,
        world.member_a,
        world.apparel,
        title="Shop 88",
        indicators=[("phone", "+86 138 0013 8000"), ("seller_id", "shop-88")],
    )

    page = client_as(world.member_b).get(BOARD, headers=ASKS_CHINESE).text

    assert '<html lang="zh-Hans">' in page
    assert zh("%(group)s: intelligence board", group="Apparel (test)") in page
    assert zh("Follow this board") in page and zh("Older reports") not in page
    assert zh_counted("%(num)s indicator", "%(num)s indicators", 2) in page
    assert str(STATUS_LABELS[Status.new]) == "New"  # outside a request: English
    with i18n.presenting(CHINESE):
        assert str(STATUS_LABELS[Status.new]) in page
        posted = i18n.when(report.created_at)
    assert "年" in posted and "月" in posted and posted in page
    assert "Reports shared in this working group" not in page


def test_the_report_page_and_its_status_form_speak_chinese(
    db: Session, world: World, client_as: ClientAs
) -> None:
    report = make_report(db, world.member_a, world.apparel, title="Shop 89")
    browser = client_as(world.member_a)

    page = browser.get(f"/intel/{report.id}", headers=ASKS_CHINESE).text
    assert zh("What was seen") in page and zh("Change status") in page
    assert zh("No other brand has confirmed or disputed this yet.") in page

    changed = browser.post(
        f"/intel/{report.id}/status",
        data={"status": Status.verified, "note": "", "happened_at": ""},
        headers=ASKS_CHINESE,
    )
    assert changed.status_code == 303
    after = browser.get(changed.headers["location"], headers=ASKS_CHINESE).text
    with i18n.presenting(CHINESE):
        verified = str(STATUS_LABELS[Status.verified])
    assert zh("Status is now %(status)s.", status=verified) in after


def test_a_form_error_is_in_chinese_beside_its_field(world: World, client_as: ClientAs) -> None:
    response = client_as(world.member_a).post(
        BOARD,
        data={"title": "", "category": "online_listing", "tlp": "amber"},
        headers=ASKS_CHINESE,
    )

    assert response.status_code == 422
    error = zh("Give the report a title, e.g. the seller's name and marketplace.")
    assert f'<p class="error" id="e-title">{error}</p>' in response.text
    assert 'aria-describedby="e-title"' in response.text
    assert zh("Please correct the marked fields: nothing was saved yet.") in response.text


def test_a_refused_phone_number_is_explained_in_chinese(world: World, client_as: ClientAs) -> None:
    response = client_as(world.member_a).post(
        BOARD,
        data={
            "title": "Bad phone",
            "category": "online_listing",
            "infringement": "counterfeit",
            "confidence": "probable",
            "reliability": "B",
            "tlp": "amber",
            "indicator_kind": "phone",
            "indicator_value": "12345 not a phone",
        },
        headers=ASKS_CHINESE,
    )

    assert response.status_code == 422
    message = zh(
        "'%(value)s' is not a phone number we can read: write it with its country code, "
        "like +86 138 0013 8000.",
        value="12345 not a phone",
    )
    assert message in response.text


def test_a_notification_is_written_in_its_readers_language(db: Session, world: World) -> None:
    """Ben reads Chinese, Alma left her language to her browser (English by e-mail):
    each is told of the other's comment in their own language."""
    _speaks_chinese(db, world.member_b)
    report = make_report(db, world.member_a, world.apparel, tlp=Tlp.green, title="Shop 90")
    discussion.toggle_follow(db, actor_of(db, world.member_b), report)

    discussion.add_comment(db, actor_of(db, world.member_a), report, "Seen again.", None)
    discussion.add_comment(db, actor_of(db, world.member_b), report, "Here too.", None)

    told = dict(
        db.exec(
            select(Notification.person_id, Notification.text).where(
                Notification.report_id == report.id
            )
        ).all()
    )
    assert told[world.member_b.id] == zh(
        "%(name)s commented on “%(title)s”.", name="Alma Member", title="Shop 90"
    )
    assert told[world.member_a.id] == "Ben Member commented on “Shop 90”."


def test_an_import_lists_what_it_left_out_in_the_importers_language(
    db: Session, world: World, client_as: ClientAs
) -> None:
    content = (
        "title,listing_url,phone\n"
        "Good,https://marketplace.example/item/1,\n"
        "Bad phone,,12345 not a phone\n"
    )
    answer = client_as(world.member_a).post(
        "/groups/apparel-t/intel/import",
        data={"tlp": "amber", "mode": "valid"},
        files={"file": ("monitor.csv", content.encode(), "text/csv")},
        headers=ASKS_CHINESE,
    )
    assert answer.status_code == 303

    db.expire_all()
    job = db.exec(select(ImportJob)).one()
    assert [item["where"] for item in job.rejected] == [zh("line %(number)s", number=3)]
    page = client_as(world.member_a).get(answer.headers["location"], headers=ASKS_CHINESE).text
    assert zh("Imported") in page
    assert (
        zh_counted("<strong>%(num)s</strong> new report", "<strong>%(num)s</strong> new reports", 1)
        in page
    )


def test_the_csv_export_stays_in_english_for_a_chinese_reader(
    db: Session, world: World, client_as: ClientAs
) -> None:
    make_report(
        db, world.member_a, world.apparel, title="Shop 91", indicators=[("phone", "+8613800138000")]
    )
    text = client_as(world.member_a).get(f"{BOARD}/export.csv", headers=ASKS_CHINESE).text
    header, row = text.splitlines()[:2]
    assert header.startswith("id,posted_at,title,tlp,status,category")
    assert ",New,Online listing," in row and "Phone: +8613800138000" in row
    reports = list(db.exec(select(IntelReport).where(col(IntelReport.title) == "Shop 91")))
    with i18n.presenting(CHINESE):
        assert exports.to_csv(db, reports, "http://x") == text.replace("testserver", "x")
