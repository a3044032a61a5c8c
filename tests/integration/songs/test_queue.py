"""The generation queue's claims (songsvc.jobs) against a real PostgreSQL: owners
take turns, and jobs past their deadline are handed out to be given up."""

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from runtime import database
from songsvc import jobs, store
from songsvc.records import Mode
from songsvc.tables import jobs as jobs_table


@pytest.fixture(scope="module")
def queue_database(database_server_url: str) -> Iterator[str]:
    """A database of its own: claims must not meet other tests' queued jobs."""
    url = database.create_scratch_database(database_server_url, prefix="neutone_queue")
    database.upgrade(url, ["songsvc"])
    yield url
    database.drop_database(database_server_url, url)


@pytest.fixture
async def engine(queue_database: str) -> AsyncIterator[AsyncEngine]:
    engine = database.create_engine(queue_database, pool_size=2)
    async with engine.begin() as db:
        await db.execute(sa.text("TRUNCATE songs.songs CASCADE"))
    yield engine
    await engine.dispose()


def song_values(owner_id: uuid.UUID) -> dict[str, object]:
    """A new song of `owner_id`'s, as CreateSong writes it."""
    return {
        "id": uuid.uuid4(),
        "owner_id": owner_id,
        "owner_display_name": "Owner",
        "mode": Mode.DESCRIPTION,
        "description": "a song",
        "instrumental": False,
        "duration_seconds": 10,
        "seed": 1,
        "guidance_scale": 7,
        "inference_steps": 8,
    }


async def enqueue(engine: AsyncEngine, owner_id: uuid.UUID, *, deadline_seconds: float = 600):
    async with engine.begin() as db:
        song = await store.create_song(db, song_values(owner_id), deadline_seconds=deadline_seconds)
    return song.id


async def claim(engine: AsyncEngine, limit: int) -> list[jobs.Claim]:
    async with engine.begin() as db:
        claimed = await jobs.claim(db, worker_id="test-worker", limit=limit, lease_seconds=60)
    return [found for found, _ in claimed]


async def test_owners_take_turns_however_many_songs_one_queued(engine: AsyncEngine) -> None:
    heavy, light, late = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    heavy_songs = [await enqueue(engine, heavy) for _ in range(40)]
    light_song = await enqueue(engine, light)

    first = await claim(engine, 2)
    assert {found.song_id for found in first} == {heavy_songs[0], light_song}

    # With two of the heavy owner's songs running, a newcomer's first song still
    # goes before the heavy owner's third.
    second = await claim(engine, 1)
    assert [found.song_id for found in second] == [heavy_songs[1]]
    late_song = await enqueue(engine, late)
    third = await claim(engine, 1)
    assert [found.song_id for found in third] == [late_song]
    # Alone in the queue, one owner's songs go oldest first.
    rest = await claim(engine, 100)
    assert [found.song_id for found in rest] == heavy_songs[2:]


async def test_a_job_past_its_deadline_is_claimed_at_once_to_be_given_up(
    engine: AsyncEngine,
) -> None:
    song_id = await enqueue(engine, uuid.uuid4(), deadline_seconds=1)
    async with engine.begin() as db:
        # Backing off after an outage, it would not be claimable for an hour.
        await db.execute(
            sa.update(jobs_table)
            .where(jobs_table.c.song_id == song_id)
            .values(
                run_after=sa.func.now() + sa.text("interval '1 hour'"),
                deadline_time=sa.func.now() - sa.text("interval '1 second'"),
            )
        )
    [found] = await claim(engine, 10)
    assert found.song_id == song_id
    assert found.seconds_left <= 0


async def test_a_claim_reports_the_time_left_before_the_deadline(engine: AsyncEngine) -> None:
    await enqueue(engine, uuid.uuid4(), deadline_seconds=600)
    [found] = await claim(engine, 1)
    assert 590 < found.seconds_left <= 600
