"""Working on a song: lineage, takes, musical controls, stems, download formats,
and uploads.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SCHEMA = "songs"


def song_columns() -> tuple[sa.Column, ...]:
    return (
        sa.Column("task", sa.Text(), server_default="text_to_music", nullable=False),
        sa.Column("source_song_id", sa.UUID(), nullable=True),
        sa.Column("source_upload_id", sa.UUID(), nullable=True),
        sa.Column("section_start_seconds", sa.Float(), server_default="0", nullable=False),
        sa.Column("section_end_seconds", sa.Float(), server_default="0", nullable=False),
        sa.Column("cover_strength", sa.Float(), nullable=True),
        sa.Column("reference_upload_id", sa.UUID(), nullable=True),
        sa.Column("remix_allowed", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("take", sa.Integer(), server_default="1", nullable=False),
        sa.Column("bpm", sa.Integer(), nullable=True),
        sa.Column("key_scale", sa.Text(), nullable=True),
        sa.Column("time_signature", sa.Integer(), nullable=True),
        sa.Column("vocal_language", sa.Text(), nullable=True),
        sa.Column("stems", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
    )


def upgrade() -> None:
    for column in song_columns():
        op.add_column("songs", column, schema=SCHEMA)
    op.create_index(
        "songs_source_recent",
        "songs",
        ["source_song_id", sa.text("create_time DESC"), sa.text("id DESC")],
        schema=SCHEMA,
        postgresql_where=sa.text("source_song_id IS NOT NULL"),
    )
    op.create_table(
        "uploads",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("declared_size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("duration_seconds", sa.Float(), server_default="0", nullable=False),
        sa.Column("object_key", sa.Text(), nullable=False),
        sa.Column(
            "create_time",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expire_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        schema=SCHEMA,
    )
    op.create_index("uploads_owner", "uploads", ["owner_id"], schema=SCHEMA)
    op.create_index("uploads_expiring", "uploads", ["expire_time"], schema=SCHEMA)
    # A key binds every take it created, first to last.
    op.add_column(
        "idempotency_keys",
        sa.Column("song_ids", postgresql.ARRAY(sa.UUID()), nullable=True),
        schema=SCHEMA,
    )
    op.execute("UPDATE songs.idempotency_keys SET song_ids = ARRAY[song_id]")
    op.alter_column("idempotency_keys", "song_ids", nullable=False, schema=SCHEMA)
    op.drop_column("idempotency_keys", "song_id", schema=SCHEMA)


def downgrade() -> None:
    op.add_column("idempotency_keys", sa.Column("song_id", sa.UUID()), schema=SCHEMA)
    op.execute("UPDATE songs.idempotency_keys SET song_id = song_ids[1]")
    op.alter_column("idempotency_keys", "song_id", nullable=False, schema=SCHEMA)
    op.drop_column("idempotency_keys", "song_ids", schema=SCHEMA)
    op.drop_table("uploads", schema=SCHEMA)
    op.drop_index("songs_source_recent", table_name="songs", schema=SCHEMA)
    for column in reversed(song_columns()):
        op.drop_column("songs", column.name, schema=SCHEMA)
