"""The full-text index behind hub.intel.search (table intel_search, built by migration
0004): refreshed by the application whenever a report or its comments change."""

from sqlalchemy import bindparam, text
from sqlmodel import Session, col, select

from hub.intel.models import Comment, Indicator, IntelReport


def _document(session: Session, report_id: int) -> tuple[str, str, str]:
    report = session.get(IntelReport, report_id)
    assert report is not None
    comments = session.exec(select(Comment.body_md).where(Comment.report_id == report_id)).all()
    indicators = session.exec(
        select(Indicator.value, Indicator.normalised).where(Indicator.report_id == report_id)
    ).all()
    extra = "\n".join([*comments, *(f"{value} {norm}" for value, norm in indicators)])
    return report.title, _body(report), extra


def _body(report: IntelReport) -> str:
    parts = [report.body_md, report.marketplace, report.brands_affected, report.products_affected]
    return "\n".join(filter(None, parts))


_PG_INSERT = (
    "INSERT INTO intel_search (report_id, content, document) VALUES (:id, :content, "
    "setweight(to_tsvector('simple', :title), 'A') || to_tsvector('simple', :rest) || "
    # PostgreSQL keeps e-mails, hosts and +numbers whole; their parts count too.
    "to_tsvector('simple', regexp_replace(:rest, '[^[:alnum:]]+', ' ', 'g')))"
)
_SQLITE_INSERT = "INSERT INTO intel_search (report_id, title, body, extra) VALUES (:id, :t, :b, :e)"


def reindex(session: Session, report_id: int) -> None:
    """Refresh one report's entry in the index (in the caller's transaction)."""
    title, body, extra = _document(session, report_id)
    session.execute(text("DELETE FROM intel_search WHERE report_id = :id"), {"id": report_id})
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(_PG_INSERT),
            {
                "id": report_id,
                "content": f"{title}\n{body}\n{extra}",
                "title": title,
                "rest": f"{body}\n{extra}",
            },
        )
    else:
        session.execute(text(_SQLITE_INSERT), {"id": report_id, "t": title, "b": body, "e": extra})


def reindex_many(session: Session, report_ids: list[int], chunk: int = 500) -> None:
    """Refresh many reports' entries at once (a bulk import): a few statements per
    `chunk` reports instead of five per report."""
    postgres = session.get_bind().dialect.name == "postgresql"
    for start in range(0, len(report_ids), chunk):
        ids = report_ids[start : start + chunk]
        reports = session.exec(select(IntelReport).where(col(IntelReport.id).in_(ids))).all()
        extra: dict[int, list[str]] = {report_id: [] for report_id in ids}
        for report_id, body in session.exec(
            select(Comment.report_id, Comment.body_md).where(col(Comment.report_id).in_(ids))
        ):
            extra[report_id].append(body)
        for report_id, value, norm in session.exec(
            select(Indicator.report_id, Indicator.value, Indicator.normalised).where(
                col(Indicator.report_id).in_(ids)
            )
        ):
            extra[report_id].append(f"{value} {norm}")
        session.execute(
            text("DELETE FROM intel_search WHERE report_id IN :ids").bindparams(
                bindparam("ids", expanding=True)
            ),
            {"ids": ids},
        )
        rows = []
        for report in reports:
            title, body, more = report.title, _body(report), "\n".join(extra[report.id or 0])
            if postgres:
                rest = f"{body}\n{more}"
                rows.append(
                    {"id": report.id, "content": f"{title}\n{rest}", "title": title, "rest": rest}
                )
            else:
                rows.append({"id": report.id, "t": title, "b": body, "e": more})
        if rows:
            session.execute(text(_PG_INSERT if postgres else _SQLITE_INSERT), rows)


def reindex_all(session: Session) -> None:
    for report_id in session.exec(select(IntelReport.id)).all():
        if report_id is not None:
            reindex(session, report_id)
