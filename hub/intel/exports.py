"""Taking intelligence out of the hub: CSV for spreadsheets, STIX 2.1 for other tools.
Callers pass only reports the reader may see (board_page/search/get_visible filtered)."""

import csv
import io
import uuid
from collections.abc import Iterable, Sequence

import stix2
from sqlmodel import Session, col, select

from hub import i18n
from hub.intel.models import (
    CATEGORY_LABELS,
    INDICATOR_LABELS,
    STATUS_LABELS,
    TLP_LABELS,
    Indicator,
    IndicatorKind,
    IntelReport,
    Tlp,
)
from hub.members.models import Brand
from hub.policy import Actor, visible_intel

EXPORT_LIMIT = 5000
# TLP 2.0 as STIX 2.1 marking definitions: the ids and extension published with TLP 2.0.
TLP_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP_MARKING_IDS = {
    Tlp.clear: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.green: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.amber: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.amber_strict: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.red: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
HUB_NAMESPACE = uuid.UUID("6f1c1f3a-2b8e-4a0e-9a53-6c1e3a1f0b11")

CSV_COLUMNS = [
    "id", "posted_at", "title", "tlp", "status", "category", "marketplace", "brands_affected",
    "products_affected", "infringement", "confidence", "reliability", "reporting_brand",
    "indicators", "link",
]  # fmt: skip


def visible_reports(session: Session, actor: Actor, ids: Sequence[int]) -> list[IntelReport]:
    """Re-read the reports through the policy: an export never trusts its caller's list."""
    if not ids:
        return []
    return list(
        session.exec(
            select(IntelReport)
            .where(col(IntelReport.id).in_(list(ids)), visible_intel(actor))
            .order_by(col(IntelReport.id).desc())
            .limit(EXPORT_LIMIT)
        )
    )


def _indicators(session: Session, reports: Sequence[IntelReport]) -> dict[int, list[Indicator]]:
    found: dict[int, list[Indicator]] = {report.id or 0: [] for report in reports}
    rows = session.exec(
        select(Indicator)
        .where(col(Indicator.report_id).in_(list(found)))
        .order_by(col(Indicator.id))
    )
    for indicator in rows:
        found[indicator.report_id].append(indicator)
    return found


def _brands(session: Session, reports: Sequence[IntelReport]) -> dict[int, Brand]:
    ids = {report.brand_id for report in reports}
    return {b.id or 0: b for b in session.exec(select(Brand).where(col(Brand.id).in_(ids)))}


def to_csv(session: Session, reports: Sequence[IntelReport], base_url: str) -> str:
    """Columns named as the import reads them, and labels in English whatever the
    reader's language, so a board's export can be imported again by anyone."""
    with i18n.presenting(i18n.SOURCE_LANGUAGE):
        return _csv(session, reports, base_url)


def _csv(session: Session, reports: Sequence[IntelReport], base_url: str) -> str:
    indicators = _indicators(session, reports)
    brands = _brands(session, reports)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for report in reports:
        writer.writerow(
            safe_cell(value)
            for value in [
                report.id,
                report.created_at.isoformat(),
                report.title,
                TLP_LABELS.get(report.tlp, report.tlp),
                STATUS_LABELS.get(report.status, report.status),
                CATEGORY_LABELS.get(report.category, report.category),
                report.marketplace,
                report.brands_affected,
                report.products_affected,
                report.infringement,
                report.confidence,
                report.reliability,
                brands[report.brand_id].name if report.brand_id in brands else "",
                "; ".join(
                    f"{INDICATOR_LABELS.get(i.kind, i.kind)}: {i.value}"
                    for i in indicators.get(report.id or 0, [])
                ),
                f"{base_url}/intel/{report.id}",
            ]
        )
    return out.getvalue()


def safe_cell(value: object) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas: defuse them."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _marking(tlp: str) -> stix2.MarkingDefinition:
    return stix2.MarkingDefinition(
        id=TLP_MARKING_IDS[Tlp(tlp)],
        created="2022-10-01T00:00:00.000Z",
        name=TLP_LABELS[tlp],
        extensions={
            TLP_EXTENSION: {
                "extension_type": "property-extension",
                "tlp_2_0": tlp.replace("_", "+"),
            }
        },
        allow_custom=True,
    )


def _observable(indicator: Indicator, marking: str) -> object:
    kind, value = indicator.kind, indicator.value
    common = {"object_marking_refs": [marking]}
    if kind in (IndicatorKind.listing_url, IndicatorKind.store_url):
        return stix2.URL(value=value, **common)
    if kind == IndicatorKind.domain:
        return stix2.DomainName(value=indicator.normalised, **common)
    if kind == IndicatorKind.email:
        return stix2.EmailAddress(value=indicator.normalised, **common)
    if kind in (IndicatorKind.seller_id, IndicatorKind.handle):
        return stix2.UserAccount(account_login=value, account_type=kind, **common)
    # Phones, shop names, payment accounts, addresses and tracking numbers have no STIX
    # observable type: a custom one, with an id derived from the value like STIX's own.
    identity = uuid.uuid5(HUB_NAMESPACE, f"{kind}:{indicator.normalised}")
    return {
        "type": "x-alliance-indicator",
        "spec_version": "2.1",
        "id": f"x-alliance-indicator--{identity}",
        "kind": kind,
        "value": value,
        "normalised": indicator.normalised,
        **common,
    }


def to_stix(session: Session, reports: Sequence[IntelReport]) -> str:
    indicators = _indicators(session, reports)
    brands = _brands(session, reports)
    objects: dict[str, object] = {}
    identities = {
        brand_id: stix2.Identity(
            id=f"identity--{uuid.uuid5(HUB_NAMESPACE, f'brand:{brand.slug}')}",
            name=brand.name,
            identity_class="organization",
        )
        for brand_id, brand in brands.items()
    }
    for report in reports:
        marking = _marking(report.tlp)
        objects[marking.id] = marking
        identity = identities[report.brand_id]
        objects[identity.id] = identity
        refs: list[str] = []
        for indicator in indicators.get(report.id or 0, []):
            observable = _observable(indicator, marking.id)
            observable_id = observable["id"] if isinstance(observable, dict) else observable.id  # type: ignore[attr-defined]
            objects[observable_id] = observable
            refs.append(observable_id)
        stix_report = stix2.Report(
            id=f"report--{uuid.uuid5(HUB_NAMESPACE, f'report:{report.id}')}",
            name=report.title,
            description=report.body_md or report.title,
            published=report.created_at,
            created=report.created_at,
            modified=report.updated_at,
            report_types=["threat-report"],
            labels=[report.category, report.infringement, report.status],
            created_by_ref=identity.id,
            object_refs=refs or [identity.id],
            object_marking_refs=[marking.id],
            confidence={"confirmed": 95, "probable": 70, "possible": 40, "doubtful": 15}.get(
                report.confidence, 50
            ),
            allow_custom=True,  # object_refs may name the custom observables
        )
        objects[stix_report.id] = stix_report
    bundle = stix2.Bundle(objects=list(objects.values()), allow_custom=True)
    return str(bundle.serialize(pretty=True))


def ids_of(reports: Iterable[IntelReport]) -> list[int]:
    return [report.id for report in reports if report.id is not None]
