"""Reading a monitoring tool's file into report forms: CSV (with a header row) or a STIX
2.1 bundle. Each entry either becomes a form or is rejected with where it is and why;
checking the forms against the hub's rules is hub.intel.imports' part.

CSV columns (case and spaces do not matter): title, description, category, marketplace,
brands_affected, products_affected, infringement, confidence, reliability, tlp, and one
column per indicator kind (listing_url, store_url, seller_id, shop_name, phone, email,
handle, domain, payment_account, address, tracking_number; several values separated by
"|"), or the hub's own export column "indicators" ("Listing URL: ...; Phone: ...").
"""

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from hub import i18n
from hub.i18n import gettext as _
from hub.intel.exports import TLP_MARKING_IDS
from hub.intel.models import (
    CATEGORY_LABELS,
    CONFIDENCE_LABELS,
    INDICATOR_LABELS,
    INFRINGEMENT_LABELS,
    Category,
    Confidence,
    IndicatorKind,
    Infringement,
    Reliability,
    Tlp,
)
from hub.intel.service import ReportForm

MAX_ENTRIES = 20_000


class Unreadable(Exception):
    """The file as a whole cannot be read; nothing in it is imported."""


@dataclass(frozen=True)
class Entry:
    where: str  # "line 12", or "report--…" in a bundle
    form: ReportForm | None
    reason: str = ""  # why it was rejected while reading, when form is None


def _key(text: str) -> str:
    return re.sub(r"[\s-]+", "_", text.strip().lower())


def _by_label(labels: Mapping[str, object]) -> dict[str, str]:
    """Labels as keys, in English (as the hub's own exports write them) and in the
    language of whoever imports."""
    found = {_key(str(label)): key for key, label in labels.items()}
    with i18n.presenting(i18n.SOURCE_LANGUAGE):
        found |= {_key(str(label)): key for key, label in labels.items()}
    return found


def _choice(value: str, values: type, labels: Mapping[str, object], default: str) -> str:
    """A value given as the hub writes it or as its label; kept as typed when neither,
    so the form check names it."""
    value = value.strip()
    if not value:
        return default
    by_name = {_key(member.value): member.value for member in values}  # type: ignore[attr-defined]
    by_name |= _by_label(labels)
    return str(by_name.get(_key(value), value))


def _tlp(value: str, default: str) -> str:
    key = _key(value).removeprefix("tlp:").replace("+", "_")
    if not key:
        return default
    return {member.value: member.value for member in Tlp}.get(key, value.strip())


KIND_NAMES = {_key(kind.value): kind.value for kind in IndicatorKind}


def _export_indicators(cell: str) -> list[tuple[str, str]]:
    """The hub's own export column: "Listing URL: ...; Phone: ..."."""
    names = KIND_NAMES | _by_label(INDICATOR_LABELS)
    found = []
    for part in cell.replace("；", ";").split(";"):
        label, colon, value = part.replace("：", ":").partition(":")
        if colon and value.strip():
            found.append((names.get(_key(label), label.strip()), value.strip()))
    return found


def read_csv(data: bytes, default_tlp: str) -> Iterator[Entry]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise Unreadable(_("Save the file as CSV in UTF-8 (Excel: “CSV UTF-8”).")) from error
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [_key(name) for name in next(reader)]
    except StopIteration:
        raise Unreadable(_("The file is empty.")) from None
    except csv.Error as error:
        raise Unreadable(_("The first line is not CSV: %(error)s.", error=error)) from error
    kinds = [name for name in header if name in {kind.value for kind in IndicatorKind}]
    if not kinds and "indicators" not in header:
        raise Unreadable(
            _(
                "The first line must name the columns, with at least one indicator column "
                "(e.g. listing_url, seller_id, phone) or the hub's own “indicators” column."
            )
        )
    start = reader.line_num + 1
    count = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield Entry(
                _line(start), None, _("This line is not valid CSV: %(error)s.", error=error)
            )
            start = reader.line_num + 1
            continue
        where, start = _line(start), reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        count += 1
        if count > MAX_ENTRIES:
            raise Unreadable(
                _(
                    "A file can hold at most %(most)s rows; split it.",
                    most=i18n.number(MAX_ENTRIES),
                )
            )
        row = dict(zip(header, cells, strict=False))
        if len(cells) > len(header):
            yield Entry(where, None, _("This line has more cells than the first line names."))
            continue
        indicators = [
            (kind, value.strip())
            for kind in kinds
            for value in re.split(r"[|\n]", row.get(kind, ""))
            if value.strip()
        ] + _export_indicators(row.get("indicators", ""))
        yield Entry(where, _form(row, indicators, default_tlp))


def _line(number: int) -> str:
    """Where an entry of a CSV file is, for the list of entries left out."""
    return _("line %(number)s", number=number)


def _form(row: dict[str, str], indicators: list[tuple[str, str]], default_tlp: str) -> ReportForm:
    title = row.get("title", "").strip()
    if not title and indicators:
        kind, value = indicators[0]
        place = row.get("marketplace", "").strip() or str(INDICATOR_LABELS.get(kind, kind))
        title = f"{place}: {value}"[:200]
    return ReportForm(
        title=title,
        body_md=row.get("description", row.get("body_md", "")),
        category=_choice(
            row.get("category", ""), Category, CATEGORY_LABELS, Category.online_listing
        ),
        marketplace=row.get("marketplace", ""),
        brands_affected=row.get("brands_affected", ""),
        products_affected=row.get("products_affected", ""),
        infringement=_choice(
            row.get("infringement", ""), Infringement, INFRINGEMENT_LABELS, Infringement.counterfeit
        ),
        confidence=_choice(
            row.get("confidence", ""), Confidence, CONFIDENCE_LABELS, Confidence.probable
        ),
        reliability=row.get("reliability", "").strip().upper() or Reliability.b,
        tlp=_tlp(row.get("tlp", ""), default_tlp),
        indicators=indicators,
    )


# STIX 2.1 -------------------------------------------------------------------------

TLP_OF_MARKING = {marking: tlp.value for tlp, marking in TLP_MARKING_IDS.items()}
PATTERN = re.compile(
    r"(url|domain-name|email-addr|user-account):"
    r"(value|account_login)\s*=\s*'((?:[^'\\]|\\.)*)'"
)
PATTERN_KINDS = {
    "url": IndicatorKind.listing_url,
    "domain-name": IndicatorKind.domain,
    "email-addr": IndicatorKind.email,
    "user-account": IndicatorKind.seller_id,
}


def _observed(thing: dict[str, Any]) -> tuple[str, str] | None:
    kind = thing.get("type")
    if kind == "url":
        return IndicatorKind.listing_url, str(thing.get("value", ""))
    if kind == "domain-name":
        return IndicatorKind.domain, str(thing.get("value", ""))
    if kind == "email-addr":
        return IndicatorKind.email, str(thing.get("value", ""))
    if kind == "user-account":
        account = str(thing.get("account_type", ""))
        chosen = account if account in (IndicatorKind.seller_id, IndicatorKind.handle) else None
        return chosen or IndicatorKind.seller_id, str(thing.get("account_login", ""))
    if kind == "x-alliance-indicator":
        return str(thing.get("kind", "")), str(thing.get("value", ""))
    return None


def _marked_tlp(thing: dict[str, Any], default_tlp: str) -> str:
    for marking in thing.get("object_marking_refs") or []:
        if marking in TLP_OF_MARKING:
            return TLP_OF_MARKING[marking]
    return default_tlp


def read_stix(data: bytes, default_tlp: str) -> Iterator[Entry]:
    try:
        bundle = json.loads(data)
    except (UnicodeDecodeError, ValueError) as error:
        raise Unreadable(_("This is not a JSON file: %(error)s.", error=error)) from error
    if not isinstance(bundle, dict) or bundle.get("type") != "bundle":
        raise Unreadable(_("A STIX file must hold one bundle (“type”: “bundle”)."))
    objects = [thing for thing in bundle.get("objects") or [] if isinstance(thing, dict)]
    by_id = {str(thing.get("id")): thing for thing in objects}
    referenced = {
        ref for thing in objects if thing.get("type") == "report"
        for ref in thing.get("object_refs") or []
    }  # fmt: skip
    entries = [
        thing
        for thing in objects
        if thing.get("type") == "report"
        or (thing.get("type") == "indicator" and thing.get("id") not in referenced)
    ]
    if len(entries) > MAX_ENTRIES:
        raise Unreadable(
            _(
                "A file can hold at most %(most)s reports; split it.",
                most=i18n.number(MAX_ENTRIES),
            )
        )
    for thing in entries:
        where = str(thing.get("id") or thing.get("name") or _("an object without an id"))
        if thing.get("type") == "report":
            indicators = []
            for ref in thing.get("object_refs") or []:
                target = by_id.get(str(ref), {})
                if target.get("type") == "indicator":
                    indicators += _from_pattern(str(target.get("pattern", "")))
                elif found := _observed(target):
                    indicators.append(found)
            labels = [str(label) for label in thing.get("labels") or []]
        else:
            indicators = _from_pattern(str(thing.get("pattern", "")))
            labels = []
        if not indicators:
            yield Entry(where, None, _("It names no indicator the hub can read."))
            continue
        row = {
            "title": str(thing.get("name", "")),
            "description": str(thing.get("description", "")),
            "category": next((label for label in labels if label in set(Category)), ""),
            "infringement": next((label for label in labels if label in set(Infringement)), ""),
        }
        yield Entry(where, _form(row, indicators, _marked_tlp(thing, default_tlp)))


def _from_pattern(pattern: str) -> list[tuple[str, str]]:
    found = []
    for kind, _field, value in PATTERN.findall(pattern):
        text = re.sub(r"\\(.)", r"\1", value)
        found.append((PATTERN_KINDS.get(kind, kind), text))
    return found
