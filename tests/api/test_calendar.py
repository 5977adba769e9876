"""Test-buy campaigns and events through the API: lists and details hold what the caller
may see, worked out here from the rules (draft campaigns are their runners'; a group's
events are the group's; invited events the invited brands'), never an online meeting's
link, and events page by cursor in the order they happen."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlmodel import Session, func, select

from hub.api.models import TokenKind
from hub.clock import as_utc, utcnow
from hub.config import Settings
from hub.events.models import Audience, Event, EventInvite
from hub.groups.models import WorkingGroup
from hub.members.models import Person
from hub.testbuys.models import Campaign, CampaignStatus
from tests.api.factories import V1, api_client, problem_of, token_for, walk
from tests.conftest import ClientAs, World
from tests.events.factories import make_event, register
from tests.testbuys.factories import make_campaign, sign_up

MEETING_LINK = "https://meet.example/j/4477-secret-room"


@dataclass(frozen=True)
class Viewer:
    """What the rules need to know about whoever calls."""

    person: Person
    groups: frozenset[int]  # the groups of their brand
    coordinates: frozenset[int] = frozenset()
    alliance_admin: bool = False
    brand_token: bool = False

    def sees_campaign(self, campaign: Campaign) -> bool:
        if self.alliance_admin and not self.brand_token:
            return True
        if campaign.group_id in self.coordinates and not self.brand_token:
            return True
        return campaign.group_id in self.groups and campaign.status != CampaignStatus.draft

    def sees_event(self, event: Event, invited: frozenset[int]) -> bool:
        if self.alliance_admin and not self.brand_token:
            return True
        if event.group_id in self.coordinates and not self.brand_token:
            return True
        if event.audience == Audience.alliance:
            return True
        if event.audience == Audience.group:
            return event.group_id in self.groups
        return self.person.brand_id in invited


@dataclass
class Calendar:
    campaigns: dict[str, Campaign]
    events: dict[str, Event]
    invited: dict[int, frozenset[int]]  # event id: the brands invited
    viewers: dict[str, Viewer]
    secrets: dict[str, str]

    def campaign_ids(
        self, viewer: str, keep: Callable[[Campaign], bool] = lambda c: True
    ) -> list[int]:
        """Newest first."""
        who = self.viewers[viewer]
        return sorted(
            (c.id or 0 for c in self.campaigns.values() if who.sees_campaign(c) and keep(c)),
            reverse=True,
        )

    def event_ids(self, viewer: str, keep: Callable[[Event], bool]) -> list[int]:
        """Soonest first; events starting together in the order they were made."""
        who = self.viewers[viewer]
        seen = [
            e
            for e in self.events.values()
            if who.sees_event(e, self.invited.get(e.id or 0, frozenset())) and keep(e)
        ]
        return [e.id or 0 for e in sorted(seen, key=lambda e: (as_utc(e.starts_at), e.id))]


@pytest.fixture(scope="module")
def calendar(module_db: Session, module_world: World, settings: Settings) -> Calendar:
    """Built once for the module: each test runs in a savepoint of it (see `connection`)."""
    return _build_calendar(module_db, module_world, settings)


@pytest.fixture
def connection(calendar: Calendar, savepoint: Connection) -> Connection:
    """Every test starts from the shared world and calendar, and its changes are undone."""
    return savepoint


@pytest.fixture
def world(module_world: World) -> World:
    """The world the calendar was built in, not a second one."""
    return module_world


def _build_calendar(db: Session, world: World, settings: Settings) -> Calendar:
    apparel, toys = world.apparel.id or 0, world.toys.id or 0
    campaigns = {
        "apparel draft": make_campaign(
            db, world.coordinator, world.apparel, status=CampaignStatus.draft
        ),
        "apparel open": make_campaign(db, world.coordinator, world.apparel),
        "apparel closed": make_campaign(
            db, world.coordinator, world.apparel, status=CampaignStatus.closed
        ),
        "apparel running": make_campaign(
            db, world.coordinator, world.apparel, status=CampaignStatus.running
        ),
        "toys open": make_campaign(db, world.alliance_admin, world.toys),
        "toys draft": make_campaign(
            db, world.alliance_admin, world.toys, status=CampaignStatus.draft
        ),
    }
    sign_up(db, world.admin_a, campaigns["apparel open"])
    week = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=7)
    events: dict[str, Event] = {}

    def event(name: str, organiser: Person, group: WorkingGroup | None, **options: Any) -> None:
        events[name] = make_event(db, organiser, group, title=f"Event: {name}", **options)

    # Three apparel events at the same moment: their order is their id.
    for n in range(3):
        event(f"apparel together {n}", world.coordinator, world.apparel, starts=week)
    event("apparel later", world.coordinator, world.apparel, starts=week + timedelta(days=3))
    event("apparel sooner", world.coordinator, world.apparel, starts=week - timedelta(days=3))
    event("toys", world.alliance_admin, world.toys, starts=week + timedelta(days=1))
    event(
        "invited",
        world.coordinator,
        world.apparel,
        starts=week + timedelta(days=2),
        audience="invited",
        invited=[world.brand_c.slug],
    )
    event(
        "alliance",
        world.alliance_admin,
        None,
        starts=week,
        audience="alliance",
        hours=8,
        kind="conference",
    )
    event(
        "online",
        world.coordinator,
        world.apparel,
        starts=week + timedelta(days=5),
        attendance="online",
        online_url=MEETING_LINK,
    )
    event("past", world.coordinator, world.apparel, starts=week + timedelta(days=4))
    past = events["past"]
    past.starts_at = week - timedelta(days=60)
    past.ends_at = past.starts_at + timedelta(hours=3)
    db.add(past)
    db.commit()
    for person in (world.member_a, world.coordinator, world.alliance_admin):
        register(db, settings, person, events["online"])
    invited = {
        events["invited"].id or 0: frozenset(
            db.exec(
                select(EventInvite.brand_id).where(EventInvite.event_id == events["invited"].id)
            )
        )
    }
    assert invited[events["invited"].id or 0] == {world.brand_c.id}
    viewers = {
        "member_a": Viewer(world.member_a, frozenset({apparel})),
        "admin_a": Viewer(world.admin_a, frozenset({apparel})),
        "admin_a brand token": Viewer(world.admin_a, frozenset({apparel}), brand_token=True),
        "member_b": Viewer(world.member_b, frozenset({apparel})),
        "member_c": Viewer(world.member_c, frozenset({toys})),
        "admin_c brand token": Viewer(world.admin_c, frozenset({toys}), brand_token=True),
        "coordinator": Viewer(world.coordinator, frozenset(), frozenset({apparel})),
        "alliance_admin": Viewer(world.alliance_admin, frozenset(), alliance_admin=True),
    }
    secrets = {
        name: token_for(
            db, viewer.person, TokenKind.brand if viewer.brand_token else TokenKind.personal
        )
        for name, viewer in viewers.items()
    }
    db.commit()
    return Calendar(campaigns, events, invited, viewers, secrets)


VIEWERS = [
    "member_a",
    "admin_a",
    "admin_a brand token",
    "member_b",
    "member_c",
    "admin_c brand token",
    "coordinator",
    "alliance_admin",
]


def _tool(app: FastAPI, calendar: Calendar, viewer: str) -> TestClient:
    return api_client(app, calendar.secrets[viewer])


def _ids(pages: list[list[dict[str, Any]]]) -> list[int]:
    return [item["id"] for page in pages for item in page]


def test_the_calendar_is_all_in_the_database(db: Session, calendar: Calendar) -> None:
    """The expectations count from the calendar's rows: there are no others."""
    assert db.exec(select(func.count()).select_from(Event)).one() == len(calendar.events)
    assert db.exec(select(func.count()).select_from(Campaign)).one() == len(calendar.campaigns)


# --- Campaigns -----------------------------------------------------------------------


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("limit", [1, 2, 25])
def test_the_campaign_list_holds_what_the_caller_may_see(
    app: FastAPI, calendar: Calendar, viewer: str, limit: int
) -> None:
    """Newest first, page by page: the published campaigns of the caller's groups, and
    every campaign of a group they run; drafts only to their runners."""
    expected = calendar.campaign_ids(viewer)
    assert expected
    ids = _ids(walk(_tool(app, calendar, viewer), "/campaigns", limit=limit))
    assert ids == expected


@pytest.mark.parametrize("viewer", ["member_a", "coordinator", "alliance_admin"])
@pytest.mark.parametrize("status", ["draft", "open", "closed", "running"])
def test_the_campaign_list_filters_on_status(
    app: FastAPI, calendar: Calendar, viewer: str, status: str
) -> None:
    expected = calendar.campaign_ids(viewer, lambda c: c.status == status)
    ids = _ids(walk(_tool(app, calendar, viewer), "/campaigns", limit=2, status=status))
    assert ids == expected


@pytest.mark.parametrize("viewer", VIEWERS)
def test_a_campaign_opens_only_to_those_who_see_it(
    app: FastAPI, calendar: Calendar, viewer: str
) -> None:
    """Each campaign answers 200 to those who see it and otherwise the same 404 as a
    campaign that does not exist."""
    tool = _tool(app, calendar, viewer)
    nothing = problem_of(tool.get(f"{V1}/campaigns/{10**6}"), 404)
    for name, campaign in calendar.campaigns.items():
        response = tool.get(f"{V1}/campaigns/{campaign.id}")
        if calendar.viewers[viewer].sees_campaign(campaign):
            assert response.status_code == 200, name
            assert response.json()["title"] == campaign.title
        else:
            assert problem_of(response, 404) == nothing, name
            assert campaign.title not in response.text


def test_draft_campaigns_are_their_runners_only(app: FastAPI, calendar: Calendar) -> None:
    draft = calendar.campaigns["apparel draft"]
    for viewer, sees in [
        ("member_a", False),
        ("admin_a", False),
        ("member_b", False),
        ("coordinator", True),
        ("alliance_admin", True),
    ]:
        tool = _tool(app, calendar, viewer)
        assert (tool.get(f"{V1}/campaigns/{draft.id}").status_code == 200) == sees, viewer
        listed = _ids(walk(tool, "/campaigns", limit=100))
        assert (draft.id in listed) == sees, viewer


def test_a_campaign_says_how_the_callers_brand_signed_up(
    app: FastAPI, calendar: Calendar, world: World
) -> None:
    """Brand A signed up for the open apparel campaign; brand B did not."""
    campaign = calendar.campaigns["apparel open"]
    for viewer, signup in [
        ("member_a", "confirmed"),
        ("admin_a brand token", "confirmed"),
        ("member_b", None),
    ]:
        body = _tool(app, calendar, viewer).get(f"{V1}/campaigns/{campaign.id}").json()
        assert body["my_brand_signup"] == signup, viewer
        assert body["brands_signed_up"] == 1
        assert (body["group"], body["status"]) == (world.apparel.slug, "open")


# --- Events --------------------------------------------------------------------------


def _upcoming(event: Event) -> bool:
    return as_utc(event.ends_at) > utcnow()


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("limit", [1, 2, 4, 25])
def test_walking_every_page_of_events_gives_each_visible_event_once(
    app: FastAPI, calendar: Calendar, viewer: str, limit: int
) -> None:
    """By default the events not over yet, soonest first, those starting together in a
    stable order: no event twice, none missing, none the caller may not see."""
    expected = calendar.event_ids(viewer, _upcoming)
    assert expected
    pages = walk(_tool(app, calendar, viewer), "/events", limit=limit)
    ids = _ids(pages)
    assert len(ids) == len(set(ids)), "an event came twice"
    assert ids == expected
    assert all(len(page) == limit for page in pages[:-1])


def test_events_from_and_to_choose_the_days(app: FastAPI, calendar: Calendar) -> None:
    """`from` reaches back to past events; `to` stops before the events starting later."""
    past = calendar.events["past"]
    later = calendar.events["apparel later"]
    tool = _tool(app, calendar, "member_a")
    since = as_utc(past.starts_at).date().isoformat()
    everything = _ids(walk(tool, "/events", limit=3, **{"from": since}))
    assert everything == calendar.event_ids("member_a", lambda e: True)
    until = as_utc(later.starts_at).date()
    before_later = _ids(walk(tool, "/events", limit=3, to=until.isoformat()))
    assert before_later == calendar.event_ids(
        "member_a", lambda e: _upcoming(e) and as_utc(e.starts_at).date() < until
    )
    assert later.id not in before_later and past.id not in before_later


@pytest.mark.parametrize("viewer", ["member_b", "member_c", "coordinator"])
def test_events_filter_on_group(
    app: FastAPI, calendar: Calendar, world: World, viewer: str
) -> None:
    by_group = _ids(walk(_tool(app, calendar, viewer), "/events", limit=2, group="apparel-t"))
    assert by_group == calendar.event_ids(
        viewer, lambda e: _upcoming(e) and e.group_id == world.apparel.id
    )


@pytest.mark.parametrize("viewer", ["member_b", "member_c", "coordinator"])
@pytest.mark.parametrize("kind", ["conference", "workshop"])
def test_events_filter_on_kind(app: FastAPI, calendar: Calendar, viewer: str, kind: str) -> None:
    by_kind = _ids(walk(_tool(app, calendar, viewer), "/events", limit=2, kind=kind))
    assert by_kind == calendar.event_ids(viewer, lambda e: _upcoming(e) and e.kind == kind)
    assert by_kind


@pytest.mark.parametrize("viewer", VIEWERS)
def test_an_event_opens_only_to_those_who_see_it(
    app: FastAPI, calendar: Calendar, viewer: str
) -> None:
    """A group's event to the group, an invited-brands event to the invited brands and the
    organisers, an alliance-wide one to all; to anyone else the 404 of no event."""
    tool = _tool(app, calendar, viewer)
    nothing = problem_of(tool.get(f"{V1}/events/{10**6}"), 404)
    who = calendar.viewers[viewer]
    for name, event in calendar.events.items():
        response = tool.get(f"{V1}/events/{event.id}")
        if who.sees_event(event, calendar.invited.get(event.id or 0, frozenset())):
            assert response.status_code == 200, name
            assert response.json()["title"] == event.title
        else:
            assert problem_of(response, 404) == nothing, name
            assert event.title not in response.text


def test_invited_events_are_the_invited_brands(app: FastAPI, calendar: Calendar) -> None:
    """Organised in apparel for brand C: brand C and the organisers see it, apparel's
    brands do not."""
    invited = calendar.events["invited"]
    for viewer, sees in [
        ("member_c", True),
        ("admin_c brand token", True),
        ("coordinator", True),
        ("member_a", False),
        ("member_b", False),
        ("admin_a brand token", False),
    ]:
        tool = _tool(app, calendar, viewer)
        assert (tool.get(f"{V1}/events/{invited.id}").status_code == 200) == sees, viewer
        assert (invited.id in _ids(walk(tool, "/events", limit=100))) == sees, viewer


@pytest.mark.parametrize("viewer", ["member_a", "coordinator", "alliance_admin"])
def test_the_meeting_link_never_leaves_through_the_api(
    app: FastAPI, calendar: Calendar, client_as: ClientAs, world: World, viewer: str
) -> None:
    """People holding a seat (and the organisers) find the link on the event's page in the
    hub; the API gives it to nobody, in the list or the event."""
    online = calendar.events["online"]
    person = calendar.viewers[viewer].person
    assert MEETING_LINK in client_as(person).get(f"/events/{online.id}").text
    tool = _tool(app, calendar, viewer)
    one = tool.get(f"{V1}/events/{online.id}")
    assert one.status_code == 200
    assert one.json()["my_registration"] == "confirmed"
    assert one.json()["attendance"] == "online"
    listed = tool.get(f"{V1}/events", params={"limit": 100})
    assert online.id in [item["id"] for item in listed.json()["items"]]
    for response in (one, listed):
        assert MEETING_LINK not in response.text
        assert "meet.example" not in response.text


def test_campaign_and_event_links_open_their_pages_in_the_hub(
    app: FastAPI, calendar: Calendar, client_as: ClientAs, world: World
) -> None:
    tool = _tool(app, calendar, "member_a")
    browser = client_as(world.member_a)
    campaign = tool.get(f"{V1}/campaigns/{calendar.campaigns['apparel open'].id}").json()
    event = tool.get(f"{V1}/events/{calendar.events['apparel later'].id}").json()
    for url, shows in [
        (campaign["url"], campaign["title"]),
        (event["url"], event["title"]),
        (event["ics_url"], "BEGIN:VCALENDAR"),
    ]:
        page = browser.get(url)
        assert page.status_code == 200, url
        assert shows in page.text, url


# --- Cursors -------------------------------------------------------------------------

BAD_CURSORS = ["this is not a cursor!", "", "abc", "-5", "9" * 19, "x" * 201, "__4A"]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
@pytest.mark.parametrize("path", ["/campaigns", "/events"])
def test_a_cursor_the_api_did_not_make_is_a_400_problem(
    app: FastAPI, calendar: Calendar, path: str, cursor: str
) -> None:
    tool = _tool(app, calendar, "alliance_admin")
    problem_of(tool.get(V1 + path, params={"cursor": cursor}), 400, "cursor")


def test_one_lists_cursor_is_no_cursor_for_another(app: FastAPI, calendar: Calendar) -> None:
    """An events cursor (a time and an id) means nothing to the id-ordered lists, and
    theirs nothing to the events list: 400, not a wrong page."""
    tool = _tool(app, calendar, "alliance_admin")
    cursors = {
        path: tool.get(V1 + path, params={"limit": 1}).json()["next_cursor"]
        for path in ("/events", "/campaigns")
    }
    assert all(cursors.values())
    problem_of(tool.get(f"{V1}/campaigns", params={"cursor": cursors["/events"]}), 400, "cursor")
    problem_of(tool.get(f"{V1}/reports", params={"cursor": cursors["/events"]}), 400, "cursor")
    problem_of(tool.get(f"{V1}/events", params={"cursor": cursors["/campaigns"]}), 400, "cursor")
