"""Writing new songs: paid for, bound to their idempotency key, within the
person's songs in flight.

Every song-making RPC (CreateSong and its takes, ExtendSong, RepaintSong,
CoverSong, SeparateStems) comes here with the columns of its songs. A request's
songs are written only once billing reserved a credit for each (all or none):
they are inserted while the credits are reserved, and committed only after
billing said yes. An idempotency key stays bound to what it first created, for
ever: a retry returns the same songs and charges nothing more."""

import hashlib
import uuid
from uuid import UUID

import structlog
from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncConnection

from runtime.concurrency import both
from runtime.database import Database
from runtime.errors import FailedPrecondition, ResourceExhausted
from runtime.identity import Identity
from songsvc import store
from songsvc.billing import Credits, CreditSettled
from songsvc.records import Song
from songsvc.requests import Columns

log = structlog.get_logger()

# Namespace for song ids derived from (owner, idempotency key, take): a retried
# request maps to the same song ids, so billing's per-song idempotency covers it too.
SONG_ID_NAMESPACE = UUID("6f1c2a52-8d0e-4c43-9a57-3f5d4f0b7e21")
# When to try again after TOO_MANY_SONGS_IN_FLIGHT: about one short song's time.
SONGS_IN_FLIGHT_RETRY_SECONDS = 30


def request_hash(request: Message) -> bytes:
    """What a retry of the request must match to count as the same request."""
    return hashlib.sha256(request.SerializeToString(deterministic=True)).digest()


class SongCreator:
    def __init__(
        self,
        *,
        database: Database,
        credits: Credits,
        max_in_flight: int,
        job_deadline_seconds: float,
    ) -> None:
        self._db = database
        self._credits = credits
        self._max_in_flight = max_in_flight
        self._job_deadline_seconds = job_deadline_seconds

    async def create(
        self, user: Identity, songs: list[Columns], *, key: str | None, request: Message
    ) -> list[Song]:
        """Writes the songs (or, for a retry, returns those the key made)."""
        owner_id = UUID(user.subject)
        fingerprint = request_hash(request)
        if key is None:
            return await self._create(user, _random_ids(songs), songs, key=None, fingerprint=b"")
        async with self._db.connection() as db:
            binding = await store.find_key_binding(db, owner_id, key)
        if binding is not None:
            return await self._songs_for_key(binding, fingerprint)
        derived = [
            uuid.uuid5(SONG_ID_NAMESPACE, f"{owner_id}/{key}" + (f"/{take}" if take else ""))
            for take in range(len(songs))
        ]
        try:
            return await self._create(user, derived, songs, key=key, fingerprint=fingerprint)
        except CreditSettled:
            # An earlier request with this key reserved the credits and gave them
            # back without saving its songs (it failed midway): the key is still
            # free, but those song ids can never be paid for again.
            return await self._create(
                user, _random_ids(songs), songs, key=key, fingerprint=fingerprint
            )

    async def _create(
        self,
        user: Identity,
        song_ids: list[UUID],
        songs: list[Columns],
        *,
        key: str | None,
        fingerprint: bytes,
    ) -> list[Song]:
        owner_id = UUID(user.subject)
        reserved = False

        async def reserve() -> None:
            nonlocal reserved
            await self._credits.reserve(user_id=owner_id, song_ids=song_ids)
            reserved = True

        async def insert(db: AsyncConnection) -> list[Song] | store.KeyBinding:
            if key is not None:
                earlier = await store.bind_key(
                    db, owner_id=owner_id, key=key, song_ids=song_ids, request_hash=fingerprint
                )
                if earlier is not None:
                    return earlier
            return [
                await store.create_song(
                    db,
                    {
                        **values,
                        "id": song_id,
                        "owner_id": owner_id,
                        "owner_display_name": user.display_name,
                    },
                    deadline_seconds=self._job_deadline_seconds,
                )
                for song_id, values in zip(song_ids, songs, strict=True)
            ]

        try:
            async with self._db.transaction() as db:
                await self._check_in_flight(db, owner_id, len(songs))
                _, created = await both(reserve(), insert(db))
        except BaseException:
            if reserved:
                await self._release_unsaved(song_ids)
            raise
        if isinstance(created, list):
            return created
        # A concurrent request with this key won. If it paid under other song ids,
        # the credits reserved here back nothing.
        if set(created.song_ids) != set(song_ids):
            await self._release_unsaved(song_ids)
        return await self._songs_for_key(created, fingerprint)

    async def _check_in_flight(self, db: AsyncConnection, owner_id: UUID, adding: int) -> None:
        limit = self._max_in_flight
        if await store.count_in_flight(db, owner_id) + adding > limit:
            raise ResourceExhausted(
                f"at most {limit} songs may be queued or generating at once; "
                "create more when one is done",
                reason="TOO_MANY_SONGS_IN_FLIGHT",
                retry_after_seconds=SONGS_IN_FLIGHT_RETRY_SECONDS,
            )

    async def _songs_for_key(self, binding: store.KeyBinding, fingerprint: bytes) -> list[Song]:
        """The songs an idempotency key created, for a retry of the same request."""
        if binding.request_hash is not None and binding.request_hash != fingerprint:
            raise FailedPrecondition(
                "idempotency_key was already used for a different request; use a new key",
                reason="IDEMPOTENCY_KEY_REUSED",
            )
        async with self._db.connection() as db:
            songs = [await store.get_song(db, song_id) for song_id in binding.song_ids]
        found = [song for song in songs if song is not None]
        if not found:
            raise FailedPrecondition(
                "the song created with this idempotency_key was deleted; use a new key "
                "to create another",
                reason="IDEMPOTENCY_KEY_SONG_DELETED",
            )
        return found

    async def _release_unsaved(self, song_ids: list[UUID]) -> None:
        """Gives back the credits reserved for songs that were not saved, unless
        songs with those ids exist after all (a concurrent retry saved them). When
        this fails too, reconciliation releases the reservations later."""
        for song_id in song_ids:
            try:
                async with self._db.connection() as db:
                    if await store.get_song(db, song_id) is not None:
                        continue
                await self._credits.release(song_id, "the song could not be saved")
            except Exception:
                log.exception("releasing an unsaved song's credit failed", song_id=str(song_id))


def _random_ids(songs: list[Columns]) -> list[UUID]:
    return [uuid.uuid4() for _ in songs]
