"""A brand's people: roles, deactivation, adding people, and who may see them."""

import json
import re
from html import unescape

from sqlmodel import Session, col, select

from hub.audit import AuditEntry
from hub.auth.models import WebSession
from hub.members.models import Person, Role
from tests import factories
from tests.conftest import ClientAs, World


def _person(db: Session, person: Person) -> Person:
    db.expire_all()
    fresh = db.get(Person, person.id)
    assert fresh is not None
    return fresh


def _flashes(html: str) -> list[str]:
    """The success messages shown on a page (flashes) or in a fragment (inline)."""
    pattern = r'class="(?:flash flash-success|inline-message)" role="status">([^<]*)<'
    return [unescape(message) for message in re.findall(pattern, html)]


def _audit(db: Session, action: str) -> list[AuditEntry]:
    db.expire_all()
    return list(db.exec(select(AuditEntry).where(AuditEntry.action == action)))


def test_change_role_plain_form_redirects_with_flash(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """A plain form post changes the role, redirects to the people page and flashes."""
    browser = client_as(world.admin_a)
    url = f"/brands/brand-a/people/{world.member_a.id}/role"
    response = browser.post(url, data={"role": "brand_admin"})
    assert response.status_code == 303
    assert response.headers["location"] == "/brands/brand-a/people"
    assert _person(db, world.member_a).role == Role.brand_admin
    [message] = _flashes(browser.get("/brands/brand-a/people").text)
    assert "Alma Member" in message and "Brand admin" in message


def test_change_role_htmx_returns_only_the_row(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """An htmx role change answers 200 with the updated table row, not a whole page."""
    url = f"/brands/brand-a/people/{world.member_a.id}/role"
    response = client_as(world.admin_a).post(
        url, data={"role": "brand_admin"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.lstrip().startswith(f'<tr id="person-{world.member_a.id}"')
    assert '<option value="brand_admin" selected>' in response.text
    [message] = _flashes(response.text)
    assert "Alma Member" in message and "Brand admin" in message
    assert _person(db, world.member_a).role == Role.brand_admin


def test_role_change_is_audited(client_as: ClientAs, world: World, db: Session) -> None:
    """A role change writes an audit entry naming the person, before and after."""
    url = f"/brands/brand-a/people/{world.member_a.id}/role"
    client_as(world.admin_a).post(url, data={"role": "brand_admin"})
    [entry] = _audit(db, "person.role_changed")
    assert entry.actor_id == world.admin_a.id
    assert entry.target == f"person:{world.member_a.email}"
    assert json.loads(entry.detail) == {"before": "member", "after": "brand_admin"}


def test_brand_admin_cannot_grant_alliance_admin(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """A role outside those offered is refused with 422 and nothing changes."""
    url = f"/brands/brand-a/people/{world.member_a.id}/role"
    response = client_as(world.admin_a).post(url, data={"role": "alliance_admin"})
    assert response.status_code == 422
    assert _person(db, world.member_a).role == Role.member


def test_deactivation_ends_the_persons_sessions_at_once(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """A deactivated person's open session stops working on their very next request."""
    victim = client_as(world.member_a)
    assert victim.get("/").status_code == 200
    url = f"/brands/brand-a/people/{world.member_a.id}/deactivate"
    assert client_as(world.admin_a).post(url).status_code == 303
    after = victim.get("/groups")
    assert after.status_code == 303
    assert after.headers["location"].startswith("/login")
    db.expire_all()
    sessions = db.exec(select(WebSession).where(WebSession.person_id == world.member_a.id)).all()
    assert sessions and all(s.revoked_at is not None for s in sessions)
    [entry] = _audit(db, "person.deactivated")
    assert json.loads(entry.detail) == {"sessions_ended": 1}


def test_deactivate_htmx_returns_the_row(client_as: ClientAs, world: World, db: Session) -> None:
    """An htmx deactivation answers with the row showing the person as deactivated."""
    url = f"/brands/brand-a/people/{world.member_a.id}/deactivate"
    response = client_as(world.admin_a).post(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert "Deactivated" in response.text
    assert f"/people/{world.member_a.id}/reactivate" in response.text
    assert not _person(db, world.member_a).is_active


def test_reactivate_lets_the_person_back(client_as: ClientAs, world: World, db: Session) -> None:
    """Reactivating a deactivated person makes them active again, with an audit entry."""
    former = factories.make_person(db, world.brand_a, name="Ines Former", is_active=False)
    db.commit()
    url = f"/brands/brand-a/people/{former.id}/reactivate"
    assert client_as(world.admin_a).post(url).status_code == 303
    assert _person(db, former).is_active
    assert [e.target for e in _audit(db, "person.reactivated")] == [f"person:{former.email}"]


def test_cannot_deactivate_yourself(client_as: ClientAs, world: World, db: Session) -> None:
    """A brand admin trying to deactivate themselves gets 409 and stays active."""
    factories.make_person(db, world.brand_a, Role.brand_admin, name="Second Admin")
    db.commit()
    url = f"/brands/brand-a/people/{world.admin_a.id}/deactivate"
    response = client_as(world.admin_a).post(url)
    assert response.status_code == 409
    assert "You cannot deactivate yourself." in response.text
    assert _person(db, world.admin_a).is_active


def test_cannot_deactivate_the_last_brand_admin(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """Deactivating a brand's only admin is refused with 409 and says what to do."""
    url = f"/brands/brand-a/people/{world.admin_a.id}/deactivate"
    response = client_as(world.alliance_admin).post(url)
    assert response.status_code == 409
    assert "Ada Admin is the only active brand admin of Brand A" in response.text
    assert "Make someone else a brand admin first." in response.text
    assert _person(db, world.admin_a).is_active
    assert _audit(db, "person.deactivated") == []


def test_cannot_demote_the_last_brand_admin(client_as: ClientAs, world: World, db: Session) -> None:
    """The only brand admin cannot make themselves a plain member (409)."""
    url = f"/brands/brand-a/people/{world.admin_a.id}/role"
    response = client_as(world.admin_a).post(url, data={"role": "member"})
    assert response.status_code == 409
    assert "only active brand admin" in response.text
    assert _person(db, world.admin_a).role == Role.brand_admin


def test_demote_an_admin_when_another_remains(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """With a second brand admin, the first can step down to member."""
    factories.make_person(db, world.brand_a, Role.brand_admin, name="Second Admin")
    db.commit()
    url = f"/brands/brand-a/people/{world.admin_a.id}/role"
    assert client_as(world.admin_a).post(url, data={"role": "member"}).status_code == 303
    assert _person(db, world.admin_a).role == Role.member


def test_add_person(client_as: ClientAs, world: World, db: Session) -> None:
    """A brand admin adds a person at the brand's domain; they are saved and audited."""
    response = client_as(world.admin_a).post(
        "/brands/brand-a/people",
        data={
            "name": "Nova Newcomer",
            "email": " Nova@Brand-A.example ",
            "role": "brand_admin",
            "job_title": "Head of brand protection",
        },
    )
    assert response.status_code == 303
    db.expire_all()
    person = db.exec(select(Person).where(Person.email == "nova@brand-a.example")).one()
    assert (person.brand_id, person.name, person.role) == (
        world.brand_a.id,
        "Nova Newcomer",
        Role.brand_admin,
    )
    assert person.job_title == "Head of brand protection"
    [entry] = _audit(db, "person.added")
    assert entry.target == "person:nova@brand-a.example"


def test_add_person_outside_brand_domains_keeps_the_form(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """An e-mail outside the brand's domains gives 422 and the form keeps what was typed."""
    response = client_as(world.admin_a).post(
        "/brands/brand-a/people",
        data={"name": "Gil Gmail", "email": "gil@gmail.example", "role": "member"},
    )
    assert response.status_code == 422
    assert 'value="Gil Gmail"' in response.text
    assert 'value="gil@gmail.example"' in response.text
    assert "@gmail.example is not one of them" in response.text
    db.expire_all()
    assert db.exec(select(Person).where(Person.name == "Gil Gmail")).first() is None


def test_add_person_with_an_email_already_in_the_hub(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """An e-mail that already belongs to someone gives 422 and no second person."""
    response = client_as(world.admin_a).post(
        "/brands/brand-a/people",
        data={"name": "Alma Again", "email": world.member_a.email, "role": "member"},
    )
    assert response.status_code == 422
    assert f"{world.member_a.email} is already in the hub." in response.text
    assert 'value="Alma Again"' in response.text
    db.expire_all()
    same = db.exec(select(Person).where(Person.email == world.member_a.email)).all()
    assert len(same) == 1


def test_add_person_without_a_name(client_as: ClientAs, world: World, db: Session) -> None:
    """A missing name is reported beside the field with 422."""
    response = client_as(world.admin_a).post(
        "/brands/brand-a/people", data={"name": " ", "email": "x@brand-a.example"}
    )
    assert response.status_code == 422
    assert "Enter the person&#39;s name." in response.text


def test_people_visible_to_a_brand_sharing_a_group(client_as: ClientAs, world: World) -> None:
    """A member of a brand in the same working group sees the brand's people."""
    page = client_as(world.member_b).get("/brands/brand-a")
    assert page.status_code == 200
    assert world.member_a.email in page.text
    assert "Ada Admin" in page.text


def test_people_hidden_from_a_brand_in_another_group(client_as: ClientAs, world: World) -> None:
    """A member of a brand in another working group sees the profile but not its people."""
    page = client_as(world.member_c).get("/brands/brand-a")
    assert page.status_code == 200
    assert "Brand A" in page.text
    assert world.member_a.email not in page.text
    assert "Alma Member" not in page.text
    assert "People are shown to brands that share a working group" in page.text


def test_people_visible_to_the_groups_coordinator(client_as: ClientAs, world: World) -> None:
    """The coordinator of a brand's working group sees its people."""
    page = client_as(world.coordinator).get("/brands/brand-a")
    assert world.member_a.email in page.text


def test_deactivated_people_are_not_listed_on_the_profile(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """The profile lists active people only; the people page lists everyone."""
    factories.make_person(db, world.brand_a, name="Ines Former", is_active=False)
    db.commit()
    browser = client_as(world.admin_a)
    assert "Ines Former" not in browser.get("/brands/brand-a").text
    assert "Ines Former" in browser.get("/brands/brand-a/people").text


def test_other_brand_admin_cannot_manage(client_as: ClientAs, world: World, db: Session) -> None:
    """Another brand's admin gets 404 for the people page and a role change, and nothing
    changes."""
    browser = client_as(world.admin_c)
    assert browser.get("/brands/brand-a/people").status_code == 404
    url = f"/brands/brand-a/people/{world.member_a.id}/role"
    assert browser.post(url, data={"role": "brand_admin"}).status_code == 404
    assert _person(db, world.member_a).role == Role.member


def test_person_of_another_brand_is_not_found_under_this_brand(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """A brand admin cannot reach another brand's person through their own brand's URL."""
    url = f"/brands/brand-a/people/{world.member_c.id}/deactivate"
    response = client_as(world.admin_a).post(url)
    assert response.status_code == 404
    assert _person(db, world.member_c).is_active


def test_alliance_admin_manages_any_brands_people(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """An alliance admin adds, promotes and deactivates people of any brand."""
    browser = client_as(world.alliance_admin)
    assert browser.get("/brands/brand-c/people").status_code == 200
    added = browser.post(
        "/brands/brand-c/people",
        data={"name": "Cleo New", "email": "cleo@brand-c.example", "role": "member"},
    )
    assert added.status_code == 303
    role_url = f"/brands/brand-c/people/{world.member_c.id}/role"
    assert browser.post(role_url, data={"role": "brand_admin"}).status_code == 303
    deactivate_url = f"/brands/brand-c/people/{world.admin_c.id}/deactivate"
    assert browser.post(deactivate_url).status_code == 303
    db.expire_all()
    assert db.exec(select(Person).where(Person.email == "cleo@brand-c.example")).one()
    assert _person(db, world.member_c).role == Role.brand_admin
    assert not _person(db, world.admin_c).is_active
    actors = {e.actor_id for e in db.exec(select(AuditEntry).order_by(col(AuditEntry.id)))}
    assert actors == {world.alliance_admin.id}


def test_alliance_admin_cannot_make_brand_staff_alliance_admins(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """The alliance admin role is given only inside the secretariat, never to brand staff."""
    url = f"/brands/brand-a/people/{world.member_a.id}/role"
    response = client_as(world.alliance_admin).post(url, data={"role": "alliance_admin"})
    assert response.status_code == 422
    assert _person(db, world.member_a).role == Role.member


def test_directory_search_with_htmx_returns_the_results(client_as: ClientAs, world: World) -> None:
    """The directory's htmx search answers with only the filtered results block."""
    response = client_as(world.member_a).get(
        "/brands", params={"group": "toys-t"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert "Brand C" in response.text
    assert "Brand A" not in response.text
    assert "1 brand" in response.text


def test_htmx_refusal_is_shown_in_the_message_area(
    client_as: ClientAs, world: World, db: Session
) -> None:
    """An htmx action that is refused answers the message alone, retargeted to #messages."""
    url = f"/brands/brand-a/people/{world.admin_a.id}/deactivate"
    response = client_as(world.alliance_admin).post(url, headers={"HX-Request": "true"})
    assert response.status_code == 409
    assert "<html" not in response.text
    assert "only active brand admin" in response.text
    assert response.headers["hx-retarget"] == "#messages"
    assert _person(db, world.admin_a).is_active
