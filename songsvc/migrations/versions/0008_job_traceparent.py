"""The trace a job belongs to: the W3C `traceparent` of the CreateSong (or edit)
that queued it, which the worker continues (runtime.tracing). Null when tracing
was off.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SCHEMA = "songs"


def upgrade() -> None:
    op.add_column("jobs", sa.Column("traceparent", sa.Text(), nullable=True), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("jobs", "traceparent", schema=SCHEMA)
