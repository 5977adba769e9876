"""The authorization matrix: every route of the app, asked by every role, with the answer
each one must get. A route missing from the matrix fails the suite, so every new page is
added here with its answers before it ships.

Answers: an HTTP status, SIGN_IN (303 to /login: sign in first) or DONE (303 onwards: the
form's action was carried out). A thing the actor may not see answers 404; an action they
may not take on a thing they can see answers 403. For every form with an effect, the matrix
also checks that the effect happened when allowed (DONE, or 200 for a form that answers
with its result in place) and did not happen when refused.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import fastapi.routing
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Connection
from sqlmodel import Session, col, select
from starlette.routing import BaseRoute, Mount

from hub.auth import sessions
from hub.auth.models import IdentityProvider, WebSession
from hub.config import Settings
from hub.groups.models import Coordinator, GroupMembership, JoinRequest, RequestStatus, WorkingGroup
from hub.intel import evidence, imports
from hub.intel.models import (
    Comment,
    Evidence,
    Follow,
    GroupFollow,
    ImportJob,
    IntelReport,
    Sighting,
    SightingKind,
    Status,
    Tlp,
)
from hub.members.models import Brand, Person, Role
from hub.notify.models import Notification
from tests import factories
from tests.conftest import TEST_CSRF, ClientAs, World, session_cookie
from tests.intel.factories import actor_of, make_report, picture

SIGN_IN = "sign-in"  # 303 to /login
DONE = "done"  # 303 to the next page: the form did what it was sent to do
Answer = int | str

# Always public, no role makes a difference: not part of the matrix.
UNCHECKED_PATHS = {"/healthz", "/readyz"}

ROLES = (
    "anonymous",
    "member",  # member_a, acting on brand A and apparel (their own)
    "brand-admin",  # admin_a, on brand A (their own) and apparel
    "other-brand-admin",  # admin_c (brand C, toys), on brand A's pages and apparel
    "coordinator",  # coordinator of apparel, on apparel and brand A (in apparel)
    "other-coordinator",  # the same coordinator, on toys and brand C (in toys)
    "alliance-admin",
)

# fmt: off
MATRIX: dict[tuple[str, str], tuple[Answer, ...]] = {
    # (method, path template): answers in the order of ROLES
    #    anonym.  member   b-admin  other-b  coord.   other-c  alliance
    ("GET", "/"):
        (SIGN_IN, 200,     200,     200,     200,     200,     200),
    ("GET", "/login"):
        (200,     DONE,    DONE,    DONE,    DONE,    DONE,    DONE),
    ("POST", "/login"):
        (400,     400,     400,     400,     400,     400,     400),
    # No sign-in was started: refused on the login page, or on the dashboard when signed in.
    ("GET", "/auth/{brand_slug}/callback"):
        (400,     303,     303,     303,     303,     303,     303),
    ("POST", "/logout"):
        (SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN),
    # Anyone may change the language; a visitor's choice is kept in a cookie only (303,
    # nothing saved: tests/test_languages.py), a person's on their profile too.
    ("POST", "/language"):
        (303,     DONE,    DONE,    DONE,    DONE,    DONE,    DONE),
    ("GET", "/brands"):
        (SIGN_IN, 200,     200,     200,     200,     200,     200),
    ("GET", "/brands/{slug}"):
        (SIGN_IN, 200,     200,     200,     200,     200,     200),
    ("GET", "/brands/{slug}/people"):
        (SIGN_IN, 403,     200,     404,     403,     404,     200),
    ("POST", "/brands/{slug}/people"):
        (SIGN_IN, 403,     DONE,    404,     403,     404,     DONE),
    ("POST", "/brands/{slug}/people/{person_id}/role"):
        (SIGN_IN, 403,     DONE,    404,     403,     404,     DONE),
    ("POST", "/brands/{slug}/people/{person_id}/deactivate"):
        (SIGN_IN, 403,     DONE,    404,     403,     404,     DONE),
    ("POST", "/brands/{slug}/people/{person_id}/reactivate"):
        (SIGN_IN, 403,     DONE,    404,     403,     404,     DONE),
    ("POST", "/brands/{slug}/join-requests"):
        (SIGN_IN, 403,     DONE,    403,     403,     403,     403),
    ("GET", "/groups"):
        (SIGN_IN, 200,     200,     200,     200,     200,     200),
    ("GET", "/groups/{slug}"):
        (SIGN_IN, 200,     200,     200,     200,     200,     200),
    ("POST", "/join-requests/{request_id}/approve"):
        (SIGN_IN, 404,     404,     404,     DONE,    404,     404),
    ("POST", "/join-requests/{request_id}/refuse"):
        (SIGN_IN, 404,     404,     404,     DONE,    404,     404),
    ("GET", "/admin"):
        (SIGN_IN, 403,     403,     403,     403,     403,     200),
    ("GET", "/admin/brands/new"):
        (SIGN_IN, 403,     403,     403,     403,     403,     200),
    ("POST", "/admin/brands"):
        (SIGN_IN, 403,     403,     403,     403,     403,     DONE),
    ("GET", "/admin/groups/new"):
        (SIGN_IN, 403,     403,     403,     403,     403,     200),
    ("POST", "/admin/groups"):
        (SIGN_IN, 403,     403,     403,     403,     403,     DONE),
    ("GET", "/admin/groups/{slug}"):
        (SIGN_IN, 403,     403,     403,     403,     403,     200),
    ("POST", "/admin/groups/{slug}/coordinators"):
        (SIGN_IN, 403,     403,     403,     403,     403,     DONE),
    ("POST", "/admin/groups/{slug}/coordinators/{person_id}/remove"):
        (SIGN_IN, 403,     403,     403,     403,     403,     DONE),
    ("GET", "/admin/audit"):
        (SIGN_IN, 403,     403,     403,     403,     403,     200),
    ("GET", "/brands/{slug}/audit"):
        (SIGN_IN, 403,     200,     404,     403,     404,     200),
    ("GET", "/brands/{slug}/sso"):
        (SIGN_IN, 403,     200,     404,     403,     404,     200),
    ("POST", "/brands/{slug}/sso"):
        (SIGN_IN, 403,     DONE,    404,     403,     404,     DONE),
    ("GET", "/brands/{slug}/sso/{provider_id}"):
        (SIGN_IN, 403,     200,     404,     403,     404,     200),
    ("POST", "/brands/{slug}/sso/{provider_id}"):
        (SIGN_IN, 403,     DONE,    404,     403,     404,     DONE),
    # The provider is unreachable here: the check answers in place, listing the problems.
    ("POST", "/brands/{slug}/sso/{provider_id}/check"):
        (SIGN_IN, 403,     200,     404,     403,     404,     200),
    # Unreachable provider: back to the provider's page, which says why it could not start.
    ("POST", "/brands/{slug}/sso/{provider_id}/test-sign-in"):
        (SIGN_IN, 403,     DONE,    404,     403,     404,     DONE),
    ("POST", "/brands/{slug}/sso/{provider_id}/enable"):
        (SIGN_IN, 403,     DONE,    404,     403,     404,     DONE),
    ("POST", "/brands/{slug}/sso/{provider_id}/disable"):
        (SIGN_IN, 403,     DONE,    404,     403,     404,     DONE),
    ("GET", "/brands/{slug}/sign-ins"):
        (SIGN_IN, 403,     200,     404,     403,     404,     200),
    ("GET", "/brands/{slug}/sessions"):
        (SIGN_IN, 403,     200,     404,     403,     404,     200),
    ("POST", "/brands/{slug}/sessions/{session_id}/end"):
        (SIGN_IN, 403,     DONE,    404,     403,     404,     DONE),
    ("POST", "/brands/{slug}/people/{person_id}/sign-out"):
        (SIGN_IN, 403,     DONE,    404,     403,     404,     DONE),
    ("POST", "/brands/{slug}/sessions/end-all"):
        (SIGN_IN, 403,     DONE,    404,     403,     404,     DONE),
    # Boards: the target's report is TLP:AMBER in the target's group, by the target's member.
    # A group's board opens to everyone signed in; it lists only what each one may read.
    ("GET", "/groups/{slug}/intel"):
        (SIGN_IN, 200,     200,     200,     200,     200,     200),
    # Posting: brands in the group and the group's coordinators.
    ("GET", "/groups/{slug}/intel/new"):
        (SIGN_IN, 200,     200,     403,     200,     403,     403),
    ("POST", "/groups/{slug}/intel"):
        (SIGN_IN, DONE,    DONE,    403,     DONE,    403,     403),
    # Bulk import: like posting; an import's page is its importer's only.
    ("GET", "/groups/{slug}/intel/import"):
        (SIGN_IN, 200,     200,     403,     200,     403,     403),
    ("POST", "/groups/{slug}/intel/import"):
        (SIGN_IN, DONE,    DONE,    403,     DONE,    403,     403),
    ("GET", "/imports/{job_id}"):
        (SIGN_IN, 200,     404,     404,     404,     404,     404),
    # Anyone may follow any board: they are told only of reports they may read.
    ("POST", "/groups/{slug}/intel/follow"):
        (SIGN_IN, DONE,    DONE,    DONE,    DONE,    DONE,    DONE),
    ("GET", "/intel/indicator-row"):
        (SIGN_IN, 200,     200,     200,     200,     200,     200),
    # TLP:AMBER: the group's brands, its coordinators and alliance admins may read it.
    ("GET", "/intel/{report_id}"):
        (SIGN_IN, 200,     200,     404,     200,     404,     200),
    ("GET", "/intel/{report_id}/versions"):
        (SIGN_IN, 200,     200,     404,     200,     404,     200),
    # Only the author edits; a reader who is not the author is refused, others never see it.
    ("GET", "/intel/{report_id}/edit"):
        (SIGN_IN, 200,     403,     404,     403,     404,     403),
    ("POST", "/intel/{report_id}/edit"):
        (SIGN_IN, DONE,    403,     404,     403,     404,     403),
    # The status: the author's brand and the group's coordinators.
    ("POST", "/intel/{report_id}/status"):
        (SIGN_IN, DONE,    DONE,    404,     DONE,    404,     403),
    # Lists only what the reader may see; without a value, an empty list.
    ("GET", "/intel/indicators"):
        (SIGN_IN, 200,     200,     200,     200,     200,     200),
    # The discussion: whoever may read the report.
    ("POST", "/intel/{report_id}/comments"):
        (SIGN_IN, DONE,    DONE,    404,     DONE,    404,     DONE),
    # "Seen it too" is for other brands than the author's (the secretariat counts as one).
    ("POST", "/intel/{report_id}/sightings"):
        (SIGN_IN, 409,     409,     404,     DONE,    404,     DONE),
    ("POST", "/intel/{report_id}/sightings/withdraw"):
        (SIGN_IN, DONE,    DONE,    404,     DONE,    404,     DONE),
    ("POST", "/intel/{report_id}/follow"):
        (SIGN_IN, DONE,    DONE,    404,     DONE,    404,     DONE),
    # Everyone's own notifications.
    ("GET", "/notifications"):
        (SIGN_IN, 200,     200,     200,     200,     200,     200),
    ("POST", "/notifications/read"):
        (SIGN_IN, DONE,    DONE,    DONE,    DONE,    DONE,    DONE),
    # One notification (the column's person's): only its owner opens or clears it.
    ("GET", "/notifications/{notification_id}"):
        (SIGN_IN, DONE,    404,     404,     404,     404,     404),
    ("POST", "/notifications/{notification_id}/read"):
        (SIGN_IN, DONE,    404,     404,     404,     404,     404),
    # Evidence files: read with their report; added by the author's brand and coordinators.
    ("POST", "/intel/{report_id}/evidence"):
        (SIGN_IN, DONE,    DONE,    404,     DONE,    404,     403),
    ("GET", "/evidence/{evidence_id}"):
        (SIGN_IN, 200,     200,     404,     200,     404,     200),
    ("GET", "/evidence/{evidence_id}/thumbnail"):
        (SIGN_IN, 200,     200,     404,     200,     404,     200),
    # Search and exports: open to everyone signed in, holding only what each may read.
    ("GET", "/intel/search"):
        (SIGN_IN, 200,     200,     200,     200,     200,     200),
    ("GET", "/intel/search/export.csv"):
        (SIGN_IN, 200,     200,     200,     200,     200,     200),
    ("GET", "/groups/{slug}/intel/export.csv"):
        (SIGN_IN, 200,     200,     200,     200,     200,     200),
    ("GET", "/groups/{slug}/intel/export.stix.json"):
        (SIGN_IN, 200,     200,     200,     200,     200,     200),
    ("GET", "/intel/{report_id}/export.stix.json"):
        (SIGN_IN, 200,     200,     404,     200,     404,     200),
    ("GET", "/intel/{report_id}/print"):
        (SIGN_IN, 200,     200,     404,     200,     404,     200),
    # Moderation: the group's coordinators only.
    ("POST", "/intel/{report_id}/hide"):
        (SIGN_IN, 403,     403,     404,     DONE,    404,     403),
    ("POST", "/intel/{report_id}/pin"):
        (SIGN_IN, 403,     403,     404,     DONE,    404,     403),
    ("POST", "/intel/{report_id}/merge"):
        (SIGN_IN, 403,     403,     404,     DONE,    404,     403),
    # On a hidden report, which only its author and the coordinators still see.
    ("POST", "/intel/{report_id}/unhide"):
        (SIGN_IN, 403,     404,     404,     DONE,    404,     404),
}
# fmt: on


@dataclass(frozen=True)
class Target:
    """What one column of the matrix acts on: a brand, one of its groups, and their things."""

    brand: Brand
    domain: str  # an e-mail domain of the brand
    group: WorkingGroup  # a group the brand is in
    outside_group: WorkingGroup  # a group the brand is not in (to ask to join)
    person: Person  # an active member of the brand
    inactive: Person  # a deactivated person of the brand
    join_request: JoinRequest  # a pending request, from a newcomer brand, to join `group`
    coordinator: Person  # a coordinator of `group`
    appointee: Person  # someone who does not coordinate `group` yet
    standby: IdentityProvider  # tested, switched off; nothing answers at its issuer
    live: IdentityProvider  # switched on
    web_session: WebSession  # an open session of `person`
    report: IntelReport  # TLP:AMBER in `group`, posted by `person`
    evidence: Evidence  # a picture attached to `report`
    kept: IntelReport  # another TLP:AMBER report of `person` in `group`, to merge `report` into
    hidden: IntelReport  # a TLP:AMBER report of `person` in `group`, hidden by a coordinator
    notification: Notification  # an unread notification of `person`
    import_job: ImportJob  # an import `person` started in `group`

    def url(self, path: str) -> str:
        """The concrete URL for a route's path template."""
        if "{person_id}" in path and "/coordinators/" in path:
            person = self.coordinator
        elif path.endswith("/reactivate"):
            person = self.inactive
        else:
            person = self.person
        provider = self.live if path.endswith("/disable") else self.standby
        slug = self.brand.slug if path.startswith("/brands/") else self.group.slug
        report = self.hidden if path.endswith("/unhide") else self.report
        return path.format(
            slug=slug,
            brand_slug=self.brand.slug,
            person_id=person.id,
            request_id=self.join_request.id,
            provider_id=provider.id,
            session_id=self.web_session.id,
            report_id=report.id,
            evidence_id=self.evidence.id,
            notification_id=self.notification.id,
            job_id=self.import_job.id,
        )


def _report_form(title: str) -> dict[str, str | list[str]]:
    return {
        "title": title,
        "body_md": "Seen on a **marketplace**.",
        "category": "online_listing",
        "marketplace": "AliExpress",
        "infringement": "counterfeit",
        "confidence": "probable",
        "reliability": "B",
        "tlp": Tlp.amber,
        "recipients": "",
        "indicator_kind": ["listing_url", "phone"],
        "indicator_value": ["https://www.aliexpress.com/item/1005001234567.html", "+8613800138000"],
    }


# What each form sends: valid data, so an allowed request really does the thing.
FORMS: dict[tuple[str, str], Callable[[Target], Mapping[str, str | list[str]]]] = {
    ("POST", "/login"): lambda t: {"email": f"someone@{t.domain}", "next": "/"},
    ("POST", "/logout"): lambda t: {},
    ("POST", "/language"): lambda t: {"language": "zh_Hans", "next": "/"},
    ("POST", "/brands/{slug}/people"): lambda t: {
        "name": "Nova Newcomer",
        "email": f"nova.newcomer@{t.domain}",
        "role": Role.member,
        "job_title": "Analyst",
    },
    ("POST", "/brands/{slug}/people/{person_id}/role"): lambda t: {"role": Role.brand_admin},
    ("POST", "/brands/{slug}/people/{person_id}/deactivate"): lambda t: {},
    ("POST", "/brands/{slug}/people/{person_id}/reactivate"): lambda t: {},
    ("POST", "/brands/{slug}/join-requests"): lambda t: {
        "group_id": str(t.outside_group.id),
        "message": "We see the same counterfeits.",
    },
    ("POST", "/join-requests/{request_id}/approve"): lambda t: {"note": "Welcome."},
    ("POST", "/join-requests/{request_id}/refuse"): lambda t: {"note": "Not this year."},
    ("POST", "/admin/brands"): lambda t: {
        "name": "Maison Matrix",
        "slug": "maison-matrix",
        "country": "FR",
        "domains": "maison-matrix.example",
    },
    ("POST", "/admin/groups"): lambda t: {
        "name": "Watches (matrix)",
        "slug": "watches-matrix",
        "description": "Made by the matrix.",
    },
    ("POST", "/admin/groups/{slug}/coordinators"): lambda t: {"email": t.appointee.email},
    ("POST", "/admin/groups/{slug}/coordinators/{person_id}/remove"): lambda t: {},
    ("POST", "/brands/{slug}/sso"): lambda t: {
        "name": "Matrix Okta",
        "issuer": "https://login.matrix.example",
        "client_id": "matrix-client",
        "client_secret": "matrix-secret",
        "domains": t.domain,
    },
    ("POST", "/brands/{slug}/sso/{provider_id}"): lambda t: {
        "name": "Renamed by the matrix",
        "issuer": t.standby.issuer,
        "client_id": t.standby.client_id,
        "client_secret": "",
        "domains": t.domain,
    },
    ("POST", "/brands/{slug}/sso/{provider_id}/check"): lambda t: {},
    ("POST", "/brands/{slug}/sso/{provider_id}/test-sign-in"): lambda t: {},
    ("POST", "/brands/{slug}/sso/{provider_id}/enable"): lambda t: {},
    ("POST", "/brands/{slug}/sso/{provider_id}/disable"): lambda t: {},
    ("POST", "/brands/{slug}/sessions/{session_id}/end"): lambda t: {},
    ("POST", "/brands/{slug}/people/{person_id}/sign-out"): lambda t: {},
    ("POST", "/brands/{slug}/sessions/end-all"): lambda t: {},
    ("POST", "/groups/{slug}/intel"): lambda t: _report_form("Posted by the matrix"),
    ("POST", "/intel/{report_id}/edit"): lambda t: _report_form("Edited by the matrix"),
    ("POST", "/intel/{report_id}/status"): lambda t: {
        "status": Status.verified,
        "note": "Checked by the matrix.",
    },
    ("POST", "/intel/{report_id}/comments"): lambda t: {"body": "Commented by the matrix."},
    ("POST", "/intel/{report_id}/sightings"): lambda t: {
        "kind": SightingKind.seen,
        "note": "Seen by the matrix.",
    },
    ("POST", "/intel/{report_id}/sightings/withdraw"): lambda t: {},
    ("POST", "/intel/{report_id}/follow"): lambda t: {},
    ("POST", "/groups/{slug}/intel/follow"): lambda t: {},
    ("POST", "/notifications/read"): lambda t: {},
    ("POST", "/notifications/{notification_id}/read"): lambda t: {},
    ("POST", "/intel/{report_id}/evidence"): lambda t: {},  # and FILES
    ("POST", "/groups/{slug}/intel/import"): lambda t: {"tlp": "amber", "mode": "all"},
    ("POST", "/intel/{report_id}/hide"): lambda t: {"reason": "Hidden by the matrix."},
    ("POST", "/intel/{report_id}/unhide"): lambda t: {},
    ("POST", "/intel/{report_id}/pin"): lambda t: {"pinned": "1"},
    ("POST", "/intel/{report_id}/merge"): lambda t: {"into": str(t.kept.id)},
}


def _pending_request(db: Session, t: Target) -> JoinRequest | None:
    return db.exec(
        select(JoinRequest).where(
            JoinRequest.brand_id == t.brand.id,
            JoinRequest.group_id == t.outside_group.id,
            JoinRequest.status == RequestStatus.pending,
        )
    ).first()


def _request_status(db: Session, t: Target) -> str:
    join_request = db.get(JoinRequest, t.join_request.id)
    assert join_request is not None
    return join_request.status


def _person(db: Session, person: Person) -> Person:
    fresh = db.get(Person, person.id)
    assert fresh is not None
    return fresh


def _provider(db: Session, provider: IdentityProvider) -> IdentityProvider:
    fresh = db.get(IdentityProvider, provider.id)
    assert fresh is not None
    return fresh


def _session_ended(db: Session, t: Target) -> bool:
    web_session = db.get(WebSession, t.web_session.id)
    assert web_session is not None
    return web_session.revoked_at is not None


def _fresh(db: Session, report: IntelReport) -> IntelReport:
    fresh = db.get(IntelReport, report.id)
    assert fresh is not None
    return fresh


def _report(db: Session, t: Target) -> IntelReport:
    return _fresh(db, t.report)


def _report_posted(db: Session, t: Target) -> bool:
    return (
        db.exec(
            select(IntelReport).where(
                IntelReport.group_id == t.group.id, IntelReport.title == "Posted by the matrix"
            )
        ).first()
        is not None
    )


# What each form changes; checked to have happened when allowed and not when refused.
EFFECTS: dict[tuple[str, str], Callable[[Session, Target], bool]] = {
    ("POST", "/language"): lambda db, t: (
        db.exec(select(Person).where(Person.language == "zh_Hans")).first() is not None
    ),
    ("POST", "/brands/{slug}/people"): lambda db, t: (
        db.exec(select(Person).where(Person.email == f"nova.newcomer@{t.domain}")).first()
        is not None
    ),
    ("POST", "/brands/{slug}/people/{person_id}/role"): lambda db, t: (
        _person(db, t.person).role == Role.brand_admin
    ),
    ("POST", "/brands/{slug}/people/{person_id}/deactivate"): lambda db, t: (
        not _person(db, t.person).is_active
    ),
    ("POST", "/brands/{slug}/people/{person_id}/reactivate"): lambda db, t: (
        _person(db, t.inactive).is_active
    ),
    ("POST", "/brands/{slug}/join-requests"): lambda db, t: _pending_request(db, t) is not None,
    ("POST", "/join-requests/{request_id}/approve"): lambda db, t: (
        db.get(GroupMembership, (t.join_request.group_id, t.join_request.brand_id)) is not None
    ),
    ("POST", "/join-requests/{request_id}/refuse"): lambda db, t: (
        _request_status(db, t) == RequestStatus.refused
    ),
    ("POST", "/admin/brands"): lambda db, t: (
        db.exec(select(Brand).where(Brand.slug == "maison-matrix")).first() is not None
    ),
    ("POST", "/admin/groups"): lambda db, t: (
        db.exec(select(WorkingGroup).where(WorkingGroup.slug == "watches-matrix")).first()
        is not None
    ),
    ("POST", "/admin/groups/{slug}/coordinators"): lambda db, t: (
        db.get(Coordinator, (t.group.id, t.appointee.id)) is not None
    ),
    ("POST", "/admin/groups/{slug}/coordinators/{person_id}/remove"): lambda db, t: (
        db.get(Coordinator, (t.group.id, t.coordinator.id)) is None
    ),
    ("POST", "/brands/{slug}/sso"): lambda db, t: (
        db.exec(
            select(IdentityProvider).where(
                IdentityProvider.brand_id == t.brand.id, IdentityProvider.name == "Matrix Okta"
            )
        ).first()
        is not None
    ),
    ("POST", "/brands/{slug}/sso/{provider_id}"): lambda db, t: (
        _provider(db, t.standby).name == "Renamed by the matrix"
    ),
    ("POST", "/brands/{slug}/sso/{provider_id}/check"): lambda db, t: (
        _provider(db, t.standby).checked_at is not None
        and "cannot be reached" in _provider(db, t.standby).check_problems
    ),
    ("POST", "/brands/{slug}/sso/{provider_id}/enable"): lambda db, t: (
        _provider(db, t.standby).enabled
    ),
    ("POST", "/brands/{slug}/sso/{provider_id}/disable"): lambda db, t: (
        not _provider(db, t.live).enabled
    ),
    ("POST", "/brands/{slug}/sessions/{session_id}/end"): _session_ended,
    ("POST", "/brands/{slug}/people/{person_id}/sign-out"): _session_ended,
    ("POST", "/brands/{slug}/sessions/end-all"): _session_ended,
    ("POST", "/groups/{slug}/intel"): _report_posted,
    ("POST", "/intel/{report_id}/edit"): lambda db, t: (
        _report(db, t).title == "Edited by the matrix" and _report(db, t).version == 2
    ),
    ("POST", "/intel/{report_id}/status"): lambda db, t: _report(db, t).status == Status.verified,
    ("POST", "/intel/{report_id}/comments"): lambda db, t: (
        db.exec(
            select(Comment).where(
                Comment.report_id == t.report.id, Comment.body_md == "Commented by the matrix."
            )
        ).first()
        is not None
    ),
    ("POST", "/intel/{report_id}/sightings"): lambda db, t: (
        db.exec(
            select(Sighting).where(
                Sighting.report_id == t.report.id, Sighting.note == "Seen by the matrix."
            )
        ).first()
        is not None
    ),
    # The fixture marked the report twice: by its own brand and by the secretariat.
    ("POST", "/intel/{report_id}/sightings/withdraw"): lambda db, t: (
        len(db.exec(select(Sighting).where(Sighting.report_id == t.report.id)).all()) < 2
    ),
    ("POST", "/intel/{report_id}/follow"): lambda db, t: (
        db.exec(select(Follow).where(Follow.report_id == t.report.id)).first() is not None
    ),
    ("POST", "/groups/{slug}/intel/follow"): lambda db, t: (
        db.exec(select(GroupFollow).where(GroupFollow.group_id == t.group.id)).first() is not None
    ),
    ("POST", "/intel/{report_id}/evidence"): lambda db, t: (
        db.exec(
            select(Evidence).where(
                Evidence.report_id == t.report.id, Evidence.filename == "matrix.png"
            )
        ).first()
        is not None
    ),
    ("POST", "/intel/{report_id}/hide"): lambda db, t: (
        _report(db, t).hidden_reason == "Hidden by the matrix."
    ),
    ("POST", "/intel/{report_id}/unhide"): lambda db, t: _fresh(db, t.hidden).hidden_reason == "",
    ("POST", "/intel/{report_id}/pin"): lambda db, t: _report(db, t).pinned,
    ("POST", "/intel/{report_id}/merge"): lambda db, t: _report(db, t).merged_into_id == t.kept.id,
    ("POST", "/notifications/{notification_id}/read"): lambda db, t: (
        db.exec(select(Notification.read_at).where(Notification.id == t.notification.id)).one()
        is not None
    ),
    # The upload is imported at once (in the background, after the answer).
    ("POST", "/groups/{slug}/intel/import"): lambda db, t: (
        db.exec(
            select(IntelReport).where(
                IntelReport.group_id == t.group.id, IntelReport.title == "Uploaded by the matrix"
            )
        ).first()
        is not None
    ),
    # The fixture left everyone an unread notification.
    ("POST", "/notifications/read"): lambda db, t: (
        db.exec(select(Notification).where(col(Notification.read_at).is_not(None))).first()
        is not None
    ),
}


# Files some forms send with their data.
FILES: dict[tuple[str, str], Callable[[Target], dict[str, tuple[str, bytes, str]]]] = {
    ("POST", "/intel/{report_id}/evidence"): lambda t: {
        "evidence_files": ("matrix.png", picture("matrix"), "image/png")
    },
    ("POST", "/groups/{slug}/intel/import"): lambda t: {
        "file": ("upload.csv", b"title,seller_id\nUploaded by the matrix,matrix-7\n", "text/csv")
    },
}

# Forms whose effect is only what the person is told: (page they land on, what it says).
TOLD: dict[tuple[str, str], Callable[[Target], tuple[str, str]]] = {
    ("POST", "/brands/{slug}/sso/{provider_id}/test-sign-in"): lambda t: (
        t.url("/brands/{slug}/sso/{provider_id}"),
        "Test sign-in could not start",
    ),
}

# Nothing listens on the discard port: connection checks and test sign-ins fail at once.
UNREACHABLE_ISSUER = "http://127.0.0.1:9"


def _sign_in_things(
    db: Session, settings: Settings, brand: Brand, person: Person
) -> tuple[IdentityProvider, IdentityProvider, WebSession]:
    """Two providers of the brand (one tested but off, one on), and a session of `person`."""
    standby = factories.make_provider(
        db, settings, brand, UNREACHABLE_ISSUER, f"{brand.slug}-standby", "standby-secret", False
    )
    live = factories.make_provider(
        db, settings, brand, UNREACHABLE_ISSUER, f"{brand.slug}-live", "live-secret"
    )
    sessions.start(db, settings, person, live.id, "192.0.2.7", "matrix browser")
    db.flush()
    web_session = db.exec(select(WebSession).where(WebSession.person_id == person.id)).one()
    return standby, live, web_session


def _attached(db: Session, settings: Settings, report: IntelReport) -> Evidence:
    author = db.get(Person, report.author_id)
    assert author is not None
    upload = evidence.Upload("seen.png", picture("seen"))
    actor = actor_of(db, author)
    (item,) = evidence.attach(db, settings, actor, report, [evidence.check(settings, upload)])
    db.flush()
    return item


IMPORT_CSV = b"title,listing_url\nImported by the matrix,https://shop.example/matrix\n"


def _import_job(db: Session, person: Person, group: WorkingGroup) -> ImportJob:
    actor = actor_of(db, person)
    return imports.start(db, actor, group, "matrix.csv", IMPORT_CSV, "amber", True)


def _note(db: Session, person: Person) -> Notification:
    note = Notification(person_id=person.id or 0, kind="test", text="For the matrix.", link="/")
    db.add(note)
    db.flush()
    return note


def _hidden(report: IntelReport) -> IntelReport:
    report.hidden_reason = "Hidden by a coordinator for the matrix."
    return report


@pytest.fixture(scope="module")
def targets(
    module_db: Session, module_world: World, settings: Settings, shared_uploads: Settings
) -> dict[str, Target]:
    """Built once for the module: each case runs in a savepoint of it (see `connection`)."""
    return _build_targets(module_db, module_world, settings, shared_uploads)


@pytest.fixture
def connection(targets: dict[str, Target], savepoint: Connection) -> Connection:
    """Every case starts from the shared world and targets, and its changes are undone."""
    return savepoint


@pytest.fixture
def world(module_world: World) -> World:
    """The world the targets were built in, not a second one."""
    return module_world


def _build_targets(
    db: Session, world: World, settings: Settings, uploads: Settings
) -> dict[str, Target]:
    """The apparel side (brand A) and the toys side (brand C) of the world."""
    newcomer = factories.make_brand(db, "newcomer-t", name="Newcomer")
    newcomer_admin = factories.make_person(db, newcomer, Role.brand_admin, name="Nell Admin")
    toys_coordinator = factories.make_person(db, world.secretariat, name="Toby Coordinator")
    factories.appoint(db, world.toys, toys_coordinator)
    apparel_standby, apparel_live, apparel_session = _sign_in_things(
        db, settings, world.brand_a, world.member_a
    )
    toys_standby, toys_live, toys_session = _sign_in_things(
        db, settings, world.brand_c, world.member_c
    )
    apparel_report = make_report(
        db, world.member_a, world.apparel, Tlp.amber, "Apparel matrix report"
    )
    toys_report = make_report(db, world.member_c, world.toys, Tlp.amber, "Toys matrix report")
    apparel = Target(
        brand=world.brand_a,
        domain="brand-a.example",
        group=world.apparel,
        outside_group=world.toys,
        person=world.member_a,
        inactive=factories.make_person(db, world.brand_a, name="Ines Former", is_active=False),
        join_request=factories.make_join_request(db, newcomer, world.apparel, newcomer_admin),
        coordinator=world.coordinator,
        appointee=world.member_b,
        standby=apparel_standby,
        live=apparel_live,
        web_session=apparel_session,
        report=apparel_report,
        evidence=_attached(db, uploads, apparel_report),
        kept=make_report(db, world.member_a, world.apparel, Tlp.amber, "Apparel kept report"),
        hidden=_hidden(make_report(db, world.member_a, world.apparel, Tlp.amber, "Hidden one")),
        notification=_note(db, world.member_a),
        import_job=_import_job(db, world.member_a, world.apparel),
    )
    toys = Target(
        brand=world.brand_c,
        domain="brand-c.example",
        group=world.toys,
        outside_group=world.apparel,
        person=world.member_c,
        inactive=factories.make_person(db, world.brand_c, name="Ivo Former", is_active=False),
        join_request=factories.make_join_request(db, newcomer, world.toys, newcomer_admin),
        coordinator=toys_coordinator,
        appointee=world.admin_c,
        standby=toys_standby,
        live=toys_live,
        web_session=toys_session,
        report=toys_report,
        evidence=_attached(db, uploads, toys_report),
        kept=make_report(db, world.member_c, world.toys, Tlp.amber, "Toys kept report"),
        hidden=_hidden(make_report(db, world.member_c, world.toys, Tlp.amber, "Hidden two")),
        notification=_note(db, world.member_c),
        import_job=_import_job(db, world.member_c, world.toys),
    )
    for target in (apparel, toys):
        _discussed(db, target, world.coordinator)
    people = (world.member_a, world.admin_a, world.admin_c, world.coordinator, world.alliance_admin)
    for person in people:
        db.add(Notification(person_id=person.id or 0, kind="test", text="Left by the fixture."))
    db.commit()
    return {"apparel": apparel, "toys": toys}


def _discussed(db: Session, target: Target, secretariat_person: Person) -> None:
    """The target's report, disputed by its own brand and seen by the secretariat."""
    report_id = target.report.id or 0
    db.add(
        Sighting(
            report_id=report_id,
            brand_id=target.brand.id or 0,
            person_id=target.person.id or 0,
            kind=SightingKind.disputed,
        )
    )
    db.add(
        Sighting(
            report_id=report_id,
            brand_id=secretariat_person.brand_id,
            person_id=secretariat_person.id or 0,
        )
    )
    db.flush()


# Who asks, and on which side of the world, for each role of the matrix.
COLUMNS: dict[str, tuple[str | None, str]] = {
    "anonymous": (None, "apparel"),
    "member": ("member_a", "apparel"),
    "brand-admin": ("admin_a", "apparel"),
    "other-brand-admin": ("admin_c", "apparel"),
    "coordinator": ("coordinator", "apparel"),
    "other-coordinator": ("coordinator", "toys"),
    "alliance-admin": ("alliance_admin", "apparel"),
}

CASES = [
    pytest.param(method, path, role, answer, id=f"{method} {path}-{role}")
    for (method, path), answers in MATRIX.items()
    for role, answer in zip(ROLES, answers, strict=True)
]


def _browser(app: FastAPI, client_as: ClientAs, world: World, role: str) -> TestClient:
    person_field = COLUMNS[role][0]
    if person_field is None:
        # A visitor who has opened the login page: a session holding only a CSRF token.
        browser = TestClient(app, follow_redirects=False)
        browser.cookies.set("hub_session", session_cookie({"csrf": TEST_CSRF}))
        browser.headers["x-csrf-token"] = TEST_CSRF
        return browser
    return client_as(getattr(world, person_field))


def _carried_out(answer: Answer) -> bool:
    """A form was carried out: redirected onwards, or answered in place with its result
    (or, in the API, with what it created: 201)."""
    return answer in (DONE, 200, 201)


def _check_answer(answer: Answer, method: str, url: str, status: int, location: str) -> None:
    where = f"{method} {url} answered {status} {location}".strip()
    if answer == SIGN_IN:
        assert status == 303 and location.startswith("/login"), where
    elif answer == DONE:
        assert status == 303 and not location.startswith("/login"), where
    else:
        assert status == answer, where


class HasUrls(Protocol):
    def url(self, path: str) -> str: ...


def ask(
    method: str,
    path: str,
    role: str,
    answer: Answer,
    db: Session,
    target: HasUrls,
    browser: TestClient,
    forms: Mapping[tuple[str, str], Callable[[Any], Mapping[str, str | list[str]]]],
    effects: Mapping[tuple[str, str], Callable[[Session, Any], bool]],
    files: Mapping[tuple[str, str], Callable[[Any], dict[str, tuple[str, bytes, str]]]],
) -> Response:
    """Send one matrix case and check its answer, and for a form that its effect happened
    exactly when allowed. Shared by every matrix file."""
    url = target.url(path)
    effect = effects.get((method, path))
    if effect is not None:
        assert not effect(db, target), "the effect is already there before the request"
    if method == "GET":
        response = browser.get(url)
    else:
        sent = files[(method, path)](target) if (method, path) in files else None
        response = browser.request(method, url, data=forms[(method, path)](target), files=sent)
    _check_answer(answer, method, url, response.status_code, response.headers.get("location", ""))
    if effect is not None:
        db.expire_all()
        assert effect(db, target) == _carried_out(answer), f"effect of {method} {url} for {role}"
    return response


@pytest.mark.parametrize(("method", "path", "role", "answer"), CASES)
def test_route_answers_role(
    method: str,
    path: str,
    role: str,
    answer: Answer,
    app: FastAPI,
    db: Session,
    world: World,
    targets: dict[str, Target],
    uploads_copy: Settings,
    client_as: ClientAs,
) -> None:
    """The route answers the role as the matrix says, and a form acts only when allowed."""
    target = targets[COLUMNS[role][1]]
    browser = _browser(app, client_as, world, role)
    response = ask(method, path, role, answer, db, target, browser, FORMS, EFFECTS, FILES)
    told = TOLD.get((method, path))
    if told is not None:
        page, message = told(target)
        if answer == DONE:
            assert response.headers["location"] == page, f"{method} {path} for {role}"
        shown = browser.get(page).text
        assert (message in shown) == _carried_out(answer), f"message of {method} {path} for {role}"


def _flat_routes(routes: list[BaseRoute]) -> list[object]:
    """The app's routes, with included routers opened up (FastAPI >= 0.13x keeps them
    nested; older versions list them flat)."""
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    return list(iterate(routes)) if iterate is not None else list(routes)


# Mounted apps whose routes are the hub's too, listed under the mount's path: the JSON
# API. The other mounts (static files, the development sign-in) are not in the matrix.
OPENED_MOUNTS = {"/api/v1"}


def _app_routes(app: FastAPI) -> set[tuple[str, str]]:
    return _routes_under(app.routes, "")


def _routes_under(routes: list[BaseRoute], prefix: str) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in _flat_routes(routes):
        original = getattr(route, "original_route", route)
        path = getattr(route, "path", None)
        if isinstance(original, Mount):
            if prefix + original.path in OPENED_MOUNTS:
                found |= _routes_under(original.routes, prefix + original.path)
            continue
        if path is None or prefix + path in UNCHECKED_PATHS:
            continue
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                found.add((method, prefix + path))
    return found


@dataclass(frozen=True)
class DomainMatrix:
    """The rows, forms and effects a domain keeps in its own matrix file."""

    rows: Mapping[tuple[str, str], tuple[Answer, ...]]
    forms: Mapping[tuple[str, str], object]
    effects: Mapping[tuple[str, str], object]


def _domain_matrices() -> list[DomainMatrix]:
    from tests.api import test_developer_matrix as developers
    from tests.api import test_matrix as api
    from tests.events import test_matrix as events
    from tests.impact import test_matrix as impact
    from tests.testbuys import test_matrix as buys

    return [
        DomainMatrix(buys.TESTBUY_MATRIX, buys.FORMS, buys.EFFECTS),
        DomainMatrix(events.EVENT_MATRIX, events.FORMS, events.EFFECTS),
        DomainMatrix(developers.DEVELOPER_MATRIX, developers.FORMS, developers.EFFECTS),
        DomainMatrix(api.API_MATRIX, api.BODIES, api.EFFECTS),
        DomainMatrix(impact.IMPACT_MATRIX, impact.FORMS, impact.EFFECTS),
    ]


def _all_rows() -> dict[tuple[str, str], tuple[Answer, ...]]:
    rows = dict(MATRIX)
    for domain in _domain_matrices():
        rows |= domain.rows
    return rows


def test_no_route_is_in_two_matrices() -> None:
    """A route has its row in one matrix file only, so its answers are said once."""
    seen = list(MATRIX)
    for domain in _domain_matrices():
        seen += list(domain.rows)
    assert sorted({key for key in seen if seen.count(key) > 1}) == []


def test_every_route_is_in_the_matrix(app: FastAPI) -> None:
    """Every route of the app (but mounts and health checks) has a row in the matrix."""
    missing = sorted(_app_routes(app) - _all_rows().keys())
    assert not missing, f"add these routes to MATRIX with an answer for every role: {missing}"


def test_matrix_has_no_stale_rows(app: FastAPI) -> None:
    """Every row of the matrix is still a route of the app."""
    stale = sorted(_all_rows().keys() - _app_routes(app))
    assert not stale, f"these rows name routes the app no longer has: {stale}"


def test_matrix_sees_the_included_routers(app: FastAPI) -> None:
    """The route listing reaches inside included routers, so the meta-test has teeth."""
    routes = _app_routes(app)
    assert ("GET", "/brands/{slug}/people") in routes
    assert ("POST", "/admin/groups/{slug}/coordinators/{person_id}/remove") in routes


def test_matrix_sees_the_mounted_api(app: FastAPI) -> None:
    """The route listing opens the API's mount (its routes under /api/v1), not the others."""
    routes = _app_routes(app)
    assert ("GET", "/api/v1/reports/{report_id}") in routes
    assert ("POST", "/api/v1/reports") in routes
    assert not [path for _, path in routes if path.startswith(("/static", "/dev-idp"))]
    assert ("GET", "/campaigns") not in routes  # only under the mount's path


def test_every_form_row_sends_data_and_checks_its_effect() -> None:
    """Each unsafe route has form data, and each one that can succeed checks its effect."""
    matrix = _all_rows()
    forms, effects = set(FORMS), set(EFFECTS)
    for domain in _domain_matrices():
        forms |= domain.forms.keys()
        effects |= domain.effects.keys()
    unsafe = [key for key in matrix if key[0] != "GET"]
    assert [key for key in unsafe if key not in forms] == []
    succeeding = [key for key in unsafe if any(map(_carried_out, matrix[key]))]
    assert [key for key in succeeding if key not in effects and key not in TOLD] == []
