"""API keys, and the credentials revoked lately that every service reads.

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

SCHEMA = "users"


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column(
            "id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")
        ),
        sa.Column(
            "account_id",
            UUID(as_uuid=True),
            sa.ForeignKey(f"{SCHEMA}.accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("secret_hash", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("secret_prefix", sa.Text, nullable=False),
        sa.Column(
            "create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("expire_time", sa.DateTime(timezone=True)),
        sa.Column("revoke_time", sa.DateTime(timezone=True)),
        sa.Column("last_use_time", sa.DateTime(timezone=True)),
        schema=SCHEMA,
    )
    op.create_index(
        "api_keys_account_recent",
        "api_keys",
        ["account_id", sa.text("create_time DESC"), sa.text("id DESC")],
        schema=SCHEMA,
    )
    op.create_table(
        "revoked_credentials",
        sa.Column("credential", sa.Text, primary_key=True),
        sa.Column(
            "revoke_time",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.clock_timestamp(),
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "revoked_credentials_time", "revoked_credentials", ["revoke_time"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_table("revoked_credentials", schema=SCHEMA)
    op.drop_table("api_keys", schema=SCHEMA)
