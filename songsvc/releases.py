"""Credits going back to billing, durably.

A song that ends without being READY (deleted first, or failed) must give its
credit back however billing is doing at that moment. The decision is written as a
row of `songs.credit_releases` in the same transaction as the delete or the
failure, so the two never part, and it is delivered to billing until billing
acknowledges: at once by the process that wrote it, and by the delivery loop of
every songsvc process after that, with backoff, while billing is away.

Reconciliation covers what no row records: a credit reserved for a song that was
never saved (a crash between the reservation and the insert). Reservations still
held after a grace period, whose song does not exist, are released too."""

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID

import grpc
import sqlalchemy as sa
import structlog
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.database import Database, interval
from songsvc.billing import Credits
from songsvc.settings import SongsSettings
from songsvc.tables import credit_releases, songs

log = structlog.get_logger()

# Deliveries tried per pass, each in the transaction that holds its row.
BATCH = 50
# How long the process that wrote a release waits for billing before leaving it
# to the delivery loop (a paused billing must not hold up a DeleteSong).
PROMPT_DELIVERY_SECONDS = 2.0
# Billing's answers after which retrying cannot help: the row is dropped and logged.
PERMANENT_CODES = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION)
NEVER_SAVED = "the song was never saved"


async def schedule(db: AsyncConnection, song_id: UUID, reason: str) -> None:
    """Records, in the caller's transaction, that the song's credit goes back."""
    await db.execute(
        insert(credit_releases)
        .values(song_id=song_id, reason=reason[:500])
        .on_conflict_do_nothing(index_elements=[credit_releases.c.song_id])
    )


class CreditReleases:
    def __init__(
        self,
        database: Database,
        credits: Credits,
        *,
        retry_base_seconds: float,
        retry_max_seconds: float,
    ) -> None:
        self._db = database
        self._credits = credits
        self._retry_base = retry_base_seconds
        self._retry_max = retry_max_seconds

    @classmethod
    def from_settings(
        cls, settings: SongsSettings, database: Database, credits: Credits
    ) -> "CreditReleases":
        return cls(
            database,
            credits,
            retry_base_seconds=settings.credit_release_retry_base_seconds,
            retry_max_seconds=settings.credit_release_retry_max_seconds,
        )

    async def deliver(self, song_id: UUID) -> None:
        """Tries to deliver one song's release right away, briefly: the caller goes
        on whatever happens, and the delivery loop takes over from a failure."""
        try:
            async with asyncio.timeout(PROMPT_DELIVERY_SECONDS):
                await self._deliver_where(credit_releases.c.song_id == song_id, limit=1)
        except Exception:
            log.warning("a credit release waits for the delivery loop", song_id=str(song_id))

    async def deliver_due(self) -> int:
        """Delivers the releases that are due; how many were acknowledged."""
        return await self._deliver_where(
            credit_releases.c.next_attempt_time <= sa.func.now(), limit=BATCH
        )

    async def run(self, *, poll_seconds: float, reconcile_seconds: float, grace: timedelta) -> None:
        """The delivery loop, with a reconciliation pass every `reconcile_seconds`."""
        last_reconciled = float("-inf")
        loop = asyncio.get_running_loop()
        while True:
            try:
                while await self.deliver_due() == BATCH:
                    pass
                if loop.time() - last_reconciled >= reconcile_seconds:
                    last_reconciled = loop.time()
                    await self.reconcile(grace=grace)
            except Exception:  # a blip must not end the loop; the next pass may work
                log.exception("delivering credit releases failed")
            await asyncio.sleep(poll_seconds)

    async def reconcile(self, *, grace: timedelta) -> int:
        """Schedules the release of credits reserved longer than `grace` ago for
        songs that do not exist; how many were found."""
        found = 0
        before = datetime.now(UTC) - grace
        async for page in self._credits.held_reservations(created_before=before):
            async with self._db.transaction() as db:
                orphans = await _songs_missing(db, page)
                for song_id in orphans:
                    await schedule(db, song_id, NEVER_SAVED)
            found += len(orphans)
        if found:
            log.warning("releasing credits reserved for songs never saved", count=found)
        return found

    async def _deliver_where(self, condition: sa.ColumnElement[bool], *, limit: int) -> int:
        delivered = 0
        async with self._db.transaction() as db:
            rows = await db.execute(
                sa.select(credit_releases.c.song_id, credit_releases.c.reason)
                .where(condition)
                .order_by(credit_releases.c.next_attempt_time)
                .limit(limit)
                # Another process delivering the same row now: leave it to that one.
                .with_for_update(skip_locked=True)
            )
            for row in rows.all():
                if await self._deliver_one(db, row.song_id, row.reason):
                    delivered += 1
        return delivered

    async def _deliver_one(self, db: AsyncConnection, song_id: UUID, reason: str) -> bool:
        try:
            await self._credits.release(song_id, reason)
        except grpc.aio.AioRpcError as error:
            if error.code() not in PERMANENT_CODES:
                await self._later(db, song_id, f"{error.code().name}: {error.details()}")
                return False
            log.error(
                "billing refused a credit release; dropping it",
                song_id=str(song_id),
                code=error.code().name,
                error=error.details(),
            )
        await db.execute(sa.delete(credit_releases).where(credit_releases.c.song_id == song_id))
        return True

    async def _later(self, db: AsyncConnection, song_id: UUID, error: str) -> None:
        delay = sa.func.least(
            self._retry_max, self._retry_base * sa.func.power(2, credit_releases.c.attempts)
        )
        await db.execute(
            sa.update(credit_releases)
            .where(credit_releases.c.song_id == song_id)
            .values(
                attempts=credit_releases.c.attempts + 1,
                last_error=error[:500],
                next_attempt_time=sa.func.now() + interval(delay),
            )
        )


async def _songs_missing(db: AsyncConnection, song_ids: list[UUID]) -> list[UUID]:
    """Those of `song_ids` with no song and no release already scheduled."""
    if not song_ids:
        return []
    known = await db.execute(
        sa.union(
            sa.select(songs.c.id).where(songs.c.id.in_(song_ids)),
            sa.select(credit_releases.c.song_id).where(credit_releases.c.song_id.in_(song_ids)),
        )
    )
    present = {row[0] for row in known}
    return [song_id for song_id in song_ids if song_id not in present]
