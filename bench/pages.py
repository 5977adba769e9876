"""The pages bench/run.py measures, picked from the database for the bench member (the
biggest of their boards, its busiest report, a much-named indicator value, ...), and the
signed session cookies that open them without a browser."""

import base64
import json
import re
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from itsdangerous import TimestampSigner
from sqlalchemy import desc
from sqlmodel import Session, col, func, select

from hub.auth import sessions
from hub.auth.sessions import load_actor
from hub.clock import as_utc, utcnow
from hub.config import Settings
from hub.events import registrations
from hub.events.models import Event, EventStatus
from hub.events.times import DEFAULT_ZONE, is_zone, to_local
from hub.groups.models import GroupMembership, WorkingGroup
from hub.intel import correlation, search
from hub.intel.models import Comment, Indicator, IntelReport
from hub.intel.service import BoardFilters
from hub.members.models import Brand, Person
from hub.policy import Actor, visible_campaigns, visible_events, visible_intel
from hub.testbuys import signups
from hub.testbuys.models import Campaign, CampaignStatus, Signup

DEFAULT_MEMBER = "bench.member@brand-0001.example"
SESSION_COOKIE = "hub_session"
USER_AGENT = "bench/run.py"
REPORT_CANDIDATES = 40  # reports with the most comments, of which the most correlated wins
SAMPLE_REPORTS = 3000  # newest visible reports whose words and indicators give the terms
WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)
RARE_TRIES = 25
PEOPLE_PER_EVENT = 5
RARE_KINDS = (
    "shop_name",
    "seller_id",
    "handle",
    "email",
    "payment_account",
)  # sign-up threads registering for the same event


class BenchSetupError(RuntimeError):
    """The database does not hold what a page needs (no such member, no events, ...)."""


@dataclass(frozen=True)
class Page:
    key: str
    title: str
    path: str
    note: str  # how it was chosen, for RESULTS.md


@dataclass(frozen=True)
class Registrant:
    """One sign-up thread: a person (their cookie) and an event they register for."""

    person_id: int
    email: str
    cookie: str
    event_id: int


@dataclass(frozen=True)
class FormPost:
    """The test-buy sign-up form of the campaign page, sent again as the page fills it."""

    path: str
    body: str  # application/x-www-form-urlencoded
    note: str


@dataclass
class Plan:
    member: str
    csrf: str
    cookie: str
    group_id: int  # the board's group: the floor reads the same rows
    pages: list[Page]
    signup_kind: str  # "testbuy" (form_post) or "event" (registrants)
    form_post: FormPost | None
    registrants: list[Registrant]
    signup_note: str
    cookies: dict[int, str] = field(default_factory=dict)  # person id -> cookie


def signed_cookie(secret_key: str, data: dict[str, str]) -> str:
    """The cookie Starlette's SessionMiddleware would have set for `data`."""
    payload = base64.b64encode(json.dumps(data).encode())
    return TimestampSigner(secret_key).sign(payload).decode()


def _actor(session: Session, person: Person) -> Actor:
    brand = session.get(Brand, person.brand_id)
    if brand is None:
        raise BenchSetupError(f"{person.email} has no brand")
    return load_actor(session, person, brand)


def _sign_in(session: Session, settings: Settings, plan_csrf: str, person: Person) -> str:
    token = sessions.start(session, settings, person, None, "127.0.0.1", USER_AGENT)
    session.commit()
    return signed_cookie(settings.secret_key, {"sid": token, "csrf": plan_csrf})


def _biggest_board(session: Session, actor: Actor) -> tuple[WorkingGroup, int]:
    if not actor.group_ids:
        raise BenchSetupError(f"{actor.email}'s brand is in no working group")
    count = func.count(col(IntelReport.id))
    row = session.exec(
        select(IntelReport.group_id, count)
        .where(col(IntelReport.group_id).in_(actor.group_ids))
        .group_by(col(IntelReport.group_id))
        .order_by(count.desc())
        .limit(1)
    ).first()
    if row is None:
        raise BenchSetupError(f"no reports on {actor.email}'s boards")
    group = session.get(WorkingGroup, row[0])
    assert group is not None
    return group, row[1]


def _busiest_report(session: Session, actor: Actor, group_id: int) -> tuple[int, int, int]:
    """(report id, comments, correlated reports): of the visible reports of the board with
    the most comments, the one whose indicators other reports name most often."""
    comments = func.count(col(Comment.id)).label("comments")
    candidates = session.exec(
        select(IntelReport, comments)
        .join(Comment, col(Comment.report_id) == IntelReport.id)
        .where(IntelReport.group_id == group_id, visible_intel(actor))
        .group_by(col(IntelReport.id))
        .order_by(desc("comments"), col(IntelReport.id).desc())
        .limit(REPORT_CANDIDATES)
    ).all()
    if not candidates:
        newest = session.exec(
            select(IntelReport)
            .where(IntelReport.group_id == group_id, visible_intel(actor))
            .order_by(col(IntelReport.id).desc())
            .limit(1)
        ).first()
        if newest is None or newest.id is None:
            raise BenchSetupError("no visible report on the board")
        candidates = [(newest, 0)]
    scored = []
    for report, count in candidates:
        correlated = sum(correlation.counts_for(session, actor, report).values())
        scored.append((correlated > 0, count + correlated, report.id or 0, count, correlated))
    _, _, report_id, count, correlated = max(scored)
    return report_id, count, correlated


def _sample_ids(session: Session, actor: Actor) -> list[int]:
    return [
        report_id
        for report_id in session.exec(
            select(IntelReport.id)
            .where(visible_intel(actor))
            .order_by(col(IntelReport.id).desc())
            .limit(SAMPLE_REPORTS)
        )
        if report_id is not None
    ]


def _named_indicator(session: Session, actor: Actor, sample: list[int]) -> tuple[str, str, int]:
    """(kind, normalised value, visible reports naming it): the value named most often in
    the newest reports (a sample: grouping every indicator of 1M reports takes long)."""
    reports = func.count(func.distinct(col(Indicator.report_id)))
    top = session.exec(
        select(Indicator.kind, Indicator.normalised, reports)
        .where(col(Indicator.report_id).in_(sample))
        .group_by(col(Indicator.kind), col(Indicator.normalised))
        .order_by(reports.desc())
        .limit(1)
    ).first()
    if top is None:
        raise BenchSetupError("no indicators in the newest reports")
    kind, value, _ = top
    named = len(correlation.reports_naming(session, actor, kind, value))
    return kind, value, named


def _hits(session: Session, actor: Actor, term: str) -> int:
    return len(search.search(session, actor, term, BoardFilters()))


def _search_terms(
    session: Session, actor: Actor, sample: list[int], common: str | None, rare: str | None
) -> tuple[str, int, str, int]:
    """A word in many reports (the page shows the first RESULT_LIMIT) and one in very few,
    from the words of the newest reports' titles and their indicator values."""
    titles = session.exec(select(IntelReport.title).where(col(IntelReport.id).in_(sample))).all()
    words = Counter(word.lower() for title in titles for word in set(WORD.findall(title)))
    if common is None:
        for word, _ in words.most_common(5):
            if _hits(session, actor, word) >= search.RESULT_LIMIT:
                common = word
                break
        else:
            raise BenchSetupError("no word of the titles finds a full page of results")
    if rare is None:
        # A seller's name, handle or account as one would paste it, then rare title words.
        values = session.exec(
            select(Indicator.normalised)
            .where(
                col(Indicator.report_id).in_(sample[-RARE_TRIES:]),
                col(Indicator.kind).in_(RARE_KINDS),
            )
            .limit(RARE_TRIES)
        ).all()
        once = [word for word, seen in words.items() if seen == 1]
        for candidate in [*values, *once][:RARE_TRIES]:
            if 1 <= _hits(session, actor, candidate) <= 3:
                rare = candidate
                break
        else:
            raise BenchSetupError("no rare search term found: give one with --rare-term")
    return common, _hits(session, actor, common), rare, _hits(session, actor, rare)


def _busiest_month(session: Session, actor: Actor) -> tuple[str, int]:
    zone = actor.time_zone if is_zone(actor.time_zone) else DEFAULT_ZONE
    starts = session.exec(select(Event.starts_at).where(visible_events(actor))).all()
    months = Counter(f"{to_local(as_utc(start), zone):%Y-%m}" for start in starts)
    if not months:
        raise BenchSetupError(f"no event visible to {actor.email}")
    return months.most_common(1)[0]


def _busiest_campaign(session: Session, actor: Actor, group_id: int) -> tuple[int, int]:
    signups = func.count(col(Signup.id))
    # Campaigns of the member's groups they may see; the board's group first.
    row = session.exec(
        select(Campaign.id, signups)
        .outerjoin(Signup, col(Signup.campaign_id) == Campaign.id)
        .where(
            visible_campaigns(actor),
            col(Campaign.group_id).in_(actor.group_ids),
            Campaign.status != CampaignStatus.draft,
        )
        .group_by(col(Campaign.id))
        .order_by((col(Campaign.group_id) == group_id).desc(), signups.desc(), col(Campaign.id))
        .limit(1)
    ).first()
    if row is None or row[0] is None:
        raise BenchSetupError(f"no campaign in {actor.email}'s groups")
    return row[0], row[1]


def _testbuy_signup(session: Session, actor: Actor, group_id: int) -> FormPost:
    """The sign-up form of a campaign open for sign-ups now, as the campaign page fills
    it for the member's brand: the brand's own sign-up if it has one (sending it again
    changes nothing but its timestamps), the board's group first."""
    if not actor.is_brand_admin:
        raise BenchSetupError(f"{actor.email} is no brand admin: try --signup event")
    now = utcnow()
    campaigns = session.exec(
        select(Campaign).where(
            visible_campaigns(actor),
            col(Campaign.group_id).in_(actor.group_ids),
            Campaign.status == CampaignStatus.open,
            col(Campaign.opens_at) <= now,
            col(Campaign.closes_at) > now,
        )
    ).all()
    if not campaigns:
        raise BenchSetupError(f"no campaign open for sign-ups in {actor.email}'s groups")
    theirs = {c.id: signups.of_brand(session, c, actor.brand_id) for c in campaigns}

    def active(campaign: Campaign) -> bool:
        mine = theirs[campaign.id]
        return mine is not None and mine.state in signups.ACTIVE

    campaign = max(campaigns, key=lambda c: (active(c), c.group_id == group_id, c.id or 0))
    mine = theirs[campaign.id]
    fields = [("requested", "1"), ("products", "Bench products"), ("targets", "")]
    if mine is not None and active(campaign):
        fields = [
            ("requested", str(mine.requested)),
            ("products", mine.products),
            ("targets", mine.targets),
            *(
                ("report_ids", str(report.id))
                for report in signups.target_reports(session, actor, mine)
            ),
        ]
    note = (
        f"the brand's sign-up form of an open campaign sent again as the page fills it "
        f"({'the brand signed up already' if active(campaign) else 'signs the brand up'}; "
        f"{campaign.slots_taken} of {campaign.slots} slots taken)"
    )
    return FormPost(f"/testbuys/{campaign.id}/signup", urlencode(fields), note)


def _open_events(session: Session, actor: Actor, limit: int) -> list[Event]:
    """Events the member may register for now without an organiser's approval."""
    now = utcnow()
    return list(
        session.exec(
            select(Event)
            .where(
                visible_events(actor),
                Event.status == EventStatus.scheduled,
                col(Event.needs_approval).is_(False),
                col(Event.registration_opens_at) <= now,
                col(Event.registration_closes_at) > now,
                col(Event.ends_at) > now,
            )
            .order_by(col(Event.starts_at))
            .limit(limit)
        )
    )


def _colleagues(session: Session, member: Person, group_ids: frozenset[int]) -> list[Person]:
    """Active people who could register too: the member's brand first, then people of
    the other brands of the member's groups."""
    in_groups = select(GroupMembership.brand_id).where(col(GroupMembership.group_id).in_(group_ids))
    return list(
        session.exec(
            select(Person)
            .join(Brand, col(Brand.id) == Person.brand_id)
            .where(
                col(Person.is_active).is_(True),
                col(Brand.is_active).is_(True),
                Person.id != member.id,
                col(Person.brand_id).in_(in_groups),
            )
            .order_by((col(Person.brand_id) == member.brand_id).desc(), col(Person.id))
            .limit(400)
        )
    )


def _registrants(
    session: Session, settings: Settings, plan: Plan, member: Person, actor: Actor, needed: int
) -> tuple[list[Registrant], str]:
    """`needed` (person, event) pairs, each a sign-up thread of its own: PEOPLE_PER_EVENT
    people (the member first, then the member's brand, then the member's groups) on each
    event open for registration, so that threads contend for an event's seats and lock."""
    events = _open_events(session, actor, needed)
    if not events:
        raise BenchSetupError(f"no event open for registration to {actor.email}")
    event_ids = [event.id or 0 for event in events]
    people = [member, *_colleagues(session, member, actor.group_ids)]
    sees: dict[int, set[int]] = {}  # person id -> the events of `event_ids` they may see

    def visible_to(person: Person) -> set[int]:
        assert person.id is not None
        if person.id not in sees:
            their_actor = actor if person.id == member.id else _actor(session, person)
            query = select(Event.id).where(
                col(Event.id).in_(event_ids), visible_events(their_actor)
            )
            sees[person.id] = {event_id for event_id in session.exec(query) if event_id}
        return sees[person.id]

    pairs: list[tuple[Person, int]] = []
    for event_id in event_ids:
        on_event = 0
        for person in people:
            if len(pairs) == needed or on_event == PEOPLE_PER_EVENT:
                break
            if event_id in visible_to(person):
                pairs.append((person, event_id))
                on_event += 1
    registrants = []
    for person, event_id in pairs:
        assert person.id is not None
        if person.id not in plan.cookies:
            plan.cookies[person.id] = _sign_in(session, settings, plan.csrf, person)
        registrants.append(Registrant(person.id, person.email, plan.cookies[person.id], event_id))
    used = len({r.event_id for r in registrants})
    note = (
        f"{len(registrants)} people-and-event pairs, one per load thread: up to "
        f"{PEOPLE_PER_EVENT} people (the member, then colleagues of their brand and groups) "
        f"on each of {used} events open for registration without approval"
    )
    return registrants, note


def first_actions(session: Session, registrants: list[Registrant]) -> list[str]:
    """For each registrant, the POST that is valid now: withdraw when registered (a
    registration in any active state), register otherwise."""
    session.expire_all()
    return [
        "withdraw"
        if registrations.active_of(session, r.event_id, r.person_id) is not None
        else "register"
        for r in registrants
    ]


def plan_pages(
    session: Session,
    settings: Settings,
    member_email: str,
    registrants_needed: int,
    common_term: str | None = None,
    rare_term: str | None = None,
    signup_kind: str = "testbuy",
) -> Plan:
    member = session.exec(select(Person).where(Person.email == member_email)).first()
    if member is None or member.id is None:
        raise BenchSetupError(f"no person {member_email} in the database: see --member")
    actor = _actor(session, member)
    csrf = secrets.token_urlsafe(24)
    cookie = _sign_in(session, settings, csrf, member)

    group, board_reports = _biggest_board(session, actor)
    report_id, comments, correlated = _busiest_report(session, actor, group.id or 0)
    sample = _sample_ids(session, actor)
    kind, value, named = _named_indicator(session, actor, sample)
    common, common_hits, rare, rare_hits = _search_terms(
        session, actor, sample, common_term, rare_term
    )
    month, month_events = _busiest_month(session, actor)
    campaign_id, campaign_signups = _busiest_campaign(session, actor, group.id or 0)

    plan = Plan(
        member=member_email,
        csrf=csrf,
        cookie=cookie,
        group_id=group.id or 0,
        pages=[
            Page("dashboard", "Dashboard", "/", "the member's home page"),
            Page(
                "board",
                "Board",
                f"/groups/{group.slug}/intel",
                f"the member's biggest board ({board_reports:,} reports)",
            ),
            Page(
                "report",
                "Report",
                f"/intel/{report_id}",
                f"{comments} comments, indicators named by {correlated} other reports",
            ),
            Page(
                "indicator",
                "Indicator",
                "/intel/indicators?" + urlencode({"kind": kind, "value": value}),
                f"the value most named in the newest reports ({named} visible reports shown)",
            ),
            Page(
                "search_common",
                "Search, common term",
                "/intel/search?" + urlencode({"q": common}),
                f"“{common}”: {common_hits} hits shown (the page's limit)",
            ),
            Page(
                "search_rare",
                "Search, rare term",
                "/intel/search?" + urlencode({"q": rare}),
                f"“{rare}”: {rare_hits} hit" + ("" if rare_hits == 1 else "s"),
            ),
            Page(
                "calendar",
                "Calendar month",
                f"/events?view=month&month={month}",
                f"the month with the most events ({month_events})",
            ),
            Page(
                "campaign",
                "Campaign roster",
                f"/testbuys/{campaign_id}",
                f"the campaign of the member's groups with the most sign-ups ({campaign_signups})",
            ),
            Page(
                "impact",
                "Impact dashboard",
                f"/impact?year={utcnow().year}",
                "this year's figures of the whole alliance, kept by each worker for five "
                "minutes (the first request of each worker counts them: seconds at 1M)",
            ),
        ],
        signup_kind=signup_kind,
        form_post=None,
        registrants=[],
        signup_note="",
    )
    plan.cookies[member.id] = cookie
    if signup_kind == "event":
        plan.registrants, plan.signup_note = _registrants(
            session, settings, plan, member, actor, registrants_needed
        )
    else:
        plan.form_post = _testbuy_signup(session, actor, group.id or 0)
        plan.signup_note = plan.form_post.note
    return plan


def database_size(session: Session) -> dict[str, int]:
    def count(model: type) -> int:
        return int(session.exec(select(func.count()).select_from(model)).one())

    sizes = {
        "reports": count(IntelReport),
        "comments": count(Comment),
        "indicators": count(Indicator),
        "events": count(Event),
        "campaigns": count(Campaign),
        "people": count(Person),
        "brands": count(Brand),
    }
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        size = session.exec(select(func.pg_database_size(func.current_database()))).one()
        sizes["bytes"] = int(size)
    return sizes


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")
