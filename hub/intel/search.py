"""Full-text search over every report the reader may see: titles, descriptions,
comments and indicator values. FTS5 on SQLite, tsvector with a GIN index on PostgreSQL,
behind this one function; hub.intel.search_index keeps the index."""

import re
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import Float, Integer, Subquery, bindparam, column, text
from sqlmodel import Session, col, select

from hub.intel.models import IntelReport
from hub.intel.service import BoardFilters, apply_filters
from hub.members.models import Brand, Person
from hub.policy import Actor, visible_intel

RESULT_LIMIT = 50
# Search ranks the newest this many matches, so a common word costs no more than a rare
# one; older matches are reached with more words or the board's filters.
CANDIDATES = 2000
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


@dataclass(frozen=True)
class _Query:
    """A search as the database's full-text engine reads it."""

    postgres: bool
    text: str  # a tsquery, or an FTS5 query


def _query(session: Session, words: str) -> _Query | None:
    """Every word must match (prefix match on the last); None when nothing to look for."""
    postgres = session.get_bind().dialect.name == "postgresql"
    terms = PG_WORD.findall(words)[:12] if postgres else _terms(words)
    if not terms:
        return None
    if postgres:
        return _Query(
            True,
            " & ".join(
                f"{_pg_quote(t)}:*" if i == len(terms) - 1 else _pg_quote(t)
                for i, t in enumerate(terms)
            ),
        )
    return _Query(
        False,
        " ".join(
            f'"{t.replace(chr(34), "")}"' + ("*" if i == len(terms) - 1 else "")
            for i, t in enumerate(terms)
        ),
    )


def _matches(found: _Query, newest: int | None = None) -> Subquery:
    """The index rows matching: report_id and rank; only the `newest` matches when given
    (ranking every match of a common word would cost as much as the word is common)."""
    limit = f" ORDER BY report_id DESC LIMIT {int(newest)}" if newest else ""
    if found.postgres:
        matches = text(
            "SELECT report_id, ts_rank(document, to_tsquery('simple', :q)) AS rank "
            "FROM intel_search WHERE document @@ to_tsquery('simple', :q)" + limit
        )
    else:
        matches = text(
            "SELECT report_id, -bm25(intel_search) AS rank "
            "FROM intel_search WHERE intel_search MATCH :q" + limit
        )
    return (
        matches.bindparams(q=found.text)
        .columns(column("report_id", Integer), column("rank", Float))
        .subquery("found")
    )


def _snippets(session: Session, found: _Query, ids: list[int]) -> dict[int, str]:
    """The matching passages of the few reports shown, marked (one statement)."""
    if not ids:
        return {}
    if found.postgres:
        statement = text(
            "SELECT report_id, ts_headline('simple', content, to_tsquery('simple', :q), "
            "'StartSel=\x02, StopSel=\x03, MaxFragments=2, MaxWords=18, MinWords=6') "
            "FROM intel_search WHERE report_id IN :ids"
        )
    else:
        statement = text(
            "SELECT report_id, snippet(intel_search, -1, '\x02', '\x03', '…', 14) "
            "FROM intel_search WHERE intel_search MATCH :q AND report_id IN :ids"
        )
    statement = statement.bindparams(bindparam("ids", expanding=True))
    rows = session.execute(statement, {"q": found.text, "ids": ids}).all()
    return {report_id: snippet or "" for report_id, snippet in rows}


def search(
    session: Session, actor: Actor, query: str, filters: BoardFilters, group_id: int | None = None
) -> list[Hit]:
    """The best matches among the newest CANDIDATES matching reports the reader may see
    (every word must match, the last as a prefix), best first."""
    wanted = _query(session, query)
    if wanted is None:
        return []
    found = _matches(wanted, CANDIDATES)
    statement = (
        select(IntelReport, Brand, Person)
        .join(found, found.c.report_id == IntelReport.id)
        .join(Brand, col(Brand.id) == IntelReport.brand_id)
        .join(Person, col(Person.id) == IntelReport.author_id)
        .where(visible_intel(actor), col(IntelReport.merged_into_id).is_(None))
    )
    statement = apply_filters(statement, group_id, filters)
    # Both ranks are higher for better matches (bm25 is negated above).
    statement = statement.order_by(found.c.rank.desc()).limit(RESULT_LIMIT)
    rows = session.exec(statement).all()
    snippets = _snippets(session, wanted, [report.id or 0 for report, _, _ in rows])
    return [
        Hit(report, brand, author, _highlight(snippets.get(report.id or 0, "")))
        for report, brand, author in rows
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
        wanted = _query(session, query)
        if wanted is None:
            return [], None
        found = _matches(wanted)
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
