"""Who played a song lately, so that a listener's plays count once per window.

Revision ID: 0003_listens
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_listens"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "listens",
        sa.Column("song_id", sa.UUID(), nullable=False),
        sa.Column("listener", sa.LargeBinary(), nullable=False),
        sa.Column("expire_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["song_id"], ["songs.songs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("song_id", "listener"),
        schema="songs",
    )
    op.create_index("listens_expiring", "listens", ["expire_time"], schema="songs")


def downgrade() -> None:
    op.drop_index("listens_expiring", table_name="listens", schema="songs")
    op.drop_table("listens", schema="songs")
