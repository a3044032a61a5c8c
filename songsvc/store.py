"""songsvc's data access for songs, likes, plays and the feed. Every change to a
song notifies its watchers (pg_notify is delivered when the transaction commits)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.database import interval
from runtime.pagination import PagePosition, ScorePosition, TimePosition
from runtime.tracing import current_traceparent
from songsvc.records import Song, Stage, Status
from songsvc.tables import (
    SONG_COLUMNS,
    feed_entries,
    idempotency_keys,
    jobs,
    likes,
    listens,
    songs,
)

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
            .returning(*SONG_COLUMNS)
        )
    ).one()
    await db.execute(
        sa.insert(jobs).values(
            song_id=row.id,
            owner_id=row.owner_id,
            state="queued",
            deadline_time=sa.func.now() + interval(deadline_seconds),
            traceparent=current_traceparent(),
        )
    )
    await notify(db, row.id, job_queued=True)
    return Song.from_row(row)


# Built once, not per call: building a select of every song column (and its cache
# key) cost GetSong more CPU than running it.
_SONG_BY_ID = sa.select(*SONG_COLUMNS).where(songs.c.id == sa.bindparam("song_id"))
_SONG_BY_ID_FOR_UPDATE = _SONG_BY_ID.with_for_update()


async def get_song(db: AsyncConnection, song_id: UUID, *, for_update: bool = False) -> Song | None:
    query = _SONG_BY_ID_FOR_UPDATE if for_update else _SONG_BY_ID
    row = (await db.execute(query, {"song_id": song_id})).first()
    return Song.from_row(row) if row else None


async def peaks(db: AsyncConnection, song_id: UUID) -> bytes | None:
    """The song's waveform (songsvc.audio.peaks); None when it has none."""
    return (
        await db.execute(sa.select(songs.c.peaks).where(songs.c.id == song_id))
    ).scalar_one_or_none()


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


class OwnerOrder(StrEnum):
    """How ListMySongs sorts."""

    NEWEST = "newest"
    OLDEST = "oldest"
    TITLE = "title"


class TitlePosition(PagePosition):
    """After the row sorted by (lower-cased title, id)."""

    title: str
    id: UUID


# Where a page of ListMySongs ends: by title when sorted by title, else by request time.
OwnerPosition = TimePosition | TitlePosition


def owner_position(song: Song, order: OwnerOrder) -> OwnerPosition:
    """Where a page of the owner's songs that ends with `song` ends."""
    if order is OwnerOrder.TITLE:
        return TitlePosition(title=song.title.lower(), id=song.id)
    return TimePosition(time=song.create_time, id=song.id)


async def list_owner_songs(
    db: AsyncConnection,
    owner_id: UUID,
    *,
    after: OwnerPosition | None,
    limit: int,
    order: OwnerOrder = OwnerOrder.NEWEST,
    status: Status | None = None,
    tsquery_text: str = "",
) -> list[Song]:
    """The owner's songs in `order`, only those in `status` and matching the text
    query (songsvc.search.prefix_tsquery) when given."""
    query = sa.select(*SONG_COLUMNS).where(songs.c.owner_id == owner_id)
    if status is not None:
        query = query.where(songs.c.status == status)
    if tsquery_text:
        query = query.where(_matches(tsquery_text)[1])
    sort_key: sa.ColumnElement[Any] = (
        sa.func.lower(songs.c.title) if order is OwnerOrder.TITLE else songs.c.create_time
    )
    ascending = order is not OwnerOrder.NEWEST
    if after is not None:
        position = after.title if isinstance(after, TitlePosition) else after.time
        row_key = sa.tuple_(sort_key, songs.c.id)
        page_end = sa.tuple_(sa.literal(position), sa.literal(after.id))
        query = query.where(row_key > page_end if ascending else row_key < page_end)
    if ascending:
        query = query.order_by(sort_key.asc(), songs.c.id.asc())
    else:
        query = query.order_by(sort_key.desc(), songs.c.id.desc())
    return [Song.from_row(row) for row in await db.execute(query.limit(limit))]


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
    query = sa.select(*SONG_COLUMNS, sort_key.label("sort_key"))
    query = query.join(feed_entries, feed_entries.c.song_id == songs.c.id)
    query = query.where(feed_entries.c.category == category)
    position = None
    if after is not None:
        position = (after.score if isinstance(after, ScorePosition) else after.time, after.id)
    query = _descending_page(query, (sort_key, feed_entries.c.song_id), after=position, limit=limit)
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
    query = sa.select(*SONG_COLUMNS).where(
        songs.c.source_song_id == source_id,
        sa.or_(songs.c.published, songs.c.owner_id == viewer),
    )
    position = None if after is None else (after.time, after.id)
    query = _descending_page(query, (songs.c.create_time, songs.c.id), after=position, limit=limit)
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


# ---- finding songs -----------------------------------------------------------------

# ts_rank's weights of the D, C, B and A parts of the search document (lyrics are C,
# prompts B, titles and artist names A): a word in the title outweighs the same
# word in the lyrics.
SEARCH_WEIGHTS = (0.1, 0.2, 0.4, 1.0)


def _matches(tsquery_text: str) -> tuple[sa.ColumnElement[Any], sa.ColumnElement[bool]]:
    """The tsquery for `tsquery_text` (songsvc.search.prefix_tsquery) and the
    condition that a song's search document matches it."""
    query = sa.func.to_tsquery(sa.literal_column("'simple'::regconfig"), tsquery_text)
    return query, songs.c.search_document.bool_op("@@")(query)


async def search_published(
    db: AsyncConnection,
    tsquery_text: str,
    *,
    after: ScorePosition | None,
    limit: int,
    timeout_seconds: float,
) -> list[tuple[Song, float]]:
    """Published songs matching the query, best match first, each with its rank
    (from which the next page token is made). The GIN index finds the matches;
    ranking them all is then the cost, which a query of very common word starts
    makes large: past `timeout_seconds` the statement is cancelled (QueryCanceled)
    rather than let run. `db` must be in a transaction, which the timeout lasts."""
    timeout = f"{max(1, round(timeout_seconds * 1000))}ms"
    await db.execute(sa.select(sa.func.set_config("statement_timeout", timeout, True)))
    query, matches = _matches(tsquery_text)
    weights = sa.cast(sa.literal(list(SEARCH_WEIGHTS)), ARRAY(sa.REAL))
    # As double precision: a real reaches Python rounded to its shortest decimal,
    # which would then not equal the rank it came from in the next page's query.
    rank = sa.cast(sa.func.ts_rank(weights, songs.c.search_document, query), sa.Float)
    ranked = (
        sa.select(*SONG_COLUMNS, rank.label("rank")).where(songs.c.published, matches).subquery()
    )
    statement = _descending_page(
        sa.select(ranked),
        (ranked.c.rank, ranked.c.id),
        after=None if after is None else (after.score, after.id),
        limit=limit,
    )
    return [(Song.from_row(row), row.rank) for row in await db.execute(statement)]


@dataclass(frozen=True, slots=True)
class ArtistTotals:
    display_name: str
    published_song_count: int
    play_count: int
    like_count: int
    first_publish_time: datetime


async def artist_totals(db: AsyncConnection, artist_id: UUID) -> ArtistTotals | None:
    """What the artist's published songs add up to; None when they have none."""
    row = (
        await db.execute(
            sa.select(
                sa.func.count().label("published_song_count"),
                sa.func.coalesce(sa.func.sum(songs.c.play_count), 0).label("play_count"),
                sa.func.coalesce(sa.func.sum(songs.c.like_count), 0).label("like_count"),
                sa.func.min(songs.c.publish_time).label("first_publish_time"),
                # RenameOwner renames all of an owner's songs at once: any one will do.
                sa.func.max(songs.c.owner_display_name).label("display_name"),
            ).where(songs.c.owner_id == artist_id, songs.c.published)
        )
    ).one()
    if row.published_song_count == 0:
        return None
    return ArtistTotals(
        display_name=row.display_name,
        published_song_count=row.published_song_count,
        play_count=int(row.play_count),
        like_count=int(row.like_count),
        first_publish_time=row.first_publish_time,
    )


async def list_artist_songs(
    db: AsyncConnection, artist_id: UUID, *, after: TimePosition | None, limit: int
) -> list[Song]:
    """The artist's published songs, most recently published first."""
    query = sa.select(*SONG_COLUMNS).where(songs.c.owner_id == artist_id, songs.c.published)
    position = None if after is None else (after.time, after.id)
    query = _descending_page(query, (songs.c.publish_time, songs.c.id), after=position, limit=limit)
    return [Song.from_row(row) for row in await db.execute(query)]


async def list_liked_songs(
    db: AsyncConnection, account_id: UUID, *, after: TimePosition | None, limit: int
) -> list[tuple[Song, datetime]]:
    """The songs the account likes that it can see (published, or its own), most
    recently liked first, each with when it was liked. Likes of songs made private
    since stay (the like counts again if the song is published again)."""
    query = (
        sa.select(*SONG_COLUMNS, likes.c.create_time.label("liked_time"))
        .join(likes, likes.c.song_id == songs.c.id)
        .where(
            likes.c.account_id == account_id,
            sa.or_(songs.c.published, songs.c.owner_id == account_id),
        )
    )
    position = None if after is None else (after.time, after.id)
    query = _descending_page(
        query, (likes.c.create_time, likes.c.song_id), after=position, limit=limit
    )
    return [(Song.from_row(row), row.liked_time) for row in await db.execute(query)]


def _descending_page(
    query: sa.Select,
    keys: tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]],
    *,
    after: tuple[Any, UUID] | None,
    limit: int,
) -> sa.Select:
    """One keyset page of `query`, highest (sort key, id) first: the rows after the
    last one of the previous page, whose keys were `after`."""
    if after is not None:
        query = query.where(sa.tuple_(*keys) < sa.tuple_(*(sa.literal(key) for key in after)))
    return query.order_by(*(key.desc() for key in keys)).limit(limit)
