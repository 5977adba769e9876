"""Fill a database with a realistic volume of alliance data, for the benchmarks.

    python -m bench.generate --reports 1000000 [--database-url URL] [--seed S] [--fresh]

At --reports 1,000,000: 12 working groups, 1,000 brands, 10,000 people, 1,000,000
reports with 3,000,000 indicators (a long tail of sellers, phones and accounts named by
several brands' reports, so correlation finds hits), 2,000,000 comments, 200,000 evidence
records (metadata only, no files), sightings, follows, status histories, 2,000 test-buy
campaigns with their sign-ups and purchases, 5,000 events with 100,000 registrations, and
notifications. Other values of --reports scale every volume (12 groups always, at least a
few brands in each). Reports span the last two years.

--database-url defaults to HUB_DATABASE_URL, else the hub's default (sqlite:///./var/hub.db).
The schema is brought to head first (hub.db.upgrade_database); the database must then be
empty, unless --fresh drops and recreates it (the SQLite file, or the PostgreSQL database;
a missing PostgreSQL database is created).
Rows go in through SQLAlchemy Core executemany on SQLite and COPY on PostgreSQL, with ids
assigned here; indexes are built afterwards, the full-text index (intel_search) is filled
in bulk with SQL, sequences are set past the ids used, and the database is analysed.

Every counter the hub keeps on a row (a campaign's slots_taken, an event's seats_taken,
event_brand_seats) is made by replaying the hub's own rules for sign-ups and
registrations, so counters match the rows and every CHECK constraint holds.

The bench member, BENCH_EMAIL, is a brand admin of brand-0001, in the first working group:
the benchmarks sign in as them.

On this 2-core machine (2026-11-30, shared with other work): 10k reports in about 2 s on
SQLite and 5 s on PostgreSQL, 100k in 11 s and 23 s, 1M in 2 to 2.5 min (3.3 GB) and
3.7 to 4 min (4.7 GB). On PostgreSQL the full-text index is most of it: about 130 s of
server time for the documents and 70 s for the GIN index at 1M.
"""

import argparse
import io
import json
import random
import sys
import time
from bisect import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from bench import world as w
from bench.loaders import Loader, Row, loader_for
from bench.progress import Progress
from hub import models
from hub.clock import utcnow
from hub.config import Settings
from hub.db import make_engine, upgrade_database
from hub.demo import WORKING_GROUPS
from hub.events.notices import REGISTRATION_TEXT
from hub.events.times import from_local
from hub.intel.demo import CITIES, PRODUCTS
from hub.intel.indicators import normalise
from hub.intel.markdown import to_safe_html

BENCH_EMAIL = "bench.member@brand-0001.example"
BENCH_BRAND = "brand-0001"
DEFAULT_SEED = 20261130
DAY = 86_400
HOUR = 3_600
CHUNK = 10_000  # reports generated and written at a time

# The columns written to each table (every column of the table without a database default).
COLUMNS: dict[str, tuple[str, ...]] = {
    "working_group": ("id", "slug", "name", "description", "created_at"),
    "brand": (
        "id", "slug", "name", "country", "kind", "website", "description", "is_active",
        "created_at",
    ),
    "brand_domain": ("id", "brand_id", "domain"),
    "group_membership": ("group_id", "brand_id", "joined_at"),
    "person": (
        "id", "brand_id", "email", "name", "job_title", "role", "is_active", "created_at",
        "last_login_at", "time_zone", "language",
    ),
    "login_event": (
        "id", "at", "brand_id", "person_id", "email", "outcome", "reason", "ip", "test_only",
    ),
    "coordinator": ("group_id", "person_id", "appointed_by_id", "appointed_at"),
    "join_request": (
        "id", "group_id", "brand_id", "requested_by_id", "message", "status", "created_at",
        "decided_by_id", "decided_at", "decision_note",
    ),
    "intel_report": (
        "id", "group_id", "brand_id", "author_id", "title", "body_md", "body_html",
        "category", "marketplace", "brands_affected", "products_affected", "infringement",
        "confidence", "reliability", "tlp", "status", "pinned", "hidden_reason",
        "merged_into_id", "correlated", "version", "created_at", "updated_at",
    ),
    "intel_recipient": ("report_id", "person_id"),
    "intel_indicator": ("id", "report_id", "kind", "value", "normalised"),
    "intel_report_version": ("id", "report_id", "version", "snapshot", "edited_by_id", "edited_at"),
    "intel_status_change": ("id", "report_id", "from_status", "to_status", "by_id", "at", "note"),
    "intel_takedown": (
        "id", "report_id", "filed_at", "filed_by_id", "outcome", "ended_at", "ended_by_id",
        "handling_seconds",
    ),
    "impact_referral": (
        "id", "group_id", "brand_id", "created_by_id", "agency", "jurisdiction", "country",
        "sent_on", "contact", "reference", "summary", "status", "raid_on", "suspects_arrested",
        "facilities_closed", "goods_seized", "goods_value", "goods_currency", "version",
        "created_at", "updated_at",
    ),
    "impact_referral_report": ("referral_id", "report_id"),
    "impact_referral_update": (
        "id", "referral_id", "by_id", "at", "status", "raid_on", "suspects_arrested",
        "facilities_closed", "goods_seized", "goods_value", "goods_currency", "note",
    ),
    "intel_comment": (
        "id", "report_id", "parent_id", "author_id", "body_md", "body_html", "created_at",
    ),
    "intel_sighting": ("id", "report_id", "brand_id", "person_id", "kind", "note", "created_at"),
    "intel_follow": ("report_id", "person_id", "created_at"),
    "intel_group_follow": ("group_id", "person_id", "created_at"),
    "intel_evidence": (
        "id", "report_id", "sha256", "filename", "content_type", "size", "width", "height",
        "uploaded_by_id", "uploaded_at",
    ),
    "notification": (
        "id", "person_id", "kind", "report_id", "text", "link", "group_id", "mailed_at",
        "created_at", "read_at",
    ),
    "audit_entry": ("id", "at", "actor_id", "actor_label", "action", "target", "detail"),
    "testbuy_campaign": (
        "id", "group_id", "title", "goal", "channels", "region", "opens_at", "closes_at",
        "slots", "slots_taken", "max_per_brand", "budget", "currency", "cost_rule", "status",
        "next_position", "copied_from_id", "created_by_id", "created_at", "updated_at",
    ),
    "testbuy_signup": (
        "id", "campaign_id", "brand_id", "requested", "granted", "state", "position",
        "products", "targets", "approved_at", "approved_by_id", "created_by_id", "created_at",
        "updated_at",
    ),
    "testbuy_signup_target": ("signup_id", "report_id"),
    "testbuy_signup_event": ("id", "signup_id", "person_id", "kind", "detail", "created_at"),
    "testbuy_persona": (
        "id", "group_id", "name", "drop_address", "contact", "accounts", "burned_at",
        "burned_reason", "created_by_id", "created_at",
    ),
    "testbuy_purchase": (
        "id", "campaign_id", "signup_id", "brand_id", "product", "marketplace", "seller",
        "listing_url", "target_report_id", "persona_id", "order_number", "ordered_on",
        "shipped_on", "received_on", "examined_on", "item_cost", "shipping_cost", "fees",
        "cost_currency", "amount", "status", "verdict", "verdict_note", "verdict_by_id",
        "verdict_at", "report_id", "created_by_id", "created_at", "updated_at",
    ),
    "testbuy_purchase_event": (
        "id", "purchase_id", "person_id", "from_status", "to_status", "note", "created_at",
    ),
    "event": (
        "id", "uid", "sequence", "group_id", "audience", "kind", "title", "description",
        "description_html", "time_zone", "all_day", "starts_at", "ends_at", "attendance",
        "venue", "address", "online_url", "capacity", "seats_taken", "seats_per_brand",
        "registration_opens_at", "registration_closes_at", "needs_approval",
        "attendees_visible", "materials_tlp", "chatham_house", "status", "cancel_reason",
        "next_position", "deadline_reminded_at", "created_by_id", "created_at", "updated_at",
    ),
    "event_invite": ("event_id", "brand_id"),
    "registration": (
        "id", "event_id", "person_id", "brand_id", "state", "position", "note",
        "handed_from_id", "decided_by_id", "reminded_at", "created_at", "updated_at",
    ),
    "event_brand_seats": ("event_id", "brand_id", "taken", "cap"),
}  # fmt: skip

TLPS = ("clear", "green", "amber", "amber_strict", "red")
TLP_WEIGHTS = (5, 25, 50, 15, 5)
GROUP_WIDE = frozenset(("clear", "green", "amber"))  # readable by the whole group
CATEGORIES = ("online_listing", "seller", "manufacturer", "logistics", "payment", "other")
CATEGORY_WEIGHTS = (40, 28, 8, 10, 9, 5)
INFRINGEMENTS = ("counterfeit", "lookalike", "unauthorised_reseller", "grey_market")
INFRINGEMENT_WEIGHTS = (70, 15, 10, 5)
CONFIDENCES = ("confirmed", "probable", "possible", "doubtful")
RELIABILITIES = ("A", "B", "B", "C", "C", "D", "F")
# The takedown lifecycle as the demo follows it; each step is allowed by NEXT_STATUSES.
STATUS_PATH = ("new", "verified", "notice_filed", "taken_down", "relisted", "closed")
TAKEDOWN_IN_A_DAY = 0.93  # the share of notices a marketplace answers within 24 hours
REFERRAL_ROAD = ("sent", "accepted", "raid_done", "prosecuted")
AGENCIES = (
    ("Shenzhen Public Security Bureau", "Guangdong", "CN", "CNY"),
    ("Guangzhou Administration for Market Regulation", "Guangdong", "CN", "CNY"),
    ("Yiwu Public Security Bureau", "Zhejiang", "CN", "CNY"),
    ("Putian Public Security Bureau", "Fujian", "CN", "CNY"),
    ("Hamburg Customs", "Hamburg", "DE", "EUR"),
    ("Guardia di Finanza", "Campania", "IT", "EUR"),
    ("Homeland Security Investigations", "California", "US", "USD"),
    ("Istanbul Police, Financial Crimes", "Istanbul", "TR", "EUR"),
)
STATUS_STEP_WEIGHTS = (30, 20, 15, 20, 5, 10)
KINDS = (
    "shop_name", "store_url", "listing_url", "seller_id", "phone", "email", "handle",
    "domain", "payment_account", "address", "tracking_number",
)  # fmt: skip
KIND_WEIGHTS = (14, 12, 16, 10, 8, 7, 7, 8, 6, 5, 7)
INDICATOR_COUNTS = (1, 2, 3, 4, 5, 6)
INDICATOR_COUNT_WEIGHTS = (15, 25, 25, 17, 10, 8)  # 3.06 a report
COMMENT_COUNTS = (0, 1, 2, 3, 4, 6, 12)
COMMENT_COUNT_WEIGHTS = (35, 20, 15, 12, 8, 6, 4)  # 2.02 a report
SIGHTING_COUNTS = (0, 1, 2, 3)
SIGHTING_COUNT_WEIGHTS = (72, 17, 8, 3)
ONE_OFF_SHARE = 0.4  # reports whose seller appears nowhere else
PURCHASE_ROAD = (
    "planned", "ordered", "shipped", "received", "examined", "verdict", "reported", "closed",
)  # fmt: skip
VERDICTS = ("counterfeit", "counterfeit", "counterfeit", "genuine", "grey_market", "not_received")
EVENT_KINDS = ("workshop", "training", "webinar", "conference", "meeting")
EVENT_KIND_WEIGHTS = (20, 15, 30, 5, 30)


@dataclass(frozen=True)
class Volumes:
    reports: int
    brands: int
    people: int  # of the brands; the secretariat's staff come on top
    campaigns: int
    events: int
    registrations: int

    @classmethod
    def for_reports(cls, reports: int) -> "Volumes":
        """The 1,000,000-report world scaled to `reports`, never below a coherent world."""
        scale = reports / 1_000_000
        brands = max(36, round(1_000 * scale))
        events = max(12, round(5_000 * scale))
        return cls(
            reports=reports,
            brands=brands,
            people=max(4 * brands, round(10_000 * scale)),
            campaigns=max(12, round(2_000 * scale)),
            events=events,
            registrations=max(8 * events, round(100_000 * scale)),
        )


def weights_of(values: Sequence[float]) -> list[float]:
    total, cumulative = 0.0, []
    for value in values:
        total += value
        cumulative.append(total)
    return cumulative


@dataclass
class Picker:
    """A weighted choice among items, fast: bisect on cumulative weights."""

    items: list[Any]
    cumulative: list[float]

    @classmethod
    def of(cls, items: Sequence[Any], weights: Sequence[float]) -> "Picker":
        return cls(list(items), weights_of(weights))

    def __call__(self, rnd: Callable[[], float]) -> Any:
        return self.items[bisect(self.cumulative, rnd() * self.cumulative[-1])]


@dataclass
class Brand:
    id: int
    slug: str
    name: str
    activity: float
    group_ids: list[int] = field(default_factory=list)
    people: list[int] = field(default_factory=list)
    admins: list[int] = field(default_factory=list)


@dataclass
class Tables:
    """Rows waiting to be written, table by table."""

    rows: dict[str, list[Row]] = field(default_factory=dict)

    def add(self, table: str, row: Row) -> None:
        self.rows.setdefault(table, []).append(row)


@dataclass
class Summary:
    counts: dict[str, int]
    seconds: dict[str, float]  # by step, in order
    total_seconds: float
    database: str
    # PostgreSQL builds most of the search index while the rows are generated: time
    # inside the steps above, not on top of them.
    overlapped: dict[str, float] = field(default_factory=dict)
    bench_email: str = BENCH_EMAIL


class Generator:
    def __init__(self, loader: Loader, volumes: Volumes, seed: int, quiet: bool = False) -> None:
        self.loader = loader
        self.v = volumes
        self.rng = random.Random(seed)
        self.quiet = quiet
        self.when = loader.when
        self.now = int(utcnow().timestamp())
        self.start = self.now - 730 * DAY
        self.ids: dict[str, int] = {}
        self.counts: dict[str, int] = {}
        self.out = Tables()
        self.samples_indicators: list[tuple[str, str, str]] = []
        self.samples_markdown: list[tuple[str, str]] = []
        # The directory, filled by directory():
        self.group_ids: list[int] = []
        self.group_names: dict[int, str] = {}
        self.group_slugs: dict[int, str] = {}
        self.brands: dict[int, Brand] = {}
        self.person_brand: dict[int, int] = {}
        self.person_name: dict[int, str] = {}
        self.person_label: dict[int, str] = {}
        self.active_people: set[int] = set()
        self.group_brands: dict[int, Picker] = {}
        self.group_people: dict[int, list[int]] = {}
        self.coordinators: dict[int, list[int]] = {}
        self.alliance_admins: list[int] = []
        self.bench_person = 0
        # Reports a campaign may target: (created, id) of readable reports, by group.
        self.targetable: dict[int, list[tuple[int, int]]] = {}
        self.max_report_id = 0
        # Readable reports a referral to law enforcement draws on: (id, group, brand, created).
        self.referral_sources: list[tuple[int, int, int, int]] = []
        self.sign_ins: list[tuple[int, int, int, str, bool]] = []

    # -- plumbing -------------------------------------------------------------------

    def next_id(self, table: str) -> int:
        value = self.ids.get(table, 0) + 1
        self.ids[table] = value
        return value

    def flush(self) -> None:
        for table, rows in self.out.rows.items():
            self.loader.write(table, COLUMNS[table], rows)
            self.counts[table] = self.counts.get(table, 0) + len(rows)
        self.out = Tables()
        self.loader.checkpoint()

    def progress(self, label: str, total: int) -> Progress:
        return Progress(label, total, stream=io.StringIO() if self.quiet else None)

    def pick_person(self, brand_id: int) -> int:
        people = self.brands[brand_id].people
        # A few people of each brand do most of the work.
        return people[int(len(people) * self.rng.random() ** 2)]

    def group_reader(self, group_id: int) -> int:
        """Someone who reads the group's board: mostly its brands' people, at times one of
        its coordinators."""
        coordinators = self.coordinators[group_id]
        if self.rng.random() < 0.06 and coordinators:
            return self.rng.choice(coordinators)
        return self.pick_person(self.group_brands[group_id](self.rng.random))

    def reader(
        self, tlp: str, group_id: int, brand_id: int, author: int, recipients: list[int]
    ) -> int:
        """Someone who may read a report (hub.policy.visible_intel), to comment or follow."""
        if tlp in GROUP_WIDE:
            return self.group_reader(group_id)
        if tlp == "amber_strict":
            if self.rng.random() < 0.1:
                return self.rng.choice(self.coordinators[group_id])
            return self.pick_person(brand_id)
        return self.rng.choice([author, *recipients])

    # -- the directory ---------------------------------------------------------------

    def directory(self) -> None:
        rng, when, out = self.rng, self.when, self.out
        founded = self.start - 400 * DAY
        for number, spec in enumerate(WORKING_GROUPS, start=1):
            group_id = self.next_id("working_group")
            assert group_id == number
            self.group_ids.append(group_id)
            self.group_names[group_id] = spec.name
            self.group_slugs[group_id] = spec.slug
            self.coordinators[group_id] = []
            out.add(
                "working_group",
                (group_id, spec.slug, spec.name, spec.description, when(founded)),
            )
        group_picker = Picker.of(self.group_ids, w.GROUP_WEIGHTS)

        # The secretariat (an organisation of kind alliance) and its staff.
        secretariat = self.next_id("brand")
        out.add(
            "brand",
            (
                secretariat, "alliance", "Alliance Secretariat", "BE", "alliance",
                "https://alliance-hub.example", "The alliance's secretariat.", True,
                when(founded),
            ),
        )  # fmt: skip
        out.add("brand_domain", (self.next_id("brand_domain"), secretariat, "alliance-hub.example"))
        self.brands[secretariat] = Brand(secretariat, "alliance", "Alliance Secretariat", 0)
        staff = []
        for number in range(20):
            role = "alliance_admin" if number < 3 else "member"
            person = self._person(secretariat, "alliance-hub.example", role, founded)
            staff.append(person)
            if role == "alliance_admin":
                self.alliance_admins.append(person)
        for index, group_id in enumerate(self.group_ids):
            for person in (staff[3 + index % 17], staff[3 + (index + 6) % 17]):
                if person not in self.coordinators[group_id]:
                    self.coordinators[group_id].append(person)

        # The brands, their domains and working groups.
        count_picker = Picker.of((1, 2, 3), (55, 33, 12))
        for number in range(1, self.v.brands + 1):
            brand_id = self.next_id("brand")
            slug = f"brand-{number:04d}"
            name = f"{w.synthetic_word(rng, 3)} {rng.choice(w.BRAND_SUFFIXES)}"
            activity = 60.0 if number == 1 else min(rng.paretovariate(1.16), 60.0)
            brand = self.brands[brand_id] = Brand(brand_id, slug, name, activity)
            created = founded + rng.randrange(300 * DAY)
            out.add(
                "brand",
                (
                    brand_id, slug, name, rng.choice(w.COUNTRIES), "brand",
                    f"https://www.{slug}.example", f"{name}: maker of genuine goods.",
                    number == 1 or rng.random() > 0.01, when(created),
                ),
            )  # fmt: skip
            out.add("brand_domain", (self.next_id("brand_domain"), brand_id, f"{slug}.example"))
            if rng.random() < 0.2:
                domain = f"{slug}-group.example"
                out.add("brand_domain", (self.next_id("brand_domain"), brand_id, domain))
            if number == 1:  # the bench member's brand: the first group and one more
                brand.group_ids = [self.group_ids[0], self.group_ids[1]]
            else:
                wanted = count_picker(rng.random)
                while len(brand.group_ids) < wanted:
                    group_id = group_picker(rng.random)
                    if group_id not in brand.group_ids:
                        brand.group_ids.append(group_id)
        members: dict[int, list[int]] = {g: [] for g in self.group_ids}
        for brand in self.brands.values():
            for group_id in brand.group_ids:
                members[group_id].append(brand.id)
        brand_ids = [b for b in self.brands if b != secretariat]
        for group_id, in_group in members.items():
            while len(in_group) < 3:  # a few brands in every group
                brand_id = rng.choice(brand_ids)
                if brand_id not in in_group:
                    in_group.append(brand_id)
                    self.brands[brand_id].group_ids.append(group_id)
            for brand_id in in_group:
                out.add("group_membership", (group_id, brand_id, when(founded + 320 * DAY)))
            self.group_brands[group_id] = Picker.of(
                in_group, [self.brands[b].activity for b in in_group]
            )

        # People: two or more a brand, more in the busier brands; a few admins each.
        spare = max(0, self.v.people - 2 * len(brand_ids))
        weight = sum(self.brands[b].activity ** 0.7 for b in brand_ids)
        for brand_id in brand_ids:
            brand = self.brands[brand_id]
            size = 2 + int(spare * brand.activity**0.7 / weight + rng.random())
            admins = 1 + (size >= 8) + (size >= 25)
            for number in range(size):
                role = "brand_admin" if number < admins else "member"
                bench = brand.slug == BENCH_BRAND and number == 0
                person = self._person(brand_id, f"{brand.slug}.example", role, founded, bench)
                if bench:
                    self.bench_person = person
            brand.admins = brand.people[:admins]
        for group_id, in_group in members.items():
            self.group_people[group_id] = [
                p for b in in_group for p in self.brands[b].people if p in self.active_people
            ]
        # Half the groups also have a coordinator from one of their brands.
        for index, group_id in enumerate(self.group_ids):
            if index % 2:
                brand = self.brands[members[group_id][0]]
                self.coordinators[group_id].append(brand.people[-1])
        for group_id in self.group_ids:
            for person in self.coordinators[group_id]:
                appointed = when(founded + 330 * DAY + rng.randrange(60 * DAY))
                out.add("coordinator", (group_id, person, self.alliance_admins[0], appointed))
        for at, brand_id, person, email, refused in sorted(self.sign_ins):  # ids follow time
            out.add(
                "login_event",
                (
                    self.next_id("login_event"), when(at), brand_id, person, email,
                    "refused" if refused else "success",
                    "The identity provider did not share your e-mail address." if refused else "",
                    f"198.51.100.{person % 250 + 1}", False,
                ),
            )  # fmt: skip

        # Join requests waiting for coordinators (and some refused), and board followers.
        for brand_id in rng.sample(brand_ids, max(2, len(brand_ids) // 25)):
            brand = self.brands[brand_id]
            group_id = rng.choice([g for g in self.group_ids if g not in brand.group_ids])
            asked = self.now - rng.randrange(60 * DAY)
            refused = rng.random() < 0.3
            decider = self.coordinators[group_id][0] if refused else None
            out.add(
                "join_request",
                (
                    self.next_id("join_request"), group_id, brand_id, brand.admins[0],
                    f"{brand.name} would like to join the {self.group_names[group_id]} group.",
                    "refused" if refused else "pending", when(asked), decider,
                    when(asked + DAY) if refused else None,
                    "Please apply again next year." if refused else "",
                ),
            )  # fmt: skip
        for person in sorted(self.active_people):
            brand = self.brands[self.person_brand[person]]
            if brand.group_ids and (rng.random() < 0.05 or person == self.bench_person):
                group_id = brand.group_ids[0]
                self.out.add(
                    "intel_group_follow",
                    (group_id, person, when(self.start + rng.randrange(700 * DAY))),
                )
        self.flush()

    def _person(
        self, brand_id: int, domain: str, role: str, founded: int, bench: bool = False
    ) -> int:
        rng = self.rng
        person = self.next_id("person")
        if bench:
            name, email = "Bench Member", BENCH_EMAIL
        else:
            first, last = w.synthetic_word(rng, 2), w.synthetic_word(rng, 3)
            name, email = f"{first} {last}", f"{first.lower()}.{last.lower()}.{person}@{domain}"
        active = bench or role != "member" or rng.random() > 0.03
        titles = w.STAFF_TITLES if brand_id == 1 else w.JOB_TITLES
        created = founded + rng.randrange(330 * DAY)
        last_login = self.now - rng.randrange(30 * DAY) if active else None
        zone = rng.choice(w.ZONES) if rng.random() < 0.2 else ""
        language = ("", "zh_Hans", "en")[person % 3]  # not drawn: the stream stays as it was
        self.out.add(
            "person",
            (
                person, brand_id, email, name, rng.choice(titles), role, active, self.when(created),
                self.when(last_login) if last_login else None, zone, language,
            ),
        )  # fmt: skip
        # The brand's sign-in log: the last sign-in and a few before it, now and then refused.
        at = last_login
        for _ in range(1 + int(rng.random() * 4) if last_login else 0):
            assert at is not None
            refused = rng.random() < 0.04
            self.sign_ins.append((at, brand_id, person, email, refused))
            at -= int(rng.random() * 20 * DAY)
        self.person_brand[person] = brand_id
        self.person_name[person] = name
        self.person_label[person] = f"{name} <{email}>"
        self.brands[brand_id].people.append(person)
        if active:
            self.active_people.add(person)
        return person

    # -- reports and what hangs off them ----------------------------------------------

    def reports(self) -> None:
        rng = self.rng
        rnd = rng.random
        when = self.when
        n = self.v.reports
        networks = max(50, n // 20)  # shared sellers; report k's one-off seller is networks + k
        # A long tail: the busiest sellers are named by a thousand or so reports, most by a few.
        network_picker = Picker.of(range(networks), [1 / (rank + 50) for rank in range(networks)])
        group_picker = Picker.of(self.group_ids, w.GROUP_WEIGHTS)
        home_group = [group_picker(rnd) for _ in range(networks)]
        phones = w.phone_pool()
        tlp_picker = Picker.of(TLPS, TLP_WEIGHTS)
        category_picker = Picker.of(CATEGORIES, CATEGORY_WEIGHTS)
        infringement_picker = Picker.of(INFRINGEMENTS, INFRINGEMENT_WEIGHTS)
        market_picker = Picker.of(
            [m for m, _ in w.MARKETPLACES_WEIGHTED], [x for _, x in w.MARKETPLACES_WEIGHTED]
        )
        kind_picker = Picker.of(KINDS, KIND_WEIGHTS)
        indicator_count = Picker.of(INDICATOR_COUNTS, INDICATOR_COUNT_WEIGHTS)
        comment_count = Picker.of(COMMENT_COUNTS, COMMENT_COUNT_WEIGHTS)
        sighting_count = Picker.of(SIGHTING_COUNTS, SIGHTING_COUNT_WEIGHTS)
        step_count = Picker.of(range(6), STATUS_STEP_WEIGHTS)
        bodies = [w.Markdown.of(t) for t in w.REPORT_BODIES]
        comments = [w.Markdown.of(t) for t in w.COMMENTS]
        products = {g: PRODUCTS.get(self.group_slugs[g], ["goods"]) for g in self.group_ids}
        audit_detail = {
            (g, t): json.dumps({"group": self.group_slugs[g], "tlp": t}, sort_keys=True)
            for g in self.group_ids
            for t in TLPS
        }
        span = self.now - self.start
        last_of_network: dict[int, tuple[int, int, str]] = {}  # network: (id, group, title)
        last_in_group: dict[int, int] = {}  # a report of the group that others merge into
        pin_rate = min(1.0, 600 / n)
        pinned: dict[int, int] = {}  # pinned reports by group: five at most
        # The hot loop appends to local lists and counts ids locally (written back after).
        ids = self.ids
        status_id = ids.get("intel_status_change", 0)
        takedown_id = ids.get("intel_takedown", 0)
        reporters: dict[int, tuple[int, bool]] = {}  # network: its first brand, and others?
        # About one referral to law enforcement per thousand reports (at least 30).
        referral_rate = min(1.0, max(30, n // 1000) / (n * 0.55))
        indicator_id = ids.get("intel_indicator", 0)
        comment_id = ids.get("intel_comment", 0)
        sighting_id = ids.get("intel_sighting", 0)
        evidence_id = ids.get("intel_evidence", 0)
        audit_id = ids.get("audit_entry", 0)
        now = self.now
        brands, person_brand = self.brands, self.person_brand
        group_brands, person_label = self.group_brands, self.person_label
        pick_person, reader_of = self.pick_person, self.reader

        def lists() -> tuple[list[Row], ...]:
            rows = self.out.rows
            return tuple(
                rows.setdefault(table, [])
                for table in (
                    "intel_report", "intel_indicator", "intel_comment", "intel_status_change",
                    "audit_entry", "intel_sighting", "intel_evidence", "intel_follow",
                )
            )  # fmt: skip

        (t_report, t_indicator, t_comment, t_status, t_audit, t_sighting, t_evidence, t_follow) = (
            lists()
        )
        add = self.out.add
        with self.progress("reports", n) as bar:
            for index in range(n):
                report_id = index + 1
                # Time: two years, busier lately; ids follow time as they do in use.
                created = self.start + int(span * ((index + rnd()) / n) ** 0.85)
                if rnd() < ONE_OFF_SHARE:
                    network, shared = networks + report_id, False
                    group_id = group_picker(rnd)
                else:
                    network, shared = network_picker(rnd), True
                    group_id = home_group[network] if rnd() < 0.8 else group_picker(rnd)
                brand_id = group_brands[group_id](rnd)
                brand = brands[brand_id]
                author = pick_person(brand_id)
                tlp = tlp_picker(rnd)
                infringement = infringement_picker(rnd)
                marketplace = market_picker(rnd)
                choices = products[group_id]
                product = choices[int(rnd() * len(choices))]
                shop = w.shop_name(network)
                city = CITIES[network % len(CITIES)]
                title = w.TITLES[infringement].format(
                    shop=shop, product=product, marketplace=marketplace
                )
                body = bodies[int(rnd() * len(bodies))]
                values = {
                    "shop": shop,
                    "product": product,
                    "brand": brand.name,
                    "marketplace": marketplace,
                    "city": city,
                    "pct": 20 + report_id % 40,
                    "price": 15 + report_id % 300,
                    "count": 2 + report_id % 30,
                }
                body_md, body_html = body.md.format(**values), body.html.format(**values)
                if report_id % 997 == 1:
                    self.samples_markdown.append((body_md, body_html))

                # Who may read it, for everything others add to it.
                recipients: list[int] = []
                if tlp == "red":
                    while len(recipients) < 1 + int(rnd() * 3):
                        reader = self.group_reader(group_id)
                        if reader != author and reader not in recipients:
                            recipients.append(reader)
                    for person in recipients:
                        add("intel_recipient", (report_id, person))

                # Status history.
                age = now - created
                steps = (
                    step_count(rnd) if age > 7 * DAY else (1 if age > DAY and rnd() < 0.3 else 0)
                )
                at = created
                status = "new"
                notice: tuple[int, int] | None = None  # (filed at, by) of an open notice
                for step in range(1, steps + 1):
                    if notice is not None:  # the marketplace's answer: most within a day
                        late = rnd() >= TAKEDOWN_IN_A_DAY
                        at = min(
                            at
                            + (
                                HOUR * (25 + int(rnd() * 100))
                                if late
                                else 600 + int(rnd() * 20 * HOUR)
                            ),
                            now,
                        )
                    else:
                        at = min(at + HOUR * (2 + int(rnd() * 240)), now)
                    by = author if rnd() < 0.7 else pick_person(brand_id)
                    status_id += 1
                    t_status.append(
                        (
                            status_id, report_id, STATUS_PATH[step - 1], STATUS_PATH[step], by,
                            when(at), "",
                        )
                    )  # fmt: skip
                    status = STATUS_PATH[step]
                    if notice is not None:
                        takedown_id += 1
                        add(
                            "intel_takedown",
                            (
                                takedown_id, report_id, when(notice[0]), notice[1], "taken_down",
                                when(at), by, at - notice[0],
                            ),
                        )  # fmt: skip
                        notice = None
                    if status == "notice_filed":
                        notice = (at, by)
                if notice is not None:
                    takedown_id += 1
                    add(
                        "intel_takedown",
                        (
                            takedown_id,
                            report_id,
                            when(notice[0]),
                            notice[1],
                            "pending",
                            None,
                            None,
                            None,
                        ),
                    )
                # A shared seller another brand reported before, up to AMBER: a correlation
                # (the generator's sellers stand for the indicators the hub compares).
                first_brand, more_brands = reporters.get(network, (0, False))
                correlated = (
                    shared and first_brand != 0 and (first_brand != brand_id or more_brands)
                )
                if shared and tlp in ("clear", "green", "amber"):
                    if first_brand == 0:
                        reporters[network] = (brand_id, False)
                    elif first_brand != brand_id and not more_brands:
                        reporters[network] = (first_brand, True)
                if tlp in ("green", "amber") and rnd() < referral_rate:
                    self.referral_sources.append((report_id, group_id, brand_id, created))
                updated = at

                # Indicators.
                wanted = indicator_count(rnd)
                has_phone = shared and network < len(phones)
                kinds: list[str] = []
                while len(kinds) < wanted:
                    kind = kind_picker(rnd)
                    if kind not in kinds and (kind != "phone" or has_phone):
                        kinds.append(kind)
                pairs = []
                for kind in kinds:
                    variant = int(rnd() * 60)
                    if kind == "phone":
                        e164, ways = phones[network]
                        value, norm = ways[variant % len(ways)], e164
                    else:
                        value, norm = w.indicator_value(
                            kind, network, shop, report_id, shared, variant
                        )
                    pairs.append((kind, value))
                    indicator_id += 1
                    t_indicator.append((indicator_id, report_id, kind, value, norm))
                    if indicator_id % 499 == 1:
                        self.samples_indicators.append((kind, value, norm))

                # Comments, threaded, and the author told of some of them.
                comment_ids: list[int] = []
                at = created
                for _ in range(comment_count(rnd)):
                    at = min(at + int(HOUR * (1 + rnd() * 96)), now)
                    commenter = reader_of(tlp, group_id, brand_id, author, recipients)
                    template = comments[int(rnd() * len(comments))]
                    values["brand"] = brands[person_brand[commenter]].name
                    comment_id += 1
                    parent = (
                        comment_ids[int(rnd() * len(comment_ids))]
                        if comment_ids and rnd() < 0.35
                        else None
                    )
                    comment_md = template.md.format(**values)
                    t_comment.append(
                        (
                            comment_id, report_id, parent, commenter, comment_md,
                            template.html.format(**values), when(at),
                        )
                    )  # fmt: skip
                    if comment_id % 997 == 1:
                        self.samples_markdown.append((comment_md, template.html.format(**values)))
                    comment_ids.append(comment_id)
                    if commenter != author and rnd() < 0.3:
                        self.notify(
                            author, "intel.activity", at,
                            f"{self.person_name[commenter]} commented on “{title}”.",
                            report_id=report_id, group_id=group_id,
                        )  # fmt: skip

                # Sightings by other brands of the group, evidence, follows.
                if tlp in GROUP_WIDE:
                    seen_by: set[int] = {brand_id}
                    for _ in range(sighting_count(rnd)):
                        other = group_brands[group_id](rnd)
                        if other in seen_by:
                            continue
                        seen_by.add(other)
                        sighting_id += 1
                        t_sighting.append(
                            (
                                sighting_id, report_id, other, pick_person(other),
                                "seen" if rnd() < 0.9 else "disputed",
                                w.SIGHTING_NOTES[int(rnd() * len(w.SIGHTING_NOTES))],
                                when(min(created + int(rnd() * 20 * DAY), now)),
                            )
                        )  # fmt: skip
                files = (rnd() < 0.17) + 2 * (rnd() < 0.015)
                for number in range(files):
                    name, content_type, image = w.EVIDENCE_KINDS[int(rnd() * 5)]
                    evidence_id += 1
                    t_evidence.append(
                        (
                            evidence_id, report_id, f"{rng.getrandbits(256):064x}",
                            name.format(id=f"{report_id}-{number + 1}"), content_type,
                            20_000 + int(rnd() * 3_000_000), 1280 if image else None,
                            960 if image else None,
                            author if rnd() < 0.8 else pick_person(brand_id),
                            when(min(created + int(rnd() * 3 * DAY), now)),
                        )
                    )  # fmt: skip
                created_at = when(created)
                followers = {author} if rnd() < 0.3 else set()
                if rnd() < 0.12:
                    followers.add(reader_of(tlp, group_id, brand_id, author, recipients))
                for person in followers:
                    t_follow.append((report_id, person, created_at))

                # Now and then: an earlier version, a pin, a hidden report, a merged one.
                version = 1
                if rnd() < 0.03:
                    version = 2
                    edited = min(created + int(rnd() * 2 * DAY), self.now)
                    updated = max(updated, edited)
                    before = {
                        "title": title.split(" on ")[0],
                        "body_md": body_md,
                        "category": "online_listing",
                        "marketplace": marketplace,
                        "brands_affected": brand.name,
                        "products_affected": product,
                        "infringement": infringement,
                        "confidence": "possible",
                        "reliability": "C",
                        "tlp": tlp,
                        "recipients": "",
                        "indicators": pairs[:-1] or pairs,
                    }
                    add(
                        "intel_report_version",
                        (
                            self.next_id("intel_report_version"), report_id, 1,
                            json.dumps(before), author, when(edited),
                        ),
                    )  # fmt: skip
                hidden = ""
                merged_into = None
                if rnd() < 0.001:
                    hidden = rng.choice(w.HIDDEN_REASONS)
                    self.notify(
                        author, "intel.moderated", updated,
                        f"A coordinator hid your report “{title}”: {hidden}",
                        report_id=report_id, group_id=group_id,
                    )  # fmt: skip
                elif rnd() < 0.002 and group_id in last_in_group:
                    merged_into = last_in_group[group_id]
                    self.notify(
                        author, "intel.moderated", updated,
                        f"Your report “{title}” was merged into another report.",
                        report_id=report_id, group_id=group_id,
                    )  # fmt: skip
                if tlp != "red" and merged_into is None:
                    last_in_group[group_id] = report_id

                # Correlation: the author hears of an earlier report naming the same seller.
                if shared and tlp in GROUP_WIDE:
                    earlier = last_of_network.get(network)
                    if earlier is not None and earlier[1] == group_id and rnd() < 0.5:
                        self.notify(
                            author, "intel.match", created,
                            f"Your report “{title}” names an indicator also in “{earlier[2]}”.",
                            report_id=earlier[0], group_id=group_id,
                        )  # fmt: skip
                    last_of_network[network] = (report_id, group_id, title)
                    if report_id % 20 == 0:
                        self.targetable.setdefault(group_id, []).append((created, report_id))

                pin = (
                    created > self.now - 60 * DAY
                    and pinned.get(group_id, 0) < 5
                    and tlp in GROUP_WIDE
                    and rnd() < pin_rate
                )
                if pin:
                    pinned[group_id] = pinned.get(group_id, 0) + 1
                t_report.append(
                    (
                        report_id, group_id, brand_id, author, title, body_md, body_html,
                        category_picker(rnd), marketplace, brand.name, product, infringement,
                        CONFIDENCES[int(rnd() * 4)], RELIABILITIES[int(rnd() * 7)], tlp, status,
                        pin, hidden, merged_into, correlated, version, created_at,
                        created_at if updated == created else when(updated),
                    )
                )  # fmt: skip
                audit_id += 1
                t_audit.append(
                    (
                        audit_id, created_at, author, person_label[author], "intel.posted",
                        f"report:{report_id}", audit_detail[(group_id, tlp)],
                    )
                )  # fmt: skip
                if report_id % CHUNK == 0:
                    self.flush()
                    self.loader.reports_written(report_id - CHUNK + 1, report_id)
                    (t_report, t_indicator, t_comment, t_status) = lists()[:4]
                    (t_audit, t_sighting, t_evidence, t_follow) = lists()[4:]
                    add = self.out.add
                    bar.advance(CHUNK)
            self.flush()
            bar.done = n
        ids.update(
            {
                "intel_status_change": status_id,
                "intel_takedown": takedown_id,
                "intel_indicator": indicator_id,
                "intel_comment": comment_id,
                "intel_sighting": sighting_id,
                "intel_evidence": evidence_id,
                "audit_entry": audit_id,
            }
        )
        self.max_report_id = n

    def notify(
        self,
        person: int,
        kind: str,
        at: int,
        text_: str,
        report_id: int | None = None,
        group_id: int | None = None,
        link: str = "",
    ) -> None:
        """A notification, mailed a minute later; most older ones read."""
        rnd = self.rng.random
        read = at + int(rnd() * 3 * DAY) if at < self.now - 14 * DAY and rnd() < 0.85 else None
        self.out.add(
            "notification",
            (
                self.next_id("notification"), person, kind, report_id, text_[:500], link,
                group_id, self.when(min(at + 60, self.now)), self.when(at),
                self.when(min(read, self.now)) if read else None,
            ),
        )  # fmt: skip

    # -- test-buy campaigns -----------------------------------------------------------

    def campaigns(self) -> None:
        rng = self.rng
        rnd = rng.random
        when = self.when
        add = self.out.add
        personas: dict[int, list[int]] = {}
        for group_id in self.group_ids:
            personas[group_id] = []
            for number in range(4):
                persona = self.next_id("testbuy_persona")
                personas[group_id].append(persona)
                burned = self.now - 40 * DAY if number == 3 else None
                add(
                    "testbuy_persona",
                    (
                        persona, group_id, f"{w.synthetic_word(rng, 2)} {w.synthetic_word(rng, 3)}",
                        f"Unit {persona}, Drop Street {number + 1}, {rng.choice(CITIES)}",
                        f"buyer{persona}@drop.example", f"market-1.example: buyer{persona}",
                        when(burned) if burned else None,
                        "Seller recognised the address." if burned else "",
                        self.coordinators[group_id][0], when(self.start - 30 * DAY),
                    ),
                )  # fmt: skip
        opens_list = sorted(
            self.start + int(rnd() * (self.now + 45 * DAY - self.start))
            for _ in range(self.v.campaigns)
        )
        group_picker = Picker.of(self.group_ids, w.GROUP_WEIGHTS)
        channels = [m for m, _ in w.MARKETPLACES_WEIGHTED]
        earlier: dict[int, list[int]] = {}
        with self.progress("campaigns", len(opens_list)) as bar:
            for opens in opens_list:
                self._campaign(opens, group_picker(rnd), channels, personas, earlier)
                bar.advance()
        self.flush()

    def _campaign(
        self,
        opens: int,
        group_id: int,
        channels: list[str],
        personas: dict[int, list[int]],
        earlier: dict[int, list[int]],
    ) -> None:
        rng, now = self.rng, self.now
        rnd = rng.random
        when, add = self.when, self.out.add
        campaign_id = self.next_id("testbuy_campaign")
        closes = opens + DAY * (14 + int(rnd() * 28))
        if opens > now:
            status = "draft"
        elif closes > now:
            status = "open" if rnd() < 0.9 else "draft"
        else:
            ago = now - closes
            if ago > 150 * DAY:
                status = "completed" if rnd() < 0.9 else "closed"
            elif ago > 30 * DAY:
                status = "running" if rnd() < 0.6 else "completed"
            else:
                status = "closed" if rnd() < 0.7 else "running"
        slots = 4 + int(rnd() * 37)
        cap = 1 + int(rnd() * min(5, slots))
        coordinator = rng.choice(self.coordinators[group_id])
        product = rng.choice(PRODUCTS.get(self.group_slugs[group_id], ["goods"]))
        chosen = rng.sample(channels, 3)
        title = rng.choice(w.CAMPAIGN_TITLES).format(
            product=product.capitalize(), channel=chosen[0]
        )
        currency = rng.choice(w.CURRENCIES)
        created = opens - 7 * DAY

        # Sign-ups, replaying hub.testbuys.signups: each joins the back of the queue and
        # free slots go to the waitlist in position order; a few withdraw.
        signups: list[dict[str, Any]] = []
        taken = 0
        position = 1
        events: list[Row] = []
        if status != "draft":
            brands = list(dict.fromkeys(self.group_brands[group_id](rnd) for _ in range(40)))
            demand = slots * (0.5 + rnd() * 1.3)
            asked = 0
            last_signup = min(closes, now)
            times = sorted(opens + int(rnd() * (last_signup - opens)) for _ in brands)
            for brand_id, at in zip(brands, times, strict=True):
                if asked >= demand:
                    break
                requested = 1 + int(rnd() * cap)
                asked += requested
                brand = self.brands[brand_id]
                signup = {
                    "id": self.next_id("testbuy_signup"),
                    "brand": brand_id,
                    "requested": requested,
                    "granted": 0,
                    "state": "waitlisted",
                    "position": position,
                    "by": rng.choice(brand.admins),
                    "at": at,
                    "updated": at,
                    "approved": None,
                }
                position += 1
                signups.append(signup)
                events.append(
                    (signup["id"], signup["by"], "signed_up", f"asked for {requested}", at)
                )
                taken = self._fill_slots(signups, slots, taken, at, signup, events)
                if rnd() < 0.05 and status == "open":  # withdrawn while the window is open
                    gone = min(at + HOUR, now)
                    taken -= signup["granted"]
                    signup.update(granted=0, state="withdrawn", updated=gone)
                    events.append((signup["id"], signup["by"], "withdrawn", "", gone))
                    taken = self._fill_slots(signups, slots, taken, gone, None, events)
        if status in ("closed", "running", "completed"):
            for signup in signups:
                if signup["granted"] > 0:
                    signup["approved"] = min(closes + DAY, now)
                    events.append((signup["id"], coordinator, "approved", "", signup["approved"]))
        copied = rng.choice(earlier[group_id]) if earlier.get(group_id) and rnd() < 0.1 else None
        earlier.setdefault(group_id, []).append(campaign_id)
        add(
            "testbuy_campaign",
            (
                campaign_id, group_id, title, rng.choice(w.CAMPAIGN_GOALS), ", ".join(chosen),
                rng.choice(w.REGIONS), when(opens), when(closes), slots, taken, cap,
                self.loader.money(slots * 8_000), currency,
                "own" if rnd() < 0.6 else "split", status, position, copied, coordinator,
                when(created), when(min(max(closes, created), now)),
            ),
        )  # fmt: skip
        self.out.add(
            "audit_entry",
            (
                self.next_id("audit_entry"), when(created), coordinator,
                self.person_label[coordinator], "testbuy.campaign_created",
                f"campaign:{campaign_id}", "",
            ),
        )  # fmt: skip
        targets = self.targetable.get(group_id, [])
        readable = targets[: bisect(targets, (opens, 0))]
        for signup in signups:
            add(
                "testbuy_signup",
                (
                    signup["id"], campaign_id, signup["brand"], signup["requested"],
                    signup["granted"], signup["state"], signup["position"], product.capitalize(),
                    "", when(signup["approved"]) if signup["approved"] else None,
                    coordinator if signup["approved"] else None, signup["by"],
                    when(signup["at"]), when(signup["updated"]),
                ),
            )  # fmt: skip
            picked = {rng.choice(readable)[1] for _ in range(int(rnd() * 4))} if readable else set()
            for report_id in sorted(picked):
                add("testbuy_signup_target", (signup["id"], report_id))
            if rnd() < 0.5:
                brand = self.brands[signup["brand"]]
                self.notify(
                    brand.admins[0], "testbuy.signup", signup["at"],
                    f"{title}: {brand.name} holds {signup['granted']} of "
                    f"{signup['requested']} purchases ({signup['state']}).",
                    group_id=group_id, link=f"/testbuys/{campaign_id}",
                )  # fmt: skip
            if status in ("running", "completed") and signup["granted"]:
                self._purchases(
                    campaign_id, signup, status, closes, coordinator, currency, product,
                    personas[group_id], sorted(picked),
                )  # fmt: skip
        for signup_id, person, kind, detail, at in events:
            add(
                "testbuy_signup_event",
                (self.next_id("testbuy_signup_event"), signup_id, person, kind, detail, when(at)),
            )

    @staticmethod
    def _fill_slots(
        signups: list[dict[str, Any]],
        slots: int,
        taken: int,
        at: int,
        acting: dict[str, Any] | None,
        events: list[Row],
    ) -> int:
        """hub.testbuys.signups.fill_from_waitlist: free slots to the waiting, in order."""
        free = slots - taken
        for signup in sorted(signups, key=lambda s: s["position"]):
            if free <= 0:
                break
            if signup["state"] != "waitlisted":
                continue
            given = min(free, signup["requested"] - signup["granted"])
            signup["granted"] += given
            free -= given
            taken += given
            if signup["granted"] == signup["requested"]:
                signup["state"] = "confirmed"
            signup["updated"] = at
            if signup is not acting and given:
                events.append((signup["id"], None, "promoted", f"{given} more slot(s)", at))
        return taken

    def _purchases(
        self,
        campaign_id: int,
        signup: dict[str, Any],
        status: str,
        closes: int,
        coordinator: int,
        currency: str,
        product: str,
        personas: list[int],
        targets: list[int],
    ) -> None:
        rng, now = self.rng, self.now
        rnd = rng.random
        when, add = self.when, self.out.add
        money = self.loader.money
        planned = (
            signup["granted"] if status == "completed" else int(rnd() * (signup["granted"] + 1))
        )
        brand_id = signup["brand"]
        for _ in range(planned):
            purchase = self.next_id("testbuy_purchase")
            elapsed_days = (now - closes) // DAY
            if status == "completed":
                reached = 5 + int(rnd() * 3)  # verdict, reported or closed
            else:
                reached = min(int(rnd() * 5), max(0, elapsed_days // 7))
            final = PURCHASE_ROAD[reached]
            day0 = datetime.fromtimestamp(closes, UTC).date()
            dates = [day0 + timedelta(days=3 + 6 * step) for step in range(4)]
            today = datetime.fromtimestamp(now, UTC).date()
            on: list[str | None] = [
                self.loader.day(min(dates[i], today)) if reached > i else None for i in range(4)
            ]
            item, shipping = 1_000 + int(rnd() * 30_000), 500 + int(rnd() * 2_500)
            fees = int(rnd() * 800)
            verdict = rng.choice(VERDICTS) if reached >= 5 else ""
            examiner = self.pick_person(brand_id)
            verdict_at = min(closes + 30 * DAY, now) if verdict else None
            network = int(rnd() * 5_000)
            market, item_id = network % 8 + 1, 10_000_000 + network * 4
            add(
                "testbuy_purchase",
                (
                    purchase, campaign_id, signup["id"], brand_id, product.capitalize(),
                    w.MARKETPLACES_WEIGHTED[network % 14][0], w.shop_name(network),
                    f"https://market-{market}.example/item/{item_id}.html",
                    targets[0] if targets else None, rng.choice(personas[:3]),
                    f"ORD-{purchase:08d}" if reached >= 1 else "", *on, money(item),
                    money(shipping), money(fees), currency, money(item + shipping + fees), final,
                    verdict, "Examined by our lab." if verdict else "",
                    examiner if verdict else None, when(verdict_at) if verdict_at else None,
                    None, coordinator, when(closes), when(min(closes + reached * 6 * DAY, now)),
                ),
            )  # fmt: skip
            at = closes
            for step in range(reached):
                at = min(at + 6 * DAY, now)
                person = (
                    examiner if PURCHASE_ROAD[step + 1] in ("examined", "verdict") else coordinator
                )
                add(
                    "testbuy_purchase_event",
                    (
                        self.next_id("testbuy_purchase_event"), purchase, person,
                        PURCHASE_ROAD[step], PURCHASE_ROAD[step + 1], "", when(at),
                    ),
                )  # fmt: skip

    # -- referrals to law enforcement --------------------------------------------------

    def referrals(self) -> None:
        rng, now, when, add = self.rng, self.now, self.when, self.out.add
        rnd = rng.random
        today = datetime.fromtimestamp(now, UTC).date()
        for report_id, group_id, brand_id, created in self.referral_sources:
            referral = self.next_id("impact_referral")
            agency, region, country, currency = rng.choice(AGENCIES)
            sent = min(created + DAY * (3 + int(rnd() * 40)), now)
            sent_day = datetime.fromtimestamp(sent, UTC).date()
            reached = min(int(rnd() * 4), (now - sent) // (30 * DAY))
            closed = reached == 1 and rnd() < 0.2
            raid_day = min(sent_day + timedelta(days=20 + int(rnd() * 40)), today)
            raided = reached >= 2
            outcome = (
                int(rnd() * 12) if raided else 0,
                int(rnd() * 4) if raided else 0,
                int(rnd() ** 2 * 40_000) if raided else 0,
                self.loader.money(int(rnd() ** 3 * 2_000_000_000))
                if raided
                else self.loader.money(0),
            )
            status = "closed_no_action" if closed else REFERRAL_ROAD[reached]
            by = self.pick_person(brand_id)
            add(
                "impact_referral",
                (
                    referral, group_id, brand_id, by, agency, region, country,
                    self.loader.day(sent_day), "", f"REF-{referral:06d}", "", status,
                    self.loader.day(raid_day) if raided else None, *outcome, currency,
                    reached + 1, when(sent), when(min(sent + reached * 30 * DAY, now)),
                ),
            )  # fmt: skip
            add("impact_referral_report", (referral, report_id))
            for step in range(1, reached + 1):
                final = step == reached
                add(
                    "impact_referral_update",
                    (
                        self.next_id("impact_referral_update"), referral, by,
                        when(min(sent + step * 30 * DAY, now)),
                        status if final else REFERRAL_ROAD[step],
                        self.loader.day(raid_day) if raided and step >= 2 else None,
                        *(outcome if final else (0, 0, 0, self.loader.money(0))), currency, "",
                    ),
                )  # fmt: skip
        self.flush()

    # -- events -------------------------------------------------------------------------

    def events(self) -> None:
        rng, now = self.rng, self.now
        rnd = rng.random
        kind_picker = Picker.of(EVENT_KINDS, EVENT_KIND_WEIGHTS)
        group_picker = Picker.of(self.group_ids, w.GROUP_WEIGHTS)
        descriptions = [w.Markdown.of(t) for t in w.EVENT_DESCRIPTIONS]
        all_people = sorted(
            p for p in self.active_people if self.brands[self.person_brand[p]].slug != "alliance"
        )
        brand_ids = [b for b, brand in self.brands.items() if brand.slug != "alliance"]
        plans: list[dict[str, Any]] = []
        for _ in range(self.v.events):
            kind = kind_picker(rnd)
            roll = rnd()
            audience = (
                "alliance"
                if kind == "conference" or roll < 0.1
                else ("invited" if roll < 0.2 else "group")
            )
            group_id = None if audience == "alliance" else group_picker(rnd)
            invited = (
                rng.sample(brand_ids, min(len(brand_ids), 3 + int(rnd() * 10)))
                if (audience == "invited")
                else []
            )
            if audience == "alliance":
                people = all_people
            elif audience == "group":
                assert group_id is not None
                people = self.group_people[group_id]
            else:
                people = [
                    p for b in invited for p in self.brands[b].people if p in self.active_people
                ]
            capacity = {
                "webinar": 50 + int(rnd() * 250),
                "conference": 100 + int(rnd() * 300),
                "workshop": 10 + int(rnd() * 30),
                "training": 6 + int(rnd() * 14),
                "meeting": 10 + int(rnd() * 40),
            }[kind]
            starts_day = self.start + 30 * DAY + int(rnd() * (now + 180 * DAY - self.start))
            opens = starts_day - DAY * (20 + int(rnd() * 40))
            plans.append(
                {
                    "kind": kind, "audience": audience, "group": group_id, "invited": invited,
                    "people": people, "capacity": capacity, "day": starts_day, "opens": opens,
                    "demand": min(len(people), capacity * (0.3 + rnd() * 1.1))
                    if opens < now else 0,
                }
            )  # fmt: skip
        plans.sort(key=lambda p: p["opens"])
        scale = self.v.registrations / max(1.0, sum(p["demand"] for p in plans))
        with self.progress("events", len(plans)) as bar:
            for plan in plans:
                registrants = min(len(plan["people"]), round(plan["demand"] * scale))
                self._event(plan, registrants, descriptions)
                bar.advance()
        self.flush()

    def _event(
        self, plan: dict[str, Any], registrants: int, descriptions: list[w.Markdown]
    ) -> None:
        rng, now = self.rng, self.now
        rnd = rng.random
        when, add = self.when, self.out.add
        event_id = self.next_id("event")
        kind, group_id = plan["kind"], plan["group"]
        group_name = self.group_names[group_id] if group_id else "Alliance"
        product = rng.choice(PRODUCTS.get(self.group_slugs.get(group_id or 0, ""), ["goods"]))
        zone = rng.choice(w.ZONES)
        local_day = datetime.fromtimestamp(plan["day"], UTC).date()
        all_day = kind == "conference"
        if all_day:
            starts = from_local(local_day, clock_time.min, zone)
            ends = from_local(local_day + timedelta(days=1 + int(rnd() * 3)), clock_time.min, zone)
        else:
            hour = rng.choice((9, 10, 14, 15, 16))
            starts = from_local(local_day, clock_time(hour, 0), zone)
            hours = {"webinar": 1, "meeting": 2, "workshop": 4, "training": 6}[kind]
            ends = starts + timedelta(hours=hours)
        start_s, end_s = int(starts.timestamp()), int(ends.timestamp())
        opens = min(plan["opens"], start_s - DAY)
        closes = start_s - DAY * int(rnd() * 3) - HOUR
        if closes <= opens:
            closes = start_s - HOUR
        needs_approval = kind == "training" and rnd() < 0.5 or rnd() < 0.05
        capacity = plan["capacity"]
        per_brand = 1 + int(rnd() * 5)
        if group_id:
            organiser = rng.choice(self.coordinators[group_id])
        else:
            organiser = rng.choice(self.alliance_admins)
        title = rng.choice(w.EVENT_TITLES[kind]).format(
            topic=rng.choice(w.EVENT_TOPICS).format(product=product),
            group=group_name,
            year=local_day.year,
        )
        description = rng.choice(descriptions)
        attendance = (
            "online" if kind == "webinar" else rng.choice(("in_person", "hybrid", "online"))
        )
        cancelled = rnd() < 0.03

        # Registrations, replaying hub.events.registrations: a seat if one is free and the
        # brand is under its cap, the waitlist otherwise, or approval first; a cancelled
        # seat goes to the first waiting person whose brand is under its cap.
        seats = 0
        brand_taken: dict[int, int] = {}
        registrations: list[dict[str, Any]] = []
        last = min(closes, now)
        people = rng.sample(plan["people"], registrants) if registrants else []
        times = sorted(opens + int(rnd() * max(1, last - opens)) for _ in people)

        def take(registration: dict[str, Any]) -> bool:
            nonlocal seats
            brand = registration["brand"]
            brand_taken.setdefault(brand, 0)
            if seats >= capacity or brand_taken[brand] >= per_brand:
                return False
            seats += 1
            brand_taken[brand] += 1
            registration["state"] = "confirmed"
            return True

        def fill(at: int) -> None:
            for registration in registrations:
                if seats >= capacity:
                    break
                if registration["state"] == "waitlisted" and take(registration):
                    registration["updated"] = at

        for position, (person, at) in enumerate(zip(people, times, strict=True), start=1):
            registration = {
                "id": self.next_id("registration"),
                "person": person,
                "brand": self.person_brand[person],
                "state": "pending",
                "position": position,
                "decided": None,
                "at": at,
                "updated": at,
            }
            registrations.append(registration)
            if not needs_approval:
                if not take(registration):
                    registration["state"] = "waitlisted"
            elif at < now - DAY or rnd() < 0.5:
                decided = min(at + DAY, now)
                registration["decided"], registration["updated"] = organiser, decided
                if rnd() < 0.85:
                    if not take(registration):
                        registration["state"] = "waitlisted"
                else:
                    registration["state"] = "declined"
            if rnd() < 0.06 and registration["state"] in ("confirmed", "waitlisted", "pending"):
                gone = min(at + HOUR * (1 + int(rnd() * 100)), now)
                if registration["state"] == "confirmed":
                    seats -= 1
                    brand_taken[registration["brand"]] -= 1
                registration["state"], registration["updated"] = "cancelled", gone
                fill(gone)
        past = end_s < now
        add(
            "event",
            (
                event_id, f"bench-{event_id:07d}@alliance-hub", 1 if cancelled else 0, group_id,
                plan["audience"], kind, title, description.md.format(product=product),
                description.html.format(product=product), zone, all_day, when(start_s), when(end_s),
                attendance, "" if attendance == "online" else rng.choice(w.VENUES), "",
                "" if attendance == "in_person" else f"https://meet.example.org/bench-{event_id}",
                capacity, seats, per_brand, when(opens), when(closes), needs_approval,
                rnd() < 0.3, rng.choice(("green", "green", "amber", "amber_strict")),
                kind == "workshop" and rnd() < 0.5, "cancelled" if cancelled else "scheduled",
                "The venue is no longer available." if cancelled else "",
                len(registrations) + 1, when(closes - 2 * DAY) if closes < now else None,
                organiser, when(opens - DAY), when(max(opens - DAY, min(closes, now))),
            ),
        )  # fmt: skip
        for brand_id in plan["invited"]:
            add("event_invite", (event_id, brand_id))
        for brand_id, taken in sorted(brand_taken.items()):
            add("event_brand_seats", (event_id, brand_id, taken, per_brand))
        for registration in registrations:
            reminded = start_s - DAY if past and registration["state"] == "confirmed" else None
            add(
                "registration",
                (
                    registration["id"], event_id, registration["person"], registration["brand"],
                    registration["state"], registration["position"], "", None,
                    registration["decided"], when(reminded) if reminded else None,
                    when(registration["at"]), when(registration["updated"]),
                ),
            )  # fmt: skip
            state = registration["state"]
            if state in REGISTRATION_TEXT and rnd() < 0.3:
                self.notify(
                    registration["person"], f"event_{state}", registration["updated"],
                    REGISTRATION_TEXT[state].format(title=title),
                    group_id=group_id, link=f"/events/{event_id}",
                )  # fmt: skip
        self.out.add(
            "audit_entry",
            (
                self.next_id("audit_entry"), when(opens - DAY), organiser,
                self.person_label[organiser], "event.created", f"event:{event_id}", "",
            ),
        )  # fmt: skip

    # -- checks -------------------------------------------------------------------------

    def check_samples(self) -> None:
        """What was generated is what the hub itself would have stored."""
        wrong = [
            (kind, value, norm, normalise(kind, value))
            for kind, value, norm in self.samples_indicators
            if normalise(kind, value) != norm
        ]
        if wrong:
            raise RuntimeError(f"indicators not in normal form, e.g. {wrong[:3]}")
        bad = [(md, html) for md, html in self.samples_markdown if to_safe_html(md) != html]
        if bad:
            raise RuntimeError(f"HTML differs from hub.intel.markdown's, e.g. {bad[:2]}")


def self_check() -> None:
    """Every way of writing every kind of indicator normalises as the generator says (a
    few hundred networks, before anything is written)."""
    phones = w.phone_pool()
    for network in [*range(0, 100), *range(49_000, 49_020), *range(1_000_000, 1_000_020)]:
        shop = w.shop_name(network)
        for kind in KINDS:
            for variant in range(20):
                if kind == "phone":
                    e164, ways = phones[network % len(phones)]
                    value, norm = ways[variant % len(ways)], e164
                else:
                    value, norm = w.indicator_value(
                        kind, network, shop, network * 3 + 1, network % 2 == 0, variant
                    )
                got = normalise(kind, value)
                if got != norm:
                    raise RuntimeError(f"{kind} {value!r}: hub makes {got!r}, not {norm!r}")


def check_columns() -> None:
    """COLUMNS covers every column without a default of each table it writes."""
    for table, columns in COLUMNS.items():
        model = models.metadata.tables[table]
        unknown = set(columns) - set(model.columns.keys())
        missing = {
            c.name
            for c in model.columns
            if not c.nullable and c.server_default is None and c.name not in columns
        }
        if unknown or missing:
            raise RuntimeError(f"{table}: unknown columns {unknown}, missing {missing}")


# -- the database -------------------------------------------------------------------------


def database_url(given: str | None) -> URL:
    url = make_url(given or Settings().database_url)
    if url.get_backend_name() == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    return url


def recreate(url: URL, fresh: bool) -> None:
    """Drop and create the database (--fresh), or create it if missing."""
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        if fresh and url.database not in (None, "", ":memory:"):
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        if url.database:
            path.parent.mkdir(parents=True, exist_ok=True)
        return
    name = url.database
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            if fresh:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            exists = c.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if not exists:
                c.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def generate(
    url: str | URL,
    reports: int,
    seed: int = DEFAULT_SEED,
    fresh: bool = False,
    quiet: bool = False,
) -> Summary:
    """Fill the database at `url` with a world of `reports` reports; return the counts."""
    begun = started = time.perf_counter()
    check_columns()
    self_check()
    timings: dict[str, float] = {"checks": time.perf_counter() - started}
    target = database_url(str(url) if isinstance(url, URL) else url).render_as_string(
        hide_password=False
    )
    target_url = make_url(target)
    started = time.perf_counter()
    recreate(target_url, fresh)
    # The schema as the hub makes it (its own engine, with its SQLite pragmas)...
    hub_engine = make_engine(Settings(database_url=target, threads=1))
    try:
        upgrade_database(hub_engine)
    finally:
        hub_engine.dispose()
    # ... and the load through a plain one, set up for speed by the loader.
    engine: Engine = create_engine(target_url, poolclass=NullPool)
    try:
        loader = loader_for(engine)
        try:
            if loader.count("brand") or loader.count("person"):
                raise SystemExit(
                    f"{target_url.render_as_string(hide_password=True)} already holds data: "
                    "give --fresh to drop and recreate it."
                )
            loader.prepare()
            timings["schema"] = time.perf_counter() - started
            generator = Generator(loader, Volumes.for_reports(reports), seed, quiet)
            _step(timings, "directory", generator.directory)
            _step(timings, "reports", generator.reports)
            _step(timings, "campaigns", generator.campaigns)
            _step(timings, "events", generator.events)
            _step(timings, "referrals", generator.referrals)
            generator.check_samples()
            loader.commit()
            loader.finish(generator.max_report_id, generator.progress, timings)
            counts = {table: loader.count(table) for table in [*COLUMNS, "intel_search"]}
        finally:
            loader.close()
    finally:
        engine.dispose()
    overlapped = {"search index, during the load": loader.search_seconds}
    return Summary(
        counts,
        timings,
        time.perf_counter() - begun,
        target_url.render_as_string(hide_password=True),
        {label: seconds for label, seconds in overlapped.items() if seconds},
    )


def _step(timings: dict[str, float], label: str, action: Callable[[], None]) -> None:
    started = time.perf_counter()
    action()
    timings[label] = timings.get(label, 0.0) + time.perf_counter() - started


def print_summary(summary: Summary, stream: TextIO = sys.stdout) -> None:
    print(f"\nDatabase: {summary.database}", file=stream)
    print(f"Bench member: {summary.bench_email}", file=stream)
    width = max(len(table) for table in summary.counts)
    for table, count in summary.counts.items():
        print(f"  {table:<{width}}  {count:>12,}", file=stream)
    print("Time:", file=stream)
    for label, seconds in summary.seconds.items():
        print(f"  {label:<{width}}  {seconds:>10.1f} s", file=stream)
    print(f"  {'total':<{width}}  {summary.total_seconds:>10.1f} s", file=stream)
    for label, seconds in summary.overlapped.items():
        print(f"  ({label}: {seconds:.1f} s)", file=stream)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate",
        description="Fill a database with a realistic volume of alliance data.",
    )
    parser.add_argument("--reports", type=int, default=1_000_000, help="reports (all else scales)")
    parser.add_argument(
        "--database-url", default=None, help="default: HUB_DATABASE_URL or the hub's default"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--fresh", action="store_true", help="drop and recreate the database (or file) first"
    )
    args = parser.parse_args(argv)
    if args.reports < 1:
        parser.error("--reports must be at least 1")
    summary = generate(args.database_url, args.reports, args.seed, args.fresh)
    print_summary(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
