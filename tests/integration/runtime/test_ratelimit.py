"""The rate limiter against the real PostgreSQL: one statement checks and counts,
so parallel callers can never all pass, and waiting callers are spaced out."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest
import sqlalchemy as sa

from runtime import database
from runtime.database import Database
from runtime.ratelimit import Limit, RateLimiter, rate_limit_table


@pytest.fixture
async def limiter(database_url: str) -> AsyncIterator[tuple[RateLimiter, sa.Table]]:
    """A limiter on a table of its own (in a schema of its own), with enough
    connections that 50 calls really run at once."""
    metadata = sa.MetaData(schema=f"ratelimit_{uuid.uuid4().hex[:8]}")
    table = rate_limit_table(metadata)
    engine = database.create_engine(database_url, pool_size=25)
    async with engine.begin() as db:
        await db.execute(sa.text(f'CREATE SCHEMA "{metadata.schema}"'))
        await db.run_sync(metadata.create_all)
    try:
        yield RateLimiter(Database(engine), table), table
    finally:
        async with engine.begin() as db:
            await db.execute(sa.text(f'DROP SCHEMA "{metadata.schema}" CASCADE'))
        await engine.dispose()


async def test_fifty_parallel_calls_with_a_limit_of_five_let_exactly_five_pass(limiter) -> None:
    rate_limiter, _ = limiter
    limit = Limit(count=5, window_seconds=900)
    start = asyncio.Event()

    async def one() -> bool:
        await start.wait()
        return (await rate_limiter.acquire("parallel", limit)).allowed

    calls = [asyncio.create_task(one()) for _ in range(50)]
    start.set()
    decisions = await asyncio.gather(*calls)
    assert sum(decisions) == 5


async def test_refused_calls_say_when_to_retry_and_other_keys_are_untouched(limiter) -> None:
    rate_limiter, _ = limiter
    limit = Limit(count=3, window_seconds=30)
    assert all([(await rate_limiter.acquire("a", limit)).allowed for _ in range(3)])
    refused = await rate_limiter.acquire("a", limit)
    assert not refused.allowed
    # One share (10 s) comes back first.
    assert 9 < refused.retry_after_seconds <= 10
    assert refused.retry_after_whole_seconds == 10
    assert (await rate_limiter.acquire("b", limit)).allowed


async def test_one_call_is_allowed_again_per_share_of_the_window(limiter) -> None:
    rate_limiter, _ = limiter
    limit = Limit(count=2, window_seconds=1)
    assert (await rate_limiter.acquire("k", limit)).allowed
    assert (await rate_limiter.acquire("k", limit)).allowed
    assert not (await rate_limiter.acquire("k", limit)).allowed
    await asyncio.sleep(0.55)
    assert (await rate_limiter.acquire("k", limit)).allowed
    assert not (await rate_limiter.acquire("k", limit)).allowed


async def test_callers_that_accept_to_wait_get_turns_one_share_apart(limiter) -> None:
    rate_limiter, _ = limiter
    limit = Limit(count=2, window_seconds=10)  # a share is 5 s
    waits = [await rate_limiter.acquire("queue", limit, max_wait_seconds=12) for _ in range(6)]
    allowed = [decision.wait_seconds for decision in waits if decision.allowed]
    # Two at once, then turns at 5 and 10 s; a turn 15 s away does not fit in 12.
    assert [round(wait) for wait in allowed] == [0, 0, 5, 10]
    assert [decision.allowed for decision in waits[4:]] == [False, False]
    assert 4 < waits[4].retry_after_seconds <= 15


async def test_parallel_waiting_callers_each_get_a_turn_of_their_own(limiter) -> None:
    rate_limiter, _ = limiter
    limit = Limit(count=1, window_seconds=1)
    decisions = await asyncio.gather(
        *(rate_limiter.acquire("turns", limit, max_wait_seconds=100) for _ in range(20))
    )
    assert sorted(round(decision.wait_seconds) for decision in decisions) == list(range(20))


async def test_refund_gives_one_call_back_and_reset_all(limiter) -> None:
    rate_limiter, _ = limiter
    limit = Limit(count=2, window_seconds=600)
    for _ in range(2):
        await rate_limiter.acquire("r", limit)
    assert not (await rate_limiter.acquire("r", limit)).allowed
    await rate_limiter.refund("r", limit)
    assert (await rate_limiter.acquire("r", limit)).allowed
    assert not (await rate_limiter.acquire("r", limit)).allowed
    await rate_limiter.reset("r")
    assert all([(await rate_limiter.acquire("r", limit)).allowed for _ in range(2)])


async def test_prune_deletes_only_keys_whose_allowance_is_back(limiter, database_url) -> None:
    rate_limiter, table = limiter
    # The first call also prunes now and then: "short" comes after it, or a slow machine
    # could see that prune remove it already.
    await rate_limiter.acquire("long", Limit(count=10, window_seconds=600))
    await rate_limiter.acquire("short", Limit(count=10, window_seconds=0.1))
    await asyncio.sleep(0.2)
    assert await rate_limiter.prune() == 1
    with psycopg.connect(database_url) as db:
        left = db.execute(f'SELECT count(*) FROM "{table.schema}".rate_limits').fetchone()[0]
    assert left == 1


async def test_keys_are_not_stored_in_the_clear(limiter, database_url) -> None:
    rate_limiter, table = limiter
    await rate_limiter.acquire("sign-in:ada@example.com", Limit(count=1, window_seconds=60))
    with psycopg.connect(database_url) as db:
        (stored,) = db.execute(f'SELECT key_hash FROM "{table.schema}".rate_limits').fetchone()
    assert b"ada" not in bytes(stored)
