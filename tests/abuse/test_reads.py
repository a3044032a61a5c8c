"""The public read side, as issue 11 attacked it: crafted page tokens, pumped
plays, and streams opened without end, through the gateway."""

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack

import httpx

from neutone.v1 import song_pb2
from neutone.v1 import song_service_pb2 as pb
from tests.abuse.browser import Browser
from tests.abuse.test_credits import SHORT_SONG, until_ready
from tests.integration.gateway.grpcweb import frame, headers_for, parse
from tests.stacks import Product

INVALID_ARGUMENT = 3
RESOURCE_EXHAUSTED = 8
CRAFTED_TOKEN = "eyJhZnRlciI6IHt9LCAicXVlcnkiOiAiZmEwYTg1N2FhZGU5MjkyZCJ9"
STREAMS_PER_USER = 16  # songsvc's default
WATCH_SONG = "/neutone.v1.SongService/WatchSong"
LIKE_CHANGES_PER_MINUTE = 30  # songsvc's default


async def published_song(person: Browser) -> str:
    created = await person.ok(
        "SongService.CreateSong",
        pb.CreateSongRequest(description="a song to play", params=SHORT_SONG),
        pb.CreateSongResponse,
    )
    assert (await until_ready(person, created.song.id)).status == song_pb2.SONG_STATUS_READY
    await person.ok(
        "SongService.UpdateSong",
        pb.UpdateSongRequest(
            song=song_pb2.Song(id=created.song.id, published=True),
            update_mask={"paths": ["published"]},
        ),
        pb.UpdateSongResponse,
    )
    return created.song.id


async def test_a_crafted_page_token_is_invalid_argument_for_a_signed_out_caller(
    browser: Callable[..., Browser],
) -> None:
    visitor = browser()
    for request in (
        pb.ListFeedRequest(page_token=CRAFTED_TOKEN),
        pb.ListFeedRequest(page_token=CRAFTED_TOKEN, order=pb.FEED_ORDER_TRENDING),
    ):
        reply = await visitor.call("SongService.ListFeed", request)
        assert reply.status == INVALID_ARGUMENT
        assert "page_token" in reply.field_violations()


async def test_plays_count_once_per_listener(browser: Callable[..., Browser]) -> None:
    owner = await browser().sign_up()
    song_id = await published_song(owner)
    pumper = browser()
    counts = [
        (
            await pumper.ok(
                "SongService.RecordPlay",
                pb.RecordPlayRequest(song_id=song_id),
                pb.RecordPlayResponse,
            )
        ).play_count
        for _ in range(50)
    ]
    assert counts == [1] * 50
    # Other listeners count, once each.
    for listener in (browser(), browser(), owner):
        await listener.ok(
            "SongService.RecordPlay", pb.RecordPlayRequest(song_id=song_id), pb.RecordPlayResponse
        )
    song = (
        await pumper.ok(
            "SongService.GetSong", pb.GetSongRequest(song_id=song_id), pb.GetSongResponse
        )
    ).song
    assert song.play_count == 4


async def test_streams_are_capped_per_person_and_closing_one_frees_it(
    browser: Callable[..., Browser], platform: Product
) -> None:
    person = await browser().sign_up()
    # With no worker running the song stays queued, so its streams stay open.
    platform.stack.stop("songsvc-worker")
    try:
        created = await person.ok(
            "SongService.CreateSong",
            pb.CreateSongRequest(description="watched", params=SHORT_SONG),
            pb.CreateSongResponse,
        )
        request = frame(pb.WatchSongRequest(song_id=created.song.id).SerializeToString())
        headers = {**headers_for(origin=platform.url), "cookie": person.cookie}
        async with (
            httpx.AsyncClient(base_url=platform.url, timeout=30) as http,
            AsyncExitStack() as streams,
        ):
            for _ in range(STREAMS_PER_USER):
                await streams.enter_async_context(
                    http.stream("POST", WATCH_SONG, content=request, headers=headers)
                )
            extra = await http.post(WATCH_SONG, content=request, headers=headers)
            assert parse(extra).status == RESOURCE_EXHAUSTED
            assert str(STREAMS_PER_USER) in parse(extra).message
            await streams.aclose()  # the browser goes away
            await asyncio.sleep(1)
            brief = {**headers, "grpc-timeout": "2S"}
            again = await http.post(WATCH_SONG, content=request, headers=brief)
            assert parse(again).status != RESOURCE_EXHAUSTED
    finally:
        platform.stack.start("songsvc-worker")


async def test_a_like_toggled_in_a_loop_is_slowed_and_counts_right(
    browser: Callable[..., Browser],
) -> None:
    owner = await browser().sign_up()
    song_id = await published_song(owner)
    fan = await browser().sign_up()
    like, unlike = pb.LikeSongRequest(song_id=song_id), pb.UnlikeSongRequest(song_id=song_id)
    statuses = []
    for index in range(LIKE_CHANGES_PER_MINUTE + 10):
        method, request = (
            ("SongService.LikeSong", like) if index % 2 == 0 else ("SongService.UnlikeSong", unlike)
        )
        reply = await fan.call(method, request)
        statuses.append((reply.status, reply.error_reason()))
    assert statuses[:LIKE_CHANGES_PER_MINUTE] == [(0, None)] * LIKE_CHANGES_PER_MINUTE
    assert set(statuses[LIKE_CHANGES_PER_MINUTE:]) == {(RESOURCE_EXHAUSTED, "LIKES_RATE_LIMITED")}
    song = (
        await fan.ok("SongService.GetSong", pb.GetSongRequest(song_id=song_id), pb.GetSongResponse)
    ).song
    assert song.like_count == 0  # an even number of changes went through
