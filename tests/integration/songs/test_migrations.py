"""songsvc's migrations match its tables, and 0007 serves songs made before it."""

import uuid

import psycopg
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from runtime import database
from songsvc import tables


def differences(url: str) -> list:
    engine = sa.create_engine(database.sqlalchemy_url(url))
    try:
        with engine.connect() as db:
            context = MigrationContext.configure(
                db,
                opts={
                    "include_schemas": True,
                    "include_name": lambda name, kind, _: kind != "schema" or name == "songs",
                },
            )
            return [
                change
                for change in compare_metadata(context, tables.metadata)
                if not (change[0] == "remove_table" and change[1].name == "alembic_version")
            ]
    finally:
        engine.dispose()


def test_the_migrations_make_the_tables_songsvc_declares(scratch_url: str) -> None:
    database.upgrade(scratch_url, ["songsvc"])
    assert differences(scratch_url) == []
    database.downgrade(scratch_url, ["songsvc"], revision="0006")
    database.upgrade(scratch_url, ["songsvc"])
    assert differences(scratch_url) == []


def test_songs_published_before_search_are_found(scratch_url: str) -> None:
    database.upgrade(scratch_url, ["songsvc"], revision="0006")
    song_id = uuid.uuid4()
    with psycopg.connect(scratch_url, autocommit=True) as db:
        db.execute(
            "INSERT INTO songs.songs (id, owner_id, owner_display_name, status, stage, mode,"
            " instrumental, duration_seconds, seed, guidance_scale, inference_steps, title,"
            " lyrics_used, published, publish_time) VALUES (%s, %s, 'Ana', 'ready', 'done',"
            " 'description', false, 30, 1, 7, 8, 'Summer Nights', 'la la', true, now())",
            (song_id, uuid.uuid4()),
        )
    database.upgrade(scratch_url, ["songsvc"])
    with psycopg.connect(scratch_url) as db:
        found = db.execute(
            "SELECT id, peaks FROM songs.songs WHERE published"
            " AND search_document @@ to_tsquery('simple', 'summ:* & ana:*')"
        ).fetchall()
    assert found == [(song_id, None)]
