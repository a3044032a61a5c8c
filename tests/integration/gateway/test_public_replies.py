"""Replies to signed-out callers are reused (gateway.public_replies): a change
made outside the gateway stays unseen by them for the time to live, while a
change made through the gateway (but not a play or a like, which only move
counters), and every signed-in call, sees the song as it is."""

import httpx
import psycopg
from google.protobuf.field_mask_pb2 import FieldMask

from neutone.v1 import song_pb2, song_service_pb2
from tests.integration.gateway.conftest import Gateway
from tests.integration.gateway.grpcweb import call
from tests.integration.helpers import make_ready

GET_SONG = "/neutone.v1.SongService/GetSong"
LIKE_SONG = "/neutone.v1.SongService/LikeSong"
UNLIKE_SONG = "/neutone.v1.SongService/UnlikeSong"
RECORD_PLAY = "/neutone.v1.SongService/RecordPlay"
CREATE_SONG = "/neutone.v1.SongService/CreateSong"
UPDATE_SONG = "/neutone.v1.SongService/UpdateSong"


async def test_signed_out_replies_are_reused_until_a_change_through_the_gateway(
    gateway: Gateway, http: httpx.AsyncClient, sign_up
) -> None:
    owner = await sign_up()
    as_owner = {"origin": gateway.origin, "headers": {"cookie": owner.cookie}}

    async def update(song: song_pb2.Song, *paths: str) -> None:
        request = song_service_pb2.UpdateSongRequest(song=song, update_mask=FieldMask(paths=paths))
        reply = await call(http, UPDATE_SONG, request, **as_owner)
        assert reply.status == 0, reply.message

    async def title_seen(**as_caller) -> str:
        reply = await call(
            http, GET_SONG, song_service_pb2.GetSongRequest(song_id=song_id), **as_caller
        )
        assert reply.status == 0, reply.message
        return song_service_pb2.GetSongResponse.FromString(reply.messages[0]).song.title

    created = await call(
        http,
        CREATE_SONG,
        song_service_pb2.CreateSongRequest(description="a calm piano piece", instrumental=True),
        **as_owner,
    )
    song_id = song_service_pb2.CreateSongResponse.FromString(created.messages[0]).song.id
    make_ready(gateway.database_url, song_id, ["ambient"])
    await update(song_pb2.Song(id=song_id, title="First", published=True), "title", "published")
    assert await title_seen(origin=None) == "First"

    # Renamed behind the gateway's back: signed-out callers get the kept reply.
    with psycopg.connect(gateway.database_url, autocommit=True) as db:
        db.execute("UPDATE songs.songs SET title = 'Second' WHERE id = %s", (song_id,))
    assert await title_seen(origin=None) == "First"
    assert await title_seen(**as_owner) == "Second"

    # Plays and likes only move counters: the kept replies stay (and with them
    # the counts they show, a moment old at most in production).
    fan = await sign_up()
    as_fan = {"origin": gateway.origin, "headers": {"cookie": fan.cookie}}
    for path, request, caller in (
        (RECORD_PLAY, song_service_pb2.RecordPlayRequest(song_id=song_id), {"origin": None}),
        (RECORD_PLAY, song_service_pb2.RecordPlayRequest(song_id=song_id), as_fan),
        (LIKE_SONG, song_service_pb2.LikeSongRequest(song_id=song_id), as_fan),
        (UNLIKE_SONG, song_service_pb2.UnlikeSongRequest(song_id=song_id), as_fan),
        (LIKE_SONG, song_service_pb2.LikeSongRequest(song_id=song_id), as_fan),
    ):
        reply = await call(http, path, request, **caller)
        assert reply.status == 0, reply.message
        assert await title_seen(origin=None) == "First", path

    # A change through the gateway drops the kept replies at once.
    await update(song_pb2.Song(id=song_id, title="Third"), "title")
    assert await title_seen(origin=None) == "Third"
