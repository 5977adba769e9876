"""audit entries name a brand and an address; the log becomes append-only

The brand is the actor's (filled in for the entries already there), so brand admins can
read their brand's part of the log. Triggers refuse UPDATE and DELETE on audit_entry in
both databases. On SQLite a later batch migration that rebuilds this table drops its
triggers: such a revision must create them again (append_only_triggers below).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 11:57:45.795500
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSAL = "the audit log is append-only"


def upgrade() -> None:
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("brand_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("ip", sa.String(length=45), nullable=False, server_default="")
        )
        batch_op.create_index(batch_op.f("ix_audit_entry_brand_id"), ["brand_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_audit_entry_brand_id_brand"), "brand", ["brand_id"], ["id"]
        )
    op.execute(
        "UPDATE audit_entry SET brand_id = "
        "(SELECT person.brand_id FROM person WHERE person.id = audit_entry.actor_id)"
    )
    append_only_triggers()


def append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
            "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_entry_no_{event.lower()} BEFORE {event} ON audit_entry "
            f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_entry_append_only ON audit_entry")
        op.execute("DROP FUNCTION audit_entry_append_only()")
    else:
        op.execute("DROP TRIGGER audit_entry_no_update")
        op.execute("DROP TRIGGER audit_entry_no_delete")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_audit_entry_brand_id_brand"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_audit_entry_brand_id"))
        batch_op.drop_column("ip")
        batch_op.drop_column("brand_id")
