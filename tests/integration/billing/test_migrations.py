"""billingsvc's migrations upgrade an empty database and downgrade to nothing."""

from collections.abc import Iterator

import psycopg
import pytest

from runtime import database


@pytest.fixture
def scratch_url(database_server_url: str) -> Iterator[str]:
    url = database.create_scratch_database(database_server_url, prefix="neutone_billing_mig")
    yield url
    database.drop_database(database_server_url, url)


def billing_objects(url: str) -> dict[str, set[str]]:
    with psycopg.connect(url) as db:
        tables = db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'billing'"
        ).fetchall()
        functions = db.execute(
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'billing'"
        ).fetchall()
        sequences = db.execute(
            "SELECT sequence_name FROM information_schema.sequences"
            " WHERE sequence_schema = 'billing'"
        ).fetchall()
    return {
        "tables": {row[0] for row in tables} - {"alembic_version"},
        "functions": {row[0] for row in functions},
        "sequences": {row[0] for row in sequences},
    }


def test_upgrade_downgrade_upgrade(scratch_url: str) -> None:
    database.upgrade(scratch_url, ["billingsvc"])
    created = billing_objects(scratch_url)
    assert created["tables"] == {"accounts", "entries", "reservations", "payment_events"}
    assert created["functions"] == {"entries_are_append_only"}

    database.downgrade(scratch_url, ["billingsvc"])
    assert billing_objects(scratch_url) == {"tables": set(), "functions": set(), "sequences": set()}

    database.upgrade(scratch_url, ["billingsvc"])
    assert billing_objects(scratch_url) == created


def test_the_ledger_refuses_updates_and_deletes(scratch_url: str) -> None:
    database.upgrade(scratch_url, ["billingsvc"])
    with psycopg.connect(scratch_url) as db:
        db.execute(
            "INSERT INTO billing.accounts (account_id) VALUES ('00000000-0000-0000-0000-000000000001')"
        )
        db.execute(
            "INSERT INTO billing.entries (account_id, kind, amount, balance_after, idempotency_key)"
            " VALUES ('00000000-0000-0000-0000-000000000001', 'welcome_grant', 3, 3, 'welcome:1')"
        )
        db.commit()
        for statement in (
            "UPDATE billing.entries SET amount = 300",
            "DELETE FROM billing.entries",
        ):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                db.execute(statement)
            db.rollback()
        with pytest.raises(psycopg.errors.CheckViolation):
            db.execute(
                "INSERT INTO billing.entries"
                " (account_id, kind, amount, balance_after, idempotency_key) VALUES"
                " ('00000000-0000-0000-0000-000000000001', 'song_charge', -4, -1, 'charge:x')"
            )
