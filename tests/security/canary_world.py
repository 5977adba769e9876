"""A world of restricted things, each carrying a unique canary string in every text field
it has, and the list of who may read each canary (ARCHITECTURE.md "Sharing rules",
hub/policy.py). tests/security/test_canaries.py asks the app for everything and looks for
the canaries where they must not be.

The things are made through the services, as the pages make them, so every index,
notification, webhook delivery and audit entry a real post leaves behind is there too.
"""

import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import Session, col, select

from hub.api import webhooks
from hub.api.models import ApiToken, TokenKind, Webhook, WebhookDelivery, WebhookEvent
from hub.clock import utcnow
from hub.config import Settings
from hub.events import feeds
from hub.groups.models import WorkingGroup
from hub.impact import referrals
from hub.intel import discussion, evidence, imports, moderation, service
from hub.intel.models import Category, IntelReport, SightingKind, Status, Tlp
from hub.members.models import Person, Role
from hub.notify.models import Notification
from hub.testbuys import campaigns, custody, personas, purchases, signups
from hub.testbuys.campaigns import DATETIME_FORMAT
from hub.testbuys.models import Campaign, CampaignStatus, Purchase, PurchaseStatus, Verdict
from tests import factories
from tests.api.factories import token_for
from tests.conftest import World
from tests.events.factories import make_event, register
from tests.intel.factories import actor_of, picture

ANONYMOUS = "anonymous"
# The people who look, by the World's field names; admin_b exists for brand B's tools.
PEOPLE = (
    "member_a",
    "admin_a",
    "member_b",
    "member_c",
    "admin_c",
    "coordinator",
    "alliance_admin",
)
# Brands' own tools: a brand API token, and the brand's webhooks.
TOOLS = {"tool_a": "admin_a", "tool_b": "admin_b", "tool_c": "admin_c"}

# Named by every restricted report and by visible ones elsewhere, so a correlation count
# that counted an unreadable report would show it.
SHARED_SELLER = "Canary Shared Seller"
HIDDEN_REASON = "Names a private person."  # the moderator's words, not the report's


@dataclass(frozen=True)
class Canary:
    """A unique string and who may read it. Text planted in the world is `mark(tag)`: the
    unique word directly followed by a lowercase tag naming the field, so the bare word
    never occurs in the data and a page echoing a searched word is told from a leak."""

    name: str
    word: str  # lower case; what a leak is recognised by
    readers: frozenset[str]  # people (PEOPLE), brand tools (TOOLS); never ANONYMOUS
    secret: bool = False  # a secret the hub made (a token), not text planted by `mark`

    def mark(self, tag: str) -> str:
        return f"CANARY-{self.name}-{self.word}{tag}"

    def leak_in(self, text: str, echoed: str = "") -> str | None:
        """The passage of `text` (lower case) that shows this canary, or None. `echoed`
        is what the viewer typed into the request: the same mark repeated back is no
        leak."""
        tails = {match.group(1) for match in self._echo(echoed.lower())}
        pattern = re.escape(self.word)
        if "" in tails:
            pattern += "(?=[a-z])"
        named = sorted(tail for tail in tails if tail)
        if named:
            pattern += "(?!(?:" + "|".join(map(re.escape, named)) + ")(?![a-z]))"
        found = re.search(pattern, text)
        if found is None:
            return None
        return text[max(0, found.start() - 80) : found.end() + 40]

    def _echo(self, echoed: str) -> list[re.Match[str]]:
        return list(re.finditer(re.escape(self.word) + "([a-z]*)", echoed))


def _word() -> str:
    # Starts with a letter: PostgreSQL reads a word such as "344e59" as a number.
    return "k" + uuid.uuid4().hex[:12]


def _canary(name: str, *readers: str) -> Canary:
    return Canary(name, _word(), frozenset(readers))


def _secret(name: str, secret: str, *readers: str) -> Canary:
    return Canary(name, secret.lower(), frozenset(readers), secret=True)


@dataclass(frozen=True)
class Thing:
    """Something a route's path names by its id, and the canary it carries (None: it
    carries none, and is asked for beside the restricted ones)."""

    kind: str  # report, evidence, campaign, ...: see test_canaries.PARAM_KINDS
    id: int
    canary: str | None


@dataclass
class CanaryWorld:
    world: World
    people: dict[str, Person]  # PEOPLE and admin_b
    canaries: dict[str, Canary]
    things: list[Thing]
    reports: dict[str, IntelReport]  # by canary name, and NEARBY and PROBE
    feed_tokens: dict[str, str]  # each person's calendar address token
    brand_token: str  # brand A's brand API token (a canary itself)
    hook_secret: str  # brand A's webhook signing secret (a canary itself)
    client_secret: str  # brand A's sign-in provider secret (a canary itself)
    indicators: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def of(self, kind: str) -> list[Thing]:
        return [thing for thing in self.things if thing.kind == kind]

    def forbidden_to(self, viewer: str) -> list[Canary]:
        return [c for c in self.canaries.values() if viewer not in c.readers]


REPORT_CANARIES = ("RED", "STRICT", "AMBER", "HIDDEN")


def build_canary_world(
    db: Session, world: World, settings: Settings, uploads: Settings
) -> CanaryWorld:
    """Everything restricted the hub holds, each with its canary; see each canary's readers
    for the rule it follows."""
    people = {name: getattr(world, name) for name in PEOPLE}
    people["admin_b"] = factories.make_person(db, world.brand_b, Role.brand_admin, name="Bea Admin")
    db.commit()
    canaries = {
        # Only the author and the people named.
        "RED": _canary("RED", "member_a", "member_b"),
        # The author's brand and the group's coordinators; a brand's tool reads it too.
        "STRICT": _canary("STRICT", "member_a", "admin_a", "coordinator", "tool_a"),
        # The group's brands, its coordinators and alliance admins.
        "AMBER": _canary(
            "AMBER",
            "member_a",
            "admin_a",
            "member_b",
            "coordinator",
            "alliance_admin",
            "tool_a",
            "tool_b",
        ),
        # TLP:GREEN, then hidden: only its author and the coordinators still read it.
        "HIDDEN": _canary("HIDDEN", "member_a", "coordinator"),
        # An import still queued: its importer's only.
        "IMPORT": _canary("IMPORT", "member_a"),
        # Brand A's sign-up, purchase, evidence, custody and verdict: brand A and the
        # campaign's runners.
        "BUY": _canary("BUY", "member_a", "admin_a", "coordinator", "alliance_admin", "tool_a"),
        # The group's buyer personas: the campaign's runners only.
        "PERSONA": _canary("PERSONA", "coordinator", "alliance_admin"),
        # A published campaign of the group: its brands and runners.
        "CAMPAIGN": _canary(
            "CAMPAIGN",
            "member_a",
            "admin_a",
            "member_b",
            "coordinator",
            "alliance_admin",
            "tool_a",
            "tool_b",
        ),
        # A draft campaign: its runners only.
        "DRAFT": _canary("DRAFT", "coordinator", "alliance_admin"),
        # An event of the group: its brands, its coordinators and alliance staff.
        "EVENT": _canary(
            "EVENT",
            "member_a",
            "admin_a",
            "member_b",
            "coordinator",
            "alliance_admin",
            "tool_a",
            "tool_b",
        ),
        # The event's meeting link: the people holding a seat and the organisers.
        "LINK": _canary("LINK", "member_a", "coordinator", "alliance_admin"),
        # Brand A's webhook address and brand token's name (and its sign-in provider,
        # a thing of this canary): its brand admins, and the alliance admins' audit log.
        "HOOK": _canary("HOOK", "admin_a", "alliance_admin"),
        # A referral of the AMBER+STRICT report and brand A's purchase: whoever reads both.
        "REFERRAL": _canary("REFERRAL", "member_a", "admin_a", "coordinator"),
    }
    things: list[Thing] = []
    everyone = [people[name] for name in PEOPLE]
    hook_secret, brand_token = _brand_tools(db, settings, world, people, canaries["HOOK"], things)
    client_secret = "sso-secret-" + uuid.uuid4().hex
    provider = factories.make_provider(
        db, settings, world.brand_a, "http://127.0.0.1:9", "brand-a-client", client_secret, False
    )
    things.append(Thing("provider", provider.id or 0, "HOOK"))
    for person in everyone:
        discussion.toggle_group_follow(db, actor_of(db, person), world.apparel.id or 0)
    reports = _restricted_reports(db, world, uploads, canaries, everyone, things)
    reports["NEARBY"] = _plain_report(db, world.member_b, world.apparel, uploads, things)
    reports["PROBE"] = _plain_report(db, world.member_c, world.toys, uploads, things)
    moderation.hide(db, actor_of(db, world.coordinator), reports["HIDDEN"], HIDDEN_REASON)
    _import_job(db, world, canaries["IMPORT"], things)
    purchase = _test_buys(db, world, uploads, canaries, reports["STRICT"], things)
    _referrals(db, world, people, canaries["REFERRAL"], reports, purchase, things)
    _event(db, settings, world, canaries["EVENT"], canaries["LINK"], things)
    feed_tokens = {
        name: feeds.token_of(db, settings, actor_of(db, person)) for name, person in people.items()
    }
    canaries["FEED"] = _secret("FEED", feed_tokens["member_a"], "member_a")
    canaries["HOOK-SECRET"] = _secret("HOOK-SECRET", hook_secret)
    canaries["TOKEN-SECRET"] = _secret("TOKEN-SECRET", brand_token)
    canaries["CLIENT-SECRET"] = _secret("CLIENT-SECRET", client_secret)
    things += _notifications(db, world.member_a)
    db.commit()
    return CanaryWorld(
        world=world,
        people=people,
        canaries=canaries,
        things=things,
        reports=reports,
        feed_tokens=feed_tokens,
        brand_token=brand_token,
        hook_secret=hook_secret,
        client_secret=client_secret,
        indicators={name: _indicators(canaries[name]) for name in REPORT_CANARIES},
    )


def _brand_tools(
    db: Session,
    settings: Settings,
    world: World,
    people: dict[str, Person],
    hook: Canary,
    things: list[Thing],
) -> tuple[str, str]:
    """Every brand's webhook, made first so each later post queues its events; brand A's
    address and brand token carry the HOOK canary."""
    everything = [event.value for event in WebhookEvent]
    made: dict[str, Webhook] = {}
    signing: dict[str, str] = {}
    for tool, admin in TOOLS.items():
        path = hook.mark("url") if tool == "tool_a" else tool
        made[tool], signing[tool] = webhooks.create(
            db, settings, actor_of(db, people[admin]), f"https://tools.example/{path}", everything
        )
    things.append(Thing("webhook", made["tool_a"].id or 0, "HOOK"))
    things.append(Thing("webhook", made["tool_b"].id or 0, None))
    webhooks.send_test(db, actor_of(db, world.admin_a), made["tool_a"].id or 0)
    delivery = db.exec(
        select(WebhookDelivery).where(WebhookDelivery.webhook_id == made["tool_a"].id)
    ).one()
    things.append(Thing("delivery", delivery.id or 0, "HOOK"))
    brand_token = token_for(db, world.admin_a, TokenKind.brand, name=hook.mark("token"))
    token_row = db.exec(select(ApiToken).where(ApiToken.name == hook.mark("token"))).one()
    things.append(Thing("token", token_row.id or 0, "HOOK"))
    return signing["tool_a"], brand_token


def _indicators(canary: Canary) -> list[tuple[str, str]]:
    return [
        ("shop_name", canary.mark("shop")),
        ("seller_id", canary.mark("seller")),
        ("email", f"{canary.mark('mail').lower()}@sellers.example"),
        ("shop_name", SHARED_SELLER),
    ]


def _mentions(people: list[Person]) -> str:
    return " ".join("@" + person.email.partition("@")[0] for person in people)


@dataclass(frozen=True)
class _Plan:
    """How one restricted report is made: its marking and who talks about it."""

    tlp: Tlp
    recipients: tuple[str, ...]  # World fields, for TLP:RED
    replier: str  # replies to the author's comment
    sighter: str  # of another brand than the author's: "seen it too"


PLANS = {
    "RED": _Plan(Tlp.red, ("member_b",), "member_b", "member_b"),
    "STRICT": _Plan(Tlp.amber_strict, (), "coordinator", "coordinator"),
    "AMBER": _Plan(Tlp.amber, (), "member_b", "member_b"),
    # Readable by everyone until a coordinator hides it (after all of this).
    "HIDDEN": _Plan(Tlp.green, (), "member_b", "member_c"),
}


def _restricted_reports(
    db: Session,
    world: World,
    uploads: Settings,
    canaries: dict[str, Canary],
    everyone: list[Person],
    things: list[Thing],
) -> dict[str, IntelReport]:
    """Brand A's member posts each report in apparel, then it is discussed, confirmed,
    moved on and edited, so every text field and every side table holds its canary."""
    made: dict[str, IntelReport] = {}
    author = actor_of(db, world.member_a)
    for name, plan in PLANS.items():
        canary = canaries[name]
        recipients = [getattr(world, field_name) for field_name in plan.recipients]
        form = service.ReportForm(
            title=canary.mark("draft"),  # edited below: an earlier version keeps this
            body_md=f"{canary.mark('body')} seen in a warehouse.",
            category=Category.seller,
            marketplace=canary.mark("market"),
            brands_affected=canary.mark("brands"),
            products_affected=canary.mark("products"),
            tlp=plan.tlp,
            recipients=", ".join(person.email for person in recipients),
            indicators=_indicators(canary),
        )
        report = service.create_report(db, author, world.apparel, form)
        upload = evidence.Upload(f"{canary.mark('file')}.png", picture(canary.word))
        (item,) = evidence.attach(db, uploads, author, report, [evidence.check(uploads, upload)])
        db.commit()
        comment = discussion.add_comment(
            db, author, report, f"{canary.mark('comment')} {_mentions(everyone)}", None
        )
        replier = actor_of(db, getattr(world, plan.replier))
        discussion.add_comment(db, replier, report, canary.mark("reply"), comment.id)
        sighter = actor_of(db, getattr(world, plan.sighter))
        discussion.set_sighting(db, sighter, report, SightingKind.seen, canary.mark("note"))
        service.change_status(db, author, report, Status.verified, canary.mark("status"))
        edited = service.form_of(db, report)
        edited.title = canary.mark("title")
        service.update_report(db, author, report, edited)
        made[name] = report
        things.append(Thing("report", report.id or 0, name))
        things.append(Thing("evidence", item.id or 0, name))
    return made


def _plain_report(
    db: Session, author: Person, group: WorkingGroup, uploads: Settings, things: list[Thing]
) -> IntelReport:
    """A TLP:CLEAR report naming the shared seller, which everyone reads: a visible
    neighbour whose page counts the restricted reports naming the same seller."""
    actor = actor_of(db, author)
    form = service.ReportForm(
        title=f"Plain report in {group.slug}",
        body_md="Seen in a shop window.",
        tlp=Tlp.clear,
        indicators=[("shop_name", SHARED_SELLER)],
    )
    report = service.create_report(db, actor, group, form)
    upload = evidence.Upload("plain.png", picture(group.slug))
    (item,) = evidence.attach(db, uploads, actor, report, [evidence.check(uploads, upload)])
    db.commit()
    things.append(Thing("report", report.id or 0, None))
    things.append(Thing("evidence", item.id or 0, None))
    return report


def _import_job(db: Session, world: World, canary: Canary, things: list[Thing]) -> None:
    """An import brand A's member queued (not yet run): its file name and its content."""
    content = f"title,seller_id\n{canary.mark('row')},{canary.mark('seller')}\n".encode()
    job = imports.start(
        db,
        actor_of(db, world.member_a),
        world.apparel,
        f"{canary.mark('file')}.csv",
        content,
        Tlp.amber_strict,
        True,
    )
    things.append(Thing("job", job.id or 0, canary.name))


def _campaign(db: Session, world: World, canary: Canary, publish: bool) -> Campaign:
    now = utcnow()
    runner = actor_of(db, world.coordinator)
    form = campaigns.CampaignForm(
        group=world.apparel.slug,
        title=canary.mark("title"),
        goal=canary.mark("goal"),
        channels=canary.mark("channels"),
        region=canary.mark("region"),
        opens_at=(now - timedelta(days=1)).strftime(DATETIME_FORMAT),
        closes_at=(now + timedelta(days=7)).strftime(DATETIME_FORMAT),
        slots="4",
        max_per_brand="2",
        budget="500.00",
    )
    campaign = campaigns.create(db, runner, form)
    if publish:
        campaign = campaigns.change_status(db, runner, campaign, CampaignStatus.open)
    return campaign


def _test_buys(
    db: Session,
    world: World,
    uploads: Settings,
    canaries: dict[str, Canary],
    target: IntelReport,
    things: list[Thing],
) -> Purchase:
    """A published campaign in apparel; brand A signs up (naming the TLP:AMBER+STRICT
    report as a target) and the coordinator buys for it under a persona, with evidence,
    a custody entry and a verdict. Beside it, a draft campaign."""
    buy, persona_canary = canaries["BUY"], canaries["PERSONA"]
    runner = actor_of(db, world.coordinator)
    campaign = _campaign(db, world, canaries["CAMPAIGN"], publish=True)
    draft = _campaign(db, world, canaries["DRAFT"], publish=False)
    signup = signups.sign_up(
        db,
        actor_of(db, world.admin_a),
        campaign,
        signups.SignupForm(
            requested="1",
            products=buy.mark("skus"),
            targets=buy.mark("targets"),
            report_ids=[str(target.id)],
        ),
    )
    persona = personas.create(
        db,
        runner,
        personas.PersonaForm(
            group=world.apparel.slug,
            name=persona_canary.mark("name"),
            drop_address=persona_canary.mark("drop"),
            contact=persona_canary.mark("contact"),
            accounts=persona_canary.mark("accounts"),
        ),
    )
    purchase = purchases.create(
        db,
        runner,
        campaign,
        purchases.PurchaseForm(
            signup=str(signup.id),
            product=buy.mark("product"),
            marketplace=buy.mark("market"),
            seller=buy.mark("seller"),
            listing_url=f"https://market.example/{buy.mark('listing')}",
            persona=str(persona.id),
            order_number=buy.mark("order"),
            item_cost="40.00",
            shipping_cost="5.00",
            fees="1.00",
            cost_currency="EUR",
        ),
    )
    upload = evidence.Upload(f"{buy.mark('file')}.png", picture(buy.word))
    (item,) = purchases.attach(
        db, uploads, runner, purchase, campaign, [evidence.check(uploads, upload)]
    )
    custody.append(
        db,
        runner,
        purchase,
        campaign,
        custody.CustodyForm(
            kind="handover",
            occurred_at=utcnow().strftime(DATETIME_FORMAT),
            from_party=buy.mark("sender"),
            to_party=buy.mark("receiver"),
            place=buy.mark("place"),
            purpose=buy.mark("purpose"),
            seal_number=buy.mark("seal"),
            seal_intact="yes",
        ),
    )
    purchases.change_status(db, runner, purchase, campaign, PurchaseStatus.ordered)
    purchases.change_status(
        db,
        runner,
        purchase,
        campaign,
        PurchaseStatus.verdict,
        Verdict.counterfeit,
        buy.mark("verdict"),
    )
    things += [
        Thing("campaign", campaign.id or 0, "CAMPAIGN"),
        Thing("campaign", draft.id or 0, "DRAFT"),
        Thing("signup", signup.id or 0, "BUY"),
        Thing("purchase", purchase.id or 0, "BUY"),
        Thing("buy_evidence", item.id or 0, "BUY"),
        Thing("persona", persona.id or 0, "PERSONA"),
    ]
    return purchase


def _referrals(
    db: Session,
    world: World,
    people: dict[str, Person],
    canary: Canary,
    reports: dict[str, IntelReport],
    purchase: Purchase,
    things: list[Thing],
) -> None:
    """Brand A's admin refers the AMBER+STRICT report and brand A's counterfeit purchase to
    the police, whose outcome is recorded; brand B's admin refers the plain report."""
    today = utcnow().date()
    admin = actor_of(db, world.admin_a)
    form = referrals.ReferralForm(
        agency=canary.mark("agency"),
        jurisdiction=canary.mark("region"),
        country="CN",
        sent_on=today.isoformat(),
        contact=canary.mark("contact"),
        reference=canary.mark("reference"),
        summary=canary.mark("summary"),
    )
    referral = referrals.create(
        db, admin, form, [str(reports["STRICT"].id)], [str(purchase.id)], today
    )
    outcome = referrals.outcome_form_of(referral)
    outcome.status, outcome.raid_on, outcome.suspects_arrested = "raid_done", today.isoformat(), "7"
    outcome.note = canary.mark("outcome")
    referrals.record_outcome(db, admin, referral, outcome, today)
    plain = referrals.ReferralForm(agency="Plain police", country="CN", sent_on=today.isoformat())
    neighbour = referrals.create(
        db, actor_of(db, people["admin_b"]), plain, [str(reports["NEARBY"].id)], [], today
    )
    things += [
        Thing("referral", referral.id or 0, "REFERRAL"),
        Thing("referral", neighbour.id or 0, None),
    ]


def _event(
    db: Session, settings: Settings, world: World, event: Canary, link: Canary, things: list[Thing]
) -> None:
    """A hybrid event of apparel, with a meeting link; brand A's member holds a seat."""
    made = make_event(
        db,
        world.coordinator,
        world.apparel,
        attendance="hybrid",
        online_url=f"https://meet.example/{link.mark('url')}",
        title=event.mark("title"),
        description=event.mark("description"),
        venue=event.mark("venue"),
        address=event.mark("address"),
    )
    registration = register(db, settings, world.member_a, made)
    things.append(Thing("event", made.id or 0, event.name))
    things.append(Thing("registration", registration.id or 0, event.name))


def _notifications(db: Session, person: Person) -> list[Thing]:
    """Two of the person's notifications, for the routes that open one."""
    rows = db.exec(
        select(Notification)
        .where(Notification.person_id == person.id, col(Notification.report_id).is_not(None))
        .order_by(col(Notification.id))
        .limit(2)
    ).all()
    return [Thing("notification", row.id or 0, None) for row in rows]
