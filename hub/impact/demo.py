"""Demo results: some fifty referrals to law enforcement over the past year, built on the
demo's reports and test purchases, with their outcomes recorded step by step; and the
annual impact report, last year's published and this year's in draft. The agencies are
real-sounding; every officer, contact and case reference is invented, and every e-mail
address ends in the reserved `.example`."""

import math
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, func, select

from hub.clock import as_utc, utcnow
from hub.groups.models import Coordinator, GroupMembership, WorkingGroup
from hub.impact.models import (
    GroupNarrative,
    ImpactReport,
    Referral,
    ReferralPurchase,
    ReferralReport,
    ReferralStatus,
    ReferralUpdate,
)
from hub.intel.demo import activity_start, busier_lately
from hub.intel.markdown import to_safe_html
from hub.intel.models import Indicator, IntelReport, Status, StatusChange, Tlp
from hub.members.models import Person, Role
from hub.testbuys.models import Campaign, Purchase, Verdict

SEED = 7311
REFERRALS = 52
STRICT_REFERRALS = 3  # drawn on a TLP:AMBER+STRICT report of the referring brand
# What a referral is built on: reports the whole group may read, which it has acted on.
SHAREABLE = (Tlp.clear, Tlp.green, Tlp.amber)


@dataclass(frozen=True)
class Agency:
    name: str
    jurisdiction: str
    country: str
    currency: str  # what it values seizures in
    reference: str  # its case references begin so
    domain: str  # invented, for its liaison officers' e-mail
    officers: tuple[str, ...]
    weight: int
    arrests: bool = True  # market regulators and customs seize; the police also arrest


AGENCIES = (
    Agency(
        "Shenzhen Municipal Public Security Bureau, Economic Crime Investigation Dept.",
        "Shenzhen, Guangdong",
        "CN",
        "CNY",
        "SZ-ECID",
        "szpsb-liaison.example",
        ("Officer Chen Wei", "Inspector Li Na"),
        9,
    ),
    Agency(
        "Guangzhou Administration for Market Regulation",
        "Guangzhou, Guangdong",
        "CN",
        "CNY",
        "GZ-AMR",
        "gz-amr-enforcement.example",
        ("Director Zhang Jun", "Officer Huang Min"),
        7,
        arrests=False,
    ),
    Agency(
        "Yiwu Public Security Bureau",
        "Yiwu, Zhejiang",
        "CN",
        "CNY",
        "YW-PSB",
        "yiwu-psb-liaison.example",
        ("Officer Wang Fang", "Officer Zhou Lei"),
        6,
    ),
    Agency(
        "Putian Public Security Bureau",
        "Putian, Fujian",
        "CN",
        "CNY",
        "PT-PSB",
        "putian-psb-liaison.example",
        ("Inspector Lin Hao",),
        4,
    ),
    Agency(
        "Dongguan Public Security Bureau, Economic Crime Investigation Dept.",
        "Dongguan, Guangdong",
        "CN",
        "CNY",
        "DG-ECID",
        "dgpsb-liaison.example",
        ("Officer Liu Yang",),
        4,
    ),
    Agency(
        "Quanzhou Administration for Market Regulation",
        "Quanzhou, Fujian",
        "CN",
        "CNY",
        "QZ-AMR",
        "qz-amr-enforcement.example",
        ("Officer Xu Jing",),
        3,
        arrests=False,
    ),
    Agency(
        "Hamburg Customs (Zoll)",
        "Hamburg",
        "DE",
        "EUR",
        "HZA-HH",
        "zoll-hamburg-ipr.example",
        ("Zollamtsrätin Anja Lorenz",),
        2,
        arrests=False,
    ),
    Agency(
        "Guardia di Finanza, Napoli",
        "Naples, Campania",
        "IT",
        "EUR",
        "GdF-NA",
        "gdf-napoli-liaison.example",
        ("Capitano Marco Esposito",),
        2,
    ),
    Agency(
        "U.S. Homeland Security Investigations, Los Angeles",
        "Los Angeles, California",
        "US",
        "USD",
        "HSI-LA",
        "hsi-la-ipr.example",
        ("Special Agent Dana Whitfield",),
        2,
    ),
    Agency(
        "Dubai Police, Anti-Economic Crimes",
        "Dubai",
        "AE",
        "USD",
        "DXB-AEC",
        "dubaipolice-aec.example",
        ("Captain Khalid Al Mansoori",),
        2,
    ),
    Agency(
        "Istanbul Police, Financial Crimes",
        "Istanbul",
        "TR",
        "USD",
        "IST-MSB",
        "istanbul-police-fc.example",
        ("Komiser Emre Yıldız",),
        1,
    ),
)


@dataclass(frozen=True)
class _Source:
    report: IntelReport
    indicators: frozenset[str]
    worked_on: datetime  # when the group first acted on it (verified it, filed a notice)


@dataclass
class _Group:
    group: WorkingGroup
    reports: list[_Source] = field(default_factory=list)
    # (person, since): brand admins of member brands, and coordinators who work at one
    referrers: list[tuple[Person, datetime]] = field(default_factory=list)
    coordinators: list[Person] = field(default_factory=list)
    purchases: list[Purchase] = field(default_factory=list)


def load_demo_impact(session: Session) -> None:
    """Add the demo referrals and impact reports once; what is there is left alone."""
    now = utcnow()
    if session.exec(select(func.count()).select_from(Referral)).one() == 0:
        _referrals(session, random.Random(SEED), now)
    _impact_reports(session, random.Random(f"{SEED}:reports"), now)
    session.commit()


def _referrals(session: Session, rng: random.Random, now: datetime) -> None:
    groups = _groups(session)
    if not groups:
        return
    start = activity_start(now)
    strict = set(rng.sample(range(REFERRALS), STRICT_REFERRALS))
    for index in range(REFERRALS):
        # Spread evenly over the year, a little busier lately, like the reports they use.
        sent = busier_lately(start + timedelta(days=10), now, (index + rng.random()) / REFERRALS)
        planned = _plan(rng, list(groups.values()), sent, index in strict)
        if planned is not None:
            _add_referral(session, rng, now, sent, *planned)
    session.flush()


def _groups(session: Session) -> dict[int, _Group]:
    groups = {
        g.id or 0: _Group(g)
        for g in session.exec(select(WorkingGroup).order_by(col(WorkingGroup.id)))
    }
    indicators: dict[int, set[str]] = {}
    for report_id, normalised in session.exec(select(Indicator.report_id, Indicator.normalised)):
        indicators.setdefault(report_id, set()).add(normalised)
    acted_on = dict(
        session.exec(
            select(StatusChange.report_id, func.min(StatusChange.at))
            .where(StatusChange.to_status != Status.closed)
            .group_by(col(StatusChange.report_id))
        ).all()
    )
    for report in session.exec(select(IntelReport).order_by(col(IntelReport.id))):
        worked_on = acted_on.get(report.id or 0)
        if report.group_id in groups and worked_on is not None and not report.hidden_reason:
            found = frozenset(indicators.get(report.id or 0, ()))
            groups[report.group_id].reports.append(_Source(report, found, as_utc(worked_on)))
    admins = session.exec(
        select(Person, GroupMembership)
        .join(GroupMembership, col(GroupMembership.brand_id) == Person.brand_id)
        .where(Person.role == Role.brand_admin, col(Person.is_active).is_(True))
        .order_by(col(Person.id))
    ).all()
    for person, membership in admins:
        since = max(as_utc(person.created_at), as_utc(membership.joined_at))
        groups[membership.group_id].referrers.append((person, since))
    coordinators = session.exec(
        select(Person, Coordinator)
        .join(Coordinator, col(Coordinator.person_id) == Person.id)
        .where(col(Person.is_active).is_(True))
        .order_by(col(Person.id))
    ).all()
    members = {(m.group_id, m.brand_id) for m in session.exec(select(GroupMembership))}
    for person, coordinator in coordinators:
        groups[coordinator.group_id].coordinators.append(person)
        if (coordinator.group_id, person.brand_id) in members:
            since = max(as_utc(person.created_at), as_utc(coordinator.appointed_at))
            groups[coordinator.group_id].referrers.append((person, since))
    bought = session.exec(
        select(Purchase, Campaign.group_id)
        .join(Campaign, col(Campaign.id) == Purchase.campaign_id)
        .where(Purchase.verdict == Verdict.counterfeit, col(Purchase.verdict_at).is_not(None))
        .order_by(col(Purchase.id))
    ).all()
    for purchase, group_id in bought:
        groups[group_id].purchases.append(purchase)
    return groups


def _plan(
    rng: random.Random, groups: list[_Group], sent: datetime, strict: bool
) -> tuple[_Group, Person, list[IntelReport], list[Purchase]] | None:
    """Who refers which case: a referrer of a group, the group's reports they may read
    (a seed and up to two more naming the same seller), and their brand's counterfeit
    test purchases, all acted on before the day it is sent. A `strict` case starts from
    a TLP:AMBER+STRICT report of the referrer's own brand, where there is one."""
    ready = sent - timedelta(days=3)
    order = rng.sample(groups, len(groups))
    for own_only in (True, False) if strict else (False,):
        for group in order:
            earlier = [s for s in group.reports if s.worked_on <= ready]
            shared = [s for s in earlier if s.report.tlp in SHAREABLE]
            strict_by: dict[int, list[_Source]] = {}
            for source in earlier:
                if source.report.tlp == Tlp.amber_strict:
                    strict_by.setdefault(source.report.brand_id, []).append(source)
            referrers = [
                p
                for p, since in group.referrers
                if since <= ready and (not own_only or p.brand_id in strict_by)
            ]
            seeds_of = strict_by if own_only else {}
            if not referrers or not (shared or own_only):
                continue
            referrer = rng.choice(referrers)
            seeds = seeds_of.get(referrer.brand_id, shared)
            # Cases go on recent intelligence: the seed is one of the latest reports.
            seed = rng.choice(seeds[-12:])
            related = [s for s in shared if s is not seed and s.indicators & seed.indicators]
            wanted = rng.choices([0, 1, 2], weights=[40, 35, 25])[0]
            sources = [seed, *rng.sample(related, min(wanted, len(related)))]
            bought = [
                p
                for p in group.purchases
                if p.brand_id == referrer.brand_id and as_utc(p.verdict_at or sent) <= ready
            ]
            purchases = rng.sample(bought, min(len(bought), rng.choice([0, 1, 1, 2])))
            return group, referrer, [s.report for s in sources], purchases
    return None


def _add_referral(
    session: Session,
    rng: random.Random,
    now: datetime,
    sent: datetime,
    group: _Group,
    referrer: Person,
    reports: list[IntelReport],
    purchases: list[Purchase],
) -> None:
    agency = rng.choices(AGENCIES, weights=[a.weight for a in AGENCIES])[0]
    officer = rng.choice(agency.officers)
    referral = Referral(
        group_id=group.group.id or 0,
        brand_id=referrer.brand_id,
        created_by_id=referrer.id or 0,
        agency=agency.name,
        jurisdiction=agency.jurisdiction,
        country=agency.country,
        sent_on=sent.date(),
        contact=f"{officer}, {_email(officer, agency.domain)}",
        reference=f"{agency.reference}-{sent.year}-{rng.randint(100, 9999):04d}",
        summary=_summary(reports, purchases, agency),
        created_at=sent,
        updated_at=sent,
    )
    session.add(referral)
    session.flush()
    for report in reports:
        session.add(ReferralReport(referral_id=referral.id or 0, report_id=report.id or 0))
    for purchase in purchases:
        session.add(ReferralPurchase(referral_id=referral.id or 0, purchase_id=purchase.id or 0))
    recorders = [referrer] if referrer.role == Role.brand_admin else []
    recorders += group.coordinators
    for step in _outcome(rng, agency, sent, now):
        update = ReferralUpdate(
            referral_id=referral.id or 0, by_id=rng.choice(recorders).id or 0, **step
        )
        session.add(update)
        for name in (
            "status",
            "raid_on",
            "suspects_arrested",
            "facilities_closed",
            "goods_seized",
            "goods_value",
            "goods_currency",
        ):
            setattr(referral, name, getattr(update, name))
        referral.version += 1
        referral.updated_at = update.at


def _summary(reports: Sequence[IntelReport], purchases: Sequence[Purchase], agency: Agency) -> str:
    seed = reports[0]
    seller = seed.title.split(":")[0]
    places = sorted({r.marketplace for r in reports if r.marketplace})
    told = [_count(len(reports), "intelligence report")]
    if purchases:
        told.append(_count(len(purchases), "test purchase") + " found counterfeit")
    naming = "the reports name" if len(reports) > 1 else "the report names"
    return (
        f"The network behind {seller} sells counterfeit {seed.products_affected} carrying "
        f"the marks of {seed.brands_affected} on {', '.join(places)}. The case rests on "
        f"{' and '.join(told)}; {naming} the shop's phone numbers, payment accounts and the "
        f"address it ships from. We ask the {agency.name.split(',')[0]} to identify the "
        "warehouse and the people behind the shop."
    )


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}{'s' if number != 1 else ''}"


def _outcome(
    rng: random.Random, agency: Agency, sent: datetime, now: datetime
) -> list[dict[str, Any]]:
    """The steps recorded after a referral was sent, as far as they have happened: the
    agency accepts it or not, raids, and prosecutors take the case on."""
    fate = rng.choices(
        ["prosecuted", "raid", "investigating", "declined", "dropped"], weights=[35, 25, 15, 10, 15]
    )[0]
    steps: list[dict[str, Any]] = []
    zero = {
        "raid_on": None,
        "suspects_arrested": 0,
        "facilities_closed": 0,
        "goods_seized": 0,
        "goods_value": Decimal("0.00"),
        "goods_currency": agency.currency,
    }

    def record(at: datetime, status: ReferralStatus, note: str, **values: Any) -> bool:
        if at > now:
            return False
        steps.append({**zero, **values, "at": at, "status": status, "note": note})
        return True

    if fate == "declined":
        at = _later(rng, sent, 20, 80)
        record(at, ReferralStatus.closed_no_action, rng.choice(DECLINED))
        return steps
    accepted = _later(rng, sent, 7, 60)
    if not record(accepted, ReferralStatus.accepted, rng.choice(ACCEPTED)):
        return steps
    if fate == "dropped":
        record(_later(rng, accepted, 30, 150), ReferralStatus.closed_no_action, rng.choice(DROPPED))
        return steps
    if fate == "investigating":
        return steps
    raid_day = _later(rng, accepted, 20, 120)
    seized = _seizure(rng, agency)
    note = (
        f"Raid on {max(1, seized['facilities_closed'])} site(s): "
        f"{seized['suspects_arrested']} suspect(s) detained, "
        f"{seized['goods_seized']:,} items seized."
    )
    recorded = _later(rng, raid_day, 1, 12)
    if not record(recorded, ReferralStatus.raid_done, note, raid_on=raid_day.date(), **seized):
        return steps
    if fate == "prosecuted":
        charged = seized["suspects_arrested"] or 1
        record(
            _later(rng, recorded, 45, 150),
            ReferralStatus.prosecuted,
            f"Case transferred to the prosecutors; {charged} suspect(s) charged.",
            raid_on=raid_day.date(),
            **seized,
        )
    return steps


def _seizure(rng: random.Random, agency: Agency) -> dict[str, Any]:
    """What a raid found: items by the hundred to the tens of thousands, valued mostly in
    yuan (tens of thousands to tens of millions), in euros or dollars abroad."""
    items = int(_log_uniform(rng, 300, 60_000))
    if agency.currency == "CNY":
        value = _log_uniform(rng, 30_000, 30_000_000)
    else:
        value = _log_uniform(rng, 8_000, 2_500_000)
    arrests = rng.choices(range(16), weights=[4, 10, 12, 12, 10, 8, 6, 5, 4, 3, 3, 2, 2, 1, 1, 1])[
        0
    ]
    return {
        "suspects_arrested": arrests if agency.arrests else rng.choice([0, 0, 0, 1, 2]),
        "facilities_closed": rng.choices(range(5), weights=[2, 10, 6, 3, 1])[0],
        "goods_seized": round(items, -1 if items < 1000 else -2),
        "goods_value": Decimal(round(value, -2)).quantize(Decimal("0.01")),
        "goods_currency": agency.currency,
    }


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _later(rng: random.Random, moment: datetime, low_days: int, high_days: int) -> datetime:
    return moment + timedelta(days=rng.randint(low_days, high_days), minutes=rng.randint(0, 600))


def _email(officer: str, domain: str) -> str:
    """first.last@domain for an officer named with a rank, ASCII only."""
    parts = officer.split()[-2:]
    folded = unicodedata.normalize("NFKD", ".".join(parts).lower().replace("ı", "i"))
    return "".join(c for c in folded if c.isascii() and (c.isalnum() or c in ".-")) + f"@{domain}"


ACCEPTED = (
    "Accepted: the file is with the economic crime unit, which asked for the sellers' "
    "payment accounts.",
    "Accepted and registered; the agency will verify the warehouse address first.",
    "Case opened. The liaison officer asked for the genuine product samples for comparison.",
)
DECLINED = (
    "Closed without action: the agency found the seller's address abandoned.",
    "Closed without action: below the threshold for a criminal case; passed to the "
    "marketplace instead.",
)
DROPPED = (
    "Closed without action: the suspects moved out of the jurisdiction before a raid.",
    "Closed without action: the prosecutors found the evidence of scale insufficient.",
)


# The working groups' words on their year, as their coordinators wrote them.
NARRATIVES: dict[str, str] = {
    "apparel": (
        "The group's year was dominated by **live-stream sellers** of down jackets and "
        "knitwear, who moved from one marketplace to the next as soon as their listings came "
        "down. Shared indicators (the same phone numbers and payment accounts behind dozens "
        "of shop names) let members file notices together, and most listings were gone within "
        "a day. Our referrals to the Guangdong authorities went out with every brand's "
        "evidence attached."
    ),
    "luxury-leather": (
        "*Super-fakes* remained our main concern: bags sold as mirror quality through resale "
        "apps and private channels, with counterfeit authenticity cards in the box. Members "
        "traced several of these shops to the same workshops, and the group's referrals led "
        "to raids on workshops that supplied them."
    ),
    "footwear": (
        "Fake limited releases peaked before the holidays, sold as unworn resale pairs on "
        "marketplaces and in messaging channels. The test-buy campaign confirmed which "
        "sellers shipped fakes, and the notices against them were mostly handled within hours."
    ),
    "watches-jewellery": (
        "Cloned serial numbers and fake certificates were the pattern of the year: the same "
        "numbers turned up on watches sold by unrelated shops. Members now share serial "
        "numbers as indicators, so a clone is recognised **the first time a second brand "
        "sees it**."
    ),
    "cosmetics": (
        "Counterfeit fragrance and skincare moved further into social commerce, with gift "
        "sets sold far below retail after the holidays. Laboratory results from our test "
        "buys gave the marketplaces reasons to act quickly, and most takedowns were complete "
        "within a day."
    ),
    "electronics": (
        "Unsafe chargers and power banks were the group's priority: the labs found missing "
        "fuses and **counterfeit certification marks**. Members handed the worst cases to "
        "the market surveillance authorities and referred the networks behind them to the "
        "police in Shenzhen."
    ),
    "home-appliances": (
        "Fake water filters and coffee-machine spares were reported steadily across the "
        "year, mostly from the same handful of sellers. Takedowns worked well on the large "
        "marketplaces; independent web shops were slower and needed notices to their hosts."
    ),
    "toys": (
        "Look-alike collectible figures and plush toys peaked before the holidays, sold "
        "without the safety testing children's products must pass. The group's takedown "
        "playbook kept most listings offline within a day."
    ),
    "sporting-goods": (
        "Team jerseys and fan gear dominated the reports around the tournament season, sold "
        "through social shops that opened weeks before kick-off. Members coordinated their "
        "notices so that each seller was reported once, with every brand's evidence attached."
    ),
    "food-beverage": (
        "False origin claims on olive oil and refilled whisky bottles were our main cases. "
        "Laboratory analysis made the difference: the market regulators acted on the "
        "referrals that came with it."
    ),
    "pharma-health": (
        "Illegal online pharmacies selling pain relief and diabetes test strips remained the "
        "priority, with sellers moving between web shops and messaging channels. **Shared "
        "payment accounts** linked many of these shops, so investigators received one network "
        "instead of dozens of sites."
    ),
    "auto-parts": (
        "Counterfeit brake pads and filters were reported from online parts shops and "
        "independent workshops. Bench tests showed fakes failing at temperatures the "
        "originals withstand, which helped platforms act quickly and gave customs the "
        "evidence for seizures."
    ),
}
# This year's sections, written so far by about half the groups.
DRAFTS: dict[str, str] = {
    "apparel": (
        "So far this year the winter test-buy campaign confirmed most of the live-stream "
        "sellers it targeted as counterfeit. *Figures to follow once the year closes.*"
    ),
    "luxury-leather": (
        "Resale apps and messaging channels are still where most super-fakes are sold. The "
        "campaign on belts and card holders is complete, and its results went to the "
        "authorities with the group's reports."
    ),
    "electronics": (
        "The charger campaign is still purchasing; the first results show the same missing "
        "fuses as last year. Referrals to Shenzhen continue."
    ),
    "cosmetics": (
        "Fragrance gift sets and skincare remain our main cases. The group is preparing a "
        "briefing on **live-stream shops** for the marketplaces."
    ),
    "footwear": (
        "Sneaker fakes are expected to peak again before the holidays. Shared seller lists "
        "mean our notices now go out faster than last year."
    ),
    "auto-parts": (
        "Bench tests of brake pads continue with the market surveillance authorities. "
        "*Draft, to be completed in January.*"
    ),
}


def _impact_reports(session: Session, rng: random.Random, now: datetime) -> None:
    """Last year's annual report, published in January with every group's section; this
    year's, a draft with the sections written so far."""
    existing = set(session.exec(select(ImpactReport.year).where(ImpactReport.quarter == 0)))
    groups = session.exec(select(WorkingGroup).order_by(col(WorkingGroup.id))).all()
    writers = _writers(session)
    publisher = session.exec(
        select(Person)
        .where(Person.role == Role.alliance_admin, col(Person.is_active).is_(True))
        .order_by(col(Person.id))
    ).first()
    if not groups or publisher is None:
        return
    if now.year - 1 not in existing:
        published = min(datetime(now.year, 1, 27, 10, tzinfo=UTC), now - timedelta(hours=1))
        report = ImpactReport(
            year=now.year - 1, published_at=published, published_by_id=publisher.id
        )
        _write(session, rng, report, groups, writers, NARRATIVES, published, publisher)
    if now.year not in existing:
        report = ImpactReport(year=now.year)
        _write(session, rng, report, groups, writers, DRAFTS, now, publisher)


def _writers(session: Session) -> dict[int, Person]:
    """Each group's first coordinator: the one who writes its section."""
    writers: dict[int, Person] = {}
    for person, coordinator in session.exec(
        select(Person, Coordinator)
        .join(Coordinator, col(Coordinator.person_id) == Person.id)
        .order_by(col(Person.id))
    ):
        writers.setdefault(coordinator.group_id, person)
    return writers


def _write(
    session: Session,
    rng: random.Random,
    report: ImpactReport,
    groups: Sequence[WorkingGroup],
    writers: dict[int, Person],
    texts: dict[str, str],
    by: datetime,
    publisher: Person,
) -> None:
    session.add(report)
    session.flush()
    earliest = datetime(report.year, 1, 2, tzinfo=UTC)
    for group in groups:
        text = texts.get(group.slug)
        if text is None:
            continue
        written = max(
            by - timedelta(days=rng.randint(2, 20), minutes=rng.randint(0, 600)), earliest
        )
        session.add(
            GroupNarrative(
                report_id=report.id or 0,
                group_id=group.id or 0,
                body_md=text,
                body_html=to_safe_html(text),
                updated_by_id=(writers.get(group.id or 0) or publisher).id or 0,
                updated_at=min(written, by),
            )
        )
