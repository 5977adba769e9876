"""Demo reports for the intelligence boards: a few hundred believable reports whose
indicators correlate across brands, as real counterfeit networks do. Every shop, number
and address is invented: domains are reserved `.example` names, phones are from the UK's
range reserved for fiction, payment accounts use the non-existent country code XX."""

import io
import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from PIL import Image, ImageDraw
from sqlmodel import Session, col, func, select

from hub.clock import utcnow
from hub.config import Settings
from hub.groups.models import GroupMembership, WorkingGroup
from hub.intel import evidence, search_index
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
    Status,
    StatusChange,
    Tlp,
)
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


def load_demo_reports(session: Session, settings: Settings) -> None:
    """Add the demo reports once; a database that has reports is left alone."""
    if session.exec(select(func.count()).select_from(IntelReport)).one() > 0:
        return
    rng = random.Random(SEED)
    networks = [_network(rng, index) for index in range(60)]
    groups = session.exec(select(WorkingGroup).order_by(col(WorkingGroup.id))).all()
    planned: list[
        tuple[datetime, WorkingGroup, Person, Brand, dict[str, str], Sequence[tuple[Person, Brand]]]
    ] = []
    now = utcnow()
    for group in groups:
        authors = session.exec(
            select(Person, Brand)
            .join(Brand, col(Brand.id) == Person.brand_id)
            .join(GroupMembership, col(GroupMembership.brand_id) == Brand.id)
            .where(GroupMembership.group_id == group.id, col(Person.is_active).is_(True))
            .order_by(col(Person.id))
        ).all()
        if not authors:
            continue
        # Each group's counterfeiters are a handful of networks, some shared with other groups.
        group_networks = rng.sample(networks, 8)
        for _ in range(rng.randint(18, 32)):
            person, brand = rng.choice(authors)
            network = rng.choice(group_networks)
            created = now - timedelta(days=rng.randint(0, 180), minutes=rng.randint(0, 1440))
            planned.append((created, group, person, brand, network, authors))
    # Inserted oldest first, so ids follow time as they do when people post.
    ordered = sorted(planned, key=lambda p: p[0])
    for number, (created, group, person, brand, network, authors) in enumerate(ordered):
        report = _add_report(session, rng, group, person, brand, network, authors, created)
        if number % 6 == 0:
            _add_photo(session, settings, rng, report, person)
    session.flush()
    search_index.reindex_all(session)
    session.commit()


def _add_report(
    session: Session,
    rng: random.Random,
    group: WorkingGroup,
    person: Person,
    brand: Brand,
    network: dict[str, str],
    authors: Sequence[tuple[Person, Brand]],
    created: datetime,
) -> IntelReport:
    product = rng.choice(PRODUCTS.get(group.slug, ["goods"]))
    marketplace = rng.choice(MARKETPLACES)
    shop = network[IndicatorKind.shop_name]
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
    report = IntelReport(
        group_id=group.id or 0,
        brand_id=brand.id or 0,
        author_id=person.id or 0,
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
        created_at=created,
        updated_at=created,
    )
    session.add(report)
    session.flush()
    kinds = rng.sample(list(network), rng.randint(2, 5))
    for kind in kinds:
        value = network[kind]
        session.add(
            Indicator(
                report_id=report.id or 0, kind=kind, value=value, normalised=normalise(kind, value)
            )
        )
    if tlp == Tlp.red:
        others = [p for p, b in authors if b.id != brand.id]
        for recipient in rng.sample(others, min(2, len(others))):
            session.add(ReportRecipient(report_id=report.id or 0, person_id=recipient.id or 0))
    path = [Status.verified, Status.notice_filed, Status.taken_down, Status.relisted, Status.closed]
    steps = rng.choices(range(6), weights=[30, 20, 15, 20, 5, 10])[0]
    previous = Status.new
    at = created
    for status in path[:steps]:
        at = min(at + timedelta(hours=rng.randint(2, 72)), utcnow())
        session.add(
            StatusChange(
                report_id=report.id or 0,
                from_status=previous,
                to_status=status,
                by_id=person.id or 0,
                at=at,
            )
        )
        previous = status
    report.status = previous
    return report


def _add_photo(
    session: Session, settings: Settings, rng: random.Random, report: IntelReport, person: Person
) -> None:
    """A generated stand-in for a test-buy photo or a listing screenshot."""
    colour = (rng.randint(120, 220), rng.randint(60, 160), rng.randint(40, 140))
    image = Image.new("RGB", (960, 640), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 920, 600), outline=(255, 255, 255), width=6)
    draw.text((80, 90), "DEMO EVIDENCE", fill=(255, 255, 255), font_size=64)
    draw.text((80, 200), report.title[:48], fill=(255, 255, 255), font_size=32)
    draw.text(
        (80, 520), f"photographed {report.created_at:%d %b %Y}", fill=(255, 255, 255), font_size=28
    )
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
