"""The TLP canary matrix over the boards' newer ways out: evidence files, search and its
CSV, indicator pages, correlation counts, board and report exports, the print page and
notifications. Each report carries a unique canary string; it must show wherever its
report may be read, and nowhere else."""

import json
import re
import uuid
from dataclasses import dataclass

import pytest
import stix2
from sqlalchemy import Connection
from sqlmodel import Session

from hub.config import Settings
from hub.intel import discussion, evidence
from hub.intel.indicators import normalise
from hub.intel.models import Evidence, IntelReport, Tlp
from hub.members.models import Person
from tests.conftest import ClientAs, World
from tests.intel.factories import actor_of, make_report, picture

SHARED_SELLER = "Ways Out Shared Seller"
BOARD = "/groups/apparel-t/intel"

VIEWERS = (
    "author",  # member_a, brand A, who wrote every canary report
    "same_brand",  # admin_a, brand A
    "same_group",  # member_b, brand B, also in apparel
    "other_group",  # member_c, brand C, toys only; the one named on the TLP:RED report
    "coordinator",  # coordinates apparel
    "alliance_admin",
)
EVERYONE = frozenset({Tlp.clear, Tlp.green})
# ARCHITECTURE.md's sharing table: CLEAR/GREEN everyone; AMBER the group's brands, its
# coordinators and alliance admins; AMBER+STRICT the author's brand and the coordinators;
# RED the author and the people named.
MAY_READ: dict[str, frozenset[Tlp]] = {
    "author": frozenset(Tlp),
    "same_brand": EVERYONE | {Tlp.amber, Tlp.amber_strict},
    "same_group": EVERYONE | {Tlp.amber},
    "other_group": EVERYONE | {Tlp.red},
    "coordinator": EVERYONE | {Tlp.amber, Tlp.amber_strict},
    "alliance_admin": EVERYONE | {Tlp.amber},
}


@dataclass
class Canaries:
    reports: dict[Tlp, IntelReport]
    strings: dict[Tlp, str]
    files: dict[Tlp, Evidence]
    pictures: dict[Tlp, bytes]
    probe: IntelReport  # TLP:CLEAR, by member_b, naming the seller every canary names
    viewers: dict[str, Person]

    def shown(self, text: str) -> frozenset[Tlp]:
        """The markings whose canary appears in `text`."""
        return frozenset(tlp for tlp, canary in self.strings.items() if canary in text)

    def readable(self, viewer: str) -> frozenset[Tlp]:
        return MAY_READ[viewer]


@pytest.fixture(scope="module")
def shared_canaries(module_db: Session, module_world: World, shared_uploads: Settings) -> Canaries:
    """Built once for the module: each test runs in a savepoint of it (see `connection`)."""
    return _build_canaries(module_db, module_world, shared_uploads)


@pytest.fixture
def connection(shared_canaries: Canaries, savepoint: Connection) -> Connection:
    """Every test starts from the shared world and canaries, and its changes are undone."""
    return savepoint


@pytest.fixture
def canaries(shared_canaries: Canaries, uploads_copy: Settings) -> Canaries:
    """The shared canaries, their files served from this test's own copy."""
    return shared_canaries


def _build_canaries(db: Session, world: World, own: Settings) -> Canaries:
    author = actor_of(db, world.member_a)
    viewers = {
        "author": world.member_a,
        "same_brand": world.admin_a,
        "same_group": world.member_b,
        "other_group": world.member_c,
        "coordinator": world.coordinator,
        "alliance_admin": world.alliance_admin,
    }
    # The unique part starts with a letter: PostgreSQL reads a query word such as
    # "344e59..." as a number in scientific notation and would not find it.
    strings = {tlp: f"canary-{tlp.replace('_', '-')}-k{uuid.uuid4().hex[:16]}" for tlp in Tlp}
    reports: dict[Tlp, IntelReport] = {}
    files: dict[Tlp, Evidence] = {}
    pictures: dict[Tlp, bytes] = {}
    mentions = " ".join("@" + p.email.partition("@")[0] for p in viewers.values())
    for tlp, canary in strings.items():
        report = make_report(
            db,
            world.member_a,
            world.apparel,
            tlp,
            title=f"{canary} fake trainers",
            body=f"Seen in a warehouse. {canary}",
            indicators=[("shop_name", SHARED_SELLER), ("domain", f"{canary}.example")],
            recipients=[world.member_c] if tlp == Tlp.red else [],
        )
        pictures[tlp] = picture(canary)
        upload = evidence.Upload(f"{tlp}.png", pictures[tlp])
        [files[tlp]] = evidence.attach(db, own, author, report, [evidence.check(own, upload)])
        db.commit()
        # Tells every viewer who may read the report that they were mentioned on it.
        discussion.add_comment(db, author, report, f"{mentions} have a look", None)
        reports[tlp] = report
    # Its author hears of each matching canary report they may read; member_a of the probe.
    probe = make_report(
        db,
        world.member_b,
        world.apparel,
        Tlp.clear,
        title="Probe naming the same seller",
        indicators=[("shop_name", SHARED_SELLER)],
    )
    db.commit()
    return Canaries(reports, strings, files, pictures, probe, viewers)


def _counts(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"also named in (\d+) other reports?", html)]


# --- evidence ----------------------------------------------------------------------------


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("suffix", ["", "/thumbnail"], ids=["file", "thumbnail"])
def test_evidence_only_to_readers(
    viewer: str, suffix: str, canaries: Canaries, client_as: ClientAs
) -> None:
    """Each report's picture (and thumbnail) is served to its readers, 404 to everyone
    else, whatever the marking."""
    browser = client_as(canaries.viewers[viewer])
    for tlp, item in canaries.files.items():
        response = browser.get(f"/evidence/{item.id}{suffix}")
        if tlp in canaries.readable(viewer):
            assert response.status_code == 200, tlp
            assert response.headers["content-type"].startswith("image/"), tlp
            if not suffix:
                assert response.content == canaries.pictures[tlp], tlp
        else:
            assert response.status_code == 404, tlp
            assert response.headers["content-type"].startswith("text/html"), tlp
            assert canaries.shown(response.text) == frozenset(), tlp
            assert item.filename not in response.text


# --- search ------------------------------------------------------------------------------


@pytest.mark.parametrize("viewer", VIEWERS)
def test_search_results_only_readable(viewer: str, canaries: Canaries, client_as: ClientAs) -> None:
    """A word of every canary report finds exactly the readable ones."""
    response = client_as(canaries.viewers[viewer]).get("/intel/search", params={"q": "warehouse"})
    assert response.status_code == 200
    assert canaries.shown(response.text) == canaries.readable(viewer)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_search_for_each_canary(viewer: str, canaries: Canaries, client_as: ClientAs) -> None:
    """Searching a report's unique word finds it for its readers and nothing for others,
    through the page and through htmx."""
    browser = client_as(canaries.viewers[viewer])
    for tlp, canary in canaries.strings.items():
        word = canary.rsplit("-", 1)[1]
        expected = {tlp} if tlp in canaries.readable(viewer) else set()
        page = browser.get("/intel/search", params={"q": word}).text
        assert canaries.shown(page) == expected, tlp
        fragment = browser.get(
            "/intel/search", params={"q": word}, headers={"HX-Request": "true"}
        ).text
        assert canaries.shown(fragment) == expected, tlp
        assert ("0 results" in page) == (not expected), tlp


@pytest.mark.parametrize("viewer", VIEWERS)
def test_search_by_indicator_value_only_readable(
    viewer: str, canaries: Canaries, client_as: ClientAs
) -> None:
    """The shared seller's name finds the probe and the readable canary reports only."""
    response = client_as(canaries.viewers[viewer]).get(
        "/intel/search", params={"q": "Ways Out Shared Seller"}
    )
    assert canaries.shown(response.text) == canaries.readable(viewer)
    assert "Probe naming the same seller" in response.text


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("tlp_filter", list(Tlp))
def test_search_filtered_by_marking(
    viewer: str, tlp_filter: Tlp, canaries: Canaries, client_as: ClientAs
) -> None:
    """Filtering search on a marking never lets an unreadable report through."""
    response = client_as(canaries.viewers[viewer]).get(
        "/intel/search", params={"q": "warehouse", "tlp": tlp_filter}
    )
    expected = {tlp_filter} if tlp_filter in canaries.readable(viewer) else set()
    assert canaries.shown(response.text) == expected


@pytest.mark.parametrize("viewer", VIEWERS)
def test_search_csv_only_readable(viewer: str, canaries: Canaries, client_as: ClientAs) -> None:
    """The search CSV holds the readable reports only."""
    response = client_as(canaries.viewers[viewer]).get(
        "/intel/search/export.csv", params={"q": "warehouse"}
    )
    assert response.status_code == 200
    assert canaries.shown(response.text) == canaries.readable(viewer)


# --- indicators and correlation ----------------------------------------------------------


@pytest.mark.parametrize("viewer", VIEWERS)
def test_indicator_page_only_readable(viewer: str, canaries: Canaries, client_as: ClientAs) -> None:
    """The shared seller's page lists the readable canary reports and the probe."""
    response = client_as(canaries.viewers[viewer]).get(
        "/intel/indicators",
        params={"kind": "shop_name", "value": normalise("shop_name", SHARED_SELLER)},
    )
    assert response.status_code == 200
    assert canaries.shown(response.text) == canaries.readable(viewer)
    assert "Probe naming the same seller" in response.text


@pytest.mark.parametrize("viewer", VIEWERS)
def test_indicator_page_of_a_reports_own_value(
    viewer: str, canaries: Canaries, client_as: ClientAs
) -> None:
    """The page of a value only one report names lists it to its readers; to anyone else
    it is the page of a value nobody reported."""
    browser = client_as(canaries.viewers[viewer])
    for tlp, canary in canaries.strings.items():
        html = browser.get(
            "/intel/indicators", params={"kind": "domain", "value": f"{canary}.example"}
        ).text
        link = f'<a href="/intel/{canaries.reports[tlp].id}">'
        readable = tlp in canaries.readable(viewer)
        assert (link in html) == readable, tlp
        assert ("No report you may see names this value." in html) == (not readable), tlp
        assert (f"{canary} fake trainers" in html) == readable, tlp


@pytest.mark.parametrize("viewer", VIEWERS)
def test_correlation_count_on_the_probe(
    viewer: str, canaries: Canaries, client_as: ClientAs
) -> None:
    """On a report everyone reads, "also named in N other reports" counts only the reports
    naming the seller that the viewer may read, and names none of them."""
    html = client_as(canaries.viewers[viewer]).get(f"/intel/{canaries.probe.id}").text
    assert _counts(html) == [len(canaries.readable(viewer))]
    assert canaries.shown(html) == frozenset()


@pytest.mark.parametrize("viewer", VIEWERS)
def test_correlation_count_on_each_readable_report(
    viewer: str, canaries: Canaries, client_as: ClientAs
) -> None:
    """On each canary report the viewer reads, the seller's count is the other readable
    canary reports plus the probe; the canary's own domain correlates with nothing."""
    browser = client_as(canaries.viewers[viewer])
    readable = canaries.readable(viewer)
    for tlp in readable:
        html = browser.get(f"/intel/{canaries.reports[tlp].id}").text
        assert _counts(html) == [len(readable)], tlp
        assert canaries.shown(html) == {tlp}, tlp


# --- board and report exports ------------------------------------------------------------


@pytest.mark.parametrize("viewer", VIEWERS)
def test_board_csv_only_readable(viewer: str, canaries: Canaries, client_as: ClientAs) -> None:
    """The board CSV holds exactly the readable canary reports (and the probe)."""
    response = client_as(canaries.viewers[viewer]).get(f"{BOARD}/export.csv")
    assert response.status_code == 200
    assert canaries.shown(response.text) == canaries.readable(viewer)
    assert "Probe naming the same seller" in response.text


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("tlp_filter", list(Tlp))
def test_board_csv_filtered_by_marking(
    viewer: str, tlp_filter: Tlp, canaries: Canaries, client_as: ClientAs
) -> None:
    """Asking the CSV for one marking never lets an unreadable report through."""
    response = client_as(canaries.viewers[viewer]).get(
        f"{BOARD}/export.csv", params={"tlp": tlp_filter}
    )
    expected = {tlp_filter} if tlp_filter in canaries.readable(viewer) else set()
    assert canaries.shown(response.text) == expected


@pytest.mark.parametrize("viewer", VIEWERS)
def test_board_stix_only_readable(viewer: str, canaries: Canaries, client_as: ClientAs) -> None:
    """The board's STIX bundle holds reports, observables and markings of the readable
    canary reports only."""
    response = client_as(canaries.viewers[viewer]).get(f"{BOARD}/export.stix.json")
    assert response.status_code == 200
    assert canaries.shown(response.text) == canaries.readable(viewer)
    bundle = stix2.parse(response.text, allow_custom=True)
    names = {o.name for o in bundle.objects if o["type"] == "report"}
    assert len(names) == len(canaries.readable(viewer)) + 1
    domains = {o.value for o in bundle.objects if o["type"] == "domain-name"}
    assert domains == {f"{canaries.strings[tlp]}.example" for tlp in canaries.readable(viewer)}


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("suffix", ["/export.stix.json", "/print"], ids=["stix", "print"])
def test_report_stix_and_print_only_to_readers(
    viewer: str, suffix: str, canaries: Canaries, client_as: ClientAs
) -> None:
    """A report's STIX export and its printable evidence pack answer 200 with the canary to
    its readers, and 404 without it to anyone else."""
    browser = client_as(canaries.viewers[viewer])
    for tlp, report in canaries.reports.items():
        response = browser.get(f"/intel/{report.id}{suffix}")
        readable = tlp in canaries.readable(viewer)
        assert response.status_code == (200 if readable else 404), tlp
        assert canaries.shown(response.text) == ({tlp} if readable else set()), tlp
        if readable and suffix == "/print":
            assert f'<img src="/evidence/{canaries.files[tlp].id}"' in response.text
        if readable and suffix == "/export.stix.json":
            assert json.loads(response.text)["type"] == "bundle"


# --- notifications -----------------------------------------------------------------------


@pytest.mark.parametrize("viewer", VIEWERS)
def test_notifications_name_exactly_the_readable_reports(
    viewer: str, canaries: Canaries, client_as: ClientAs
) -> None:
    """Everyone was mentioned on every canary report, and the probe matched them all: each
    viewer's notifications name the readable reports and no other."""
    browser = client_as(canaries.viewers[viewer])
    response = browser.get("/notifications")
    assert response.status_code == 200
    assert canaries.shown(response.text) == canaries.readable(viewer)
    # Each notification links to itself (opening it marks it read), then on to its report.
    leads_to = {
        browser.get(link).headers["location"]
        for link in set(re.findall(r'<a href="(/notifications/\d+)">', response.text))
    }
    linked = {tlp for tlp, report in canaries.reports.items() if f"/intel/{report.id}" in leads_to}
    # The author heard of each earlier canary report as the next was posted; none came
    # after the RED one.
    assert linked == canaries.readable(viewer) - ({Tlp.red} if viewer == "author" else set())


# --- a hidden report ---------------------------------------------------------------------

HIDDEN_READERS = frozenset({"author", "coordinator"})


@pytest.mark.parametrize("viewer", VIEWERS)
def test_hidden_clear_report_leaves_every_way_out(
    viewer: str, canaries: Canaries, client_as: ClientAs
) -> None:
    """Once a coordinator hides the TLP:CLEAR report, only its author and the coordinators
    still reach it through any way out."""
    report = canaries.reports[Tlp.clear]
    hide = client_as(canaries.viewers["coordinator"]).post(
        f"/intel/{report.id}/hide", data={"reason": "Names a private person"}
    )
    assert hide.status_code == 303
    browser = client_as(canaries.viewers[viewer])
    sees = viewer in HIDDEN_READERS
    expected = canaries.readable(viewer) if sees else canaries.readable(viewer) - {Tlp.clear}
    for path, params in [
        ("/intel/search", {"q": "warehouse"}),
        ("/intel/search/export.csv", {"q": "warehouse"}),
        (f"{BOARD}/export.csv", {}),
        (f"{BOARD}/export.stix.json", {}),
        (
            "/intel/indicators",
            {"kind": "shop_name", "value": normalise("shop_name", SHARED_SELLER)},
        ),
    ]:
        assert canaries.shown(browser.get(path, params=params).text) == expected, path
    for path in (
        f"/intel/{report.id}/print",
        f"/intel/{report.id}/export.stix.json",
        f"/evidence/{canaries.files[Tlp.clear].id}",
        f"/evidence/{canaries.files[Tlp.clear].id}/thumbnail",
    ):
        assert browser.get(path).status_code == (200 if sees else 404), path
    probe = browser.get(f"/intel/{canaries.probe.id}").text
    assert _counts(probe) == [len(expected)]
