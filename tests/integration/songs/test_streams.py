"""WatchSong through a real songsvc (the tuned process: 2 streams per user, 3 in
all, 2 s each): it reads without row locks, is capped, frees what a closed
stream held, and ends cleanly after its lifetime."""

import time
from collections.abc import Callable, Iterator

import grpc
import psycopg
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from neutone.v1 import song_pb2
from neutone.v1 import song_service_pb2 as pb
from tests.integration.helpers import error_reason, insert_song
from tests.integration.songs.conftest import (
    TUNED_APPLICATION_NAME,
    TUNED_STREAMS_PER_PROCESS,
    TUNED_STREAMS_PER_USER,
    TUNED_WATCH_MAX_SECONDS,
)


def eventually(check: Callable[[], bool], *, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)


def tuned_songsvc_waits_for_a_lock(database_url: str) -> bool:
    with psycopg.connect(database_url) as db:
        waiting = db.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = %s AND wait_event_type = 'Lock'",
            (TUNED_APPLICATION_NAME,),
        ).fetchone()
    return bool(waiting and waiting[0])


def retry_delay(error: grpc.RpcError) -> int | None:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return info.retry_delay.seconds
    return None


def test_a_refreshing_watch_holds_no_lock_that_the_worker_waits_for(
    tuned_songs, new_user, database_url
) -> None:
    user = new_user()
    song_id = insert_song(database_url, user.id)
    with (
        psycopg.connect(database_url) as jobs_lock,
        psycopg.connect(database_url, autocommit=True) as worker,
    ):
        # The watch's first read stops at the jobs table (queue position and ETA),
        # halfway through its refresh, and stays there while this lock is held.
        jobs_lock.execute("LOCK TABLE songs.jobs IN ACCESS EXCLUSIVE MODE")
        stream = tuned_songs.WatchSong(
            pb.WatchSongRequest(song_id=song_id), metadata=user.metadata, timeout=30
        )
        try:
            eventually(lambda: tuned_songsvc_waits_for_a_lock(database_url))
            # What the worker does with the song row, within a lock timeout: a
            # watcher holding the row (SELECT ... FOR UPDATE) would fail it.
            worker.execute("SET lock_timeout = '1s'")
            worker.execute("UPDATE songs.songs SET progress = 0.5 WHERE id = %s", (song_id,))
            jobs_lock.rollback()
            # The watch goes on: the state it had read, then the worker's write.
            assert next(stream).song.progress == 0
            assert next(stream).song.progress == 0.5
        finally:
            stream.cancel()


def test_a_write_in_progress_does_not_hold_up_a_watch(tuned_songs, new_user, database_url) -> None:
    user = new_user()
    song_id = insert_song(database_url, user.id)
    with psycopg.connect(database_url) as writer:
        # An uncommitted update of the song (the worker mid-transaction) holds its row.
        writer.execute("UPDATE songs.songs SET progress = 0.25 WHERE id = %s", (song_id,))
        stream = tuned_songs.WatchSong(
            pb.WatchSongRequest(song_id=song_id), metadata=user.metadata, timeout=3
        )
        try:
            first = next(stream)
        finally:
            stream.cancel()
            writer.rollback()
    assert first.song.status == song_pb2.SONG_STATUS_QUEUED
    assert first.song.progress == 0  # the committed state


@pytest.fixture
def open_stream(tuned_songs) -> Iterator[Callable]:
    """Opens a WatchSong stream and reads its first message (it is then counted);
    closes whatever is left open at the end."""
    opened: list[grpc.Future] = []

    def open_one(user, song_id: str):
        stream = tuned_songs.WatchSong(
            pb.WatchSongRequest(song_id=song_id), metadata=user.metadata, timeout=60
        )
        opened.append(stream)
        next(stream)
        return stream

    yield open_one
    for stream in opened:
        stream.cancel()


def test_streams_are_capped_per_user_and_per_process_and_closing_one_frees_it(
    open_stream, new_user, database_url
) -> None:
    alice, bob = new_user(), new_user()
    alices_song, bobs_song = insert_song(database_url, alice.id), insert_song(database_url, bob.id)
    alices = [open_stream(alice, alices_song) for _ in range(TUNED_STREAMS_PER_USER)]
    with pytest.raises(grpc.RpcError) as per_user:
        open_stream(alice, alices_song)
    assert per_user.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert f"at most {TUNED_STREAMS_PER_USER} WatchSong streams" in per_user.value.details()
    assert error_reason(per_user.value) == "TOO_MANY_STREAMS"
    assert retry_delay(per_user.value)

    for _ in range(TUNED_STREAMS_PER_PROCESS - TUNED_STREAMS_PER_USER):
        open_stream(bob, bobs_song)
    with pytest.raises(grpc.RpcError) as per_process:
        open_stream(bob, bobs_song)
    assert per_process.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert f"limit of {TUNED_STREAMS_PER_PROCESS} WatchSong streams" in (
        per_process.value.details()
    )
    assert error_reason(per_process.value) == "SERVER_STREAMS_FULL"
    assert retry_delay(per_process.value)

    # A client going away frees its stream's place: Bob's next one is taken.
    alices[0].cancel()

    def bob_is_let_in() -> bool:
        try:
            open_stream(bob, bobs_song)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            return False
        return True

    eventually(bob_is_let_in)


def test_a_stream_ends_cleanly_after_its_lifetime(tuned_songs, new_user, database_url) -> None:
    user = new_user()
    song_id = insert_song(database_url, user.id)
    request = pb.WatchSongRequest(song_id=song_id)
    started = time.monotonic()
    # Ends with OK (no exception), though the song is still queued.
    updates = list(tuned_songs.WatchSong(request, metadata=user.metadata, timeout=30))
    lasted = time.monotonic() - started
    assert TUNED_WATCH_MAX_SECONDS - 0.1 < lasted < TUNED_WATCH_MAX_SECONDS + 3
    assert updates
    assert {update.song.status for update in updates} == {song_pb2.SONG_STATUS_QUEUED}
    # Reconnecting resumes from the current state.
    again = tuned_songs.WatchSong(request, metadata=user.metadata, timeout=30)
    try:
        assert next(again).song.id == song_id
    finally:
        again.cancel()
