"""Songs, likes, the feed index and the generation queue.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "songs",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=False),
        sa.Column("owner_display_name", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "title_from_owner", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("stage", sa.Text(), nullable=False),
        sa.Column("progress", sa.Float(), server_default="0", nullable=False),
        sa.Column("failure_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("mode", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("prompt", sa.Text(), server_default="", nullable=False),
        sa.Column("lyrics_input", sa.Text(), server_default="", nullable=False),
        sa.Column("instrumental", sa.Boolean(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("guidance_scale", sa.Float(), nullable=False),
        sa.Column("inference_steps", sa.Integer(), nullable=False),
        sa.Column("prompt_used", sa.Text(), nullable=True),
        sa.Column("lyrics_used", sa.Text(), nullable=True),
        sa.Column("categories", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("audio_key", sa.Text(), nullable=True),
        sa.Column("cover_key", sa.Text(), nullable=True),
        sa.Column("audio_duration_seconds", sa.Float(), server_default="0", nullable=False),
        sa.Column("published", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("like_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("play_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "create_time",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "update_time",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("publish_time", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        schema="songs",
    )
    op.create_index(
        "songs_owner_idempotency_key",
        "songs",
        ["owner_id", "idempotency_key"],
        unique=True,
        schema="songs",
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.create_index(
        "songs_owner_recent",
        "songs",
        ["owner_id", sa.literal_column("create_time DESC"), sa.literal_column("id DESC")],
        unique=False,
        schema="songs",
    )
    op.create_table(
        "feed_entries",
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("song_id", sa.UUID(), nullable=False),
        sa.Column("publish_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trending_score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["song_id"], ["songs.songs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("category", "song_id"),
        schema="songs",
    )
    op.create_index("feed_entries_song", "feed_entries", ["song_id"], unique=False, schema="songs")
    op.create_index(
        "feed_newest",
        "feed_entries",
        ["category", sa.literal_column("publish_time DESC"), sa.literal_column("song_id DESC")],
        unique=False,
        schema="songs",
    )
    op.create_index(
        "feed_trending",
        "feed_entries",
        ["category", sa.literal_column("trending_score DESC"), sa.literal_column("song_id DESC")],
        unique=False,
        schema="songs",
    )
    op.create_table(
        "jobs",
        sa.Column("song_id", sa.UUID(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("worker_id", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "enqueue_time",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "run_after", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("lease_expire_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finish_time", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["song_id"], ["songs.songs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("song_id"),
        schema="songs",
    )
    op.create_index(
        "jobs_claimable",
        "jobs",
        ["enqueue_time"],
        unique=False,
        schema="songs",
        postgresql_where=sa.text("state IN ('queued', 'running')"),
    )
    op.create_table(
        "likes",
        sa.Column("song_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column(
            "create_time",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["song_id"], ["songs.songs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("song_id", "account_id"),
        schema="songs",
    )


def downgrade() -> None:
    op.drop_table("likes", schema="songs")
    op.drop_index(
        "jobs_claimable",
        table_name="jobs",
        schema="songs",
        postgresql_where=sa.text("state IN ('queued', 'running')"),
    )
    op.drop_table("jobs", schema="songs")
    op.drop_index("feed_trending", table_name="feed_entries", schema="songs")
    op.drop_index("feed_newest", table_name="feed_entries", schema="songs")
    op.drop_index("feed_entries_song", table_name="feed_entries", schema="songs")
    op.drop_table("feed_entries", schema="songs")
    op.drop_index("songs_owner_recent", table_name="songs", schema="songs")
    op.drop_index(
        "songs_owner_idempotency_key",
        table_name="songs",
        schema="songs",
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.drop_table("songs", schema="songs")
