"""Normalising indicator values so the same seller, phone or account matches across
reports however each brand happened to write it down."""

import re
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

import phonenumbers

from hub.errors import Invalid
from hub.i18n import gettext as _
from hub.intel.models import IndicatorKind

# Query parameters that only track the visitor; they never identify the thing itself.
TRACKING_PARAMS = re.compile(
    r"^(utm_.*|fbclid|gclid|dclid|msclkid|yclid|spm|scm|pvid|algo_.*|_trk.*|ref|ref_.*|"
    r"srsltid|mc_.*|igshid|share_.*|sk|tag|psc|_branch_.*|aff_.*|gatewayadapt|"
    r"pdp_npi|trace|from)$",
    re.IGNORECASE,
)

# A marketplace's country domains: .com, .de, .co.uk, .com.br and the like.
_TLD = r"(?:com|co|[a-z]{2})(?:\.[a-z]{2})?"


def _on(host: str, rest: str = "") -> re.Pattern[str]:
    """A URL shape on the marketplace's own host (or a subdomain of it), so a lookalike
    such as myaliexpress.com or amazon.shop.example is not taken for the marketplace."""
    return re.compile(rf"^https://(?:[a-z0-9-]+\.)*{host}(?=[/?]|$){rest}")


# Marketplace URL shapes whose item or shop id identifies a listing better than the URL.
MARKETPLACE_IDS: list[tuple[re.Pattern[str], str]] = [
    (_on(rf"aliexpress\.{_TLD}", r"/item/(?:[^/]*?)(\d{6,})\.html"), "aliexpress:item:{0}"),
    (_on(rf"aliexpress\.{_TLD}", r"/store/(\d+)"), "aliexpress:store:{0}"),
    (
        _on(rf"amazon\.{_TLD}", r"/(?:.*/)?(?:dp|gp/product)/([a-z0-9]{10})"),
        "amazon:asin:{0}",
    ),
    (_on(rf"ebay\.{_TLD}", r"/itm/(?:[^/?]*/)?(\d{9,})"), "ebay:item:{0}"),
    (_on(r"etsy\.com", r"/(?:[a-z-]+/)?listing/(\d+)"), "etsy:listing:{0}"),
    (_on(r"temu\.com", r"/.*-g-(\d+)\.html"), "temu:item:{0}"),
    (_on(rf"shopee\.{_TLD}", r"/.*-i\.(\d+)\.(\d+)"), "shopee:item:{0}.{1}"),
    (_on(r"dhgate\.com", r"/product/.*?/(\d+)\.html"), "dhgate:item:{0}"),
    (
        _on(r"(?:item\.taobao|detail\.tmall)\.com", r"/item\.htm\?(?:.*&)?id=(\d+)"),
        "taobao:item:{0}",
    ),
    (_on(r"shop(\d+)\.taobao\.com"), "taobao:shop:{0}"),
    (_on(rf"mercadolibre\.{_TLD}", r"/(ml[a-z]-?\d+)"), "mercadolibre:item:{0}"),
]

IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")


def normalise(kind: str, value: str) -> str:
    """The comparable form of an indicator; raises Invalid with a plain message."""
    value = value.strip()
    if not value:
        raise Invalid(_("Enter a value for the indicator."))
    match kind:
        case IndicatorKind.listing_url | IndicatorKind.store_url:
            return _url(value)
        case IndicatorKind.phone:
            return _phone(value)
        case IndicatorKind.email:
            return _email(value)
        case IndicatorKind.domain:
            return _domain(value)
        case IndicatorKind.payment_account:
            return _payment_account(value)
        case IndicatorKind.tracking_number:
            return re.sub(r"[\s-]", "", value).upper()
        case IndicatorKind.handle:
            return value.lstrip("@").casefold()
        case IndicatorKind.seller_id | IndicatorKind.shop_name | IndicatorKind.address:
            return _words(value)
    raise Invalid(_("Unknown kind of indicator: %(kind)s.", kind=kind))


def _words(value: str) -> str:
    words = " ".join(re.sub(r"[^\w\s]", " ", value.casefold()).split())
    # A value of symbols only ("★★★") keeps its symbols rather than becoming "", which
    # would match every other such value.
    return words or " ".join(value.casefold().split())


def _host(host: str) -> str:
    host = host.strip().rstrip(".").lower()
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise Invalid(_("'%(host)s' is not a valid host name.", host=host)) from error
    if "." not in host or not re.fullmatch(r"[a-z0-9.-]+", host):
        raise Invalid(_("'%(host)s' is not a valid host name.", host=host))
    return host.removeprefix("www.").removeprefix("m.")


def _split(value: str) -> SplitResult:
    try:
        return urlsplit(value)
    except ValueError as error:  # such as an unclosed "[" (an IPv6 address)
        raise Invalid(_("'%(value)s' is not a web address.", value=value)) from error


def _url(value: str) -> str:
    if "://" not in value:
        value = "https://" + value
    parts = _split(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise Invalid(_("'%(value)s' is not a web address.", value=value))
    host = _host(parts.hostname)
    query = sorted(
        (key, val)
        for key, val in parse_qsl(parts.query, keep_blank_values=False)
        if not TRACKING_PARAMS.match(key)
    )
    path = parts.path.rstrip("/") or ""
    cleaned = urlunsplit(("https", host, path, urlencode(query), ""))
    lowered = cleaned.lower()
    for pattern, template in MARKETPLACE_IDS:
        found = pattern.search(lowered)
        if found:
            return template.format(*found.groups())
    return cleaned


def _phone(value: str) -> str:
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as error:
        raise Invalid(
            _(
                "'%(value)s' is not a phone number we can read: write it with its country "
                "code, like +86 138 0013 8000.",
                value=value,
            )
        ) from error
    # A number possible only locally (no area code, e.g. +44 1234) identifies nobody.
    if (
        phonenumbers.is_possible_number_with_reason(number)
        != phonenumbers.ValidationResult.IS_POSSIBLE
    ):
        raise Invalid(
            _("'%(value)s' has the wrong number of digits for a phone number.", value=value)
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain:
        raise Invalid(_("'%(value)s' is not an e-mail address.", value=value))
    return f"{local.casefold()}@{_host(domain)}"


def _domain(value: str) -> str:
    if "://" in value:
        value = _split(value).hostname or ""
    value = value.split("/")[0].split(":")[0]
    if "." not in value:
        raise Invalid(_("'%(value)s' is not a domain name.", value=value))
    return _host(value)


def _payment_account(value: str) -> str:
    compact = re.sub(r"[\s-]", "", value)
    if IBAN.match(compact.upper()):
        return compact.upper()
    return compact
