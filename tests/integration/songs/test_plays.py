"""RecordPlay counts a play once per listener per song per window, in one
statement however many calls race; plays and likes keep songsvc's feed pages."""

import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
from google.protobuf.field_mask_pb2 import FieldMask

from neutone.v1 import song_pb2
from neutone.v1 import song_service_pb2 as pb
from tests.integration.helpers import insert_song
from tests.integration.songs.conftest import TUNED_PLAY_WINDOW_SECONDS


def published_song(songs, owner, database_url: str, category: str = "jazz") -> str:
    song_id = insert_song(database_url, owner.id, ready=True, categories=(category,))
    songs.UpdateSong(
        pb.UpdateSongRequest(
            song=song_pb2.Song(id=song_id, published=True),
            update_mask=FieldMask(paths=["published"]),
        ),
        metadata=owner.metadata,
    )
    return song_id


def play_count(songs, song_id: str) -> int:
    return songs.GetSong(pb.GetSongRequest(song_id=song_id)).song.play_count


def listens(database_url: str, song_id: str) -> int:
    with psycopg.connect(database_url) as db:
        row = db.execute("SELECT count(*) FROM songs.listens WHERE song_id = %s", (song_id,))
        return row.fetchone()[0]


def test_fifty_plays_from_one_anonymous_client_count_once(songs, new_user, database_url) -> None:
    song_id = published_song(songs, new_user(), database_url)
    request = pb.RecordPlayRequest(song_id=song_id)
    # Half one after another, half at once: the upsert decides, not a read before it.
    replies = [songs.RecordPlay(request).play_count for _ in range(25)]
    with ThreadPoolExecutor(25) as pool:
        replies += [reply.play_count for reply in pool.map(songs.RecordPlay, [request] * 25)]
    assert replies == [1] * 50  # every call answers the count, counted or not
    assert play_count(songs, song_id) == 1
    # Only a keyed hash of the listener is kept, one row per listener.
    assert listens(database_url, song_id) == 1


def test_each_listener_counts_once(songs, new_user, database_url) -> None:
    owner, fan = new_user(), new_user()
    song_id = published_song(songs, owner, database_url)
    request = pb.RecordPlayRequest(song_id=song_id)
    assert songs.RecordPlay(request).play_count == 1  # this client, signed out
    assert songs.RecordPlay(request, metadata=fan.metadata).play_count == 2
    assert songs.RecordPlay(request, metadata=fan.metadata).play_count == 2
    assert songs.RecordPlay(request, metadata=owner.metadata).play_count == 3
    assert songs.RecordPlay(request).play_count == 3


def test_a_play_counts_again_once_the_window_is_over_and_the_listen_is_forgotten(
    tuned_songs, new_user, database_url
) -> None:
    owner, fan = new_user(), new_user()
    song_id = published_song(tuned_songs, owner, database_url)
    request = pb.RecordPlayRequest(song_id=song_id)
    assert tuned_songs.RecordPlay(request, metadata=fan.metadata).play_count == 1
    assert tuned_songs.RecordPlay(request, metadata=fan.metadata).play_count == 1
    # Expired listens are pruned (every window, here 1 s).
    deadline = time.monotonic() + 10 * TUNED_PLAY_WINDOW_SECONDS
    while listens(database_url, song_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert listens(database_url, song_id) == 0
    assert tuned_songs.RecordPlay(request, metadata=fan.metadata).play_count == 2


def test_plays_and_likes_keep_feed_pages_while_a_rename_clears_them(
    tuned_songs, new_user, database_url
) -> None:
    """The tuned songsvc keeps feed pages for 60 s; counts in them may lag."""
    owner, fan = new_user(), new_user()
    song_id = published_song(tuned_songs, owner, database_url, category="reggae")
    feed = pb.ListFeedRequest(category="reggae", page_size=100)

    def seen() -> song_pb2.Song:
        return next(s for s in tuned_songs.ListFeed(feed).songs if s.id == song_id)

    assert (seen().like_count, seen().play_count) == (0, 0)
    like = pb.LikeSongRequest(song_id=song_id)
    assert tuned_songs.LikeSong(like, metadata=fan.metadata).like_count == 1
    unlike = pb.UnlikeSongRequest(song_id=song_id)
    assert tuned_songs.UnlikeSong(unlike, metadata=fan.metadata).like_count == 0
    assert tuned_songs.LikeSong(like, metadata=fan.metadata).like_count == 1
    play = pb.RecordPlayRequest(song_id=song_id)
    assert tuned_songs.RecordPlay(play, metadata=fan.metadata).play_count == 1
    assert (seen().like_count, seen().play_count) == (0, 0)  # the kept page

    tuned_songs.UpdateSong(
        pb.UpdateSongRequest(
            song=song_pb2.Song(id=song_id, title="Renamed"), update_mask=FieldMask(paths=["title"])
        ),
        metadata=owner.metadata,
    )
    fresh = seen()
    assert (fresh.title, fresh.like_count, fresh.play_count) == ("Renamed", 1, 1)
