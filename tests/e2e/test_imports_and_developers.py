"""Bulk import, the Developers pages and notifications in a real browser: a member imports
a monitoring tool's CSV of thousands of listings into a board and reads the summary (and
an all-or-nothing import with a wrong line leaves the board as it was); a member makes an
API token on the page and posts through the live API with it, then revokes it; a brand
admin adds a webhook, sends a test event and checks its signature; and a notification is
marked read in place."""

import csv
import hashlib
import hmac
import io
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import col, func, select

from hub import i18n
from hub.api.webhook_delivery import deliver_webhooks
from hub.demo import BRANDS
from hub.groups.models import GroupMembership, WorkingGroup
from hub.intel.models import ImportJob, IntelReport
from hub.members.models import Brand, Person, Role
from hub.notify.models import Notification
from tests.e2e.conftest import clear_login_rate_limits
from tests.e2e.people import People
from tests.live import LiveHub

GROUP = "home-appliances"  # a board no other browser test writes to
DEMO_BRANDS = {spec.slug for spec in BRANDS}  # brands signing in through the dev provider
ROWS = 3_000
BAD_ROW = 1_234  # its listing address is no web address
SHARED_EVERY = 300  # rows 5, 6 and 7 of every 300 share a seller: one report, two merged
IMPORT_TIMEOUT_MS = 50_000  # the big import takes 5-10 s here; its summary shows within this
UNFINISHED = ("Starting", "Checking", "Saving")


@pytest.fixture(scope="module")
def people(browser: Browser, hub: LiveHub) -> People:
    clear_login_rate_limits(hub)
    return People(browser, hub)


@dataclass(frozen=True)
class Cast:
    group_name: str
    member: str  # a member of the first demo brand in GROUP: imports, makes tokens
    member_name: str
    follower: str  # a member of another brand in GROUP
    brand_admin: str  # the admin of a demo brand outside GROUP: webhooks


@pytest.fixture(scope="module")
def cast(hub: LiveHub) -> Cast:
    with hub.session() as session:
        group = session.exec(select(WorkingGroup).where(WorkingGroup.slug == GROUP)).one()
        in_group = select(GroupMembership.brand_id).where(GroupMembership.group_id == group.id)
        members = session.exec(
            select(Person.email, Person.name, Brand.id)
            .join(Brand, col(Brand.id) == Person.brand_id)
            .where(
                col(Brand.id).in_(in_group),
                col(Brand.slug).in_(DEMO_BRANDS),
                Person.role == Role.member,
                col(Person.is_active).is_(True),
            )
            .order_by(col(Brand.name), col(Person.id))
        ).all()
        admin = session.exec(
            select(Person.email)
            .join(Brand, col(Brand.id) == Person.brand_id)
            .where(
                col(Brand.id).not_in(in_group),
                col(Brand.slug).in_(DEMO_BRANDS),
                Person.role == Role.brand_admin,
                col(Person.is_active).is_(True),
            )
            .order_by(col(Brand.name), col(Person.id))
        ).first()
    first_brand = members[0][2]
    follower = next(email for email, _, brand_id in members if brand_id != first_brand)
    assert admin is not None
    return Cast(group.name, members[0][0], members[0][1], follower, admin)


def board_count(hub: LiveHub, **where: str) -> int:
    """Reports on the group's board (with this marketplace, if given)."""
    with hub.session() as session:
        group_id = select(WorkingGroup.id).where(WorkingGroup.slug == GROUP).scalar_subquery()
        query = (
            select(func.count()).select_from(IntelReport).where(IntelReport.group_id == group_id)
        )
        if "marketplace" in where:
            query = query.where(IntelReport.marketplace == where["marketplace"])
        return session.exec(query).one()


def filter_board(page: Page, marketplace: str) -> None:
    """On a board, filter by marketplace as a person would: the results are swapped in."""
    page.get_by_label("Marketplace", exact=True).fill(marketplace)
    with page.expect_response(
        lambda r: "marketplace=" in r.url and r.request.headers.get("hx-request") == "true"
    ) as answer:
        page.get_by_role("button", name="Filter").click()
    assert answer.value.status == 200, answer.value.status  # not 422 for the empty dates
    expect(page).to_have_url(re.compile(r"marketplace="))


# --- Bulk import ----------------------------------------------------------------------

# Records every state the import page shows (its first render and each htmx swap), with
# the progress bar's max and value, so the test sees progress however fast the import is.
RECORD_STATES = """
window.importStates = [];
const note = () => {
  const title = document.getElementById("status-title");
  if (!title) return;
  const bar = document.getElementById("import-progress");
  const state = [title.textContent.trim(), bar ? bar.max : null, bar ? bar.value : null];
  const last = window.importStates[window.importStates.length - 1];
  if (JSON.stringify(last) !== JSON.stringify(state)) window.importStates.push(state);
};
new MutationObserver(note).observe(document, {subtree: true, childList: true, characterData: true});
document.addEventListener("DOMContentLoaded", note);
"""


@dataclass
class MonitoringFile:
    """A monitoring tool's export, and what importing it must do, worked out here."""

    tag: str
    rows: list[dict[str, str]] = field(default_factory=list)
    bad_lines: dict[int, str] = field(default_factory=dict)  # line number: the bad value

    @property
    def marketplace(self) -> str:
        return f"Kettle market {self.tag}"

    def csv_bytes(self) -> bytes:
        out = io.StringIO()
        writer = csv.DictWriter(
            out, ["title", "marketplace", "listing_url", "seller_id"], lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(self.rows)
        return out.getvalue().encode()

    def expected(self) -> tuple[int, int]:
        """(new reports, entries merged): an entry naming a listing or seller an earlier
        entry named joins that entry's report; the bad ones are left out."""
        known: set[tuple[str, str]] = set()
        created = merged = 0
        for line, row in enumerate(self.rows, start=2):
            if line in self.bad_lines:
                continue
            keys = {("listing_url", row["listing_url"]), ("seller_id", row["seller_id"].lower())}
            if keys & known:
                merged += 1
            else:
                created += 1
            known |= keys
        return created, merged


def monitoring_file(count: int, bad_rows: tuple[int, ...]) -> MonitoringFile:
    file = MonitoringFile(secrets.token_hex(4))
    for number in range(count):
        seller = f"kettle-seller-{file.tag}-{number}"
        if number % SHARED_EVERY in (5, 6, 7):
            seller = f"shared-seller-{file.tag}-{number // SHARED_EVERY}"
        url = f"https://shop-{file.tag}.example/item/{number}"
        if number in bad_rows:
            url = f"not a shop {number}"
            file.bad_lines[number + 2] = url  # line 1 names the columns
        file.rows.append(
            {
                "title": f"Copied kettle {file.tag} #{number}",
                "marketplace": file.marketplace,
                "listing_url": url,
                "seller_id": seller,
            }
        )
    return file


def upload(page: Page, file: MonitoringFile, path: Path, mode: str) -> int:
    """From the board: "Import a file", choose it and the mode, import; the job's id."""
    page.goto(f"/groups/{GROUP}/intel")
    page.get_by_role("link", name="Import a file").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Import a file into the")
    path.write_bytes(file.csv_bytes())
    page.get_by_label("CSV or STIX 2.1 file").set_input_files(str(path))
    page.get_by_label(mode).check()
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page).to_have_url(re.compile(r"/imports/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def test_import_thousands_of_listings_with_one_left_out(
    people: People, cast: Cast, hub: LiveHub, tmp_path: Path
) -> None:
    """3,000 listings, sellers shared by a few: one report per seller, the rest merged
    into it, the wrong line left out and listed; the board shows the new reports."""
    file = monitoring_file(ROWS, (BAD_ROW,))
    created, merged = file.expected()
    assert (created, merged, len(file.bad_lines)) == (2979, 20, 1)  # what the file was made for
    [(bad_line, bad_value)] = file.bad_lines.items()
    before = board_count(hub)

    with people.page_of(cast.member) as page:
        page.add_init_script(RECORD_STATES)
        job_id = upload(page, file, tmp_path / "monitor-export.csv", "Import the others")
        expect(page.get_by_role("heading", level=1)).to_have_text("Import of monitor-export.csv")
        title = page.locator("#status-title")
        expect(title).to_have_text("Imported", timeout=IMPORT_TIMEOUT_MS)

        with i18n.presenting("en"):  # counts as the hub writes them in English: "2,979"
            created_text, merged_text = i18n.number(created), i18n.number(merged)
        summary = page.locator("ul.summary li")
        expect(summary).to_have_text(
            [
                f"{created_text} new reports",
                f"{merged_text} entries added to reports already on the board",
                "1 entry left out",
            ]
        )
        left_out = page.locator("table tbody tr")
        expect(left_out).to_have_count(1)
        expect(left_out.locator("td").nth(0)).to_have_text(f"line {bad_line}")
        expect(left_out.locator("td").nth(1)).to_contain_text(bad_value)

        # The progress the page showed on the way, if the import was slow enough to see it.
        states = page.evaluate("window.importStates")
        unfinished = [s for s in states if s[0].startswith(UNFINISHED)]
        assert states[-1][0] == "Imported", states
        for heading, bar_max, bar_value in unfinished:
            assert bar_max is not None, "an unfinished import shows a progress bar"
            if heading.startswith(("Checking", "Saving")):
                assert bar_max == ROWS, states
                assert 0 <= bar_value <= ROWS, states
            if heading.startswith("Saving"):
                assert bar_value == ROWS and heading == "Saving the checked entries…", states
        values = [s[2] for s in unfinished if s[0].startswith(("Checking", "Saving"))]
        assert values == sorted(values), f"progress went backwards: {states}"
        if unfinished and states[0][0].startswith(UNFINISHED):
            # Finished while the page polled: screen readers are told.
            expect(page.locator("#import-said")).to_have_text(
                f"The import is over: {created_text} new reports."
            )

        page.get_by_role("link", name="See the board").click()
        expect(page).to_have_url(re.compile(rf"/groups/{GROUP}/intel$"))
        filter_board(page, file.marketplace)
        cards = page.locator(".report-card")
        expect(cards).to_have_count(25)  # a page; newest first
        newest = file.rows[-1]["title"]
        expect(cards.first.locator(".card-title")).to_have_text(newest)
        expect(cards.first).to_contain_text(cast.member_name)
        expect(page.get_by_role("link", name="Older reports")).to_be_visible()

        # The first row of a shared seller holds its two followers' listings too.
        with hub.session() as session:
            shared = session.exec(
                select(IntelReport.id).where(
                    IntelReport.title == f"Copied kettle {file.tag} #{SHARED_EVERY + 5}"
                )
            ).one()
            followers = session.exec(
                select(func.count())
                .select_from(IntelReport)
                .where(col(IntelReport.title).in_([file.rows[i]["title"] for i in (306, 307)]))
            ).one()
        assert followers == 0, "merged entries make no report of their own"
        page.goto(f"/intel/{shared}")
        for number in (305, 306, 307):
            expect(page.get_by_text(f"shop-{file.tag}.example/item/{number}").first).to_be_visible()
        expect(page.get_by_text(f"shared-seller-{file.tag}-1").first).to_be_visible()

    assert board_count(hub, marketplace=file.marketplace) == created
    assert board_count(hub) == before + created
    with hub.session() as session:
        job = session.get(ImportJob, job_id)
        assert job is not None and job.content == "", "the file is not kept once imported"


def test_all_or_nothing_import_with_a_wrong_line_imports_nothing(
    people: People, cast: Cast, hub: LiveHub, tmp_path: Path
) -> None:
    file = monitoring_file(40, (17,))
    before = board_count(hub)

    with people.page_of(cast.member) as page:
        upload(page, file, tmp_path / "weekly.csv", "Import nothing, and list what to correct")
        expect(page.locator("#status-title")).to_have_text("Nothing was imported", timeout=20_000)
        expect(page.get_by_role("alert")).to_have_text(
            "1 of 40 entries were rejected, so nothing was imported. Correct them and import "
            "the file again."
        )
        rows = page.locator("table tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.locator("td").nth(0)).to_have_text("line 19")
        expect(rows.locator("td").nth(1)).to_contain_text("not a shop 17")
        expect(page.locator("ul.summary")).to_have_count(0)

        page.get_by_role("link", name="Board", exact=True).click()
        filter_board(page, file.marketplace)
        expect(page.get_by_text("No report matches")).to_be_visible()

    assert board_count(hub, marketplace=file.marketplace) == 0
    assert board_count(hub) == before


# --- Developers: API tokens -----------------------------------------------------------


def test_personal_token_posts_through_the_api_until_revoked(
    people: People, cast: Cast, hub: LiveHub
) -> None:
    name = f"Marketplace monitor {secrets.token_hex(3)}"
    title = f"Kettle lookalikes from the API {secrets.token_hex(3)}"
    marketplace = f"API market {secrets.token_hex(3)}"
    api = f"{hub.base_url}/api/v1"

    with people.page_of(cast.member) as page:
        page.get_by_role("link", name="Developers").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Developers")
        page.get_by_role("textbox", name="Name", exact=True).fill(name)
        page.get_by_label("Read, and post reports and sightings").check()
        page.get_by_role("button", name="Make the token").click()
        expect(page.get_by_role("heading", name="Your new token")).to_be_visible()
        token = page.get_by_label("Token", exact=True).input_value()
        assert re.fullmatch(r"hub_[A-Za-z0-9_-]{40,}", token), token
        row = page.locator("#tokens tr", has_text=name)
        expect(row).to_contain_text("Read and write")
        expect(row).to_contain_text("Never")

        auth = {"Authorization": f"Bearer {token}"}
        me = httpx.get(f"{api}/me", headers=auth, timeout=10)
        assert me.status_code == 200, me.text
        assert me.json()["email"] == cast.member
        assert (me.json()["scope"], me.json()["token_kind"]) == ("write", "personal")
        assert {
            "slug": GROUP,
            "name": cast.group_name,
            "member": True,
            "can_post": True,
        } in me.json()["groups"]

        posted = httpx.post(
            f"{api}/reports",
            headers=auth,
            timeout=10,
            json={
                "group": GROUP,
                "title": title,
                "body_md": "Posted by our monitoring tool.",
                "marketplace": marketplace,
                "tlp": "amber",
                "indicators": [
                    {"kind": "listing_url", "value": "https://kettles.example/item/42"},
                    {"kind": "seller_id", "value": f"api-seller-{secrets.token_hex(3)}"},
                ],
            },
        )
        assert posted.status_code == 201, posted.text
        report = posted.json()
        assert posted.headers["location"] == f"{api}/reports/{report['id']}"
        assert (report["group"], report["author"], report["title"]) == (
            GROUP,
            cast.member_name,
            title,
        )

        # On the board, in the browser.
        page.goto(f"/groups/{GROUP}/intel")
        filter_board(page, marketplace)
        cards = page.locator(".report-card")
        expect(cards).to_have_count(1)
        expect(cards.locator(".card-title")).to_have_text(title)
        expect(cards).to_contain_text("2 indicators")
        cards.get_by_role("link", name=title).click()
        expect(page).to_have_url(re.compile(rf"/intel/{report['id']}$"))

        # The token is shown once; its row now tells when it was used.
        page.goto("/developers")
        expect(page.locator("#new-token")).to_have_count(0)
        assert token not in page.content()
        row = page.locator("#tokens tr", has_text=name)
        expect(row).not_to_contain_text("Never")
        row.get_by_role("button", name=f"Revoke the token {name}", exact=True).click()
        expect(page.locator(".flash-success")).to_have_text(f"The token “{name}” no longer works.")
        expect(page.locator("#tokens tr", has_text=name)).to_contain_text("Revoked")

    refused = httpx.get(f"{api}/me", headers=auth, timeout=10)
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"].endswith("unauthenticated")
    again = httpx.post(f"{api}/reports", headers=auth, timeout=10, json={"group": GROUP})
    assert again.status_code == 401
    assert board_count(hub, marketplace=marketplace) == 1


# --- Developers: webhooks -------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@contextmanager
def receiver() -> Iterator[tuple[str, list[Received]]]:
    """A brand's tool listening on loopback: records each POST, answers 200."""
    received: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hub-events", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_webhook_test_event_arrives_signed_and_is_logged_delivered(
    people: People, cast: Cast, hub: LiveHub
) -> None:
    """The e2e hub runs no worker (tests/live.py serves uvicorn only), so the test makes
    the worker's delivery pass itself, against the live hub's database."""
    with receiver() as (url, received), people.page_of(cast.brand_admin) as page:
        page.get_by_role("link", name="Developers").click()
        page.get_by_role("link", name="Webhooks").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks")
        page.get_by_label("Address").fill(url)
        # Only verdicts: no report posted meanwhile queues anything for this webhook.
        page.get_by_role("checkbox", name=re.compile(r"report\.created")).uncheck()
        page.get_by_role("checkbox", name=re.compile(r"correlation")).uncheck()
        expect(page.get_by_role("checkbox", name=re.compile(r"purchase\.verdict"))).to_be_checked()
        page.get_by_role("button", name="Add the webhook").click()
        expect(page.get_by_role("heading", name="Signing secret")).to_be_visible()
        secret = page.get_by_label("Secret", exact=True).input_value()
        assert secret.startswith("whsec_") and len(secret) > 30
        row = page.locator("tr", has_text=url)
        expect(row).to_contain_text("purchase.verdict")
        expect(row).not_to_contain_text("report.created")

        row.get_by_role("link", name=url).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Deliveries to {url}")
        expect(page.get_by_text("Nothing was sent to this webhook yet.")).to_be_visible()
        page.get_by_role("button", name="Send a test event").click()
        expect(page.locator(".flash-success")).to_contain_text("A test event is on its way")
        log_row = page.locator("table tbody tr")
        expect(log_row).to_have_count(1)
        expect(log_row).to_contain_text("ping")
        expect(log_row).to_contain_text("Waiting to be sent")
        assert received == [], "nothing is sent before the worker runs"

        sent_at = int(time.time())
        assert deliver_webhooks(hub.session, hub.settings) >= 1

        [request] = received
        assert request.path == "/hub-events"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"].startswith("AllianceHub-Webhooks/")
        parts = dict(item.split("=", 1) for item in request.headers["hub-signature"].split(","))
        assert set(parts) == {"t", "v1"}
        assert abs(int(parts["t"]) - sent_at) < 60
        expected = hmac.new(
            secret.encode(), parts["t"].encode() + b"." + request.body, hashlib.sha256
        ).hexdigest()
        assert hmac.compare_digest(expected, parts["v1"])
        wrong = hmac.new(b"whsec_other", parts["t"].encode() + b"." + request.body, hashlib.sha256)
        assert not hmac.compare_digest(wrong.hexdigest(), parts["v1"])
        event = json.loads(request.body)
        assert event["type"] == "ping"
        assert event["data"] == {"message": "A test event from Alliance Hub."}
        assert re.fullmatch(r"[0-9a-f]{32}", event["id"])

        page.reload()
        expect(log_row).to_have_count(1)
        expect(log_row).to_contain_text("Delivered")
        expect(log_row).to_contain_text("HTTP 200")
        expect(log_row.locator("td").nth(3)).to_have_text("1")
        page.get_by_role("link", name="← Webhooks").click()
        counts = page.locator("tr", has_text=url).locator("td")
        expect(counts.nth(2)).to_have_text("1")  # delivered
        expect(counts.nth(3)).to_have_text("0")  # failing


# --- Notifications --------------------------------------------------------------------


def test_notification_is_marked_read_in_place(
    people: People, cast: Cast, hub: LiveHub, tmp_path: Path
) -> None:
    """Another brand follows the board and is told of an import; they mark it read
    without leaving the page."""
    with people.page_of(cast.follower) as page:
        page.goto(f"/groups/{GROUP}/intel")
        follow = page.locator("form[action$='/intel/follow'] button")
        if follow.get_attribute("aria-pressed") != "true":
            follow.click()
            expect(page.locator(".flash-success")).to_contain_text("You follow the")
        expect(follow).to_have_text("Following this board")

    file = monitoring_file(2, ())
    with people.page_of(cast.member) as page:
        upload(page, file, tmp_path / "two.csv", "Import the others")
        expect(page.locator("#status-title")).to_have_text("Imported", timeout=20_000)
    text = f"{cast.member_name} imported 2 reports into the {cast.group_name} board."

    with people.page_of(cast.follower) as page:
        page.get_by_role("link", name=re.compile(r"^Notifications: \d+ unread$")).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
        item = page.locator("li", has=page.get_by_role("link", name=text, exact=True))
        expect(item).to_have_count(1)
        expect(item.locator(".badge")).to_have_text("New")
        unread = page.locator(".badge", has_text="New").count()
        page.evaluate("window.stayedOnPage = true")

        # The button names its notification for screen readers ("Mark as read: ...").
        item.get_by_role("button", name=re.compile(rf"^Mark as read\W+{re.escape(text)}$")).click()
        expect(item.locator(".badge")).to_have_count(0)
        expect(item.get_by_role("button", name=re.compile("Mark as read"))).to_have_count(0)
        expect(item.get_by_role("link", name=text)).to_be_visible()
        expect(page.locator(".badge", has_text="New")).to_have_count(unread - 1)
        assert page.evaluate("window.stayedOnPage") is True  # swapped by htmx, no reload

        page.reload()
        expect(item.locator(".badge")).to_have_count(0)
        expect(item).not_to_have_class(re.compile(r"card-mine"))

    with hub.session() as session:
        stored = session.exec(select(Notification).where(Notification.text == text)).one()
        assert stored.read_at is not None
