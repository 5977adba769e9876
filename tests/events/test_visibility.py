"""Who sees which event, on every way out: the event page and its .ics, the list and
month views, the personal feed, the site search and the dashboard. A working group's
event is the group's; an invited-brands event is the invited brands' and the organisers';
an alliance-wide event is everyone's. The feed opens with its secret alone, and with
nothing else."""

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from hub.config import Settings
from hub.events.models import Event
from hub.members.models import Person
from tests import factories
from tests.conftest import ClientAs, World
from tests.events.factories import make_event, register
from tests.events.pages import feed_path, month_days, unfolded

GROUP_CANARY = "KESTREL-7731"
INVITED_CANARY = "OSPREY-4410"


@dataclass(frozen=True)
class Events:
    group: Event  # apparel's, for the apparel brands (A, B)
    invited: Event  # organised in apparel, for brand C only
    alliance: Event  # for everyone


@pytest.fixture
def events(db: Session, world: World) -> Events:
    return Events(
        group=make_event(
            db,
            world.coordinator,
            world.apparel,
            title=f"Raid debrief {GROUP_CANARY}",
            description=f"Seizure numbers, codename {GROUP_CANARY}.",
        ),
        invited=make_event(
            db,
            world.coordinator,
            world.apparel,
            audience="invited",
            invited=[world.brand_c.slug],
            title=f"Toy moulds {INVITED_CANARY}",
            description=f"For brand C, codename {INVITED_CANARY}.",
        ),
        alliance=make_event(
            db, world.alliance_admin, None, audience="alliance", title="Annual conference"
        ),
    )


def sees(browser: TestClient, event: Event) -> dict[str, bool]:
    """Whether the event shows through each way a signed-in person has to it."""
    month = f"{event.starts_at:%Y-%m}"  # the viewer has no zone: UTC
    link = f"/events/{event.id}"
    grid = month_days(browser.get(f"/events?view=month&month={month}").text)
    return {
        "page": browser.get(link).status_code == 200,
        "ics": browser.get(f"{link}.ics").status_code == 200,
        "list": f'href="{link}"' in browser.get("/events").text,
        "month": any(link in links for links in grid.values()),
        "feed": event.uid in unfolded(browser.get(feed_path(browser)).content),
    }


ALL = dict.fromkeys(("page", "ics", "list", "month", "feed"), True)
NONE = dict.fromkeys(ALL, False)
# The feed holds one's registrations, one's own groups' events and the events one's brand
# is invited to: an event one may open but is none of these is on the pages, not in the
# feed (alliance staff can open every event; their feed is not every event).
PAGES_ONLY = ALL | {"feed": False}


def test_group_event_is_the_groups(
    db: Session, world: World, events: Events, client_as: ClientAs
) -> None:
    """The apparel brands and the organisers see apparel's event everywhere; a brand of
    another group finds it nowhere, and registering for it is a 404 too."""
    for person in (world.member_a, world.member_b, world.coordinator):
        assert sees(client_as(person), events.group) == ALL, person.name
    assert sees(client_as(world.alliance_admin), events.group) == PAGES_ONLY
    outsider = client_as(world.member_c)
    assert sees(outsider, events.group) == NONE
    assert outsider.post(f"/events/{events.group.id}/register").status_code == 404
    assert outsider.get(f"/events/{events.group.id}/attendees.csv").status_code == 404


def test_invited_event_is_the_invited_brands_and_organisers(
    db: Session, world: World, events: Events, client_as: ClientAs
) -> None:
    """Brand C is invited: its people and the organisers see the event; apparel's own
    brands, not invited, do not."""
    assert sees(client_as(world.coordinator), events.invited) == ALL  # apparel's event
    for person in (world.member_c, world.admin_c):
        assert sees(client_as(person), events.invited) == ALL, person.name
    assert sees(client_as(world.alliance_admin), events.invited) == PAGES_ONLY
    for person in (world.member_a, world.admin_a, world.member_b):
        assert sees(client_as(person), events.invited) == NONE, person.name


def test_alliance_event_is_everyones(
    db: Session, world: World, events: Events, client_as: ClientAs
) -> None:
    """Every member of every brand, and the secretariat, sees the alliance-wide event."""
    for person in (world.member_a, world.member_c, world.admin_c, world.coordinator):
        assert sees(client_as(person), events.alliance) == ALL, person.name


def test_restricted_titles_never_reach_outsiders(
    db: Session, world: World, events: Events, client_as: ClientAs
) -> None:
    """The codenames in the restricted events' titles and descriptions appear in no
    answer to a person outside them (calendar, month, search, dashboard, feed, the
    refused event pages), while the people inside find them in the same places."""
    month = f"{events.group.starts_at:%Y-%m}"

    def answers(browser: TestClient, word: str, event: Event) -> str:
        paths = [
            "/",
            "/events",
            "/events?when=past",
            f"/events?view=month&month={month}",
            f"/events?view=month&month={month}&group={world.apparel.slug}",
            f"/intel/search?q={word}",  # a word of the title: the page repeats the query
            f"/events/{event.id}",
            f"/events/{event.id}.ics",
            feed_path(browser),
        ]
        return "\n".join(browser.get(path).text for path in paths)

    for canary, word, event, outsiders, insider in [
        (GROUP_CANARY, "debrief", events.group, (world.member_c, world.admin_c), world.member_a),
        (
            INVITED_CANARY,
            "moulds",
            events.invited,
            (world.member_a, world.member_b),
            world.member_c,
        ),
    ]:
        for person in outsiders:
            assert canary not in answers(client_as(person), word, event), person.name
        seen = client_as(insider)
        assert canary in seen.get("/events").text
        assert canary in seen.get(f"/events?view=month&month={month}").text
        assert canary in seen.get(f"/intel/search?q={word}").text
        assert canary in seen.get(f"/events/{event.id}").text


def test_feed_needs_no_session_and_lists_what_is_the_persons(
    db: Session,
    world: World,
    events: Events,
    settings: Settings,
    client_as: ClientAs,
    client: TestClient,
) -> None:
    """The secret address alone opens the feed: the person's registrations (here the
    invited event brand C's person signed up for), their group's events and the
    alliance's; never another group's."""
    toys_event = make_event(db, world.alliance_admin, world.toys, title="Toys group meeting")
    register(db, settings, world.member_c, events.invited)
    path = feed_path(client_as(world.member_c))

    response = client.get(path)  # a calendar application: no cookie, no session

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert "private" in response.headers["cache-control"]
    text = unfolded(response.content)
    for shown in (toys_event, events.invited, events.alliance):
        assert shown.uid in text, shown.title
    assert events.group.uid not in text


def split(path: str) -> tuple[str, str]:
    """A feed path's key and secret."""
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    key, _, secret = token.partition("-")
    return key, secret


def test_wrong_or_stale_tokens_are_404(
    db: Session, world: World, client_as: ClientAs, client: TestClient
) -> None:
    """A feed address with a wrong secret, a wrong key, another person's secret, nothing
    at all, or belonging to a person or brand since deactivated opens nothing."""
    key, secret = split(feed_path(client_as(world.member_a)))
    other_key, other_secret = split(feed_path(client_as(world.member_b)))
    c_path = feed_path(client_as(world.member_c))
    assert client.get(f"/calendar/{key}-{secret}.ics").status_code == 200  # the control

    wrong = [
        f"{key}-{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}",
        f"{key}-",
        f"{key}",
        f"{'0' * len(key)}-{secret}",
        f"{key}-{other_secret}",
        f"{other_key}-{secret}",
        "-",
        "",
    ]
    for token in wrong:
        assert client.get(f"/calendar/{token}.ics").status_code == 404, token

    world.member_c.is_active = False
    db.add(world.member_c)
    db.commit()
    assert client.get(c_path).status_code == 404

    world.brand_b.is_active = False
    db.add(world.brand_b)
    db.commit()
    assert client.get(f"/calendar/{other_key}-{other_secret}.ics").status_code == 404


def test_reset_makes_a_new_address_and_kills_the_old(
    db: Session, world: World, client_as: ClientAs, client: TestClient
) -> None:
    """After "Make a new address" the old one is a 404 at once and the new one works."""
    browser = client_as(world.member_a)
    old = feed_path(browser)

    assert browser.post("/me/calendar-feed").status_code == 303

    new = feed_path(browser)
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    assert feed_path(browser) == new  # the settings page keeps showing the new one


def test_feed_secret_is_compared_in_constant_time(
    db: Session,
    world: World,
    client_as: ClientAs,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The secret's hash is checked with hmac.compare_digest, also for an unknown key, so
    the time a wrong token takes does not tell how much of it was right."""
    key, secret = split(feed_path(client_as(world.member_a)))
    compared: list[tuple[Any, Any]] = []
    real: Callable[[Any, Any], bool] = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    wrong_hash = hashlib.sha256(b"not-the-secret").hexdigest()

    assert client.get(f"/calendar/{key}-not-the-secret.ics").status_code == 404
    assert client.get(f"/calendar/{'f' * len(key)}-not-the-secret.ics").status_code == 404
    assert client.get(f"/calendar/{key}-{secret}.ics").status_code == 200

    right_hash = hashlib.sha256(secret.encode()).hexdigest()
    hashes = [pair for pair in compared if wrong_hash in pair or right_hash in pair]
    assert len(hashes) == 3
    assert (right_hash, right_hash) in hashes


def test_people_of_a_new_brand_see_alliance_events_only(
    db: Session, events: Events, client_as: ClientAs
) -> None:
    """A brand in no working group yet sees the alliance's events and nothing else."""
    newcomer: Person = factories.make_person(db, factories.make_brand(db))
    browser = client_as(newcomer)
    assert sees(browser, events.alliance) == ALL
    assert sees(browser, events.group) == NONE
    assert sees(browser, events.invited) == NONE
