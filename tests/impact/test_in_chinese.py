"""The impact pages in Simplified Chinese: the dashboard, its periods and its CSV, the rows
behind a number, referrals with their form errors, dates and money as a Chinese reader
writes them. The expectations come from the catalogue, not from guesses."""

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from markupsafe import escape
from sqlmodel import Session

from hub import i18n
from hub.clock import utcnow
from hub.impact import referrals
from hub.impact.models import REFERRAL_STATUS_LABELS, ReferralStatus
from hub.impact.periods import Period
from hub.intel.models import Tlp
from tests.chinese import CHINESE, zh
from tests.conftest import ClientAs, World
from tests.impact.factories import make_referral, record_outcome, today
from tests.intel.factories import make_report

ASKS_CHINESE = {"accept-language": "zh-CN,zh;q=0.9"}
LAST_YEAR = utcnow().year - 1


def zh_in(context: str, message: str) -> str:
    text = i18n.translations(CHINESE).pgettext(context, message)
    assert text != message, f"{context}::{message!r} has no Chinese translation"
    return text


def in_chinese(render: Callable[[], object]) -> str:
    with i18n.presenting(CHINESE):
        return str(render())


def test_the_dashboard_speaks_chinese(db: Session, world: World, client_as: ClientAs) -> None:
    make_report(db, world.member_a, world.apparel, Tlp.green, marketplace="Lazada")
    page = client_as(world.member_a).get("/impact", headers=ASKS_CHINESE)
    assert page.status_code == 200
    html = page.text
    year = in_chinese(lambda: Period.current().label)
    assert year == f"{Period.current().year}年"
    assert zh("Impact, %(period)s", period=year) in html
    assert zh("How these figures are counted") in html
    assert zh("Reports shared") in html and zh("Counterfeit rate") in html
    assert zh("Activity in %(period)s, by quarter", period=year) in html
    chart = zh("Reports shared, by working group")
    assert zh("%(chart)s: the numbers", chart=chart) in html
    assert zh("Q%(quarter)s", quarter=1) in html  # a quarter of the year's activity
    assert "How these figures are counted" not in html and "Reports shared" not in html


def test_a_quarter_reads_as_a_chinese_quarter_of_months(world: World, client_as: ClientAs) -> None:
    html = (
        client_as(world.member_a)
        .get(f"/impact?year={LAST_YEAR}&quarter=2", headers=ASKS_CHINESE)
        .text
    )
    quarter = f"{LAST_YEAR}年第2季度"
    assert in_chinese(lambda: Period(LAST_YEAR, 2).label) == quarter
    assert zh("Activity in %(period)s, by month", period=quarter) in html
    for month in ("4月", "5月", "6月"):
        assert f">{month}</th>" in html


def test_the_csv_has_chinese_words_and_raw_values(
    db: Session, world: World, client_as: ClientAs
) -> None:
    """The headers and words follow the reader; the value column stays a plain number any
    spreadsheet reads."""
    for _ in range(2):
        make_report(db, world.member_a, world.apparel, Tlp.green, marketplace="Lazada")
    response = client_as(world.member_a).get("/impact/export.csv", headers=ASKS_CHINESE)
    assert response.status_code == 200
    header, *lines = list(csv.reader(io.StringIO(response.text)))
    assert header == [
        zh_in("CSV column", name) for name in ("section", "row", "figure", "value", "shown", "rows")
    ]
    headline = {line[2]: line for line in lines if line[0] == zh_in("CSV section", "Headline")}
    assert headline[zh("Reports shared")][3:5] == ["2", "2"]


def test_the_rows_behind_a_number_speak_chinese(
    db: Session, world: World, client_as: ClientAs
) -> None:
    report = make_report(db, world.member_a, world.apparel, Tlp.green, title="Shop 88")
    html = client_as(world.member_a).get("/impact/rows?figure=reports", headers=ASKS_CHINESE).text
    assert zh("Behind the number") in html
    summary = zh(
        "The figure counts <strong>%(counted)s</strong> %(rows)s; you may open "
        "<strong>%(listed)s</strong> of them.",
        counted=1,
        rows=zh("reports"),
        listed=1,
    )
    assert summary in html
    assert in_chinese(lambda: i18n.when(report.created_at)) in html  # "2026年…" with its zone


def test_referral_list_writes_dates_and_money_the_chinese_way(
    db: Session, world: World, client_as: ClientAs
) -> None:
    report = make_report(db, world.member_a, world.apparel, Tlp.amber)
    sent = today() - timedelta(days=5)
    referral = make_referral(db, world.coordinator, reports=[report], sent_on=sent)
    record_outcome(db, world.coordinator, referral, arrested=1234, value="77000.5")
    html = client_as(world.alliance_admin).get("/referrals", headers=ASKS_CHINESE).text
    day = in_chinese(lambda: i18n.day(sent))
    assert "年" in day and "月" in day and day in html
    money = in_chinese(lambda: i18n.money(Decimal("77000.50"), "CNY"))
    assert money == "¥77,000.50" and money in html
    assert ">1,234</td>" in html
    assert in_chinese(lambda: REFERRAL_STATUS_LABELS[ReferralStatus.raid_done]) in html
    assert zh("Referrals to law enforcement") in html and zh("Date sent") in html


def test_referral_form_errors_speak_chinese(db: Session, world: World, client_as: ClientAs) -> None:
    report = make_report(db, world.member_a, world.apparel, Tlp.amber)
    data = {
        "agency": "",
        "country": "",
        "sent_on": today().isoformat(),
        "report": [str(report.id)],
    }
    answer = client_as(world.admin_a).post("/referrals", data=data, headers=ASKS_CHINESE)
    assert answer.status_code == 422
    agency = zh("Name the agency the case goes to, e.g. the city's police.")
    assert f'id="e-agency">{escape(agency)}</p>' in answer.text
    country = zh("Choose the agency's country.")
    assert f'id="e-country">{escape(country)}</p>' in answer.text
    assert zh("Refer a case to law enforcement") in answer.text


def test_outcome_errors_and_conflicts_speak_chinese(
    db: Session, world: World, client_as: ClientAs
) -> None:
    report = make_report(db, world.member_a, world.apparel, Tlp.amber)
    referral = make_referral(db, world.admin_a, reports=[report])
    browser = client_as(world.admin_a)
    data = {
        "status": ReferralStatus.accepted,
        "suspects_arrested": "three",
        "goods_currency": "CNY",
        "version": str(referral.version),
    }
    answer = browser.post(f"/referrals/{referral.id}/outcome", data=data, headers=ASKS_CHINESE)
    assert answer.status_code == 422
    message = zh("%(field)s: give a whole number, such as 12.", field=zh("Suspects arrested"))
    assert f'id="e-suspects_arrested">{escape(message)}</p>' in answer.text

    latest = record_outcome(db, world.coordinator, referral, arrested=2, value="5000")
    stale = {**data, "suspects_arrested": "1"}
    answer = browser.post(f"/referrals/{referral.id}/outcome", data=stale, headers=ASKS_CHINESE)
    assert answer.status_code == 409
    with i18n.presenting(CHINESE):
        worth = i18n.money(Decimal(5000), "CNY")
        conflict = zh(
            "While you were entering this, %(name)s recorded an outcome (%(when)s): "
            "%(outcome)s. Your entry was not saved: it is below, check it and save it again.",
            name=world.coordinator.name,
            when=i18n.when(latest.at),
            outcome=referrals.describe(latest),
        )
    assert worth in conflict and str(escape(conflict)) in answer.text
