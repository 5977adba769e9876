"""The authorization matrix of the JSON API: every /api/v1 operation, asked by every role
of the main matrix (tests/test_authorization_matrix.py), with the answer each must get.

The anonymous column sends no token (401, with a Bearer challenge); the others send a
personal read-and-write token of the column's person. Answers are HTTP statuses, errors
RFC 9457 problem details: a thing the caller may not see is a 404, an action they may not
take a 403, a rule of the thing's state a 409. Each POST sends a valid JSON body, and its
effect is checked to have happened exactly when allowed (200 or 201). The main file's
meta-tests count these rows too, so an API operation without a row fails the suite.

The columns act on the apparel side, but other-brand-admin (admin_c, of toys, on the
apparel things) and other-coordinator (the apparel coordinator, on the toys things).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Connection
from sqlmodel import Session, select

from hub.api.models import Scope, TokenKind
from hub.events.models import Event
from hub.groups.models import WorkingGroup
from hub.intel.models import IntelReport, Sighting, SightingKind, Tlp
from hub.members.models import Person
from hub.testbuys.models import Campaign
from tests import factories
from tests.api.factories import PROBLEM, api_client, problem_of, token_for
from tests.conftest import World
from tests.events.factories import make_event
from tests.intel.factories import make_report
from tests.test_authorization_matrix import COLUMNS, ROLES, Answer, _carried_out
from tests.testbuys.factories import make_campaign

# fmt: off
API_MATRIX: dict[tuple[str, str], tuple[Answer, ...]] = {
    # (method, path template): answers in the order of ROLES
    #    anonym.  member   b-admin  other-b  coord.   other-c  alliance
    # The API's own description is public: it is how a tool learns to call.
    ("GET", "/api/v1/openapi.json"):
        (200,     200,     200,     200,     200,     200,     200),
    # Lists hold what each caller may see; nobody is refused one.
    ("GET", "/api/v1/me"):
        (401,     200,     200,     200,     200,     200,     200),
    ("GET", "/api/v1/groups"):
        (401,     200,     200,     200,     200,     200,     200),
    ("GET", "/api/v1/reports"):
        (401,     200,     200,     200,     200,     200,     200),
    # TLP:AMBER: the group's brands, its coordinators and alliance admins.
    ("GET", "/api/v1/reports/{report_id}"):
        (401,     200,     200,     404,     200,     404,     200),
    # Posting: brands in the group and its coordinators. A group not among the caller's
    # is not found; alliance admins find every group, but are in none.
    ("POST", "/api/v1/reports"):
        (401,     201,     201,     404,     201,     404,     403),
    # "Seen it too" is for other brands than the author's (the secretariat counts as one).
    ("POST", "/api/v1/reports/{report_id}/sightings"):
        (401,     409,     409,     404,     200,     404,     200),
    # An open campaign: the group's brands, its coordinators and alliance admins.
    ("GET", "/api/v1/campaigns"):
        (401,     200,     200,     200,     200,     200,     200),
    ("GET", "/api/v1/campaigns/{campaign_id}"):
        (401,     200,     200,     404,     200,     404,     200),
    # A group's event: the group's brands, its coordinators and alliance admins.
    ("GET", "/api/v1/events"):
        (401,     200,     200,     200,     200,     200,     200),
    ("GET", "/api/v1/events/{event_id}"):
        (401,     200,     200,     404,     200,     404,     200),
}
# fmt: on


@dataclass(frozen=True)
class ApiSide:
    """The things of one side of the world that API calls act on."""

    group: WorkingGroup
    report: IntelReport  # TLP:AMBER in `group`, by a member of the side's brand
    campaign: Campaign  # open, of `group`
    event: Event  # for `group`'s brands

    def url(self, path: str) -> str:
        """The concrete URL for a route's path template."""
        return path.format(
            report_id=self.report.id, campaign_id=self.campaign.id, event_id=self.event.id
        )


@dataclass(frozen=True)
class ApiWorld:
    sides: dict[str, ApiSide]
    writers: dict[str, str]  # COLUMNS person field: a personal read-and-write token
    readers: dict[str, str]  # COLUMNS person field: a personal read token


def _side(db: Session, group: WorkingGroup, runner: Person, author: Person) -> ApiSide:
    return ApiSide(
        group=group,
        report=make_report(db, author, group, Tlp.amber, f"{group.name} API matrix report"),
        campaign=make_campaign(db, runner, group),
        event=make_event(db, runner, group),
    )


@pytest.fixture(scope="module")
def api_world(module_db: Session, module_world: World) -> ApiWorld:
    """Built once for the module: each case runs in a savepoint of it (see `connection`)."""
    world = module_world
    toys_coordinator = factories.make_person(module_db, world.secretariat, name="Toby Coord")
    factories.appoint(module_db, world.toys, toys_coordinator)
    module_db.commit()
    sides = {
        "apparel": _side(module_db, world.apparel, world.coordinator, world.member_a),
        "toys": _side(module_db, world.toys, toys_coordinator, world.member_c),
    }
    people = {field for field, _ in COLUMNS.values() if field is not None}
    writers = {field: token_for(module_db, getattr(world, field)) for field in people}
    readers = {
        field: token_for(module_db, getattr(world, field), TokenKind.personal, Scope.read)
        for field in people
    }
    module_db.commit()
    return ApiWorld(sides, writers, readers)


@pytest.fixture
def connection(api_world: ApiWorld, savepoint: Connection) -> Connection:
    """Every case starts from the shared world and things, and its changes are undone."""
    return savepoint


@pytest.fixture
def world(module_world: World) -> World:
    """The world the things were built in, not a second one."""
    return module_world


# What each POST sends: valid data, so an allowed request really does the thing.
BODIES: dict[tuple[str, str], Callable[[ApiSide], Mapping[str, Any]]] = {
    ("POST", "/api/v1/reports"): lambda t: {
        "group": t.group.slug,
        "title": "Posted by the API matrix",
        "marketplace": "AliExpress",
        "tlp": Tlp.amber,
        "indicators": [{"kind": "phone", "value": "+8613800138000"}],
    },
    ("POST", "/api/v1/reports/{report_id}/sightings"): lambda t: {
        "kind": SightingKind.seen,
        "note": "Seen by the API matrix.",
    },
}


# What each POST changes; checked to have happened when allowed and not when refused.
EFFECTS: dict[tuple[str, str], Callable[[Session, ApiSide], bool]] = {
    ("POST", "/api/v1/reports"): lambda db, t: (
        db.exec(
            select(IntelReport).where(
                IntelReport.group_id == t.group.id, IntelReport.title == "Posted by the API matrix"
            )
        ).first()
        is not None
    ),
    ("POST", "/api/v1/reports/{report_id}/sightings"): lambda db, t: (
        db.exec(
            select(Sighting).where(
                Sighting.report_id == t.report.id, Sighting.note == "Seen by the API matrix."
            )
        ).first()
        is not None
    ),
}


def ask_api(
    method: str,
    path: str,
    role: str,
    answer: Answer,
    db: Session,
    target: ApiSide,
    tool: TestClient,
    bodies: Mapping[tuple[str, str], Callable[[ApiSide], Mapping[str, Any]]],
    effects: Mapping[tuple[str, str], Callable[[Session, ApiSide], bool]],
) -> Response:
    """Send one API case and check its answer (JSON, or problem+json for an error), and
    for a POST that its effect happened exactly when allowed."""
    url = target.url(path)
    effect = effects.get((method, path))
    if effect is not None:
        assert not effect(db, target), "the effect is already there before the request"
    if method == "GET":
        response = tool.get(url)
    else:
        response = tool.request(method, url, json=bodies[(method, path)](target))
    where = f"{method} {url} for {role} answered {response.status_code}: {response.text[:300]}"
    assert isinstance(answer, int), "API answers are HTTP statuses"
    if answer >= 400:
        problem_of(response, answer)
        if answer == 401:
            assert response.headers["www-authenticate"].startswith("Bearer "), where
    else:
        assert response.status_code == answer, where
        assert response.headers["content-type"].startswith("application/json"), where
    if effect is not None:
        db.expire_all()
        assert effect(db, target) == _carried_out(answer), f"effect of {method} {url} for {role}"
    return response


CASES = [
    pytest.param(method, path, role, answer, id=f"{method} {path}-{role}")
    for (method, path), answers in API_MATRIX.items()
    for role, answer in zip(ROLES, answers, strict=True)
]


def _tool(app: FastAPI, role: str, tokens: dict[str, str]) -> TestClient:
    person_field = COLUMNS[role][0]
    return api_client(app, None if person_field is None else tokens[person_field])


@pytest.mark.parametrize(("method", "path", "role", "answer"), CASES)
def test_api_route_answers_role(
    method: str,
    path: str,
    role: str,
    answer: Answer,
    app: FastAPI,
    db: Session,
    api_world: ApiWorld,
) -> None:
    """The operation answers the role as the matrix says, and a POST acts only when
    allowed."""
    target = api_world.sides[COLUMNS[role][1]]
    tool = _tool(app, role, api_world.writers)
    ask_api(method, path, role, answer, db, target, tool, BODIES, EFFECTS)


READ_ONLY_CASES = [
    pytest.param(method, path, role, id=f"{method} {path}-{role}")
    for (method, path), answers in API_MATRIX.items()
    if method != "GET"
    for role, answer in zip(ROLES, answers, strict=True)
    if answer != 401
]


@pytest.mark.parametrize(("method", "path", "role"), READ_ONLY_CASES)
def test_a_read_token_may_not_post(
    method: str, path: str, role: str, app: FastAPI, db: Session, api_world: ApiWorld
) -> None:
    """With a read token, every POST is a 403 insufficient-scope for every role, whatever
    the write token would have got, and does nothing."""
    target = api_world.sides[COLUMNS[role][1]]
    tool = _tool(app, role, api_world.readers)
    response = ask_api(method, path, role, 403, db, target, tool, BODIES, EFFECTS)
    assert response.json()["type"].endswith("#problem-insufficient-scope")


def test_the_api_description_needs_no_token_and_describes_every_row(app: FastAPI) -> None:
    """The OpenAPI document answers without a token and lists exactly the matrix's API
    operations (but itself)."""
    response = TestClient(app).get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert not response.headers["content-type"].startswith(PROBLEM)
    document = response.json()
    described = {
        (method.upper(), "/api/v1" + path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert described == set(API_MATRIX) - {("GET", "/api/v1/openapi.json")}
