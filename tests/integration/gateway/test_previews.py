"""Link previews of shared songs through the gateway: /songs/<id> with Open
Graph and Twitter card meta for published songs only, escaped, with absolute
and lasting media addresses."""

import asyncio
import uuid
from html.parser import HTMLParser

import httpx
import psycopg

from gateway.previews import UNPUBLISHED_SECONDS
from tests.integration.gateway.conftest import Gateway
from tests.integration.helpers import insert_song

HOSTILE_TITLE = '"><script>alert(1)</script><meta property="og:title" content="pwned'


class Page(HTMLParser):
    """The tags of a page as a browser's parser sees them."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.title = ""
        self._in_title = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data

    def meta(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for tag, attrs in self.tags:
            if tag == "meta":
                name = attrs.get("property") or attrs.get("name") or ""
                assert name not in found, f"{name} twice"
                found[name] = attrs.get("content") or ""
        return found


def published_song(gateway: Gateway, *, title: str, artist: str, published: bool = True) -> str:
    song_id = insert_song(gateway.database_url, str(uuid.uuid4()), ready=True)
    with psycopg.connect(gateway.database_url, autocommit=True) as db:
        db.execute(
            "UPDATE songs.songs SET title = %s, owner_display_name = %s, prompt_used = %s,"
            " published = %s, publish_time = CASE WHEN %s THEN now() END,"
            " audio_duration_seconds = 30 WHERE id = %s",
            (title, artist, "dreamy synth-pop & <b>bold</b>", published, published, song_id),
        )
    return song_id


async def test_a_published_song_page_carries_escaped_preview_meta(
    gateway: Gateway, http: httpx.AsyncClient, web_dir
) -> None:
    song_id = published_song(gateway, title=HOSTILE_TITLE, artist="<i>DJ</i> & co")
    response = await http.get(f"/songs/{song_id}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "public, max-age=60"
    page = Page(response.text)
    # The title is text, never markup: no script, no second og:title.
    assert "script" not in {tag for tag, _ in page.tags}
    assert page.title == f"{HOSTILE_TITLE} by <i>DJ</i> & co · Neutone"
    meta = page.meta()
    url = f"{gateway.url}/songs/{song_id}"
    assert meta["og:title"] == meta["twitter:title"] == HOSTILE_TITLE
    assert meta["og:description"] == (
        "A song by <i>DJ</i> & co on Neutone: dreamy synth-pop & <b>bold</b>"
    )
    assert meta["og:type"] == "music.song"
    assert meta["og:url"] == url
    assert meta["og:image"] == meta["twitter:image"] == f"{url}/cover.png"
    assert meta["og:audio"] == f"{url}/audio"
    assert meta["twitter:card"] == "summary_large_image"
    # Still the app: its root element is there for the browser.
    assert ("div", {"id": "root"}) in page.tags


async def test_a_song_published_after_its_page_was_opened_unfurls_within_seconds(
    gateway: Gateway, http: httpx.AsyncClient
) -> None:
    song_id = published_song(gateway, title="Soon Public", artist="Someone", published=False)
    assert "og:title" not in (await http.get(f"/songs/{song_id}")).text
    with psycopg.connect(gateway.database_url, autocommit=True) as db:
        db.execute(
            "UPDATE songs.songs SET published = true, publish_time = now() WHERE id = %s",
            (song_id,),
        )
    # Known as unpublished for a moment (a burst for one id costs one lookup), not for
    # the minute a rendered page is kept.
    await asyncio.sleep(UNPUBLISHED_SECONDS + 0.2)
    assert Page((await http.get(f"/songs/{song_id}")).text).meta()["og:title"] == "Soon Public"


async def test_private_and_unknown_songs_get_the_plain_app(
    gateway: Gateway, http: httpx.AsyncClient, web_dir
) -> None:
    plain = (web_dir / "index.html").read_text()
    private = published_song(gateway, title="Secret Title", artist="Someone", published=False)
    for path in (f"/songs/{private}", f"/songs/{uuid.uuid4()}", "/songs/not-an-id"):
        response = await http.get(path)
        assert response.status_code == 200
        assert response.text == plain, path
        assert response.headers["cache-control"] == "no-cache"
        for media in ("cover.png", "audio"):
            assert (await http.get(f"{path}/{media}")).status_code == 404


async def test_preview_media_addresses_redirect_to_fresh_signed_urls(
    gateway: Gateway, http: httpx.AsyncClient
) -> None:
    song_id = published_song(gateway, title="Neon Rain", artist="Ana")
    await gateway.store.put(
        f"songs/{song_id}/cover.png", b"\x89PNG cover", content_type="image/png"
    )
    await gateway.store.put(f"songs/{song_id}/audio.flac", b"fLaC audio", content_type="audio/flac")
    for media, body in (("cover.png", b"\x89PNG cover"), ("audio", b"fLaC audio")):
        redirect = await http.get(f"/songs/{song_id}/{media}")
        assert redirect.status_code == 302
        assert redirect.headers["location"].startswith(f"{gateway.url}/media/songs/{song_id}/")
        assert "signature=" in redirect.headers["location"]
        assert redirect.headers["cache-control"] == "public, max-age=30"
        fetched = await http.get(redirect.headers["location"])
        assert fetched.status_code == 200 and fetched.content == body
