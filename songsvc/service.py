"""SongService: creating songs, reading and changing them, the feed, likes,
plays, media URLs, and watching generation."""

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from uuid import UUID

import grpc
import psycopg
import structlog
from cachetools import TTLCache
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from engines import limits
from engines.categories import CATEGORIES
from neutone.v1 import song_pb2, song_service_pb2, song_service_pb2_grpc
from runtime.context import caller, current_call, require_service, require_user
from runtime.database import Database
from runtime.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unavailable,
    Violations,
)
from runtime.keys import USER_SIGNER
from runtime.messages import timestamp
from runtime.objectstore import ObjectStore
from runtime.pagination import (
    DEFAULT_PAGE_SIZE,
    PagePosition,
    PageTokens,
    ScorePosition,
    TimePosition,
    page_size,
)
from runtime.ratelimit import Limit, RateLimiter, client_network
from songsvc import files, releases, requests, search, store
from songsvc.billing import Credits
from songsvc.creation import SongCreator
from songsvc.downloads import Downloads
from songsvc.events import SongEvents
from songsvc.models import ModelError, ModelTimeout, ModelUnavailable, TritonModels
from songsvc.owners import Owners
from songsvc.plays import Listeners
from songsvc.records import STATUS_MESSAGES, STEM_MESSAGES, AudioFormat, Song, Status, Task
from songsvc.releases import CreditReleases
from songsvc.settings import SongServiceSettings
from songsvc.streams import StreamLimits
from songsvc.tables import rate_limits
from songsvc.uploads import Uploads

log = structlog.get_logger()

UPDATABLE_FIELDS = {"title", "published", "remix_allowed"}
DOWNLOAD_FORMATS = {
    song_service_pb2.AUDIO_FORMAT_UNSPECIFIED: AudioFormat.FLAC,
    song_service_pb2.AUDIO_FORMAT_FLAC: AudioFormat.FLAC,
    song_service_pb2.AUDIO_FORMAT_WAV: AudioFormat.WAV,
    song_service_pb2.AUDIO_FORMAT_MP3: AudioFormat.MP3,
}
STEMS_BY_MESSAGE = {message: stem for stem, message in STEM_MESSAGES.items()}
AUDIO_CONTENT_TYPE = "audio/flac"

STATUSES_BY_MESSAGE = {message: status for status, message in STATUS_MESSAGES.items()}
OWNER_ORDERS = {
    song_service_pb2.MY_SONGS_ORDER_UNSPECIFIED: store.OwnerOrder.NEWEST,
    song_service_pb2.MY_SONGS_ORDER_NEWEST: store.OwnerOrder.NEWEST,
    song_service_pb2.MY_SONGS_ORDER_OLDEST: store.OwnerOrder.OLDEST,
    song_service_pb2.MY_SONGS_ORDER_TITLE: store.OwnerOrder.TITLE,
}
# Search pages are smaller than other listings': each row is ranked.
MAX_SEARCH_PAGE_SIZE = 50

# What usersvc allows a display name to be (user.proto).
MAX_DISPLAY_NAME_CHARS = 50


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
        uploads: Uploads,
        downloads: Downloads,
        events: SongEvents,
        models: TritonModels,
        settings: SongServiceSettings,
    ) -> None:
        self._db = database
        self._models = models
        self._listeners = Listeners(settings.page_token_key)
        self._owners = Owners(
            database, objects, uploads=uploads, releases=releases, listeners=self._listeners
        )
        self._creator = SongCreator(
            database=database,
            credits=credits,
            max_in_flight=settings.max_songs_in_flight,
            job_deadline_seconds=settings.job_deadline_seconds,
        )
        self._releases = releases
        self._limiter = RateLimiter(database, rate_limits)
        self._objects = objects
        self._uploads = uploads
        self._downloads = downloads
        self._events = events
        self._settings = settings
        self._page_tokens = PageTokens(settings.page_token_key)
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
        wanted = requests.create_song(request)
        self._check_inference_steps(wanted.takes)
        if wanted.reference_upload_id is not None:
            await self._uploads.ready(
                UUID(user.subject), wanted.reference_upload_id, field="reference_upload_id"
            )
            for take in wanted.takes:
                take["reference_upload_id"] = wanted.reference_upload_id
        songs = await self._creator.create(
            user, wanted.takes, key=wanted.idempotency_key, request=request
        )
        messages = [song.to_message() for song in songs]
        return song_service_pb2.CreateSongResponse(song=messages[0], songs=messages)

    async def ExtendSong(
        self, request: song_service_pb2.ExtendSongRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.ExtendSongResponse:
        song = await self._edit(requests.extend(request), request)
        return song_service_pb2.ExtendSongResponse(song=song.to_message())

    async def RepaintSong(
        self, request: song_service_pb2.RepaintSongRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.RepaintSongResponse:
        song = await self._edit(requests.repaint(request), request)
        return song_service_pb2.RepaintSongResponse(song=song.to_message())

    async def CoverSong(
        self, request: song_service_pb2.CoverSongRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.CoverSongResponse:
        song = await self._edit(requests.cover(request), request)
        return song_service_pb2.CoverSongResponse(song=song.to_message())

    async def SeparateStems(
        self, request: song_service_pb2.SeparateStemsRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.SeparateStemsResponse:
        if not self._settings.stems_supported:
            raise FailedPrecondition(
                "stems need ACE-Step's base checkpoint; this deployment runs a turbo one",
                reason="STEMS_UNSUPPORTED",
            )
        song = await self._edit(requests.separate_stems(request), request)
        return song_service_pb2.SeparateStemsResponse(song=song.to_message())

    async def _edit(self, edit: requests.EditRequest, request: Message) -> Song:
        user = require_user()
        self._check_inference_steps([edit.columns])
        source = await self._source(edit, UUID(user.subject))
        [song] = await self._creator.create(
            user, [edit.song_values(source)], key=edit.idempotency_key, request=request
        )
        return song

    def _check_inference_steps(self, songs: list[requests.Columns]) -> None:
        """Refuses more steps than the deployment's checkpoint takes (a turbo one)."""
        most = self._settings.max_inference_steps
        steps = max(song["inference_steps"] for song in songs)
        if steps > most:
            check = Violations()
            check.add(
                "params.inference_steps",
                f"must be at most {most} (got {steps}): this deployment's checkpoint is"
                f" distilled into {most} steps; more would only cost time",
            )
            check.raise_if_any()

    async def _source(self, edit: requests.EditRequest, owner_id: UUID) -> requests.Source:
        """What the edit starts from, once the caller may use it."""
        ref = edit.source
        if ref.kind is requests.SourceKind.UPLOAD:
            upload = await self._uploads.ready(owner_id, ref.id, field="source.upload_id")
            return requests.Source(
                ref=ref,
                duration_seconds=upload.duration_seconds,
                title=upload.title,
                prompt="",
                lyrics="",
                categories=(),
                controls={},
            )
        async with self._db.connection() as db:
            song = await store.get_song(db, ref.id)
        if song is None or not song.visible_to(owner_id):
            raise NotFound("source.song_id: no such song", reason="SOURCE_NOT_FOUND")
        if song.owner_id != owner_id and edit.task is not Task.COVER:
            raise PermissionDenied(
                "source.song_id: only your own songs can be extended, repainted or split",
                reason="NOT_YOUR_SONG",
            )
        if not song.can_be_covered_by(owner_id):
            raise PermissionDenied(
                "source.song_id: its owner does not allow covers", reason="REMIX_NOT_ALLOWED"
            )
        if song.status is not Status.READY:
            raise FailedPrecondition(
                "source.song_id: the song is not ready yet", reason="NOT_READY"
            )
        return requests.Source(
            ref=ref,
            duration_seconds=song.audio_duration_seconds,
            title=song.title,
            prompt=song.prompt_used or song.prompt,
            lyrics="" if song.instrumental else song.lyrics_used or "",
            categories=song.categories,
            controls={name: getattr(song, name) for name in requests.CONTROLS},
        )

    async def CreateUpload(
        self, request: song_service_pb2.CreateUploadRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.CreateUploadResponse:
        owner_id = UUID(require_user().subject)
        upload, form, post_until = await self._uploads.create(
            owner_id,
            filename=request.filename,
            size_bytes=request.size_bytes,
            content_type=request.content_type,
        )
        return song_service_pb2.CreateUploadResponse(
            upload=upload.to_message(),
            upload_url=form.url,
            form_fields=form.fields,
            expire_time=timestamp(post_until),
        )

    async def CompleteUpload(
        self, request: song_service_pb2.CompleteUploadRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.CompleteUploadResponse:
        owner_id = UUID(require_user().subject)
        upload_id = requests.id_field("upload_id", request.upload_id)
        call = current_call()
        upload = await self._uploads.complete(
            owner_id, upload_id, finish_by=call.deadline if call else None
        )
        return song_service_pb2.CompleteUploadResponse(upload=upload.to_message())

    async def GetSongDownload(
        self, request: song_service_pb2.GetSongDownloadRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.GetSongDownloadResponse:
        check = Violations()
        audio_format = DOWNLOAD_FORMATS.get(request.format)
        if audio_format is None:
            check.add("format", "must be FLAC, WAV or MP3")
        stem = STEMS_BY_MESSAGE.get(request.stem) if request.stem else None
        if request.stem and stem is None:
            check.add("stem", "must be VOCALS, DRUMS, BASS or OTHER")
        check.raise_if_any()
        song = await self._ready_song(request.song_id)
        if stem is not None and stem not in song.stems:
            raise FailedPrecondition(
                "stem: the song has no such stem; SeparateStems makes them", reason="NO_SUCH_STEM"
            )
        call = current_call()
        download = await self._downloads.of(
            song,
            audio_format=audio_format,
            stem=stem,
            finish_by=call.deadline if call else None,
        )
        return song_service_pb2.GetSongDownloadResponse(
            url=download.url,
            filename=download.filename,
            content_type=download.content_type,
            expire_time=timestamp(download.expire_time),
        )

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
        words = _words(check, "text_filter", request.text_filter, required=False)
        status = None
        if request.status:
            status = STATUSES_BY_MESSAGE.get(request.status)
            if status is None:
                check.add("status", "must be QUEUED, PROCESSING, READY or FAILED")
        order = OWNER_ORDERS.get(request.order)
        if order is None:
            check.add("order", "must be NEWEST, OLDEST or TITLE")
            order = store.OwnerOrder.NEWEST
        # Filters join the query only when set, so the plain listing's tokens stay
        # those of releases before the filters.
        query: dict[str, object] = {"listing": "my_songs", "owner": str(owner_id)}
        if words:
            query["words"] = words
        if status is not None:
            query["status"] = status
        if order is not store.OwnerOrder.NEWEST:
            query["order"] = order
        shape = store.TitlePosition if order is store.OwnerOrder.TITLE else TimePosition
        after = self._page_tokens.decode(check, request.page_token, query=query, shape=shape)
        check.raise_if_any()
        async with self._db.connection() as db:
            found = await store.list_owner_songs(
                db,
                owner_id,
                after=after,
                limit=limit + 1,
                order=order,
                status=status,
                tsquery_text=search.prefix_tsquery(words),
            )
        songs, next_token = await self._page(
            found, limit, query, end=lambda song: store.owner_position(song, order)
        )
        return song_service_pb2.ListMySongsResponse(songs=songs, next_page_token=next_token)

    async def ListDerivedSongs(
        self,
        request: song_service_pb2.ListDerivedSongsRequest,
        context: grpc.aio.ServicerContext,
    ) -> song_service_pb2.ListDerivedSongsResponse:
        viewer = UUID(require_user().subject)
        check = Violations()
        source_id = check.uuid("song_id", request.song_id)
        limit = page_size(check, request.page_size)
        query = {"listing": "derived", "source": source_id, "viewer": str(viewer)}
        after = self._page_tokens.decode(check, request.page_token, query=query, shape=TimePosition)
        check.raise_if_any()
        source = await self._visible_song(source_id)
        async with self._db.connection() as db:
            found = await store.list_derived_songs(
                db, source.id, viewer=viewer, after=after, limit=limit + 1
            )
        songs, next_token = await self._page(found, limit, query)
        return song_service_pb2.ListDerivedSongsResponse(songs=songs, next_page_token=next_token)

    async def _page(
        self,
        found: Sequence[Song],
        limit: int,
        query: dict[str, object],
        *,
        end: Callable[[Song], PagePosition] | None = None,
    ) -> tuple[list[song_pb2.Song], str]:
        """A page of songs (`limit + 1` found, to know whether another page follows),
        marked with the caller's likes, and its next token, made by `end` from the
        page's last song (by default: listed newest first, by request time)."""
        page = found[:limit]
        async with self._db.connection() as db:
            liked = await store.liked_song_ids(db, _caller_id(), [song.id for song in page])
        next_token = ""
        if len(found) > limit:
            last = page[-1]
            position = end(last) if end else TimePosition(time=last.create_time, id=last.id)
            next_token = self._page_tokens.encode(position, query=query)
        return [song.to_message(liked_by_caller=song.id in liked) for song in page], next_token

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

    # ---- finding ------------------------------------------------------------------

    async def SearchSongs(
        self, request: song_service_pb2.SearchSongsRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.SearchSongsResponse:
        check = Violations()
        words = _words(check, "query", request.query, required=True)
        limit = DEFAULT_PAGE_SIZE
        if request.page_size:
            limit = check.integer(
                "page_size", request.page_size, minimum=1, maximum=MAX_SEARCH_PAGE_SIZE
            )
        query = {"listing": "search", "words": words}
        after = self._page_tokens.decode(
            check, request.page_token, query=query, shape=ScorePosition
        )
        check.raise_if_any()
        await self._limit_searches()
        try:
            async with self._db.transaction() as db:
                found = await store.search_published(
                    db,
                    search.prefix_tsquery(words),
                    after=after,
                    limit=limit + 1,
                    timeout_seconds=self._settings.search_timeout_seconds,
                )
        except OperationalError as error:
            if not isinstance(error.orig, psycopg.errors.QueryCanceled):
                raise
            raise DeadlineExceeded(
                "query: the search took too long; use longer or more words",
                reason="SEARCH_TOO_BROAD",
            ) from None
        ranks = {song.id: rank for song, rank in found}
        songs, next_token = await self._page(
            [song for song, _ in found],
            limit,
            query,
            end=lambda song: ScorePosition(score=ranks[song.id], id=song.id),
        )
        return song_service_pb2.SearchSongsResponse(songs=songs, next_page_token=next_token)

    async def _limit_searches(self) -> None:
        """Counts a search against its client: the account, or else the address
        (the gateway's view of it), so one client cannot turn searches into load."""
        viewer = _caller_id()
        call = current_call()
        client = str(viewer) if viewer else client_network(call.client_address if call else "")
        await self._within_limit(
            f"searches:{client}",
            per_minute=self._settings.searches_per_minute,
            calls="searches",
            reason="SEARCHES_RATE_LIMITED",
        )

    async def GetArtist(
        self, request: song_service_pb2.GetArtistRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.GetArtistResponse:
        artist_id = requests.id_field("artist_id", request.artist_id)
        async with self._db.connection() as db:
            totals = await store.artist_totals(db, artist_id)
        if totals is None:
            # An account without published songs is nobody's business: it looks
            # like no account at all.
            raise NotFound("artist not found")
        artist = song_pb2.Artist(
            id=str(artist_id),
            display_name=totals.display_name,
            published_song_count=totals.published_song_count,
            play_count=totals.play_count,
            like_count=totals.like_count,
            first_publish_time=timestamp(totals.first_publish_time),
        )
        return song_service_pb2.GetArtistResponse(artist=artist)

    async def ListArtistSongs(
        self,
        request: song_service_pb2.ListArtistSongsRequest,
        context: grpc.aio.ServicerContext,
    ) -> song_service_pb2.ListArtistSongsResponse:
        check = Violations()
        artist_id = check.uuid("artist_id", request.artist_id)
        limit = page_size(check, request.page_size)
        query = {"listing": "artist", "artist": artist_id}
        after = self._page_tokens.decode(check, request.page_token, query=query, shape=TimePosition)
        check.raise_if_any()
        async with self._db.connection() as db:
            found = await store.list_artist_songs(db, UUID(artist_id), after=after, limit=limit + 1)
        songs, next_token = await self._page(found, limit, query, end=_published_position)
        return song_service_pb2.ListArtistSongsResponse(songs=songs, next_page_token=next_token)

    async def ListLikedSongs(
        self, request: song_service_pb2.ListLikedSongsRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.ListLikedSongsResponse:
        account_id = UUID(require_user().subject)
        check = Violations()
        limit = page_size(check, request.page_size)
        query = {"listing": "liked", "account": str(account_id)}
        after = self._page_tokens.decode(check, request.page_token, query=query, shape=TimePosition)
        check.raise_if_any()
        async with self._db.connection() as db:
            found = await store.list_liked_songs(db, account_id, after=after, limit=limit + 1)
        liked_at = {song.id: liked_time for song, liked_time in found}
        songs, next_token = await self._page(
            [song for song, _ in found],
            limit,
            query,
            end=lambda song: TimePosition(time=liked_at[song.id], id=song.id),
        )
        return song_service_pb2.ListLikedSongsResponse(songs=songs, next_page_token=next_token)

    async def SuggestLyrics(
        self, request: song_service_pb2.SuggestLyricsRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.SuggestLyricsResponse:
        user = require_user()
        wanted = requests.suggest_lyrics(request)
        key = f"lyrics-suggestions:{user.subject}"
        limit = await self._within_limit(
            key,
            per_minute=self._settings.lyrics_suggestions_per_minute,
            calls="lyrics suggestions",
            reason="LYRICS_SUGGESTIONS_RATE_LIMITED",
        )
        call = current_call()
        timeout = self._settings.lyrics_suggestion_timeout_seconds
        if call is not None and call.deadline is not None:
            timeout = min(timeout, max(0.1, call.deadline - asyncio.get_running_loop().time()))
        try:
            plan = await self._models.suggest_lyrics(
                description=wanted.description,
                prompt=wanted.prompt,
                duration_seconds=wanted.duration_seconds,
                seed=wanted.seed,
                request_id=call.request_id if call else "",
                timeout_seconds=timeout,
            )
        except ModelUnavailable as error:
            # Nothing was written: the try is given back.
            await self._limiter.refund(key, limit)
            log.warning("planner unavailable for a lyrics suggestion", error=str(error))
            raise Unavailable(
                "the lyrics writer is unavailable; try again shortly", reason="MODEL_UNAVAILABLE"
            ) from None
        except ModelTimeout:
            raise DeadlineExceeded(
                f"the lyrics writer did not answer within {timeout:g} s",
                reason="MODEL_TIMEOUT",
            ) from None
        except ModelError as error:
            log.warning("the planner failed a lyrics suggestion", error=str(error))
            raise Unavailable(
                "the lyrics writer failed; try again shortly", reason="MODEL_FAILED"
            ) from None
        return song_service_pb2.SuggestLyricsResponse(
            prompt=plan.prompt[: limits.MAX_PROMPT_CHARS],
            lyrics=_fit_lyrics(plan.lyrics),
            title=plan.title[: limits.MAX_TITLE_CHARS],
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
            check.add("update_mask", "must name at least one of: title, published, remix_allowed")
        for path in paths:
            if path not in UPDATABLE_FIELDS:
                check.add(
                    "update_mask",
                    f"cannot update {path!r}; only title, published and remix_allowed",
                )
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
            if "remix_allowed" in paths:
                await store.allow_remixes(db, song.id, request.song.remix_allowed)
            updated = await store.get_song(db, song.id)
        self._feed_pages.clear()
        assert updated is not None  # we hold the row lock
        return song_service_pb2.UpdateSongResponse(song=await self._message(updated))

    async def DeleteSong(
        self, request: song_service_pb2.DeleteSongRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.DeleteSongResponse:
        owner_id = UUID(require_user().subject)
        song_id = requests.id_field("song_id", request.song_id)
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
        await files.delete_all(self._objects, song.id)
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
        await self._within_limit(
            f"like-changes:{account_id}",
            per_minute=self._settings.like_changes_per_minute,
            calls="likes and unlikes",
            reason="LIKES_RATE_LIMITED",
        )

    async def _within_limit(self, key: str, *, per_minute: int, calls: str, reason: str) -> Limit:
        """Counts one call for `key`; RESOURCE_EXHAUSTED (with when to retry) past
        `per_minute`. Returns the limit, for a refund when the call comes to nothing."""
        limit = Limit(count=per_minute, window_seconds=60)
        decision = await self._limiter.acquire(key, limit)
        if not decision.allowed:
            raise ResourceExhausted(
                f"at most {per_minute} {calls} a minute; try again shortly",
                reason=reason,
                retry_after_seconds=decision.retry_after_whole_seconds,
            )
        return limit

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
        async with self._db.connection() as db:
            peaks = await store.peaks(db, song.id)
        expires_at = int(time.time()) + self._settings.object_store.url_ttl_seconds
        return song_service_pb2.GetSongMediaResponse(
            audio_url=self._objects.url(song.audio_key, expires_at=expires_at),
            audio_content_type=AUDIO_CONTENT_TYPE,
            cover_url=self._objects.url(song.cover_key, expires_at=expires_at),
            expire_time=timestamp(datetime.fromtimestamp(expires_at, UTC)),
            peaks=peaks or b"",
        )

    # ---- watching ----------------------------------------------------------------

    async def WatchSong(
        self, request: song_service_pb2.WatchSongRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[song_service_pb2.WatchSongResponse]:
        song_id = requests.id_field("song_id", request.song_id)
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

    # ---- accounts changed in usersvc ----------------------------------------------

    async def RenameOwner(
        self, request: song_service_pb2.RenameOwnerRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.RenameOwnerResponse:
        # Accounts are usersvc's: only it may speak for one.
        require_service(USER_SIGNER)
        check = Violations()
        user_id = check.uuid("user_id", request.user_id)
        display_name = check.text(
            "display_name", request.display_name, max_length=MAX_DISPLAY_NAME_CHARS
        )
        check.raise_if_any()
        await self._owners.rename(UUID(user_id), display_name)
        self._feed_pages.clear()
        return song_service_pb2.RenameOwnerResponse()

    async def DeleteOwnerData(
        self, request: song_service_pb2.DeleteOwnerDataRequest, context: grpc.aio.ServicerContext
    ) -> song_service_pb2.DeleteOwnerDataResponse:
        require_service(USER_SIGNER)
        check = Violations()
        user_id = check.uuid("user_id", request.user_id)
        check.raise_if_any()
        deleted = await self._owners.delete(UUID(user_id))
        self._feed_pages.clear()
        return song_service_pb2.DeleteOwnerDataResponse(deleted_songs=deleted)

    async def _visible_song(self, raw_id: str) -> Song:
        song_id = requests.id_field("song_id", raw_id)
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
        if viewer is None:  # signed out: no likes to look up, no connection to take
            return song.to_message()
        async with self._db.connection() as db:
            liked = await store.liked_song_ids(db, viewer, [song.id])
        return song.to_message(liked_by_caller=song.id in liked)


def _caller_id() -> UUID | None:
    identity = caller()
    return UUID(identity.subject) if identity is not None and identity.is_user else None


def _published_position(song: Song) -> TimePosition:
    assert song.publish_time is not None  # only published songs are listed by it
    return TimePosition(time=song.publish_time, id=song.id)


def _words(check: Violations, field: str, text: str, *, required: bool) -> list[str]:
    """The words of a search text (songsvc.search), checked against its limits."""
    cleaned = check.text(
        field, text, max_length=search.MAX_QUERY_CHARS, min_length=1 if required else 0
    )
    words = search.query_words(cleaned)
    if cleaned and not words:
        check.add(field, "must contain a letter or digit")
    return words


def _fit_lyrics(lyrics: str) -> str:
    """Lyrics within CreateSong's limit, so a suggestion can be sent back as it is:
    whole lines, as many as fit."""
    if len(lyrics) <= limits.MAX_LYRICS_CHARS:
        return lyrics
    cut = lyrics[: limits.MAX_LYRICS_CHARS + 1]
    return cut[: cut.rfind("\n")].rstrip() if "\n" in cut else cut[: limits.MAX_LYRICS_CHARS]
