"""Refunds and chargebacks: the purchases and refunds they are computed from,
two clawback entry kinds, and balances that only a clawback takes below zero.

Purchases granted before this revision are recorded from their PURCHASE entry
and the `order.paid` event billing kept, so they can be refunded too.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "billing"
KINDS_BEFORE = "kind IN ('welcome_grant', 'purchase', 'song_charge', 'song_refund')"
KINDS_AFTER = (
    "kind IN ('welcome_grant', 'purchase', 'song_charge', 'song_refund',"
    " 'purchase_refund', 'chargeback')"
)
BALANCE_BEFORE = "balance_after >= 0"
BALANCE_AFTER = "balance_after >= 0 OR amount > 0 OR kind IN ('purchase_refund', 'chargeback')"


def _number(field: str) -> str:
    """An integer field of the kept order.paid payload, or NULL."""
    value = f"event.payload -> 'data' -> '{field}'"
    return f"CASE WHEN jsonb_typeof({value}) = 'number' THEN ({value})::text::numeric::bigint END"


def upgrade() -> None:
    op.drop_constraint("entries_kind", "entries", schema=SCHEMA, type_="check")
    op.create_check_constraint("entries_kind", "entries", KINDS_AFTER, schema=SCHEMA)
    op.drop_constraint("entries_balance_not_negative", "entries", schema=SCHEMA, type_="check")
    op.create_check_constraint(
        "entries_balance_negative_only_by_clawback", "entries", BALANCE_AFTER, schema=SCHEMA
    )
    op.add_column("entries", sa.Column("order_id", sa.Text), schema=SCHEMA)
    op.create_index(
        "entries_order_id",
        "entries",
        ["order_id"],
        schema=SCHEMA,
        postgresql_where=sa.text("order_id IS NOT NULL"),
    )

    op.create_table(
        "purchases",
        sa.Column("order_id", sa.Text, primary_key=True),
        sa.Column(
            "account_id",
            UUID(as_uuid=True),
            sa.ForeignKey(f"{SCHEMA}.accounts.account_id"),
            nullable=False,
        ),
        sa.Column("credits", sa.Integer, nullable=False),
        sa.Column("paid_amount", sa.BigInteger, nullable=False),
        sa.Column("reported_refunded_amount", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column(
            "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("credits > 0", name="purchases_credits_positive"),
        sa.CheckConstraint("paid_amount >= 0", name="purchases_paid_amount_not_negative"),
        sa.CheckConstraint(
            "reported_refunded_amount >= 0",
            name="purchases_reported_refunded_amount_not_negative",
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "refunds",
        sa.Column("refund_id", sa.Text, primary_key=True),
        sa.Column("order_id", sa.Text, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("disputed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column(
            "update_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("amount >= 0", name="refunds_amount_not_negative"),
        schema=SCHEMA,
    )
    op.create_index("refunds_order_id", "refunds", ["order_id"], schema=SCHEMA)

    # The paid amount as Polar measures refunds against it: the net amount plus
    # any customer balance applied; older local events only carried a total.
    paid_amount = (
        f"COALESCE({_number('net_amount')} + COALESCE({_number('applied_balance_amount')}, 0),"
        f" {_number('total_amount')}, 0)"
    )
    op.execute(
        f"""
        INSERT INTO {SCHEMA}.purchases (order_id, account_id, credits, paid_amount, create_time)
        SELECT DISTINCT ON (entry.idempotency_key)
               substr(entry.idempotency_key, length('order:') + 1), entry.account_id,
               entry.amount, GREATEST({paid_amount}, 0), entry.create_time
        FROM {SCHEMA}.entries AS entry
        LEFT JOIN {SCHEMA}.payment_events AS event
               ON event.type = 'order.paid'
              AND event.payload -> 'data' ->> 'id'
                  = substr(entry.idempotency_key, length('order:') + 1)
        WHERE entry.kind = 'purchase' AND entry.idempotency_key LIKE 'order:%'
        ORDER BY entry.idempotency_key, event.received_time
        """
    )


def downgrade() -> None:
    op.drop_table("refunds", schema=SCHEMA)
    op.drop_table("purchases", schema=SCHEMA)
    # The clawbacks stay in the append-only ledger; the old rules cannot hold them.
    op.execute(
        f"""
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM {SCHEMA}.entries
                       WHERE kind IN ('purchase_refund', 'chargeback')) THEN
                RAISE EXCEPTION 'billing.entries holds refund or chargeback clawbacks: '
                                'refusing to downgrade below revision 0003';
            END IF;
        END
        $$
        """
    )
    op.drop_index("entries_order_id", table_name="entries", schema=SCHEMA)
    op.drop_column("entries", "order_id", schema=SCHEMA)
    op.drop_constraint(
        "entries_balance_negative_only_by_clawback", "entries", schema=SCHEMA, type_="check"
    )
    op.create_check_constraint(
        "entries_balance_not_negative", "entries", BALANCE_BEFORE, schema=SCHEMA
    )
    op.drop_constraint("entries_kind", "entries", schema=SCHEMA, type_="check")
    op.create_check_constraint("entries_kind", "entries", KINDS_BEFORE, schema=SCHEMA)
