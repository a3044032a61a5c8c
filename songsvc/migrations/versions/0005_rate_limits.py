"""runtime.ratelimit's table in songsvc's schema (likes and unlikes per person).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("key_hash", sa.LargeBinary(), primary_key=True),
        sa.Column("full_allowance_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_allowed", sa.Boolean(), nullable=False),
        schema="songs",
    )


def downgrade() -> None:
    op.drop_table("rate_limits", schema="songs")
