"""songsvc's data access for songs, likes, plays and the feed. Every change to a
song notifies its watchers (pg_notify is delivered when the transaction commits)."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.database import interval
from runtime.pagination import ScorePosition, TimePosition
from songsvc.records import Song, Stage, Status
from songsvc.tables import feed_entries, idempotency_keys, jobs, likes, listens, songs

# Notification channels: a song changed (the payload is its id), for WatchSong;
# a job may have become claimable, for the workers.
SONG_EVENTS_CHANNEL = "neutone_song_events"
JOBS_QUEUED_CHANNEL = "neutone_jobs_queued"
ALL_CATEGORIES = ""  # the feed_entries category of the unfiltered feed
# Where a feed page ends: by score in the trending feed, by publish time in the newest.
FeedPosition = ScorePosition | TimePosition


def trending_score(song_table: sa.Table = songs) -> sa.ColumnElement[float]:
    """A "hot" score that never needs recomputing as time passes: engagement on a
    log scale plus publish time, so one like more counts less than a day newer."""
    engagement = sa.func.greatest(1, song_table.c.like_count * 2 + song_table.c.play_count)
    return sa.func.log(engagement) + sa.extract("epoch", song_table.c.publish_time) / 45000.0


async def notify(db: AsyncConnection, song_id: UUID, *, job_queued: bool = False) -> None:
    """Announces, when the transaction commits, that the song changed and, with
    `job_queued`, that its job is waiting for a worker."""
    announcements = [sa.func.pg_notify(SONG_EVENTS_CHANNEL, str(song_id))]
    if job_queued:
        announcements.append(sa.func.pg_notify(JOBS_QUEUED_CHANNEL, ""))
    await db.execute(sa.select(*announcements))


@dataclass(frozen=True, slots=True)
class KeyBinding:
    """The songs an idempotency key created (its takes, first to last), and the
    hash of the request that did."""

    song_ids: tuple[UUID, ...]
    request_hash: bytes | None


async def find_key_binding(db: AsyncConnection, owner_id: UUID, key: str) -> KeyBinding | None:
    row = (
        await db.execute(
            sa.select(idempotency_keys.c.song_ids, idempotency_keys.c.request_hash).where(
                idempotency_keys.c.owner_id == owner_id, idempotency_keys.c.key == key
            )
        )
    ).first()
    return KeyBinding(tuple(row.song_ids), row.request_hash) if row else None


async def bind_key(
    db: AsyncConnection,
    *,
    owner_id: UUID,
    key: str,
    song_ids: list[UUID],
    request_hash: bytes,
) -> KeyBinding | None:
    """Binds the key to `song_ids`; when a concurrent request bound it first, returns
    that binding instead (this insert waits until that request's transaction ends)."""
    inserted = (
        await db.execute(
            insert(idempotency_keys)
            .values(owner_id=owner_id, key=key, song_ids=song_ids, request_hash=request_hash)
            .on_conflict_do_nothing()
            .returning(idempotency_keys.c.key)
        )
    ).first()
    if inserted is not None:
        return None
    earlier = await find_key_binding(db, owner_id, key)
    assert earlier is not None  # the conflicting row is committed: bindings are never removed
    return earlier


async def count_in_flight(db: AsyncConnection, owner_id: UUID) -> int:
    """The owner's songs queued or being made, once no other CreateSong of theirs
    is between its count and its insert: the count holds until this transaction ends."""
    await db.execute(
        sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(f"songs:{owner_id}", 0)))
    )
    return (
        await db.execute(
            sa.select(sa.func.count()).where(
                songs.c.owner_id == owner_id,
                songs.c.status.in_([Status.QUEUED, Status.PROCESSING]),
            )
        )
    ).scalar_one()


async def create_song(
    db: AsyncConnection, values: dict[str, Any], *, deadline_seconds: float
) -> Song:
    """Writes a queued song and its generation job, which is given up after
    `deadline_seconds`."""
    row = (
        await db.execute(
            sa.insert(songs)
            .values(status=Status.QUEUED, stage=Stage.QUEUED, **values)
            .returning(songs)
        )
    ).one()
    await db.execute(
        sa.insert(jobs).values(
            song_id=row.id,
            owner_id=row.owner_id,
            state="queued",
            deadline_time=sa.func.now() + interval(deadline_seconds),
        )
    )
    await notify(db, row.id, job_queued=True)
    return Song.from_row(row)


async def get_song(db: AsyncConnection, song_id: UUID, *, for_update: bool = False) -> Song | None:
    query = sa.select(songs).where(songs.c.id == song_id)
    row = (await db.execute(query.with_for_update() if for_update else query)).first()
    return Song.from_row(row) if row else None


async def liked_song_ids(
    db: AsyncConnection, account_id: UUID | None, song_ids: list[UUID]
) -> set[UUID]:
    if account_id is None or not song_ids:
        return set()
    rows = await db.execute(
        sa.select(likes.c.song_id).where(
            likes.c.account_id == account_id, likes.c.song_id.in_(song_ids)
        )
    )
    return {row.song_id for row in rows}


async def list_owner_songs(
    db: AsyncConnection, owner_id: UUID, *, after: TimePosition | None, limit: int
) -> list[Song]:
    query = sa.select(songs).where(songs.c.owner_id == owner_id)
    if after is not None:
        query = query.where(
            sa.tuple_(songs.c.create_time, songs.c.id)
            < sa.tuple_(sa.literal(after.time), sa.literal(after.id))
        )
    query = query.order_by(songs.c.create_time.desc(), songs.c.id.desc()).limit(limit)
    return [Song.from_row(row) for row in await db.execute(query)]


async def list_feed(
    db: AsyncConnection,
    *,
    category: str,
    trending: bool,
    after: FeedPosition | None,
    limit: int,
) -> list[tuple[Song, Any]]:
    """One keyset range scan over the feed index, then the songs by primary key.
    Each song comes with its sort key, from which the next page token is made."""
    sort_key = feed_entries.c.trending_score if trending else feed_entries.c.publish_time
    query = sa.select(songs, sort_key.label("sort_key"))
    query = query.join(feed_entries, feed_entries.c.song_id == songs.c.id)
    query = query.where(feed_entries.c.category == category)
    if after is not None:
        position = after.score if isinstance(after, ScorePosition) else after.time
        query = query.where(
            sa.tuple_(sort_key, feed_entries.c.song_id)
            < sa.tuple_(sa.literal(position), sa.literal(after.id))
        )
    query = query.order_by(sort_key.desc(), feed_entries.c.song_id.desc()).limit(limit)
    return [(Song.from_row(row), row.sort_key) for row in await db.execute(query)]


async def rename(db: AsyncConnection, song_id: UUID, title: str) -> None:
    await db.execute(
        sa.update(songs)
        .where(songs.c.id == song_id)
        .values(title=title, title_from_owner=True, update_time=sa.func.now())
    )
    await notify(db, song_id)


async def set_published(db: AsyncConnection, song: Song, published: bool) -> None:
    if song.published == published:
        return
    await db.execute(
        sa.update(songs)
        .where(songs.c.id == song.id)
        .values(
            published=published,
            publish_time=sa.func.now() if published else None,
            update_time=sa.func.now(),
        )
    )
    if published:
        for category in (ALL_CATEGORIES, *song.categories):
            await db.execute(
                sa.insert(feed_entries).from_select(
                    ["category", "song_id", "publish_time", "trending_score"],
                    sa.select(
                        sa.literal(category), songs.c.id, songs.c.publish_time, trending_score()
                    ).where(songs.c.id == song.id),
                )
            )
    else:
        await db.execute(sa.delete(feed_entries).where(feed_entries.c.song_id == song.id))
    await notify(db, song.id)


async def allow_remixes(db: AsyncConnection, song_id: UUID, allowed: bool) -> None:
    await db.execute(
        sa.update(songs)
        .where(songs.c.id == song_id)
        .values(remix_allowed=allowed, update_time=sa.func.now())
    )
    await notify(db, song_id)


async def list_derived_songs(
    db: AsyncConnection,
    source_id: UUID,
    *,
    viewer: UUID | None,
    after: TimePosition | None,
    limit: int,
) -> list[Song]:
    """Songs made from the source that the viewer can see, newest first."""
    query = sa.select(songs).where(
        songs.c.source_song_id == source_id,
        sa.or_(songs.c.published, songs.c.owner_id == viewer),
    )
    if after is not None:
        query = query.where(
            sa.tuple_(songs.c.create_time, songs.c.id) < sa.tuple_(after.time, after.id)
        )
    query = query.order_by(songs.c.create_time.desc(), songs.c.id.desc()).limit(limit)
    return [Song.from_row(row) for row in await db.execute(query)]


async def delete_song(db: AsyncConnection, song_id: UUID) -> None:
    # Likes, feed entries and the job go with it (ON DELETE CASCADE).
    await db.execute(sa.delete(songs).where(songs.c.id == song_id))
    await notify(db, song_id)


async def _refresh_trending(db: AsyncConnection, song_id: UUID) -> None:
    await db.execute(
        sa.update(feed_entries)
        .where(feed_entries.c.song_id == song_id)
        .values(
            trending_score=sa.select(trending_score())
            .where(songs.c.id == song_id)
            .scalar_subquery()
        )
    )


async def _add_to_count(db: AsyncConnection, song_id: UUID, column: str, delta: int) -> int:
    count = (
        await db.execute(
            sa.update(songs)
            .where(songs.c.id == song_id)
            .values({column: songs.c[column] + delta})
            .returning(songs.c[column])
        )
    ).scalar_one()
    await _refresh_trending(db, song_id)
    return count


async def like(db: AsyncConnection, song_id: UUID, account_id: UUID) -> int:
    """Adds the like once; the count changes only when a like row was really added,
    so concurrent and repeated likes keep it exact."""
    added = (
        await db.execute(
            insert(likes)
            .values(song_id=song_id, account_id=account_id)
            .on_conflict_do_nothing()
            .returning(likes.c.song_id)
        )
    ).first()
    if added is None:
        return await like_count(db, song_id)
    return await _add_to_count(db, song_id, "like_count", 1)


async def unlike(db: AsyncConnection, song_id: UUID, account_id: UUID) -> int:
    removed = (
        await db.execute(
            sa.delete(likes)
            .where(likes.c.song_id == song_id, likes.c.account_id == account_id)
            .returning(likes.c.song_id)
        )
    ).first()
    if removed is None:
        return await like_count(db, song_id)
    return await _add_to_count(db, song_id, "like_count", -1)


async def like_count(db: AsyncConnection, song_id: UUID) -> int:
    return (
        await db.execute(sa.select(songs.c.like_count).where(songs.c.id == song_id))
    ).scalar_one()


async def record_play(
    db: AsyncConnection, song_id: UUID, listener: bytes, *, window: timedelta
) -> int:
    """Counts the listener's play unless one was counted less than `window` ago;
    the song's play count either way. One upsert decides: of concurrent plays by
    one listener, only the first to write the row counts."""
    counted = (
        await db.execute(
            insert(listens)
            .values(song_id=song_id, listener=listener, expire_time=sa.func.now() + window)
            .on_conflict_do_update(
                index_elements=[listens.c.song_id, listens.c.listener],
                set_={"expire_time": sa.func.now() + window},
                where=listens.c.expire_time <= sa.func.now(),
            )
            .returning(listens.c.song_id)
        )
    ).first()
    if counted is None:
        return (
            await db.execute(sa.select(songs.c.play_count).where(songs.c.id == song_id))
        ).scalar_one()
    return await _add_to_count(db, song_id, "play_count", 1)


async def prune_listens(db: AsyncConnection) -> int:
    """Forgets listens whose window is over; how many."""
    removed = await db.execute(sa.delete(listens).where(listens.c.expire_time <= sa.func.now()))
    return removed.rowcount


async def queue_position(db: AsyncConnection, song_id: UUID) -> int:
    """Queued jobs enqueued before this one."""
    mine = sa.select(jobs.c.enqueue_time).where(jobs.c.song_id == song_id).scalar_subquery()
    return (
        await db.execute(
            sa.select(sa.func.count()).where(jobs.c.state == "queued", jobs.c.enqueue_time < mine)
        )
    ).scalar_one()


async def recent_job_seconds(db: AsyncConnection, *, sample: int = 20) -> float | None:
    """Mean run time of the most recent successful jobs; None before the first."""
    recent = (
        sa.select((sa.extract("epoch", jobs.c.finish_time - jobs.c.start_time)).label("seconds"))
        .where(jobs.c.state == "succeeded")
        .order_by(jobs.c.finish_time.desc())
        .limit(sample)
        .subquery()
    )
    value = (await db.execute(sa.select(sa.func.avg(recent.c.seconds)))).scalar_one()
    return float(value) if value is not None else None
