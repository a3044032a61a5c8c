"""billingsvc's migrations upgrade an empty database and downgrade to nothing."""

from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from billingsvc import tables
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
    assert created["tables"] == {
        "accounts",
        "entries",
        "reservations",
        "payment_events",
        "purchases",
        "refunds",
    }
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


ACCOUNT = "00000000-0000-0000-0000-000000000002"


def insert_entry(db: psycopg.Connection, kind: str, amount: int, balance_after: int, key: str):
    db.execute(
        "INSERT INTO billing.entries (account_id, kind, amount, balance_after, idempotency_key)"
        " VALUES (%s, %s, %s, %s, %s)",
        (ACCOUNT, kind, amount, balance_after, key),
    )


def test_only_a_clawback_takes_a_balance_below_zero(scratch_url: str) -> None:
    database.upgrade(scratch_url, ["billingsvc"])
    with psycopg.connect(scratch_url, autocommit=True) as db:
        db.execute("INSERT INTO billing.accounts (account_id) VALUES (%s)", (ACCOUNT,))
        insert_entry(db, "purchase", 10, 10, "order:o1")
        insert_entry(db, "song_charge", -10, 0, "charge:s1")
        insert_entry(db, "purchase_refund", -6, -6, "clawback:o1:6")
        insert_entry(db, "chargeback", -4, -10, "clawback:o1:10")
        # Credits coming in may leave a debt standing...
        insert_entry(db, "song_refund", 1, -9, "refund:s1")
        insert_entry(db, "purchase", 5, -4, "order:o2")
        # ...but nothing else takes the balance (further) below zero.
        for kind in ("song_charge", "welcome_grant"):
            with pytest.raises(psycopg.errors.CheckViolation):
                insert_entry(db, kind, -1, -5, f"{kind}:x")


def test_purchases_granted_before_refunds_are_recorded_for_them(scratch_url: str) -> None:
    database.upgrade(scratch_url, ["billingsvc"], revision="0002")
    with psycopg.connect(scratch_url, autocommit=True) as db:
        db.execute("INSERT INTO billing.accounts (account_id) VALUES (%s)", (ACCOUNT,))
        insert_entry(db, "purchase", 10, 10, "order:polar_1")
        insert_entry(db, "purchase", 25, 35, "order:local_1")
        insert_entry(db, "purchase", 50, 85, "order:lost_event")
        for event_id, data in (
            ("msg_1", '{"id": "polar_1", "net_amount": 450, "applied_balance_amount": 50}'),
            ("msg_2", '{"id": "local_1", "total_amount": 1000}'),
            ("msg_3", '{"id": "polar_1", "net_amount": 450}'),
        ):
            db.execute(
                "INSERT INTO billing.payment_events (event_id, type, payload)"
                " VALUES (%s, 'order.paid', jsonb_build_object('data', %s::jsonb))",
                (event_id, data),
            )
    database.upgrade(scratch_url, ["billingsvc"])
    with psycopg.connect(scratch_url) as db:
        rows = db.execute(
            "SELECT order_id, account_id::text, credits, paid_amount, reported_refunded_amount"
            " FROM billing.purchases ORDER BY order_id"
        ).fetchall()
    assert rows == [
        ("local_1", ACCOUNT, 25, 1000, 0),
        ("lost_event", ACCOUNT, 50, 0, 0),
        ("polar_1", ACCOUNT, 10, 500, 0),
    ]


def test_downgrade_refuses_to_drop_clawbacks(scratch_url: str) -> None:
    database.upgrade(scratch_url, ["billingsvc"])
    with psycopg.connect(scratch_url, autocommit=True) as db:
        db.execute("INSERT INTO billing.accounts (account_id) VALUES (%s)", (ACCOUNT,))
        insert_entry(db, "purchase", 10, 10, "order:o1")
        insert_entry(db, "chargeback", -10, 0, "clawback:o1:10")
    with pytest.raises(Exception, match="refusing to downgrade"):
        database.downgrade(scratch_url, ["billingsvc"], revision="0002")


def test_the_migrations_build_the_tables_the_service_declares(scratch_url: str) -> None:
    database.upgrade(scratch_url, ["billingsvc"])
    engine = sa.create_engine(database.sqlalchemy_url(scratch_url))
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_schemas": True, "version_table_schema": "billing"}
        )
        differences = compare_metadata(context, tables.metadata)
    engine.dispose()
    assert differences == []
