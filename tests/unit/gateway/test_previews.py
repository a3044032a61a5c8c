"""A shared song's page: its meta, escaped, wherever index.html puts its title."""

from html.parser import HTMLParser

import pytest

from gateway.previews import MAX_DESCRIPTION_CHARS, song_meta, song_page
from neutone.v1 import song_pb2

SONG = song_pb2.Song(
    id="5f0c0a52-44a3-4d4c-9d7b-6bd6a3cfae2a",
    owner_id="0b5e3f86-8f3e-4e0e-9f43-7a0c2f1e6d11",
    owner_display_name="Ana & Bo",
    title='</title><script>alert("x")</script>',
    prompt_used="dreamy synth-pop",
    audio_duration_seconds=29.6,
)
PUBLIC = "https://neutone.example"


class Tags(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.meta: dict[str, str] = {}
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if tag == "meta" and "content" in values:
            self.meta[values.get("property") or values.get("name") or ""] = values["content"] or ""


def test_meta_names_absolute_lasting_addresses() -> None:
    meta = song_meta(SONG, public_url=PUBLIC)
    page = f"{PUBLIC}/songs/{SONG.id}"
    assert meta["og:url"] == page
    assert meta["og:image"] == meta["twitter:image"] == f"{page}/cover.png"
    assert meta["og:audio"] == f"{page}/audio"
    assert meta["music:musician"] == f"{PUBLIC}/artists/{SONG.owner_id}"
    assert meta["music:duration"] == "30"
    assert meta["og:description"] == "A song by Ana & Bo on Neutone: dreamy synth-pop"


def test_a_long_style_is_cut_short() -> None:
    song = song_pb2.Song(title="t", owner_display_name="a", prompt_used="x" * 1000)
    style = song_meta(song, public_url=PUBLIC)["og:description"].split(": ", 1)[1]
    assert len(style) == MAX_DESCRIPTION_CHARS and style.endswith("…")


@pytest.mark.parametrize(
    "index_html",
    [
        "<!doctype html><html><head><TITLE>Neutone</TITLE></head><body><div id=root></div>",
        "<!doctype html><html><head><meta charset=utf-8></head><body><div id=root></div>",
        "<div id=root></div>",
    ],
)
def test_the_page_has_one_title_and_the_meta_as_text(index_html: str) -> None:
    parsed = Tags(song_page(index_html, SONG, public_url=PUBLIC))
    assert parsed.tags.count("title") == 1
    assert "script" not in parsed.tags
    assert parsed.meta["og:title"] == SONG.title
    assert parsed.meta["twitter:card"] == "summary_large_image"
    assert "div" in parsed.tags
