"""Demo reports for the intelligence boards: some five hundred believable reports over the
last five quarters, whose indicators correlate across brands as real counterfeit networks
do, each with the status history, takedown requests and "seen it too" confirmations real
use leaves behind. Every shop, number and address is invented: domains are reserved
`.example` names, phones are from the UK's range reserved for fiction, payment accounts use
the non-existent country code XX."""

import io
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy import insert
from sqlmodel import Session, SQLModel, col, func, select

from hub.clock import as_utc, utcnow
from hub.config import Settings
from hub.groups.models import GroupMembership, WorkingGroup
from hub.intel import correlation, evidence, search_index
from hub.intel.indicators import normalise
from hub.intel.markdown import to_safe_html
from hub.intel.models import (
    Category,
    Confidence,
    Evidence,
    Indicator,
    IndicatorKind,
    Infringement,
    IntelReport,
    Reliability,
    ReportRecipient,
    Sighting,
    SightingKind,
    Status,
    StatusChange,
    Takedown,
    TakedownOutcome,
    Tlp,
)
from hub.intel.service import NEXT_STATUSES
from hub.members.models import Brand, Person

SEED = 4242

PRODUCTS = {
    "apparel": ["down jackets", "hoodies", "denim jeans", "knitwear", "polo shirts"],
    "luxury-leather": ["handbags", "wallets", "belts", "silk scarves", "card holders"],
    "footwear": ["running shoes", "sneakers", "hiking boots", "sandals"],
    "watches-jewellery": ["automatic watches", "bracelets", "rings", "watch straps"],
    "cosmetics": ["perfume", "lipstick", "face serum", "eyeshadow palettes"],
    "electronics": ["wireless earbuds", "phone chargers", "power banks", "speakers"],
    "home-appliances": ["hair dryers", "coffee machine pods", "vacuum filters", "blenders"],
    "toys": ["construction sets", "collectible figures", "plush toys", "board games"],
    "sporting-goods": ["football shirts", "tennis rackets", "golf balls", "cycling helmets"],
    "food-beverage": ["olive oil", "whisky", "infant formula", "energy drinks"],
    "pharma-health": ["pain relief tablets", "diabetes test strips", "vitamins", "lenses"],
    "auto-parts": ["brake pads", "oil filters", "spark plugs", "airbags"],
}
MARKETPLACES = [
    "AliExpress",
    "Amazon",
    "eBay",
    "Taobao",
    "Temu",
    "Shopee",
    "DHgate",
    "Instagram",
    "Telegram",
    "Own website",
]
SHOP_WORDS = [
    "Luxe",
    "Outlet",
    "Prime",
    "Global",
    "Star",
    "Best",
    "Golden",
    "Dragon",
    "Euro",
    "Trend",
    "Mega",
    "Super",
    "Royal",
    "Top",
    "Happy",
]
CITIES = [
    "Guangzhou",
    "Yiwu",
    "Shenzhen",
    "Istanbul",
    "Dubai",
    "Lagos",
    "Ciudad del Este",
    "Bangkok",
    "Naples",
    "Sofia",
]
COURIERS = ["LX", "RB", "CP", "UA", "EE"]
# How often each marketplace is named, in MARKETPLACES order.
MARKETPLACE_WEIGHTS = [16, 12, 10, 8, 12, 9, 8, 10, 7, 8]


@dataclass(frozen=True)
class Speed:
    """How a marketplace answers takedown notices: the share it acts on within a day and
    the share it never acts on; the rest take one to five days."""

    within_day: float
    never: float


TAKEDOWN_SPEED: dict[str, Speed] = {
    "AliExpress": Speed(0.95, 0.015),
    "Amazon": Speed(0.97, 0.01),
    "eBay": Speed(0.96, 0.01),
    "Taobao": Speed(0.94, 0.02),
    "Temu": Speed(0.95, 0.015),
    "Shopee": Speed(0.93, 0.02),
    "DHgate": Speed(0.91, 0.03),
    "Instagram": Speed(0.92, 0.02),
    # Channels and independent shops answer through hosts and registrars: the slowest.
    "Telegram": Speed(0.86, 0.05),
    "Own website": Speed(0.84, 0.06),
}
# A notice filed this recently may still be with the marketplace.
STILL_PENDING = timedelta(days=2)
REPORTS_PER_GROUP = (36, 52)
PHOTO_EVERY = 14  # one report in so many carries a photo
SIGHTING_NOTES = [
    "Same seller on our side, same photos.",
    "We bought from this shop last month: counterfeit.",
    "Also listing our products under another store name.",
    "Seen on two more marketplaces with the same phone number.",
    "",
    "",
]
DISPUTE_NOTES = [
    "These are genuine goods from an authorised distributor of ours.",
    "Parallel import, not a counterfeit, as far as our stock is concerned.",
]


def _network(rng: random.Random, index: int) -> dict[str, str]:
    """One counterfeit operation: the identifiers that keep reappearing in reports."""
    shop = f"{rng.choice(SHOP_WORDS)}{rng.choice(SHOP_WORDS)}{rng.randint(10, 99)}"
    item = 5_000_000 + rng.randint(0, 999_999)
    slug = shop.lower()
    # Reserved names and fictional numbers only: no real listing, shop or phone is named.
    return {
        IndicatorKind.shop_name: shop,
        IndicatorKind.store_url: f"https://shops.marketplace.example/store/{9_100_000 + index}",
        IndicatorKind.listing_url: (
            f"https://shops.marketplace.example/item/{item}.html?utm_source=share"
        ),
        IndicatorKind.phone: f"+44 7700 900{index:03d}",
        IndicatorKind.email: f"{slug}.sales@mail-{index}.example",
        IndicatorKind.handle: f"@{slug}_official",
        IndicatorKind.domain: f"{slug}-outlet.example",
        IndicatorKind.payment_account: "XX{} {} {} {} {}".format(
            rng.randint(10, 99), *(rng.randint(1000, 9999) for _ in range(4))
        ),
        IndicatorKind.address: f"No. {rng.randint(1, 300)} Industrial Road, {rng.choice(CITIES)}",
        IndicatorKind.tracking_number: f"{rng.choice(COURIERS)}{rng.randint(10**8, 10**9 - 1)}XX",
    }


def activity_start(now: datetime) -> datetime:
    """Where the demo's record of work begins: the previous year's last quarter, or twelve
    whole months back early in a year, so the last twelve months are always covered."""
    october = datetime(now.year - 1, 10, 1, tzinfo=UTC)
    year_back = datetime(now.year - 1, now.month, 1, tzinfo=UTC)
    return min(october, year_back)


def busier_lately(start: datetime, now: datetime, share: float) -> datetime:
    """The moment by which `share` (0 to 1) of the work between `start` and `now` was
    done, when later months are a little busier: the density rises linearly to 1.7 times
    its first value."""
    growth = 0.7
    x = (math.sqrt(1 + 2 * growth * share * (1 + growth / 2)) - 1) / growth
    return (start + (now - start) * x).replace(microsecond=0)


@dataclass(frozen=True)
class _Member:
    """An active person who may post on a group's board, and since when they may."""

    person: Person
    brand: Brand
    since: datetime


@dataclass(frozen=True)
class _Plan:
    created: datetime
    group: WorkingGroup
    author: _Member
    network: dict[str, str]
    members: list[_Member]  # the group's, for recipients, colleagues and sightings


def load_demo_reports(session: Session, settings: Settings) -> None:
    """Add the demo reports once; a database that has reports is left alone."""
    if session.exec(select(func.count()).select_from(IntelReport)).one() > 0:
        return
    rng = random.Random(SEED)
    networks = [_network(rng, index) for index in range(60)]
    answers = _Answers(rng)
    groups = session.exec(select(WorkingGroup).order_by(col(WorkingGroup.id))).all()
    members = _members_by_group(session)
    now = utcnow()
    start = activity_start(now)
    planned: list[_Plan] = []
    for group in groups:
        authors = members.get(group.id or 0, [])
        if not authors:
            continue
        # Each group's counterfeiters are a handful of networks, some shared with other groups.
        group_networks = rng.sample(networks, 8)
        count = rng.randint(*REPORTS_PER_GROUP)
        for index in range(count):
            # One report in each of `count` equal slices of the work: steady, never bunched.
            created = busier_lately(start, now, (index + rng.random()) / count)
            ready = [a for a in authors if a.since <= created]
            if ready:
                author, network = rng.choice(ready), rng.choice(group_networks)
                planned.append(_Plan(created, group, author, network, authors))
    # Inserted oldest first, so ids follow time as they do when people post.
    planned.sort(key=lambda plan: plan.created)
    reports = [_report(rng, plan) for plan in planned]
    session.add_all(reports)
    session.flush()
    rows = _Rows()
    histories: list[tuple[_History, Callable[[datetime], Person]]] = []
    for number, (plan, report) in enumerate(zip(planned, reports, strict=True)):
        _indicators(rows, rng, report, plan)
        history, acting = _History(rows, report, now), _acting(rng, plan)
        _lifecycle(rng, history, answers, acting)
        histories.append((history, acting))
        _sightings(rows, rng, report, plan, now)
        if number % PHOTO_EVERY == 0:
            _add_photo(session, settings, rng, report, plan.author.person)
    _backlog(rng, histories, now)
    for history, _ in histories:
        history.report.status, history.report.updated_at = history.status, history.at
    session.flush()
    rows.write(session)
    report_ids = [report.id or 0 for report in reports]
    # As posting each report would: it names what another brand reported before, or not.
    correlation.mark_correlated(session, report_ids)
    search_index.reindex_many(session, report_ids)
    session.commit()


class _Rows:
    """Rows to insert in bulk, by table: thousands of small rows in a few statements."""

    def __init__(self) -> None:
        self.tables: dict[type[SQLModel], list[dict[str, Any]]] = {}

    def add(self, model: type[SQLModel], **values: Any) -> dict[str, Any]:
        self.tables.setdefault(model, []).append(values)
        return values

    def write(self, session: Session) -> None:
        for model, rows in self.tables.items():
            session.execute(insert(model), rows)


def _members_by_group(session: Session) -> dict[int, list[_Member]]:
    rows = session.exec(
        select(Person, Brand, GroupMembership)
        .join(Brand, col(Brand.id) == Person.brand_id)
        .join(GroupMembership, col(GroupMembership.brand_id) == Brand.id)
        .where(col(Person.is_active).is_(True))
        .order_by(col(GroupMembership.group_id), col(Person.id))
    ).all()
    members: dict[int, list[_Member]] = {}
    for person, brand, membership in rows:
        since = max(as_utc(person.created_at), as_utc(membership.joined_at))
        members.setdefault(membership.group_id, []).append(_Member(person, brand, since))
    return members


def _report(rng: random.Random, plan: _Plan) -> IntelReport:
    group, brand = plan.group, plan.author.brand
    product = rng.choice(PRODUCTS.get(group.slug, ["goods"]))
    marketplace = rng.choices(MARKETPLACES, weights=MARKETPLACE_WEIGHTS)[0]
    shop = plan.network[IndicatorKind.shop_name]
    category = rng.choice(
        [
            Category.online_listing,
            Category.seller,
            Category.seller,
            Category.payment,
            Category.logistics,
            Category.manufacturer,
        ]
    )
    tlp = rng.choices(
        [Tlp.clear, Tlp.green, Tlp.amber, Tlp.amber_strict, Tlp.red], weights=[5, 25, 50, 15, 5]
    )[0]
    body = (
        f"{shop} offers **{product}** carrying {brand.name}'s marks at about a third of the "
        f"retail price on {marketplace}.\n\n"
        f"- Listing photos are copied from our catalogue\n"
        f"- Packaging differs from the genuine article (font, batch code)\n"
        f"- The seller ships from {rng.choice(CITIES)}\n"
    )
    return IntelReport(
        group_id=group.id or 0,
        brand_id=brand.id or 0,
        author_id=plan.author.person.id or 0,
        title=f"{shop}: counterfeit {product} on {marketplace}",
        body_md=body,
        body_html=to_safe_html(body),
        category=category,
        marketplace=marketplace,
        brands_affected=brand.name,
        products_affected=product,
        infringement=rng.choices(
            [
                Infringement.counterfeit,
                Infringement.lookalike,
                Infringement.unauthorised_reseller,
                Infringement.grey_market,
            ],
            weights=[70, 15, 10, 5],
        )[0],
        confidence=rng.choice(list(Confidence)),
        reliability=rng.choice([Reliability.a, Reliability.b, Reliability.b, Reliability.c]),
        tlp=tlp,
        created_at=plan.created,
        updated_at=plan.created,
    )


def _indicators(rows: _Rows, rng: random.Random, report: IntelReport, plan: _Plan) -> None:
    for kind in rng.sample(list(plan.network), rng.randint(2, 5)):
        value = plan.network[kind]
        rows.add(
            Indicator,
            report_id=report.id,
            kind=kind,
            value=value,
            normalised=normalise(kind, value),
        )
    if report.tlp == Tlp.red:
        others = [m.person for m in plan.members if m.brand.id != report.brand_id]
        for recipient in rng.sample(others, min(2, len(others))):
            rows.add(ReportRecipient, report_id=report.id, person_id=recipient.id)


class _Answers:
    """Each marketplace's answers to notices in the shares of its Speed, spread evenly
    over time: the answer furthest behind its share comes next, give or take a little, so
    even a few dozen notices show the marketplace's speed."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.given: dict[str, dict[str, int]] = {}

    def next(self, marketplace: str) -> str:
        speed = TAKEDOWN_SPEED[marketplace]
        shares = {
            "day": speed.within_day,
            "days": 1 - speed.within_day - speed.never,
            "never": speed.never,
        }
        given = self.given.setdefault(marketplace, dict.fromkeys(shares, 0))
        total = sum(given.values()) + 1
        answer = max(shares, key=lambda a: shares[a] * total - given[a] + self.rng.random() / 2)
        given[answer] += 1
        return answer


class _History:
    """A report's status changes and takedown requests, made exactly as
    hub.intel.service.change_status makes them; a step still to come is not taken."""

    def __init__(self, rows: _Rows, report: IntelReport, now: datetime) -> None:
        self.rows, self.report, self.now = rows, report, now
        self.status: str = Status.new
        self.at = report.created_at
        self.pending: dict[str, Any] | None = None  # the open takedown request

    def move(self, to_status: Status, at: datetime, by: Person) -> bool:
        if at > self.now:
            return False
        assert to_status in NEXT_STATUSES[self.status] and at >= self.at
        if self.status == Status.notice_filed and self.pending is not None:
            removed = to_status == Status.taken_down
            self.pending.update(
                outcome=TakedownOutcome.taken_down if removed else TakedownOutcome.not_taken_down,
                ended_at=at,
                ended_by_id=by.id,
                handling_seconds=int((at - self.pending["filed_at"]).total_seconds())
                if removed
                else None,
            )
            self.pending = None
        if to_status == Status.notice_filed:
            self.pending = self.rows.add(
                Takedown,
                report_id=self.report.id,
                filed_at=at,
                filed_by_id=by.id,
                outcome=TakedownOutcome.pending,
                ended_at=None,
                ended_by_id=None,
                handling_seconds=None,
            )
        self.rows.add(
            StatusChange,
            report_id=self.report.id,
            from_status=self.status,
            to_status=to_status,
            by_id=by.id,
            at=at,
            note="",
        )
        self.status, self.at = to_status, at
        return True


def _acting(rng: random.Random, plan: _Plan) -> Callable[[datetime], Person]:
    """Who moves the report on: mostly its author, now and then a colleague of the brand."""
    colleagues = [m for m in plan.members if m.brand.id == plan.author.brand.id]

    def at(moment: datetime) -> Person:
        present = [m for m in colleagues if m.since <= moment]
        if rng.random() < 0.7 or not present:
            return plan.author.person
        return rng.choice(present).person

    return at


def _after(rng: random.Random, moment: datetime, low_hours: float, high_hours: float) -> datetime:
    return moment + timedelta(seconds=rng.randint(int(low_hours * 3600), int(high_hours * 3600)))


def _lifecycle(
    rng: random.Random, history: _History, answers: _Answers, acting: Callable[[datetime], Person]
) -> None:
    """Where a report goes: most lead to a takedown notice, some are only verified or
    closed, the newest are still new; a listing taken down may come back."""

    def move(status: Status, low_hours: float, high_hours: float) -> bool:
        at = _after(rng, history.at, low_hours, high_hours)
        return history.move(status, at, acting(at))

    path = rng.choices(
        ["new", "dismissed", "verified", "shelved", "notice"], weights=[13, 3, 12, 6, 66]
    )[0]
    if path == "new":
        return
    if path == "dismissed":
        move(Status.closed, 2, 96)
        return
    if (path != "notice" or rng.random() < 0.6) and not move(Status.verified, 2, 48):
        return
    if path == "shelved":
        move(Status.closed, 48, 480)
    if path != "notice" or _notice(rng, history, answers, acting) != Status.taken_down:
        return
    then = rng.choices(["stays", "closed", "relisted"], weights=[45, 35, 20])[0]
    if then == "closed":
        move(Status.closed, 48, 720)
    elif then == "relisted" and move(Status.relisted, 72, 1440):
        if rng.random() < 0.25:
            move(Status.closed, 24, 240)
        elif _notice(rng, history, answers, acting) == Status.taken_down and rng.random() < 0.4:
            move(Status.closed, 48, 720)


def _backlog(
    rng: random.Random,
    histories: Sequence[tuple[_History, Callable[[datetime], Person]]],
    now: datetime,
) -> None:
    """A few recently verified reports got their notice in the last day or two, and the
    marketplaces have not answered yet."""
    verified = [(h, acting) for h, acting in histories if h.status == Status.verified][-10:]
    for history, acting in rng.sample(verified, min(len(verified), rng.randint(3, 5))):
        filed = now - timedelta(seconds=rng.randint(600, 40 * 3600))
        filed = max(filed, history.at + timedelta(minutes=30))
        history.move(Status.notice_filed, filed, acting(filed))


def _notice(
    rng: random.Random, history: _History, answers: _Answers, acting: Callable[[datetime], Person]
) -> str | None:
    """File a takedown notice and the marketplace's answer; returns the status it led to,
    None while it is still pending."""
    filed = _after(rng, history.at, 1, 72)
    if not history.move(Status.notice_filed, filed, acting(filed)):
        return None
    answer = answers.next(history.report.marketplace)
    ended = filed + _handling(rng, answer)
    if ended > history.now:
        if filed >= history.now - STILL_PENDING:
            return None
        # Only the last day or two hold pending notices: an older one got its answer.
        answer, ended = "day", filed + _handling(rng, "day")
    outcome = (
        Status.taken_down if answer != "never" else rng.choice([Status.closed, Status.verified])
    )
    history.move(outcome, ended, acting(ended))
    return outcome


def _handling(rng: random.Random, answer: str) -> timedelta:
    if answer == "day":
        return timedelta(seconds=int(rng.triangular(15 * 60, 23.5 * 3600, 2.5 * 3600)))
    if answer == "days":
        return timedelta(seconds=int(rng.triangular(25 * 3600, 5 * 86400, 36 * 3600)))
    return timedelta(seconds=int(rng.uniform(3, 15) * 86400))  # a refusal, or silence


def _sightings(
    rows: _Rows, rng: random.Random, report: IntelReport, plan: _Plan, now: datetime
) -> None:
    """Other brands of the group confirm ("seen it too") what the whole group may read;
    now and then one disputes it."""
    if report.tlp not in (Tlp.clear, Tlp.green, Tlp.amber):
        return
    others: dict[int, list[_Member]] = {}
    for member in plan.members:
        if member.brand.id != report.brand_id:
            others.setdefault(member.brand.id or 0, []).append(member)
    wanted = rng.choices([0, 1, 2, 3], weights=[45, 32, 16, 7])[0]
    for brand_id in rng.sample(sorted(others), min(wanted, len(others))):
        at = _after(rng, plan.created, 1, 20 * 24)
        present = [m for m in others[brand_id] if m.since <= at]
        if at > now or not present:
            continue
        seen = rng.random() < 0.92
        rows.add(
            Sighting,
            report_id=report.id,
            brand_id=brand_id,
            person_id=rng.choice(present).person.id,
            kind=SightingKind.seen if seen else SightingKind.disputed,
            note=rng.choice(SIGHTING_NOTES if seen else DISPUTE_NOTES),
            created_at=at,
        )


def _add_photo(
    session: Session, settings: Settings, rng: random.Random, report: IntelReport, person: Person
) -> None:
    """A generated stand-in for a test-buy photo or a listing screenshot (small: storing
    one decodes it twice, which is most of the demo's loading time)."""
    colour = (rng.randint(120, 220), rng.randint(60, 160), rng.randint(40, 140))
    white = (255, 255, 255)
    image = Image.new("RGB", (720, 480), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((30, 30, 690, 450), outline=white, width=5)
    draw.text((60, 68), "DEMO EVIDENCE", fill=white, font_size=48)
    draw.text((60, 150), report.title[:48], fill=white, font_size=24)
    draw.text((60, 390), f"photographed {report.created_at:%d %b %Y}", fill=white, font_size=21)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    checked = evidence.check(
        settings, evidence.Upload(f"test-buy-{report.id}.jpg", buffer.getvalue())
    )
    evidence.store(settings, checked)
    session.add(
        Evidence(
            report_id=report.id or 0,
            sha256=checked.sha256,
            filename=checked.upload.filename,
            content_type=checked.content_type,
            size=len(checked.upload.data),
            width=checked.width,
            height=checked.height,
            uploaded_by_id=person.id or 0,
            uploaded_at=report.created_at,
        )
    )
