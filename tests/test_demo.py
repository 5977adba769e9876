"""The demo data is what the README promises, a believable year of alliance work for the
impact dashboard and the annual report, and loading it twice changes nothing."""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, Table, func
from sqlmodel import Session, col, select

from hub.auth.sessions import load_actor
from hub.clock import as_utc, utcnow
from hub.config import Settings
from hub.db import make_engine, upgrade_database
from hub.demo import load_demo_data
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
from hub.intel.markdown import to_safe_html
from hub.intel.models import (
    Evidence,
    Indicator,
    IntelReport,
    Sighting,
    SightingKind,
    Status,
    StatusChange,
    Takedown,
    TakedownOutcome,
    Tlp,
)
from hub.intel.service import NEXT_STATUSES
from hub.members.models import Brand, OrgKind, Person, Role
from hub.models import metadata
from hub.policy import (
    Action,
    Actor,
    ReferralView,
    can,
    visible_intel,
    visible_purchases,
    visible_referrals,
)
from hub.testbuys.models import Campaign, Purchase, Verdict
from tests.databases import throwaway_database

DAY = 86_400
# How an outcome may follow the one before it.
REFERRAL_STEPS = {
    ReferralStatus.sent: {ReferralStatus.accepted, ReferralStatus.closed_no_action},
    ReferralStatus.accepted: {ReferralStatus.raid_done, ReferralStatus.closed_no_action},
    ReferralStatus.raid_done: {ReferralStatus.prosecuted},
}
OUTCOME_FIELDS = (
    "status",
    "raid_on",
    "suspects_arrested",
    "facilities_closed",
    "goods_seized",
    "goods_value",
    "goods_currency",
)


@dataclass(frozen=True)
class Demo:
    engine: Engine
    uploads: Path
    loaded_at: datetime
    first: dict[str, int]  # rows of every table after the first load
    second: dict[str, int]  # and after loading again


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    directory = tmp_path_factory.mktemp("demo")
    with throwaway_database(directory) as url:
        settings = Settings(database_url=url, upload_dir=str(directory / "uploads"))
        engine = make_engine(settings)
        try:
            upgrade_database(engine)
            with Session(engine) as session:
                load_demo_data(session, settings)
                loaded_at = utcnow()
                first = _rows(session)
                load_demo_data(session, settings)
                second = _rows(session)
            yield Demo(engine, directory / "uploads", loaded_at, first, second)
        finally:
            engine.dispose()


@pytest.fixture
def session(demo: Demo) -> Iterator[Session]:
    with Session(demo.engine) as session:
        yield session


def _rows(session: Session) -> dict[str, int]:
    tables: list[Table] = list(metadata.sorted_tables)
    return {t.name: session.exec(select(func.count()).select_from(t)).one() for t in tables}


def _count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def _month(moment: datetime) -> str:
    return f"{as_utc(moment):%Y-%m}"


def _last_twelve_months(now: datetime) -> list[str]:
    """The twelve whole months before the current one, newest first."""
    year, month, months = now.year, now.month, []
    for _ in range(12):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        months.append(f"{year}-{month:02d}")
    return months


def _actor(session: Session, person_id: int) -> Actor:
    person = session.get(Person, person_id)
    assert person is not None
    brand = session.get(Brand, person.brand_id)
    assert brand is not None
    return load_actor(session, person, brand)


def test_loading_twice_adds_nothing(demo: Demo) -> None:
    """A second `hub demo` finds everything there and adds no row to any table."""
    assert demo.first == demo.second
    for table in ("intel_takedown", "impact_referral", "impact_report", "testbuy_purchase"):
        assert demo.first[table] > 0, table


def test_demo_data_is_complete(demo: Demo, session: Session) -> None:
    """Twelve groups, ~30 brands from 10+ countries, every role, reports that correlate."""
    assert _count(session, WorkingGroup) == 12
    brands = session.exec(select(Brand).where(Brand.kind == OrgKind.brand)).all()
    assert 25 <= len(brands) <= 40
    assert len({brand.country for brand in brands}) >= 10
    assert all(brand.slug.replace("-", "").isalnum() for brand in brands)
    roles = set(session.exec(select(Person.role)).all())
    assert roles == {Role.member, Role.brand_admin, Role.alliance_admin}
    assert 80 <= _count(session, Person) <= 130
    coordinated = set(session.exec(select(Coordinator.group_id)).all())
    assert len(coordinated) == 12
    per_brand = session.exec(
        select(GroupMembership.brand_id, func.count()).group_by(col(GroupMembership.brand_id))
    ).all()
    assert all(1 <= n <= 3 for _, n in per_brand)

    assert _count(session, IntelReport) >= 400
    photos = session.exec(select(Evidence)).all()
    assert len(photos) >= 30
    assert all((demo.uploads / p.sha256[:2] / p.sha256).is_file() for p in photos)
    shared = session.exec(
        select(Indicator.normalised)
        .join(IntelReport, col(IntelReport.id) == Indicator.report_id)
        .group_by(col(Indicator.normalised))
        .having(func.count(func.distinct(IntelReport.brand_id)) >= 2)
    ).all()
    assert len(shared) >= 20, "indicators should correlate across brands"


def test_brands_joined_over_the_years(demo: Demo, session: Session) -> None:
    """Member brands grow over seven years or more, most joined early, a few last year and
    this year; nobody works at a brand before it joined, and nothing is in the future."""
    now = demo.loaded_at
    brands = session.exec(select(Brand).where(Brand.kind == OrgKind.brand)).all()
    years = Counter(as_utc(b.created_at).year for b in brands)
    assert min(years) <= now.year - 7
    assert len(years) >= 6
    assert years[now.year] >= 1 and years[now.year - 1] >= 1
    assert years[now.year] + years[now.year - 1] <= len(brands) // 4
    assert sum(n for year, n in years.items() if year <= now.year - 4) > len(brands) / 2
    secretariat = session.exec(select(Brand).where(Brand.kind == OrgKind.alliance)).one()
    assert all(as_utc(secretariat.created_at) < as_utc(b.created_at) for b in brands)
    for person, brand in session.exec(
        select(Person, Brand).join(Brand, col(Brand.id) == Person.brand_id)
    ):
        assert as_utc(brand.created_at) <= as_utc(person.created_at) <= now, person.email


def test_every_month_of_the_last_year_has_work(demo: Demo, session: Session) -> None:
    """Each of the last twelve whole months has reports, notices, cross-brand confirmations,
    test-purchase verdicts and referrals; later months are busier; nothing is in the future."""
    now = demo.loaded_at
    reports = [as_utc(at) for at in session.exec(select(IntelReport.created_at))]
    notices = [as_utc(at) for at in session.exec(select(Takedown.filed_at))]
    confirmed = [
        as_utc(at)
        for at in session.exec(
            select(Sighting.created_at)
            .join(IntelReport, col(IntelReport.id) == Sighting.report_id)
            .where(Sighting.kind == SightingKind.seen, Sighting.brand_id != IntelReport.brand_id)
        )
    ]
    verdicts = [
        as_utc(at)
        for at in session.exec(select(Purchase.verdict_at).where(Purchase.verdict != ""))
        if at is not None
    ]
    sent = [datetime.combine(day, time(), UTC) for day in session.exec(select(Referral.sent_on))]
    months = _last_twelve_months(now)
    for name, moments in (
        ("reports", reports),
        ("takedown notices", notices),
        ("cross-brand confirmations", confirmed),
        ("verdicts", verdicts),
        ("referrals", sent),
    ):
        per_month = Counter(_month(m) for m in moments)
        assert all(per_month[m] > 0 for m in months), (name, per_month)
        assert max(moments) <= now, name
    per_month = Counter(_month(m) for m in reports)
    assert sum(per_month[m] for m in months[:6]) > 1.1 * sum(per_month[m] for m in months[6:])
    assert min(reports) >= now - timedelta(days=470), "about fifteen months, no more"


def test_correlations_across_brands_every_month(demo: Demo, session: Session) -> None:
    """Every month has reports naming a seller another brand reported before (in a CLEAR or
    GREEN report, or an AMBER one of the same group), and each report's stored `correlated`
    flag says exactly that."""
    earlier: dict[tuple[str, str], list[tuple[int, int, int, str]]] = {}
    for kind, normalised, report_id, brand_id, group_id, tlp in session.exec(
        select(
            Indicator.kind,
            Indicator.normalised,
            IntelReport.id,
            IntelReport.brand_id,
            IntelReport.group_id,
            IntelReport.tlp,
        ).join(IntelReport, col(IntelReport.id) == Indicator.report_id)
    ):
        earlier.setdefault((kind, normalised), []).append((report_id or 0, brand_id, group_id, tlp))
    matched: set[int] = set()
    for reports in earlier.values():
        for report_id, brand_id, group_id, _ in reports:
            if any(
                other < report_id
                and other_brand != brand_id
                and (
                    tlp in (Tlp.clear, Tlp.green) or (tlp == Tlp.amber and other_group == group_id)
                )
                for other, other_brand, other_group, tlp in reports
            ):
                matched.add(report_id)
    rows = session.exec(select(IntelReport.id, IntelReport.created_at, IntelReport.correlated))
    per_month: Counter[str] = Counter()
    for report_id, created_at, correlated in rows:
        assert correlated == (report_id in matched), report_id
        per_month[_month(created_at)] += correlated
    assert all(per_month[m] > 0 for m in _last_twelve_months(demo.loaded_at)), per_month


def test_takedowns_agree_with_the_status_history(demo: Demo, session: Session) -> None:
    """Every notice filed opened a takedown request that the next status closed, with the
    same times and people, exactly as a status change records them; each report's history
    is a chain of allowed steps ending in its status."""
    now = demo.loaded_at
    changes = session.exec(
        select(StatusChange).order_by(
            col(StatusChange.report_id), col(StatusChange.at), col(StatusChange.id)
        )
    ).all()
    expected: list[tuple[object, ...]] = []
    notices: dict[int, tuple[int, datetime, int]] = {}
    chains: dict[int, list[StatusChange]] = {}
    for change in changes:
        chains.setdefault(change.report_id, []).append(change)
        at = as_utc(change.at)
        notice = notices.pop(change.report_id, None)
        if notice is not None:
            removed = change.to_status == Status.taken_down
            outcome = TakedownOutcome.taken_down if removed else TakedownOutcome.not_taken_down
            handled = int((at - notice[1]).total_seconds()) if removed else None
            expected.append((*notice, outcome, at, change.by_id, handled))
        if change.to_status == Status.notice_filed:
            notices[change.report_id] = (change.report_id, at, change.by_id)
    expected += [(*n, TakedownOutcome.pending, None, None, None) for n in notices.values()]
    stored = [
        (
            t.report_id,
            as_utc(t.filed_at),
            t.filed_by_id,
            t.outcome,
            as_utc(t.ended_at) if t.ended_at else None,
            t.ended_by_id,
            t.handling_seconds,
        )
        for t in session.exec(select(Takedown))
    ]
    assert len(stored) >= 200
    assert sorted(stored, key=repr) == sorted(expected, key=repr)

    for report in session.exec(select(IntelReport)):
        chain = chains.get(report.id or 0, [])
        status, at = Status.new, as_utc(report.created_at)
        for change in chain:
            assert change.from_status == status and change.to_status in NEXT_STATUSES[status]
            assert at <= as_utc(change.at) <= now
            status, at = Status(change.to_status), as_utc(change.at)
        assert report.status == status, report.id


def test_most_takedowns_within_a_day_but_not_all(demo: Demo, session: Session) -> None:
    """Nine notices in ten or more come down within 24 hours; some take days, a few never
    do, a handful filed in the last two days are pending; some marketplaces are slower."""
    now = demo.loaded_at
    rows = session.exec(
        select(Takedown, IntelReport.marketplace).join(
            IntelReport, col(IntelReport.id) == Takedown.report_id
        )
    ).all()
    outcomes = Counter(t.outcome for t, _ in rows)
    answered = [(t, m) for t, m in rows if t.outcome != TakedownOutcome.pending]
    within_day = [(t, m) for t, m in answered if (t.handling_seconds or DAY + 1) <= DAY]
    share = len(within_day) / len(answered)
    assert 0.88 <= share <= 0.97
    slow = [t for t, _ in answered if (t.handling_seconds or 0) > DAY]
    assert slow and all(t.handling_seconds <= 5 * DAY for t in slow if t.handling_seconds)
    assert 3 <= outcomes[TakedownOutcome.not_taken_down] <= 0.06 * len(answered)
    pending = [t for t, _ in rows if t.outcome == TakedownOutcome.pending]
    assert 2 <= len(pending) <= 10
    assert all(as_utc(t.filed_at) >= now - timedelta(days=2) for t in pending)
    per_market = Counter(m for _, m in answered)
    fast = Counter(m for _, m in within_day)
    shares = {m: fast[m] / n for m, n in per_market.items()}
    assert len(shares) >= 8
    assert min(shares.values()) < share - 0.04 < share + 0.02 < max(shares.values())


def test_test_purchases_have_believable_verdicts(demo: Demo, session: Session) -> None:
    """Verdicts given over the year, about two in three of them counterfeit."""
    judged = session.exec(select(Purchase).where(Purchase.verdict != "")).all()
    assert len(judged) >= 30
    assert all(p.verdict_at is not None and as_utc(p.verdict_at) <= demo.loaded_at for p in judged)
    counterfeit = sum(p.verdict == Verdict.counterfeit for p in judged) / len(judged)
    assert 0.55 <= counterfeit <= 0.75


def test_referrals_draw_on_readable_sources_of_their_group(demo: Demo, session: Session) -> None:
    """Each referral is one group's case, made by a brand admin or coordinator working at the
    referring brand, from earlier reports and counterfeit purchases of that group which
    the referrer and the brand's admins may read; so they may read the referral."""
    referrals = session.exec(select(Referral)).all()
    assert 40 <= len(referrals) <= 60
    assert len({r.agency for r in referrals}) >= 6
    markings: Counter[str] = Counter()
    for referral in referrals:
        reports = session.exec(
            select(IntelReport)
            .join(ReferralReport, col(ReferralReport.report_id) == IntelReport.id)
            .where(ReferralReport.referral_id == referral.id)
        ).all()
        bought = session.exec(
            select(Purchase, Campaign)
            .join(ReferralPurchase, col(ReferralPurchase.purchase_id) == Purchase.id)
            .join(Campaign, col(Campaign.id) == Purchase.campaign_id)
            .where(ReferralPurchase.referral_id == referral.id)
        ).all()
        assert 1 <= len(reports) <= 3
        assert referral.contact.endswith(".example") and referral.agency
        for report in reports:
            markings[report.tlp] += 1
            assert report.group_id == referral.group_id
            assert as_utc(report.created_at).date() <= referral.sent_on
            assert report.tlp != Tlp.red
            if report.tlp == Tlp.amber_strict:
                assert report.brand_id == referral.brand_id
        for purchase, campaign in bought:
            assert campaign.group_id == referral.group_id
            assert purchase.verdict == Verdict.counterfeit and purchase.verdict_at is not None
            assert as_utc(purchase.verdict_at).date() <= referral.sent_on
        creator = session.get(Person, referral.created_by_id)
        assert creator is not None and creator.brand_id == referral.brand_id
        admins = session.exec(
            select(Person.id).where(
                Person.brand_id == referral.brand_id,
                Person.role == Role.brand_admin,
                col(Person.is_active).is_(True),
            )
        ).all()
        for person_id in {referral.created_by_id, *admins}:
            actor = _actor(session, person_id or 0)
            ids = [r.id for r in reports]
            assert len(
                session.exec(
                    select(IntelReport.id).where(col(IntelReport.id).in_(ids), visible_intel(actor))
                ).all()
            ) == len(ids)
            for purchase, _ in bought:
                assert session.exec(
                    select(Purchase.id)
                    .join(Campaign, col(Campaign.id) == Purchase.campaign_id)
                    .where(Purchase.id == purchase.id, visible_purchases(actor))
                ).first()
            assert session.exec(
                select(Referral.id).where(Referral.id == referral.id, visible_referrals(actor))
            ).first()
        assert can(_actor(session, referral.created_by_id), Action.refer_case, referral.group_id)
    assert 1 <= markings[Tlp.amber_strict] <= 5
    assert markings[Tlp.green] + markings[Tlp.amber] >= 0.75 * sum(markings.values())
    assert _count(session, ReferralPurchase) >= 5


def test_referral_updates_agree_with_current_values(demo: Demo, session: Session) -> None:
    """Each referral's outcome is its last recorded step, its version counts the steps, the
    steps follow sent, accepted, raid, prosecuted (or closed), by people who may record them;
    older cases went further than recent ones."""
    now = demo.loaded_at
    referrals = session.exec(select(Referral).order_by(col(Referral.sent_on))).all()
    statuses = Counter(r.status for r in referrals)
    assert set(statuses) == set(ReferralStatus)
    arrests = 0
    for referral in referrals:
        updates = session.exec(
            select(ReferralUpdate)
            .where(ReferralUpdate.referral_id == referral.id)
            .order_by(col(ReferralUpdate.at), col(ReferralUpdate.id))
        ).all()
        assert referral.version == len(updates) + 1
        status, at = ReferralStatus.sent, as_utc(referral.created_at)
        for update in updates:
            assert update.status in REFERRAL_STEPS[status]
            assert at <= as_utc(update.at) <= now
            view = ReferralView(referral.group_id, referral.brand_id)
            assert can(_actor(session, update.by_id), Action.record_outcome, view)
            if update.status in (ReferralStatus.raid_done, ReferralStatus.prosecuted):
                assert update.raid_on is not None and referral.sent_on <= update.raid_on
                assert 0 <= update.suspects_arrested <= 15
                assert 0 <= update.facilities_closed <= 4
                assert 100 <= update.goods_seized <= 100_000 and update.goods_value > 0
            status, at = ReferralStatus(update.status), as_utc(update.at)
        if updates:
            last = updates[-1]
            assert [getattr(referral, f) for f in OUTCOME_FIELDS] == [
                getattr(last, f) for f in OUTCOME_FIELDS
            ]
            assert as_utc(referral.updated_at) == as_utc(last.at)
        else:
            assert referral.status == ReferralStatus.sent and referral.goods_seized == 0
        arrests += referral.suspects_arrested
    assert arrests > 20
    older, newer = referrals[: len(referrals) // 2], referrals[len(referrals) // 2 :]
    assert sum(r.status == ReferralStatus.sent for r in older) < sum(
        r.status == ReferralStatus.sent for r in newer
    )
    currencies = Counter(r.goods_currency for r in referrals if r.goods_value > 0)
    assert currencies.most_common(1)[0][0] == "CNY" and len(currencies) >= 2


def test_last_year_published_and_this_year_in_draft(demo: Demo, session: Session) -> None:
    """Last year's annual report is published with every group's section; this year's is a
    draft with about half of them; each section is its coordinator's, sanitised."""
    now = demo.loaded_at
    groups = session.exec(select(WorkingGroup.id)).all()
    last = session.exec(
        select(ImpactReport).where(ImpactReport.year == now.year - 1, ImpactReport.quarter == 0)
    ).one()
    this = session.exec(
        select(ImpactReport).where(ImpactReport.year == now.year, ImpactReport.quarter == 0)
    ).one()
    assert last.published_at is not None and as_utc(last.published_at) <= now
    assert last.published_by_id is not None
    assert this.published_at is None
    coordinators = set(session.exec(select(Coordinator.group_id, Coordinator.person_id)).all())
    for report, low, high in ((last, len(groups), len(groups)), (this, 4, 8)):
        sections = session.exec(
            select(GroupNarrative).where(GroupNarrative.report_id == report.id)
        ).all()
        assert low <= len(sections) <= high
        for section in sections:
            assert (section.group_id, section.updated_by_id) in coordinators
            assert section.body_html == to_safe_html(section.body_md)
            assert 2 <= section.body_md.count(". ") + 1 <= 5
            assert as_utc(section.updated_at) <= now
