"""The admin area: creating brands and working groups, coordinators, the audit log."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from hub import audit
from hub.admin.audit_routes import PAGE_SIZE as AUDIT_PAGE_SIZE
from hub.audit import AuditEntry
from hub.groups.models import Coordinator, GroupMembership, WorkingGroup
from hub.members.models import Brand, BrandDomain
from tests.conftest import ClientAs, World

GOOD_BRAND = {
    "name": "Maison Verrault",
    "slug": "maison-verrault",
    "country": "FR",
    "domains": "maison-verrault.example, verrault.example",
    "website": "https://maison-verrault.example",
    "description": "Leather goods since 1887.",
}


@pytest.fixture
def admin(client_as: ClientAs, world: World) -> TestClient:
    return client_as(world.alliance_admin)


def _brand_count(db: Session) -> int:
    db.expire_all()
    return db.exec(select(func.count()).select_from(Brand)).one()


def _audit_actions(db: Session) -> list[str]:
    db.expire_all()
    return list(db.exec(select(AuditEntry.action).order_by(col(AuditEntry.id))))


def test_create_brand(admin: TestClient, world: World, db: Session) -> None:
    """A new brand is saved with its domains and groups, audited, and its page works."""
    form = {**GOOD_BRAND, "group_ids": [str(world.apparel.id), str(world.toys.id)]}
    response = admin.post("/admin/brands", data=form)
    assert response.status_code == 303
    assert response.headers["location"] == "/brands/maison-verrault"
    db.expire_all()
    brand = db.exec(select(Brand).where(Brand.slug == "maison-verrault")).one()
    assert (brand.name, brand.country, brand.website) == (
        "Maison Verrault",
        "FR",
        "https://maison-verrault.example",
    )
    domains = db.exec(select(BrandDomain.domain).where(BrandDomain.brand_id == brand.id)).all()
    assert sorted(domains) == ["maison-verrault.example", "verrault.example"]
    groups = db.exec(select(GroupMembership.group_id).where(GroupMembership.brand_id == brand.id))
    assert set(groups) == {world.apparel.id, world.toys.id}
    assert _audit_actions(db) == ["brand.created"]
    page = admin.get("/brands/maison-verrault")
    assert page.status_code == 200
    assert "Maison Verrault" in page.text and "Leather goods since 1887." in page.text
    assert "Maison Verrault was created." in page.text  # the flash


def test_create_brand_duplicate_slug_keeps_the_form(
    admin: TestClient, world: World, db: Session
) -> None:
    """A slug that is taken gives 422, and everything typed is still in the form."""
    before = _brand_count(db)
    form = {**GOOD_BRAND, "slug": "brand-a", "group_ids": [str(world.toys.id)]}
    response = admin.post("/admin/brands", data=form)
    assert response.status_code == 422
    assert "The address /brands/brand-a is taken." in response.text
    page = response.text
    assert 'value="Maison Verrault"' in page
    assert 'value="brand-a"' in page
    assert 'value="maison-verrault.example, verrault.example"' in page
    assert 'value="https://maison-verrault.example"' in page
    assert ">Leather goods since 1887.</textarea>" in page
    assert re.search(r'<option value="FR"\s+selected>', page)
    assert re.search(rf'value="{world.toys.id}"\s+checked>', page)
    assert not re.search(rf'value="{world.apparel.id}"\s+checked>', page)
    assert _brand_count(db) == before
    assert _audit_actions(db) == []


def test_create_brand_with_a_domain_of_another_brand(admin: TestClient, db: Session) -> None:
    """A domain that already belongs to another brand gives 422 and saves nothing."""
    before = _brand_count(db)
    response = admin.post("/admin/brands", data={**GOOD_BRAND, "domains": "brand-a.example"})
    assert response.status_code == 422
    assert "@brand-a.example already belongs to another organisation." in response.text
    assert _brand_count(db) == before


def test_create_brand_with_an_unknown_country(admin: TestClient, db: Session) -> None:
    """A country code that is not in the list gives 422."""
    before = _brand_count(db)
    response = admin.post("/admin/brands", data={**GOOD_BRAND, "country": "XX"})
    assert response.status_code == 422
    assert "Choose the country of the brand&#39;s head office." in response.text
    assert _brand_count(db) == before


@pytest.mark.parametrize("slug", ["Has Spaces", "-leading", "trailing-", "ünïcode", "", "a" * 61])
def test_create_brand_with_a_bad_slug(admin: TestClient, db: Session, slug: str) -> None:
    """A slug that is not lowercase letters, digits and inner hyphens gives 422."""
    before = _brand_count(db)
    response = admin.post("/admin/brands", data={**GOOD_BRAND, "slug": slug})
    assert response.status_code == 422
    assert "Use 1-60 lowercase letters, digits and hyphens" in response.text
    assert _brand_count(db) == before


def test_create_brand_with_a_bad_domain(admin: TestClient, db: Session) -> None:
    """Something that is not a domain name gives 422."""
    response = admin.post("/admin/brands", data={**GOOD_BRAND, "domains": "not a domain"})
    assert response.status_code == 422
    assert "is not a domain name." in response.text


def test_new_brand_form(admin: TestClient, world: World) -> None:
    """The new-brand form offers the countries and the working groups."""
    page = admin.get("/admin/brands/new")
    assert page.status_code == 200
    assert '<option value="FR"' in page.text
    assert "Apparel (test)" in page.text and "Toys (test)" in page.text


def test_create_group(admin: TestClient, db: Session) -> None:
    """A new working group is saved and audited; the admin lands on its coordinators."""
    response = admin.post(
        "/admin/groups",
        data={"name": "Watches (test)", "slug": "watches-t", "description": "Time pieces."},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/groups/watches-t"
    db.expire_all()
    group = db.exec(select(WorkingGroup).where(WorkingGroup.slug == "watches-t")).one()
    assert group.description == "Time pieces."
    assert _audit_actions(db) == ["group.created"]
    assert admin.get("/groups/watches-t").status_code == 200


def test_create_group_with_a_taken_slug(admin: TestClient, db: Session) -> None:
    """A working group slug that is taken gives 422 and keeps what was typed."""
    response = admin.post(
        "/admin/groups",
        data={"name": "Apparel again", "slug": "apparel-t", "description": "Twice."},
    )
    assert response.status_code == 422
    assert "The address /groups/apparel-t is taken." in response.text
    assert 'value="Apparel again"' in response.text and ">Twice.</textarea>" in response.text
    db.expire_all()
    assert db.exec(select(WorkingGroup).where(WorkingGroup.name == "Apparel again")).first() is None


def test_create_group_with_a_taken_name(admin: TestClient) -> None:
    """A working group name that is taken gives 422."""
    response = admin.post("/admin/groups", data={"name": "Toys (test)", "slug": "toys-again"})
    assert response.status_code == 422
    assert "There is already a working group called Toys (test)." in response.text


def test_appoint_coordinator(admin: TestClient, world: World, db: Session) -> None:
    """Appointing by e-mail makes the person a coordinator of the group."""
    response = admin.post("/admin/groups/toys-t/coordinators", data={"email": world.admin_c.email})
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/groups/toys-t"
    assert db.get(Coordinator, (world.toys.id, world.admin_c.id)) is not None
    assert "Cyd Admin now coordinates Toys (test)." in admin.get("/admin/groups/toys-t").text
    assert _audit_actions(db) == ["coordinator.appointed"]


def test_appoint_coordinator_with_htmx_returns_the_block(
    admin: TestClient, world: World, db: Session
) -> None:
    """The htmx appointment answers with the coordinators block, not a whole page."""
    response = admin.post(
        "/admin/groups/toys-t/coordinators",
        data={"email": world.member_c.email},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert "Cal Member now coordinates Toys (test)." in response.text
    assert "Appoint a coordinator" in response.text
    assert f"/coordinators/{world.member_c.id}/remove" in response.text
    assert db.get(Coordinator, (world.toys.id, world.member_c.id)) is not None


def test_appoint_unknown_email(admin: TestClient, world: World, db: Session) -> None:
    """An e-mail nobody has gives 422 with a message, keeping the typed address."""
    response = admin.post(
        "/admin/groups/toys-t/coordinators", data={"email": "ghost@nowhere.example"}
    )
    assert response.status_code == 422
    assert "Nobody in the hub has the e-mail address ghost@nowhere.example." in response.text
    assert 'value="ghost@nowhere.example"' in response.text
    db.expire_all()
    assert db.exec(select(Coordinator).where(Coordinator.group_id == world.toys.id)).all() == []


def test_appoint_unknown_email_with_htmx_returns_the_block(admin: TestClient) -> None:
    """The htmx error answer is the coordinators block with the message, status 422."""
    response = admin.post(
        "/admin/groups/toys-t/coordinators",
        data={"email": "ghost@nowhere.example"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "<html" not in response.text
    assert "Nobody in the hub has the e-mail address ghost@nowhere.example." in response.text


def test_appoint_twice_is_a_conflict(admin: TestClient, world: World) -> None:
    """Appointing someone who already coordinates the group answers 409."""
    response = admin.post(
        "/admin/groups/apparel-t/coordinators", data={"email": world.coordinator.email}
    )
    assert response.status_code == 409
    assert "Cora Coordinator already coordinates Apparel (test)." in response.text


def test_remove_coordinator(
    admin: TestClient, world: World, db: Session, client_as: ClientAs
) -> None:
    """Removing a coordinator ends their right to decide requests to join at once."""
    coordinator = client_as(world.coordinator)
    url = f"/admin/groups/apparel-t/coordinators/{world.coordinator.id}/remove"
    response = admin.post(url)
    assert response.status_code == 303
    assert db.get(Coordinator, (world.apparel.id, world.coordinator.id)) is None
    assert _audit_actions(db) == ["coordinator.removed"]
    assert "Groups you coordinate" not in coordinator.get("/").text


def test_remove_someone_who_is_not_a_coordinator(admin: TestClient, world: World) -> None:
    """Removing a person who does not coordinate the group answers 404."""
    url = f"/admin/groups/apparel-t/coordinators/{world.member_a.id}/remove"
    assert admin.post(url).status_code == 404


def test_audit_log_lists_and_pages(admin: TestClient, db: Session) -> None:
    """The audit log shows the newest page of entries and links to older ones by id."""
    for number in range(AUDIT_PAGE_SIZE + 5):
        audit.record(db, None, "pytest", "test.entry", f"thing:{number:03d}")
    db.commit()
    first = admin.get("/admin/audit")
    assert first.status_code == 200
    shown = re.findall(r"thing:(\d{3})", first.text)
    assert len(shown) == AUDIT_PAGE_SIZE
    assert shown[0] == f"{AUDIT_PAGE_SIZE + 4:03d}"  # newest first
    assert f"{AUDIT_PAGE_SIZE + 5} entries" in first.text
    match = re.search(r'href="/admin/audit\?before=(\d+)"', first.text)
    assert match
    older = admin.get(f"/admin/audit?before={match.group(1)}")
    assert re.findall(r"thing:(\d{3})", older.text) == ["004", "003", "002", "001", "000"]
    assert "before=" not in older.text


def test_audit_log_next_page_with_htmx_is_a_fragment(admin: TestClient, db: Session) -> None:
    """Asking htmx for older entries returns only the rows."""
    for number in range(AUDIT_PAGE_SIZE + 1):
        audit.record(db, None, "pytest", "test.entry", f"thing:{number:03d}")
    db.commit()
    newest = db.exec(select(func.max(AuditEntry.id))).one()
    assert newest is not None
    response = admin.get(f"/admin/audit?before={newest}", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text and "<tr>" in response.text
    assert len(re.findall(r"thing:\d{3}", response.text)) == AUDIT_PAGE_SIZE


def test_admin_home_lists_groups_and_recent_activity(admin: TestClient, db: Session) -> None:
    """The admin home lists the working groups and the latest audit entries."""
    audit.record(db, None, "pytest", "test.recent", "thing:recent")
    db.commit()
    page = admin.get("/admin")
    assert page.status_code == 200
    assert "Apparel (test)" in page.text and "thing:recent" in page.text


@pytest.mark.parametrize("who", ["member_a", "admin_a", "coordinator"])
def test_non_admin_gets_403(client_as: ClientAs, world: World, who: str) -> None:
    """Anyone but an alliance admin is refused the admin area with 403."""
    browser = client_as(getattr(world, who))
    assert browser.get("/admin").status_code == 403
    assert browser.get("/admin/audit").status_code == 403


def test_non_admin_has_no_admin_link(client_as: ClientAs, world: World) -> None:
    """The Admin link shows only to alliance admins."""
    assert 'href="/admin"' not in client_as(world.admin_a).get("/").text
    assert 'href="/admin"' in client_as(world.alliance_admin).get("/").text
