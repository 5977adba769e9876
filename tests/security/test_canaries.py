"""Canary leak tests: every restricted thing of tests/security/canary_world.py carries a
unique string, and no response of the hub shows it to anyone who may not read it.

For each viewer (anonymous, each role, each brand's own tools) the tests ask for
everything: every GET route of the app, found by walking `app.routes` as the
authorization matrix does (so a new route is asked for without anyone adding it here),
its path filled with the ids of the restricted things and of visible ones beside them;
searches, board filters, indicator pages and exports with the canaries as the query; the
JSON API with the viewer's token; every unsafe route on the things the viewer may not
read; their own notifications one by one; and the e-mails and webhook deliveries that a
new matching report, a merge and the daily digests set off. Body and headers must not
hold a canary the viewer may not read, and no e-mail the words of a TLP:RED or
TLP:AMBER+STRICT report. Each canary is also shown to one of its readers where they
would look, so the tests cannot pass because it never got in.
"""

import base64
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Connection
from sqlmodel import Session, col, func, select

from hub import secretbox
from hub.api.models import TokenKind, Webhook, WebhookDelivery
from hub.auth.models import IdentityProvider
from hub.clock import utcnow
from hub.config import Settings
from hub.impact.figures import FIGURES
from hub.impact.sources import SOURCES
from hub.intel import moderation, service
from hub.intel.indicators import normalise
from hub.intel.models import ImportJob, Indicator, Tlp
from hub.notify.mailing import mail_instant, send_digests
from hub.notify.models import Notification, OutboxMail
from tests.api.factories import V1, api_client, token_for
from tests.conftest import ClientAs, World
from tests.intel.factories import actor_of
from tests.security.canary_world import (
    ANONYMOUS,
    PEOPLE,
    REPORT_CANARIES,
    SHARED_SELLER,
    TOOLS,
    Canary,
    CanaryWorld,
    Thing,
    build_canary_world,
)
from tests.test_authorization_matrix import _app_routes

# member_c reads what admin_c reads (same brand), and admin_c is shown more pages.
VIEWERS = (ANONYMOUS, *(name for name in PEOPLE if name != "member_c"))
# Personal tokens of brands A and B, the coordinator and the alliance, and every brand's
# tool: brand C's tool reads what its people read through the API.
API_VIEWERS = (ANONYMOUS, "admin_a", "member_b", "coordinator", "alliance_admin", *TOOLS)
BOARD = "/groups/apparel-t/intel"
HTMX = {"HX-Request": "true"}

# What each id in a route's path names; a route naming something else fails the walk
# until it is taught here what to put there.
PARAM_KINDS = {
    "report_id": "report",
    "evidence_id": "evidence",  # under /testbuys: a purchase's file (buy_evidence)
    "job_id": "job",
    "notification_id": "notification",
    "campaign_id": "campaign",
    "purchase_id": "purchase",
    "persona_id": "persona",
    "event_id": "event",
    "registration_id": "registration",
    "signup_id": "signup",
    "webhook_id": "webhook",
    "delivery_id": "delivery",
    "token_id": "token",
    "provider_id": "provider",
    "referral_id": "referral",
}


@pytest.fixture(scope="module")
def shared_world(
    module_db: Session, module_world: World, settings: Settings, shared_uploads: Settings
) -> CanaryWorld:
    """Built once for the module: each test runs in a savepoint of it (see `connection`)."""
    return build_canary_world(module_db, module_world, settings, shared_uploads)


@pytest.fixture
def connection(shared_world: CanaryWorld, savepoint: Connection) -> Connection:
    """Every test starts from the shared canaries, and its changes are undone."""
    return savepoint


@pytest.fixture
def world(module_world: World) -> World:
    return module_world


@pytest.fixture
def canaries(shared_world: CanaryWorld, uploads_copy: Settings) -> CanaryWorld:
    """The shared world, its evidence files served from this test's own copy."""
    return shared_world


# --- asking and looking ------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One request; what it sends in its query string may come back in the answer."""

    path: str
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def echoed(self) -> str:
        return " ".join(self.params.values())


def _readable_text(response: Response) -> str:
    """Body and headers as one lower-case text; iCalendar's folded lines joined again,
    so a canary cut by a fold is still found. Pictures are looked at by their headers."""
    headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
    kind = response.headers.get("content-type", "")
    body = "" if kind.startswith(("image/", "application/pdf")) else response.text
    return _unfolded(f"{body}\n{headers}")


def _unfolded(text: str) -> str:
    return re.sub(r"\r?\n[ \t]", "", text).lower()


def _leaks(text: str, forbidden: list[Canary], echoed: str = "") -> list[str]:
    return [
        f"{canary.name}: …{passage}…"
        for canary in forbidden
        if (passage := canary.leak_in(text, echoed)) is not None
    ]


def _ask_all(client: TestClient, probes: list[Probe], forbidden: list[Canary]) -> list[str]:
    """Send every probe; what leaked where, one line each. Never a server error."""
    found: list[str] = []
    with client:  # one event loop for all the requests, rather than one each
        for probe in probes:
            response = client.get(probe.path, params=probe.params, headers=probe.headers)
            where = f"GET {response.request.url} ({response.status_code})"
            assert response.status_code < 500, f"{where}: {response.text[:300]}"
            text = _readable_text(response)
            found += [f"{where} {leak}" for leak in _leaks(text, forbidden, probe.echoed)]
    return found


def _browser(app: FastAPI, client_as: ClientAs, canaries: CanaryWorld, viewer: str) -> TestClient:
    if viewer == ANONYMOUS:
        return TestClient(app, follow_redirects=False)
    return client_as(canaries.people[viewer])


# --- filling routes ----------------------------------------------------------------------


def _kind(param: str, template: str) -> str | None:
    kind = PARAM_KINDS.get(param)
    if kind == "evidence" and template.startswith("/testbuys/"):
        return "buy_evidence"
    return kind


def _values(param: str, template: str, canaries: CanaryWorld, viewer: str) -> list[str]:
    """Everything worth putting in one path parameter: the restricted things and the
    visible ones beside them."""
    world = canaries.world
    if param == "slug" and template.startswith("/brands/"):
        return [world.brand_a.slug, world.brand_c.slug]  # brand B is brand A's peer
    if param == "slug":
        return [world.apparel.slug, world.toys.slug]
    if param == "brand_slug":
        return [world.brand_a.slug]
    if param == "token":  # a calendar address: the viewer's own (a visitor has none)
        return [canaries.feed_tokens.get(viewer, "0-no-such-calendar")]
    kind = _kind(param, template)
    assert kind is not None, f"teach the canary walk what to put in {{{param}}} of {template}"
    things = canaries.of(kind)
    assert things, f"the canary world has no {kind} for {template}"
    return [str(thing.id) for thing in things]


def _filled(template: str, values: dict[str, list[str]]) -> Iterator[str]:
    names = re.findall(r"{(\w+)}", template)
    for combination in itertools.product(*(values[name] for name in names)):
        yield template.format(**dict(zip(names, combination, strict=True)))


def _get_routes(app: FastAPI) -> list[str]:
    return sorted(path for method, path in _app_routes(app) if method == "GET")


def _route_probes(app: FastAPI, canaries: CanaryWorld, viewer: str, api: bool) -> list[Probe]:
    """Every GET route of the app's pages (or of its API), its path filled every way."""
    probes: list[Probe] = []
    for template in _get_routes(app):
        if template.startswith(V1) != api:
            continue
        names = re.findall(r"{(\w+)}", template)
        values = {name: _values(name, template, canaries, viewer) for name in names}
        probes += [Probe(url) for url in _filled(template, values)]
    return probes


def _query_probes(canaries: CanaryWorld) -> list[Probe]:
    """Searches, filters, indicator pages and audit searches asking for the canaries."""
    probes = [
        Probe("/intel/search", {"q": canary.word})
        for canary in canaries.canaries.values()
        if not canary.secret
    ]
    values = {pair for name in REPORT_CANARIES for pair in canaries.indicators[name]}
    probes += [
        Probe("/intel/indicators", {"kind": kind, "value": normalise(kind, value)})
        for kind, value in sorted(values)
    ]
    for name in (*REPORT_CANARIES, "IMPORT"):
        canary = canaries.canaries[name]
        probes += [
            Probe("/admin/audit", {"q": canary.word}),
            Probe("/brands/brand-a/audit", {"q": canary.word}),
        ]
    for name in REPORT_CANARIES:
        canary = canaries.canaries[name]
        probes += [
            Probe("/intel/search", {"q": f"CANARY-{name}-{canary.word}"}),
            Probe("/intel/search", {"q": canary.word}, HTMX),
            Probe("/intel/search/export.csv", {"q": canary.word}),
            Probe(BOARD, {"marketplace": canary.mark("market")}),
            Probe(BOARD, {"brand": canary.mark("brands")}, HTMX),
            Probe(f"{BOARD}/export.csv", {"brand": canary.mark("brands")}),
        ]
    for tlp in Tlp:
        probes += [Probe(BOARD, {"tlp": tlp}), Probe(f"{BOARD}/export.stix.json", {"tlp": tlp})]
    soon = utcnow() + timedelta(days=7)
    return probes + [
        Probe("/events", {"view": "month", "month": f"{soon:%Y-%m}"}),
        Probe("/events", {"when": "past"}),
        Probe("/events", {"group": "apparel-t"}, HTMX),
        Probe("/testbuys", {"status": "draft"}),
        Probe("/notifications", {}, HTMX),
        Probe("/groups/toys-t/intel", {}, HTMX),
        Probe("/referrals", {"group": "apparel-t"}),
        *_impact_probes(canaries),
    ]


def _impact_probes(canaries: CanaryWorld) -> list[Probe]:
    """The rows behind every impact figure, by each breakdown the canaries sit in, and the
    dashboard, its CSV and the report of the year the canaries were made in."""
    year = str(utcnow().year)
    apparel = str(canaries.world.apparel.id)
    probes = [
        Probe("/impact/rows", {"figure": figure, "year": year, **only})
        for figure in FIGURES
        for only in ({}, {"group": apparel}, {"country": "CN"}, {"status": "raid_done"})
        if not only or next(iter(only)) in SOURCES[FIGURES[figure].source].dims
    ]
    return probes + [
        Probe("/impact", {"year": year}),
        Probe("/impact", {"year": year, "scope": "apparel-t"}),
        Probe("/impact/export.csv", {"year": year}),
        Probe("/impact/report", {"year": year}),
    ]


def _api_probes(app: FastAPI, canaries: CanaryWorld, viewer: str) -> list[Probe]:
    probes = _route_probes(app, canaries, viewer, api=True)
    for name in REPORT_CANARIES:
        word = canaries.canaries[name].word
        probes += [
            Probe(f"{V1}/reports", {"q": word, "limit": "100"}),
            Probe(f"{V1}/reports", {"q": f"CANARY-{name}-{word}", "limit": "100"}),
        ]
    probes += [Probe(f"{V1}/reports", {"tlp": tlp, "limit": "100"}) for tlp in Tlp]
    return probes + [
        Probe(f"{V1}/reports", {"group": "apparel-t", "limit": "100"}),
        Probe(f"{V1}/campaigns", {"status": "draft", "limit": "100"}),
        Probe(f"{V1}/events", {"group": "apparel-t", "limit": "100"}),
    ]


# --- every way out, for everyone who may not read -----------------------------------------


@pytest.mark.parametrize("viewer", VIEWERS)
def test_no_page_shows_a_canary_to_those_who_may_not_read_it(
    viewer: str, app: FastAPI, canaries: CanaryWorld, client_as: ClientAs
) -> None:
    """Every GET route, on every restricted and neighbouring thing, and every search,
    filter, export, indicator page and audit search for the canaries: nothing the viewer
    may not read shows in a body or a header (404 pages included)."""
    browser = _browser(app, client_as, canaries, viewer)
    probes = _route_probes(app, canaries, viewer, api=False) + _query_probes(canaries)
    found = _ask_all(browser, probes, canaries.forbidden_to(viewer))
    assert not found, "\n".join(found)


def _api_caller(app: FastAPI, db: Session, canaries: CanaryWorld, viewer: str) -> TestClient:
    if viewer == ANONYMOUS:
        return api_client(app, None)
    if viewer in TOOLS:
        return api_client(app, token_for(db, canaries.people[TOOLS[viewer]], TokenKind.brand))
    return api_client(app, token_for(db, canaries.people[viewer]))


@pytest.mark.parametrize("viewer", API_VIEWERS)
def test_the_api_shows_no_canary_to_those_who_may_not_read_it(
    viewer: str, app: FastAPI, db: Session, canaries: CanaryWorld
) -> None:
    """Every GET of the JSON API, with the viewer's personal token (or their brand's
    tool's token), on every thing and for every canary as a search: nothing it may not
    read. A sighting on an unreadable report is a 404 naming nothing."""
    caller = _api_caller(app, db, canaries, viewer)
    forbidden = canaries.forbidden_to(viewer)
    found = _ask_all(caller, _api_probes(app, canaries, viewer), forbidden)
    for thing in _unreadable(canaries.of("report"), canaries, viewer):
        response = caller.post(f"{V1}/reports/{thing.id}/sightings", json={"kind": "seen"})
        assert response.status_code in (401, 404), response.text
        text = _readable_text(response)
        found += [f"POST sighting {thing.id}: {leak}" for leak in _leaks(text, forbidden)]
    assert not found, "\n".join(found)


def _unreadable(things: list[Thing], canaries: CanaryWorld, viewer: str) -> list[Thing]:
    return [
        thing
        for thing in things
        if thing.canary is not None and viewer not in canaries.canaries[thing.canary].readers
    ]


def _refused(response: Response) -> bool:
    location = response.headers.get("location", "")
    return 400 <= response.status_code < 500 or (
        response.status_code == 303 and location.startswith("/login")
    )


def _unsafe_urls(app: FastAPI, canaries: CanaryWorld, viewer: str) -> list[tuple[str, str]]:
    """Every form route whose path names only things, with the things the viewer may not
    read."""
    urls: list[tuple[str, str]] = []
    for method, template in sorted(_app_routes(app)):
        names = re.findall(r"{(\w+)}", template)
        kinds = [_kind(name, template) for name in names]
        if method == "GET" or template.startswith(V1) or not names or None in kinds:
            continue
        values = {
            name: [str(t.id) for t in _unreadable(canaries.of(kind or ""), canaries, viewer)]
            for name, kind in zip(names, kinds, strict=True)
        }
        urls += [(method, url) for url in _filled(template, values)]
    return urls


@pytest.mark.parametrize("viewer", VIEWERS)
def test_unsafe_routes_refuse_unreadable_things_without_naming_them(
    viewer: str, app: FastAPI, canaries: CanaryWorld, client_as: ClientAs
) -> None:
    """Every form route whose path names only things, sent for each thing the viewer may
    not read: refused, and the refusal names nothing of it."""
    browser = _browser(app, client_as, canaries, viewer)
    forbidden = canaries.forbidden_to(viewer)
    urls = _unsafe_urls(app, canaries, viewer)
    assert urls, "no unsafe route names a thing this viewer may not read"
    found: list[str] = []
    with browser:
        for method, url in urls:
            response = browser.request(method, url, data={})
            where = f"{method} {url} ({response.status_code})"
            assert _refused(response), f"{where} was not refused: {response.text[:300]}"
            found += [f"{where} {leak}" for leak in _leaks(_readable_text(response), forbidden)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("viewer", VIEWERS[1:])
def test_own_notifications_one_by_one_name_only_readable_reports(
    viewer: str, app: FastAPI, db: Session, canaries: CanaryWorld, client_as: ClientAs
) -> None:
    """Each of the viewer's own notifications, opened or marked read through htmx (which
    answers with the notification itself): none names a report the viewer may no longer
    read, such as one a coordinator hid after they were told of it."""
    person = canaries.people[viewer]
    own = db.exec(select(Notification.id).where(Notification.person_id == person.id)).all()
    assert own, f"{viewer} was told of nothing: the check would be empty"
    browser = client_as(person)
    forbidden = canaries.forbidden_to(viewer)
    found: list[str] = []
    with browser:
        for note_id in own:
            for response in (
                browser.post(f"/notifications/{note_id}/read", headers=HTMX),
                browser.get(f"/notifications/{note_id}"),
            ):
                where = f"{response.request.method} {response.request.url.path}"
                assert response.status_code in (200, 303, 404), where
                found += [f"{where} {leak}" for leak in _leaks(_readable_text(response), forbidden)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("into", ["RED", "HIDDEN"])
def test_an_import_never_joins_a_report_its_importer_may_not_read(
    into: str, db: Session, canaries: CanaryWorld, client_as: ClientAs
) -> None:
    """Brand A's admin imports a row naming a seller of a brand-mate's report they may not
    read (TLP:RED not naming them, or hidden): the row becomes a report of its own, is
    not added to that report, and the import's counts do not tell that it exists."""
    importer = "admin_a"
    report = canaries.reports[into]
    seller = canaries.canaries[into].mark("seller")
    before = db.exec(select(func.count()).where(Indicator.report_id == report.id)).one()
    upload = f"title,seller_id,domain\nSame seller,{seller},import-check.example\n".encode()
    browser = client_as(canaries.people[importer])
    answer = browser.post(
        "/groups/apparel-t/intel/import",
        data={"tlp": "amber", "mode": "all"},
        files={"file": ("rows.csv", upload, "text/csv")},
    )
    assert answer.status_code == 303, answer.text[:300]
    db.expire_all()
    job = db.exec(select(ImportJob).order_by(col(ImportJob.id).desc())).first()
    assert job is not None and job.state == "done", job
    assert (job.created, job.merged) == (1, 0)
    assert db.exec(select(func.count()).where(Indicator.report_id == report.id)).one() == before
    page = _readable_text(browser.get(answer.headers["location"]))
    assert not _leaks(page, canaries.forbidden_to(importer), seller)


# --- mail and webhooks after a matching report ------------------------------------------


# member_c posts in toys: no correlation there, but the pending digests go out all the same.
POSTERS = ("admin_a", "member_b", "coordinator", "member_c")


def _matching_report(canaries: CanaryWorld) -> tuple[dict[str, str | list[str]], str]:
    """A TLP:GREEN report naming every indicator of every restricted report, and the
    values typed (its poster's to see from then on)."""
    pairs = [pair for name in REPORT_CANARIES for pair in canaries.indicators[name]]
    form: dict[str, str | list[str]] = {
        "title": "Same sellers again",
        "body_md": "Seen on a marketplace.",
        "category": "seller",
        "infringement": "counterfeit",
        "confidence": "probable",
        "reliability": "B",
        "tlp": "green",
        "recipients": "",
        "indicator_kind": [kind for kind, _ in pairs],
        "indicator_value": [value for _, value in pairs],
    }
    return form, " ".join(value for _, value in pairs)


def _mail_text(mail: OutboxMail) -> str:
    """Subject, body and attachments (an .ics is base64 in the outbox) as one text."""
    attached = [base64.b64decode(a["data"]).decode("utf-8", "replace") for a in mail.attachments]
    return _unfolded("\n".join([mail.subject, mail.body, *attached]))


def _newest_id(db: Session, model: type[OutboxMail] | type[WebhookDelivery]) -> int:
    return db.exec(select(func.max(model.id))).one() or 0


@pytest.mark.parametrize("poster", POSTERS)
def test_a_matching_report_mails_and_sends_only_what_each_may_read(
    poster: str,
    app: FastAPI,
    db: Session,
    settings: Settings,
    canaries: CanaryWorld,
    client_as: ClientAs,
) -> None:
    """The poster names every indicator of the restricted reports (those values are then
    theirs to see); the worker mails every pending notification, at once and in digests.
    No mail holds what its addressee may not read, none holds the words of a TLP:RED or
    TLP:AMBER+STRICT report at all, no webhook delivery holds what its brand's tools may
    not read, and the poster's notifications name nothing they may not read."""
    world = canaries.world
    group = world.toys if poster == "member_c" else world.apparel
    mails_before, deliveries_before = _newest_id(db, OutboxMail), _newest_id(db, WebhookDelivery)
    browser = client_as(canaries.people[poster])
    form, typed = _matching_report(canaries)
    posted = browser.post(f"/groups/{group.slug}/intel", data=form)
    assert posted.status_code == 303, posted.text[:300]
    later = (utcnow() + timedelta(days=1)).replace(hour=12)
    mail_instant(db, settings, later)
    send_digests(db, settings, later)
    db.expire_all()

    by_address = {person.email: name for name, person in canaries.people.items()}
    never_mailed = [canaries.canaries["RED"], canaries.canaries["STRICT"]]
    mails = db.exec(select(OutboxMail).where(col(OutboxMail.id) > mails_before)).all()
    assert mails, "the worker mailed nothing: the check would be empty"
    found: list[str] = []
    for mail in mails:
        addressee = by_address.get(mail.to_address, mail.to_address)
        forbidden = canaries.forbidden_to(addressee) + never_mailed
        text = _mail_text(mail)
        found += [f"mail to {addressee}: {leak}" for leak in _leaks(text, forbidden, typed)]

    tools = {canaries.people[admin].brand_id: tool for tool, admin in TOOLS.items()}
    deliveries = db.exec(
        select(WebhookDelivery, Webhook)
        .join(Webhook, col(Webhook.id) == WebhookDelivery.webhook_id)
        .where(col(WebhookDelivery.id) > deliveries_before)
    ).all()
    assert deliveries, "the new report went to no brand's webhook: the check would be empty"
    for delivery, hook in deliveries:
        tool = tools[hook.brand_id]
        payload = delivery.payload.lower()
        found += [
            f"webhook of {tool}: {leak}"
            for leak in _leaks(payload, canaries.forbidden_to(tool), typed)
        ]
    notes = _readable_text(browser.get("/notifications"))
    found += [
        f"notifications of {poster}: {leak}"
        for leak in _leaks(notes, canaries.forbidden_to(poster), typed)
    ]
    assert not found, "\n".join(found)


def test_a_merge_notice_mails_no_words_of_the_report_kept(
    db: Session, settings: Settings, canaries: CanaryWorld, client_as: ClientAs
) -> None:
    """A coordinator merges the author's TLP:CLEAR report into the author's own
    TLP:AMBER+STRICT one: the author's notice names the kept report in the hub, and its
    e-mail (sent at once) keeps its words out."""
    author = canaries.people["member_a"]
    duplicate = service.create_report(
        db,
        actor_of(db, author),
        canaries.world.apparel,
        service.ReportForm(title="A duplicate", tlp=Tlp.clear),
    )
    kept, strict = canaries.reports["STRICT"], canaries.canaries["STRICT"]
    moderation.merge(db, actor_of(db, canaries.people["coordinator"]), duplicate, kept.id or 0)
    notes = _readable_text(client_as(author).get("/notifications"))
    assert strict.mark("title").lower() in notes
    mails_before = _newest_id(db, OutboxMail)
    mail_instant(db, settings, utcnow() + timedelta(minutes=1))
    mails = db.exec(
        select(OutboxMail).where(
            col(OutboxMail.id) > mails_before, OutboxMail.to_address == author.email
        )
    ).all()
    assert mails, "nothing was mailed to the author"
    found = [leak for mail in mails for leak in _leaks(_mail_text(mail), [strict])]
    assert not found, "\n".join(found)


# --- each canary is really there, for its readers ----------------------------------------

REPORT_TAGS = (
    "title", "draft", "body", "market", "brands", "products", "shop", "seller", "mail",
    "file", "comment", "reply", "note", "status",
)  # fmt: skip


def _where_shown(canaries: CanaryWorld) -> dict[str, tuple[str, list[str], tuple[str, ...]]]:
    """For each canary: a reader, the pages they would look at, and the marks those pages
    show between them."""
    # The first thing carrying each canary is the thing itself (an event before its
    # registration, a campaign before its sign-ups): later ones must not replace its id.
    ids: dict[str, int] = {}
    for thing in canaries.things:
        if thing.canary:
            ids.setdefault(thing.canary, thing.id)
    reports = {name: canaries.reports[name].id for name in REPORT_CANARIES}
    purchase = next(t.id for t in canaries.of("purchase"))
    report_pages = {
        name: [f"/intel/{reports[name]}", f"/intel/{reports[name]}/versions"]
        for name in REPORT_CANARIES
    }
    return {
        "RED": ("member_b", report_pages["RED"], REPORT_TAGS),
        "STRICT": ("admin_a", report_pages["STRICT"], REPORT_TAGS),
        "AMBER": ("alliance_admin", report_pages["AMBER"], REPORT_TAGS),
        "HIDDEN": ("coordinator", report_pages["HIDDEN"], REPORT_TAGS),
        "IMPORT": ("member_a", [f"/imports/{ids['IMPORT']}"], ("file",)),
        "BUY": (
            "admin_a",
            [f"/testbuys/purchases/{purchase}", f"/testbuys/{ids['CAMPAIGN']}"],
            (
                "product",
                "market",
                "seller",
                "listing",
                "order",
                "verdict",
                "file",
                "sender",
                "receiver",
                "place",
                "purpose",
                "seal",
                "skus",
                "targets",
            ),
        ),  # fmt: skip
        "PERSONA": (
            "coordinator",
            [f"/testbuys/personas/{ids['PERSONA']}"],
            ("name", "drop", "contact", "accounts"),
        ),
        "CAMPAIGN": (
            "member_b",
            [f"/testbuys/{ids['CAMPAIGN']}"],
            ("title", "goal", "channels", "region"),
        ),
        "DRAFT": ("coordinator", [f"/testbuys/{ids['DRAFT']}"], ("title", "goal")),
        "EVENT": (
            "member_b",
            [f"/events/{ids['EVENT']}"],
            ("title", "description", "venue", "address"),
        ),
        "LINK": ("member_a", [f"/events/{ids['EVENT']}", f"/events/{ids['EVENT']}.ics"], ("url",)),
        "HOOK": ("admin_a", ["/developers/webhooks", "/developers"], ("url", "token")),
        "FEED": ("member_a", ["/me"], ()),
    }


@pytest.mark.parametrize(
    "name",
    [
        "RED", "STRICT", "AMBER", "HIDDEN", "IMPORT", "BUY", "PERSONA", "CAMPAIGN", "DRAFT",
        "EVENT", "LINK", "HOOK", "FEED",
    ],
)  # fmt: skip
def test_each_canary_shows_to_its_readers_where_they_look(
    name: str, app: FastAPI, canaries: CanaryWorld, client_as: ClientAs
) -> None:
    """Each canary is in the world: one of its readers finds every field's mark on the
    page they would open, so the leak tests cannot pass on an empty world."""
    reader, pages, tags = _where_shown(canaries)[name]
    canary = canaries.canaries[name]
    assert reader in canary.readers
    browser = client_as(canaries.people[reader])
    text = ""
    for page in pages:
        response = browser.get(page)
        assert response.status_code == 200, f"{page}: {response.status_code}"
        text += _readable_text(response)
    missing = [tag for tag in tags if canary.mark(tag).lower() not in text]
    assert not missing, f"{name}: {missing} not shown on {pages}"
    assert canary.word in text


@pytest.mark.parametrize("name", REPORT_CANARIES)
def test_search_finds_each_report_canary_for_a_reader(
    name: str, canaries: CanaryWorld, client_as: ClientAs
) -> None:
    """Searching a canary's word finds its report for a reader: the searches above do
    reach the canaries."""
    reader = {"RED": "member_b", "STRICT": "admin_a", "AMBER": "member_b", "HIDDEN": "member_a"}
    canary = canaries.canaries[name]
    page = client_as(canaries.people[reader[name]]).get("/intel/search", params={"q": canary.word})
    assert canary.mark("title").lower() in page.text.lower()


def test_brand_tools_read_what_their_brand_may(
    app: FastAPI, db: Session, canaries: CanaryWorld
) -> None:
    """Brand A's tool reads the TLP:AMBER+STRICT report of its brand, brand B's the
    TLP:AMBER one, through the API the leak test walks."""
    strict, amber = canaries.reports["STRICT"], canaries.reports["AMBER"]
    tool_a = _api_caller(app, db, canaries, "tool_a")
    tool_b = _api_caller(app, db, canaries, "tool_b")
    assert canaries.canaries["STRICT"].mark("title") in tool_a.get(f"{V1}/reports/{strict.id}").text
    assert canaries.canaries["AMBER"].mark("title") in tool_b.get(f"{V1}/reports/{amber.id}").text


def test_secret_canaries_are_the_real_secrets(
    app: FastAPI, db: Session, settings: Settings, canaries: CanaryWorld
) -> None:
    """The secrets looked for are the ones in use: the brand token opens the API, the
    webhook and sign-in secrets are what the hub sealed."""
    me = api_client(app, canaries.brand_token).get(f"{V1}/me")
    assert me.status_code == 200 and me.json()["token_kind"] == "brand"
    hook = db.exec(select(Webhook).where(Webhook.brand_id == canaries.world.brand_a.id)).one()
    assert secretbox.open_sealed(settings, hook.secret_sealed) == canaries.hook_secret
    provider = db.exec(
        select(IdentityProvider).where(IdentityProvider.client_id == "brand-a-client")
    ).one()
    assert secretbox.open_sealed(settings, provider.client_secret_sealed) == canaries.client_secret


@pytest.mark.parametrize("viewer", PEOPLE)
def test_correlation_counts_only_readable_reports(
    viewer: str, canaries: CanaryWorld, client_as: ClientAs
) -> None:
    """On the report in another group naming the shared seller, "also named in N other
    reports" counts the restricted reports the viewer may read (and the visible one in
    apparel), never more."""
    readable = [n for n in REPORT_CANARIES if viewer in canaries.canaries[n].readers]
    html = client_as(canaries.people[viewer]).get(f"/intel/{canaries.reports['PROBE'].id}").text
    counts = [int(n) for n in re.findall(r"also named in (\d+) other reports?", html)]
    assert counts == [len(readable) + 1]
    assert SHARED_SELLER in html


def test_the_walk_reaches_every_get_route(app: FastAPI, canaries: CanaryWorld) -> None:
    """Every GET route of the app, the API's included, is asked by one walk or the other
    with its path filled; the unsafe walk reaches the forms on reports, purchases,
    personas, events, webhooks and tokens."""
    asked = {
        probe.path
        for api in (False, True)
        for probe in _route_probes(app, canaries, "member_b", api)
    }
    for template in _get_routes(app):
        names = re.findall(r"{(\w+)}", template)
        values = {name: _values(name, template, canaries, "member_b") for name in names}
        assert set(_filled(template, values)) <= asked, template
    unsafe = {
        url.split("/")[1] for viewer in VIEWERS for _, url in _unsafe_urls(app, canaries, viewer)
    }
    assert unsafe >= {"intel", "testbuys", "events", "developers"}
