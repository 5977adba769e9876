"""Full-text search over every report the reader may see: titles, descriptions,
comments and indicator values. FTS5 on SQLite, tsvector with a GIN index on PostgreSQL,
behind this one function; hub.intel.search_index keeps the index."""

import re
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import Float, Integer, String, Subquery, column, text
from sqlmodel import Session, col, select

from hub.intel.models import IntelReport
from hub.intel.service import BoardFilters, apply_filters
from hub.members.models import Brand, Person
from hub.policy import Actor, visible_intel

RESULT_LIMIT = 50
# Markers the database puts around matches; replaced by <mark> after escaping the text.
OPEN, CLOSE = "\x02", "\x03"
WORD = re.compile(r"[\w@.+-]+", re.UNICODE)
PG_WORD = re.compile(r"[^\W_]+", re.UNICODE)  # the parts the index also holds


@dataclass(frozen=True)
class Hit:
    report: IntelReport
    brand: Brand
    author: Person
    snippet: Markup


def _terms(query: str) -> list[str]:
    return WORD.findall(query)[:12]


def _matches(session: Session, query: str) -> Subquery | None:
    """The index rows matching every word (prefix match on the last): report_id, rank
    and a snippet; None when the query holds no word to look for."""
    postgres = session.get_bind().dialect.name == "postgresql"
    terms = PG_WORD.findall(query)[:12] if postgres else _terms(query)
    if not terms:
        return None
    if postgres:
        tsquery = " & ".join(
            f"{_pg_quote(t)}:*" if i == len(terms) - 1 else _pg_quote(t)
            for i, t in enumerate(terms)
        )
        matches = text(
            "SELECT report_id, ts_rank(document, to_tsquery('simple', :q)) AS rank, "
            "ts_headline('simple', content, to_tsquery('simple', :q), "
            "'StartSel=\x02, StopSel=\x03, MaxFragments=2, MaxWords=18, MinWords=6') AS snippet "
            "FROM intel_search WHERE document @@ to_tsquery('simple', :q)"
        ).bindparams(q=tsquery)
    else:
        fts = " ".join(
            f'"{t.replace(chr(34), "")}"' + ("*" if i == len(terms) - 1 else "")
            for i, t in enumerate(terms)
        )
        matches = text(
            "SELECT report_id, -bm25(intel_search) AS rank, "
            "snippet(intel_search, -1, '\x02', '\x03', '…', 14) AS snippet "
            "FROM intel_search WHERE intel_search MATCH :q"
        ).bindparams(q=fts)
    return matches.columns(
        column("report_id", Integer), column("rank", Float), column("snippet", String)
    ).subquery("found")


def search(
    session: Session, actor: Actor, query: str, filters: BoardFilters, group_id: int | None = None
) -> list[Hit]:
    """Matches of every word (prefix match on the last), visible reports only, best first."""
    found = _matches(session, query)
    if found is None:
        return []
    statement = (
        select(IntelReport, Brand, Person, found.c.snippet)
        .join(found, found.c.report_id == IntelReport.id)
        .join(Brand, col(Brand.id) == IntelReport.brand_id)
        .join(Person, col(Person.id) == IntelReport.author_id)
        .where(visible_intel(actor), col(IntelReport.merged_into_id).is_(None))
    )
    statement = apply_filters(statement, group_id, filters)
    # Both ranks are higher for better matches (bm25 is negated above).
    statement = statement.order_by(found.c.rank.desc()).limit(RESULT_LIMIT)
    return [
        Hit(report, brand, author, _highlight(snippet or ""))
        for report, brand, author, snippet in session.exec(statement).all()
    ]


def newest(
    session: Session,
    actor: Actor,
    query: str,
    filters: BoardFilters,
    group_id: int | None,
    limit: int,
) -> tuple[list[IntelReport], int | None]:
    """The visible reports matching the filters (and the words, if any), newest first,
    `limit` at a time after `filters.before`; with the id to continue before, if more."""
    statement = select(IntelReport).where(
        visible_intel(actor), col(IntelReport.merged_into_id).is_(None)
    )
    if query.strip():
        found = _matches(session, query)
        if found is None:
            return [], None
        statement = statement.join(found, found.c.report_id == IntelReport.id)
    statement = apply_filters(statement, group_id, filters)
    if filters.before:
        statement = statement.where(col(IntelReport.id) < filters.before)
    rows = list(session.exec(statement.order_by(col(IntelReport.id).desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def _pg_quote(term: str) -> str:
    return "'" + term.replace("'", "''").replace("\\", "") + "'"


def _highlight(snippet: str) -> Markup:
    """Escape the stored text, then turn the match markers into <mark>."""
    safe = str(escape(snippet))
    return Markup(safe.replace(OPEN, "<mark>").replace(CLOSE, "</mark>"))
