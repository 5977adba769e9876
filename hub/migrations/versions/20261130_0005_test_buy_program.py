"""test-buy program

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 03:11:26.521252
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "testbuy_campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("goal", sa.Text(), nullable=False),
        sa.Column("channels", sa.String(length=300), nullable=False),
        sa.Column("region", sa.String(length=120), nullable=False),
        sa.Column("opens_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("closes_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.Column("slots_taken", sa.Integer(), nullable=False),
        sa.Column("max_per_brand", sa.Integer(), nullable=False),
        sa.Column("budget", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("cost_rule", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("next_position", sa.Integer(), nullable=False),
        sa.Column("copied_from_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "max_per_brand >= 1", name=op.f("ck_testbuy_campaign_max_per_brand_positive")
        ),
        sa.CheckConstraint("slots >= 0", name=op.f("ck_testbuy_campaign_slots_not_negative")),
        sa.CheckConstraint(
            "slots_taken >= 0 AND slots_taken <= slots",
            name=op.f("ck_testbuy_campaign_not_overbooked"),
        ),
        sa.ForeignKeyConstraint(
            ["copied_from_id"],
            ["testbuy_campaign.id"],
            name=op.f("fk_testbuy_campaign_copied_from_id_testbuy_campaign"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["person.id"], name=op.f("fk_testbuy_campaign_created_by_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["working_group.id"],
            name=op.f("fk_testbuy_campaign_group_id_working_group"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testbuy_campaign")),
    )
    with op.batch_alter_table("testbuy_campaign", schema=None) as batch_op:
        batch_op.create_index("ix_testbuy_campaign_group_id_id", ["group_id", "id"], unique=False)

    op.create_table(
        "testbuy_persona",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("drop_address", sa.Text(), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=False),
        sa.Column("accounts", sa.Text(), nullable=False),
        sa.Column("burned_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("burned_reason", sa.String(length=500), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["person.id"], name=op.f("fk_testbuy_persona_created_by_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["working_group.id"],
            name=op.f("fk_testbuy_persona_group_id_working_group"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testbuy_persona")),
    )
    with op.batch_alter_table("testbuy_persona", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_testbuy_persona_group_id"), ["group_id"], unique=False)

    op.create_table(
        "testbuy_signup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.Column("granted", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("products", sa.Text(), nullable=False),
        sa.Column("targets", sa.Text(), nullable=False),
        sa.Column("approved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "granted >= 0 AND granted <= requested",
            name=op.f("ck_testbuy_signup_granted_within_request"),
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["person.id"], name=op.f("fk_testbuy_signup_approved_by_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["brand_id"], ["brand.id"], name=op.f("fk_testbuy_signup_brand_id_brand")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["testbuy_campaign.id"],
            name=op.f("fk_testbuy_signup_campaign_id_testbuy_campaign"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["person.id"], name=op.f("fk_testbuy_signup_created_by_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testbuy_signup")),
        sa.UniqueConstraint(
            "campaign_id", "brand_id", name=op.f("uq_testbuy_signup_campaign_id_brand_id")
        ),
    )
    with op.batch_alter_table("testbuy_signup", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_testbuy_signup_brand_id"), ["brand_id"], unique=False)
        batch_op.create_index(
            "ix_testbuy_signup_campaign_id_position", ["campaign_id", "position"], unique=False
        )

    op.create_table(
        "testbuy_purchase",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("signup_id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("marketplace", sa.String(length=120), nullable=False),
        sa.Column("seller", sa.String(length=200), nullable=False),
        sa.Column("listing_url", sa.String(length=1000), nullable=False),
        sa.Column("target_report_id", sa.Integer(), nullable=True),
        sa.Column("persona_id", sa.Integer(), nullable=True),
        sa.Column("order_number", sa.String(length=120), nullable=False),
        sa.Column("ordered_on", sa.Date(), nullable=True),
        sa.Column("shipped_on", sa.Date(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.Column("examined_on", sa.Date(), nullable=True),
        sa.Column("item_cost", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("shipping_cost", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("fees", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("cost_currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("verdict_note", sa.Text(), nullable=False),
        sa.Column("verdict_by_id", sa.Integer(), nullable=True),
        sa.Column("verdict_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["brand_id"], ["brand.id"], name=op.f("fk_testbuy_purchase_brand_id_brand")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["testbuy_campaign.id"],
            name=op.f("fk_testbuy_purchase_campaign_id_testbuy_campaign"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["person.id"], name=op.f("fk_testbuy_purchase_created_by_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["persona_id"],
            ["testbuy_persona.id"],
            name=op.f("fk_testbuy_purchase_persona_id_testbuy_persona"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["intel_report.id"],
            name=op.f("fk_testbuy_purchase_report_id_intel_report"),
        ),
        sa.ForeignKeyConstraint(
            ["signup_id"],
            ["testbuy_signup.id"],
            name=op.f("fk_testbuy_purchase_signup_id_testbuy_signup"),
        ),
        sa.ForeignKeyConstraint(
            ["target_report_id"],
            ["intel_report.id"],
            name=op.f("fk_testbuy_purchase_target_report_id_intel_report"),
        ),
        sa.ForeignKeyConstraint(
            ["verdict_by_id"], ["person.id"], name=op.f("fk_testbuy_purchase_verdict_by_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testbuy_purchase")),
    )
    with op.batch_alter_table("testbuy_purchase", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_testbuy_purchase_brand_id"), ["brand_id"], unique=False
        )
        batch_op.create_index(
            "ix_testbuy_purchase_campaign_id_id", ["campaign_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_testbuy_purchase_persona_id"), ["persona_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_testbuy_purchase_signup_id"), ["signup_id"], unique=False
        )

    op.create_table(
        "testbuy_signup_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("signup_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_testbuy_signup_event_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["signup_id"],
            ["testbuy_signup.id"],
            name=op.f("fk_testbuy_signup_event_signup_id_testbuy_signup"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testbuy_signup_event")),
    )
    with op.batch_alter_table("testbuy_signup_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_testbuy_signup_event_signup_id"), ["signup_id"], unique=False
        )

    op.create_table(
        "testbuy_signup_target",
        sa.Column("signup_id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["intel_report.id"],
            name=op.f("fk_testbuy_signup_target_report_id_intel_report"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["signup_id"],
            ["testbuy_signup.id"],
            name=op.f("fk_testbuy_signup_target_signup_id_testbuy_signup"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("signup_id", "report_id", name=op.f("pk_testbuy_signup_target")),
    )
    op.create_table(
        "testbuy_custody",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purchase_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("occurred_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("from_party", sa.String(length=200), nullable=False),
        sa.Column("to_party", sa.String(length=200), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=300), nullable=False),
        sa.Column("seal_number", sa.String(length=80), nullable=False),
        sa.Column("seal_intact", sa.Boolean(), nullable=True),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["purchase_id"],
            ["testbuy_purchase.id"],
            name=op.f("fk_testbuy_custody_purchase_id_testbuy_purchase"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["person.id"], name=op.f("fk_testbuy_custody_recorded_by_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testbuy_custody")),
        sa.UniqueConstraint("purchase_id", "seq", name=op.f("uq_testbuy_custody_purchase_id_seq")),
    )
    op.create_table(
        "testbuy_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purchase_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=60), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["purchase_id"],
            ["testbuy_purchase.id"],
            name=op.f("fk_testbuy_evidence_purchase_id_testbuy_purchase"),
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["person.id"],
            name=op.f("fk_testbuy_evidence_uploaded_by_id_person"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testbuy_evidence")),
    )
    with op.batch_alter_table("testbuy_evidence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_testbuy_evidence_purchase_id"), ["purchase_id"], unique=False
        )

    op.create_table(
        "testbuy_purchase_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purchase_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=12), nullable=False),
        sa.Column("to_status", sa.String(length=12), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_testbuy_purchase_event_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["purchase_id"],
            ["testbuy_purchase.id"],
            name=op.f("fk_testbuy_purchase_event_purchase_id_testbuy_purchase"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_testbuy_purchase_event")),
    )
    with op.batch_alter_table("testbuy_purchase_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_testbuy_purchase_event_purchase_id"), ["purchase_id"], unique=False
        )

    with op.batch_alter_table("notification", schema=None) as batch_op:
        # Existing notifications point at their report; the default fills them.
        batch_op.add_column(
            sa.Column("link", sa.String(length=300), nullable=False, server_default="")
        )

    _make_custody_append_only()


# The custody log is evidence: the database itself refuses to change or remove an entry.
CUSTODY_REFUSAL = "testbuy_custody is append-only: entries are never changed or removed"


def _make_custody_append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION testbuy_custody_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            f"RAISE EXCEPTION '{CUSTODY_REFUSAL}'; "
            "END $$"
        )
        op.execute(
            "CREATE TRIGGER testbuy_custody_append_only BEFORE UPDATE OR DELETE "
            "ON testbuy_custody FOR EACH ROW EXECUTE FUNCTION testbuy_custody_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER testbuy_custody_no_{event.lower()} BEFORE {event} "
                f"ON testbuy_custody BEGIN SELECT RAISE(ABORT, '{CUSTODY_REFUSAL}'); END"
            )


def _drop_custody_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS testbuy_custody_append_only ON testbuy_custody")
        op.execute("DROP FUNCTION IF EXISTS testbuy_custody_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS testbuy_custody_no_update")
        op.execute("DROP TRIGGER IF EXISTS testbuy_custody_no_delete")


def downgrade() -> None:
    _drop_custody_triggers()
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_column("link")

    with op.batch_alter_table("testbuy_purchase_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_testbuy_purchase_event_purchase_id"))

    op.drop_table("testbuy_purchase_event")
    with op.batch_alter_table("testbuy_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_testbuy_evidence_purchase_id"))

    op.drop_table("testbuy_evidence")
    op.drop_table("testbuy_custody")
    op.drop_table("testbuy_signup_target")
    with op.batch_alter_table("testbuy_signup_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_testbuy_signup_event_signup_id"))

    op.drop_table("testbuy_signup_event")
    with op.batch_alter_table("testbuy_purchase", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_testbuy_purchase_signup_id"))
        batch_op.drop_index(batch_op.f("ix_testbuy_purchase_persona_id"))
        batch_op.drop_index("ix_testbuy_purchase_campaign_id_id")
        batch_op.drop_index(batch_op.f("ix_testbuy_purchase_brand_id"))

    op.drop_table("testbuy_purchase")
    with op.batch_alter_table("testbuy_signup", schema=None) as batch_op:
        batch_op.drop_index("ix_testbuy_signup_campaign_id_position")
        batch_op.drop_index(batch_op.f("ix_testbuy_signup_brand_id"))

    op.drop_table("testbuy_signup")
    with op.batch_alter_table("testbuy_persona", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_testbuy_persona_group_id"))

    op.drop_table("testbuy_persona")
    with op.batch_alter_table("testbuy_campaign", schema=None) as batch_op:
        batch_op.drop_index("ix_testbuy_campaign_group_id_id")

    op.drop_table("testbuy_campaign")
