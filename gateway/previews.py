"""What link previews read when a song's address is shared: /songs/<id> as the
app's index.html with Open Graph and Twitter card meta for a published song,
and stable public addresses of its cover and audio.

Crawlers fetch a page's image and audio minutes or days after the page, so the
meta never names a signed, time-limited media URL: it names
/songs/<id>/cover.png and /songs/<id>/audio, which redirect to freshly signed
URLs (the redirect is cached far shorter than those URLs live). Only a
published song gets any of this: for a private or unknown id the page is the
plain index.html (the app then says there is no such song) and the media
addresses are 404, exactly alike, so nothing tells them apart."""

import html
import re
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import grpc
import structlog
from cachetools import TTLCache
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from gateway.static import PAGE_HEADERS
from neutone.v1 import song_pb2, song_service_pb2, song_service_pb2_grpc

log = structlog.get_logger()

SITE_NAME = "Neutone"
# Longest style prompt quoted in a description: previews show about two lines.
MAX_DESCRIPTION_CHARS = 200
# How long a media redirect may be reused: far within the signed URL's lifetime
# (at least 60 s, NEUTONE_OBJECT_STORE__URL_TTL_SECONDS).
MEDIA_REDIRECT_SECONDS = 30
# A crawler waits for the page: a slow songsvc gives the plain app instead.
LOOKUP_TIMEOUT_SECONDS = 2.0
# How long an id is known not to be a published song: enough to absorb a burst of
# requests for one id, short enough that a song just published unfurls at once.
UNPUBLISHED_SECONDS = 2.0
_TITLE = re.compile(r"<title>.*?</title>", re.IGNORECASE | re.DOTALL)
_HEAD_END = re.compile(r"</head>", re.IGNORECASE)


def song_meta(song: song_pb2.Song, *, public_url: str) -> dict[str, str]:
    """The Open Graph and Twitter card properties of a published song's page."""
    page = f"{public_url}/songs/{song.id}"
    description = f"A song by {song.owner_display_name} on {SITE_NAME}"
    style = (song.prompt_used or song.prompt or song.description).strip()
    if style:
        if len(style) > MAX_DESCRIPTION_CHARS:
            style = style[: MAX_DESCRIPTION_CHARS - 1].rstrip() + "…"
        description += f": {style}"
    return {
        "og:type": "music.song",
        "og:site_name": SITE_NAME,
        "og:title": song.title,
        "og:description": description,
        "og:url": page,
        "og:image": f"{page}/cover.png",
        "og:image:type": "image/png",
        "og:audio": f"{page}/audio",
        "og:audio:type": "audio/flac",
        "music:duration": str(round(song.audio_duration_seconds)),
        "music:musician": f"{public_url}/artists/{song.owner_id}",
        # A player card needs an embeddable HTTPS player page; the cover it is.
        "twitter:card": "summary_large_image",
        "twitter:title": song.title,
        "twitter:description": description,
        "twitter:image": f"{page}/cover.png",
    }


def song_page(index_html: str, song: song_pb2.Song, *, public_url: str) -> str:
    """index.html with the song's title and meta. Every value is escaped: titles,
    names and prompts are anyone's text."""
    title = (
        f"<title>{html.escape(f'{song.title} by {song.owner_display_name}')} · {SITE_NAME}</title>"
    )
    tags = "".join(
        f'<meta {"name" if name.startswith("twitter:") else "property"}="{name}"'
        f' content="{html.escape(value, quote=True)}">'
        for name, value in song_meta(song, public_url=public_url).items()
    )
    if _TITLE.search(index_html):
        return _TITLE.sub(lambda _: title + tags, index_html, count=1)
    if _HEAD_END.search(index_html):
        return _HEAD_END.sub(lambda _: title + tags + "</head>", index_html, count=1)
    return title + tags + index_html


class SongPreviews:
    def __init__(
        self,
        songs: song_service_pb2_grpc.SongServiceStub,
        *,
        index_html: Path,
        public_url: str,
        cache_seconds: float,
        max_entries: int,
    ) -> None:
        self._songs = songs
        self._index_html = index_html
        self._public_url = public_url.rstrip("/")
        self._cache_seconds = cache_seconds
        # Pages by song id, so a burst of crawlers costs songsvc one lookup per id and
        # time to live. "Not a published song" is kept far shorter: a link shared right
        # after its song is published must unfurl at once.
        self._pages: TTLCache[UUID, str] = TTLCache(
            maxsize=max_entries, ttl=max(cache_seconds, 0.001)
        )
        self._unpublished: TTLCache[UUID, None] = TTLCache(
            maxsize=max_entries, ttl=min(max(cache_seconds, 0.001), UNPUBLISHED_SECONDS)
        )

    async def page(self, request: Request) -> Response:
        """GET /songs/<id>: the app, with the song's meta when it is published."""
        song_id = _song_id(request)
        rendered = None if song_id is None else await self._page(song_id)
        if rendered is None:
            response = HTMLResponse(self._index_html.read_text(), headers=PAGE_HEADERS)
            response.headers["cache-control"] = "no-cache"
            return response
        response = HTMLResponse(rendered, headers=PAGE_HEADERS)
        response.headers["cache-control"] = f"public, max-age={int(self._cache_seconds)}"
        return response

    async def _page(self, song_id: UUID) -> str | None:
        if song_id in self._pages:
            return self._pages[song_id]
        if song_id in self._unpublished:
            return None
        try:
            reply = await self._songs.GetSong(
                song_service_pb2.GetSongRequest(song_id=str(song_id)),
                timeout=LOOKUP_TIMEOUT_SECONDS,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                # songsvc is away: the plain app now, and no answer kept.
                log.warning("song preview lookup failed", code=error.code().name)
                return None
            rendered = None
        else:
            song = reply.song
            published = song.published and song.status == song_pb2.SONG_STATUS_READY
            rendered = (
                song_page(self._index_html.read_text(), song, public_url=self._public_url)
                if published
                else None
            )
        if rendered is None:
            self._unpublished[song_id] = None
        else:
            self._pages[song_id] = rendered
        return rendered

    async def cover(self, request: Request) -> Response:
        """GET /songs/<id>/cover.png: to a freshly signed URL of the cover."""
        return await self._media(request, lambda media: media.cover_url)

    async def audio(self, request: Request) -> Response:
        """GET /songs/<id>/audio: to a freshly signed URL of the audio."""
        return await self._media(request, lambda media: media.audio_url)

    async def _media(
        self, request: Request, pick: Callable[[song_service_pb2.GetSongMediaResponse], str]
    ) -> Response:
        song_id = _song_id(request)
        if song_id is None:
            return PlainTextResponse("no such song", status_code=404)
        try:
            # Signed out, so only a published song's media is found.
            media = await self._songs.GetSongMedia(
                song_service_pb2.GetSongMediaRequest(song_id=str(song_id)),
                timeout=LOOKUP_TIMEOUT_SECONDS,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION):
                return PlainTextResponse("no such song", status_code=404)
            log.warning("song media lookup failed", code=error.code().name)
            return PlainTextResponse("try again shortly", status_code=503)
        lifetime = media.expire_time.seconds - int(time.time())
        reuse = max(0, min(MEDIA_REDIRECT_SECONDS, lifetime // 2))
        return RedirectResponse(
            pick(media), status_code=302, headers={"cache-control": f"public, max-age={reuse}"}
        )


def _song_id(request: Request) -> UUID | None:
    try:
        return UUID(request.path_params["song_id"])
    except ValueError:
        return None
