"""The connection pool against a real PostgreSQL: reads each statement on its own,
writes in one transaction, and connections that die under it, as they do when the
database restarts."""

import psycopg
import pytest
import sqlalchemy as sa

from runtime import database

BACKEND_PID = sa.text("SELECT pg_backend_pid()")
TRANSACTION_ID = sa.text("SELECT txid_current()")


def terminate(database_url: str, pid: int) -> None:
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


async def test_an_idle_connection_that_died_is_replaced_unnoticed(database_url: str) -> None:
    engine = database.create_engine(database_url, pool_size=1, ping_after_idle_seconds=0)
    try:
        async with engine.connect() as db:
            first = (await db.execute(BACKEND_PID)).scalar_one()
        terminate(database_url, first)
        async with engine.connect() as db:
            second = (await db.execute(BACKEND_PID)).scalar_one()
        assert second != first
    finally:
        await engine.dispose()


async def test_a_busy_connection_that_died_fails_once_then_the_pool_is_fresh(
    database_url: str,
) -> None:
    # Used again at once, a connection is not tested first (no round trip): the
    # statement that meets the dead connection fails, and the pool starts over.
    engine = database.create_engine(database_url, pool_size=2, ping_after_idle_seconds=3600)
    try:
        async with engine.connect() as db, engine.connect() as other:
            pids = {
                (await db.execute(BACKEND_PID)).scalar_one(),
                (await other.execute(BACKEND_PID)).scalar_one(),
            }
        for pid in pids:
            terminate(database_url, pid)
        with pytest.raises(sa.exc.OperationalError) as failed:
            async with engine.connect() as db:
                await db.execute(BACKEND_PID)
        assert failed.value.connection_invalidated
        async with engine.connect() as db:
            assert (await db.execute(BACKEND_PID)).scalar_one() not in pids
    finally:
        await engine.dispose()


async def test_reads_run_each_statement_on_its_own_and_writes_in_one_transaction(
    database_url: str,
) -> None:
    # One connection, so the reads after a transaction are on the connection it used.
    db = database.Database(database.create_engine(database_url, pool_size=1, autocommit=True))
    try:
        for _ in range(2):
            async with db.connection() as reads:
                first, second = [
                    (await reads.execute(TRANSACTION_ID)).scalar_one() for _ in range(2)
                ]
            assert first != second
            async with db.transaction() as writes:
                first, second = [
                    (await writes.execute(TRANSACTION_ID)).scalar_one() for _ in range(2)
                ]
                level = (await writes.execute(sa.text("SHOW transaction_isolation"))).scalar_one()
            assert (first, level) == (second, "read committed")
    finally:
        await db.close()
