"""usersvc's migrations build exactly the tables its code declares (the rate
limiter's included), and downgrade cleanly."""

from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from runtime import database
from usersvc.tables import metadata


@pytest.fixture
def scratch_url(database_server_url: str) -> Iterator[str]:
    url = database.create_scratch_database(database_server_url, prefix="neutone_users_mig")
    yield url
    database.drop_database(database_server_url, url)


def user_tables(url: str) -> set[str]:
    with psycopg.connect(url) as db:
        rows = db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'users'"
        ).fetchall()
    return {row[0] for row in rows} - {"alembic_version"}


def test_the_migrated_schema_is_the_declared_one(scratch_url: str) -> None:
    database.upgrade(scratch_url, ["usersvc"])
    engine = sa.create_engine(database.sqlalchemy_url(scratch_url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"include_schemas": True, "version_table_schema": "users"}
            )
            differences = [
                difference
                for difference in compare_metadata(context, metadata)
                if not (difference[0] == "remove_table" and difference[1].name == "alembic_version")
            ]
    finally:
        engine.dispose()
    assert differences == []


def test_downgrade_keeps_what_the_previous_release_needs(scratch_url: str) -> None:
    database.upgrade(scratch_url, ["usersvc"])
    assert user_tables(scratch_url) == {
        "accounts",
        "sessions",
        "sign_in_failures",
        "rate_limits",
        "known_clients",
        "api_keys",
        "revoked_credentials",
        "sign_ups",
        "password_resets",
        "outbox",
    }
    database.downgrade(scratch_url, ["usersvc"], "0001")
    assert user_tables(scratch_url) == {"accounts", "sessions", "sign_in_failures"}
    database.upgrade(scratch_url, ["usersvc"])
    assert "rate_limits" in user_tables(scratch_url)
