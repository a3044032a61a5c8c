"""SongService: creating songs, reading and changing them, the feed, likes,
plays, media URLs, and watching generation."""

import asyncio
import hashlib
import math
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from uuid import UUID

import grpc
import structlog
from cachetools import TTLCache
from google.protobuf.duration_pb2 import Duration
from sqlalchemy.ext.asyncio import AsyncConnection

from engines import limits
from engines.categories import CATEGORIES
from neutone.v1 import song_pb2, song_service_pb2, song_service_pb2_grpc
from runtime.concurrency import both
from runtime.context import caller, current_call, require_user
from runtime.database import Database
from runtime.errors import FailedPrecondition, NotFound, ResourceExhausted, Violations
from runtime.identity import Identity
from runtime.messages import timestamp
from runtime.objectstore import ObjectStore
from runtime.pagination import PageTokens, ScorePosition, TimePosition, page_size
from runtime.ratelimit import Limit, RateLimiter
from songsvc import releases, store
from songsvc.billing import Credits, CreditSettled
from songsvc.events import SongEvents
from songsvc.plays import Listeners
from songsvc.records import Mode, Song, Status
from songsvc.releases import CreditReleases
from songsvc.settings import SongServiceSettings
from songsvc.streams import StreamLimits
from songsvc.tables import rate_limits

log = structlog.get_logger()

IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Namespace for song ids derived from (owner, idempotency key): a retried request
# maps to the same song id, so billing's per-song idempotency covers it too.
SONG_ID_NAMESPACE = UUID("6f1c2a52-8d0e-4c43-9a57-3f5d4f0b7e21")
MAX_RANDOM_SEED = 2**31 - 1
UPDATABLE_FIELDS = {"title", "published"}
# When to try again after TOO_MANY_SONGS_IN_FLIGHT: about one short song's time.
SONGS_IN_FLIGHT_RETRY_SECONDS = 30
AUDIO_CONTENT_TYPE = "audio/flac"


def category_message(category: str) -> song_pb2.Category:
    return song_pb2.Category(id=category, display_name=category[:1].upper() + category[1:])


class SongService(song_service_pb2_grpc.SongServiceServicer):
    def __init__(
        self,
        *,
        database: Database,
        credits: Credits,
        releases: CreditReleases,
        objects: ObjectStore,
        events: SongEvents,
        settings: SongServiceSettings,
    ) -> None:
        self._db = database
        self._credits = credits
        self._releases = releases
        self._limiter = RateLimiter(database, rate_limits)
        self._objects = objects
        self._events = events
        self._settings = settings
        self._page_tokens = PageTokens(settings.page_token_key)
        self._listeners = Listeners(settings.page_token_key)
        self._play_window = timedelta(seconds=settings.play_window_seconds)
        self._streams = StreamLimits(
            per_user=settings.watch_streams_per_user,
            per_process=settings.watch_streams_per_process,
        )
        # Feed pages as anonymous viewers see them, for a moment: the first pages are
        # what everyone asks for. Writes through this process clear it at once (but
        # likes and plays do not: counts in a page may be `feed_cache_seconds` old);
        # other replicas' pages are at most `feed_cache_seconds` old.
        self._feed_pages: TTLCache[tuple, song_service_pb2.ListFeedResponse] = TTLCache(
            maxsize=4096, ttl=settings.feed_cache_seconds
        )

    # ---- creating ----------------------------------------------------------------

    async def CreateSong(
        self, request: song_service_pb2.CreateSongRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.CreateSongResponse:
        user = require_user()
        owner_id = UUID(user.subject)
        values = _validated_song(request)
        key = request.idempotency_key or None
        request_hash = hashlib.sha256(request.SerializeToString(deterministic=True)).digest()

        if key is None:
            song = await self._create(user, uuid.uuid4(), values, key=None, request_hash=b"")
            return song_service_pb2.CreateSongResponse(song=song.to_message())
        async with self._db.connection() as db:
            binding = await store.find_key_binding(db, owner_id, key)
        if binding is not None:
            song = await self._song_for_key(binding, request_hash)
            return song_service_pb2.CreateSongResponse(song=song.to_message())
        try:
            song = await self._create(
                user,
                uuid.uuid5(SONG_ID_NAMESPACE, f"{owner_id}/{key}"),
                values,
                key=key,
                request_hash=request_hash,
            )
        except CreditSettled:
            # An earlier request with this key reserved the credit and gave it back
            # without saving its song (it failed midway): the key is still free, but
            # its song id can never be paid for again, so the song gets a new one.
            song = await self._create(
                user, uuid.uuid4(), values, key=key, request_hash=request_hash
            )
        return song_service_pb2.CreateSongResponse(song=song.to_message())

    async def _create(
        self,
        user: Identity,
        song_id: UUID,
        values: dict[str, object],
        *,
        key: str | None,
        request_hash: bytes,
    ) -> Song:
        """Reserves the song's credit and writes the song, its job and its key's
        binding; or, when a concurrent request with the key won, returns its song."""
        owner_id = UUID(user.subject)
        reserved = False

        async def reserve() -> None:
            nonlocal reserved
            await self._credits.reserve(user_id=owner_id, song_id=song_id)
            reserved = True

        async def insert(db: AsyncConnection) -> Song | store.KeyBinding:
            if key is not None:
                earlier = await store.bind_key(
                    db, owner_id=owner_id, key=key, song_id=song_id, request_hash=request_hash
                )
                if earlier is not None:
                    return earlier
            return await store.create_song(
                db,
                {
                    **values,
                    "id": song_id,
                    "owner_id": owner_id,
                    "owner_display_name": user.display_name,
                },
                deadline_seconds=self._settings.job_deadline_seconds,
            )

        # The song is only written once it is paid for: it is inserted while the
        # credit is reserved, and committed only after billing said yes. Reserving
        # is idempotent per song id, so a retry after a failure here is safe.
        try:
            async with self._db.transaction() as db:
                await self._check_in_flight(db, owner_id)
                _, created = await both(reserve(), insert(db))
        except BaseException:
            if reserved:
                await self._release_unsaved(song_id)
            raise
        if isinstance(created, Song):
            return created
        # A concurrent request with this key won. If it paid under another song id,
        # the credit reserved here backs nothing.
        if created.song_id != song_id:
            await self._release_unsaved(song_id)
        return await self._song_for_key(created, request_hash)

    async def _check_in_flight(self, db: AsyncConnection, owner_id: UUID) -> None:
        limit = self._settings.max_songs_in_flight
        if await store.count_in_flight(db, owner_id) >= limit:
            raise ResourceExhausted(
                f"at most {limit} songs may be queued or generating at once; "
                "create more when one is done",
                reason="TOO_MANY_SONGS_IN_FLIGHT",
                retry_after_seconds=SONGS_IN_FLIGHT_RETRY_SECONDS,
            )

    async def _song_for_key(self, binding: store.KeyBinding, request_hash: bytes) -> Song:
        """The song an idempotency key created, for a retry of the same request."""
        if binding.request_hash is not None and binding.request_hash != request_hash:
            raise FailedPrecondition(
                "idempotency_key was already used for a different request; use a new key",
                reason="IDEMPOTENCY_KEY_REUSED",
            )
        async with self._db.connection() as db:
            song = await store.get_song(db, binding.song_id)
        if song is None:
            raise FailedPrecondition(
                "the song created with this idempotency_key was deleted; use a new key "
                "to create another",
                reason="IDEMPOTENCY_KEY_SONG_DELETED",
            )
        return song

    async def _release_unsaved(self, song_id: UUID) -> None:
        """Gives back a credit reserved for a song that was not saved, unless a
        song with that id exists after all (a concurrent retry saved it). When
        this fails too, reconciliation releases the reservation later."""
        try:
            async with self._db.connection() as db:
                if await store.get_song(db, song_id) is not None:
                    return
            await self._credits.release(song_id, "the song could not be saved")
        except Exception:
            log.exception("releasing an unsaved song's credit failed", song_id=str(song_id))

    # ---- reading -----------------------------------------------------------------

    async def GetSong(
        self, request: song_service_pb2.GetSongRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.GetSongResponse:
        song = await self._visible_song(request.song_id)
        return song_service_pb2.GetSongResponse(song=await self._message(song))

    async def ListMySongs(
        self, request: song_service_pb2.ListMySongsRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.ListMySongsResponse:
        owner_id = UUID(require_user().subject)
        check = Violations()
        limit = page_size(check, request.page_size)
        query = {"listing": "my_songs", "owner": str(owner_id)}
        after = self._page_tokens.decode(check, request.page_token, query=query, shape=TimePosition)
        check.raise_if_any()
        async with self._db.connection() as db:
            found = await store.list_owner_songs(db, owner_id, after=after, limit=limit + 1)
            liked = await store.liked_song_ids(db, owner_id, [song.id for song in found])
        page = found[:limit]
        next_token = ""
        if len(found) > limit:
            last = page[-1]
            next_token = self._page_tokens.encode(
                TimePosition(time=last.create_time, id=last.id), query=query
            )
        return song_service_pb2.ListMySongsResponse(
            songs=[song.to_message(liked_by_caller=song.id in liked) for song in page],
            next_page_token=next_token,
        )

    async def ListFeed(
        self, request: song_service_pb2.ListFeedRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.ListFeedResponse:
        check = Violations()
        limit = page_size(check, request.page_size)
        if request.category and request.category not in CATEGORIES:
            check.add("category", "must be a category id from ListCategories")
        trending = request.order == song_service_pb2.FEED_ORDER_TRENDING
        query = {"listing": "feed", "category": request.category, "trending": trending}
        shape = ScorePosition if trending else TimePosition
        after = self._page_tokens.decode(check, request.page_token, query=query, shape=shape)
        check.raise_if_any()
        key = (request.category, trending, request.page_token, limit)
        page = self._feed_pages.get(key)
        if page is None:
            page = await self._feed_page(request.category, trending, after, limit, query)
            self._feed_pages[key] = page
        viewer = _caller_id()
        if viewer is None:
            return page
        async with self._db.connection() as db:
            liked = await store.liked_song_ids(db, viewer, [UUID(song.id) for song in page.songs])
        personal = song_service_pb2.ListFeedResponse()
        personal.CopyFrom(page)
        for song in personal.songs:
            song.liked_by_caller = UUID(song.id) in liked
        return personal

    async def _feed_page(
        self,
        category: str,
        trending: bool,
        after: store.FeedPosition | None,
        limit: int,
        query: Mapping[str, object],
    ) -> song_service_pb2.ListFeedResponse:
        """A feed page as anyone sees it (no likes of the caller's marked)."""
        async with self._db.connection() as db:
            found = await store.list_feed(
                db,
                category=category or store.ALL_CATEGORIES,
                trending=trending,
                after=after,
                limit=limit + 1,
            )
        page = found[:limit]
        next_token = ""
        if len(found) > limit:
            last, sort_key = page[-1]
            position: store.FeedPosition = (
                ScorePosition(score=sort_key, id=last.id)
                if trending
                else TimePosition(time=sort_key, id=last.id)
            )
            next_token = self._page_tokens.encode(position, query=query)
        return song_service_pb2.ListFeedResponse(
            songs=[song.to_message() for song, _ in page], next_page_token=next_token
        )

    async def ListCategories(
        self, request: song_service_pb2.ListCategoriesRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.ListCategoriesResponse:
        return song_service_pb2.ListCategoriesResponse(
            categories=[category_message(category) for category in CATEGORIES]
        )

    # ---- changing ----------------------------------------------------------------

    async def UpdateSong(
        self, request: song_service_pb2.UpdateSongRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.UpdateSongResponse:
        owner_id = UUID(require_user().subject)
        check = Violations()
        song_id = check.uuid("song.id", request.song.id)
        paths = list(request.update_mask.paths)
        if not paths:
            check.add("update_mask", "must name at least one of: title, published")
        for path in paths:
            if path not in UPDATABLE_FIELDS:
                check.add("update_mask", f"cannot update {path!r}; only title and published")
        title = ""
        if "title" in paths:
            title = check.text("song.title", request.song.title, max_length=limits.MAX_TITLE_CHARS)
        check.raise_if_any()

        async with self._db.transaction() as db:
            song = await self._owned_song(db, UUID(song_id), owner_id)
            if "published" in paths and request.song.published and song.status is not Status.READY:
                raise FailedPrecondition("only a ready song can be published", reason="NOT_READY")
            if "title" in paths:
                await store.rename(db, song.id, title)
            if "published" in paths:
                await store.set_published(db, song, request.song.published)
            updated = await store.get_song(db, song.id)
        self._feed_pages.clear()
        assert updated is not None  # we hold the row lock
        return song_service_pb2.UpdateSongResponse(song=await self._message(updated))

    async def DeleteSong(
        self, request: song_service_pb2.DeleteSongRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.DeleteSongResponse:
        owner_id = UUID(require_user().subject)
        song_id = _song_id(request.song_id)
        async with self._db.transaction() as db:
            song = await self._owned_song(db, song_id, owner_id)
            await store.delete_song(db, song.id)
            if song.status is not Status.READY:
                # Never delivered: the credit goes back, durably, even if a worker's
                # commit lands before billing hears of this (the worker stops when
                # it finds the song gone, and removes anything it had stored).
                await releases.schedule(db, song.id, "the song was deleted before it was ready")
        self._feed_pages.clear()
        if song.status is not Status.READY:
            await self._releases.deliver(song.id)
        for key in (song.audio_key, song.cover_key):
            if key:
                await self._objects.delete(key)
        return song_service_pb2.DeleteSongResponse()

    async def LikeSong(
        self, request: song_service_pb2.LikeSongRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.LikeSongResponse:
        account_id = UUID(require_user().subject)
        song = await self._visible_song(request.song_id)
        await self._limit_like_changes(account_id)
        async with self._db.transaction() as db:
            count = await store.like(db, song.id, account_id)
        return song_service_pb2.LikeSongResponse(like_count=count)

    async def UnlikeSong(
        self, request: song_service_pb2.UnlikeSongRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.UnlikeSongResponse:
        account_id = UUID(require_user().subject)
        song = await self._visible_song(request.song_id)
        await self._limit_like_changes(account_id)
        async with self._db.transaction() as db:
            count = await store.unlike(db, song.id, account_id)
        return song_service_pb2.UnlikeSongResponse(like_count=count)

    async def _limit_like_changes(self, account_id: UUID) -> None:
        per_minute = self._settings.like_changes_per_minute
        decision = await self._limiter.acquire(
            f"like-changes:{account_id}", Limit(count=per_minute, window_seconds=60)
        )
        if not decision.allowed:
            raise ResourceExhausted(
                f"at most {per_minute} likes and unlikes a minute; try again shortly",
                reason="LIKES_RATE_LIMITED",
                retry_after_seconds=decision.retry_after_whole_seconds,
            )

    async def RecordPlay(
        self, request: song_service_pb2.RecordPlayRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.RecordPlayResponse:
        song = await self._ready_song(request.song_id)
        call = current_call()
        listener = self._listeners.of(caller(), call.client_address if call else "")
        async with self._db.transaction() as db:
            count = await store.record_play(db, song.id, listener, window=self._play_window)
        return song_service_pb2.RecordPlayResponse(play_count=count)

    async def GetSongMedia(
        self, request: song_service_pb2.GetSongMediaRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.GetSongMediaResponse:
        song = await self._ready_song(request.song_id)
        assert song.audio_key and song.cover_key  # a READY song has both
        expires_at = int(time.time()) + self._settings.object_store.url_ttl_seconds
        return song_service_pb2.GetSongMediaResponse(
            audio_url=self._objects.url(song.audio_key, expires_at=expires_at),
            audio_content_type=AUDIO_CONTENT_TYPE,
            cover_url=self._objects.url(song.cover_key, expires_at=expires_at),
            expire_time=timestamp(datetime.fromtimestamp(expires_at, UTC)),
        )

    # ---- watching ----------------------------------------------------------------

    async def WatchSong(
        self, request: song_service_pb2.WatchSongRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[song_service_pb2.WatchSongResponse]:
        song_id = _song_id(request.song_id)
        owner_id = UUID(require_user().subject)
        loop = asyncio.get_running_loop()
        ends = loop.time() + self._settings.watch_max_seconds
        # The stream's slot and its watcher event are let go however it ends: done,
        # past its lifetime, failed, or cancelled because the client went away.
        with self._streams.hold(owner_id):
            async with self._events.watch(song_id) as changed:
                while True:
                    # Clear before reading, so a change during the read is not missed.
                    changed.clear()
                    async with self._db.connection() as db:
                        # No row lock: watchers must never hold up the worker's writes.
                        song = await store.get_song(db, song_id)
                        if song is None or song.owner_id != owner_id:
                            raise NotFound("song not found")
                        update = await self._watch_update(db, song)
                    yield update
                    left = ends - loop.time()
                    if song.status.is_terminal or left <= 0:
                        # Past its lifetime the stream ends cleanly; the client
                        # reconnects and resumes from the current state.
                        return
                    # Without a change, a fresh queue position and ETA go out anyway.
                    with suppress(TimeoutError):
                        await asyncio.wait_for(
                            changed.wait(),
                            timeout=min(self._settings.watch_refresh_seconds, left),
                        )

    async def _watch_update(
        self, db: AsyncConnection, song: Song
    ) -> song_service_pb2.WatchSongResponse:
        update = song_service_pb2.WatchSongResponse(song=song.to_message())
        if song.status.is_terminal:
            return update
        position = await store.queue_position(db, song.id) if song.status is Status.QUEUED else 0
        update.queue_position = position
        typical = await store.recent_job_seconds(db)
        if typical is not None:
            # Jobs ahead run in parallel batches; a rough guide, not a promise.
            batches_ahead = position // self._settings.worker_concurrency
            remaining = typical * (batches_ahead + 1) * (1 - song.progress)
            update.estimated_time_remaining.CopyFrom(Duration(seconds=math.ceil(remaining)))
        return update

    # ---- helpers -----------------------------------------------------------------

    async def _visible_song(self, raw_id: str) -> Song:
        song_id = _song_id(raw_id)
        async with self._db.connection() as db:
            song = await store.get_song(db, song_id)
        if song is None or not song.visible_to(_caller_id()):
            # Private songs of others look exactly like missing ones.
            raise NotFound("song not found")
        return song

    async def _ready_song(self, raw_id: str) -> Song:
        song = await self._visible_song(raw_id)
        if song.status is not Status.READY:
            raise FailedPrecondition("the song is not ready yet", reason="NOT_READY")
        return song

    async def _owned_song(self, db: AsyncConnection, song_id: UUID, owner_id: UUID) -> Song:
        song = await store.get_song(db, song_id, for_update=True)
        if song is None or song.owner_id != owner_id:
            raise NotFound("song not found")
        return song

    async def _message(self, song: Song) -> song_pb2.Song:
        viewer = _caller_id()
        async with self._db.connection() as db:
            liked = await store.liked_song_ids(db, viewer, [song.id])
        return song.to_message(liked_by_caller=song.id in liked)


def _caller_id() -> UUID | None:
    identity = caller()
    return UUID(identity.subject) if identity is not None and identity.is_user else None


def _song_id(raw: str) -> UUID:
    check = Violations()
    song_id = check.uuid("song_id", raw)
    check.raise_if_any()
    return UUID(song_id)


def _validated_song(request: song_service_pb2.CreateSongRequest) -> dict[str, object]:
    """The song's columns from a CreateSong request, defaults filled in; raises
    InvalidArgument naming every bad field."""
    check = Violations()
    mode_field = request.WhichOneof("mode")
    instrumental = request.instrumental
    description = prompt = lyrics = ""
    if mode_field is None:
        check.add("mode", "one of description, described_lyrics or custom_lyrics is required")
        mode = Mode.DESCRIPTION
    elif mode_field == "description":
        mode = Mode.DESCRIPTION
        description = check.text(
            "description", request.description, max_length=limits.MAX_DESCRIPTION_CHARS
        )
    else:
        described = mode_field == "described_lyrics"
        mode = Mode.DESCRIBED_LYRICS if described else Mode.CUSTOM_LYRICS
        given = request.described_lyrics if described else request.custom_lyrics
        prompt = check.text(
            f"{mode_field}.prompt", given.prompt, max_length=limits.MAX_PROMPT_CHARS
        )
        lyrics_field = "lyrics_description" if described else "lyrics"
        lyrics_limit = limits.MAX_LYRICS_DESCRIPTION_CHARS if described else limits.MAX_LYRICS_CHARS
        # Instrumental songs have no lyrics: whatever was given is not used.
        if not instrumental:
            lyrics = check.text(
                f"{mode_field}.{lyrics_field}",
                getattr(given, lyrics_field),
                max_length=lyrics_limit,
            )

    params = request.params
    duration = _number_or_default(
        check,
        "params.duration_seconds",
        params.duration_seconds,
        low=limits.MIN_DURATION_SECONDS,
        high=limits.MAX_DURATION_SECONDS,
        default=limits.DEFAULT_DURATION_SECONDS,
    )
    guidance = _number_or_default(
        check,
        "params.guidance_scale",
        params.guidance_scale,
        low=limits.MIN_GUIDANCE_SCALE,
        high=limits.MAX_GUIDANCE_SCALE,
        default=limits.DEFAULT_GUIDANCE_SCALE,
    )
    steps = params.inference_steps or limits.DEFAULT_INFERENCE_STEPS
    check.integer(
        "params.inference_steps",
        steps,
        minimum=limits.MIN_INFERENCE_STEPS,
        maximum=limits.MAX_INFERENCE_STEPS,
    )
    seed = check.integer("params.seed", params.seed, minimum=0, maximum=limits.MAX_SEED)
    if request.idempotency_key and not IDEMPOTENCY_KEY_PATTERN.match(request.idempotency_key):
        check.add("idempotency_key", "must be 1-64 characters of A-Z, a-z, 0-9, _ and -")
    check.raise_if_any()
    return {
        "mode": mode,
        "description": description,
        "prompt": prompt,
        "lyrics_input": lyrics,
        "instrumental": instrumental,
        "duration_seconds": duration,
        # A random seed is fixed now, so retries of the job give the same song.
        "seed": seed or secrets.randbelow(MAX_RANDOM_SEED) + 1,
        "guidance_scale": guidance,
        "inference_steps": steps,
    }


def _number_or_default(
    check: Violations, field: str, value: float, *, low: float, high: float, default: float
) -> float:
    if value == 0:
        return default
    if not math.isfinite(value) or not low <= value <= high:
        check.add(field, f"must be between {low:g} and {high:g}")
    return value
