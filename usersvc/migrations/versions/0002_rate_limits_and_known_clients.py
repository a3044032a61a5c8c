"""Shared, atomic sign-in and sign-up limits, and the clients known to each account.

`rate_limits` is runtime.ratelimit's table; `known_clients` exempts clients that
signed into an account before from that account's sign-in rate. The old
`sign_in_failures` stays (unused) so that the previous release keeps working
during the rollout; a later release drops it.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "users"


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("key_hash", sa.LargeBinary, primary_key=True),
        sa.Column("full_allowance_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_allowed", sa.Boolean, nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "known_clients",
        sa.Column(
            "account_id",
            UUID(as_uuid=True),
            sa.ForeignKey(f"{SCHEMA}.accounts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("client_hash", sa.LargeBinary, primary_key=True),
        sa.Column(
            "last_sign_in_time",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("known_clients", schema=SCHEMA)
    op.drop_table("rate_limits", schema=SCHEMA)
