"""Demo test-buy campaigns: one completed with verdicts, evidence and custody chains, one
purchasing, one open with a waitlist, one closed and one draft; before them, a campaign
every six weeks or so over the past year in the other groups, so verdicts run through the
whole year. Made through the services, so the demo holds exactly what real use would;
dates are moved into the past afterwards. Every seller, persona and address is invented."""

import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from PIL import Image, ImageDraw
from sqlmodel import Session, col, func, select

from hub.auth.sessions import load_actor
from hub.clock import as_utc, utcnow
from hub.config import Settings
from hub.groups.models import Coordinator, GroupMembership, WorkingGroup
from hub.intel import evidence
from hub.intel.models import Comment, Evidence, IntelReport
from hub.members.models import Brand, Person, Role
from hub.notify.models import Notification
from hub.policy import Actor
from hub.testbuys import campaigns, custody, personas, purchases, reporting, signups
from hub.testbuys.campaigns import DATETIME_FORMAT
from hub.testbuys.models import (
    Campaign,
    CampaignStatus,
    CostRule,
    Persona,
    Purchase,
    PurchaseEvent,
    PurchaseEvidence,
    PurchaseStatus,
    Signup,
    SignupEvent,
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
PRODUCTS = ("Down jacket", "Hoodie", "Charger", "Power bank", "Parfum")
ROAD = [PurchaseStatus.ordered, PurchaseStatus.shipped, PurchaseStatus.received]
PAST_VERDICTS = [Verdict.counterfeit] * 5 + [Verdict.genuine] * 2 + [Verdict.grey_market]


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
    burn_reason: str = ""  # a persona the sellers found out during the campaign
    # A campaign of the past year: bought over `buying_days` through its own channels,
    # photographed now and then, no custody chain (its links could only be recorded today).
    past: bool = False
    buying_days: int = 5
    products: tuple[str, ...] = PRODUCTS


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
        burn_reason="Seller GoldenDragonTrade recognised the drop address and blocked the account.",
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


def _past(
    group: str,
    days_ago: int,
    title: str,
    goal: str,
    channels: str,
    region: str,
    currency: str,
    products: tuple[str, ...],
    signups: tuple[int, ...] = (2, 2),
) -> CampaignPlan:
    return CampaignPlan(
        group,
        title,
        goal,
        channels,
        region,
        sum(signups),
        max(signups),
        CostRule.own if currency == "USD" else CostRule.split_equally,
        currency,
        CampaignStatus.completed,
        days_ago,
        signups,
        past=True,
        buying_days=40,
        products=products,
    )


# A campaign every six weeks or so in another group: with six weeks of buying each, every
# month of the year has verdicts.
HISTORY = (
    _past(
        "luxury-leather",
        455,
        "Super-fake handbags on resale apps",
        "Buy the 'mirror quality' bags advertised on resale apps and channels, to trace the "
        "workshops behind them for the customs recordals.",
        "Instagram, Telegram, DHgate",
        "EU",
        "EUR",
        ("Handbag", "Wallet", "Silk scarf"),
    ),
    _past(
        "footwear",
        410,
        "Limited-release sneakers before the holidays",
        "Fake limited releases sold as unworn resale pairs in the run-up to the holidays.",
        "AliExpress, DHgate, Shopee",
        "Worldwide",
        "USD",
        ("Sneakers", "Running shoes"),
    ),
    _past(
        "cosmetics",
        365,
        "Fragrance gift sets in the January sales",
        "Gift sets sold far below the recommended price once the holidays are over.",
        "Temu, Shopee, Amazon",
        "EU and UK",
        "EUR",
        ("Perfume gift set", "Face serum", "Lipstick"),
    ),
    _past(
        "watches-jewellery",
        320,
        "Automatic watches with cloned serial numbers",
        "Confirm which sellers ship watches engraved with serial numbers cloned from "
        "genuine pieces, and with which fake certificates.",
        "DHgate, Instagram, Own website",
        "Worldwide",
        "USD",
        ("Automatic watch", "Bracelet"),
    ),
    _past(
        "auto-parts",
        275,
        "Brake pads from online parts shops",
        "Safety-critical fakes: bench-test brake pads sold as originals and hand the "
        "failures to the market surveillance authorities.",
        "eBay, Amazon, Own website",
        "EU",
        "EUR",
        ("Brake pads", "Oil filter"),
    ),
    _past(
        "home-appliances",
        230,
        "Water filters and coffee-machine spares",
        "Filters and spare parts sold as originals: test what they let through.",
        "Amazon, AliExpress, Temu",
        "EU",
        "EUR",
        ("Water filter", "Coffee-machine spare part"),
    ),
    _past(
        "sporting-goods",
        185,
        "Team jerseys before the summer tournament",
        "Jerseys and fan gear sold through social shops in the weeks before kick-off.",
        "Instagram, Shopee, Own website",
        "EU and UK",
        "EUR",
        ("Team jersey", "Football"),
    ),
    _past(
        "pharma-health",
        140,
        "Test strips and pain relief from online pharmacies",
        "Buy from the online pharmacies reported on the board and have the labs analyse "
        "what arrives.",
        "Own website, Telegram",
        "Worldwide",
        "USD",
        ("Diabetes test strips", "Pain relief tablets"),
    ),
    _past(
        "food-beverage",
        95,
        "Olive oil and whisky with false origin claims",
        "Bottles sold under protected origins: the labs check what is inside.",
        "Taobao, Amazon, Own website",
        "EU and China",
        "EUR",
        ("Olive oil", "Whisky"),
    ),
)


def load_demo_testbuys(session: Session, settings: Settings) -> None:
    """Add the demo campaigns once; a database that has campaigns is left alone."""
    if session.exec(select(func.count()).select_from(Campaign)).one() > 0:
        return
    rng = random.Random(SEED)
    for plan in (*PLANS, *HISTORY):
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
        # A past campaign's verdicts, drawn from a mix of five fakes in eight purchases.
        self.verdicts = rng.sample(PAST_VERDICTS, len(PAST_VERDICTS)) if plan.past else []

    def load(self) -> None:
        plan, now = self.plan, utcnow()
        self.before = {
            model: self.session.exec(select(func.max(model.id))).one() or 0
            for model in (IntelReport, Comment, Notification)
        }
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
        opened = utcnow() - timedelta(days=self.plan.days_ago)
        admins = [
            person
            for person, joined in self.session.exec(
                select(Person, GroupMembership.joined_at)
                .join(GroupMembership, col(GroupMembership.brand_id) == Person.brand_id)
                .where(
                    GroupMembership.group_id == self.group.id,
                    Person.role == Role.brand_admin,
                    col(Person.is_active).is_(True),
                )
                .order_by(col(Person.id))
            )
            # Only brands (and admins) that were there when the campaign opened.
            if max(as_utc(joined), as_utc(person.created_at)) <= opened
        ]
        signed: list[tuple[Signup, Actor]] = []
        one_per_brand = {p.brand_id: p for p in reversed(admins)}  # the first admin of each
        chosen = sorted(one_per_brand.values(), key=lambda p: p.id or 0)
        for person, wanted in zip(chosen, self.plan.signups, strict=False):
            actor = actor_for(self.session, person)
            product = self.rng.choice(self.plan.products)
            form = signups.SignupForm(
                requested=str(wanted),
                products=f"{product}, current season",
                targets="\n".join(self.rng.sample(SELLERS, 2)),
            )
            signed.append((signups.sign_up(self.session, actor, campaign, form), actor))
        return signed

    def _personas(self) -> list[Persona]:
        """The group's buyer identities: those still usable, or two new ones."""
        crew = list(
            self.session.exec(
                select(Persona)
                .where(Persona.group_id == self.group.id, col(Persona.burned_at).is_(None))
                .order_by(col(Persona.id))
            )
        )
        if crew:
            return crew
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
        if self.plan.burn_reason and len(crew) > 1:
            personas.burn(self.session, self.runner, crew[1], self.plan.burn_reason)
        return crew

    def _purchase(
        self, campaign: Campaign, signup: Signup, admin: Actor, crew: list[Persona]
    ) -> None:
        rng = self.rng
        seller = rng.choice(SELLERS)
        usable = [p for p in crew if p.burned_at is None] or crew
        markets = self.plan.channels.split(", ") if self.plan.past else MARKETPLACES
        form = purchases.PurchaseForm(
            signup=str(signup.id),
            product=signup.products.split(",")[0],
            marketplace=rng.choice(markets),
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
            if not self.plan.past:
                self._custody(purchase, campaign, admin)
                self._photo(purchase, campaign, admin)
            elif rng.random() < 0.12:
                self._photo(purchase, campaign, admin)
            if finished or rng.random() < 0.5:
                verdict = (
                    self.verdicts.pop()
                    if self.plan.past
                    else rng.choices(
                        [Verdict.counterfeit, Verdict.genuine, Verdict.grey_market],
                        weights=[7, 2, 1],
                    )[0]
                )
                purchases.change_status(
                    self.session,
                    admin,
                    purchase,
                    campaign,
                    PurchaseStatus.verdict,
                    verdict,
                    "Examined against the reference sample by the brand's product expert.",
                )
                if verdict == Verdict.counterfeit and not self.plan.past and rng.random() < 0.4:
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
        """The services stamp everything now; a demo campaign ran over the past weeks or
        months, so its sign-ups, purchases, their steps and verdicts move to then."""
        plan = self.plan
        if plan.status == CampaignStatus.open:
            return
        now = utcnow()
        opened = now - timedelta(days=plan.days_ago)
        fresh = self.session.get(Campaign, campaign.id)
        assert fresh is not None
        fresh.opens_at = opened
        fresh.closes_at = opened + timedelta(days=14)
        fresh.created_at = opened - timedelta(days=3)
        self.session.add(fresh)
        signed = self.session.exec(
            select(Signup).where(Signup.campaign_id == campaign.id).order_by(col(Signup.id))
        ).all()
        for number, signup in enumerate(signed):
            at = min(opened + timedelta(hours=5 + 19 * number), now)
            signup.created_at = signup.updated_at = at
            if signup.approved_at is not None:
                signup.approved_at = at
            self.session.add(signup)
            for event in self.session.exec(
                select(SignupEvent).where(SignupEvent.signup_id == signup.id)
            ):
                event.created_at = at
                self.session.add(event)
        last = opened + timedelta(days=14)
        bought = self.session.exec(
            select(Purchase).where(Purchase.campaign_id == campaign.id).order_by(col(Purchase.id))
        ).all()
        for number, purchase in enumerate(bought):
            if plan.past:
                spread = plan.buying_days * number / max(1, len(bought) - 1)
            else:
                spread = number % plan.buying_days
            ordered = opened + timedelta(days=16 + spread, hours=number % 7)
            last = max(last, self._move_purchase(purchase, ordered, now))
        fresh.updated_at = min(last, now)
        self._move_personas(opened, plan.buying_days)
        if plan.past:
            self._move_notifications(opened, bought, now)
        self.session.commit()

    def _move_purchase(self, purchase: Purchase, ordered: datetime, now: datetime) -> datetime:
        """A purchase's dates, steps and verdict as they fall after its order; returns
        when it last moved."""
        verdict_at = ordered + timedelta(days=12, hours=2 + (purchase.id or 0) % 8)
        moments = {
            PurchaseStatus.ordered: ordered,
            PurchaseStatus.shipped: ordered + timedelta(days=3, hours=5),
            PurchaseStatus.received: ordered + timedelta(days=9, hours=3),
            PurchaseStatus.verdict: verdict_at,
            PurchaseStatus.reported: verdict_at + timedelta(hours=1),
        }
        for name, offset in (("ordered_on", 0), ("shipped_on", 3), ("received_on", 9)):
            if getattr(purchase, name) is not None:
                setattr(purchase, name, min(ordered + timedelta(days=offset), now).date())
        if purchase.examined_on is not None:
            purchase.examined_on = min(ordered + timedelta(days=12), now).date()
        if purchase.verdict_at is not None:
            purchase.verdict_at = min(verdict_at, now)
        purchase.created_at = ordered - timedelta(hours=20)
        last = purchase.created_at
        for event in self.session.exec(
            select(PurchaseEvent)
            .where(PurchaseEvent.purchase_id == purchase.id)
            .order_by(col(PurchaseEvent.id))
        ):
            event.created_at = min(moments.get(PurchaseStatus(event.to_status), last), now)
            last = max(last, event.created_at)
            self.session.add(event)
        purchase.updated_at = last
        self.session.add(purchase)
        for photo in self.session.exec(
            select(PurchaseEvidence).where(PurchaseEvidence.purchase_id == purchase.id)
        ):
            photo.uploaded_at = min(moments[PurchaseStatus.received] + timedelta(hours=20), now)
            self.session.add(photo)
        if purchase.report_id is not None and purchase.report_id > self.before[IntelReport]:
            self._move_report(purchase.report_id, moments[PurchaseStatus.reported], now)
        if purchase.report_id is not None:
            # Posted onto a report already on the board: the comment saying so.
            for comment in self.session.exec(
                select(Comment).where(
                    Comment.report_id == purchase.report_id, col(Comment.id) > self.before[Comment]
                )
            ):
                comment.created_at = min(moments[PurchaseStatus.reported], now)
                self.session.add(comment)
        return last

    def _move_report(self, report_id: int, at: datetime, now: datetime) -> None:
        """A verdict posted to the board was posted when the verdict came."""
        report = self.session.get(IntelReport, report_id)
        assert report is not None
        report.created_at = report.updated_at = min(at, now)
        self.session.add(report)
        for item in self.session.exec(select(Evidence).where(Evidence.report_id == report_id)):
            item.uploaded_at = report.created_at
            self.session.add(item)

    def _move_personas(self, opened: datetime, buying_days: int) -> None:
        """Personas were made when purchasing began, or earlier for an earlier campaign."""
        made = opened + timedelta(days=15)
        for persona in self.session.exec(select(Persona).where(Persona.group_id == self.group.id)):
            if as_utc(persona.created_at) > made:
                persona.created_at = made
            if persona.burned_at is not None and as_utc(persona.burned_at) > made:
                persona.burned_at = made + timedelta(days=1 + buying_days // 2)
            self.session.add(persona)

    def _move_notifications(
        self, opened: datetime, bought: Sequence[Purchase], now: datetime
    ) -> None:
        """What the campaign told people a year ago was told then, and read long since."""
        when = {f"/testbuys/purchases/{p.id}": p.verdict_at or p.updated_at for p in bought}
        for notice in self.session.exec(
            select(Notification).where(col(Notification.id) > self.before[Notification])
        ):
            notice.created_at = min(as_utc(when.get(notice.link) or opened), now)
            notice.mailed_at = notice.created_at
            notice.read_at = min(notice.created_at + timedelta(hours=18), now)
            self.session.add(notice)
