"""Demo test-buy campaigns: one completed with verdicts, evidence and custody chains, one
purchasing, one open with a waitlist, one closed and one draft. Made through the services,
so the demo holds exactly what real use would; dates are moved into the past afterwards.
Every seller, persona and address is invented."""

import io
import random
from dataclasses import dataclass
from datetime import timedelta

from PIL import Image, ImageDraw
from sqlmodel import Session, col, func, select

from hub.auth.sessions import load_actor
from hub.clock import utcnow
from hub.config import Settings
from hub.groups.models import Coordinator, GroupMembership, WorkingGroup
from hub.intel import evidence
from hub.members.models import Brand, Person, Role
from hub.policy import Actor
from hub.testbuys import campaigns, custody, personas, purchases, reporting, signups
from hub.testbuys.campaigns import DATETIME_FORMAT
from hub.testbuys.models import (
    Campaign,
    CampaignStatus,
    CostRule,
    Persona,
    Purchase,
    PurchaseStatus,
    Signup,
    Verdict,
)

SEED = 5150
SELLERS = [
    "LuxeOutlet88",
    "GoldenDragonTrade",
    "EuroStarDeals",
    "MegaTrendStore",
    "PrimeGlobalShop",
    "BestBrandDirect",
    "TrendHub Outlet",
    "StarFactory Official",
]
MARKETPLACES = ["AliExpress", "Temu", "Shopee", "Instagram", "DHgate"]
ROAD = [PurchaseStatus.ordered, PurchaseStatus.shipped, PurchaseStatus.received]


@dataclass(frozen=True)
class CampaignPlan:
    group: str
    title: str
    goal: str
    channels: str
    region: str
    slots: int
    cap: int
    cost_rule: str
    currency: str
    status: str
    days_ago: int  # when sign-ups opened
    signups: tuple[int, ...]  # purchases each signing brand asks for, in order


PLANS = (
    CampaignPlan(
        "apparel",
        "Winter jackets on social commerce",
        "Buy down jackets from the shops that advertise them in live streams, to confirm "
        "which sell fakes and to give the marketplaces evidence for takedowns.",
        "Instagram, Shopee, Temu",
        "EU and UK",
        8,
        3,
        CostRule.split_equally,
        "EUR",
        CampaignStatus.completed,
        120,
        (3, 2, 2, 1),
    ),
    CampaignPlan(
        "electronics",
        "Chargers and power banks on EU marketplaces",
        "Safety-critical fakes: test chargers sold as originals and hand unsafe ones to the "
        "market surveillance authorities.",
        "AliExpress, Temu, DHgate",
        "EU",
        6,
        2,
        CostRule.own,
        "EUR",
        CampaignStatus.running,
        40,
        (2, 2, 1),
    ),
    CampaignPlan(
        "apparel",
        "Spring sneaker and hoodie sweep",
        "A broad sweep of the sellers reported on the board since January.",
        "AliExpress, DHgate, Own website",
        "Worldwide",
        5,
        2,
        CostRule.own,
        "USD",
        CampaignStatus.open,
        3,
        (2, 2, 2, 1),
    ),
    CampaignPlan(
        "cosmetics",
        "Perfume on live-stream shops",
        "Perfume sold far below the recommended price in live streams.",
        "Taobao Live, Douyin",
        "Mainland China",
        10,
        3,
        CostRule.split_equally,
        "CNY",
        CampaignStatus.closed,
        20,
        (3, 2),
    ),
    CampaignPlan(
        "toys",
        "Collectible figures before the holidays",
        "Draft: to open once the budget is agreed.",
        "Amazon, eBay",
        "North America",
        6,
        2,
        CostRule.own,
        "USD",
        CampaignStatus.draft,
        0,
        (),
    ),
)


def load_demo_testbuys(session: Session, settings: Settings) -> None:
    """Add the demo campaigns once; a database that has campaigns is left alone."""
    if session.exec(select(func.count()).select_from(Campaign)).one() > 0:
        return
    rng = random.Random(SEED)
    for plan in PLANS:
        group = session.exec(select(WorkingGroup).where(WorkingGroup.slug == plan.group)).first()
        runner = coordinator_of(session, group) if group else None
        if group is None or runner is None:
            continue
        _Campaign(session, settings, rng, plan, group, runner).load()


def coordinator_of(session: Session, group: WorkingGroup) -> Actor | None:
    person = session.exec(
        select(Person)
        .join(Coordinator, col(Coordinator.person_id) == Person.id)
        .where(Coordinator.group_id == group.id)
        .order_by(col(Person.id))
    ).first()
    return actor_for(session, person) if person else None


def actor_for(session: Session, person: Person) -> Actor:
    brand = session.get(Brand, person.brand_id)
    assert brand is not None
    return load_actor(session, person, brand)


class _Campaign:
    def __init__(
        self,
        session: Session,
        settings: Settings,
        rng: random.Random,
        plan: CampaignPlan,
        group: WorkingGroup,
        runner: Actor,
    ) -> None:
        self.session, self.settings, self.rng = session, settings, rng
        self.plan, self.group, self.runner = plan, group, runner

    def load(self) -> None:
        plan, now = self.plan, utcnow()
        form = campaigns.CampaignForm(
            group=self.group.slug,
            title=plan.title,
            goal=plan.goal,
            channels=plan.channels,
            region=plan.region,
            opens_at=(now - timedelta(days=1)).strftime(DATETIME_FORMAT),
            closes_at=(now + timedelta(days=14)).strftime(DATETIME_FORMAT),
            slots=str(plan.slots),
            max_per_brand=str(plan.cap),
            budget=f"{plan.slots * 150}.00",
            currency=plan.currency,
            cost_rule=plan.cost_rule,
        )
        campaign = campaigns.create(self.session, self.runner, form)
        if plan.status == CampaignStatus.draft:
            return
        campaign = campaigns.change_status(self.session, self.runner, campaign, CampaignStatus.open)
        signed = self._sign_up(campaign)
        crew: list[Persona] = []
        order = [CampaignStatus.closed, CampaignStatus.running, CampaignStatus.completed]
        reached = order.index(CampaignStatus(plan.status)) + 1 if plan.status in order else 0
        for status in order[:reached]:
            if status == CampaignStatus.completed:
                for signup, admin in signed:
                    for _ in range(signup.granted):
                        self._purchase(campaign, signup, admin, crew)
            campaign = campaigns.change_status(self.session, self.runner, campaign, status)
            if status == CampaignStatus.running:
                crew = self._personas()
        if plan.status == CampaignStatus.running:
            for signup, admin in signed:
                for _ in range(signup.granted):
                    self._purchase(campaign, signup, admin, crew)
        self._move_into_the_past(campaign)

    def _sign_up(self, campaign: Campaign) -> list[tuple[Signup, Actor]]:
        admins = self.session.exec(
            select(Person)
            .join(GroupMembership, col(GroupMembership.brand_id) == Person.brand_id)
            .where(
                GroupMembership.group_id == self.group.id,
                Person.role == Role.brand_admin,
                col(Person.is_active).is_(True),
            )
            .order_by(col(Person.id))
        ).all()
        signed: list[tuple[Signup, Actor]] = []
        one_per_brand = {p.brand_id: p for p in reversed(admins)}  # the first admin of each
        chosen = sorted(one_per_brand.values(), key=lambda p: p.id or 0)
        for person, wanted in zip(chosen, self.plan.signups, strict=False):
            actor = actor_for(self.session, person)
            product = self.rng.choice(["Down jacket", "Hoodie", "Charger", "Power bank", "Parfum"])
            form = signups.SignupForm(
                requested=str(wanted),
                products=f"{product}, current season",
                targets="\n".join(self.rng.sample(SELLERS, 2)),
            )
            signed.append((signups.sign_up(self.session, actor, campaign, form), actor))
        return signed

    def _personas(self) -> list[Persona]:
        crew = []
        for name, city in (("Mia Brandt", "Rotterdam"), ("Leo Marchetti", "Milan")):
            crew.append(
                personas.create(
                    self.session,
                    self.runner,
                    personas.PersonaForm(
                        group=self.group.slug,
                        name=f"{name} ({self.group.slug})",
                        drop_address=f"Parcel locker 17, Demo Street 4, {city} (invented)",
                        contact=f"+44 7700 900{self.rng.randint(100, 999)}",
                        accounts="Marketplace buyer accounts kept in the secretariat's vault",
                    ),
                )
            )
        if self.plan.status == CampaignStatus.completed:
            personas.burn(
                self.session,
                self.runner,
                crew[1],
                "Seller GoldenDragonTrade recognised the drop address and blocked the account.",
            )
        return crew

    def _purchase(
        self, campaign: Campaign, signup: Signup, admin: Actor, crew: list[Persona]
    ) -> None:
        rng = self.rng
        seller = rng.choice(SELLERS)
        usable = [p for p in crew if p.burned_at is None] or crew
        form = purchases.PurchaseForm(
            signup=str(signup.id),
            product=signup.products.split(",")[0],
            marketplace=rng.choice(MARKETPLACES),
            seller=seller,
            listing_url=f"https://shop.example/{seller.lower().replace(' ', '-')}/item/"
            f"{rng.randint(100000, 999999)}",
            persona=str(rng.choice(usable).id),
            order_number=f"DEMO-{rng.randint(10**7, 10**8 - 1)}",
            item_cost=f"{rng.randint(25, 180)}.{rng.randint(0, 99):02d}",
            shipping_cost=f"{rng.randint(3, 15)}.00",
            fees=f"{rng.randint(0, 4)}.50",
            cost_currency=campaign.currency,
        )
        purchase = purchases.create(self.session, self.runner, campaign, form)
        finished = self.plan.status == CampaignStatus.completed
        steps = len(ROAD) if finished else rng.randint(0, len(ROAD))
        for status in ROAD[:steps]:
            purchases.change_status(self.session, self.runner, purchase, campaign, status)
        if steps == len(ROAD):
            self._custody(purchase, campaign, admin)
            self._photo(purchase, campaign, admin)
            if finished or rng.random() < 0.5:
                verdict = rng.choices(
                    [Verdict.counterfeit, Verdict.genuine, Verdict.grey_market],
                    weights=[7, 2, 1],
                )[0]
                purchases.change_status(
                    self.session,
                    admin,
                    purchase,
                    campaign,
                    PurchaseStatus.verdict,
                    verdict,
                    "Examined against the reference sample by the brand's product expert.",
                )
                if verdict == Verdict.counterfeit and rng.random() < 0.4:
                    reporting.report(self.session, self.settings, admin, purchase, campaign)

    def _custody(self, purchase: Purchase, campaign: Campaign, admin: Actor) -> None:
        when = utcnow() - timedelta(days=self.rng.randint(5, 20))
        seal = f"S-{self.rng.randint(100000, 999999)}"
        entries = [
            custody.CustodyForm(
                kind="handover",
                occurred_at=when.strftime(DATETIME_FORMAT),
                from_party="Courier (parcel locker)",
                to_party=self.runner.name,
                place="Parcel locker, Demo Street 4",
                purpose="Collection of the test purchase",
                seal_number=seal,
                seal_intact="yes",
            ),
            custody.CustodyForm(
                kind="handover",
                occurred_at=(when + timedelta(days=2)).strftime(DATETIME_FORMAT),
                from_party=self.runner.name,
                to_party=f"{admin.name} (product expert)",
                place="Alliance secretariat",
                purpose="Authentication",
                seal_number=seal,
                seal_intact="yes",
            ),
            custody.CustodyForm(
                kind="examination",
                occurred_at=(when + timedelta(days=3)).strftime(DATETIME_FORMAT),
                place="Brand laboratory",
                findings="Stitching, labels and hologram compared with the reference sample.",
            ),
        ]
        for form in entries:
            actor = admin if form.kind == "examination" else self.runner
            custody.append(self.session, actor, purchase, campaign, form)

    def _photo(self, purchase: Purchase, campaign: Campaign, admin: Actor) -> None:
        image = Image.new("RGB", (960, 640), (90, 110, self.rng.randint(120, 200)))
        draw = ImageDraw.Draw(image)
        draw.rectangle((40, 40, 920, 600), outline=(255, 255, 255), width=6)
        draw.text((80, 90), "DEMO TEST BUY", fill=(255, 255, 255), font_size=64)
        draw.text(
            (80, 200),
            f"{purchase.seller} · {purchase.order_number}",
            fill=(255, 255, 255),
            font_size=32,
        )
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=80)
        upload = evidence.Upload(f"purchase-{purchase.id}.jpg", buffer.getvalue())
        checked = evidence.check(self.settings, upload)
        purchases.attach(self.session, self.settings, admin, purchase, campaign, [checked])

    def _move_into_the_past(self, campaign: Campaign) -> None:
        """The services stamp everything now; a demo campaign ran over the past weeks."""
        plan = self.plan
        if plan.status == CampaignStatus.open:
            return
        opened = utcnow() - timedelta(days=plan.days_ago)
        fresh = self.session.get(Campaign, campaign.id)
        assert fresh is not None
        fresh.opens_at = opened
        fresh.closes_at = opened + timedelta(days=14)
        fresh.created_at = opened - timedelta(days=3)
        self.session.add(fresh)
        bought = self.session.exec(select(Purchase).where(Purchase.campaign_id == campaign.id))
        for number, purchase in enumerate(bought):
            ordered = opened + timedelta(days=16 + number % 5)
            for name, offset in (("ordered_on", 0), ("shipped_on", 3), ("received_on", 9)):
                if getattr(purchase, name) is not None:
                    setattr(purchase, name, min(ordered + timedelta(days=offset), utcnow()).date())
            if purchase.examined_on is not None:
                purchase.examined_on = min(ordered + timedelta(days=12), utcnow()).date()
            self.session.add(purchase)
        self.session.commit()
