"""Credits come back for songs that end without being READY, whatever billing is
doing: deletes while billing is paused or stopped, a worker's commit racing the
delete, and reservations whose song was never saved. Real processes throughout."""

import os
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import grpc
import psycopg

from neutone.v1 import billing_service_pb2 as billing_pb
from neutone.v1 import billing_service_pb2_grpc, song_pb2
from neutone.v1 import song_service_pb2 as pb
from runtime.launcher import Stack
from tests.integration.helpers import eventually
from tests.integration.songs.test_generation import MODES, PARAMS, charges

REFUNDED = [("song_charge", -1), ("song_refund", 1)]


@contextmanager
def billing_paused(stack: Stack) -> Iterator[None]:
    """billingsvc frozen mid-flight (SIGSTOP): calls to it hang, as in a network partition."""
    pid = stack.processes["billingsvc"].pid
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def test_deleting_a_song_while_billing_is_paused_answers_at_once_and_refunds_later(
    songs, worker, stack: Stack, new_user, database_url
) -> None:
    user = new_user()
    song = songs.CreateSong(
        pb.CreateSongRequest(**MODES["description"], params=PARAMS), metadata=user.metadata
    ).song
    for update in songs.WatchSong(
        pb.WatchSongRequest(song_id=song.id), metadata=user.metadata, timeout=120
    ):
        if update.song.status == song_pb2.SONG_STATUS_PROCESSING:
            break
    with billing_paused(stack):
        started = time.monotonic()
        songs.DeleteSong(pb.DeleteSongRequest(song_id=song.id), metadata=user.metadata)
        assert time.monotonic() - started < 5
        # Once deleted, it stays deleted: a retry is an ordinary NOT_FOUND.
        try:
            songs.DeleteSong(pb.DeleteSongRequest(song_id=song.id), metadata=user.metadata)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.NOT_FOUND
        time.sleep(2)  # the worker may reach its commit meanwhile
    eventually(lambda: charges(database_url, song.id) == REFUNDED, what="the refund")
    time.sleep(2)  # and nothing more lands after it
    assert charges(database_url, song.id) == REFUNDED


def test_deleting_a_song_while_billing_is_down_refunds_once_it_is_back(
    songs, stack: Stack, new_user, database_url
) -> None:
    user = new_user()
    song = songs.CreateSong(
        pb.CreateSongRequest(description="deleted while billing is down"), metadata=user.metadata
    ).song
    stack.stop("billingsvc")
    try:
        songs.DeleteSong(pb.DeleteSongRequest(song_id=song.id), metadata=user.metadata)
        time.sleep(1.5)  # a few failed deliveries
        assert charges(database_url, song.id) == [("song_charge", -1)]
        with psycopg.connect(database_url) as db:
            (attempts,) = db.execute(
                "SELECT attempts FROM songs.credit_releases WHERE song_id = %s", (song.id,)
            ).fetchone()
        assert attempts >= 1
    finally:
        stack.start("billingsvc")
    eventually(lambda: charges(database_url, song.id) == REFUNDED, what="the refund")
    with psycopg.connect(database_url) as db:
        left = db.execute(
            "SELECT count(*) FROM songs.credit_releases WHERE song_id = %s", (song.id,)
        ).fetchone()[0]
    assert left == 0


def test_a_credit_reserved_for_a_song_never_saved_is_released_after_the_grace_period(
    songs, billing_channel, new_user, service_metadata, database_url
) -> None:
    # As when songsvc dies between billing's reservation and its own insert.
    user = new_user()
    billing = billing_service_pb2_grpc.BillingServiceStub(billing_channel)
    orphan, recent = str(uuid.uuid4()), str(uuid.uuid4())
    for song_id in (orphan, recent):
        billing.ReserveCredits(
            billing_pb.ReserveCreditsRequest(user_id=user.id, song_id=song_id),
            metadata=service_metadata,
        )
    with psycopg.connect(database_url, autocommit=True) as db:
        db.execute(
            "UPDATE billing.reservations SET create_time = now() - interval '1 hour'"
            " WHERE song_id = %s",
            (orphan,),
        )
    eventually(lambda: charges(database_url, orphan) == REFUNDED, what="the orphan's release")
    # Within the grace period a reservation may still be a song being saved.
    assert charges(database_url, recent) == [("song_charge", -1)]
