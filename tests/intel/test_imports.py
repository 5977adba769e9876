"""Bulk import of a monitoring tool's file: CSV and STIX 2.1, merging with what the brand
already reported, rejected entries with where and why, and nothing half-imported."""

import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from hub.intel import exports, imports, search
from hub.intel.indicators import normalise
from hub.intel.models import GroupFollow, ImportJob, ImportState, Indicator, IntelReport, Tlp
from hub.intel.service import BoardFilters
from hub.notify.models import Notification
from tests.conftest import ClientAs, World
from tests.intel.factories import actor_of, make_report

HEADER = "title,marketplace,listing_url,seller_id,phone,tlp\n"


def upload(
    browser: TestClient,
    slug: str,
    content: str | bytes,
    name: str = "monitor.csv",
    mode: str = "all",
    tlp: str = "amber",
) -> tuple[int, str]:
    """Upload a file; returns the status and, after the redirect, the job page."""
    data = content.encode() if isinstance(content, str) else content
    answer = browser.post(
        f"/groups/{slug}/intel/import",
        data={"tlp": tlp, "mode": mode},
        files={"file": (name, data, "text/csv")},
    )
    if answer.status_code != 303:
        return answer.status_code, answer.text
    return answer.status_code, browser.get(answer.headers["location"]).text


def reports_of(db: Session, world: World) -> list[IntelReport]:
    db.expire_all()
    return list(
        db.exec(
            select(IntelReport)
            .where(IntelReport.brand_id == world.brand_a.id)
            .order_by(col(IntelReport.id))
        )
    )


def only_job(db: Session) -> ImportJob:
    db.expire_all()
    return db.exec(select(ImportJob)).one()


def test_a_csv_becomes_reports_with_their_indicators(
    db: Session, world: World, client_as: ClientAs
) -> None:
    content = HEADER + (
        "Fake sneakers,Marketplace One,https://marketplace.example/item/123,shop-778,"
        "+86 138 0013 8000,\n"
        "Fake hoodie,Marketplace One,https://marketplace.example/item/124|"
        "https://marketplace.example/item/125,,,TLP:GREEN\n"
    )

    status, page = upload(client_as(world.member_a), "apparel-t", content)

    assert status == 303 and "Imported" in page and "<strong>2</strong> new reports" in page
    sneakers, hoodie = reports_of(db, world)
    assert (sneakers.title, sneakers.tlp, sneakers.marketplace) == (
        "Fake sneakers",
        Tlp.amber,
        "Marketplace One",
    )
    assert hoodie.tlp == Tlp.green
    kinds = db.exec(
        select(Indicator.kind, Indicator.normalised).where(Indicator.report_id == sneakers.id)
    ).all()
    assert sorted(kinds) == [
        ("listing_url", normalise("listing_url", "https://marketplace.example/item/123")),
        ("phone", "+8613800138000"),
        ("seller_id", normalise("seller_id", "shop-778")),
    ]
    assert len(db.exec(select(Indicator).where(Indicator.report_id == hoodie.id)).all()) == 2
    job = only_job(db)
    assert (job.state, job.created, job.merged, job.content) == (ImportState.done, 2, 0, "")


def test_one_bad_entry_stops_an_all_or_nothing_import_with_line_numbers(
    db: Session, world: World, client_as: ClientAs
) -> None:
    content = HEADER + (
        "Fine,Marketplace One,https://marketplace.example/item/1,,,\n"
        "Bad phone,Marketplace One,,,not a phone,\n"
        ",,,,,\n"
        "No indicator,Marketplace Two,,,,\n"
        "Red one,Marketplace Two,https://marketplace.example/item/9,,,TLP:RED\n"
    )

    status, page = upload(client_as(world.member_a), "apparel-t", content)

    assert status == 303 and "Nothing was imported" in page
    assert reports_of(db, world) == []
    job = only_job(db)
    assert job.state == ImportState.failed
    by_line = {item["where"]: item["reason"] for item in job.rejected}
    assert set(by_line) == {"line 3", "line 5", "line 6"}  # line 4 is empty: skipped
    assert "phone number" in by_line["line 3"] and "line 3" in page
    assert "indicator" in by_line["line 5"].lower()
    assert "TLP:RED" in by_line["line 6"]


def test_the_valid_entries_can_go_in_and_the_others_are_listed(
    db: Session, world: World, client_as: ClientAs
) -> None:
    content = HEADER + (
        "Fine,Marketplace One,https://marketplace.example/item/1,,,\n"
        "Bad phone,Marketplace One,,,not a phone,\n"
    )

    status, page = upload(client_as(world.member_a), "apparel-t", content, mode="valid")

    assert status == 303 and "<strong>1</strong> new report<" in page and "line 3" in page
    assert [r.title for r in reports_of(db, world)] == ["Fine"]


def test_an_entry_naming_a_known_indicator_is_merged_into_that_report(
    db: Session, world: World, client_as: ClientAs
) -> None:
    earlier = make_report(
        db,
        world.member_a,
        world.apparel,
        indicators=[("listing_url", "https://marketplace.example/item/7")],
    )
    content = HEADER + (
        "Again,Marketplace One,https://marketplace.example/item/7?ref=x,shop-9,,\n"
        "New one,Marketplace One,https://marketplace.example/item/8,,,\n"
        "Same seller,Marketplace One,,shop-9,+86 138 0013 8000,\n"
    )

    status, page = upload(client_as(world.member_a), "apparel-t", content)

    assert status == 303
    titles = [r.title for r in reports_of(db, world)]
    assert titles == [earlier.title, "New one"]
    added = db.exec(
        select(Indicator.kind, Indicator.normalised).where(Indicator.report_id == earlier.id)
    ).all()
    # The seller came in with the first entry, the phone with the third (same seller).
    assert sorted(added) == [
        ("listing_url", normalise("listing_url", "https://marketplace.example/item/7")),
        ("phone", "+8613800138000"),
        ("seller_id", normalise("seller_id", "shop-9")),
    ]
    job = only_job(db)
    assert (job.created, job.merged) == (1, 2)


def test_another_brands_report_is_not_merged_into(
    db: Session, world: World, client_as: ClientAs
) -> None:
    make_report(
        db, world.member_b, world.apparel, indicators=[("seller_id", "shop-1")], tlp=Tlp.green
    )

    upload(client_as(world.member_a), "apparel-t", HEADER + "Mine,M,,shop-1,,\n")

    assert [r.title for r in reports_of(db, world)] == ["Mine"]


def test_a_boards_own_exports_import_back(db: Session, world: World, client_as: ClientAs) -> None:
    source = [
        make_report(
            db,
            world.member_b,
            world.apparel,
            Tlp.green,
            title=f"Exported {n}",
            indicators=[("listing_url", f"https://shop.example/{n}"), ("phone", "+8613900000001")],
        )
        for n in range(2)
    ]
    csv_text = exports.to_csv(db, source, "http://testserver")
    stix_text = exports.to_stix(db, source)
    browser = client_as(world.member_a)

    upload(browser, "apparel-t", csv_text, mode="valid")
    from_csv = reports_of(db, world)
    db.exec(select(ImportJob)).one()  # one job so far
    upload(browser, "toys-t", stix_text, name="board.stix.json")

    # The CSV: both reports, with both indicators; the phone they share merges the second.
    assert [r.title for r in from_csv] == ["Exported 0"]
    assert {r.tlp for r in from_csv} == {Tlp.green}
    indicators = db.exec(select(Indicator.kind).where(Indicator.report_id == from_csv[0].id)).all()
    assert sorted(indicators) == ["listing_url", "listing_url", "phone"]
    # The STIX bundle went to a board brand A is not in: refused, nothing saved.
    assert len(db.exec(select(ImportJob)).all()) == 1


def test_a_stix_bundle_with_reports_and_standalone_indicators(
    db: Session, world: World, client_as: ClientAs
) -> None:
    source = make_report(
        db,
        world.member_b,
        world.apparel,
        Tlp.amber_strict,
        title="Strict listing",
        indicators=[("listing_url", "https://shop.example/strict"), ("seller_id", "seller-5")],
    )
    bundle = json.loads(exports.to_stix(db, [source]))
    bundle["objects"].append(
        {
            "type": "indicator",
            "spec_version": "2.1",
            "id": "indicator--0b3f0a3c-52a6-4f2b-9c6e-6a6a3c1c0d01",
            "name": "Phishing shop",
            "pattern": "[domain-name:value = 'cheap-bags.example'] OR "
            "[email-addr:value = 'sales@cheap-bags.example']",
            "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z",
        }
    )

    status, page = upload(
        client_as(world.member_a), "apparel-t", json.dumps(bundle), name="feed.json"
    )

    assert status == 303 and "<strong>2</strong> new reports" in page
    strict, phishing = reports_of(db, world)
    assert (strict.title, strict.tlp) == ("Strict listing", Tlp.amber_strict)
    assert (phishing.title, phishing.tlp) == ("Phishing shop", Tlp.amber)
    kinds = db.exec(select(Indicator.kind).where(Indicator.report_id == phishing.id)).all()
    assert sorted(kinds) == ["domain", "email"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("monitor.csv", b"", "Choose a CSV or STIX file to import."),
        ("monitor.xlsx", b"PK\x03\x04 zip", "Choose a CSV file (.csv) or a STIX 2.1 bundle"),
        ("monitor.csv", "title,listing_url\nä,x\n".encode("utf-16"), "UTF-8"),
    ],
)
def test_an_unusable_upload_is_refused_on_the_form(
    db: Session, world: World, client_as: ClientAs, name: str, content: bytes, message: str
) -> None:
    status, page = upload(client_as(world.member_a), "apparel-t", content, name=name)

    assert status == 422 and message in page
    assert db.exec(select(ImportJob)).all() == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,price\nshoe,3\n", "at least one indicator column"),
        ('{"type": "report"}', "one bundle"),
        ("{not json", "not a JSON file"),
    ],
)
def test_an_unreadable_file_fails_the_job_with_a_reason(
    db: Session, world: World, client_as: ClientAs, content: str, message: str
) -> None:
    name = "x.json" if content.startswith("{") else "x.csv"
    status, page = upload(client_as(world.member_a), "apparel-t", content, name=name)

    assert status == 303 and "Nothing was imported" in page and message in page
    assert only_job(db).state == ImportState.failed


def test_a_failure_while_saving_leaves_nothing_behind(
    db: Session, world: World, client_as: ClientAs, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_index(session: Session, report_ids: list[int]) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(imports.search_index, "reindex_many", broken_index)
    content = HEADER + "".join(
        f"Entry {n},M,https://marketplace.example/item/{n},,,\n" for n in range(30)
    )

    status, page = upload(client_as(world.member_a), "apparel-t", content)

    assert status == 303 and "Nothing was imported" in page
    assert "Something went wrong on our side" in page and "the disk is full" not in page
    assert reports_of(db, world) == []
    assert db.exec(select(func.count()).select_from(Indicator)).one() == 0


def test_followers_hear_once_of_the_import(db: Session, world: World, client_as: ClientAs) -> None:
    db.add(GroupFollow(group_id=world.apparel.id or 0, person_id=world.member_b.id or 0))
    db.commit()
    content = HEADER + "".join(
        f"Entry {n},M,https://marketplace.example/item/{n},,,\n" for n in range(5)
    )

    upload(client_as(world.member_a), "apparel-t", content)

    told = db.exec(
        select(Notification.text).where(Notification.person_id == world.member_b.id)
    ).all()
    assert told == ["Alma Member imported 5 reports into the Apparel (test) board."]


def test_only_the_groups_brands_import_and_only_their_own_jobs_show(
    db: Session, world: World, client_as: ClientAs, app: FastAPI
) -> None:
    outsider = client_as(world.admin_c)
    assert outsider.get("/groups/apparel-t/intel/import").status_code == 403
    status, _ = upload(outsider, "apparel-t", HEADER + "X,M,https://m.example/1,,,\n")
    assert status == 403
    upload(client_as(world.member_a), "apparel-t", HEADER + "X,M,https://m.example/1,,,\n")
    job = only_job(db)

    assert client_as(world.admin_a).get(f"/imports/{job.id}").status_code == 404
    assert client_as(world.member_a).get(f"/imports/{job.id}").status_code == 200


def test_the_progress_fragment_polls_until_the_job_is_over(
    db: Session, world: World, client_as: ClientAs
) -> None:
    actor = actor_of(db, world.member_a)
    job = imports.start(
        db, actor, world.apparel, "m.csv", (HEADER + "X,M,https://m.example/1,,,\n").encode(),
        "amber", True,
    )  # fmt: skip
    browser = client_as(world.member_a)

    waiting = browser.get(f"/imports/{job.id}", headers={"HX-Request": "true"})
    assert 'hx-trigger="every 1s"' in waiting.text and "<progress" in waiting.text
    assert "<html" not in waiting.text

    imports.run(lambda: Session(db.get_bind()), job.id or 0, actor)

    finished = browser.get(f"/imports/{job.id}", headers={"HX-Request": "true"})
    assert "hx-trigger" not in finished.text and "Imported" in finished.text
    assert 'hx-swap-oob="true"' in finished.text


def test_imported_reports_are_found_by_search_like_posted_ones(
    db: Session, world: World, client_as: ClientAs
) -> None:
    make_report(
        db, world.member_a, world.apparel, title="Posted", indicators=[("seller_id", "zq-1")]
    )
    upload(client_as(world.member_a), "apparel-t", HEADER + "Imported,Bazaar,,zq-2,,\n")

    actor = actor_of(db, world.member_b)
    for term, title in (("zq-1", "Posted"), ("zq-2", "Imported"), ("Bazaar", "Imported")):
        hits = search.search(db, actor, term, BoardFilters())
        assert [hit.report.title for hit in hits] == [title], term
