"""hub.intel.indicators.normalise: every kind of indicator, as brands happen to write it."""

import pytest

from hub.errors import Invalid
from hub.intel.indicators import normalise
from hub.intel.models import IndicatorKind


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://www.aliexpress.com/item/1005006123456789.html?spm=a2g0o.home&algo_pvid=ab",
            "aliexpress:item:1005006123456789",
        ),
        (
            "https://de.aliexpress.com/item/1005006123456789.html#reviews",
            "aliexpress:item:1005006123456789",
        ),
        ("https://m.aliexpress.us/item/1005006123456789.html", "aliexpress:item:1005006123456789"),
        ("aliexpress.com/item/1005006123456789.html", "aliexpress:item:1005006123456789"),
        ("https://www.aliexpress.com/store/1101234567?spm=x", "aliexpress:store:1101234567"),
        (
            "https://www.amazon.de/Fake-Trainers/dp/B08N5WRWNW/ref=sr_1_1?keywords=x&tag=aff-21",
            "amazon:asin:b08n5wrwnw",
        ),
        ("https://amazon.co.uk/gp/product/B08N5WRWNW?psc=1", "amazon:asin:b08n5wrwnw"),
        ("https://www.amazon.com.br/dp/B08N5WRWNW", "amazon:asin:b08n5wrwnw"),
        ("https://www.ebay.com/itm/Fake-Bag/123456789012?hash=item1", "ebay:item:123456789012"),
        ("https://www.ebay.co.uk/itm/123456789012", "ebay:item:123456789012"),
        (
            "https://www.etsy.com/listing/1234567890/fake-handbag?ref=shop_home",
            "etsy:listing:1234567890",
        ),
        ("https://www.etsy.com/de/listing/1234567890/fake-handbag", "etsy:listing:1234567890"),
        (
            "https://www.temu.com/fake-bag-g-601099512345678.html?_x_sessn_id=abc",
            "temu:item:601099512345678",
        ),
        ("https://shopee.sg/Fake-Bag-i.123456.7890123?sp_atk=x", "shopee:item:123456.7890123"),
        ("https://shopee.co.id/Fake-Bag-i.123456.7890123", "shopee:item:123456.7890123"),
        ("https://www.dhgate.com/product/fake-bag/123456789.html?f=bm", "dhgate:item:123456789"),
        ("https://item.taobao.com/item.htm?spm=a1z10&id=612345678901", "taobao:item:612345678901"),
        ("https://detail.tmall.com/item.htm?id=612345678901&skuId=1", "taobao:item:612345678901"),
        ("https://shop123456.taobao.com/?spm=x", "taobao:shop:123456"),
        (
            "https://articulo.mercadolibre.com.mx/MLM-123456789-fake",
            "mercadolibre:item:mlm-123456789",
        ),
    ],
)
def test_marketplace_urls_become_their_item_or_shop_id(url: str, expected: str) -> None:
    """A known marketplace URL shape is reduced to the marketplace's own item or shop id."""
    assert normalise(IndicatorKind.listing_url, url) == expected
    assert normalise(IndicatorKind.store_url, url) == expected


def test_two_aliexpress_variants_of_one_listing_match() -> None:
    """Two ways of writing the same AliExpress listing normalise to the same value."""
    shared = "https://www.aliexpress.com/item/1005001234567890.html?spm=a2g0o.detail&gatewayAdapt=glo2deu"
    mobile = "http://M.AliExpress.us/item/1005001234567890.html#nav-review"
    assert normalise("listing_url", shared) == normalise("listing_url", mobile)


@pytest.mark.parametrize(
    "url",
    [
        "https://myaliexpress.com/item/1005006123456789.html",
        "https://aliexpress.com.evil.example/item/1005006123456789.html",
        "https://evil.example/aliexpress.com/item/1005006123456789.html",
        "https://amazon.shop.example/dp/B08N5WRWNW",
        "https://fake-ebay.com/itm/123456789012",
    ],
)
def test_lookalike_hosts_are_not_taken_for_the_marketplace(url: str) -> None:
    """A site merely named like a marketplace keeps its own URL, not the marketplace's id."""
    assert not normalise("listing_url", url).startswith(("aliexpress:", "amazon:", "ebay:"))
    assert normalise("listing_url", url).startswith("https://")


def test_url_loses_tracking_parameters_fragment_and_case_of_host() -> None:
    """Tracking parameters and the fragment go, the host is lowercased, the path kept."""
    url = "HTTP://www.Fake-Shop.COM/p/Item-1/?utm_source=fb&color=red&fbclid=x&gclid=y#top"
    assert normalise("listing_url", url) == "https://fake-shop.com/p/Item-1?color=red"


def test_url_keeps_meaningful_parameters_in_a_stable_order() -> None:
    """Parameters that identify the thing are kept, sorted, whatever order they came in."""
    first = normalise("store_url", "https://shop.example/s?b=2&a=1&ref=home")
    second = normalise("store_url", "https://shop.example/s?a=1&b=2&utm_medium=email")
    assert first == second == "https://shop.example/s?a=1&b=2"


def test_url_with_international_host_becomes_idna() -> None:
    """An internationalised host is written in its ASCII (IDNA) form."""
    assert normalise("listing_url", "http://Bücher.example/Shop") == (
        "https://xn--bcher-kva.example/Shop"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ftp://files.example/a", "is not a web address"),
        ("javascript:alert(1)", "is not a valid host name"),
        ("not a url", "is not a valid host name"),
        ("https://localhost/item", "is not a valid host name"),
    ],
)
def test_url_refusals_say_why(value: str, message: str) -> None:
    """Something that is not a web address is refused with a plain message."""
    with pytest.raises(Invalid) as refused:
        normalise("listing_url", value)
    assert message in refused.value.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+86 138 0013 8000", "+8613800138000"),
        ("+86-138-0013-8000", "+8613800138000"),
        ("tel:+86 138 0013 8000", "+8613800138000"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+1 (415) 555-0123", "+14155550123"),
    ],
)
def test_phones_become_e164(value: str, expected: str) -> None:
    """Phone numbers written with their country code become E.164."""
    assert normalise("phone", value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("138 0013 8000", "write it with its country code"),
        ("call me maybe", "is not a phone number we can read"),
        ("+86 1", "is not a phone number we can read"),
        ("+86 12", "has the wrong number of digits"),
        ("+44 1234", "has the wrong number of digits"),
        ("+33 1234567890123", "has the wrong number of digits"),
    ],
)
def test_unreadable_phones_are_refused_with_a_message(value: str, message: str) -> None:
    """A phone without a country code, or with too few digits, is refused, saying why."""
    with pytest.raises(Invalid) as refused:
        normalise("phone", value)
    assert message in refused.value.message
    assert value in refused.value.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Fake.Seller@Example.COM", "fake.seller@example.com"),
        ("  seller@EXAMPLE.com ", "seller@example.com"),
        ("Seller@Bücher.DE", "seller@xn--bcher-kva.de"),
        ("x@xn--bcher-kva.de", "x@xn--bcher-kva.de"),
    ],
)
def test_emails_are_lowercased_with_idna_domain(value: str, expected: str) -> None:
    """E-mail addresses are lowercased and their domain written in IDNA."""
    assert normalise("email", value) == expected


@pytest.mark.parametrize("value", ["no-at-sign", "@example.com", "seller@localhost"])
def test_bad_emails_are_refused(value: str) -> None:
    """Something that is not an e-mail address is refused, naming it."""
    with pytest.raises(Invalid) as refused:
        normalise("email", value)
    assert refused.value.message == f"'{value}' is not an e-mail address."


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Fake-Shop.COM", "fake-shop.com"),
        ("www.fake-shop.com", "fake-shop.com"),
        ("https://www.Fake-Shop.com/path?x=1", "fake-shop.com"),
        ("fake-shop.com:8080/catalogue", "fake-shop.com"),
        ("fake-shop.com.", "fake-shop.com"),
        ("Bücher.example", "xn--bcher-kva.example"),
    ],
)
def test_domains_are_bare_lowercase_idna_hosts(value: str, expected: str) -> None:
    """A domain loses scheme, path, port, "www." and case, and is written in IDNA."""
    assert normalise("domain", value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("localhost", "is not a domain name"),
        ("fake shop.com", "is not a valid host name"),
    ],
)
def test_bad_domains_are_refused(value: str, message: str) -> None:
    """A value that cannot be a domain name is refused with a message."""
    with pytest.raises(Invalid) as refused:
        normalise("domain", value)
    assert message in refused.value.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
        ("de89 3704 0044 0532 0130 00", "DE89370400440532013000"),
        ("GB29-NWBK-6016-1331-9268-19", "GB29NWBK60161331926819"),
        (
            "0x52908400098527886E0F7030069857D2E4169EE7",
            "0x52908400098527886E0F7030069857D2E4169EE7",
        ),
        ("alipay 138 0013 8000", "alipay13800138000"),
    ],
)
def test_payment_accounts_are_compacted(value: str, expected: str) -> None:
    """IBANs lose spaces and dashes and are uppercased; other accounts are compacted only
    (wallet addresses can be case-sensitive)."""
    assert normalise("payment_account", value) == expected


def test_tracking_numbers_are_compact_and_uppercase() -> None:
    """A courier tracking number loses spaces and dashes and is uppercased."""
    assert normalise("tracking_number", "1z 999-aa1 01 2345 6784") == "1Z999AA10123456784"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("@FakeSeller", "fakeseller"), ("FAKESELLER", "fakeseller"), ("@Straße_88", "strasse_88")],
)
def test_handles_lose_the_at_sign_and_case(value: str, expected: str) -> None:
    """A messaging handle is compared without its @ and case-insensitively."""
    assert normalise("handle", value) == expected


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("seller_id", "  Luxe.Outlet-88!! ", "luxe outlet 88"),
        ("shop_name", "LUXE   Outlet 88", "luxe outlet 88"),
        ("shop_name", "奢侈品 折扣店", "奢侈品 折扣店"),
        ("address", "12, Rue de la Paix;  PARIS", "12 rue de la paix paris"),
    ],
)
def test_names_and_addresses_compare_by_their_words(kind: str, value: str, expected: str) -> None:
    """Seller ids, shop names and addresses compare by their words: no case, punctuation
    or extra spaces."""
    assert normalise(kind, value) == expected


def test_a_name_of_symbols_only_keeps_its_symbols() -> None:
    """A shop name of symbols only does not normalise to nothing (which would match every
    other such name)."""
    assert normalise("shop_name", "★★★") == "★★★"
    assert normalise("shop_name", "★★★") != normalise("shop_name", "♦♦♦")


@pytest.mark.parametrize("kind", list(IndicatorKind))
def test_an_empty_value_is_refused_for_every_kind(kind: IndicatorKind) -> None:
    """A blank indicator of any kind is refused with a message."""
    with pytest.raises(Invalid) as refused:
        normalise(kind, "   ")
    assert refused.value.message == "Enter a value for the indicator."


def test_an_unknown_kind_is_refused() -> None:
    """An indicator kind the hub does not know is refused, naming it."""
    with pytest.raises(Invalid) as refused:
        normalise("carrier_pigeon", "Pidge")
    assert refused.value.message == "Unknown kind of indicator: carrier_pigeon."
