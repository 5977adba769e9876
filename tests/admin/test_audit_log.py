"""The audit log records refusals, exports and downloads with who, which brand and from
where; the database refuses to change or delete an entry; alliance admins search all of
it and brand admins their own brand's part, nobody else any of it."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from hub import audit
from hub.audit import AuditEntry
from hub.clock import utcnow
from hub.config import Settings
from hub.intel import evidence
from hub.intel.models import Tlp
from tests.conftest import ClientAs, World
from tests.intel.factories import actor_of, make_report, picture, uploads_in


def _entries(db: Session, action: str) -> list[AuditEntry]:
    db.expire_all()
    return list(
        db.exec(select(AuditEntry).where(AuditEntry.action == action).order_by(col(AuditEntry.id)))
    )


def test_a_refused_action_is_recorded_with_who_and_where(
    world: World, db: Session, client_as: ClientAs
) -> None:
    answer = client_as(world.member_a).post("/admin/brands", data={"name": "Sneaky"})
    assert answer.status_code == 403
    [entry] = _entries(db, "access.denied")
    assert entry.actor_id == world.member_a.id
    assert entry.brand_id == world.brand_a.id
    assert entry.target == "POST /admin/brands"
    assert entry.ip == "testclient"
    assert '"reason": "Forbidden"' in entry.detail


def test_exports_and_original_downloads_are_recorded_thumbnails_are_not(
    world: World,
    db: Session,
    client_as: ClientAs,
    app: FastAPI,
    settings: Settings,
    tmp_path: Path,
) -> None:
    own = uploads_in(app, settings, tmp_path)
    report = make_report(db, world.member_a, world.apparel, Tlp.green, title="Exported one")
    files = evidence.check_all(own, [evidence.Upload("seller-photo.png", picture())])
    [item] = evidence.attach(db, own, actor_of(db, world.member_a), report, files)
    db.commit()
    browser = client_as(world.member_b)
    assert browser.get(f"/evidence/{item.id}/thumbnail").status_code == 200
    assert _entries(db, "evidence.downloaded") == []
    assert browser.get(f"/evidence/{item.id}").status_code == 200
    [download] = _entries(db, "evidence.downloaded")
    assert download.target == f"evidence:{item.id}" and item.sha256 in download.detail
    # Named by its hash: a file's name is for the report's readers, not the log's.
    assert "seller-photo" not in download.detail
    assert browser.get(f"/groups/{world.apparel.slug}/intel/export.csv").status_code == 200
    assert browser.get(f"/groups/{world.apparel.slug}/intel/export.stix.json").status_code == 200
    [csv] = _entries(db, "export.board_csv")
    assert csv.actor_id == world.member_b.id and csv.brand_id == world.brand_b.id
    assert csv.target == f"group:{world.apparel.slug}" and '"reports": 1' in csv.detail
    assert len(_entries(db, "export.board_stix")) == 1


def test_entries_cannot_be_changed_or_deleted(world: World, db: Session) -> None:
    audit.by(db, actor_of(db, world.admin_a), "person.role_changed", "person:1")
    db.commit()
    [entry] = _entries(db, "person.role_changed")
    for statement in (
        update(AuditEntry).where(col(AuditEntry.id) == entry.id).values(detail="rewritten"),
        delete(AuditEntry).where(col(AuditEntry.id) == entry.id),
    ):
        with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
            db.execute(statement)
    db.expire_all()
    assert db.get(AuditEntry, entry.id) is not None


def _shown_targets(html: str) -> list[str]:
    return re.findall(r"thing:[a-z-]+-\d", html)


@pytest.fixture
def logged(world: World, db: Session) -> None:
    """Three entries by brand A's people, two by brand C's, one by the command line."""
    for person, label in ((world.member_a, "a"), (world.admin_a, "a"), (world.member_a, "a")):
        audit.by(db, actor_of(db, person), "intel.created", f"thing:brand-{label}-{person.id}")
    for number in range(2):
        audit.by(db, actor_of(db, world.member_c), "event.created", f"thing:brand-c-{number}")
    audit.record(db, None, "hub command", "brand.created", "thing:cli-0")
    db.commit()


@pytest.mark.usefixtures("logged")
def test_a_brand_admin_reads_only_their_brands_entries(world: World, client_as: ClientAs) -> None:
    page = client_as(world.admin_a).get(f"/brands/{world.brand_a.slug}/audit")
    assert page.status_code == 200
    shown = _shown_targets(page.text)
    assert len(shown) == 3 and all(target.startswith("thing:brand-a-") for target in shown)
    assert "3 entries" in page.text


@pytest.mark.usefixtures("logged")
def test_who_may_read_which_audit_log(world: World, client_as: ClientAs) -> None:
    brand_a_log = f"/brands/{world.brand_a.slug}/audit"
    assert client_as(world.member_a).get(brand_a_log).status_code == 403
    assert client_as(world.admin_c).get(brand_a_log).status_code == 404
    assert client_as(world.admin_a).get("/admin/audit").status_code == 403
    everything = client_as(world.alliance_admin).get("/admin/audit")
    assert everything.status_code == 200
    assert len(_shown_targets(everything.text)) == 6 and "thing:cli-0" in everything.text
    # Alliance admins may also open one brand's part.
    assert len(_shown_targets(client_as(world.alliance_admin).get(brand_a_log).text)) == 3


@pytest.mark.usefixtures("logged")
def test_the_log_is_searched_by_text_family_and_dates(world: World, client_as: ClientAs) -> None:
    admin = client_as(world.alliance_admin)
    by_text = admin.get("/admin/audit", params={"q": world.member_c.name.upper()})
    assert sorted(_shown_targets(by_text.text)) == ["thing:brand-c-0", "thing:brand-c-1"]
    by_family = admin.get("/admin/audit", params={"action": "intel."})
    assert len(_shown_targets(by_family.text)) == 3
    today = utcnow().date()
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert _shown_targets(admin.get("/admin/audit", params={"since": tomorrow}).text) == []
    assert "Nothing matches this search." in admin.get("/admin/audit?since=" + tomorrow).text
    same_day = {"since": today.isoformat(), "until": today.isoformat()}
    assert len(_shown_targets(admin.get("/admin/audit", params=same_day).text)) == 6
    # A wildcard in the text is taken literally.
    assert _shown_targets(admin.get("/admin/audit", params={"q": "%"}).text) == []
    # The brand admin's search stays inside their brand.
    own = client_as(world.admin_a).get(
        f"/brands/{world.brand_a.slug}/audit", params={"q": "thing:brand-c"}
    )
    assert _shown_targets(own.text) == []


def test_a_bad_date_in_the_search_is_explained(world: World, client_as: ClientAs) -> None:
    answer = client_as(world.alliance_admin).get("/admin/audit", params={"since": "last week"})
    assert answer.status_code == 422
    assert "since" in answer.text
