"""Brands asking to join working groups, and coordinators deciding."""

import json

from sqlmodel import Session, col, select

from hub.audit import AuditEntry
from hub.groups.models import GroupMembership, JoinRequest, RequestStatus
from hub.members.models import Role
from tests import factories
from tests.conftest import ClientAs, World


def _join_requests(db: Session) -> list[JoinRequest]:
    db.expire_all()
    return list(db.exec(select(JoinRequest).order_by(col(JoinRequest.id))))


def _status(db: Session, join_request: JoinRequest) -> str:
    db.expire_all()
    fresh = db.get(JoinRequest, join_request.id)
    assert fresh is not None
    return fresh.status


def test_brand_admin_requests_to_join(client_as: ClientAs, world: World, db: Session) -> None:
    """A brand admin's request is saved as pending, audited, and flashed back to them."""
    browser = client_as(world.admin_c)
    response = browser.post(
        "/brands/brand-c/join-requests",
        data={"group_id": str(world.apparel.id), "message": "Our toys come with T-shirts."},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/brands/brand-c"
    [join_request] = _join_requests(db)
    assert (join_request.brand_id, join_request.group_id) == (world.brand_c.id, world.apparel.id)
    assert join_request.status == RequestStatus.pending
    assert join_request.requested_by_id == world.admin_c.id
    assert join_request.message == "Our toys come with T-shirts."
    profile = browser.get("/brands/brand-c").text
    assert "Your request to join Apparel (test) was sent to its coordinators." in profile
    assert "Waiting for a decision" in profile
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "group.join_requested")).one()
    assert entry.target == "group:apparel-t"
    assert json.loads(entry.detail) == {"brand": "brand-c"}


def test_request_appears_for_the_coordinator(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """A pending request shows on the coordinator's dashboard and on the group page."""
    factories.make_join_request(db, world.brand_c, world.apparel, world.admin_c, "Let us in")
    db.commit()
    browser = client_as(world.coordinator)
    dashboard = browser.get("/").text
    assert "Requests to join your groups" in dashboard
    assert "Brand C" in dashboard and "Let us in" in dashboard
    group_page = browser.get("/groups/apparel-t").text
    assert "Requests to join" in group_page and "Let us in" in group_page


def test_request_hidden_from_those_who_cannot_decide(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """Members of the group and alliance admins do not see the request on the group page."""
    factories.make_join_request(db, world.brand_c, world.apparel, world.admin_c, "Let us in")
    db.commit()
    for person in (world.member_a, world.admin_a, world.alliance_admin):
        page = client_as(person).get("/groups/apparel-t")
        assert page.status_code == 200
        assert "Let us in" not in page.text


def test_duplicate_pending_request_is_a_conflict(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """Asking again while a request is pending answers 409 and saves nothing new."""
    factories.make_join_request(db, world.brand_c, world.apparel, world.admin_c)
    db.commit()
    response = client_as(world.admin_c).post(
        "/brands/brand-c/join-requests", data={"group_id": str(world.apparel.id)}
    )
    assert response.status_code == 409
    assert "Brand C has already asked to join Apparel (test)." in response.text
    assert len(_join_requests(db)) == 1


def test_request_to_a_group_already_joined_is_a_conflict(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """Asking to join a group the brand is already in answers 409."""
    response = client_as(world.admin_c).post(
        "/brands/brand-c/join-requests", data={"group_id": str(world.toys.id)}
    )
    assert response.status_code == 409
    assert "Brand C is already in Toys (test)." in response.text
    assert _join_requests(db) == []


def test_request_to_an_unknown_group_is_invalid(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """An unknown group id re-renders the profile with 422 and the typed message."""
    response = client_as(world.admin_c).post(
        "/brands/brand-c/join-requests", data={"group_id": "999999", "message": "Typed text"}
    )
    assert response.status_code == 422
    assert "Choose a working group." in response.text
    assert "Typed text" in response.text
    assert _join_requests(db) == []


def test_plain_member_cannot_request(client_as: ClientAs, world: World, db: Session) -> None:
    """A member who is not a brand admin gets 403 and no request is saved."""
    response = client_as(world.member_c).post(
        "/brands/brand-c/join-requests", data={"group_id": str(world.apparel.id)}
    )
    assert response.status_code == 403
    assert _join_requests(db) == []


def test_coordinator_approves(client_as: ClientAs, world: World, db: Session) -> None:
    """Approval makes the brand a member of the group; its people then see the group."""
    join_request = factories.make_join_request(db, world.brand_c, world.apparel, world.admin_c)
    db.commit()
    member_c = client_as(world.member_c)
    assert "Apparel (test)" not in member_c.get("/").text
    response = client_as(world.coordinator).post(
        f"/join-requests/{join_request.id}/approve", data={"note": "Welcome aboard"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/groups/apparel-t"
    assert _status(db, join_request) == RequestStatus.approved
    assert db.get(GroupMembership, (world.apparel.id, world.brand_c.id)) is not None
    decided = db.get(JoinRequest, join_request.id)
    assert decided is not None and decided.decided_by_id == world.coordinator.id
    assert decided.decision_note == "Welcome aboard"
    assert "Apparel (test)" in member_c.get("/").text
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "group.join_approved")).one()
    assert entry.actor_id == world.coordinator.id


def test_coordinator_refuses_with_a_note(client_as: ClientAs, world: World, db: Session) -> None:
    """Refusal records the note and does not make the brand a member."""
    join_request = factories.make_join_request(db, world.brand_c, world.apparel, world.admin_c)
    db.commit()
    response = client_as(world.coordinator).post(
        f"/join-requests/{join_request.id}/refuse", data={"note": "Toys only, sorry."}
    )
    assert response.status_code == 303
    db.expire_all()
    decided = db.get(JoinRequest, join_request.id)
    assert decided is not None
    assert (decided.status, decided.decision_note) == (RequestStatus.refused, "Toys only, sorry.")
    assert db.get(GroupMembership, (world.apparel.id, world.brand_c.id)) is None
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "group.join_refused")).one()
    assert json.loads(entry.detail) == {"brand": "brand-c", "note": "Toys only, sorry."}


def test_decision_goes_back_to_a_safe_page(client_as: ClientAs, world: World, db: Session) -> None:
    """The form's `back` page is followed when it is on this site, not when it is not."""
    first = factories.make_join_request(db, world.brand_c, world.apparel, world.admin_c)
    second = factories.make_join_request(db, world.brand_b, world.toys, world.member_b)
    factories.appoint(db, world.toys, world.coordinator)
    db.commit()
    browser = client_as(world.coordinator)
    home = browser.post(f"/join-requests/{first.id}/approve", data={"back": "/"})
    assert home.headers["location"] == "/"
    evil = browser.post(f"/join-requests/{second.id}/approve", data={"back": "//evil.example"})
    assert evil.headers["location"] == "/"


def test_htmx_decision_returns_the_fragment(client_as: ClientAs, world: World, db: Session) -> None:
    """An htmx decision answers 200 with just the request's card, showing the outcome."""
    join_request = factories.make_join_request(db, world.brand_c, world.apparel, world.admin_c)
    db.commit()
    response = client_as(world.coordinator).post(
        f"/join-requests/{join_request.id}/approve", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.lstrip().startswith(
        f'<li class="join-request card" id="join-request-{join_request.id}">'
    )
    assert "request to join Apparel (test) was approved" in response.text
    assert "hx-post" not in response.text  # decided: no buttons left
    assert _status(db, join_request) == RequestStatus.approved


def test_deciding_twice_is_a_conflict(client_as: ClientAs, world: World, db: Session) -> None:
    """A request already decided cannot be decided again (409), and stays as decided."""
    join_request = factories.make_join_request(db, world.brand_c, world.apparel, world.admin_c)
    db.commit()
    browser = client_as(world.coordinator)
    assert browser.post(f"/join-requests/{join_request.id}/refuse").status_code == 303
    again = browser.post(f"/join-requests/{join_request.id}/approve")
    assert again.status_code == 409
    assert _status(db, join_request) == RequestStatus.refused
    assert db.get(GroupMembership, (world.apparel.id, world.brand_c.id)) is None


def test_coordinator_of_another_group_gets_404(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """A coordinator cannot see, nor decide, a request to join a group they do not run."""
    join_request = factories.make_join_request(db, world.brand_a, world.toys, world.admin_a)
    db.commit()
    browser = client_as(world.coordinator)
    assert browser.post(f"/join-requests/{join_request.id}/approve").status_code == 404
    assert browser.post(f"/join-requests/{join_request.id}/refuse").status_code == 404
    assert _status(db, join_request) == RequestStatus.pending
    assert "Requests to join" not in browser.get("/groups/toys-t").text


def test_requesting_brand_admin_cannot_approve_their_own_request(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """The brand admin who asked cannot approve their own request (404)."""
    join_request = factories.make_join_request(db, world.brand_c, world.apparel, world.admin_c)
    db.commit()
    response = client_as(world.admin_c).post(f"/join-requests/{join_request.id}/approve")
    assert response.status_code == 404
    assert _status(db, join_request) == RequestStatus.pending


def test_brand_member_coordinator_decides_for_their_group(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """A coordinator who works at a member brand decides requests like staff coordinators."""
    factories.appoint(db, world.toys, world.member_c)
    join_request = factories.make_join_request(db, world.brand_a, world.toys, world.admin_a)
    db.commit()
    assert world.member_c.role == Role.member
    response = client_as(world.member_c).post(f"/join-requests/{join_request.id}/approve")
    assert response.status_code == 303
    assert db.get(GroupMembership, (world.toys.id, world.brand_a.id)) is not None


def test_unknown_request_is_404(client_as: ClientAs, world: World) -> None:
    """A request id that does not exist answers 404, even to a coordinator."""
    assert client_as(world.coordinator).post("/join-requests/999999/approve").status_code == 404
