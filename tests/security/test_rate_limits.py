"""Abuse protection by rate limits. Proves: each limit (sign-in per client address and per
address and e-mail, search per person and per address, evidence files per person, the API
per token and per address) refuses past its number with 429, a Retry-After header and a
message saying when to come back, as the page, the form, the htmx fragment or the API's
problem+json; an attacker failing on a member's e-mail from one address cannot lock that
member out (a real sign-in through a live hub, from another address); two app instances
(as two worker processes) count together, through the database and through a real Redis;
and a Redis that does not answer costs a warning, not the hub, the database counting
instead."""

import logging
import os
import re
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlmodel import Session, col, delete, func, select

from hub import ratelimit
from hub.app import create_app
from hub.auth import sessions
from hub.auth.models import RateCounter
from hub.config import Settings
from hub.intel.models import Evidence, IntelReport, Tlp
from hub.members.models import Person
from hub.ratelimit_redis import RedisStore
from tests.api.factories import V1, problem_of, token_for
from tests.conftest import TEST_CSRF, World, _bound_session, session_cookie
from tests.databases import throwaway_database
from tests.intel.factories import make_report, picture
from tests.live import LiveHub, free_port, live_hub

REDIS_URL = os.environ.get("HUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

# 45 seconds into a minute, into the sign-in window of 12:00-12:15, and into the hour:
# a refused caller waits 15 s, 855 s and 3,555 s.
AT = datetime(2026, 11, 24, 12, 0, 45, tzinfo=UTC)
WAIT_MINUTE, WAIT_LOGIN, WAIT_HOUR = 15, 855, 3555

HOME = "198.51.100.10"  # the member's own address
ELSEWHERE = "203.0.113.66"  # another client, say an attacker's
BOARD = "/groups/apparel-t/intel"
SEARCH = "/intel/search"

MakeHub = Callable[..., FastAPI]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The time the rate limiter sees; set `clock[0]` to move it."""
    now = [AT]
    monkeypatch.setattr(ratelimit, "utcnow", lambda: now[0])
    return now


def _close_redis(apps: list[FastAPI]) -> None:
    for app in apps:
        store: RedisStore | None = getattr(app.state, "redis_rate_store", None)
        if store is not None:
            store.close()


@pytest.fixture
def hub_with(
    settings: Settings, engine: Engine, connection: Connection, tmp_path: Path
) -> Iterator[MakeHub]:
    """Makes hubs on the test's rolled-back transaction, with settings changed (small
    limits, a Redis); every hub made is a separate app, as separate workers are."""
    made: list[FastAPI] = []

    def make(**changes: object) -> FastAPI:
        own = settings.model_copy(update={"upload_dir": str(tmp_path / "uploads"), **changes})
        app = create_app(own, engine)
        app.state.session_factory = lambda: _bound_session(connection)
        made.append(app)
        return app

    yield make
    _close_redis(made)


def browser(
    app: FastAPI, address: str, db: Session | None = None, person: Person | None = None
) -> TestClient:
    """A browser at client address `address`, signed in as `person` if given."""
    client = TestClient(app, follow_redirects=False, client=(address, 50000))
    cookie: dict[str, object] = {"csrf": TEST_CSRF}
    if person is not None:
        assert db is not None
        cookie["sid"] = sessions.start(db, app.state.settings, person, None, address, "pytest")
        db.commit()
    client.cookies.set("hub_session", session_cookie(cookie))
    client.headers["x-csrf-token"] = TEST_CSRF
    return client


def api_tool(app: FastAPI, address: str, secret: str) -> TestClient:
    client = TestClient(app, follow_redirects=False, client=(address, 50000))
    client.headers["Authorization"] = f"Bearer {secret}"
    return client


def login(client: TestClient, email: str) -> int:
    return client.post("/login", data={"email": email}).status_code


def assert_refused(response: httpx.Response, wait: int, message: str) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["retry-after"] == str(wait)
    assert message in response.text


# --- Sign-in ---------------------------------------------------------------------------


def test_sign_in_is_refused_past_the_limit_per_address(
    hub_with: MakeHub, clock: list[datetime]
) -> None:
    """One client address trying many e-mails is refused after N tries, told to wait, with
    the exact wait in Retry-After; another address may still try."""
    app = hub_with(login_attempts_per_ip=3, login_attempts_per_email=100)
    prober = browser(app, ELSEWHERE)
    assert [login(prober, f"p{n}@nowhere.example") for n in range(3)] == [400] * 3
    refused = prober.post("/login", data={"email": "p3@nowhere.example"})
    assert_refused(refused, WAIT_LOGIN, "Too many sign-in attempts. Wait 15 minutes and try again.")
    assert 'value="p3@nowhere.example"' in refused.text
    assert login(browser(app, HOME), "p3@nowhere.example") == 400


def test_sign_in_is_refused_per_address_and_email_never_per_email_alone(
    hub_with: MakeHub, clock: list[datetime]
) -> None:
    """Failing N times on one e-mail from one address refuses that address for that e-mail
    only: the same address may try another e-mail, and the same e-mail (however typed)
    may be tried from another address."""
    app = hub_with(login_attempts_per_ip=100, login_attempts_per_email=2)
    attacker = browser(app, ELSEWHERE)
    assert [login(attacker, "kim@nowhere.example") for _ in range(2)] == [400, 400]
    refused = attacker.post("/login", data={"email": " Kim@Nowhere.example"})
    assert_refused(refused, WAIT_LOGIN, "Too many sign-in attempts.")
    assert login(attacker, "lee@nowhere.example") == 400
    assert login(browser(app, HOME), "kim@nowhere.example") == 400


class Visitor:
    """A browser behind the proxy in front of a live hub: the proxy (here the test, on
    127.0.0.1, which uvicorn's --proxy-headers trusts by default) names its address."""

    def __init__(self, hub: LiveHub, address: str) -> None:
        self.http = httpx.Client(
            base_url=hub.base_url,
            follow_redirects=False,
            timeout=10,
            headers={"X-Forwarded-For": address},
        )

    def start_sign_in(self, email: str) -> httpx.Response:
        page = self.http.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf, "the sign-in page has no CSRF token"
        return self.http.post("/login", data={"email": email, "csrf_token": csrf.group(1)})

    def sign_in(self, email: str) -> httpx.Response:
        """The whole sign-in: the hub, the brand's (development) provider, the callback."""
        started = self.start_sign_in(email)
        assert started.status_code == 302, started.text
        provider_page = self.http.get(started.headers["location"])
        fields = dict(
            re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', provider_page.text)
        )
        fields.update({"email": email, "decision": "allow"})
        answer = self.http.post(urlparse(started.headers["location"]).path, data=fields)
        assert answer.status_code == 303, answer.text
        return self.http.get(answer.headers["location"])


def test_an_attacker_cannot_lock_a_member_out(tmp_path: Path) -> None:
    """An attacker at one address exhausts the sign-in attempts for a member's e-mail and
    is refused (429, Retry-After); the member, at another address, signs in all the same
    and reaches their dashboard. Through a live hub, its real provider flow and
    uvicorn's handling of X-Forwarded-For."""
    member = "elodie.moreau@maison-verrault.example"
    limits = {"HUB_LOGIN_ATTEMPTS_PER_EMAIL": "3", "HUB_LOGIN_ATTEMPTS_PER_IP": "50"}
    with throwaway_database(tmp_path) as url, live_hub(tmp_path, url, limits) as hub:
        attacker, at_home = Visitor(hub, ELSEWHERE), Visitor(hub, HOME)
        try:
            tries = [attacker.start_sign_in(member).status_code for _ in range(3)]
            assert tries == [302, 302, 302]
            refused = attacker.start_sign_in(member.upper())
            assert refused.status_code == 429
            assert 0 < int(refused.headers["retry-after"]) <= 15 * 60
            assert "Too many sign-in attempts." in refused.text

            signed_in = at_home.sign_in(member)
            assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
            dashboard = at_home.http.get("/")
            assert dashboard.status_code == 200 and "Élodie Moreau" in dashboard.text
        finally:
            attacker.http.close()
            at_home.http.close()


# --- Search ----------------------------------------------------------------------------


def test_search_is_refused_past_the_limit_per_person(
    hub_with: MakeHub, db: Session, world: World, clock: list[datetime]
) -> None:
    """A person's N+1st search in a minute is refused with the error page, or for htmx
    the message in the page's message area; another person at the same address may still
    search."""
    app = hub_with(searches_per_minute_per_person=3, searches_per_minute_per_ip=100)
    searcher = browser(app, HOME, db, world.member_a)
    assert [searcher.get(SEARCH, params={"q": f"jackets {n}"}).status_code for n in range(3)] == [
        200
    ] * 3
    message = "You searched more than 3 times in a minute. Please try again in 15 seconds."
    assert_refused(searcher.get(SEARCH, params={"q": "jackets"}), WAIT_MINUTE, message)
    fragment = searcher.get(SEARCH, params={"q": "jackets"}, headers={"HX-Request": "true"})
    assert_refused(fragment, WAIT_MINUTE, message)
    assert fragment.headers["hx-retarget"] == "#messages"
    assert "<html" not in fragment.text
    assert (
        browser(app, HOME, db, world.member_b).get(SEARCH, params={"q": "jackets"}).status_code
        == 200
    )
    clock[0] += timedelta(seconds=WAIT_MINUTE)
    assert searcher.get(SEARCH, params={"q": "jackets"}).status_code == 200


def test_search_is_refused_past_the_limit_per_address(
    hub_with: MakeHub, db: Session, world: World, clock: list[datetime]
) -> None:
    """Searches from one address count together, whoever makes them; the same person at
    another address is not held back."""
    app = hub_with(searches_per_minute_per_person=100, searches_per_minute_per_ip=3)
    first, second = browser(app, HOME, db, world.member_a), browser(app, HOME, db, world.member_b)
    assert [c.get(SEARCH, params={"q": "x"}).status_code for c in (first, second, first)] == [
        200
    ] * 3
    message = (
        "More than 3 searches came from your network in a minute. Please try again in 15 seconds."
    )
    assert_refused(second.get(SEARCH, params={"q": "x"}), WAIT_MINUTE, message)
    assert (
        browser(app, ELSEWHERE, db, world.member_b).get(SEARCH, params={"q": "x"}).status_code
        == 200
    )


# --- Evidence uploads ------------------------------------------------------------------


def report_form(title: str) -> dict[str, str]:
    return {
        "title": title,
        "body_md": "Listings with photos.",
        "category": "seller",
        "marketplace": "Vinted",
        "infringement": "counterfeit",
        "confidence": "confirmed",
        "reliability": "A",
        "tlp": "green",
    }


def files(*names: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("evidence_files", (name, picture(name), "image/png")) for name in names]


def evidence_of(db: Session, report_id: int | None) -> int:
    db.expire_all()
    return db.exec(
        select(func.count()).select_from(Evidence).where(Evidence.report_id == report_id)
    ).one()


def test_evidence_files_are_refused_past_the_limit_per_person(
    hub_with: MakeHub, db: Session, world: World, clock: list[datetime]
) -> None:
    """Files count, not requests: with 3 an hour, a report with 2 files goes in; 2 more
    on a report are refused with the report page, the message beside the file field and
    Retry-After, and nothing saved; the refused files are given back, so 1 more still goes
    in; the next is refused on the new-report form, which keeps what was typed."""
    app = hub_with(evidence_files_per_hour_per_person=3)
    member = browser(app, HOME, db, world.member_a)
    posted = member.post(BOARD, data=report_form("Two photos"), files=files("a.png", "b.png"))
    assert posted.status_code == 303, posted.text
    report_id = int(posted.headers["location"].rsplit("/", 1)[1])
    assert evidence_of(db, report_id) == 2

    message = "You may upload at most 3 evidence files an hour, and these would go past it"
    refused = member.post(f"/intel/{report_id}/evidence", files=files("c.png", "d.png"))
    assert_refused(refused, WAIT_HOUR, message)
    assert "Please try fewer files, or again in 60 minutes." in refused.text
    assert evidence_of(db, report_id) == 2

    added = member.post(f"/intel/{report_id}/evidence", files=files("c.png"))
    assert added.status_code == 303 and evidence_of(db, report_id) == 3

    reports_before = db.exec(select(func.count()).select_from(IntelReport)).one()
    form = member.post(BOARD, data=report_form("One photo too many"), files=files("e.png"))
    assert_refused(form, WAIT_HOUR, message)
    assert 'value="One photo too many"' in form.text
    db.expire_all()
    assert db.exec(select(func.count()).select_from(IntelReport)).one() == reports_before
    report = make_report(db, world.member_b, world.apparel, Tlp.green)
    other = browser(app, HOME, db, world.member_b)
    assert other.post(f"/intel/{report.id}/evidence", files=files("f.png")).status_code == 303


# --- The API ---------------------------------------------------------------------------


def test_api_calls_are_refused_past_the_limit_per_address(
    hub_with: MakeHub, db: Session, world: World, clock: list[datetime]
) -> None:
    """Calls from one address count together whatever the token, unknown tokens too; the
    refusal is problem+json with Retry-After; a token's own limit holds across addresses."""
    app = hub_with(api_requests_per_minute_per_ip=3, api_requests_per_minute=4)
    mine, colleague = token_for(db, world.member_a), token_for(db, world.member_b)
    assert api_tool(app, HOME, mine).get(f"{V1}/me").status_code == 200
    assert api_tool(app, HOME, "hub_" + "x" * 43).get(f"{V1}/me").status_code == 401
    assert api_tool(app, HOME, colleague).get(f"{V1}/me").status_code == 200
    refused = api_tool(app, HOME, colleague).get(f"{V1}/me")
    body = problem_of(refused, 429, "rate-limited")
    assert refused.headers["retry-after"] == str(WAIT_MINUTE)
    assert body["detail"] == (
        "More than 3 calls came from your address this minute; try again in 15 seconds."
    )

    elsewhere = api_tool(app, ELSEWHERE, mine)
    assert [elsewhere.get(f"{V1}/me").status_code for _ in range(3)] == [200] * 3
    by_token = problem_of(api_tool(app, "192.0.2.7", mine).get(f"{V1}/me"), 429, "rate-limited")
    assert (
        by_token["detail"]
        == "This token made more than 4 calls this minute; try again in 15 seconds."
    )


# --- Shared by separate app instances: the database ------------------------------------


@pytest.fixture
def unshared_address(engine: Engine) -> Iterator[str]:
    """A client address of this test alone, whose counters (committed for real, as the
    hubs below use the database as workers do) are deleted afterwards."""
    address = f"192.0.2.{secrets.randbelow(200) + 20}"
    yield address
    with Session(engine) as session:
        session.exec(delete(RateCounter).where(col(RateCounter.key).contains(f":{address}")))
        session.commit()


def test_two_hubs_count_together_in_the_database(
    settings: Settings, engine: Engine, unshared_address: str, clock: list[datetime]
) -> None:
    """Two app instances on one database (each with its own connections, as two worker
    processes) share the count: attempts alternating between them are refused after N."""
    limited = settings.model_copy(update={"login_attempts_per_ip": 3})
    first, second = create_app(limited, engine), create_app(limited, engine)
    hubs = [browser(first, unshared_address), browser(second, unshared_address)]
    answers = [login(hubs[n % 2], f"p{n}@nowhere.example") for n in range(4)]
    assert answers == [400, 400, 400, 429]
    with Session(engine) as session:
        counter = session.get(RateCounter, f"login-ip:{unshared_address}")
        assert counter is not None and counter.count == 4


# --- Shared by separate app instances: a real Redis ------------------------------------


@pytest.fixture(scope="module")
def redis_server() -> Iterator[redis.Redis]:
    """The Redis on 127.0.0.1:6379 (HUB_TEST_REDIS_URL). Missing, the Redis tests are
    skipped with the reason, but in CI (CI=true) they fail: CI must test it."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        client.close()
        reason = (
            f"Redis is not reachable at {REDIS_URL} ({error}): the Redis backend was NOT tested"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must have it (.ci/run starts it).")
        pytest.skip(reason)
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_server: redis.Redis) -> Iterator[str]:
    """A key prefix of this test run alone; its keys are deleted afterwards."""
    prefix = f"hub-test:{secrets.token_hex(6)}:rl:"
    yield prefix
    keys = list(redis_server.scan_iter(match=f"{prefix}*"))
    if keys:
        redis_server.delete(*keys)


def counters_in_database(db: Session) -> int:
    db.expire_all()
    return db.exec(select(func.count()).select_from(RateCounter)).one()


def test_two_hubs_count_together_in_redis(
    hub_with: MakeHub,
    db: Session,
    redis_server: redis.Redis,
    redis_prefix: str,
    clock: list[datetime],
) -> None:
    """Two app instances with one Redis share the count: attempts alternating between
    them are refused after N, with the same Retry-After as the database gives. The counter
    is in Redis under the configured prefix, expiring after the window, and not in the
    database; the next window starts from zero."""
    counted_before = counters_in_database(db)
    limits = {"redis_url": REDIS_URL, "redis_rate_limit_prefix": redis_prefix}
    hubs = [browser(hub_with(login_attempts_per_ip=3, **limits), ELSEWHERE) for _ in range(2)]
    assert [login(hubs[n % 2], f"p{n}@nowhere.example") for n in range(3)] == [400] * 3
    assert_refused(
        hubs[1].post("/login", data={"email": "p3@nowhere.example"}), WAIT_LOGIN, "Too many"
    )

    window_start = int(datetime(2026, 11, 24, 12, 0, tzinfo=UTC).timestamp())
    key = f"{redis_prefix}login-ip:{ELSEWHERE}:{window_start}"
    assert redis_server.get(key) == b"4"
    assert 0 < redis_server.ttl(key) <= 15 * 60
    assert counters_in_database(db) == counted_before

    clock[0] += timedelta(minutes=15)
    assert login(hubs[0], "p4@nowhere.example") == 400


def test_redis_counts_search_and_files_for_every_hub(
    hub_with: MakeHub, db: Session, world: World, redis_prefix: str, clock: list[datetime]
) -> None:
    """Page limits count in Redis too: searches on two hubs add up, and refused files are
    given back there as in the database."""
    limits = {"redis_url": REDIS_URL, "redis_rate_limit_prefix": redis_prefix}
    small = {"searches_per_minute_per_person": 2, "evidence_files_per_hour_per_person": 1}
    first, second = hub_with(**limits, **small), hub_with(**limits, **small)
    on_first, on_second = (
        browser(first, HOME, db, world.member_a),
        browser(second, HOME, db, world.member_a),
    )
    assert on_first.get(SEARCH, params={"q": "a"}).status_code == 200
    assert on_second.get(SEARCH, params={"q": "b"}).status_code == 200
    assert_refused(on_first.get(SEARCH, params={"q": "c"}), WAIT_MINUTE, "more than 2 times")

    report = make_report(db, world.member_a, world.apparel, Tlp.green)
    refused = on_first.post(f"/intel/{report.id}/evidence", files=files("a.png", "b.png"))
    assert_refused(refused, WAIT_HOUR, "at most 1 evidence files an hour")
    assert on_second.post(f"/intel/{report.id}/evidence", files=files("a.png")).status_code == 303
    assert evidence_of(db, report.id) == 1


# --- Redis down --------------------------------------------------------------------------


def test_a_redis_that_does_not_answer_falls_back_to_the_database(
    hub_with: MakeHub, db: Session, clock: list[datetime], caplog: pytest.LogCaptureFixture
) -> None:
    """With HUB_REDIS_URL at a closed port the hub still answers, the database counts and
    refuses past the limit, and the log says why once (not once per request)."""
    closed = f"redis://127.0.0.1:{free_port()}/0"
    app = hub_with(redis_url=closed, login_attempts_per_ip=2)
    client = browser(app, ELSEWHERE)
    with caplog.at_level(logging.WARNING, logger="hub.ratelimit"):
        answers = [login(client, f"p{n}@nowhere.example") for n in range(3)]
    assert answers == [400, 400, 429]
    db.expire_all()
    counter = db.get(RateCounter, f"login-ip:{ELSEWHERE}")
    assert counter is not None and counter.count == 3
    warnings = [r.getMessage() for r in caplog.records if r.name == "hub.ratelimit"]
    assert len(warnings) == 1 and "Redis did not answer" in warnings[0]
    assert "counting in the database" in warnings[0]
