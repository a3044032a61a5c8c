"""SongService's API against real processes: creating, reading, changing, the
feed, likes and access. Generation itself is covered by test_generation.py."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import grpc
import psycopg
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from engines.categories import CATEGORIES
from neutone.v1 import billing_service_pb2, billing_service_pb2_grpc, song_pb2
from neutone.v1 import song_service_pb2 as pb
from tests.integration.helpers import error_reason, field_violations, make_ready


def balance(billing_channel: grpc.Channel, user) -> int:
    billing = billing_service_pb2_grpc.BillingServiceStub(billing_channel)
    return billing.GetBalance(
        billing_service_pb2.GetBalanceRequest(), metadata=user.metadata
    ).balance


def create(songs, user, **fields) -> song_pb2.Song:
    request = pb.CreateSongRequest(**(fields or {"description": "a calm piano piece"}))
    return songs.CreateSong(request, metadata=user.metadata).song


def test_list_categories_is_the_model_vocabulary(songs) -> None:
    reply = songs.ListCategories(pb.ListCategoriesRequest())
    assert [category.id for category in reply.categories] == list(CATEGORIES)


@pytest.mark.parametrize(
    ("fields", "mode"),
    [
        ({"description": "sad lo-fi about rain"}, song_pb2.SONG_MODE_DESCRIPTION),
        (
            {
                "described_lyrics": pb.DescribedLyrics(
                    prompt="synth-pop", lyrics_description="a road trip"
                )
            },
            song_pb2.SONG_MODE_DESCRIBED_LYRICS,
        ),
        (
            {"custom_lyrics": pb.CustomLyrics(prompt="folk", lyrics="[verse]\nhello hills")},
            song_pb2.SONG_MODE_CUSTOM_LYRICS,
        ),
    ],
)
def test_create_song_queues_it_and_takes_one_credit(
    songs, new_user, billing_channel, fields, mode
) -> None:
    user = new_user()
    before = balance(billing_channel, user)
    song = create(songs, user, **fields, params=song_pb2.GenerationParams(duration_seconds=12))
    assert song.status == song_pb2.SONG_STATUS_QUEUED
    assert song.mode == mode
    assert song.params.duration_seconds == 12
    assert song.params.seed > 0  # a random seed is fixed at creation
    assert song.params.inference_steps == 8 and song.params.guidance_scale == 7
    assert balance(billing_channel, user) == before - 1
    mine = songs.ListMySongs(pb.ListMySongsRequest(), metadata=user.metadata)
    assert [s.id for s in mine.songs] == [song.id]


def test_retried_create_song_returns_the_same_song_and_charges_once(
    songs, new_user, billing_channel
) -> None:
    user = new_user()
    before = balance(billing_channel, user)
    key = uuid.uuid4().hex
    request = pb.CreateSongRequest(description="retry me", idempotency_key=key)
    with ThreadPoolExecutor(8) as pool:
        replies = list(
            pool.map(lambda _: songs.CreateSong(request, metadata=user.metadata), range(8))
        )
    assert len({reply.song.id for reply in replies}) == 1
    assert balance(billing_channel, user) == before - 1


def test_concurrent_create_song_with_one_credit_left_accepts_one(
    songs, new_user, billing_channel, database_url
) -> None:
    user = new_user()
    while balance(billing_channel, user) > 1:
        create(songs, user)
    futures = [
        songs.CreateSong.future(
            pb.CreateSongRequest(description=f"race {i}"), metadata=user.metadata
        )
        for i in range(50)
    ]
    accepted, refused = [], []
    for future in futures:
        try:
            accepted.append(future.result())
        except grpc.RpcError as error:
            refused.append(error)
    assert len(accepted) == 1
    assert len(refused) == 49
    for error in refused:
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert error_reason(error) == "INSUFFICIENT_CREDITS"
    assert balance(billing_channel, user) == 0
    with psycopg.connect(database_url) as db:
        race_songs = db.execute(
            "SELECT count(*) FROM songs.songs WHERE owner_id = %s AND description LIKE 'race %%'",
            (user.id,),
        ).fetchone()[0]
    assert race_songs == 1


def test_private_songs_are_invisible_to_others(songs, new_user) -> None:
    owner, other = new_user(), new_user()
    song = create(songs, owner)
    attempts = {
        "GetSong": lambda: songs.GetSong(
            pb.GetSongRequest(song_id=song.id), metadata=other.metadata
        ),
        "WatchSong": lambda: next(
            songs.WatchSong(pb.WatchSongRequest(song_id=song.id), metadata=other.metadata)
        ),
        "rename": lambda: songs.UpdateSong(
            pb.UpdateSongRequest(
                song=song_pb2.Song(id=song.id, title="mine now"),
                update_mask=FieldMask(paths=["title"]),
            ),
            metadata=other.metadata,
        ),
        "publish": lambda: songs.UpdateSong(
            pb.UpdateSongRequest(
                song=song_pb2.Song(id=song.id, published=True),
                update_mask=FieldMask(paths=["published"]),
            ),
            metadata=other.metadata,
        ),
        "DeleteSong": lambda: songs.DeleteSong(
            pb.DeleteSongRequest(song_id=song.id), metadata=other.metadata
        ),
        "LikeSong": lambda: songs.LikeSong(
            pb.LikeSongRequest(song_id=song.id), metadata=other.metadata
        ),
        "anonymous GetSong": lambda: songs.GetSong(pb.GetSongRequest(song_id=song.id)),
    }
    for name, attempt in attempts.items():
        with pytest.raises(grpc.RpcError) as refused:
            attempt()
        assert refused.value.code() == grpc.StatusCode.NOT_FOUND, name
    # Nothing changed for the owner.
    mine = songs.GetSong(pb.GetSongRequest(song_id=song.id), metadata=owner.metadata).song
    assert mine.title == song.title and not mine.published


def test_rename_publish_like_play_and_delete(
    songs, new_user, database_url, billing_channel
) -> None:
    owner, fan = new_user(), new_user()
    song = create(songs, owner)
    with pytest.raises(grpc.RpcError) as not_ready:
        songs.UpdateSong(
            pb.UpdateSongRequest(
                song=song_pb2.Song(id=song.id, published=True),
                update_mask=FieldMask(paths=["published"]),
            ),
            metadata=owner.metadata,
        )
    assert not_ready.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    make_ready(database_url, song.id, ["jazz"])

    updated = songs.UpdateSong(
        pb.UpdateSongRequest(
            song=song_pb2.Song(id=song.id, title="  Night Drive  ", published=True),
            update_mask=FieldMask(paths=["title", "published"]),
        ),
        metadata=owner.metadata,
    ).song
    assert updated.title == "Night Drive" and updated.published and updated.HasField("publish_time")

    seen = songs.GetSong(pb.GetSongRequest(song_id=song.id)).song  # anonymous, now published
    assert seen.title == "Night Drive"
    feed = songs.ListFeed(pb.ListFeedRequest(category="jazz", page_size=100), metadata=fan.metadata)
    assert song.id in [s.id for s in feed.songs]

    assert (
        songs.LikeSong(pb.LikeSongRequest(song_id=song.id), metadata=fan.metadata).like_count == 1
    )
    assert (
        songs.LikeSong(pb.LikeSongRequest(song_id=song.id), metadata=fan.metadata).like_count == 1
    )
    liked = songs.GetSong(pb.GetSongRequest(song_id=song.id), metadata=fan.metadata).song
    assert liked.liked_by_caller and liked.like_count == 1
    # The feed marks the caller's own likes, and only theirs.
    request = pb.ListFeedRequest(category="jazz", page_size=100)
    anonymous = {s.id: s for s in songs.ListFeed(request).songs}
    as_fan = {s.id: s for s in songs.ListFeed(request, metadata=fan.metadata).songs}
    assert as_fan[song.id].liked_by_caller and not anonymous[song.id].liked_by_caller
    # A like keeps the kept feed pages: their counts catch up within the cache's 1 s.
    deadline = time.monotonic() + 5
    while {s.id: s for s in songs.ListFeed(request).songs}[song.id].like_count != 1:
        assert time.monotonic() < deadline, "the feed never showed the like"
        time.sleep(0.1)
    assert songs.RecordPlay(pb.RecordPlayRequest(song_id=song.id)).play_count == 1
    assert (
        songs.UnlikeSong(pb.UnlikeSongRequest(song_id=song.id), metadata=fan.metadata).like_count
        == 0
    )

    songs.DeleteSong(pb.DeleteSongRequest(song_id=song.id), metadata=owner.metadata)
    with pytest.raises(grpc.RpcError) as gone:
        songs.GetSong(pb.GetSongRequest(song_id=song.id), metadata=owner.metadata)
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    feed = songs.ListFeed(pb.ListFeedRequest(category="jazz", page_size=100))
    assert song.id not in [s.id for s in feed.songs]


def test_deleting_a_queued_song_gives_the_credit_back(songs, new_user, billing_channel) -> None:
    user = new_user()
    before = balance(billing_channel, user)
    song = create(songs, user)
    assert balance(billing_channel, user) == before - 1
    songs.DeleteSong(pb.DeleteSongRequest(song_id=song.id), metadata=user.metadata)
    assert balance(billing_channel, user) == before


def test_concurrent_likes_keep_the_count_exact(songs, new_user, database_url) -> None:
    owner = new_user()
    song = create(songs, owner)
    make_ready(database_url, song.id, ["pop"])
    songs.UpdateSong(
        pb.UpdateSongRequest(
            song=song_pb2.Song(id=song.id, published=True),
            update_mask=FieldMask(paths=["published"]),
        ),
        metadata=owner.metadata,
    )
    fans = [new_user() for _ in range(10)]
    requests = [fan for fan in fans for _ in range(3)]  # each fan likes three times at once
    with ThreadPoolExecutor(16) as pool:
        list(
            pool.map(
                lambda fan: songs.LikeSong(
                    pb.LikeSongRequest(song_id=song.id), metadata=fan.metadata
                ),
                requests,
            )
        )
    assert songs.GetSong(pb.GetSongRequest(song_id=song.id)).song.like_count == 10


def test_feed_pages_cover_every_song_once_in_order(songs, new_user, database_url) -> None:
    owner = new_user()
    published = []
    for _ in range(3):  # the welcome grant's worth
        song = create(songs, owner)
        make_ready(database_url, song.id, ["ambient", "classical"])
        songs.UpdateSong(
            pb.UpdateSongRequest(
                song=song_pb2.Song(id=song.id, published=True),
                update_mask=FieldMask(paths=["published"]),
            ),
            metadata=owner.metadata,
        )
        published.append(song.id)
    for order in (pb.FEED_ORDER_NEWEST, pb.FEED_ORDER_TRENDING):
        seen, token = [], ""
        while True:
            page = songs.ListFeed(
                pb.ListFeedRequest(category="classical", page_size=2, page_token=token, order=order)
            )
            seen += [s.id for s in page.songs]
            token = page.next_page_token
            if not token:
                break
        assert len(seen) == len(set(seen))
        assert set(published) <= set(seen)
    newest = songs.ListFeed(pb.ListFeedRequest(category="classical", page_size=100)).songs
    times = [s.publish_time.ToDatetime() for s in newest]
    assert times == sorted(times, reverse=True)


def test_bad_feed_requests_name_the_field(songs) -> None:
    cases = {
        "page_size": pb.ListFeedRequest(page_size=101),
        "category": pb.ListFeedRequest(category="polka"),
        "page_token": pb.ListFeedRequest(page_token="nonsense"),
    }
    for field, request in cases.items():
        with pytest.raises(grpc.RpcError) as refused:
            songs.ListFeed(request)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in field_violations(refused.value)
    token = songs.ListFeed(pb.ListFeedRequest(page_size=1)).next_page_token
    if token:  # a token from the unfiltered feed is refused for another category
        with pytest.raises(grpc.RpcError) as mismatched:
            songs.ListFeed(pb.ListFeedRequest(page_size=1, page_token=token, category="rock"))
        assert field_violations(mismatched.value) == {"page_token": "belongs to a different query"}


def test_update_mask_must_name_updatable_fields(songs, new_user) -> None:
    user = new_user()
    song = create(songs, user)
    for paths, field in (
        (["owner_id"], "update_mask"),
        ([], "update_mask"),
        (["title"], "song.title"),
    ):
        with pytest.raises(grpc.RpcError) as refused:
            songs.UpdateSong(
                pb.UpdateSongRequest(
                    song=song_pb2.Song(id=song.id, title="x" * 81 if paths == ["title"] else ""),
                    update_mask=FieldMask(paths=paths),
                ),
                metadata=user.metadata,
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in field_violations(refused.value)
