"""Finding songs against real processes: search, artists, liked songs, and
ListMySongs' filters and orders. Private songs of others never show."""

import uuid

import grpc
import psycopg
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from sqlalchemy.exc import OperationalError

from neutone.v1 import song_pb2
from neutone.v1 import song_service_pb2 as pb
from runtime import database
from runtime.database import Database, create_engine
from songsvc import store
from songsvc.search import prefix_tsquery
from tests.integration.helpers import error_reason, field_violations, insert_song, make_ready
from tests.integration.songs.conftest import TUNED_SEARCHES_PER_MINUTE


def unique_word() -> str:
    """A word no other test's song holds, so each test sees only its own songs."""
    return "zq" + uuid.uuid4().hex[:10]


def song_with(
    songs,
    user,
    database_url: str,
    *,
    title: str = "Untitled",
    prompt: str = "",
    lyrics: str = "",
    published: bool = True,
) -> str:
    """A READY song of `user` with these texts, published unless asked otherwise."""
    song_id = insert_song(database_url, user.id, ready=True)
    with psycopg.connect(database_url, autocommit=True) as db:
        db.execute(
            "UPDATE songs.songs SET title = %s, prompt_used = %s, lyrics_used = %s WHERE id = %s",
            (title, prompt, lyrics, song_id),
        )
    if published:
        publish(songs, user, song_id, True)
    return song_id


def publish(songs, user, song_id: str, published: bool) -> None:
    songs.UpdateSong(
        pb.UpdateSongRequest(
            song=song_pb2.Song(id=song_id, published=published),
            update_mask=FieldMask(paths=["published"]),
        ),
        metadata=user.metadata,
    )


def search(songs, query: str, user=None, **fields) -> pb.SearchSongsResponse:
    return songs.SearchSongs(
        pb.SearchSongsRequest(query=query, **fields), metadata=user.metadata if user else None
    )


def ids(reply) -> list[str]:
    return [song.id for song in reply.songs]


# ---- search ------------------------------------------------------------------------


def test_search_ranks_title_and_artist_over_prompt_over_lyrics(
    songs, new_user, database_url
) -> None:
    word = unique_word()
    artist, other = new_user(), new_user()
    in_lyrics = song_with(songs, artist, database_url, lyrics=f"[verse]\nthe {word} tonight")
    in_prompt = song_with(songs, artist, database_url, prompt=f"dreamy {word} pop")
    in_title = song_with(songs, artist, database_url, title=f"{word.title()} Nights")
    # Anyone, signed in or not, finds them; the lyrics match ranks last.
    assert ids(search(songs, word)) == [in_title, in_prompt, in_lyrics]
    assert ids(search(songs, word, other)) == [in_title, in_prompt, in_lyrics]
    # As typed: the start of the word finds it, and every word must match.
    assert ids(search(songs, word[:6] + " " + "nig")) == [in_title]
    assert ids(search(songs, f"  {word.upper()}!! ")) == [in_title, in_prompt, in_lyrics]
    assert ids(search(songs, f"{word} nowhere{unique_word()}")) == []


def test_search_finds_artists_by_name(songs, new_user, database_url) -> None:
    user = new_user()
    name = unique_word()
    song_id = song_with(songs, user, database_url)
    with psycopg.connect(database_url, autocommit=True) as db:
        db.execute(
            "UPDATE songs.songs SET owner_display_name = %s WHERE id = %s",
            (f"DJ {name}", song_id),
        )
    [found] = search(songs, name[:6]).songs
    assert (found.id, found.owner_id, found.owner_display_name) == (song_id, user.id, f"DJ {name}")


def test_search_never_shows_private_unpublished_or_deleted_songs(
    songs, new_user, database_url
) -> None:
    word = unique_word()
    owner = new_user()
    private = song_with(songs, owner, database_url, title=word, published=False)
    unpublished = song_with(songs, owner, database_url, title=word)
    deleted = song_with(songs, owner, database_url, title=word)
    kept = song_with(songs, owner, database_url, title=word)
    publish(songs, owner, unpublished, False)
    songs.DeleteSong(pb.DeleteSongRequest(song_id=deleted), metadata=owner.metadata)
    # Not even its owner finds a private song by search: search is of the public catalogue.
    assert ids(search(songs, word)) == [kept]
    assert ids(search(songs, word, owner)) == [kept]
    assert private


def test_search_pages_cover_every_match_once(songs, new_user, database_url) -> None:
    word = unique_word()
    user = new_user()
    made = {song_with(songs, user, database_url, title=f"{word} {n}") for n in range(5)}
    seen: list[str] = []
    token = ""
    while True:
        reply = search(songs, word, page_size=2, page_token=token)
        assert len(reply.songs) <= 2
        seen += ids(reply)
        token = reply.next_page_token
        if not token:
            break
    assert sorted(seen) == sorted(made)
    # A token belongs to its query.
    first_token = search(songs, word, page_size=2).next_page_token
    with pytest.raises(grpc.RpcError) as error:
        search(songs, unique_word(), page_size=2, page_token=first_token)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_token" in field_violations(error.value)


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"query": ""}, "query", "required"),
        ({"query": "   "}, "query", "required"),
        ({"query": "x" * 201}, "query", "at most 200"),
        ({"query": "?! -- **"}, "query", "letter or digit"),
        ({"query": "song", "page_size": 51}, "page_size", "between 1 and 50"),
        ({"query": "song", "page_size": -1}, "page_size", "between 1 and 50"),
        ({"query": "song", "page_token": "not-a-token"}, "page_token", "not a token"),
    ],
)
def test_bad_searches_name_the_field_and_limit(songs, fields, field, words) -> None:
    with pytest.raises(grpc.RpcError) as error:
        songs.SearchSongs(pb.SearchSongsRequest(**fields))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert words in field_violations(error.value)[field]


def test_tsquery_syntax_in_a_query_is_only_words(songs, new_user, database_url) -> None:
    word = unique_word()
    user = new_user()
    song_id = song_with(songs, user, database_url, title=f"{word} rain")
    for query in (f"{word} & !rain", f"'{word}':* | rain", f"{word} <-> (rain)", f"{word}\\"):
        assert ids(search(songs, query)) == [song_id], query


def test_searches_are_rate_limited_per_account(tuned_songs, new_user) -> None:
    user = new_user()
    for _ in range(TUNED_SEARCHES_PER_MINUTE):
        search(tuned_songs, "anything", user)
    with pytest.raises(grpc.RpcError) as error:
        search(tuned_songs, "anything", user)
    assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(error.value) == "SEARCHES_RATE_LIMITED"
    # Another account has its own allowance.
    search(tuned_songs, "anything", new_user())


# ---- artists -----------------------------------------------------------------------


def test_an_artist_is_their_published_songs(songs, new_user, database_url) -> None:
    artist, fan = new_user(), new_user()
    first = song_with(songs, artist, database_url, title="First")
    second = song_with(songs, artist, database_url, title="Second")
    private = song_with(songs, artist, database_url, title="Private", published=False)
    with psycopg.connect(database_url, autocommit=True) as db:
        db.execute(
            "UPDATE songs.songs SET play_count = 7, like_count = 2 WHERE id = ANY(%s)",
            ([first, second, private],),
        )
    reply = songs.GetArtist(pb.GetArtistRequest(artist_id=artist.id))
    assert reply.artist.id == artist.id
    assert reply.artist.display_name == "Test User"
    assert reply.artist.published_song_count == 2
    assert (reply.artist.play_count, reply.artist.like_count) == (14, 4)
    assert reply.artist.first_publish_time.seconds > 0

    listed = songs.ListArtistSongs(
        pb.ListArtistSongsRequest(artist_id=artist.id, page_size=1), metadata=fan.metadata
    )
    assert ids(listed) == [second]  # most recently published first
    rest = songs.ListArtistSongs(
        pb.ListArtistSongsRequest(artist_id=artist.id, page_token=listed.next_page_token)
    )
    assert ids(rest) == [first] and not rest.next_page_token
    # Every song names its artist, for the link to /artists/<owner_id>.
    assert listed.songs[0].owner_id == artist.id


def test_an_account_without_published_songs_is_no_artist(songs, new_user, database_url) -> None:
    shy = new_user()
    song_with(songs, shy, database_url, published=False)
    for artist_id in (shy.id, str(uuid.uuid4())):
        with pytest.raises(grpc.RpcError) as error:
            songs.GetArtist(pb.GetArtistRequest(artist_id=artist_id), metadata=shy.metadata)
        assert error.value.code() == grpc.StatusCode.NOT_FOUND
        listed = songs.ListArtistSongs(pb.ListArtistSongsRequest(artist_id=artist_id))
        assert list(listed.songs) == []


def test_bad_artist_requests_name_the_field(songs) -> None:
    for call, request in (
        (songs.GetArtist, pb.GetArtistRequest(artist_id="me")),
        (songs.ListArtistSongs, pb.ListArtistSongsRequest(artist_id="")),
    ):
        with pytest.raises(grpc.RpcError) as error:
            call(request)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_violations(error.value)["artist_id"] == "must be a UUID"


# ---- liked songs -------------------------------------------------------------------


def like(songs, user, song_id: str) -> None:
    songs.LikeSong(pb.LikeSongRequest(song_id=song_id), metadata=user.metadata)


def test_liked_songs_newest_like_first_without_songs_gone_private(
    songs, new_user, database_url
) -> None:
    artist, fan = new_user(), new_user()
    stays = song_with(songs, artist, database_url)
    goes_private = song_with(songs, artist, database_url)
    deleted = song_with(songs, artist, database_url)
    own_private = song_with(songs, fan, database_url, published=False)
    for song_id in (stays, goes_private, deleted, own_private):
        like(songs, fan, song_id)
    publish(songs, artist, goes_private, False)
    songs.DeleteSong(pb.DeleteSongRequest(song_id=deleted), metadata=artist.metadata)

    first = songs.ListLikedSongs(pb.ListLikedSongsRequest(page_size=1), metadata=fan.metadata)
    rest = songs.ListLikedSongs(
        pb.ListLikedSongsRequest(page_token=first.next_page_token), metadata=fan.metadata
    )
    assert ids(first) + ids(rest) == [own_private, stays]
    assert not rest.next_page_token
    assert all(song.liked_by_caller for song in [*first.songs, *rest.songs])
    # Published again, the song is back in its place.
    publish(songs, artist, goes_private, True)
    again = songs.ListLikedSongs(pb.ListLikedSongsRequest(), metadata=fan.metadata)
    assert ids(again) == [own_private, goes_private, stays]
    # Nobody else's likes show, and signing in is required.
    assert ids(songs.ListLikedSongs(pb.ListLikedSongsRequest(), metadata=artist.metadata)) == []
    with pytest.raises(grpc.RpcError) as error:
        songs.ListLikedSongs(pb.ListLikedSongsRequest())
    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_liked_songs_token_is_the_accounts_own(songs, new_user, database_url) -> None:
    artist, fan, other = new_user(), new_user(), new_user()
    for _ in range(2):
        like(songs, fan, song_with(songs, artist, database_url))
    token = songs.ListLikedSongs(
        pb.ListLikedSongsRequest(page_size=1), metadata=fan.metadata
    ).next_page_token
    with pytest.raises(grpc.RpcError) as error:
        songs.ListLikedSongs(pb.ListLikedSongsRequest(page_token=token), metadata=other.metadata)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(error.value)["page_token"] == "belongs to a different query"


# ---- my songs ----------------------------------------------------------------------


def my_songs(songs, user, **fields) -> list[str]:
    """Every page of ListMySongs with these filters, two songs a page."""
    found: list[str] = []
    token = ""
    while True:
        reply = songs.ListMySongs(
            pb.ListMySongsRequest(page_size=2, page_token=token, **fields), metadata=user.metadata
        )
        found += ids(reply)
        token = reply.next_page_token
        if not token:
            return found


def test_my_songs_filter_by_text_and_status_and_sort(songs, new_user, database_url) -> None:
    user = new_user()
    word = unique_word()
    banana = song_with(songs, user, database_url, title="banana split", published=False)
    apple = song_with(songs, user, database_url, title=f"Apple {word}", published=False)
    cherry = song_with(songs, user, database_url, title="cherry", lyrics=f"{word} la la")
    queued = insert_song(database_url, user.id)
    newest_first = [queued, cherry, apple, banana]
    assert my_songs(songs, user) == newest_first
    assert my_songs(songs, user, order=pb.MY_SONGS_ORDER_OLDEST) == newest_first[::-1]
    # By title, ignoring case; the queued song's title is still empty.
    assert my_songs(songs, user, order=pb.MY_SONGS_ORDER_TITLE) == [queued, apple, banana, cherry]
    assert my_songs(songs, user, text_filter=word[:7]) == [cherry, apple]
    assert my_songs(songs, user, text_filter=word, order=pb.MY_SONGS_ORDER_TITLE) == [apple, cherry]
    assert my_songs(songs, user, status=song_pb2.SONG_STATUS_QUEUED) == [queued]
    ready = my_songs(songs, user, status=song_pb2.SONG_STATUS_READY, text_filter="BAN")
    assert ready == [banana]
    # Another account's songs never match.
    assert my_songs(songs, new_user(), text_filter=word) == []


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"text_filter": "x" * 201}, "text_filter", "at most 200"),
        ({"text_filter": "..."}, "text_filter", "letter or digit"),
        ({"status": 99}, "status", "QUEUED, PROCESSING, READY or FAILED"),
        ({"order": 42}, "order", "NEWEST, OLDEST or TITLE"),
    ],
)
def test_bad_my_songs_filters_name_the_field(songs, new_user, fields, field, words) -> None:
    with pytest.raises(grpc.RpcError) as error:
        songs.ListMySongs(pb.ListMySongsRequest(**fields), metadata=new_user().metadata)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert words in field_violations(error.value)[field]


def test_a_my_songs_token_belongs_to_its_filters(songs, new_user, database_url) -> None:
    user = new_user()
    for _ in range(3):
        make_ready(database_url, insert_song(database_url, user.id), [])
    token = songs.ListMySongs(
        pb.ListMySongsRequest(page_size=1, order=pb.MY_SONGS_ORDER_TITLE), metadata=user.metadata
    ).next_page_token
    with pytest.raises(grpc.RpcError) as error:
        songs.ListMySongs(pb.ListMySongsRequest(page_token=token), metadata=user.metadata)
    assert field_violations(error.value)["page_token"] == "belongs to a different query"


async def test_a_search_of_too_common_words_is_stopped(scratch_url: str) -> None:
    database.upgrade(scratch_url, ["songsvc"])
    with psycopg.connect(scratch_url, autocommit=True) as db:
        db.execute(
            "INSERT INTO songs.songs (id, owner_id, owner_display_name, status, stage, mode,"
            " instrumental, duration_seconds, seed, guidance_scale, inference_steps,"
            " lyrics_used, published, publish_time) SELECT gen_random_uuid(), gen_random_uuid(),"
            " 'Ana', 'ready', 'done', 'description', false, 30, 1, 7, 8,"
            " repeat('la lalala ', 200), true, now() FROM generate_series(1, 5000)"
        )
    songs_db = Database(create_engine(scratch_url))
    try:
        async with songs_db.transaction() as db:
            with pytest.raises(OperationalError) as error:
                await store.search_published(
                    db, prefix_tsquery(["la"]), after=None, limit=21, timeout_seconds=0.001
                )
        assert isinstance(error.value.orig, psycopg.errors.QueryCanceled)
        # Within its time, the same search answers.
        async with songs_db.transaction() as db:
            found = await store.search_published(
                db, prefix_tsquery(["la"]), after=None, limit=21, timeout_seconds=30
            )
        assert len(found) == 21
    finally:
        await songs_db.close()
