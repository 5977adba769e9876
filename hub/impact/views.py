"""What the impact pages show, built once from the figures: the headline tiles and the
charts with their tables. The dashboard, the annual report and the CSV export all read
these, so a number in the CSV is the number on the page, with the same link behind it."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hub import i18n
from hub.groups.models import WorkingGroup
from hub.i18n import gettext as _
from hub.i18n import pgettext
from hub.impact.figures import BREAKDOWNS, FIGURES, SHARES, Impact, Number, trace_url
from hub.impact.models import REFERRAL_STATUS_LABELS
from hub.impact.sources import OTHER_GROUPS
from hub.members.countries import country_name


@dataclass(frozen=True)
class Cell:
    text: str
    href: str = ""
    value: Number | float | None = None  # the raw number, for the CSV


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    cell: Cell
    note: str = ""  # "of 1,204 due"
    definition: str = ""


@dataclass(frozen=True)
class Row:
    label: str
    cells: list[Cell]
    bar: float  # what the bar draws
    bar_text: str


@dataclass
class Chart:
    key: str
    title: str
    shape: str  # bars (horizontal, one per row) or columns (one per period bucket)
    headings: list[str]  # of the table's columns after the row label
    label_heading: str
    rows: list[Row] = field(default_factory=list)
    unit: str = ""
    max_value: float = 0
    note: str = ""

    def drawn(self) -> list[tuple[str, float, str]]:
        return [(row.label, row.bar, row.bar_text) for row in self.rows]

    @property
    def top(self) -> float:
        return self.max_value or max((row.bar for row in self.rows), default=0) or 1


def count_text(value: Number | float) -> str:
    return i18n.number(value, 0)


def percent_text(part: Number, whole: Number) -> str:
    return i18n.percent(float(part) / float(whole), 1) if whole else "—"


def money_text(value: Number, currency: str) -> str:
    return i18n.money(value, currency)


def hours_text(seconds: Number, count: Number) -> str:
    """An average time in hours: '4.5 h', '4.5 小时'."""
    if not count:
        return "—"
    return _("%(hours)s h", hours=i18n.number(float(seconds) / float(count) / 3600, 1))


def breakdown_label(dim: str, value: Any, groups: dict[int, WorkingGroup]) -> str:
    """How a value of a breakdown (a group id, a country code...) reads on a page."""
    if dim == "group":
        group = groups.get(value or 0)
        return group.name if group else "—"
    if dim == "country":
        return country_name(value) if value else _("(not given)")
    if dim == "status":
        return str(REFERRAL_STATUS_LABELS.get(value, value))
    if value == OTHER_GROUPS:
        return _("(in working groups you are not in)")
    return str(value or _("(not given)"))


@dataclass
class Dashboard:
    """The figures of one viewer's dashboard, laid out."""

    impact: Impact
    groups: dict[int, WorkingGroup]
    scope: str = ""  # the group's slug, or "" for the whole alliance

    def link(self, figure: str, bucket: int | None = None, **only: Any) -> str:
        if only.get("marketplace") == OTHER_GROUPS:
            return ""  # their rows are not the viewer's to open, nor to pick out
        return trace_url(figure, self.impact.period, self.scope, bucket, **only)

    def cell(self, figure: str, bucket: int | None = None, **only: Any) -> Cell:
        value = self._value(figure, bucket, only)
        return Cell(count_text(value), self.link(figure, bucket, **only), value)

    def _value(self, figure: str, bucket: int | None, only: dict[str, Any]) -> Number:
        if bucket is not None:
            only = {**only, "bucket": bucket}
        return self.impact.total(figure, **only)

    def share_cell(self, key: str, bucket: int | None = None, **only: Any) -> Cell:
        share = SHARES[key]
        part = self._value(share.numerator, bucket, only)
        whole = self._value(share.denominator, bucket, only)
        ratio = float(part) / float(whole) if whole else None
        return Cell(percent_text(part, whole), self.link(share.numerator, bucket, **only), ratio)

    def tiles(self, **only: Any) -> list[Tile]:
        impact = self.impact

        def tile(key: str, note: str = "") -> Tile:
            figure = FIGURES[key]
            return Tile(
                key, str(figure.label), self.cell(key, **only), note, str(figure.definition)
            )

        def share(key: str) -> Tile:
            share = SHARES[key]
            whole = impact.total(share.denominator, **only)
            part = impact.total(share.numerator, **only)
            note = _("%(part)s of %(whole)s", part=count_text(part), whole=count_text(whole))
            return Tile(
                key, str(share.label), self.share_cell(key, **only), note, str(share.definition)
            )

        values = impact.by("goods_value", "currency", **only)
        value_tiles = [
            Tile(
                f"goods_value_{currency}",
                _("Value of goods seized (%(currency)s)", currency=currency),
                Cell(
                    money_text(amount, currency),
                    self.link("goods_value", **only, currency=currency),
                    amount,
                ),
                definition=str(FIGURES["goods_value"].definition),
            )
            for currency, amount in sorted(values.items())
            if amount
        ]
        tiles = [
            tile("reports"),
            tile("confirmations"),
            tile("correlations"),
            tile("takedown_requests"),
            tile("takedowns"),
            share("within_24h_share"),
            tile("test_buys"),
            share("counterfeit_rate"),
            tile("referrals"),
            tile("arrests"),
            tile("facilities"),
            tile("goods_seized"),
            *value_tiles,
        ]
        if "group" not in only:
            joined = impact.joined()
            note = _(
                "%(joined)s joined in %(period)s",
                joined=count_text(joined),
                period=impact.period.label,
            )
            tiles.append(tile("brands", note))
        return tiles

    def charts(self) -> list[Chart]:
        charts = [self.activity(), self.member_brands()]
        charts += [
            self.takedowns_by("marketplace", _("Takedowns within 24 hours, by marketplace")),
        ]
        if not self.scope:
            charts += [
                self.takedowns_by("group", _("Takedowns within 24 hours, by working group")),
                self.counterfeit_rate_by_group(),
                self.count_by("reports", "group", _("Reports shared, by working group")),
            ]
        charts += [
            self.count_by(
                "reports", "country", _("Reports shared, by the reporting brand's country")
            ),
            self.count_by(
                "brands", "country", _("Member brands at the end of the period, by country")
            ),
            self.referrals_by_status(),
            self.enforcement_by_country(),
        ]
        return charts

    def _label(self, dim: str, value: Any) -> str:
        return breakdown_label(dim, value, self.groups)

    def _values(self, figure: str, dim: str) -> list[Any]:
        by = self.impact.by(figure, dim)
        return sorted(by, key=lambda value: (-by[value], self._label(dim, value)))

    def activity(self) -> Chart:
        period = self.impact.period
        title = (
            _("Activity in %(period)s, by month", period=period.label)
            if period.quarter
            else _("Activity in %(period)s, by quarter", period=period.label)
        )
        chart = Chart(
            "activity",
            title,
            "columns",
            [
                str(FIGURES["reports"].label),
                str(FIGURES["confirmations"].label),
                str(FIGURES["correlations"].label),
                str(FIGURES["takedown_requests"].label),
                str(SHARES["within_24h_share"].label),
                str(FIGURES["test_buys"].label),
                str(SHARES["counterfeit_rate"].label),
                str(FIGURES["referrals"].label),
                str(FIGURES["arrests"].label),
            ],
            _("Period"),
            note=_("Bars: reports shared."),
        )
        for bucket in period.buckets():
            number = bucket.number
            reports = self.cell("reports", number)
            chart.rows.append(
                Row(
                    bucket.label,
                    [
                        reports,
                        self.cell("confirmations", number),
                        self.cell("correlations", number),
                        self.cell("takedown_requests", number),
                        self.share_cell("within_24h_share", number),
                        self.cell("test_buys", number),
                        self.share_cell("counterfeit_rate", number),
                        self.cell("referrals", number),
                        self.cell("arrests", number),
                    ],
                    float(reports.value or 0),
                    reports.text,
                )
            )
        return chart

    def member_brands(self) -> Chart:
        period = self.impact.period
        standing = self.impact.members_by_bucket()
        joined = self.impact.by("brands", "bucket")
        chart = Chart(
            "member-brands",
            _("Member brands of the working group") if self.scope else _("Member brands"),
            "columns",
            [pgettext("chart column", "Joined"), _("Members at the end")],
            _("Period"),
        )
        for bucket in period.buckets():
            members = standing.get(bucket.number, 0)
            chart.rows.append(
                Row(
                    bucket.label,
                    [
                        Cell(
                            count_text(joined.get(bucket.number, 0)),
                            "",
                            joined.get(bucket.number, 0),
                        ),
                        Cell(count_text(members), self.link("brands", bucket.number), members),
                    ],
                    float(members),
                    count_text(members),
                )
            )
        return chart

    def takedowns_by(self, dim: str, title: str) -> Chart:
        chart = Chart(
            f"takedowns-by-{dim}",
            title,
            "bars",
            [
                _("Requests due"),
                _("Within 24 hours"),
                pgettext("chart column", "Share"),
                _("Average time to take down"),
            ],
            self._heading(dim),
            unit="%",
            max_value=100,
        )
        for value in self._values("takedowns_decided", dim):
            only = {dim: value}
            due = self.cell("takedowns_decided", **only)
            share = self.share_cell("within_24h_share", **only)
            seconds = self.impact.total("handling_seconds", **only)
            removed = self.impact.total("takedowns", **only)
            chart.rows.append(
                Row(
                    self._label(dim, value),
                    [
                        due,
                        self.cell("within_24h", **only),
                        share,
                        Cell(hours_text(seconds, removed), self.link("takedowns", **only)),
                    ],
                    100 * float(share.value or 0),
                    share.text,
                )
            )
        return chart

    def counterfeit_rate_by_group(self) -> Chart:
        chart = Chart(
            "counterfeit-rate-by-group",
            _("Test purchases: counterfeit rate, by working group"),
            "bars",
            [
                _("Test purchases"),
                _("Items examined"),
                _("Counterfeits"),
                pgettext("chart column", "Rate"),
            ],
            _("Working group"),
            unit="%",
            max_value=100,
        )
        for value in self._values("test_buys", "group"):
            rate = self.share_cell("counterfeit_rate", group=value)
            chart.rows.append(
                Row(
                    self._label("group", value),
                    [
                        self.cell("test_buys", group=value),
                        self.cell("examined", group=value),
                        self.cell("counterfeits", group=value),
                        rate,
                    ],
                    100 * float(rate.value or 0),
                    rate.text,
                )
            )
        return chart

    def count_by(self, figure: str, dim: str, title: str) -> Chart:
        chart = Chart(
            f"{figure}-by-{dim}", title, "bars", [str(FIGURES[figure].label)], self._heading(dim)
        )
        for value in self._values(figure, dim):
            cell = self.cell(figure, **{dim: value})
            chart.rows.append(
                Row(self._label(dim, value), [cell], float(cell.value or 0), cell.text)
            )
        return chart

    def _heading(self, dim: str) -> str:
        return str(BREAKDOWNS.get(dim, dim))

    def referrals_by_status(self) -> Chart:
        return self.count_by("referrals", "status", _("Referrals to law enforcement, by status"))

    def enforcement_by_country(self) -> Chart:
        currencies = sorted(c for c, v in self.impact.by("goods_value", "currency").items() if v)
        chart = Chart(
            "enforcement-by-country",
            _("Enforcement outcomes, by country"),
            "bars",
            [
                str(FIGURES["referrals"].label),
                str(FIGURES["arrests"].label),
                str(FIGURES["facilities"].label),
                str(FIGURES["goods_seized"].label),
                *[_("Value (%(currency)s)", currency=currency) for currency in currencies],
            ],
            _("Country"),
            note=_("Bars: suspects arrested."),
        )
        for country in self._values("referrals", "country"):
            arrests = self.cell("arrests", country=country)
            values = [
                self.impact.total("goods_value", country=country, currency=currency)
                for currency in currencies
            ]
            chart.rows.append(
                Row(
                    self._label("country", country),
                    [
                        self.cell("referrals", country=country),
                        arrests,
                        self.cell("facilities", country=country),
                        self.cell("goods_seized", country=country),
                        *[
                            Cell(
                                money_text(value, currency),
                                self.link("goods_value", country=country, currency=currency),
                                value,
                            )
                            for value, currency in zip(values, currencies, strict=True)
                        ],
                    ],
                    float(arrests.value or 0),
                    arrests.text,
                )
            )
        return chart


def csv_rows(tiles: Iterable[Tile], charts: Iterable[Chart], base_url: str) -> Iterable[list[str]]:
    """Every figure shown, one per line: where it is, what it is, its value, its rows. The
    words are the viewer's language; the raw value stays a plain number ('1234.50')."""
    yield [
        pgettext("CSV column", "section"),
        pgettext("CSV column", "row"),
        pgettext("CSV column", "figure"),
        pgettext("CSV column", "value"),
        pgettext("CSV column", "shown"),
        pgettext("CSV column", "rows"),
    ]
    for tile in tiles:
        yield [
            pgettext("CSV section", "Headline"),
            "",
            tile.label,
            _raw(tile.cell.value),
            tile.cell.text,
            _url(base_url, tile.cell.href),
        ]
    for chart in charts:
        for row in chart.rows:
            for heading, cell in zip(chart.headings, row.cells, strict=True):
                yield [
                    chart.title,
                    row.label,
                    heading,
                    _raw(cell.value),
                    cell.text,
                    _url(base_url, cell.href),
                ]


def _raw(value: Number | float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def _url(base_url: str, href: str) -> str:
    return f"{base_url.rstrip('/')}{href}" if href else ""
