"""The impact pages as members meet them: the dashboard, the rows behind a number, the CSV,
and what each role may open."""

import csv
import io
import re
from datetime import timedelta

from sqlmodel import Session

from hub.clock import utcnow
from hub.intel import service
from hub.intel.models import Status, Tlp
from tests.conftest import ClientAs, World
from tests.intel.factories import actor_of, make_report


def _file_and_take_down(db: Session, world: World, report_id: int, hours: int) -> None:
    report = service.get_visible(db, actor_of(db, world.member_a), report_id)
    filed = utcnow() - timedelta(hours=hours + 2)
    actor = actor_of(db, world.member_a)
    service.change_status(db, actor, report, Status.notice_filed, "", filed)
    service.change_status(db, actor, report, Status.taken_down, "", filed + timedelta(hours=hours))


def test_dashboard_shows_each_figure_with_a_link_to_its_rows(
    db: Session, world: World, client_as: ClientAs
) -> None:
    quick = make_report(db, world.member_a, world.apparel, Tlp.green, marketplace="Shopee")
    slow = make_report(db, world.member_a, world.apparel, Tlp.amber, marketplace="Shopee")
    _file_and_take_down(db, world, quick.id or 0, 3)
    _file_and_take_down(db, world, slow.id or 0, 30)

    page = client_as(world.member_a).get("/impact")
    assert page.status_code == 200
    tile = re.search(
        r'id="tile-within_24h_share">\s*<a class="tile-value" href="([^"]+)">([^<]+)<', page.text
    )
    assert tile is not None
    assert tile.group(2) == "50.0%"
    rows = client_as(world.member_a).get(tile.group(1).replace("&amp;", "&"))
    assert rows.status_code == 200
    assert quick.title in rows.text and slow.title not in rows.text
    assert "30.0 hours after the notice" in client_as(world.member_a).get(f"/intel/{slow.id}").text


def test_a_member_of_another_group_counts_amber_but_opens_none_of_it(
    db: Session, world: World, client_as: ClientAs
) -> None:
    amber = make_report(db, world.member_a, world.apparel, Tlp.amber, title="Amber in apparel")
    make_report(
        db,
        world.member_a,
        world.apparel,
        Tlp.red,
        title="Red in apparel",
        recipients=[world.member_b],
    )
    page = client_as(world.member_c).get("/impact")
    assert page.status_code == 200
    tile = re.search(
        r'id="tile-reports">\s*<a class="tile-value" href="([^"]+)">([^<]+)<', page.text
    )
    assert tile is not None and tile.group(2) == "1"
    rows = client_as(world.member_c).get(tile.group(1).replace("&amp;", "&"))
    assert amber.title not in rows.text and "Red in apparel" not in rows.text
    assert "The other 1 belong" in rows.text
    named = client_as(world.member_b).get("/impact")
    tile = re.search(
        r'id="tile-reports">\s*<a class="tile-value" href="[^"]+">([^<]+)<', named.text
    )
    assert tile is not None and tile.group(1) == "2"


def test_csv_holds_every_figure_of_the_page(db: Session, world: World, client_as: ClientAs) -> None:
    make_report(db, world.member_a, world.apparel, Tlp.green, marketplace="Lazada")
    response = client_as(world.member_a).get("/impact/export.csv")
    assert response.status_code == 200
    lines = list(csv.reader(io.StringIO(response.text)))
    assert lines[0] == ["section", "row", "figure", "value", "shown", "rows"]
    headline = {line[2]: line[3] for line in lines if line[0] == "Headline"}
    assert headline["Reports shared"] == "1"


def test_group_dashboard_is_for_its_members(world: World, client_as: ClientAs) -> None:
    assert client_as(world.member_a).get("/impact?scope=apparel-t").status_code == 200
    assert client_as(world.member_c).get("/impact?scope=apparel-t").status_code == 403
    assert client_as(world.member_c).get("/impact?scope=nowhere").status_code == 404


def test_bad_periods_and_figures_are_refused_with_a_message(
    world: World, client_as: ClientAs
) -> None:
    client = client_as(world.member_a)
    for url in (
        "/impact?year=1999",
        "/impact?year=abcd",
        "/impact?quarter=5&year=2025",
        "/impact/rows?figure=nope",
        "/impact/rows?figure=reports&bucket=9",
        "/impact/rows?figure=reports&status=x",
    ):
        response = client.get(url)
        assert response.status_code == 422, url
        assert "Traceback" not in response.text


def _last_year() -> str:
    return str(utcnow().year - 1)


def test_annual_report_is_a_draft_for_writers_until_published(
    db: Session, world: World, client_as: ClientAs
) -> None:
    year = _last_year()
    member = client_as(world.member_a)
    coordinator = client_as(world.coordinator)
    admin = client_as(world.alliance_admin)
    assert member.get(f"/impact/report?year={year}").status_code == 404
    draft = coordinator.get(f"/impact/report?year={year}")
    assert draft.status_code == 200 and "Draft" in draft.text
    assert 'name="group" value="apparel-t"' in draft.text  # writes its own group's section
    assert 'name="group" value="toys-t"' not in draft.text

    form = {"year": year, "group": "apparel-t", "body": "A **record** year.", "seen": ""}
    saved = coordinator.post("/impact/report/narrative", data=form)
    assert saved.status_code == 303
    refused = coordinator.post("/impact/report/narrative", data={**form, "group": "toys-t"})
    assert refused.status_code == 403

    stale = coordinator.post("/impact/report/narrative", data={**form, "body": "Mine, later."})
    assert stale.status_code == 409
    assert "Mine, later." in stale.text and "<strong>record</strong>" in stale.text

    assert member.post("/impact/report/publish", data={"year": year}).status_code == 403
    assert admin.post("/impact/report/publish", data={"year": year}).status_code == 303
    published = member.get(f"/impact/report?year={year}")
    assert published.status_code == 200
    assert "<strong>record</strong>" in published.text and "Published" in published.text
    frozen = coordinator.post("/impact/report/narrative", data={**form, "seen": "x"})
    assert frozen.status_code == 409
    assert "is published" in frozen.text and "A **record** year." in frozen.text


def test_a_running_year_cannot_be_published(world: World, client_as: ClientAs) -> None:
    year = str(utcnow().year)
    response = client_as(world.alliance_admin).post("/impact/report/publish", data={"year": year})
    assert response.status_code == 409
    assert "not over yet" in response.text


def test_status_time_is_checked_and_the_form_kept(
    db: Session, world: World, client_as: ClientAs
) -> None:
    report = make_report(db, world.member_a, world.apparel, Tlp.green)
    client = client_as(world.member_a)
    future = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    for when, message in (("yesterday", "Give the time as"), (future, "still to come")):
        response = client.post(
            f"/intel/{report.id}/status",
            data={"status": "notice_filed", "note": "Notice 77", "happened_at": when},
        )
        assert response.status_code == 422
        assert message in response.text and 'value="Notice 77"' in response.text
    assert (
        service.get_visible(db, actor_of(db, world.member_a), report.id or 0).status == Status.new
    )
