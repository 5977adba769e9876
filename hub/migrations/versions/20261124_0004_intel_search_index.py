"""intel search index: FTS5 on SQLite, tsvector + GIN on PostgreSQL

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 02:55:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The index is not a model: hub.db.managed_by_alembic keeps autogenerate away from it.


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TABLE intel_search ("
            " report_id INTEGER PRIMARY KEY REFERENCES intel_report(id) ON DELETE CASCADE,"
            " content TEXT NOT NULL,"
            " document TSVECTOR NOT NULL)"
        )
        op.execute("CREATE INDEX ix_intel_search_document ON intel_search USING GIN (document)")
        op.execute(
            "INSERT INTO intel_search (report_id, content, document) "
            "SELECT id, title || ' ' || body_md, "
            "setweight(to_tsvector('simple', title), 'A') || to_tsvector('simple', body_md) "
            "FROM intel_report"
        )
    else:
        op.execute(
            "CREATE VIRTUAL TABLE intel_search USING fts5("
            "report_id UNINDEXED, title, body, extra, tokenize = 'unicode61 remove_diacritics 2')"
        )
        op.execute(
            "INSERT INTO intel_search (report_id, title, body, extra) "
            "SELECT id, title, body_md, '' FROM intel_report"
        )


def downgrade() -> None:
    op.execute("DROP TABLE intel_search")
