"""What follows in songsvc from a change to an account in usersvc, which tells it
through its outbox (RenameOwner, DeleteOwnerData): a new display name on the
owner's songs, or a deleted account's songs, files, uploads, likes and plays gone.

Both are idempotent, and a deletion makes progress in steps that each commit: a
call cut short (usersvc's outbox gives up waiting, songsvc restarts) leaves
nothing half done, and the retry carries on where it stopped. Files go before
their rows, so no row that is gone leaves a file behind."""

from uuid import UUID

import sqlalchemy as sa

from runtime.database import Database
from runtime.objectstore import ObjectStore
from songsvc import files, releases, store
from songsvc.plays import Listeners
from songsvc.records import Song, Status
from songsvc.releases import CreditReleases
from songsvc.tables import SONG_COLUMNS, idempotency_keys, likes, listens, songs
from songsvc.uploads import Uploads

# Songs deleted per transaction.
BATCH = 50


class Owners:
    def __init__(
        self,
        database: Database,
        objects: ObjectStore,
        *,
        uploads: Uploads,
        releases: CreditReleases,
        listeners: Listeners,
    ) -> None:
        self._db = database
        self._objects = objects
        self._uploads = uploads
        self._releases = releases
        self._listeners = listeners

    async def rename(self, owner_id: UUID, display_name: str) -> None:
        async with self._db.transaction() as db:
            await db.execute(
                sa.update(songs)
                .where(songs.c.owner_id == owner_id, songs.c.owner_display_name != display_name)
                .values(owner_display_name=display_name, update_time=sa.func.now())
            )

    async def delete(self, owner_id: UUID) -> int:
        """Deletes everything of the owner's; how many songs this call deleted."""
        await self._take_back_likes(owner_id)
        async with self._db.transaction() as db:
            await db.execute(
                sa.delete(listens).where(listens.c.listener == self._listeners.of_account(owner_id))
            )
            await db.execute(
                sa.delete(idempotency_keys).where(idempotency_keys.c.owner_id == owner_id)
            )
        deleted = 0
        while batch := await self._songs(owner_id):
            for song in batch:
                await files.delete_all(self._objects, song.id)
            await self._delete_songs(batch)
            deleted += len(batch)
        await self._uploads.delete_owned(owner_id)
        return deleted

    async def _take_back_likes(self, owner_id: UUID) -> None:
        """Each like the person gave comes off its song's count."""
        async with self._db.transaction() as db:
            liked = (
                await db.execute(sa.select(likes.c.song_id).where(likes.c.account_id == owner_id))
            ).scalars()
            for song_id in list(liked):
                await store.unlike(db, song_id, owner_id)

    async def _songs(self, owner_id: UUID) -> list[Song]:
        async with self._db.connection() as db:
            rows = await db.execute(
                sa.select(*SONG_COLUMNS).where(songs.c.owner_id == owner_id).limit(BATCH)
            )
            return [Song.from_row(row) for row in rows]

    async def _delete_songs(self, batch: list[Song]) -> None:
        """As DeleteSong does: a song not yet READY gives its credit back, durably."""
        unfinished = []
        async with self._db.transaction() as db:
            for song in batch:
                await store.delete_song(db, song.id)
                if song.status is not Status.READY:
                    await releases.schedule(db, song.id, "the account was deleted")
                    unfinished.append(song.id)
        for song_id in unfinished:
            await self._releases.deliver(song_id)
