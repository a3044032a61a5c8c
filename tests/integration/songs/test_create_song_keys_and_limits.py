"""CreateSong's idempotency keys and the per-person limit of songs in flight,
against the real songsvc and billingsvc processes."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import grpc
import psycopg
import pytest

from neutone.v1 import song_service_pb2 as pb
from tests.integration.helpers import error_reason, make_ready
from tests.integration.songs.test_api import balance

MAX_SONGS_IN_FLIGHT = 5  # songsvc's default


def song_count(database_url: str, owner_id: str) -> int:
    with psycopg.connect(database_url) as db:
        return db.execute(
            "SELECT count(*) FROM songs.songs WHERE owner_id = %s", (owner_id,)
        ).fetchone()[0]


def refused(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def test_a_key_reused_for_another_request_is_refused_and_writes_nothing(
    songs, new_user, billing_channel, database_url
) -> None:
    user = new_user()
    key = uuid.uuid4().hex
    first = songs.CreateSong(
        pb.CreateSongRequest(description="first", idempotency_key=key), metadata=user.metadata
    ).song
    before = balance(billing_channel, user)

    error = refused(
        lambda: songs.CreateSong(
            pb.CreateSongRequest(description="another song", idempotency_key=key),
            metadata=user.metadata,
        )
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(error) == "IDEMPOTENCY_KEY_REUSED"
    assert "idempotency_key" in error.details()
    assert balance(billing_channel, user) == before
    assert song_count(database_url, user.id) == 1
    # The same request again is still a retry of the first.
    retry = songs.CreateSong(
        pb.CreateSongRequest(description="first", idempotency_key=key), metadata=user.metadata
    ).song
    assert retry.id == first.id


@pytest.mark.parametrize("ready", [False, True], ids=["deleted-queued", "deleted-ready"])
def test_a_key_whose_song_was_deleted_never_creates_another(
    songs, new_user, billing_channel, database_url, ready
) -> None:
    user = new_user()
    key = uuid.uuid4().hex
    request = pb.CreateSongRequest(description="made once", idempotency_key=key)
    song = songs.CreateSong(request, metadata=user.metadata).song
    if ready:
        make_ready(database_url, song.id, ["pop"])
    songs.DeleteSong(pb.DeleteSongRequest(song_id=song.id), metadata=user.metadata)
    before = balance(billing_channel, user)

    for again in (request, pb.CreateSongRequest(description="other", idempotency_key=key)):
        error = refused(lambda again=again: songs.CreateSong(again, metadata=user.metadata))
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert error_reason(error) in ("IDEMPOTENCY_KEY_SONG_DELETED", "IDEMPOTENCY_KEY_REUSED")
    assert balance(billing_channel, user) == before
    assert song_count(database_url, user.id) == 0


def test_keys_are_per_person(songs, new_user) -> None:
    key = uuid.uuid4().hex
    request = pb.CreateSongRequest(description="same key, two people", idempotency_key=key)
    mine = songs.CreateSong(request, metadata=new_user().metadata).song
    theirs = songs.CreateSong(request, metadata=new_user().metadata).song
    assert mine.id != theirs.id


def test_songs_in_flight_are_capped_per_person(
    songs, new_user, billing_channel, database_url, buy_credits
) -> None:
    user = new_user()
    buy_credits(user)
    before = balance(billing_channel, user)
    requests = [
        pb.CreateSongRequest(description=f"burst {i}") for i in range(3 * MAX_SONGS_IN_FLIGHT)
    ]

    def create(request: pb.CreateSongRequest) -> grpc.RpcError | None:
        try:
            songs.CreateSong(request, metadata=user.metadata)
        except grpc.RpcError as error:
            return error
        return None

    with ThreadPoolExecutor(len(requests)) as pool:
        outcomes = list(pool.map(create, requests))
    errors = [outcome for outcome in outcomes if outcome is not None]
    assert len(errors) == len(requests) - MAX_SONGS_IN_FLIGHT
    for error in errors:
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert error_reason(error) == "TOO_MANY_SONGS_IN_FLIGHT"
        assert f"at most {MAX_SONGS_IN_FLIGHT} songs" in error.details()
    # Refusals charged nothing and wrote nothing.
    assert balance(billing_channel, user) == before - MAX_SONGS_IN_FLIGHT
    assert song_count(database_url, user.id) == MAX_SONGS_IN_FLIGHT

    # A finished song frees its place; another person is not affected at all.
    mine = songs.ListMySongs(pb.ListMySongsRequest(), metadata=user.metadata).songs
    make_ready(database_url, mine[0].id, ["pop"])
    songs.CreateSong(pb.CreateSongRequest(description="one more"), metadata=user.metadata)
    songs.CreateSong(pb.CreateSongRequest(description="someone else"), metadata=new_user().metadata)
