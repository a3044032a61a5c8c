"""The durable generation queue in PostgreSQL.

Workers claim jobs with FOR UPDATE SKIP LOCKED and hold them under a lease they
keep renewing. A job whose lease ran out belongs to a dead worker and is claimed
again. Every write a worker makes about a job is fenced by (worker, attempt), so
a worker that lost its lease can never overwrite the new owner's work."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.database import interval
from songsvc.records import Song, Stage, Status
from songsvc.store import notify
from songsvc.tables import SONG_COLUMNS, jobs, songs


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Claim:
    song_id: UUID
    worker_id: str
    attempt: int
    # Seconds until the job's deadline when it was claimed (the database's clock);
    # zero or less: the job is to be given up.
    seconds_left: float
    # The trace of the call that queued the job (runtime.tracing); None when tracing was off.
    traceparent: str | None = None


def _held(claim: Claim) -> sa.ColumnElement[bool]:
    return sa.and_(
        jobs.c.song_id == claim.song_id,
        jobs.c.worker_id == claim.worker_id,
        jobs.c.attempts == claim.attempt,
        jobs.c.state == JobState.RUNNING,
    )


def _claimable(table: sa.Table) -> sa.ColumnElement[bool]:
    now = sa.func.now()
    return sa.or_(
        sa.and_(
            table.c.state == JobState.QUEUED,
            # Past its deadline a job is claimed at once, to be failed and refunded.
            sa.or_(table.c.run_after <= now, table.c.deadline_time <= now),
        ),
        # A dead worker's job: its lease ran out.
        sa.and_(table.c.state == JobState.RUNNING, table.c.lease_expire_time < now),
    )


async def claim(
    db: AsyncConnection, *, worker_id: str, limit: int, lease_seconds: float
) -> list[tuple[Claim, Song]]:
    """Claims up to `limit` jobs, each with its song, read in the same statement.

    Owners take turns: a job's turn is its place in its owner's queue plus the
    owner's jobs running now, and the lowest turns go first (then the oldest), so
    one person's forty queued songs wait behind everyone else's first.

    A claim is not worth a disk flush either: one lost in a database crash leaves
    the job claimable again, and every later write is fenced by (worker, attempt),
    so at worst the job runs twice and the second run's writes are refused."""
    await db.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
    running = (
        sa.select(jobs.c.owner_id, sa.func.count().label("running"))
        .where(jobs.c.state == JobState.RUNNING, jobs.c.lease_expire_time >= sa.func.now())
        .group_by(jobs.c.owner_id)
        .cte("running")
    )
    waiting = jobs.alias("waiting")
    place_in_owner_queue = sa.func.row_number().over(
        partition_by=waiting.c.owner_id, order_by=waiting.c.enqueue_time
    )
    turns = (
        sa.select(
            waiting.c.song_id,
            (sa.func.coalesce(running.c.running, 0) + place_in_owner_queue).label("turn"),
        )
        .outerjoin(running, running.c.owner_id == waiting.c.owner_id)
        .where(_claimable(waiting))
        .cte("turns")
    )
    claimable = (
        sa.select(jobs.c.song_id)
        .join(turns, turns.c.song_id == jobs.c.song_id)
        # Repeated here: a row locked after another worker's claim committed is
        # re-checked against this condition, not against the CTE's snapshot.
        .where(_claimable(jobs))
        .order_by(turns.c.turn, jobs.c.enqueue_time)
        .limit(limit)
        .with_for_update(of=jobs, skip_locked=True)
        .cte("claimable")
    )
    claimed = (
        sa.update(jobs)
        .where(jobs.c.song_id == claimable.c.song_id)
        .values(
            state=JobState.RUNNING,
            attempts=jobs.c.attempts + 1,
            worker_id=worker_id,
            lease_expire_time=sa.func.now() + interval(lease_seconds),
            start_time=sa.func.now(),
        )
        .returning(
            jobs.c.song_id,
            jobs.c.attempts,
            sa.extract("epoch", jobs.c.deadline_time - sa.func.now()).label("seconds_left"),
            jobs.c.traceparent,
        )
        .cte("claimed")
    )
    rows = await db.execute(
        sa.select(
            *SONG_COLUMNS, claimed.c.attempts, claimed.c.seconds_left, claimed.c.traceparent
        ).join(claimed, claimed.c.song_id == songs.c.id)
    )
    return [
        (
            Claim(row.id, worker_id, row.attempts, float(row.seconds_left), row.traceparent),
            Song.from_row(row),
        )
        for row in rows
    ]


async def renew(db: AsyncConnection, held: list[Claim], *, lease_seconds: float) -> set[UUID]:
    """Extends the leases still held; returns the song ids whose lease is still ours."""
    renewed: set[UUID] = set()
    for claim_ in held:
        result = await db.execute(
            sa.update(jobs)
            .where(_held(claim_))
            .values(lease_expire_time=sa.func.now() + interval(lease_seconds))
        )
        if result.rowcount:
            renewed.add(claim_.song_id)
    return renewed


async def update_song(db: AsyncConnection, held: Claim, **values: Any) -> bool:
    """Changes the song only while the job is still ours; False when it is not."""
    result = await db.execute(
        sa.update(songs)
        .where(songs.c.id == held.song_id, sa.exists(sa.select(jobs.c.song_id).where(_held(held))))
        .values(update_time=sa.func.now(), **values)
    )
    if result.rowcount:
        await notify(db, held.song_id)
    return bool(result.rowcount)


async def set_stage(
    db: AsyncConnection, held: Claim, stage: Stage, progress: float, **values: Any
) -> bool:
    """Records progress (and any `values` found on the way). Progress is not worth
    a disk flush: a crash loses at most the last stage, which the retried job
    writes again, so this commit does not wait for the WAL to reach the disk."""
    await db.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
    return await update_song(
        db, held, status=Status.PROCESSING, stage=stage, progress=progress, **values
    )


async def finish(
    db: AsyncConnection, held: Claim, state: JobState, error: str = "", **song_values: Any
) -> bool:
    """Ends the job and gives its song its final `song_values` (at stage DONE),
    only while the job is still ours; False when it is not."""
    if not await update_song(db, held, stage=Stage.DONE, **song_values):
        return False
    await db.execute(
        sa.update(jobs)
        .where(_held(held))
        .values(state=state, finish_time=sa.func.now(), lease_expire_time=None, last_error=error)
    )
    return True


async def retry_later(
    db: AsyncConnection, held: Claim, *, delay_seconds: float, error: str, counts: bool
) -> None:
    """Puts the job back in the queue. `counts=False` (a dependency was down) gives
    the attempt back, so an outage never uses up a song's attempts."""
    await db.execute(
        sa.update(jobs)
        .where(_held(held))
        .values(
            state=JobState.QUEUED,
            attempts=jobs.c.attempts if counts else jobs.c.attempts - 1,
            run_after=sa.func.now() + interval(delay_seconds),
            lease_expire_time=None,
            worker_id=None,
            last_error=error,
        )
    )
    await db.execute(
        sa.update(songs)
        .where(songs.c.id == held.song_id)
        .values(status=Status.QUEUED, stage=Stage.QUEUED, update_time=sa.func.now())
    )
    await notify(db, held.song_id, job_queued=True)


@dataclass(frozen=True, slots=True)
class QueueDepth:
    queued: int
    running: int
    # Age of the job that has waited longest (retries waiting out their backoff
    # included); 0 with none queued.
    oldest_queued_seconds: float


async def queue_depth(db: AsyncConnection) -> QueueDepth:
    """The whole queue in one statement over the jobs_claimable partial index (only
    queued and running jobs), whatever the size of the finished history."""
    queued = jobs.c.state == JobState.QUEUED
    row = (
        await db.execute(
            sa.select(
                sa.func.count().filter(queued),
                sa.func.count().filter(jobs.c.state == JobState.RUNNING),
                sa.func.coalesce(
                    sa.extract(
                        "epoch", sa.func.now() - sa.func.min(jobs.c.enqueue_time).filter(queued)
                    ),
                    0,
                ),
            ).where(jobs.c.state.in_([JobState.QUEUED, JobState.RUNNING]))
        )
    ).one()
    return QueueDepth(queued=row[0], running=row[1], oldest_queued_seconds=float(row[2]))
