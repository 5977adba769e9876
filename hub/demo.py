"""The demo data set: a believable, fictional anti-counterfeiting alliance, loaded idempotently.

Every brand, person and domain here is invented; all e-mail domains end in the reserved `.example`.
"""

import random
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from hub import audit
from hub.auth.devidp import dev_client_id, dev_client_secret, dev_issuer
from hub.auth.models import IdentityProvider
from hub.clock import utcnow
from hub.config import Settings
from hub.events.demo import load_demo_events
from hub.groups.models import (
    Coordinator,
    GroupMembership,
    JoinRequest,
    RequestStatus,
    WorkingGroup,
)
from hub.impact.demo import load_demo_impact
from hub.intel.demo import load_demo_reports
from hub.members.models import Brand, BrandDomain, OrgKind, Person, Role
from hub.secretbox import SecretUnreadable, open_sealed, seal
from hub.testbuys.demo import load_demo_testbuys

SEED = 20240917


@dataclass(frozen=True)
class GroupSpec:
    slug: str
    name: str
    description: str


@dataclass(frozen=True)
class OrgSpec:
    slug: str
    name: str
    country: str
    description: str
    domains: tuple[str, ...]
    groups: tuple[str, ...] = ()
    kind: OrgKind = OrgKind.brand


@dataclass(frozen=True)
class PersonSpec:
    org_slug: str
    name: str
    job_title: str
    role: Role = Role.member
    is_active: bool = True


@dataclass(frozen=True)
class CoordinatorSpec:
    group_slug: str
    # A secretariat person's e-mail, or a brand slug: the brand's first plain member.
    who: str


@dataclass(frozen=True)
class JoinRequestSpec:
    brand_slug: str
    group_slug: str
    message: str
    status: RequestStatus = RequestStatus.pending
    decision_note: str = ""


WORKING_GROUPS: tuple[GroupSpec, ...] = (
    GroupSpec(
        "apparel",
        "Apparel",
        "Ready-to-wear, knitwear and outerwear: copied designs, fake labels and "
        "look-alike listings on marketplaces and social media.",
    ),
    GroupSpec(
        "luxury-leather",
        "Luxury and leather goods",
        "Handbags, small leather goods and accessories, where super-fakes and "
        "counterfeit authenticity cards are the main concern.",
    ),
    GroupSpec(
        "footwear",
        "Footwear",
        "Sneakers, fashion and technical footwear, from factory overruns to fake "
        "limited releases sold through resale channels.",
    ),
    GroupSpec(
        "watches-jewellery",
        "Watches and jewellery",
        "Watches, fine and costume jewellery, including fake certificates, "
        "serial-number cloning and counterfeit spare parts.",
    ),
    GroupSpec(
        "cosmetics",
        "Cosmetics and personal care",
        "Skincare, make-up, fragrance and hair care, where counterfeits also put "
        "consumers' health at risk.",
    ),
    GroupSpec(
        "electronics",
        "Consumer electronics",
        "Audio, phones, accessories and chargers: unsafe batteries, cloned firmware "
        "and fake certification marks.",
    ),
    GroupSpec(
        "home-appliances",
        "Home appliances",
        "Kitchen and household appliances and their spare parts, filters and consumables.",
    ),
    GroupSpec(
        "toys",
        "Toys",
        "Toys and games, where fakes skip the safety testing children's products must pass.",
    ),
    GroupSpec(
        "sporting-goods",
        "Sporting goods",
        "Sports equipment, team jerseys, bicycles and outdoor gear, with peaks of "
        "fakes around major tournaments.",
    ),
    GroupSpec(
        "food-beverage",
        "Food and beverage",
        "Protected origins, tea, dairy, olive oil and spirits: refilled packaging, "
        "diluted products and false origin claims.",
    ),
    GroupSpec(
        "pharma-health",
        "Pharmaceuticals and health",
        "Medicines, medical devices and supplements sold through illegal online "
        "pharmacies and grey-market importers.",
    ),
    GroupSpec(
        "auto-parts",
        "Auto parts",
        "Brake pads, filters, airbags and other safety-critical spare parts, online "
        "and in independent workshops.",
    ),
)

SECRETARIAT = OrgSpec(
    slug="alliance",
    name="Alliance Secretariat",
    country="BE",
    description=(
        "The alliance's secretariat in Brussels runs membership, the working groups and "
        "this hub, and speaks for members to customs and platforms."
    ),
    domains=("alliance-hub.example",),
    kind=OrgKind.alliance,
)

BRANDS: tuple[OrgSpec, ...] = (
    OrgSpec(
        "maison-verrault",
        "Maison Verrault",
        "FR",
        "Parisian house of leather handbags, scarves and ready-to-wear, founded in 1921.",
        ("maison-verrault.example", "verrault.example"),
        ("luxury-leather", "apparel"),
    ),
    OrgSpec(
        "odelys-parfums",
        "Odelys Parfums",
        "FR",
        "Fine fragrances and make-up from Grasse, sold in department stores worldwide.",
        ("odelys-parfums.example",),
        ("cosmetics",),
    ),
    OrgSpec(
        "calzoleria-varesco",
        "Calzoleria Varesco",
        "IT",
        "Hand-finished leather shoes and loafers from the Marche, plus a small line of "
        "leather belts and bags.",
        ("varesco.example",),
        ("footwear", "luxury-leather"),
    ),
    OrgSpec(
        "tessitura-aldovini",
        "Tessitura Aldovini",
        "IT",
        "Cashmere and merino knitwear woven in Biella since 1958.",
        ("aldovini.example",),
        ("apparel",),
    ),
    OrgSpec(
        "oreficeria-bellandi",
        "Oreficeria Bellandi",
        "IT",
        "Gold jewellery and leather-strapped dress watches from Vicenza.",
        ("bellandi.example", "bellandi-gioielli.example"),
        ("watches-jewellery", "luxury-leather"),
    ),
    OrgSpec(
        "ostwald-motorenteile",
        "Ostwald Motorenteile",
        "DE",
        "Brake discs, pads and filters for the European aftermarket.",
        ("ostwald-parts.example",),
        ("auto-parts",),
    ),
    OrgSpec(
        "kranzfeld",
        "Kranzfeld Hausgeräte",
        "DE",
        "Espresso machines, kettles and water filters, with connected models controlled "
        "from a phone app.",
        ("kranzfeld.example",),
        ("home-appliances", "electronics"),
    ),
    OrgSpec(
        "kestrel-audio",
        "Kestrel Audio",
        "GB",
        "Headphones, wireless earbuds and portable speakers designed in Bristol.",
        ("kestrel-audio.example",),
        ("electronics",),
    ),
    OrgSpec(
        "thistlewood-toys",
        "Thistlewood Toys",
        "GB",
        "Wooden toys and collectible plush characters for young children.",
        ("thistlewood-toys.example",),
        ("toys",),
    ),
    OrgSpec(
        "hanami-skin",
        "Hanami Skin",
        "JP",
        "Skincare built on fermented rice and camellia oil, sold in Asia and online.",
        ("hanami-skin.example", "hanami-beauty.example"),
        ("cosmetics",),
    ),
    OrgSpec(
        "kagerou-timepieces",
        "Kagerou Timepieces",
        "JP",
        "Mechanical and solar-powered watches assembled in Nagano.",
        ("kagerou.example",),
        ("watches-jewellery",),
    ),
    OrgSpec(
        "hoshikawa-motor-parts",
        "Hoshikawa Motor Parts",
        "JP",
        "Spark plugs, ignition coils and oxygen sensors for cars and motorcycles.",
        ("hoshikawa-parts.example",),
        ("auto-parts",),
    ),
    OrgSpec(
        "lanshan-smart-home",
        "Lanshan Smart Home",
        "CN",
        "Robot vacuums, air purifiers and smart plugs from Shenzhen.",
        ("lanshan-home.example", "lanshan.example"),
        ("home-appliances", "electronics"),
    ),
    OrgSpec(
        "qingmu-tea",
        "Qingmu Tea Company",
        "CN",
        "Single-origin green and oolong teas from Fujian, exported to over 20 countries.",
        ("qingmu-tea.example",),
        ("food-beverage",),
    ),
    OrgSpec(
        "dalbit-beauty",
        "Dalbit Beauty",
        "KR",
        "Sheet masks, serums and sun care from Seoul.",
        ("dalbit-beauty.example",),
        ("cosmetics",),
    ),
    OrgSpec(
        "alborada-calzado",
        "Alborada Calzado",
        "ES",
        "Running and trail shoes made in Elche.",
        ("alborada.example",),
        ("footwear", "sporting-goods"),
    ),
    OrgSpec(
        "sierra-olvera",
        "Sierra Olvera Aceites",
        "ES",
        "Extra-virgin olive oil with a protected designation of origin from Andalusia.",
        ("sierra-olvera.example",),
        ("food-beverage",),
    ),
    OrgSpec(
        "horlogerie-montavel",
        "Horlogerie Montavel",
        "CH",
        "Independent watchmaker of complications and limited series from the Vallée de Joux.",
        ("montavel.example",),
        ("watches-jewellery",),
    ),
    OrgSpec(
        "alpenwell-pharma",
        "Alpenwell Pharma",
        "CH",
        "Prescription cardiovascular medicines and over-the-counter allergy remedies.",
        ("alpenwell.example", "alpenwell-pharma.example"),
        ("pharma-health",),
    ),
    OrgSpec(
        "fjallvik-outdoor",
        "Fjällvik Outdoor",
        "SE",
        "Technical outerwear, hiking boots and backpacks for Nordic conditions.",
        ("fjallvik.example",),
        ("sporting-goods", "apparel", "footwear"),
    ),
    OrgSpec(
        "dijkstra-zuivel",
        "Dijkstra Zuivel",
        "NL",
        "Farmhouse Gouda and other aged cheeses from Friesland.",
        ("dijkstra-zuivel.example",),
        ("food-beverage",),
    ),
    OrgSpec(
        "cobalt-creek",
        "Cobalt Creek Apparel",
        "US",
        "Denim, workwear and athletic apparel from Portland, Oregon.",
        ("cobaltcreek.example",),
        ("apparel", "sporting-goods"),
    ),
    OrgSpec(
        "bluegill-toy-works",
        "Bluegill Toy Works",
        "US",
        "Building sets and battery-powered ride-on toys.",
        ("bluegill-toys.example",),
        ("toys",),
    ),
    OrgSpec(
        "quillmont-pharmaceuticals",
        "Quillmont Pharmaceuticals",
        "US",
        "Generic prescription medicines, diabetes test strips and dietary supplements.",
        ("quillmont.example", "quillmont-pharma.example"),
        ("pharma-health",),
    ),
    OrgSpec(
        "stanwick-brakes",
        "Stanwick Brake Systems",
        "US",
        "Brake pads, calipers and rotors for passenger cars and light trucks.",
        ("stanwick-brakes.example",),
        ("auto-parts",),
    ),
    OrgSpec(
        "sabia-cosmeticos",
        "Sabiá Cosméticos",
        "BR",
        "Hair care and body care made with Amazonian botanicals.",
        ("sabia-cosmeticos.example",),
        ("cosmetics",),
    ),
    OrgSpec(
        "cajueiro-calcados",
        "Cajueiro Calçados",
        "BR",
        "Sandals and casual footwear from Rio Grande do Sul.",
        ("cajueiro.example",),
        ("footwear",),
    ),
    OrgSpec(
        "tanvika-pharmaceuticals",
        "Tanvika Pharmaceuticals",
        "IN",
        "Antibiotics and anti-malarials for markets in Asia and Africa, and an Ayurvedic "
        "skincare line.",
        ("tanvika.example",),
        ("pharma-health",),
    ),
    OrgSpec(
        "rangoli-threads",
        "Rangoli Threads",
        "IN",
        "Block-printed cotton clothing and home textiles from Jaipur.",
        ("rangoli-threads.example",),
        ("apparel",),
    ),
    OrgSpec(
        "juguetes-colibri",
        "Juguetes Colibrí",
        "MX",
        "Board games, puzzles and licensed action figures.",
        ("colibri-juguetes.example",),
        ("toys",),
    ),
)

SECRETARIAT_PEOPLE: tuple[PersonSpec, ...] = (
    PersonSpec("alliance", "Sophie Claes", "Secretary General", Role.alliance_admin),
    PersonSpec("alliance", "Pieter Vermeulen", "Head of Member Services", Role.alliance_admin),
    PersonSpec("alliance", "Nathalie Dumont", "Hub Administrator", Role.alliance_admin),
    PersonSpec("alliance", "Lotte Peeters", "Working Group Coordinator"),
    PersonSpec("alliance", "Karim Benali", "Enforcement Programmes Coordinator"),
    PersonSpec("alliance", "Elise Janssens", "Working Group Coordinator"),
    PersonSpec("alliance", "Tomasz Nowak", "Online Enforcement Coordinator"),
)

# Given names and family names per country, mixed in a seeded random order.
NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "FR": (
        ("Camille", "Julien", "Claire", "Thomas", "Élodie", "Mathieu", "Inès", "Antoine"),
        ("Lefèvre", "Moreau", "Girard", "Fontaine", "Rousseau", "Chevalier", "Garnier"),
    ),
    "IT": (
        ("Giulia", "Marco", "Francesca", "Alessandro", "Chiara", "Lorenzo", "Elena", "Davide"),
        ("Conti", "Ricci", "Marino", "Greco", "Gallo", "Fontana", "Caruso", "Moretti"),
    ),
    "DE": (
        ("Anna", "Lukas", "Katharina", "Jonas", "Miriam", "Felix", "Sabine", "Tobias"),
        ("Becker", "Hoffmann", "Schäfer", "Richter", "Wagner", "Krüger", "Neumann", "Vogel"),
    ),
    "GB": (
        ("Oliver", "Charlotte", "James", "Emily", "Harry", "Sophie", "George", "Hannah"),
        ("Whitaker", "Hughes", "Barnes", "Holloway", "Pritchard", "Ashworth", "Fletcher"),
    ),
    "JP": (
        ("Haruto", "Yui", "Sota", "Aoi", "Ren", "Misaki", "Daiki", "Naoko"),
        ("Watanabe", "Nakamura", "Kobayashi", "Yamamoto", "Inoue", "Kimura", "Hayashi"),
    ),
    "CN": (
        ("Jiahui", "Hao", "Xinyi", "Jun", "Mei", "Zhiwei", "Yutong", "Bo"),
        ("Chen", "Wang", "Liu", "Zhang", "Zhao", "Huang", "Zhou", "Xu"),
    ),
    "KR": (
        ("Minji", "Jihoon", "Seoyeon", "Hyunwoo", "Jiwoo", "Dongha", "Soyeon", "Taeyang"),
        ("Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Yoon", "Han"),
    ),
    "ES": (
        ("Lucía", "Javier", "Marta", "Pablo", "Carmen", "Sergio", "Nuria", "Álvaro"),
        ("Navarro", "Romero", "Herrera", "Delgado", "Ortega", "Castillo", "Iglesias"),
    ),
    "CH": (
        ("Laura", "Reto", "Nadine", "Matthias", "Céline", "Urs", "Simone", "Luca"),
        ("Meier", "Brunner", "Baumann", "Zürcher", "Gerber", "Widmer", "Rochat", "Favre"),
    ),
    "SE": (
        ("Elin", "Johan", "Maja", "Anders", "Ebba", "Oskar", "Linnea", "Henrik"),
        ("Lindqvist", "Berglund", "Sjöberg", "Nyström", "Holmgren", "Åkesson", "Ekström"),
    ),
    "NL": (
        ("Sanne", "Daan", "Femke", "Bram", "Lotte", "Ruben", "Anouk", "Joost"),
        ("de Vries", "Bakker", "Visser", "Smit", "Meijer", "de Groot", "Mulder", "Bos"),
    ),
    "US": (
        ("Madison", "Tyler", "Ashley", "Marcus", "Rachel", "Brandon", "Jessica", "Kevin"),
        ("Carter", "Mitchell", "Reynolds", "Brooks", "Sanders", "Hayes", "Coleman", "Jenkins"),
    ),
    "BR": (
        ("Ana", "João", "Fernanda", "Rafael", "Beatriz", "Thiago", "Larissa", "Gustavo"),
        ("Oliveira", "Souza", "Almeida", "Carvalho", "Pereira", "Costa", "Barbosa", "Teixeira"),
    ),
    "IN": (
        ("Priya", "Arjun", "Ananya", "Rohan", "Kavya", "Vikram", "Meera", "Aditya"),
        ("Sharma", "Iyer", "Reddy", "Nair", "Mehta", "Kulkarni", "Banerjee", "Desai"),
    ),
    "MX": (
        ("Ximena", "Diego", "Daniela", "Emiliano", "Regina", "Santiago", "Paola", "Andrés"),
        ("Hernández", "Gutiérrez", "Ramírez", "Flores", "Cruz", "Morales", "Vázquez", "Ríos"),
    ),
}

BRAND_ADMIN_TITLES: tuple[str, ...] = (
    "Head of Brand Protection",
    "Brand Protection Director",
    "Global Brand Protection Lead",
    "IP Enforcement Manager",
    "Director, Legal and Brand Protection",
)

MEMBER_TITLES: tuple[str, ...] = (
    "Brand Protection Manager",
    "IP Counsel",
    "Online Enforcement Analyst",
    "Supply Chain Security Manager",
    "Customs Liaison Officer",
    "Trademark Paralegal",
    "Investigations Specialist",
    "Marketplace Monitoring Specialist",
    "Product Authentication Engineer",
    "Legal Counsel, Intellectual Property",
)

COORDINATORS: tuple[CoordinatorSpec, ...] = (
    CoordinatorSpec("apparel", "lotte.peeters@alliance-hub.example"),
    CoordinatorSpec("footwear", "lotte.peeters@alliance-hub.example"),
    CoordinatorSpec("sporting-goods", "lotte.peeters@alliance-hub.example"),
    CoordinatorSpec("electronics", "karim.benali@alliance-hub.example"),
    CoordinatorSpec("home-appliances", "karim.benali@alliance-hub.example"),
    CoordinatorSpec("toys", "karim.benali@alliance-hub.example"),
    CoordinatorSpec("cosmetics", "elise.janssens@alliance-hub.example"),
    CoordinatorSpec("food-beverage", "elise.janssens@alliance-hub.example"),
    CoordinatorSpec("watches-jewellery", "tomasz.nowak@alliance-hub.example"),
    CoordinatorSpec("luxury-leather", "maison-verrault"),
    CoordinatorSpec("auto-parts", "ostwald-motorenteile"),
    CoordinatorSpec("pharma-health", "alpenwell-pharma"),
)

JOIN_REQUESTS: tuple[JoinRequestSpec, ...] = (
    JoinRequestSpec(
        "alborada-calzado",
        "apparel",
        "We launched a running apparel line this spring and copies of our jackets are "
        "already listed on two marketplaces. We would like to join the takedown work.",
    ),
    JoinRequestSpec(
        "dalbit-beauty",
        "pharma-health",
        "Our dermocosmetic serums are sold in pharmacies, and fakes now appear on the same "
        "illegal online pharmacies that sell counterfeit medicines.",
    ),
    JoinRequestSpec(
        "cobalt-creek",
        "footwear",
        "We are adding work boots to our range next season and want to learn from the "
        "group's experience with customs recordals for footwear.",
    ),
    JoinRequestSpec(
        "tanvika-pharmaceuticals",
        "cosmetics",
        "Our Ayurvedic skincare line is being copied in the Gulf markets; we would value "
        "the group's contacts with marketplace trust and safety teams.",
    ),
    JoinRequestSpec(
        "kestrel-audio",
        "sporting-goods",
        "Our sport earbuds are sold through running shops, and fake pairs turn up at "
        "race expos and in event goody bags.",
        RequestStatus.approved,
        "Welcome aboard: event sellers are on next month's agenda.",
    ),
    JoinRequestSpec(
        "quillmont-pharmaceuticals",
        "food-beverage",
        "We also make dietary supplements and would like to follow the food group's work.",
        RequestStatus.refused,
        "Supplements are covered by the Pharmaceuticals and health group, which "
        "Quillmont already belongs to; please raise supplement cases there.",
    ),
)

# When each brand joined, in years before the current one: the founders in the alliance's
# first year, then a few a year, so "member brands over time" grows as a real alliance's does.
FOUNDING_YEARS_AGO = 8
JOINED_YEARS_AGO: dict[str, int] = {
    "maison-verrault": 8,
    "odelys-parfums": 8,
    "calzoleria-varesco": 8,
    "oreficeria-bellandi": 8,
    "ostwald-motorenteile": 8,
    "kestrel-audio": 8,
    "horlogerie-montavel": 8,
    "alpenwell-pharma": 8,
    "stanwick-brakes": 8,
    "tessitura-aldovini": 7,
    "kranzfeld": 7,
    "thistlewood-toys": 7,
    "hanami-skin": 7,
    "quillmont-pharmaceuticals": 7,
    "kagerou-timepieces": 6,
    "fjallvik-outdoor": 6,
    "bluegill-toy-works": 6,
    "hoshikawa-motor-parts": 5,
    "dijkstra-zuivel": 5,
    "cobalt-creek": 4,
    "sierra-olvera": 4,
    "qingmu-tea": 3,
    "lanshan-smart-home": 3,
    "juguetes-colibri": 2,
    "tanvika-pharmaceuticals": 2,
    "alborada-calzado": 1,
    "rangoli-threads": 1,
    "sabia-cosmeticos": 1,
    "dalbit-beauty": 0,
    "cajueiro-calcados": 0,
}

DEACTIVATED_PEOPLE = 2
ADMIN_CLAIM = "groups"
ADMIN_VALUE = "brand-admins"

_ASCII_FOLD = str.maketrans({"ø": "o", "æ": "ae", "ß": "ss", "ł": "l", "đ": "d", "œ": "oe"})


def load_demo_data(session: Session, settings: Settings) -> None:
    """Fill the database with the demo alliance, or, if it is there, re-sync its sign-in."""
    loaded = session.exec(
        select(WorkingGroup.slug).where(col(WorkingGroup.slug).in_(_group_slugs()))
    ).all()
    if len(loaded) == len(WORKING_GROUPS):
        _sync_providers(session, settings)
        session.commit()
    else:
        _Loader(session, settings).load()
        session.commit()
    load_demo_reports(session, settings)
    load_demo_testbuys(session, settings)
    load_demo_events(session, settings)
    load_demo_impact(session)


def _group_slugs() -> list[str]:
    return [group.slug for group in WORKING_GROUPS]


def _orgs() -> tuple[OrgSpec, ...]:
    return (SECRETARIAT, *BRANDS)


def _email(name: str, domain: str) -> str:
    first, _, last = name.partition(" ")
    parts = []
    for part in (first, last):
        folded = unicodedata.normalize("NFKD", part.lower().translate(_ASCII_FOLD))
        parts.append("".join(c for c in folded if c.isascii() and (c.isalnum() or c == "-")))
    return f"{parts[0]}.{parts[1]}@{domain}"


def _days_ago(key: str, low: int, high: int) -> datetime:
    """A past moment that depends only on `key`, so reruns and partial loads agree."""
    rng = random.Random(f"{SEED}:{key}")
    return utcnow() - timedelta(days=rng.randint(low, high), minutes=rng.randint(0, 600))


def _days_after(start: datetime, key: str, low: int, high: int) -> datetime:
    """A moment some days after `start`, never in the future; it too depends only on `key`."""
    rng = random.Random(f"{SEED}:{key}")
    later = start + timedelta(days=rng.randint(low, high), minutes=rng.randint(0, 600))
    return min(later, utcnow())


def _founded() -> datetime:
    """The day the secretariat opened: mid-January of the alliance's first year."""
    return datetime(utcnow().year - FOUNDING_YEARS_AGO, 1, 15, 9, tzinfo=UTC)


def _joined(slug: str) -> datetime:
    """When a brand joined: a day of its year in JOINED_YEARS_AGO (the founders in the
    months after the founding), never in the future, and the same on every load."""
    now = utcnow()
    years_ago = JOINED_YEARS_AGO.get(slug, FOUNDING_YEARS_AGO // 2)
    year = now.year - years_ago
    if years_ago == FOUNDING_YEARS_AGO:
        first, last = _founded() + timedelta(days=10), datetime(year, 6, 30, tzinfo=UTC)
    else:
        first, last = datetime(year, 1, 2, tzinfo=UTC), datetime(year, 12, 20, tzinfo=UTC)
    # A brand of this year joined at least two weeks ago, so it has had time to settle in.
    span = max(min(last, now - timedelta(days=14)) - first, timedelta(0))
    day = first + random.Random(f"{SEED}:joined:{slug}").random() * span
    return min(day, now).replace(second=0, microsecond=0)


def _days_to_arrive(spec: PersonSpec) -> int:
    """How long after their organisation joined a person may have arrived: a brand's admin
    set the brand up, so within days; colleagues over the months after."""
    if spec.org_slug == SECRETARIAT.slug:
        return 40
    return 5 if spec.role == Role.brand_admin else 300


def _plan_people() -> tuple[list[PersonSpec], dict[str, list[PersonSpec]]]:
    """Everyone in the demo, secretariat first; and each brand's people, admin first."""
    rng = random.Random(SEED)
    by_brand: dict[str, list[PersonSpec]] = {}
    used = {p.name for p in SECRETARIAT_PEOPLE}
    for brand in BRANDS:
        given, family = NAMES[brand.country]
        size = 1 + (3 if rng.random() < 0.3 else 2)
        names: list[str] = []
        while len(names) < size:
            first, last = rng.choice(given), rng.choice(family)
            taken = {part for name in names for part in name.split(" ", 1)}
            if f"{first} {last}" not in used and not {first, last} & taken:
                names.append(f"{first} {last}")
                used.add(names[-1])
        titles = rng.sample(MEMBER_TITLES, size - 1)
        people = [
            PersonSpec(brand.slug, names[0], rng.choice(BRAND_ADMIN_TITLES), Role.brand_admin)
        ]
        people += [PersonSpec(brand.slug, n, t) for n, t in zip(names[1:], titles, strict=True)]
        by_brand[brand.slug] = people
    coordinating = {spec.who for spec in COORDINATORS}
    # Brand admins and coordinating members stay active: the demo needs them to sign in.
    eligible = [
        (slug, index)
        for slug, people in by_brand.items()
        for index in range(2 if slug in coordinating else 1, len(people))
    ]
    for slug, index in rng.sample(eligible, DEACTIVATED_PEOPLE):
        person = by_brand[slug][index]
        by_brand[slug][index] = PersonSpec(
            person.org_slug, person.name, person.job_title, person.role, is_active=False
        )
    everyone = list(SECRETARIAT_PEOPLE) + [p for people in by_brand.values() for p in people]
    return everyone, by_brand


def _sync_providers(session: Session, settings: Settings) -> None:
    """Point every demo organisation's development provider at the current base URL."""
    slugs = [org.slug for org in _orgs()]
    rows = session.exec(
        select(IdentityProvider, Brand)
        .join(Brand, col(Brand.id) == col(IdentityProvider.brand_id))
        .where(col(Brand.slug).in_(slugs))
    ).all()
    for provider, brand in rows:
        if provider.client_id != dev_client_id(brand.slug):
            continue  # repointed at a real provider by someone: leave it alone
        _sync_provider(session, settings, provider, brand.slug)


def _sync_provider(
    session: Session, settings: Settings, provider: IdentityProvider, slug: str
) -> None:
    issuer = dev_issuer(settings, slug)
    secret = dev_client_secret(settings, slug)
    try:
        current_secret = open_sealed(settings, provider.client_secret_sealed)
    except SecretUnreadable:
        current_secret = ""
    if provider.issuer == issuer and current_secret == secret:
        return
    provider.issuer = issuer
    provider.client_secret_sealed = seal(settings, secret)
    provider.version += 1
    provider.tested_version = provider.version
    provider.updated_at = utcnow()
    session.add(provider)


def _id(row: Brand | Person | WorkingGroup) -> int:
    assert row.id is not None, "flush before asking for an id"
    return row.id


class _Loader:
    """One full load: creates whatever of the demo data is missing, and nothing else."""

    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.groups: dict[str, WorkingGroup] = {}
        self.brands: dict[str, Brand] = {}
        self.people: dict[str, Person] = {}
        self.created: dict[str, int] = {}
        self.new_brands: list[str] = []
        self.memberships: set[tuple[int, int]] = set()
        self.actor: Person | None = None

    def load(self) -> None:
        everyone, by_brand = _plan_people()
        self._organisations()
        self._people(everyone)
        admins = [p for p in SECRETARIAT_PEOPLE if p.role == Role.alliance_admin]
        self.actor = self.people[_email(admins[0].name, SECRETARIAT.domains[0])]
        self._groups()
        self._audit_new_brands()
        self._memberships()
        self._coordinators(by_brand)
        self._join_requests(by_brand)
        self._providers()
        if any(self.created.values()):
            audit.record(
                self.session,
                None,
                "hub demo loader",
                "demo.loaded",
                "",
                **{k: v for k, v in sorted(self.created.items()) if v},
            )

    def _count(self, what: str) -> None:
        self.created[what] = self.created.get(what, 0) + 1

    def _record(self, action: str, target: str, **detail: Any) -> None:
        actor = self.actor
        assert actor is not None
        label = f"{actor.name} <{actor.email}>"
        audit.record(self.session, actor.id, label, action, target, **detail)

    def _organisations(self) -> None:
        slugs = [org.slug for org in _orgs()]
        self.brands = {
            b.slug: b for b in self.session.exec(select(Brand).where(col(Brand.slug).in_(slugs)))
        }
        for org in _orgs():
            if org.slug in self.brands:
                continue
            brand = Brand(
                slug=org.slug,
                name=org.name,
                country=org.country,
                kind=org.kind,
                website=f"https://{org.domains[0]}",
                description=org.description,
                created_at=_joined(org.slug) if org.kind == OrgKind.brand else _founded(),
            )
            self.session.add(brand)
            self.brands[org.slug] = brand
            self.new_brands.append(org.slug)
            self._count("organisations")
        self.session.flush()
        all_domains = [d for org in _orgs() for d in org.domains]
        known = set(
            self.session.exec(
                select(BrandDomain.domain).where(col(BrandDomain.domain).in_(all_domains))
            )
        )
        for org in _orgs():
            for domain in org.domains:
                if domain not in known:
                    brand_id = _id(self.brands[org.slug])
                    self.session.add(BrandDomain(brand_id=brand_id, domain=domain))
                    self._count("domains")

    def _people(self, everyone: list[PersonSpec]) -> None:
        emails = {_email(p.name, self._domain(p.org_slug)): p for p in everyone}
        assert len(emails) == len(everyone), "two demo people share an e-mail address"
        self.people = {
            p.email: p
            for p in self.session.exec(select(Person).where(col(Person.email).in_(list(emails))))
        }
        for email, spec in emails.items():
            if email in self.people:
                continue
            brand = self.brands[spec.org_slug]
            person = Person(
                brand_id=_id(brand),
                email=email,
                name=spec.name,
                job_title=spec.job_title,
                role=spec.role,
                is_active=spec.is_active,
                created_at=_days_after(
                    brand.created_at, f"person:{email}", 0, _days_to_arrive(spec)
                ),
            )
            self.session.add(person)
            self.people[email] = person
            self._count("people")
        self.session.flush()

    def _domain(self, org_slug: str) -> str:
        org = SECRETARIAT if org_slug == SECRETARIAT.slug else _brand_spec(org_slug)
        return org.domains[0]

    def _person(self, spec: PersonSpec) -> Person:
        return self.people[_email(spec.name, self._domain(spec.org_slug))]

    def _groups(self) -> None:
        self.groups = {
            g.slug: g
            for g in self.session.exec(
                select(WorkingGroup).where(col(WorkingGroup.slug).in_(_group_slugs()))
            )
        }
        for index, spec in enumerate(WORKING_GROUPS):
            if spec.slug in self.groups:
                continue
            group = WorkingGroup(
                slug=spec.slug,
                name=spec.name,
                description=spec.description,
                created_at=_days_ago("groups", 3250, 3250) + timedelta(hours=index),
            )
            self.session.add(group)
            self.groups[spec.slug] = group
            self._count("groups")
            self._record("group.created", f"group:{spec.slug}", name=spec.name)
        self.session.flush()

    def _audit_new_brands(self) -> None:
        for slug in self.new_brands:
            brand = self.brands[slug]
            if brand.kind == OrgKind.brand:
                self._record("brand.created", f"brand:{slug}", name=brand.name)

    def _memberships(self) -> None:
        brand_ids = [_id(b) for b in self.brands.values()]
        self.memberships = {
            (m.group_id, m.brand_id)
            for m in self.session.exec(
                select(GroupMembership).where(col(GroupMembership.brand_id).in_(brand_ids))
            )
        }
        for spec in BRANDS:
            for group_slug in spec.groups:
                self._add_membership(spec.slug, group_slug, None)

    def _add_membership(self, brand_slug: str, group_slug: str, at: datetime | None) -> None:
        brand, group = self.brands[brand_slug], self.groups[group_slug]
        if (_id(group), _id(brand)) in self.memberships:
            return
        self.memberships.add((_id(group), _id(brand)))
        delay = timedelta(days=random.Random(f"{SEED}:{brand_slug}:{group_slug}").randint(1, 20))
        joined = at or max(brand.created_at, group.created_at) + delay
        self.session.add(
            GroupMembership(group_id=_id(group), brand_id=_id(brand), joined_at=joined)
        )
        self._count("memberships")

    def _coordinators(self, by_brand: dict[str, list[PersonSpec]]) -> None:
        group_ids = [_id(g) for g in self.groups.values()]
        existing = {
            (c.group_id, c.person_id)
            for c in self.session.exec(
                select(Coordinator).where(col(Coordinator.group_id).in_(group_ids))
            )
        }
        for spec in COORDINATORS:
            if spec.who in by_brand:
                person = self._person(by_brand[spec.who][1])
            else:
                person = self.people[spec.who]
            group = self.groups[spec.group_slug]
            if (_id(group), _id(person)) in existing:
                continue
            self.session.add(
                Coordinator(
                    group_id=_id(group),
                    person_id=_id(person),
                    appointed_by_id=self._actor_id(),
                    appointed_at=_days_after(
                        max(person.created_at, group.created_at),
                        f"coordinator:{spec.group_slug}",
                        1,
                        30,
                    ),
                )
            )
            self._count("coordinators")
            self._record("coordinator.appointed", f"group:{spec.group_slug}", person=person.email)

    def _actor_id(self) -> int:
        assert self.actor is not None
        return _id(self.actor)

    def _join_requests(self, by_brand: dict[str, list[PersonSpec]]) -> None:
        deciders = {c.group_slug: c.who for c in COORDINATORS}
        for spec in JOIN_REQUESTS:
            brand, group = self.brands[spec.brand_slug], self.groups[spec.group_slug]
            requester = self._person(by_brand[spec.brand_slug][0])
            exists = self.session.exec(
                select(JoinRequest.id).where(
                    JoinRequest.group_id == _id(group),
                    JoinRequest.brand_id == _id(brand),
                    JoinRequest.requested_by_id == _id(requester),
                )
            ).first()
            if exists is not None:
                continue
            key = f"request:{spec.brand_slug}:{spec.group_slug}"
            pending = spec.status == RequestStatus.pending
            request = JoinRequest(
                group_id=_id(group),
                brand_id=_id(brand),
                requested_by_id=_id(requester),
                message=spec.message,
                status=spec.status,
                created_at=_days_ago(key, 1, 9) if pending else _days_ago(key, 30, 45),
            )
            if not pending:
                who = deciders[spec.group_slug]
                decider = self._person(by_brand[who][1]) if who in by_brand else self.people[who]
                request.decided_at = request.created_at + timedelta(days=2, hours=3)
                request.decided_by_id = _id(decider)
                request.decision_note = spec.decision_note
                label = f"{decider.name} <{decider.email}>"
                audit.record(
                    self.session,
                    decider.id,
                    label,
                    f"join_request.{spec.status}",
                    f"group:{spec.group_slug}",
                    brand=spec.brand_slug,
                )
                if spec.status == RequestStatus.approved:
                    self._add_membership(spec.brand_slug, spec.group_slug, request.decided_at)
            self.session.add(request)
            self._count("join_requests")

    def _providers(self) -> None:
        existing = {
            p.brand_id: p
            for p in self.session.exec(
                select(IdentityProvider).where(
                    col(IdentityProvider.brand_id).in_([_id(b) for b in self.brands.values()])
                )
            )
        }
        for org in _orgs():
            brand = self.brands[org.slug]
            provider = existing.get(_id(brand))
            if provider is not None:
                if provider.client_id == dev_client_id(org.slug):
                    _sync_provider(self.session, self.settings, provider, org.slug)
                continue
            self.session.add(
                IdentityProvider(
                    brand_id=_id(brand),
                    name=f"{org.name} sign-in (development)",
                    issuer=dev_issuer(self.settings, org.slug),
                    client_id=dev_client_id(org.slug),
                    client_secret_sealed=seal(
                        self.settings, dev_client_secret(self.settings, org.slug)
                    ),
                    admin_claim=ADMIN_CLAIM,
                    admin_value=ADMIN_VALUE,
                    enabled=True,
                    # The development provider stands in for a provider already proven.
                    tested_version=1,
                    created_at=brand.created_at,
                    updated_at=brand.created_at,
                )
            )
            self._count("identity_providers")


def _brand_spec(slug: str) -> OrgSpec:
    return next(spec for spec in BRANDS if spec.slug == slug)
