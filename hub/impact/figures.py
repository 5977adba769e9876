"""Every impact figure, defined once as the rows it counts (hub.impact.sources), so the
dashboard, its CSV, the annual report and the list behind each number always agree.

A dashboard asks one statement per kind of row: the rows of the period, grouped by bucket
(quarter or month) and by every breakdown at once; totals and breakdowns are then summed
here. The list behind a number asks the same conditions again, with the breakdown's value.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, and_, case, func, literal_column
from sqlmodel import Session, col

from hub.i18n import lazy_gettext
from hub.impact.periods import Period, at_midnight
from hub.impact.snapshot import SharedFigures
from hub.impact.sources import OTHER_GROUPS, SOURCES, Label, Source
from hub.policy import Actor

Number = int | Decimal
Row = tuple[tuple[Any, ...], dict[str, Number]]


@dataclass(frozen=True)
class Figure:
    key: str
    label: Label
    source: str
    measure: str
    unit: str = "count"  # count, money, seconds
    definition: Label = ""


@dataclass(frozen=True)
class Share:
    """A ratio of two figures, e.g. the takedowns handled within 24 hours."""

    key: str
    label: Label
    numerator: str
    denominator: str
    definition: Label = ""


FIGURES: dict[str, Figure] = {
    figure.key: figure
    for figure in (
        Figure(
            "reports",
            lazy_gettext("Reports shared"),
            "reports",
            "reports",
            definition=lazy_gettext(
                "Reports posted to a board in the period (hidden ones never count)."
            ),
        ),
        Figure(
            "confirmations",
            lazy_gettext("Cross-brand confirmations"),
            "confirmations",
            "confirmations",
            definition=lazy_gettext(
                "“Seen it too” given by a brand other than the report's author's."
            ),
        ),
        Figure(
            "correlations",
            lazy_gettext("Reports matching another brand's"),
            "correlations",
            "correlations",
            definition=lazy_gettext(
                "Reports naming a seller, listing or trace another brand reported before."
            ),
        ),
        Figure(
            "takedown_requests",
            lazy_gettext("Takedown requests"),
            "takedowns",
            "requests",
            definition=lazy_gettext(
                "Notices filed with a marketplace; a relisted listing's notice is another."
            ),
        ),
        Figure(
            "takedowns",
            lazy_gettext("Listings taken down"),
            "takedowns",
            "removed",
            definition=lazy_gettext("Requests that ended with the listing removed."),
        ),
        Figure(
            "takedowns_decided",
            lazy_gettext("Requests due"),
            "takedowns",
            "decided",
            definition=lazy_gettext(
                "Requests that ended, or were filed over 24 hours ago: the share's base."
            ),
        ),
        Figure(
            "within_24h",
            lazy_gettext("Taken down within 24 hours"),
            "takedowns",
            "within_24h",
            definition=lazy_gettext(
                "Requests whose listing came down at most 24 hours after the notice."
            ),
        ),
        Figure(
            "handling_seconds",
            lazy_gettext("Time to take down"),
            "takedowns",
            "handling_seconds",
            unit="seconds",
            definition=lazy_gettext(
                "Hours from the notice to the removal, over the listings taken down."
            ),
        ),
        Figure(
            "test_buys",
            lazy_gettext("Test purchases with a verdict"),
            "purchases",
            "test_buys",
            definition=lazy_gettext("Test purchases whose verdict was given in the period."),
        ),
        Figure(
            "examined",
            lazy_gettext("Items examined"),
            "purchases",
            "examined",
            definition=lazy_gettext(
                "Test purchases received and judged genuine, counterfeit or grey market."
            ),
        ),
        Figure(
            "counterfeits",
            lazy_gettext("Counterfeits found"),
            "purchases",
            "counterfeit",
            definition=lazy_gettext("Test purchases judged counterfeit."),
        ),
        Figure(
            "referrals",
            lazy_gettext("Referrals to law enforcement"),
            "referrals",
            "referrals",
            definition=lazy_gettext("Cases sent to an agency in the period."),
        ),
        Figure(
            "arrests",
            lazy_gettext("Suspects arrested"),
            "referrals",
            "arrests",
            definition=lazy_gettext(
                "Suspects arrested in the period's referrals, as last recorded."
            ),
        ),
        Figure(
            "facilities",
            lazy_gettext("Facilities closed"),
            "referrals",
            "facilities",
            definition=lazy_gettext(
                "Factories, warehouses and shops closed in the period's referrals."
            ),
        ),
        Figure(
            "goods_seized",
            lazy_gettext("Items seized"),
            "referrals",
            "goods_seized",
            definition=lazy_gettext("Counterfeit items seized in the period's referrals."),
        ),
        Figure(
            "goods_value",
            lazy_gettext("Value of goods seized"),
            "referrals",
            "goods_value",
            unit="money",
            definition=lazy_gettext(
                "The value the agencies gave, in each currency: never converted."
            ),
        ),
        Figure(
            "brands",
            lazy_gettext("Member brands"),
            "brands",
            "brands",
            definition=lazy_gettext(
                "Brands of the alliance (of the working group) at the end of the period."
            ),
        ),
    )
}

SHARES: dict[str, Share] = {
    share.key: share
    for share in (
        Share(
            "within_24h_share",
            lazy_gettext("Handled within 24 hours"),
            "within_24h",
            "takedowns_decided",
            definition=lazy_gettext("Takedowns within 24 hours, out of the requests due."),
        ),
        Share(
            "counterfeit_rate",
            lazy_gettext("Counterfeit rate"),
            "counterfeits",
            "examined",
            definition=lazy_gettext("Counterfeits found, out of the items examined."),
        ),
    )
}

BREAKDOWNS: dict[str, Label] = {
    "bucket": lazy_gettext("Period"),
    "group": lazy_gettext("Working group"),
    "country": lazy_gettext("Country"),
    "marketplace": lazy_gettext("Marketplace"),
    "status": lazy_gettext("Status"),
    "currency": lazy_gettext("Currency"),
}


def _bound(source: Source, day: date) -> date | datetime:
    return day if source.uses_days else at_midnight(day)


def _bucket_of(source: Source, period: Period) -> Any:
    """The bucket number of a row's time: 1.. in the period; 0 before it (for figures
    that stand at the period's end)."""
    whens = [(col(source.at) < _bound(source, period.first_day), 0)] if source.cumulative else []
    buckets = period.buckets()
    whens += [(col(source.at) < _bound(source, b.end), b.number) for b in buckets[:-1]]
    return case(*whens, else_=buckets[-1].number)


def _conditions(
    source: Source,
    actor: Actor,
    period: Period,
    group_id: int | None,
    bucket: int | None = None,
    only: Mapping[str, Any] | None = None,
    counted: ColumnElement[bool] | None = None,
) -> list[ColumnElement[bool]]:
    """The rows a figure counts: in the period (or bucket), countable for the actor, of
    the group, with the breakdown's values. A cumulative figure counts every row up to
    the end of the period (or bucket)."""
    chosen = period.bucket(bucket) if bucket is not None else None
    start, end = (chosen.start, chosen.end) if chosen else (period.first_day, period.end_day)
    if counted is None:
        counted = source.countable(actor)
    conditions = [col(source.at) < _bound(source, end), counted]
    if not source.cumulative:
        conditions.append(col(source.at) >= _bound(source, start))
    if group_id is not None:
        conditions.append(source.group == group_id)
    for dim, value in (only or {}).items():
        conditions.append(source.dims[dim] == value)
    return conditions


@dataclass
class Cube:
    """A source's measures for a period, by bucket and by every breakdown."""

    source: Source
    dims: tuple[str, ...]
    rows: list[tuple[tuple[Any, ...], dict[str, Number]]] = field(default_factory=list)
    _indexes: dict[tuple[str, ...], dict[tuple[Any, ...], dict[str, Number]]] = field(
        default_factory=dict
    )

    def _index(self, names: tuple[str, ...]) -> dict[tuple[Any, ...], dict[str, Number]]:
        """The measures summed by the values of `names`: built in one pass, then each
        cell of a page is a lookup (a page asks a few hundred)."""
        index = self._indexes.get(names)
        if index is None:
            positions = [self.dims.index(name) for name in names]
            index = {}
            for values, measures in self.rows:
                key = tuple(values[at] for at in positions)
                sums = index.setdefault(key, dict.fromkeys(measures, 0))
                for name, value in measures.items():
                    sums[name] += value
            self._indexes[names] = index
        return index

    def total(self, measure: str, **only: Any) -> Number:
        """The figure for the period (as it stands at its end, for a cumulative one)."""
        names = tuple(sorted(only))
        sums = self._index(names).get(tuple(only[name] for name in names))
        return sums[measure] if sums else 0

    def by(self, dim: str, measure: str, **only: Any) -> dict[Any, Number]:
        names = tuple(sorted(only))
        wanted = tuple(only[name] for name in names)
        return {
            key[-1]: sums[measure]
            for key, sums in self._index((*names, dim)).items()
            if key[:-1] == wanted
        }

    def running(self, measure: str, period: Period) -> dict[int, Number]:
        """A cumulative figure at the end of each bucket."""
        per_bucket = self.by("bucket", measure)
        total: Number = per_bucket.get(0, 0)
        standing = {}
        for bucket in period.buckets():
            total += per_bucket.get(bucket.number, 0)
            standing[bucket.number] = total
        return standing


def cube(
    session: Session,
    actor: Actor,
    source: Source,
    period: Period,
    group_id: int | None,
    counted: ColumnElement[bool] | None = None,
) -> Cube:
    """One statement: the source's rows of the period grouped by bucket and breakdowns;
    the rows the actor's figures count, or only those `counted` names."""
    dims = ("bucket", *source.dims)
    labels = [f"d_{dim}" for dim in dims]
    columns: list[Any] = [_bucket_of(source, period).label(labels[0])]
    columns += [
        expr.label(label) for expr, label in zip(source.dims.values(), labels[1:], strict=True)
    ]
    names = list(source.measures)
    for name in names:
        measure = source.measures[name]
        value = measure.value if measure.value is not None else 1
        summed = case((measure.when(), value), else_=0) if measure.when else value
        columns.append(func.coalesce(func.sum(summed), 0).label(f"m_{name}"))
    query = (
        source.select_from(*columns)
        .where(*_conditions(source, actor, period, group_id, counted=counted))
        # By the output names: PostgreSQL cannot tell two bound CASE expressions equal.
        .group_by(*[literal_column(label) for label in labels])
    )
    result = Cube(source, dims)
    for row in session.exec(query).all():
        values = tuple(row[: len(dims)])
        measures = {name: _number(row[len(dims) + i]) for i, name in enumerate(names)}
        result.rows.append((values, measures))
    return result


def _number(value: Any) -> Number:
    """Sums of money stay Decimal; counts are whole numbers on every database."""
    return value if isinstance(value, Decimal) else int(value or 0)


@dataclass
class Impact:
    """Every figure of a period, for one viewer, alliance-wide or for one group."""

    period: Period
    group_id: int | None
    cubes: dict[str, Cube]
    as_of: datetime | None = None  # when the shared rows were counted; None: just now

    def cube_of(self, figure: str) -> Cube:
        return self.cubes[FIGURES[figure].source]

    def total(self, figure: str, **only: Any) -> Number:
        return self.cube_of(figure).total(FIGURES[figure].measure, **only)

    def by(self, figure: str, dim: str, **only: Any) -> dict[Any, Number]:
        return self.cube_of(figure).by(dim, FIGURES[figure].measure, **only)

    def share(self, key: str, **only: Any) -> float | None:
        share = SHARES[key]
        whole = self.total(share.denominator, **only)
        return float(self.total(share.numerator, **only)) / float(whole) if whole else None

    def share_by(self, key: str, dim: str, **only: Any) -> dict[Any, tuple[Number, Number]]:
        """(part, whole) per value of a breakdown."""
        share = SHARES[key]
        parts = self.by(share.numerator, dim, **only)
        wholes = self.by(share.denominator, dim, **only)
        return {value: (parts.get(value, 0), whole) for value, whole in wholes.items()}

    def members_by_bucket(self) -> dict[int, Number]:
        return self.cube_of("brands").running("brands", self.period)

    def joined(self) -> Number:
        counts = self.by("brands", "bucket")
        return sum((n for bucket, n in counts.items() if bucket), start=0)


COUNTED = ("reports", "confirmations", "correlations", "takedowns", "purchases", "referrals")


def compute(
    session: Session,
    actor: Actor,
    period: Period,
    group_id: int | None,
    shared: SharedFigures | None = None,
    open_session: Callable[[], Session] | None = None,
) -> Impact:
    """Every figure of the period for the actor. With `shared`, the rows every viewer
    counts, and those only this viewer's figures add (AMBER+STRICT, RED), come from it
    (the whole alliance's; a group's are taken from them), counted with sessions from
    `open_session` when they are missing or old."""
    names = {name: name for name in COUNTED}
    names["brands"] = "group_brands" if group_id is not None else "brands"
    cubes: dict[str, Cube] = {}
    as_of = None
    for name, source_name in names.items():
        source = SOURCES[source_name]
        dims = ("bucket", *source.dims)
        if shared is None or shared.seconds <= 0 or open_session is None:
            rows = cube(session, actor, source, period, group_id).rows
            cubes[name] = Cube(source, dims, _masked(dims, rows, actor))
            continue
        parts: list[tuple[object, ...]] = [(source_name, period)]
        if source.personal is not None:
            parts.append((source_name, period, _viewer_key(actor)))
        rows = []
        for key in parts:
            kept = shared.get(key, partial(_counted, open_session, actor, source, period, key))
            as_of = kept.counted_at if as_of is None else min(as_of, kept.counted_at)
            rows += kept.rows if group_id is None else _of_group(kept.rows, dims, group_id)
        cubes[name] = Cube(source, dims, _masked(dims, rows, actor))
    return Impact(period, group_id, cubes, as_of)


def _masked(dims: tuple[str, ...], rows: list[Row], actor: Actor) -> list[Row]:
    """A TLP:AMBER row still counts for everyone, but the marketplace it names is its
    group's to know: for the others it is summed under OTHER_GROUPS."""
    if "marketplace" not in dims or actor.is_alliance_admin:
        return list(rows)
    at, marking, group = (dims.index(d) for d in ("marketplace", "marking", "group"))
    insider = actor.group_ids | actor.coordinated_group_ids
    masked = []
    for values, measures in rows:
        if values[marking] == "amber" and values[group] not in insider:
            values = (*values[:at], OTHER_GROUPS, *values[at + 1 :])
        masked.append((values, measures))
    return masked


def _viewer_key(actor: Actor) -> tuple[object, ...]:
    """What decides which AMBER+STRICT and RED rows a viewer's figures add."""
    return (actor.person_id, actor.brand_id, actor.coordinated_group_ids, actor.acts_for_brand)


def _counted(
    open_session: Callable[[], Session],
    actor: Actor,
    source: Source,
    period: Period,
    key: tuple[object, ...],
) -> list[Row]:
    """The whole alliance's rows of the period that every viewer counts (a key of two) or
    that this viewer's figures add (a key naming the viewer), in a session of their own:
    this may run on another thread."""
    personal = source.personal if len(key) > 2 else None
    counted = personal(actor) if personal is not None else source.shared()
    session = open_session()
    try:
        return cube(session, actor, source, period, None, counted).rows
    finally:
        session.close()


def _of_group(rows: list[Row], dims: tuple[str, ...], group_id: int) -> list[Row]:
    at = dims.index("group")
    return [row for row in rows if row[0][at] == group_id]


@dataclass
class Trace:
    """The rows behind a number that the viewer may open, and how many more it counts."""

    figure: Figure
    source: Source
    rows: list[Any]
    listed: int
    counted: int
    listed_value: Number
    counted_value: Number

    @property
    def hidden(self) -> int:
        return self.counted - self.listed

    @property
    def sums(self) -> bool:
        """The figure adds up a value of each row (arrests...), rather than counting rows."""
        return self.source.measures[self.figure.measure].value is not None


TRACE_LIMIT = 500


def trace(
    session: Session,
    actor: Actor,
    figure_key: str,
    period: Period,
    group_id: int | None,
    bucket: int | None,
    only: Mapping[str, Any],
) -> Trace:
    figure = FIGURES[figure_key]
    source = SOURCES["group_brands" if figure.source == "brands" and group_id else figure.source]
    measure = source.measures[figure.measure]
    conditions = _conditions(source, actor, period, group_id, bucket, only)
    if "marketplace" in only:  # a marketplace is named only by rows one may read
        conditions.append(source.readable(actor))
    if measure.when is not None:
        conditions.append(measure.when())
    value = measure.value if measure.value is not None else 1
    readable = source.readable(actor)
    totals = session.exec(
        source.select_from(
            func.count(),
            func.coalesce(func.sum(value), 0),
            func.coalesce(func.sum(case((readable, 1), else_=0)), 0),
            func.coalesce(func.sum(case((readable, value), else_=0)), 0),
        ).where(*conditions)
    ).one()
    rows = session.exec(
        source.select_from(
            source.key.label("key"),
            source.title.label("title"),
            *[column.expr.label(f"c{i}") for i, column in enumerate(source.columns)],
        )
        .where(and_(*conditions), readable)
        .order_by(col(source.at).desc(), col(source.key).desc())
        .limit(TRACE_LIMIT)
    ).all()
    return Trace(
        figure,
        source,
        list(rows),
        listed=int(totals[2]),
        counted=int(totals[0]),
        listed_value=_number(totals[3]),
        counted_value=_number(totals[1]),
    )


def trace_url(
    figure: str,
    period: Period,
    scope: str = "",
    bucket: int | None = None,
    **only: Any,
) -> str:
    """Where a number links to: the rows behind it."""
    query = {"figure": figure, **period.query}
    if scope:
        query["scope"] = scope
    if bucket is not None:
        query["bucket"] = str(bucket)
    query.update({dim: "" if value is None else str(value) for dim, value in only.items()})
    return "/impact/rows?" + urlencode({k: v for k, v in query.items() if v != "" or k in only})
