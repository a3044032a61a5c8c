"""Account management: sign-ups waiting for confirmation, password reset links,
and the outbox of mail and of what other services must be told.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "users"


def _times() -> list[sa.Column]:
    return [
        sa.Column(
            "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("expire_time", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "sign_ups",
        sa.Column("token_hash", sa.LargeBinary, primary_key=True),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        *_times(),
        schema=SCHEMA,
    )
    op.create_index("ix_users_sign_ups_expire_time", "sign_ups", ["expire_time"], schema=SCHEMA)
    op.create_table(
        "password_resets",
        sa.Column("token_hash", sa.LargeBinary, primary_key=True),
        sa.Column(
            "account_id",
            UUID(as_uuid=True),
            sa.ForeignKey(f"{SCHEMA}.accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        *_times(),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_users_password_resets_account_id", "password_resets", ["account_id"], schema=SCHEMA
    )
    op.create_index(
        "ix_users_password_resets_expire_time", "password_resets", ["expire_time"], schema=SCHEMA
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("task", sa.Text, nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column(
            "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "next_attempt_time",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        schema=SCHEMA,
    )
    op.create_index("outbox_due", "outbox", ["next_attempt_time"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("outbox", schema=SCHEMA)
    op.drop_table("password_resets", schema=SCHEMA)
    op.drop_table("sign_ups", schema=SCHEMA)
