"""Songs through `neutone`: created in each mode with its settings, listed page
by page, got, renamed, published, found in the feed, liked, played, fetched and
deleted, each with --json output a script can read."""

import time
from collections.abc import Callable
from pathlib import Path

from tests.integration.cli.conftest import Neutone
from tests.integration.conftest import BUCKET
from tests.integration.helpers import insert_song

LYRICS = "[verse]\nneon lights on the water\n[chorus]\nwe drive on\n"


def test_create_in_every_mode_then_list_get_and_delete(neutone: Neutone, new_user) -> None:
    neutone.signed_in(new_user())
    settings = "--duration 30 --seed 7 --guidance 5 --steps 8 --idempotency-key cli-test-1"
    request = ["create", "--description", "lo-fi rain at night", "--instrumental"]
    described = neutone.json(*request, *settings.split())["song"]
    assert described["status"] == "SONG_STATUS_QUEUED"
    assert described["mode"] == "SONG_MODE_DESCRIPTION" and described["instrumental"] is True
    assert described["params"] == {
        "duration_seconds": 30.0,
        "seed": "7",  # int64: a JSON string
        "guidance_scale": 5.0,
        "inference_steps": 8,
    }
    # The same idempotency key is the same song, charged once.
    assert neutone.json(*request, *settings.split())["song"]["id"] == described["id"]
    folk = neutone.json("create", "--prompt", "warm folk", "--describe-lyrics", "leaving home")
    folk = folk["song"]
    assert folk["mode"] == "SONG_MODE_DESCRIBED_LYRICS" and folk["prompt"] == "warm folk"
    (neutone.home / "lyrics.txt").write_text(LYRICS)
    ran = neutone("create", "--prompt", "synthwave", "--lyrics-file", "lyrics.txt")
    assert ran.status == 0 and ran.stdout.startswith("created ")
    custom_id = ran.stdout.split()[1]
    custom = neutone.json("get", custom_id)["song"]
    assert custom["mode"] == "SONG_MODE_CUSTOM_LYRICS" and custom["lyrics_input"] == LYRICS.strip()

    # Three songs took the welcome grant's three credits.
    ran = neutone("create", "--description", "one too many")
    assert ran.status == 1 and "FAILED_PRECONDITION" in ran.stderr
    assert "(reason INSUFFICIENT_CREDITS)" in ran.stderr

    first = neutone.json("list", "--page-size", "2")
    rest = neutone.json("list", "--page-size", "2", f"--page-token={first['next_page_token']}")
    assert not rest["next_page_token"]
    newest_first = [custom_id, folk["id"], described["id"]]
    assert [song["id"] for song in first["songs"] + rest["songs"]] == newest_first
    listed = neutone.ok("list")
    assert [line.split()[0] for line in listed.splitlines()] == newest_first

    for song_id in newest_first:
        assert neutone.json("delete", song_id) == {}
    failure = neutone("get", custom_id, "--json").failure()
    assert failure["code"] == "NOT_FOUND"
    assert neutone.json("list") == {"songs": [], "next_page_token": ""}


def ready_song(database_url: str, s3_client, owner_id: str, category: str) -> tuple[str, bytes]:
    """A READY song of `owner_id` with its files in the store; its id and audio."""
    song_id = insert_song(database_url, owner_id, ready=True, categories=(category,))
    audio = b"fLaC" + song_id.encode() * 10
    s3_client.put_object(
        Bucket=BUCKET, Key=f"songs/{song_id}/audio.flac", Body=audio, ContentType="audio/flac"
    )
    cover_key = f"songs/{song_id}/cover.png"
    s3_client.put_object(
        Bucket=BUCKET, Key=cover_key, Body=b"\x89PNG cover", ContentType="image/png"
    )
    return song_id, audio


def eventually(check: Callable[[], bool], what: str) -> None:
    # Feed pages are kept for up to a second (NEUTONE_FEED_CACHE_SECONDS).
    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.2)


def test_an_owner_publishes_and_a_listener_likes_plays_and_downloads(
    make_neutone, new_user, database_url, s3_client
) -> None:
    owner_user = new_user()
    owner: Neutone = make_neutone().signed_in(owner_user)
    listener: Neutone = make_neutone().signed_in(new_user())
    song_id, audio = ready_song(database_url, s3_client, owner_user.id, "jazz")

    renamed = owner.json("rename", song_id, "Night Drive")["song"]
    assert renamed["title"] == "Night Drive" and renamed["published"] is False
    assert listener("get", song_id, "--json").failure()["code"] == "NOT_FOUND"
    assert owner.ok("publish", song_id) == f"published {song_id}\n"

    assert listener.json("get", song_id)["song"]["title"] == "Night Drive"

    def in_feed(order: str) -> bool:
        feed = listener.json("feed", "--category", "jazz", "--order", order, "--page-size", "100")
        return song_id in [song["id"] for song in feed["songs"]]

    eventually(lambda: in_feed("newest") and in_feed("trending"), what="the song in the feed")

    assert listener.json("like", song_id) == {"like_count": "1"}  # int64: a JSON string
    assert listener.json("get", song_id)["song"]["liked_by_caller"] is True
    assert owner.json("get", song_id)["song"]["liked_by_caller"] is False
    assert listener.ok("unlike", song_id) == f"{song_id}: 0 likes\n"
    assert listener.json("play", song_id) == {"play_count": "1"}
    # Anyone may count a play (as their address); a second one in the window does not count.
    assert make_neutone().json("play", song_id) == {"play_count": "2"}
    assert make_neutone().json("play", song_id) == {"play_count": "2"}

    media = listener.json("media", song_id)
    assert media["audio_content_type"] == "audio/flac" and media["cover_url"].startswith("http")
    saved = listener.json("download", song_id, "--out", "songs")
    assert saved == {
        "song_id": song_id,
        "audio_path": "songs/Night Drive.flac",
        "cover_path": "songs/Night Drive.png",
    }
    assert (listener.home / saved["audio_path"]).read_bytes() == audio
    assert (listener.home / saved["cover_path"]).read_bytes() == b"\x89PNG cover"
    assert sorted(p.name for p in Path(listener.home / "songs").iterdir()) == [
        "Night Drive.flac",
        "Night Drive.png",
    ]

    assert owner.json("unpublish", song_id)["song"]["published"] is False
    assert listener("get", song_id, "--json").failure()["code"] == "NOT_FOUND"
    assert listener("download", song_id).status == 1


def test_feed_pages_follow_their_tokens(make_neutone, new_user, database_url, s3_client) -> None:
    owner_user = new_user()
    owner: Neutone = make_neutone().signed_in(owner_user)
    published = set()
    for _ in range(2):
        song_id, _ = ready_song(database_url, s3_client, owner_user.id, "classical")
        owner.ok("publish", song_id)
        published.add(song_id)
    anonymous: Neutone = make_neutone()

    def pages(order: str) -> list[str]:
        seen, token = [], ""
        while True:
            paging = ["--page-size", "1", *([f"--page-token={token}"] if token else [])]
            page = anonymous.json("feed", "--category", "classical", "--order", order, *paging)
            seen += [song["id"] for song in page["songs"]]
            token = page["next_page_token"]
            if not token:
                return seen

    for order in ("newest", "trending"):
        eventually(lambda o=order: published <= set(pages(o)), what=f"both songs in {order}")
        seen = pages(order)
        assert len(seen) == len(set(seen))
    text = anonymous.ok("feed", "--category", "classical", "--page-size", "1")
    assert text.splitlines()[-1].startswith("more: --page-token=")
