"""Accounts detached from their person when the account is deleted.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "billing"


def upgrade() -> None:
    op.add_column("accounts", sa.Column("detach_time", sa.DateTime(timezone=True)), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("accounts", "detach_time", schema=SCHEMA)
