"""The TLP table of ARCHITECTURE.md on every way out: one report per marking, each carrying
a unique canary string, read by every kind of viewer. A canary must show wherever its
report is readable and nowhere else."""

import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import Connection
from sqlmodel import Session, col, select

from hub.config import Settings
from hub.intel import evidence, service
from hub.intel.indicators import normalise
from hub.intel.models import Evidence, IntelReport, Tlp
from hub.members.models import Person
from hub.notify.models import Notification
from tests import factories
from tests.conftest import ClientAs, World
from tests.intel.factories import actor_of, make_report, picture

SHARED_SELLER = "Canary Counterfeit Outlet"

VIEWERS = (
    "author",  # member_a of brand A, who posted every report
    "same_brand",  # admin_a, brand A
    "same_group",  # member_b, brand B, also in apparel
    "other_group",  # member_c, brand C, in toys only
    "coordinator",  # secretariat staff coordinating apparel
    "alliance_admin",
    "recipient",  # a person of brand C, named on the TLP:RED report
)

ALL = frozenset(Tlp)
EVERYONE = frozenset({Tlp.clear, Tlp.green})
# Which markings each viewer may read, per ARCHITECTURE.md; alliance admins are given
# TLP:AMBER by hub.policy (never AMBER+STRICT or RED).
MAY_READ: dict[str, frozenset[Tlp]] = {
    "author": ALL,
    "same_brand": EVERYONE | {Tlp.amber, Tlp.amber_strict},
    "same_group": EVERYONE | {Tlp.amber},
    "other_group": EVERYONE,
    "coordinator": EVERYONE | {Tlp.amber, Tlp.amber_strict},
    "alliance_admin": EVERYONE | {Tlp.amber},
    "recipient": EVERYONE | {Tlp.red},
}


@dataclass
class Canaries:
    reports: dict[Tlp, IntelReport]
    strings: dict[Tlp, str]
    probe: IntelReport  # TLP:CLEAR, by member_b, naming the same seller as every canary report
    viewers: dict[str, Person]
    files: dict[Tlp, Evidence]  # a picture attached to each canary report

    def shown(self, text: str) -> frozenset[Tlp]:
        """The markings whose canary appears in `text`."""
        return frozenset(tlp for tlp, canary in self.strings.items() if canary in text)


@pytest.fixture(scope="module")
def shared_canaries(module_db: Session, module_world: World, shared_uploads: Settings) -> Canaries:
    """Built once for the module: each test runs in a savepoint of it (see `connection`)."""
    return _build_canaries(module_db, module_world, shared_uploads)


@pytest.fixture
def connection(shared_canaries: Canaries, savepoint: Connection) -> Connection:
    """Every test starts from the shared world and canaries, and its changes are undone."""
    return savepoint


@pytest.fixture
def world(module_world: World) -> World:
    """The world the canaries were built in, not a second one."""
    return module_world


@pytest.fixture
def canaries(shared_canaries: Canaries, uploads_copy: Settings) -> Canaries:
    """The shared canaries, their files served from this test's own copy."""
    return shared_canaries


def _build_canaries(db: Session, world: World, upload_settings: Settings) -> Canaries:
    recipient = factories.make_person(db, world.brand_c, name="Rita Recipient")
    strings = {tlp: f"CANARY-{tlp}-{uuid.uuid4().hex}" for tlp in Tlp}
    reports: dict[Tlp, IntelReport] = {}
    author = actor_of(db, world.member_a)
    for tlp, canary in strings.items():
        report = make_report(
            db,
            world.member_a,
            world.apparel,
            tlp,
            title=f"{canary} fake trainers",
            body=f"Seen in a warehouse. {canary}",
            indicators=[("shop_name", SHARED_SELLER), ("phone", "+86 138 0013 8000")],
            recipients=[recipient] if tlp == Tlp.red else [],
        )
        # One edit, so the versions page has an earlier version carrying the canary too.
        form = service.form_of(db, report)
        form.body_md = f"Seen in a warehouse and online. {canary}"
        reports[tlp] = service.update_report(db, author, report, form)
    files = {
        tlp: evidence.attach(
            db,
            upload_settings,
            author,
            report,
            [evidence.check(upload_settings, evidence.Upload(f"{tlp}.png", picture(tlp)))],
        )[0]
        for tlp, report in reports.items()
    }
    probe = make_report(
        db,
        world.member_b,
        world.apparel,
        Tlp.clear,
        title="Probe naming the same seller",
        indicators=[("shop_name", SHARED_SELLER)],
    )
    viewers = {
        "author": world.member_a,
        "same_brand": world.admin_a,
        "same_group": world.member_b,
        "other_group": world.member_c,
        "coordinator": world.coordinator,
        "alliance_admin": world.alliance_admin,
        "recipient": recipient,
    }
    db.commit()
    return Canaries(reports, strings, probe, viewers, files)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_board_lists_exactly_the_readable_reports(
    viewer: str, canaries: Canaries, client_as: ClientAs
) -> None:
    """The apparel board carries the canary of each report the viewer may read, no other."""
    response = client_as(canaries.viewers[viewer]).get("/groups/apparel-t/intel")
    assert response.status_code == 200
    assert canaries.shown(response.text) == MAY_READ[viewer]


@pytest.mark.parametrize("viewer", VIEWERS)
def test_board_filtered_by_marking_shows_nothing_unreadable(
    viewer: str, canaries: Canaries, client_as: ClientAs
) -> None:
    """Filtering the board on a marking the viewer may not read lists none of it."""
    browser = client_as(canaries.viewers[viewer])
    for tlp in Tlp:
        response = browser.get(f"/groups/apparel-t/intel?tlp={tlp}")
        assert response.status_code == 200
        expected = {tlp} if tlp in MAY_READ[viewer] else set()
        assert canaries.shown(response.text) == expected, tlp


@pytest.mark.parametrize("viewer", VIEWERS)
def test_other_groups_board_shows_no_canary(
    viewer: str, canaries: Canaries, client_as: ClientAs
) -> None:
    """The toys board never lists the apparel reports, whatever their marking."""
    response = client_as(canaries.viewers[viewer]).get("/groups/toys-t/intel")
    assert response.status_code == 200
    assert canaries.shown(response.text) == frozenset()


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("suffix", ["", "/versions", "/print", "/export.stix.json"])
def test_report_pages_open_only_to_readers(
    viewer: str, suffix: str, canaries: Canaries, client_as: ClientAs
) -> None:
    """A report, its versions, its printable evidence pack and its STIX export answer 200
    with the canary to a reader, 404 without it to anyone else."""
    browser = client_as(canaries.viewers[viewer])
    for tlp, report in canaries.reports.items():
        response = browser.get(f"/intel/{report.id}{suffix}")
        readable = tlp in MAY_READ[viewer]
        assert response.status_code == (200 if readable else 404), tlp
        assert canaries.shown(response.text) == ({tlp} if readable else set()), tlp


@pytest.mark.parametrize("viewer", VIEWERS)
def test_versions_page_keeps_the_earlier_body_for_readers(
    viewer: str, canaries: Canaries, client_as: ClientAs
) -> None:
    """The earlier version (before the edit) is on the versions page of readable reports."""
    browser = client_as(canaries.viewers[viewer])
    for tlp in MAY_READ[viewer]:
        text = browser.get(f"/intel/{canaries.reports[tlp].id}/versions").text
        assert f"Seen in a warehouse. {canaries.strings[tlp]}" in text, tlp


@pytest.mark.parametrize("viewer", VIEWERS)
def test_indicator_page_lists_only_readable_reports(
    viewer: str, canaries: Canaries, client_as: ClientAs
) -> None:
    """The page of the shared seller names the readable reports and no other."""
    value = normalise("shop_name", SHARED_SELLER)
    response = client_as(canaries.viewers[viewer]).get(
        "/intel/indicators", params={"kind": "shop_name", "value": value}
    )
    assert response.status_code == 200
    assert canaries.shown(response.text) == MAY_READ[viewer]
    assert "Probe naming the same seller" in response.text


@pytest.mark.parametrize("viewer", VIEWERS)
def test_correlation_count_counts_only_readable_reports(
    viewer: str, canaries: Canaries, client_as: ClientAs
) -> None:
    """On the probe (readable by all), "also named in N other reports" counts what the
    viewer may read."""
    text = client_as(canaries.viewers[viewer]).get(f"/intel/{canaries.probe.id}").text
    count = len(MAY_READ[viewer])
    assert f"also named in {count} other reports" in text
    assert canaries.shown(text) == frozenset()


@pytest.mark.parametrize("viewer", VIEWERS)
def test_notifications_name_only_readable_reports(
    viewer: str, canaries: Canaries, client_as: ClientAs
) -> None:
    """The probe's author hears of the matching reports they may read; the canary reports'
    author hears of all their own; nobody's notifications carry a canary they may not read."""
    shown = canaries.shown(client_as(canaries.viewers[viewer]).get("/notifications").text)
    if viewer == "same_group":  # member_b posted the probe
        assert shown == MAY_READ[viewer]
    elif viewer == "author":
        assert shown == ALL
    else:
        assert shown <= MAY_READ[viewer]


HIDDEN_READERS = {"author": True, "coordinator": True}


@pytest.mark.parametrize("viewer", VIEWERS)
def test_hidden_report_is_left_to_author_and_coordinators(
    viewer: str, canaries: Canaries, db: Session, client_as: ClientAs
) -> None:
    """A TLP:CLEAR report hidden by a coordinator is readable only by its author and the
    group's coordinators, on the board, its page and the indicator page."""
    # Changed through this test's session: the shared object stays as it was built.
    report = db.get(IntelReport, canaries.reports[Tlp.clear].id)
    assert report is not None
    report.hidden_reason = "Duplicate of an older report."
    db.add(report)
    db.commit()
    canary = canaries.strings[Tlp.clear]
    readable = HIDDEN_READERS.get(viewer, False)
    browser = client_as(canaries.viewers[viewer])
    page = browser.get(f"/intel/{report.id}")
    assert page.status_code == (200 if readable else 404)
    assert (canary in page.text) == readable
    assert ("Duplicate of an older report." in page.text) == readable
    assert (canary in browser.get("/groups/apparel-t/intel").text) == readable
    value = normalise("shop_name", SHARED_SELLER)
    listing = browser.get("/intel/indicators", params={"kind": "shop_name", "value": value})
    assert (canary in listing.text) == readable


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("suffix", ["", "/thumbnail"])
def test_evidence_files_open_only_to_readers(
    viewer: str, suffix: str, canaries: Canaries, client_as: ClientAs
) -> None:
    """A report's picture (and its thumbnail) is served to its readers, a 404 to others."""
    browser = client_as(canaries.viewers[viewer])
    for tlp, item in canaries.files.items():
        response = browser.get(f"/evidence/{item.id}{suffix}")
        readable = tlp in MAY_READ[viewer]
        assert response.status_code == (200 if readable else 404), tlp
        assert response.headers["content-type"].startswith("image/") == readable, tlp


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("path", ["/intel/search", "/intel/search/export.csv"])
def test_search_finds_only_readable_reports(
    viewer: str, path: str, canaries: Canaries, client_as: ClientAs
) -> None:
    """Searching a word of every canary report (and its CSV) finds only the readable ones."""
    response = client_as(canaries.viewers[viewer]).get(path, params={"q": "warehouse"})
    assert response.status_code == 200
    assert canaries.shown(response.text) == MAY_READ[viewer]


@pytest.mark.parametrize("viewer", VIEWERS)
def test_search_for_a_canary_itself_finds_only_readable_reports(
    viewer: str, canaries: Canaries, client_as: ClientAs
) -> None:
    """Searching for the unique string of a report finds it only for its readers (the
    page repeats the query, so only the result list is looked at)."""
    browser = client_as(canaries.viewers[viewer])
    for tlp, canary in canaries.strings.items():
        text = browser.get("/intel/search", params={"q": canary}).text
        results = text.split('<ul class="report-list">', 1)[1].split("</ul>", 1)[0]
        readable = tlp in MAY_READ[viewer]
        assert canaries.shown(results) == ({tlp} if readable else set()), tlp
        assert (f"1 result for “{canary}”" in text) == readable, tlp


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("export", ["export.csv", "export.stix.json"])
def test_board_exports_carry_only_readable_reports(
    viewer: str, export: str, canaries: Canaries, client_as: ClientAs
) -> None:
    """The board's CSV and STIX exports hold the readable reports and no other."""
    response = client_as(canaries.viewers[viewer]).get(f"/groups/apparel-t/intel/{export}")
    assert response.status_code == 200
    assert canaries.shown(response.text) == MAY_READ[viewer]


def _merge(client_as: ClientAs, world: World, duplicate: IntelReport, into: IntelReport) -> int:
    response = client_as(world.coordinator).post(
        f"/intel/{duplicate.id}/merge", data={"into": str(into.id)}
    )
    return response.status_code


def test_coordinator_cannot_merge_into_a_report_they_may_not_read(
    canaries: Canaries, world: World, db: Session, client_as: ClientAs
) -> None:
    """Merging into a TLP:RED report the coordinator was not given answers 404, changes
    nothing, and tells nobody its title."""
    duplicate = make_report(db, world.member_b, world.apparel, Tlp.clear, title="A duplicate")
    assert _merge(client_as, world, duplicate, canaries.reports[Tlp.red]) == 404
    db.expire_all()
    assert db.get(IntelReport, duplicate.id).merged_into_id is None  # type: ignore[union-attr]
    readers = {canaries.viewers["author"].id, canaries.viewers["recipient"].id}
    texts = db.exec(
        select(Notification.text).where(col(Notification.person_id).not_in(readers))
    ).all()
    assert texts, "the merge test expects other notifications to look through"
    assert not any(canaries.strings[Tlp.red] in text for text in texts)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_merged_report_does_not_reveal_what_it_was_merged_into(
    viewer: str, canaries: Canaries, world: World, db: Session, client_as: ClientAs
) -> None:
    """A TLP:CLEAR duplicate merged into a TLP:AMBER+STRICT report names the kept report
    (on its page and in its author's notification) only to those who may read it."""
    duplicate = make_report(db, world.member_b, world.apparel, Tlp.clear, title="A duplicate")
    assert _merge(client_as, world, duplicate, canaries.reports[Tlp.amber_strict]) == 303
    browser = client_as(canaries.viewers[viewer])
    page = browser.get(f"/intel/{duplicate.id}")
    assert page.status_code == 200
    expected = {Tlp.amber_strict} if Tlp.amber_strict in MAY_READ[viewer] else set()
    assert canaries.shown(page.text) == expected
    assert "Merged into" in page.text
    shown = canaries.shown(browser.get("/notifications").text)
    assert shown <= MAY_READ[viewer]
