"""An index for the recent successful jobs that WatchSong's time estimate averages.

Without it every estimate scanned and sorted the whole jobs table.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "jobs_recently_succeeded",
        "jobs",
        [sa.text("finish_time DESC")],
        unique=False,
        schema="songs",
        postgresql_where=sa.text("state = 'succeeded'"),
    )


def downgrade() -> None:
    op.drop_index("jobs_recently_succeeded", table_name="jobs", schema="songs")
