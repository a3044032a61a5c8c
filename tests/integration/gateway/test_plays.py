"""Plays through the gateway, as browsers make them: one counted per client per
song per window however often it is sent; another client counts again. The
client is the address the gateway vouches for (here, the X-Forwarded-For of the
test client, a trusted proxy on loopback)."""

import asyncio

import httpx
from google.protobuf.field_mask_pb2 import FieldMask

from neutone.v1 import song_pb2, song_service_pb2
from tests.integration.gateway.conftest import Gateway
from tests.integration.gateway.grpcweb import call
from tests.integration.helpers import make_ready

RECORD_PLAY = "/neutone.v1.SongService/RecordPlay"


async def published_song(http: httpx.AsyncClient, gateway: Gateway, cookie: str) -> str:
    as_owner = {"origin": gateway.origin, "headers": {"cookie": cookie}}
    created = await call(
        http,
        "/neutone.v1.SongService/CreateSong",
        song_service_pb2.CreateSongRequest(description="a song to play", instrumental=True),
        **as_owner,
    )
    song_id = song_service_pb2.CreateSongResponse.FromString(created.messages[0]).song.id
    make_ready(gateway.database_url, song_id, ["folk"])
    published = await call(
        http,
        "/neutone.v1.SongService/UpdateSong",
        song_service_pb2.UpdateSongRequest(
            song=song_pb2.Song(id=song_id, published=True),
            update_mask=FieldMask(paths=["published"]),
        ),
        **as_owner,
    )
    assert published.status == 0, published.message
    return song_id


async def play(http: httpx.AsyncClient, song_id: str, client: str) -> int:
    reply = await call(
        http,
        RECORD_PLAY,
        song_service_pb2.RecordPlayRequest(song_id=song_id),
        origin=None,
        headers={"x-forwarded-for": client},
    )
    assert reply.status == 0, reply.message
    return song_service_pb2.RecordPlayResponse.FromString(reply.messages[0]).play_count


async def test_fifty_plays_from_one_signed_out_client_count_once(
    gateway: Gateway, http: httpx.AsyncClient, sign_up
) -> None:
    owner = await sign_up()
    song_id = await published_song(http, gateway, owner.cookie)
    counts = await asyncio.gather(*(play(http, song_id, "203.0.113.7") for _ in range(50)))
    assert counts == [1] * 50
    assert await play(http, song_id, "198.51.100.20") == 2  # another client
    assert await play(http, song_id, "203.0.113.7") == 2
