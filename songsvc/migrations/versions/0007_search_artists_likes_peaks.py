"""Finding songs: full-text search over published songs, artists' published
songs, an account's likes newest first, and each song's waveform peaks.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SCHEMA = "songs"
# As songsvc.tables.SEARCH_DOCUMENT: a migration keeps the expression it created.
SEARCH_DOCUMENT = (
    "setweight(to_tsvector('simple'::regconfig, title || ' ' || owner_display_name), 'A')"
    " || setweight(to_tsvector('simple'::regconfig,"
    " description || ' ' || prompt || ' ' || coalesce(prompt_used, '')), 'B')"
    " || setweight(to_tsvector('simple'::regconfig, coalesce(lyrics_used, '')), 'C')"
)


def upgrade() -> None:
    op.add_column("songs", sa.Column("peaks", sa.LargeBinary(), nullable=True), schema=SCHEMA)
    op.add_column(
        "songs",
        sa.Column(
            "search_document",
            postgresql.TSVECTOR(),
            sa.Computed(SEARCH_DOCUMENT, persisted=True),
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "songs_search",
        "songs",
        ["search_document"],
        schema=SCHEMA,
        postgresql_using="gin",
        postgresql_where=sa.text("published"),
    )
    op.create_index(
        "songs_owner_published",
        "songs",
        ["owner_id", sa.text("publish_time DESC"), sa.text("id DESC")],
        schema=SCHEMA,
        postgresql_where=sa.text("published"),
    )
    op.create_index(
        "likes_account_recent",
        "likes",
        ["account_id", sa.text("create_time DESC"), sa.text("song_id DESC")],
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_index("likes_account_recent", table_name="likes", schema=SCHEMA)
    op.drop_index("songs_owner_published", table_name="songs", schema=SCHEMA)
    op.drop_index("songs_search", table_name="songs", schema=SCHEMA)
    op.drop_column("songs", "search_document", schema=SCHEMA)
    op.drop_column("songs", "peaks", schema=SCHEMA)
