"""The fixed material of the generated world: names, templates, indicator values.

Every brand, person, shop, number and address is invented. Names are built from
syllables (no real person's name); e-mail and web domains are reserved `.example` names;
phones come from ranges reserved for drama and fiction (UK Ofcom drama numbers, North
American 555-01XX); payment accounts use the non-existent country code XX.
"""

import functools
import random
from dataclasses import dataclass

from hub.intel.demo import CITIES, COURIERS, SHOP_WORDS
from hub.intel.markdown import to_safe_html

SYLLABLES = (
    "al", "an", "ar", "be", "bo", "ca", "da", "del", "do", "el", "en", "fa", "ga", "hel",
    "ia", "is", "ka", "ko", "la", "len", "li", "lo", "lu", "ma", "mar", "mi", "na", "nel",
    "no", "or", "pa", "ra", "ri", "ro", "sa", "sel", "ta", "te", "ti", "to", "va", "ve",
    "vi", "za",
)  # fmt: skip
BRAND_SUFFIXES = (
    "Maison", "Group", "Industries", "Brands", "Holding", "Studio", "Manufacturing", "Labs",
    "International", "Atelier", "Company", "Goods", "Works", "Collective",
)  # fmt: skip
COUNTRIES = (
    "FR", "IT", "DE", "ES", "GB", "US", "CN", "JP", "KR", "CH", "NL", "BE", "SE", "DK", "PT",
    "AT", "CA", "AU", "BR", "IN",
)  # fmt: skip
JOB_TITLES = (
    "Brand protection manager", "IP counsel", "Online enforcement analyst", "Investigator",
    "Legal assistant", "Head of brand protection", "Customs liaison", "Marketplace specialist",
    "Product authentication expert", "Paralegal", "Supply chain security lead",
)  # fmt: skip
STAFF_TITLES = ("Programme manager", "Working group coordinator", "Enforcement liaison")
ZONES = (
    "Europe/Brussels", "Europe/Paris", "Europe/London", "Europe/Berlin", "Europe/Rome",
    "Asia/Shanghai", "Asia/Singapore", "Asia/Tokyo", "Asia/Dubai", "America/New_York",
)  # fmt: skip
MARKETPLACES_WEIGHTED = (
    ("AliExpress", 16), ("Amazon", 12), ("eBay", 9), ("Taobao", 8), ("Temu", 10),
    ("Shopee", 7), ("DHgate", 6), ("Instagram", 8), ("Telegram", 4), ("Own website", 8),
    ("TikTok Shop", 5), ("Facebook Marketplace", 4), ("Mercado Libre", 3), ("Lazada", 2),
)  # fmt: skip
# Relative size of each working group's board, in hub.demo.WORKING_GROUPS order.
GROUP_WEIGHTS = (14, 12, 10, 8, 10, 12, 6, 7, 6, 5, 5, 5)

TITLES = {
    "counterfeit": "{shop}: counterfeit {product} on {marketplace}",
    "lookalike": "{shop}: lookalike {product} on {marketplace}",
    "unauthorised_reseller": "{shop}: unauthorised resale of {product} on {marketplace}",
    "grey_market": "{shop}: grey-market {product} on {marketplace}",
}

REPORT_BODIES = (
    "{shop} offers **{product}** carrying {brand} marks at about {pct}% of the retail price "
    "on {marketplace}.\n\n- Listing photos are copied from our catalogue\n"
    "- Packaging differs from the genuine article (font, batch code)\n"
    "- The seller ships from {city}\n",
    "Test purchase of {product} from {shop} on {marketplace} confirmed a counterfeit.\n\n"
    "1. Ordered on the listing below\n2. Parcel shipped from {city}\n"
    "3. Item examined by our lab: *not genuine*\n\nPrice paid: {price} EUR.\n",
    "Seller {shop} runs several storefronts on {marketplace} with the same photos and phone "
    "number.\n\n> Stock available in all sizes, factory direct from {city}\n\n"
    "We counted {count} listings of {product} naming {brand}.\n",
    "## Summary\n\n{shop} advertises {product} as *original {brand}* on {marketplace}.\n\n"
    "## Indicators\n\nSee the indicators below; payments go to an account seen in other "
    "reports.\n",
    "Customs in {city} seized a parcel of {product} linked to {shop}. The consignee matches "
    "the address below.\n",
    "Relisted by {shop} on {marketplace} after last week's takedown: {count} new listings of "
    "{product}.\n",
)
COMMENTS = (
    "Seen it too: {shop} also sells {product} to our customers.",
    "We filed a notice with {marketplace}; the listing was down within 48 hours.",
    "Same phone number as in our report from last month.",
    "**Disputed** for our part: {shop} is an authorised reseller of {brand} in {city}.",
    "Our lab confirms the batch codes are fake.",
    "Any update on the takedown?",
    "+1, we get the same listings in {city}.",
    "Relisted under a new store name, same photos. Watch {marketplace}.",
    "We bought one for the test-buy programme:\n\n- label misprinted\n- no hologram\n\n"
    "Evidence attached to our own report.",
    "Thanks, added to our watch list for {product}.",
    "The payment account also appears in a case in {city}; happy to share details offline.",
    "> ships from {city}\n\nConfirmed by the tracking number we have.",
)
SIGHTING_NOTES = ("", "", "", "Same listings on our side.", "Not ours, but same seller.")
HIDDEN_REASONS = (
    "Duplicate of an older report on this board.",
    "Names a private person; please repost without the personal details.",
    "Off-topic for this working group.",
)
EVIDENCE_KINDS = (
    ("listing-{id}.png", "image/png", True),
    ("test-buy-{id}.jpg", "image/jpeg", True),
    ("screenshot-{id}.png", "image/png", True),
    ("invoice-{id}.pdf", "application/pdf", False),
    ("label-{id}.jpg", "image/jpeg", True),
)

EVENT_TITLES = {
    "workshop": ("Customs workshop: {topic}", "Law-enforcement workshop: {topic}"),
    "training": ("Investigator training: {topic}", "Authentication training: {topic}"),
    "webinar": ("Webinar: {topic}", "Briefing: {topic}"),
    "conference": ("Anti-Counterfeiting Conference {year}", "Regional enforcement forum {year}"),
    "meeting": ("{group} group meeting: priorities", "{group} group meeting: case review"),
}
EVENT_TOPICS = (
    "spotting fake {product}",
    "{product} on social commerce",
    "test buys of {product}",
    "takedown playbook for {product}",
    "evidence that prosecutors need",
)
EVENT_DESCRIPTIONS = (
    "Hands-on session: labels, materials and shipping patterns of fake {product}.",
    "What the labs found in the last quarter's test buys of **{product}**, and how to brief "
    "the platforms.",
    "Round table on cross-border parcels and the next test-buy campaign.\n\n- Case review\n"
    "- Priorities for the quarter\n",
    "For brand investigators only; the organiser may approve each place.",
)
CAMPAIGN_TITLES = (
    "{product} on {channel}",
    "Sweep of {product} sellers",
    "{product}: repeat offenders on {channel}",
    "Seasonal sweep: {product}",
)
CAMPAIGN_GOALS = (
    "Buy from the shops reported on the board to confirm which sell fakes and to give the "
    "marketplaces evidence for takedowns.",
    "Safety-critical fakes: test the items and hand unsafe ones to market surveillance.",
    "A broad sweep of the sellers reported since the last campaign.",
)
REGIONS = ("EU", "EU and UK", "Worldwide", "Mainland China", "North America", "Latin America")
CURRENCIES = ("EUR", "EUR", "EUR", "USD", "GBP", "CNY")
VENUES = (
    "Riverside Convention Centre, Hall B",
    "Customs Training Centre, Room 2",
    "Atelier des Métiers, Salle 3",
    "Technikzentrum, Halle 4",
    "Harbour Hotel, Conference Room 1",
)

# The ranges reserved for drama and fiction: UK numbers (Ofcom), each of 1,000 numbers,
# written as national digits without the last three.
UK_FICTION = (
    "113 496 0", "114 496 0", "115 496 0", "116 496 0", "117 496 0", "118 496 0",
    "121 496 0", "131 496 0", "141 496 0", "151 496 0", "161 496 0", "191 498 0",
    "20 7946 0", "29 2018 0", "28 9649 6", "1632 960", "7700 900", "808 157 0",
    "909 879 0", "306 999 0",
)  # fmt: skip


def synthetic_word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(syllables)).capitalize()


def shop_name(network: int) -> str:
    """One counterfeit operation's shop name; different for every network."""
    words = SHOP_WORDS
    n = len(words)
    return f"{words[network % n]}{words[(network // n) % n]}{network // (n * n) + 10}"


@functools.cache
def phone_pool() -> list[tuple[str, tuple[str, ...]]]:
    """Fictional phone numbers: (E.164, ways people write it), in a fixed shuffled order."""
    pool: list[tuple[str, tuple[str, ...]]] = []
    for prefix in UK_FICTION:
        parts = prefix.split()
        for last in range(1000):
            tail = f"{last:03d}"
            groups = [*parts[:-1], parts[-1] + tail]
            digits = "".join(groups)
            pool.append(
                (
                    f"+44{digits}",
                    (f"+44 {' '.join(groups)}", f"+44{digits}", f"+44-{'-'.join(groups)}"),
                )
            )
    for npa in range(201, 990):
        if npa // 10 % 10 == 9 or npa % 100 == 11:
            continue
        for line in range(100, 200):
            number = f"{npa}5550{line}"
            pool.append(
                (
                    f"+1{number}",
                    (f"+1 {npa} 555 0{line}", f"+1 ({npa}) 555-0{line}", f"+1{number}"),
                )
            )
    random.Random(7).shuffle(pool)
    return pool


@dataclass(frozen=True)
class Markdown:
    """A Markdown template and its HTML (hub.intel.markdown.to_safe_html) rendered once;
    the values put in are plain words and numbers, which Markdown leaves as they are."""

    md: str
    html: str

    @classmethod
    def of(cls, template: str) -> "Markdown":
        names = sorted({part.split("}")[0] for part in template.split("{")[1:]})
        tokens = {name: f"zqz{name}zqz" for name in names}
        html = to_safe_html(template.format(**tokens))
        for name, token in tokens.items():
            html = html.replace(token, "{" + name + "}")
        return cls(template, html)


def indicator_value(
    kind: str, network: int, shop: str, report_id: int, shared: bool, variant: int
) -> tuple[str, str]:
    """(as typed, normalised) of one indicator of a network: the normalised form is built
    to be exactly what hub.intel.indicators.normalise makes of the typed one (checked on
    a sample by the generator), and the typed form varies as different people write it."""
    v = variant
    market = network % 8 + 1
    if kind == "shop_name":
        typed = (shop, shop.upper(), shop.lower())[v % 3]
        return typed, shop.casefold()
    if kind == "seller_id":
        number = f"{network:07d}"
        typed = (f"seller-{number}", f"Seller {number}", f"SELLER-{number}")[v % 3]
        return typed, f"seller {number}"
    if kind == "store_url":
        norm = f"https://market-{market}.example/store/{network}"
        typed = (
            norm,
            f"https://www.market-{market}.example/store/{network}/",
            f"market-{market}.example/store/{network}?utm_source=share",
            f"http://MARKET-{market}.example/store/{network}?spm=a2g0o.store",
        )[v % 4]
        return typed, norm
    if kind == "listing_url":
        # A network's few listings are named by several brands; most listings once.
        item = 10_000_000 + network * 4 + v % 4 if shared and v % 5 < 3 else 900_000_000 + report_id
        norm = f"https://market-{market}.example/item/{item}.html"
        typed = (
            norm,
            f"{norm}?utm_source=share&utm_medium=copy",
            f"https://www.market-{market}.example/item/{item}.html",
            f"{norm}?gclid=bench{item}",
        )[v % 4]
        return typed, norm
    if kind == "email":
        norm = f"{shop.casefold()}.sales@mail-{network}.example"
        typed = (
            norm,
            f"{shop}.Sales@mail-{network}.example",
            f"{shop.upper()}.SALES@MAIL-{network}.EXAMPLE",
        )[v % 3]
        return typed, norm
    if kind == "handle":
        typed = (f"@{shop}_official", f"{shop.lower()}_official", f"@{shop.upper()}_OFFICIAL")[
            v % 3
        ]
        return typed, f"{shop.casefold()}_official"
    if kind == "domain":
        norm = f"{shop.casefold()}-outlet.example"
        typed = (
            norm,
            f"www.{shop}-outlet.example",
            f"https://{shop}-outlet.example/",
            f"{shop.upper()}-OUTLET.EXAMPLE",
        )[v % 4]
        return typed, norm
    if kind == "payment_account":
        if network % 3 == 0:
            number = f"{network:08d}"
            return (f"wallet {number}", f"wallet-{number}", f"wallet{number}")[v % 3], (
                f"wallet{number}"
            )
        digits = f"{10 + network % 89}{network:016d}"
        norm = f"XX{digits}"
        grouped = " ".join(norm[i : i + 4] for i in range(0, len(norm), 4))
        return (grouped, norm.lower(), grouped.replace(" ", "-"))[v % 3], norm
    if kind == "address":
        house = 1 + network % 300
        city = CITIES[network % len(CITIES)]
        typed = (
            f"No. {house} Industrial Road, {city}",
            f"NO. {house} INDUSTRIAL ROAD, {city.upper()}",
            f"no.{house} industrial road ,  {city}",
        )[v % 3]
        return typed, f"no {house} industrial road {city.casefold()}"
    if kind == "tracking_number":
        # A parcel now and then is named by several brands; most once.
        if shared and v % 5 == 0:
            courier, digits = COURIERS[network % len(COURIERS)], f"1{network % 10**8:08d}"
        else:
            courier, digits = COURIERS[report_id % len(COURIERS)], f"9{report_id % 10**8:08d}"
        norm = f"{courier}{digits}XX"
        typed = (norm, f"{courier} {digits[:3]} {digits[3:6]} {digits[6:]} XX", norm.lower())[v % 3]
        return typed, norm
    raise ValueError(f"no values for indicator kind {kind}")
