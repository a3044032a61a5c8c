"""Finding songs through `neutone`: search, an artist's page, liked songs, and
`list` with its filters, each with --json output a script can read."""

import uuid

import psycopg

from tests.integration.cli.conftest import Neutone
from tests.integration.helpers import insert_song


def titled_song(database_url: str, owner_id: str, title: str) -> str:
    song_id = insert_song(database_url, owner_id, ready=True)
    with psycopg.connect(database_url, autocommit=True) as db:
        db.execute("UPDATE songs.songs SET title = %s WHERE id = %s", (title, song_id))
    return song_id


def test_search_an_artist_and_liked_songs(make_neutone, new_user, database_url) -> None:
    word = "zq" + uuid.uuid4().hex[:10]
    owner_user = new_user()
    owner: Neutone = make_neutone().signed_in(owner_user)
    fan: Neutone = make_neutone().signed_in(new_user())
    anyone: Neutone = make_neutone()
    older = titled_song(database_url, owner_user.id, f"Summer {word}")
    newer = titled_song(database_url, owner_user.id, f"{word} Winter")
    hidden = titled_song(database_url, owner_user.id, f"{word} Private")
    for song_id in (older, newer):
        owner.ok("publish", song_id)

    # Signed out too; the start of a word is enough.
    found = anyone.json("search", word[:6], "--page-size", "1")
    rest = anyone.json("search", word[:6], f"--page-token={found['next_page_token']}")
    assert {song["id"] for song in found["songs"] + rest["songs"]} == {older, newer}
    assert [line.split()[0] for line in anyone.ok("search", f"summer {word}").splitlines()] == [
        older
    ]
    assert anyone.ok("search", f"{word} private") == "no songs found\n"
    ran = anyone("search", "x" * 201, "--json")
    assert ran.failure()["code"] == "INVALID_ARGUMENT" and "query" in ran.stderr

    page = anyone.json("artist", owner_user.id, "--page-size", "1")
    assert page["artist"]["published_song_count"] == "2"  # int64: a JSON string
    assert [song["id"] for song in page["songs"]] == [newer] and page["next_page_token"]
    text = anyone.ok("artist", owner_user.id)
    assert text.startswith("Test User  [") and "2 songs" in text and hidden not in text
    assert anyone("artist", str(uuid.uuid4()), "--json").failure()["code"] == "NOT_FOUND"

    for song_id in (older, newer):
        fan.ok("like", song_id)
    assert [song["id"] for song in fan.json("liked")["songs"]] == [newer, older]
    assert fan.ok("liked").splitlines()[0].startswith(f"{newer}  {word} Winter")
    assert anyone("liked").status == 1


def test_list_filters_and_sorts_my_songs(neutone: Neutone, new_user, database_url) -> None:
    user = new_user()
    neutone.signed_in(user)
    word = "zq" + uuid.uuid4().hex[:10]
    banana = titled_song(database_url, user.id, f"banana {word}")
    apple = titled_song(database_url, user.id, f"Apple {word}")
    queued = insert_song(database_url, user.id)

    def listed(*options: str) -> list[str]:
        return [song["id"] for song in neutone.json("list", *options)["songs"]]

    assert listed() == [queued, apple, banana]
    assert listed("--order", "oldest") == [banana, apple, queued]
    assert listed("--order", "title") == [queued, apple, banana]
    assert listed("--text", word[:5], "--order", "title") == [apple, banana]
    assert listed("--status", "queued") == [queued]
    assert neutone("list", "--status", "done").status == 2  # argparse: no such choice


def test_lyrics_to_edit_then_create(neutone: Neutone, new_user, triton_url: str) -> None:
    neutone.signed_in(new_user())
    suggested = neutone.json("lyrics", "a road trip at dawn", "--prompt", "folk", "--seed", "5")
    assert suggested["prompt"] == "folk" and suggested["lyrics"] and suggested["title"]
    text = neutone.ok("lyrics", "a road trip at dawn", "--prompt", "folk", "--seed", "5")
    assert text.startswith(f"title: {suggested['title']}\nstyle: folk\n\n")
    # Edited: the start kept, an outro of one's own added.
    edited = suggested["lyrics"][:2000] + "\n[outro]\nhome at last"
    (neutone.home / "lyrics.txt").write_text(edited)
    created = neutone.json("create", "--prompt", "folk", "--lyrics-file", "lyrics.txt")["song"]
    assert created["lyrics_input"].endswith("home at last")
    ran = neutone("lyrics", "x" * 1001, "--json")
    assert ran.failure()["field_violations"] == [
        {"field": "description", "description": "must be at most 1000 characters"}
    ]
