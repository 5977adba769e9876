"""The full-text index behind hub.intel.search (table intel_search, built by migration
0004): refreshed by the application whenever a report or its comments change."""

from sqlalchemy import text
from sqlmodel import Session, select

from hub.intel.models import Comment, Indicator, IntelReport


def _document(session: Session, report_id: int) -> tuple[str, str, str]:
    report = session.get(IntelReport, report_id)
    assert report is not None
    comments = session.exec(select(Comment.body_md).where(Comment.report_id == report_id)).all()
    indicators = session.exec(
        select(Indicator.value, Indicator.normalised).where(Indicator.report_id == report_id)
    ).all()
    extra = "\n".join([*comments, *(f"{value} {norm}" for value, norm in indicators)])
    body = "\n".join(
        filter(
            None,
            [report.body_md, report.marketplace, report.brands_affected, report.products_affected],
        )
    )
    return report.title, body, extra


def reindex(session: Session, report_id: int) -> None:
    """Refresh one report's entry in the index (in the caller's transaction)."""
    title, body, extra = _document(session, report_id)
    session.execute(text("DELETE FROM intel_search WHERE report_id = :id"), {"id": report_id})
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "INSERT INTO intel_search (report_id, content, document) VALUES (:id, :content, "
                "setweight(to_tsvector('simple', :title), 'A') || to_tsvector('simple', :rest) || "
                # PostgreSQL keeps e-mails, hosts and +numbers whole; their parts count too.
                "to_tsvector('simple', regexp_replace(:rest, '[^[:alnum:]]+', ' ', 'g')))"
            ),
            {
                "id": report_id,
                "content": f"{title}\n{body}\n{extra}",
                "title": title,
                "rest": f"{body}\n{extra}",
            },
        )
    else:
        session.execute(
            text(
                "INSERT INTO intel_search (report_id, title, body, extra) VALUES (:id, :t, :b, :e)"
            ),
            {"id": report_id, "t": title, "b": body, "e": extra},
        )


def reindex_all(session: Session) -> None:
    for report_id in session.exec(select(IntelReport.id)).all():
        if report_id is not None:
            reindex(session, report_id)
