"""The credit ledger, song reservations and payment events.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "billing"


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "entries",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "account_id",
            UUID(as_uuid=True),
            sa.ForeignKey(f"{SCHEMA}.accounts.account_id"),
            nullable=False,
        ),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("balance_after", sa.Integer, nullable=False),
        sa.Column("idempotency_key", sa.Text, nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("song_id", UUID(as_uuid=True)),
        sa.Column(
            "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint(
            "kind IN ('welcome_grant', 'purchase', 'song_charge', 'song_refund')",
            name="entries_kind",
        ),
        sa.CheckConstraint("amount <> 0", name="entries_amount_nonzero"),
        sa.CheckConstraint("balance_after >= 0", name="entries_balance_not_negative"),
        schema=SCHEMA,
    )
    op.create_index("entries_account_id_id", "entries", ["account_id", "id"], schema=SCHEMA)
    # The ledger is append-only: the database itself refuses to rewrite history.
    op.execute(
        f"""
        CREATE FUNCTION {SCHEMA}.entries_are_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'billing.entries is append-only: % refused', TG_OP;
        END
        $$
        """
    )
    op.execute(
        f"""
        CREATE TRIGGER entries_are_append_only
        BEFORE UPDATE OR DELETE ON {SCHEMA}.entries
        FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.entries_are_append_only()
        """
    )
    op.create_table(
        "reservations",
        sa.Column("song_id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "account_id",
            UUID(as_uuid=True),
            sa.ForeignKey(f"{SCHEMA}.accounts.account_id"),
            nullable=False,
        ),
        sa.Column("credits", sa.Integer, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column(
            "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "update_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint(
            "state IN ('reserved', 'committed', 'released')", name="reservations_state"
        ),
        sa.CheckConstraint("credits > 0", name="reservations_credits_positive"),
        schema=SCHEMA,
    )
    op.create_table(
        "payment_events",
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column(
            "received_time",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.Column("payload", JSONB, nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("payment_events", schema=SCHEMA)
    op.drop_table("reservations", schema=SCHEMA)
    op.drop_table("entries", schema=SCHEMA)
    op.execute(f"DROP FUNCTION {SCHEMA}.entries_are_append_only()")
    op.drop_table("accounts", schema=SCHEMA)
