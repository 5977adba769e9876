"""The authorization matrix of the impact pages and referrals: every route, asked by every
role of the main matrix (tests/test_authorization_matrix.py), with the answer each must get.

Same conventions as the main matrix. The dashboard's pages are asked for the side's own
working group (`?scope=`), so the columns tell a group's insiders from the others; the
annual report is last year's, still a draft.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from sqlalchemy import Connection
from sqlmodel import Session, select

from hub.clock import utcnow
from hub.groups.models import WorkingGroup
from hub.impact.models import (
    GroupNarrative,
    ImpactReport,
    Referral,
    ReferralStatus,
    ReferralUpdate,
)
from hub.intel.models import IntelReport, Tlp
from hub.members.models import Person
from tests.conftest import ClientAs, World
from tests.impact.factories import make_referral
from tests.intel.factories import make_report
from tests.test_authorization_matrix import (
    COLUMNS,
    DONE,
    ROLES,
    SIGN_IN,
    Answer,
    _browser,
    ask,
)

# fmt: off
IMPACT_MATRIX: dict[tuple[str, str], tuple[Answer, ...]] = {
    # (method, path template): answers in the order of ROLES
    #    anonym.  member   b-admin  other-b  coord.   other-c  alliance
    # A working group's own figures: its brands, its coordinators and alliance staff.
    ("GET", "/impact"):
        (SIGN_IN, 200,     200,     403,     200,     403,     200),
    ("GET", "/impact/export.csv"):
        (SIGN_IN, 200,     200,     403,     200,     403,     200),
    ("GET", "/impact/rows"):
        (SIGN_IN, 200,     200,     403,     200,     403,     200),
    # A draft report: for those who write its sections (any coordinator) and alliance staff.
    ("GET", "/impact/report"):
        (SIGN_IN, 404,     404,     404,     200,     200,     200),
    # A group's section: its coordinators and alliance staff.
    ("POST", "/impact/report/narrative"):
        (SIGN_IN, 403,     403,     403,     DONE,    403,     DONE),
    ("POST", "/impact/report/publish"):
        (SIGN_IN, 403,     403,     403,     403,     403,     DONE),
    # Referrals: the list holds what each may read. A referral of a TLP:AMBER report opens
    # to whoever may read the report; brand admins of the group and its coordinators refer
    # cases and record their outcomes (a brand admin on their brand's referrals).
    ("GET", "/referrals"):
        (SIGN_IN, 200,     200,     200,     200,     200,     200),
    ("GET", "/referrals/new"):
        (SIGN_IN, 403,     200,     404,     200,     404,     200),
    ("POST", "/referrals"):
        (SIGN_IN, 403,     DONE,    404,     DONE,    404,     DONE),
    ("GET", "/referrals/{referral_id}"):
        (SIGN_IN, 200,     200,     404,     200,     404,     200),
    ("POST", "/referrals/{referral_id}/outcome"):
        (SIGN_IN, 403,     DONE,    404,     DONE,    404,     DONE),
}
# fmt: on

LAST_YEAR = str(utcnow().year - 1)


@dataclass(frozen=True)
class ImpactSide:
    group: WorkingGroup
    report: IntelReport  # TLP:AMBER, by the side's member
    referral: Referral  # of `report`, by the side's brand admin

    def url(self, path: str) -> str:
        if path == "/referrals/new":
            return f"{path}?report={self.report.id}"
        if "{referral_id}" in path:
            return path.format(referral_id=self.referral.id)
        scoped = f"scope={self.group.slug}"
        if path == "/impact/rows":
            return f"{path}?figure=reports&{scoped}"
        if path in ("/impact", "/impact/export.csv"):
            return f"{path}?{scoped}"
        if path == "/impact/report":
            return f"{path}?year={LAST_YEAR}"
        return path


def _side(db: Session, group: WorkingGroup, member: Person, admin: Person) -> ImpactSide:
    report = make_report(db, member, group, Tlp.amber, title=f"Referred in {group.name}")
    return ImpactSide(group, report, make_referral(db, admin, reports=[report]))


def _build_sides(db: Session, w: World) -> dict[str, ImpactSide]:
    return {
        "apparel": _side(db, w.apparel, w.member_a, w.admin_a),
        "toys": _side(db, w.toys, w.member_c, w.admin_c),
    }


@pytest.fixture(scope="module")
def sides(module_db: Session, module_world: World) -> dict[str, ImpactSide]:
    return _build_sides(module_db, module_world)


@pytest.fixture
def connection(sides: dict[str, ImpactSide], savepoint: Connection) -> Connection:
    return savepoint


@pytest.fixture
def world(module_world: World) -> World:
    return module_world


def _report(db: Session) -> ImpactReport | None:
    return db.exec(select(ImpactReport).where(ImpactReport.year == int(LAST_YEAR))).first()


FORMS: dict[tuple[str, str], Callable[[ImpactSide], Mapping[str, str | list[str]]]] = {
    ("POST", "/impact/report/narrative"): lambda t: {
        "year": LAST_YEAR,
        "group": t.group.slug,
        "body": "Written by the matrix.",
        "seen": "",
    },
    ("POST", "/impact/report/publish"): lambda t: {"year": LAST_YEAR},
    ("POST", "/referrals"): lambda t: {
        "agency": "Matrix Police",
        "jurisdiction": "Guangdong",
        "country": "CN",
        "sent_on": "2026-01-05",
        "contact": "",
        "reference": "M-1",
        "summary": "Referred by the matrix.",
        "report": [str(t.report.id)],
    },
    ("POST", "/referrals/{referral_id}/outcome"): lambda t: {
        "status": ReferralStatus.accepted,
        "raid_on": "",
        "suspects_arrested": "0",
        "facilities_closed": "0",
        "goods_seized": "0",
        "goods_value": "0",
        "goods_currency": "CNY",
        "note": "Recorded by the matrix.",
        "version": str(t.referral.version),
    },
}

FILES: dict[tuple[str, str], Callable[[ImpactSide], dict[str, tuple[str, bytes, str]]]] = {}

EFFECTS: dict[tuple[str, str], Callable[[Session, ImpactSide], bool]] = {
    ("POST", "/impact/report/narrative"): lambda db, t: (
        db.exec(
            select(GroupNarrative).where(
                GroupNarrative.group_id == t.group.id,
                GroupNarrative.body_md == "Written by the matrix.",
            )
        ).first()
        is not None
    ),
    ("POST", "/impact/report/publish"): lambda db, t: (
        (report := _report(db)) is not None and report.published_at is not None
    ),
    ("POST", "/referrals"): lambda db, t: (
        db.exec(select(Referral).where(Referral.agency == "Matrix Police")).first() is not None
    ),
    ("POST", "/referrals/{referral_id}/outcome"): lambda db, t: (
        db.exec(
            select(ReferralUpdate).where(
                ReferralUpdate.referral_id == t.referral.id,
                ReferralUpdate.note == "Recorded by the matrix.",
            )
        ).first()
        is not None
    ),
}

CASES = [
    pytest.param(method, path, role, answer, id=f"{method} {path}-{role}")
    for (method, path), answers in IMPACT_MATRIX.items()
    for role, answer in zip(ROLES, answers, strict=True)
]


@pytest.mark.parametrize(("method", "path", "role", "answer"), CASES)
def test_impact_route_answers_role(
    method: str,
    path: str,
    role: str,
    answer: Answer,
    app: FastAPI,
    db: Session,
    world: World,
    sides: dict[str, ImpactSide],
    client_as: ClientAs,
) -> None:
    """The route answers the role as the matrix says, and a form acts only when allowed."""
    browser = _browser(app, client_as, world, role)
    target = sides[COLUMNS[role][1]]
    ask(method, path, role, answer, db, target, browser, FORMS, EFFECTS, FILES)
