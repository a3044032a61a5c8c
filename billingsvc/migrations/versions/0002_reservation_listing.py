"""Indexes for ListReservations: oldest first, within one state or across all.

Reconciliation pages through the RESERVED reservations older than a grace
period; without an index every page scanned and sorted the whole table.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "billing"


def upgrade() -> None:
    op.create_index(
        "reservations_state_create_time",
        "reservations",
        ["state", "create_time", "song_id"],
        schema=SCHEMA,
    )
    op.create_index(
        "reservations_create_time", "reservations", ["create_time", "song_id"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_index("reservations_create_time", table_name="reservations", schema=SCHEMA)
    op.drop_index("reservations_state_create_time", table_name="reservations", schema=SCHEMA)
