"""Idempotency keys that outlive their songs, job owners and deadlines, and the
durable outbox of credit releases.

Revision ID: 0004
Revises: 0003_listens
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003_listens"
branch_labels = None
depends_on = None

# Jobs queued before this revision get the default deadline from their enqueue time.
BACKFILLED_DEADLINE = "interval '30 minutes'"


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("owner_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("song_id", sa.UUID(), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(), nullable=True),
        sa.Column(
            "create_time",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("owner_id", "key"),
        schema="songs",
    )
    op.execute(
        "INSERT INTO songs.idempotency_keys (owner_id, key, song_id, create_time)"
        " SELECT owner_id, idempotency_key, id, create_time FROM songs.songs"
        " WHERE idempotency_key IS NOT NULL"
    )
    op.drop_index("songs_owner_idempotency_key", table_name="songs", schema="songs")
    op.drop_column("songs", "idempotency_key", schema="songs")
    op.create_index(
        "songs_owner_in_flight",
        "songs",
        ["owner_id"],
        schema="songs",
        postgresql_where=sa.text("status IN ('queued', 'processing')"),
    )

    op.add_column("jobs", sa.Column("owner_id", sa.UUID(), nullable=True), schema="songs")
    op.add_column(
        "jobs",
        sa.Column("deadline_time", sa.DateTime(timezone=True), nullable=True),
        schema="songs",
    )
    op.execute(
        "UPDATE songs.jobs SET owner_id = songs.owner_id,"
        f" deadline_time = jobs.enqueue_time + {BACKFILLED_DEADLINE}"
        " FROM songs.songs WHERE songs.id = jobs.song_id"
    )
    op.alter_column("jobs", "owner_id", nullable=False, schema="songs")
    op.alter_column("jobs", "deadline_time", nullable=False, schema="songs")

    op.create_table(
        "credit_releases",
        sa.Column("song_id", sa.UUID(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "create_time",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "next_attempt_time",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("song_id"),
        schema="songs",
    )
    op.create_index("credit_releases_due", "credit_releases", ["next_attempt_time"], schema="songs")


def downgrade() -> None:
    op.drop_index("credit_releases_due", table_name="credit_releases", schema="songs")
    op.drop_table("credit_releases", schema="songs")
    op.drop_column("jobs", "deadline_time", schema="songs")
    op.drop_column("jobs", "owner_id", schema="songs")
    op.drop_index("songs_owner_in_flight", table_name="songs", schema="songs")
    op.add_column("songs", sa.Column("idempotency_key", sa.Text(), nullable=True), schema="songs")
    op.execute(
        "UPDATE songs.songs SET idempotency_key = keys.key FROM songs.idempotency_keys keys"
        " WHERE keys.song_id = songs.id"
    )
    op.create_index(
        "songs_owner_idempotency_key",
        "songs",
        ["owner_id", "idempotency_key"],
        unique=True,
        schema="songs",
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.drop_table("idempotency_keys", schema="songs")
