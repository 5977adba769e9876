"""Coordinators moderate their group's board: hide with a reason the author is told, show
again, pin to the top, merge duplicates; nobody else may."""

import re

import pytest
from sqlmodel import Session, col, select

from hub.audit import AuditEntry
from hub.intel.models import IntelReport, Tlp
from hub.members.models import Person
from hub.models import Notification
from tests import factories
from tests.conftest import ClientAs, World
from tests.intel.factories import make_report

BOARD = "/groups/apparel-t/intel"


def _titles(html: str) -> list[str]:
    return re.findall(r'<h2 class="card-title"><a href="/intel/\d+">(.*?)</a></h2>', html)


def _notes(db: Session, person: Person) -> list[str]:
    db.expire_all()
    return list(
        db.exec(
            select(Notification.text)
            .where(Notification.person_id == person.id)
            .order_by(col(Notification.id))
        )
    )


def _fresh(db: Session, report: IntelReport) -> IntelReport:
    db.expire_all()
    found = db.get(IntelReport, report.id)
    assert found is not None
    return found


@pytest.fixture
def report(db: Session, world: World) -> IntelReport:
    """A TLP:GREEN report by member_a: everyone may read it."""
    return make_report(db, world.member_a, world.apparel, Tlp.green, title="Suspect shop")


# --- hide and unhide ---------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   "])
def test_hiding_needs_a_reason(
    reason: str, world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """Without a reason the report is not hidden and the coordinator is asked for one."""
    response = client_as(world.coordinator).post(
        f"/intel/{report.id}/hide", data={"reason": reason}
    )
    assert response.status_code == 422
    assert "Say why the report is hidden: its author is told." in response.text
    assert _fresh(db, report).hidden_reason == ""
    assert _notes(db, world.member_a) == []


def test_hiding_tells_the_author_why(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """The author is notified with the coordinator's reason, and the hiding is audited."""
    response = client_as(world.coordinator).post(
        f"/intel/{report.id}/hide", data={"reason": "  Contains a customer's home address.  "}
    )
    assert response.status_code == 303
    assert _fresh(db, report).hidden_reason == "Contains a customer's home address."
    assert _notes(db, world.member_a) == [
        "A coordinator hid your report “Suspect shop”: Contains a customer's home address."
    ]
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "intel.hidden")).one()
    assert entry.target == f"report:{report.id}"
    notes = client_as(world.member_a).get("/notifications").text
    assert "Contains a customer&#39;s home address." in notes


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("member_a", True),  # author
        ("coordinator", True),
        ("admin_a", False),  # the author's brand
        ("member_b", False),
        ("member_c", False),
        ("alliance_admin", False),
    ],
)
def test_hidden_report_leaves_the_board_for_others(
    who: str, sees: bool, world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """A hidden report stays on the board and its page for its author and the coordinators,
    marked hidden with the reason; everyone else loses it from board, page and search."""
    make_report(db, world.member_b, world.apparel, Tlp.green, title="Another shop")
    client_as(world.coordinator).post(f"/intel/{report.id}/hide", data={"reason": "Off topic"})
    browser = client_as(getattr(world, who))
    board = browser.get(BOARD).text
    assert ("Suspect shop" in _titles(board)) == sees
    assert "Another shop" in _titles(board)
    page = browser.get(f"/intel/{report.id}")
    assert page.status_code == (200 if sees else 404)
    assert ("Hidden by a coordinator: Off topic" in page.text) == sees
    found = browser.get("/intel/search", params={"q": "Suspect"}).text
    assert ("Suspect shop" in _titles(found)) == sees
    csv_text = browser.get(f"{BOARD}/export.csv").text
    assert ("Suspect shop" in csv_text) == sees
    if sees:
        card = board[board.index("Suspect shop") - 600 : board.index("Suspect shop")]
        assert '<span class="badge badge-off">Hidden</span>' in card


def test_unhide_puts_it_back_and_tells_the_author(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """Showing a hidden report again returns it to the board and tells its author."""
    coordinator = client_as(world.coordinator)
    coordinator.post(f"/intel/{report.id}/hide", data={"reason": "Check the source"})
    response = coordinator.post(f"/intel/{report.id}/unhide")
    assert response.status_code == 303
    assert _fresh(db, report).hidden_reason == ""
    assert "Suspect shop" in _titles(client_as(world.member_b).get(BOARD).text)
    assert (
        _notes(db, world.member_a)[-1] == "Your report “Suspect shop” is shown on the board again."
    )


def test_coordinator_sees_the_moderation_controls(
    world: World, client_as: ClientAs, report: IntelReport
) -> None:
    """Only the group's coordinators get the moderation panel on a report."""
    assert "Coordinator</h2>" in client_as(world.coordinator).get(f"/intel/{report.id}").text
    for person in (world.member_a, world.admin_a, world.member_b, world.alliance_admin):
        assert "Coordinator</h2>" not in client_as(person).get(f"/intel/{report.id}").text


def test_htmx_hide_redirects_through_htmx(
    world: World, client_as: ClientAs, report: IntelReport
) -> None:
    """An htmx form post is answered with HX-Redirect to the report."""
    response = client_as(world.coordinator).post(
        f"/intel/{report.id}/hide", data={"reason": "Spam"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 204
    assert response.headers["hx-redirect"] == f"/intel/{report.id}"


# --- pin ---------------------------------------------------------------------------------


def test_pinned_report_comes_first_on_the_board(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """A pinned report heads the board, above newer ones; unpinning restores the order."""
    make_report(db, world.member_b, world.apparel, Tlp.green, title="Newer one")
    make_report(db, world.member_b, world.apparel, Tlp.green, title="Newest one")
    reader = client_as(world.member_b)
    assert _titles(reader.get(BOARD).text) == ["Newest one", "Newer one", "Suspect shop"]
    response = client_as(world.coordinator).post(f"/intel/{report.id}/pin", data={"pinned": "1"})
    assert response.status_code == 303
    assert _fresh(db, report).pinned is True
    board = reader.get(BOARD).text
    assert _titles(board) == ["Suspect shop", "Newest one", "Newer one"]
    assert '<span class="badge">Pinned</span>' in board
    client_as(world.coordinator).post(f"/intel/{report.id}/pin", data={"pinned": "0"})
    assert _fresh(db, report).pinned is False
    assert _titles(reader.get(BOARD).text) == ["Newest one", "Newer one", "Suspect shop"]


def test_pin_button_says_what_it_will_do(
    world: World, client_as: ClientAs, report: IntelReport
) -> None:
    """The coordinator's button offers to pin, then to unpin."""
    coordinator = client_as(world.coordinator)
    assert "Pin to the top</button>" in coordinator.get(f"/intel/{report.id}").text
    coordinator.post(f"/intel/{report.id}/pin", data={"pinned": "1"})
    assert "Unpin</button>" in coordinator.get(f"/intel/{report.id}").text


# --- merge -------------------------------------------------------------------------------


def test_merge_keeps_the_duplicates_page_and_leaves_the_board(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """A merged duplicate leaves the board, keeps its own page leading to the kept report,
    and its author is told."""
    duplicate = make_report(db, world.member_b, world.apparel, Tlp.green, title="Same shop again")
    response = client_as(world.coordinator).post(
        f"/intel/{duplicate.id}/merge", data={"into": str(report.id)}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/intel/{report.id}"
    assert _fresh(db, duplicate).merged_into_id == report.id
    reader = client_as(world.member_c)
    assert _titles(reader.get(BOARD).text) == ["Suspect shop"]
    page = reader.get(f"/intel/{duplicate.id}")
    assert page.status_code == 200
    assert "<h1>Same shop again</h1>" in page.text
    assert f'Merged into <a href="/intel/{report.id}">Suspect shop</a>' in page.text
    assert _notes(db, world.member_b) == [
        "Your report “Same shop again” was merged into “Suspect shop”."
    ]
    assert (
        "Merge into report number"
        not in client_as(world.coordinator).get(f"/intel/{duplicate.id}").text
    )


def test_merge_refuses_another_groups_report(
    world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """A report of another working group is no merge target: 404, nothing changes."""
    toy = make_report(db, world.member_c, world.toys, Tlp.clear, title="Toy report")
    response = client_as(world.coordinator).post(
        f"/intel/{report.id}/merge", data={"into": str(toy.id)}
    )
    assert response.status_code == 404
    assert _fresh(db, report).merged_into_id is None


@pytest.mark.parametrize("target", ["itself", "merged", "missing"])
def test_merge_refuses_impossible_targets(
    target: str, world: World, db: Session, client_as: ClientAs, report: IntelReport
) -> None:
    """Merging into itself or into an already merged report is a conflict (409); into a
    report that does not exist, a 404."""
    keeper = make_report(db, world.member_b, world.apparel, Tlp.green, title="Keeper")
    merged = make_report(db, world.member_b, world.apparel, Tlp.green, title="Merged")
    merged.merged_into_id = keeper.id
    db.add(merged)
    db.commit()
    into = {"itself": report.id, "merged": merged.id, "missing": 999_999}[target]
    response = client_as(world.coordinator).post(
        f"/intel/{report.id}/merge", data={"into": str(into)}
    )
    assert response.status_code == (404 if target == "missing" else 409)
    assert _fresh(db, report).merged_into_id is None


# --- only coordinators -------------------------------------------------------------------

ACTIONS = [
    ("hide", {"reason": "Because"}),
    ("unhide", {}),
    ("pin", {"pinned": "1"}),
    ("merge", {"into": "OTHER"}),
]


@pytest.mark.parametrize(("action", "form"), ACTIONS, ids=[a for a, _ in ACTIONS])
@pytest.mark.parametrize("who", ["member_a", "admin_a", "member_b", "member_c", "alliance_admin"])
def test_only_coordinators_moderate(
    action: str,
    form: dict[str, str],
    who: str,
    world: World,
    db: Session,
    client_as: ClientAs,
    report: IntelReport,
) -> None:
    """The author, brand admins, other brands and alliance admins get 403 on every
    moderation action of a report they can read; nothing changes."""
    other = make_report(db, world.member_b, world.apparel, Tlp.green, title="Other")
    data = {key: str(other.id) if value == "OTHER" else value for key, value in form.items()}
    response = client_as(getattr(world, who)).post(f"/intel/{report.id}/{action}", data=data)
    assert response.status_code == 403
    after = _fresh(db, report)
    assert (after.hidden_reason, after.pinned, after.merged_into_id) == ("", False, None)
    assert _notes(db, world.member_a) == []


@pytest.mark.parametrize(("action", "form"), ACTIONS, ids=[a for a, _ in ACTIONS])
def test_coordinator_of_another_group_may_not_moderate(
    action: str,
    form: dict[str, str],
    world: World,
    db: Session,
    client_as: ClientAs,
    report: IntelReport,
) -> None:
    """Coordinating the toys group gives no say over the apparel board."""
    toys_coordinator = factories.make_person(db, world.secretariat, name="Toby Toys")
    factories.appoint(db, world.toys, toys_coordinator)
    other = make_report(db, world.member_b, world.apparel, Tlp.green, title="Other")
    db.commit()
    data = {key: str(other.id) if value == "OTHER" else value for key, value in form.items()}
    response = client_as(toys_coordinator).post(f"/intel/{report.id}/{action}", data=data)
    assert response.status_code == 403
    after = _fresh(db, report)
    assert (after.hidden_reason, after.pinned, after.merged_into_id) == ("", False, None)


@pytest.mark.parametrize(("action", "form"), ACTIONS, ids=[a for a, _ in ACTIONS])
def test_moderating_an_unreadable_report_is_404(
    action: str, form: dict[str, str], world: World, db: Session, client_as: ClientAs
) -> None:
    """Someone the report is not shared with is told it does not exist, not forbidden."""
    amber = make_report(db, world.member_a, world.apparel, Tlp.amber, title="Amber secret")
    other = make_report(db, world.member_a, world.apparel, Tlp.green, title="Other")
    data = {key: str(other.id) if value == "OTHER" else value for key, value in form.items()}
    response = client_as(world.member_c).post(f"/intel/{amber.id}/{action}", data=data)
    assert response.status_code == 404
    assert "Amber secret" not in response.text
