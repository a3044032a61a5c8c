"""Several replicas of songsvc, the worker and the gateway behave as one (issue 16):
songs complete on either worker, WatchSong follows changes made through another
replica, caches go stale across replicas for at most their time to live, a sign-out
reaches every gateway, and killing one replica of each mid-run loses no song and
charges none twice. The kill is last: it leaves one replica of each."""

import asyncio
import dataclasses
import signal
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from typing import TypeVar

import grpc
import httpx
import psycopg
from google.protobuf.field_mask_pb2 import FieldMask

from neutone.v1 import billing_service_pb2 as billing_pb
from neutone.v1 import song_pb2, song_service_pb2_grpc
from neutone.v1 import song_service_pb2 as song_pb
from neutone.v1 import user_service_pb2 as user_pb
from runtime.launcher import Stack
from tests.abuse.browser import Browser
from tests.integration.gateway.grpcweb import call
from tests.integration.helpers import eventually, insert_song, sign_up
from tests.integration.songs.test_generation import charges
from tests.scale.conftest import (
    FEED_CACHE_SECONDS,
    PUBLIC_REPLY_SECONDS,
    REVOCATION_POLL_SECONDS,
    WATCH_REFRESH_SECONDS,
)
from tests.stacks import ReplicatedProduct

SHORT_SONG = song_pb2.GenerationParams(duration_seconds=10, inference_steps=2)
# Long enough on the tiny models that a kill finds it half made.
LONG_SONG = song_pb2.GenerationParams(duration_seconds=60, inference_steps=4)
# What calls and polling add to a staleness bound on a loaded two-core machine.
SLACK_SECONDS = 2.0
POLL_SECONDS = 0.02
OK = grpc.StatusCode.OK.value[0]
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED.value[0]
TERMINAL = (song_pb2.SONG_STATUS_READY, song_pb2.SONG_STATUS_FAILED)
WELCOME_CREDITS = 3
# A READY song's whole history in the ledger.
ONE_CHARGE = [("song_charge", -1)]

# Adds a line to the figures printed at the end of the run (tests/conftest.py).
Figured = Callable[[str], None]


async def create_song(person: Browser, params: song_pb2.GenerationParams) -> str:
    request = song_pb.CreateSongRequest(description="a song made on replicas", params=params)
    reply = await person.ok("SongService.CreateSong", request, song_pb.CreateSongResponse)
    return reply.song.id


async def until_finished(
    person: Browser, song_ids: list[str], *, within: float
) -> dict[str, song_pb2.Song]:
    """Each song once READY or FAILED, as its owner reads it through their gateway;
    every read must succeed."""
    deadline = time.monotonic() + within
    finished: dict[str, song_pb2.Song] = {}
    while unfinished := [song_id for song_id in song_ids if song_id not in finished]:
        assert time.monotonic() < deadline, f"never finished: {unfinished}"
        for song_id in unfinished:
            request = song_pb.GetSongRequest(song_id=song_id)
            song = (await person.ok("SongService.GetSong", request, song_pb.GetSongResponse)).song
            if song.status in TERMINAL:
                finished[song_id] = song
        await asyncio.sleep(0.2)
    return finished


Answer = TypeVar("Answer")


async def seconds_stale(
    readers: Mapping[str, Callable[[], Awaitable[Answer]]],
    fresh: Callable[[Answer], bool],
    *,
    settle: float,
    within: float,
) -> dict[str, float]:
    """Reads through every path over and over until `settle` seconds have passed and
    each path reads `fresh`; how long after the start each path last read stale (0:
    never). Fails once `within` has passed."""
    started = time.monotonic()
    last_stale = dict.fromkeys(readers, 0.0)
    while True:
        answers = await asyncio.gather(*(read() for read in readers.values()))
        elapsed = time.monotonic() - started
        stale = [path for path, answer in zip(readers, answers, strict=True) if not fresh(answer)]
        last_stale |= dict.fromkeys(stale, elapsed)
        if not stale and elapsed >= settle:
            return last_stale
        assert elapsed < within, f"still stale after {within:g} s: {stale}"
        await asyncio.sleep(POLL_SECONDS)


def assert_ready_and_charged_once(database_url: str, finished: dict[str, song_pb2.Song]) -> None:
    assert {song.status for song in finished.values()} == {song_pb2.SONG_STATUS_READY}
    ledger = {song_id: charges(database_url, song_id) for song_id in finished}
    assert ledger == {song_id: ONE_CHARGE for song_id in finished}


def job_workers(database_url: str, song_ids: list[str]) -> dict[str, str]:
    """The worker that last held each song's job."""
    with psycopg.connect(database_url) as db:
        rows = db.execute(
            "SELECT song_id::text, worker_id FROM songs.jobs WHERE song_id = ANY(%s::uuid[])",
            (song_ids,),
        )
        return dict(rows.fetchall())


def held_by(database_url: str, worker: str) -> dict[str, str]:
    """The songs whose jobs `worker` holds now, each with its stage."""
    with psycopg.connect(database_url) as db:
        rows = db.execute(
            "SELECT jobs.song_id::text, songs.stage FROM songs.jobs"
            " JOIN songs.songs ON songs.id = jobs.song_id"
            " WHERE jobs.state = 'running' AND jobs.worker_id = %s",
            (worker,),
        )
        return dict(rows.fetchall())


def worker_id(worker: Stack) -> str:
    """What a worker process writes into the jobs it holds (songsvc.worker.Worker)."""
    return f"{socket.gethostname()}:{worker.processes['songsvc-worker'].pid}"


def published(song_id: str, value: bool) -> song_pb.UpdateSongRequest:
    return song_pb.UpdateSongRequest(
        song=song_pb2.Song(id=song_id, published=value), update_mask=FieldMask(paths=["published"])
    )


async def test_songs_made_through_either_gateway_complete_on_both_workers(
    product: ReplicatedProduct, browser: Callable[[int], Browser], figures: Figured
) -> None:
    people = [await browser(gateway).sign_up() for gateway in range(len(product.gateways))]

    async def two_songs(person: Browser) -> list[str]:
        return list(await asyncio.gather(*(create_song(person, SHORT_SONG) for _ in range(2))))

    # All at once: four songs are more than one worker's two slots.
    started = time.monotonic()
    made = await asyncio.gather(*(two_songs(person) for person in people))
    finished: dict[str, song_pb2.Song] = {}
    for person, song_ids in zip(people, made, strict=True):
        finished |= await until_finished(person, song_ids, within=90)
    seconds = time.monotonic() - started
    workers = job_workers(product.database_url, list(finished))
    figures(
        f"replicas: {len(finished)} songs through two gateways ready in {seconds:.1f} s;"
        f" songs per worker: {sorted(Counter(workers.values()).values())}"
    )

    assert_ready_and_charged_once(product.database_url, finished)
    assert set(workers.values()) == {worker_id(worker) for worker in product.workers}, workers


async def test_watch_song_on_one_replica_follows_changes_made_through_the_other(
    product: ReplicatedProduct, figures: Figured
) -> None:
    with grpc.insecure_channel(product.shared.address("usersvc")) as usersvc:
        user = await asyncio.to_thread(sign_up, usersvc, product.keys)
    watching_replica, changing_replica = (
        grpc.aio.insecure_channel(replica.address("songsvc")) for replica in product.songsvc
    )
    async with watching_replica, changing_replica:
        watching = song_service_pb2_grpc.SongServiceStub(watching_replica)
        changing = song_service_pb2_grpc.SongServiceStub(changing_replica)

        # A song without a job, which no worker takes: its stream stays open.
        waiting = insert_song(product.database_url, user.id)
        stream = watching.WatchSong(
            song_pb.WatchSongRequest(song_id=waiting), metadata=user.metadata
        )
        assert (await stream.read()).song.status == song_pb2.SONG_STATUS_QUEUED
        rename = song_pb.UpdateSongRequest(
            song=song_pb2.Song(id=waiting, title="Renamed on the other replica"),
            update_mask=FieldMask(paths=["title"]),
        )
        await changing.UpdateSong(rename, metadata=user.metadata)
        # Well before the periodic refresh: only the change's notification sends this.
        renamed = await asyncio.wait_for(stream.read(), timeout=WATCH_REFRESH_SECONDS / 2)
        assert renamed.song.title == "Renamed on the other replica"
        stream.cancel()

        # A song made through one replica, followed on the other until it is READY.
        create = song_pb.CreateSongRequest(description="watched elsewhere", params=SHORT_SONG)
        song = (await changing.CreateSong(create, metadata=user.metadata)).song
        updates = [
            update.song
            async for update in watching.WatchSong(
                song_pb.WatchSongRequest(song_id=song.id),
                metadata=user.metadata,
                timeout=WATCH_REFRESH_SECONDS / 2,
            )
        ]
    stages = [song_pb2.GenerationStage.Name(update.stage) for update in updates]
    figures(f"replicas: watched on the other replica: {stages}")
    assert updates[0].status not in TERMINAL
    assert song_pb2.SONG_STATUS_PROCESSING in {update.status for update in updates}
    assert updates[-1].status == song_pb2.SONG_STATUS_READY


async def test_a_publication_reaches_every_replica_within_the_caches_lifetimes(
    product: ReplicatedProduct, browser: Callable[[int], Browser], figures: Figured
) -> None:
    person = await browser(0).sign_up()
    me = await person.ok(
        "UserService.GetCurrentUser",
        user_pb.GetCurrentUserRequest(),
        user_pb.GetCurrentUserResponse,
    )
    song_id = insert_song(product.database_url, me.user.id, ready=True)
    page = song_pb.ListFeedRequest(page_size=100)

    async with AsyncExitStack() as channels:
        # Each path's reads, and how long its caches may keep a page.
        readers: dict[str, Callable[[], Awaitable[set[str]]]] = {}
        bounds: dict[str, float] = {}
        for index, replica in enumerate(product.songsvc):
            channel = grpc.aio.insecure_channel(replica.address("songsvc"))
            songs = song_service_pb2_grpc.SongServiceStub(
                await channels.enter_async_context(channel)
            )

            async def on_replica(songs: song_service_pb2_grpc.SongServiceStub = songs) -> set[str]:
                return {song.id for song in (await songs.ListFeed(page)).songs}

            readers[f"songsvc {index}"] = on_replica
            bounds[f"songsvc {index}"] = FEED_CACHE_SECONDS
        for index in range(len(product.gateways)):
            # Signed out, so each gateway answers from its public replies when it can.
            visitor = browser(index)

            async def through_gateway(visitor: Browser = visitor) -> set[str]:
                reply = await visitor.ok("SongService.ListFeed", page, song_pb.ListFeedResponse)
                return {song.id for song in reply.songs}

            readers[f"gateway {index}"] = through_gateway
            bounds[f"gateway {index}"] = PUBLIC_REPLY_SECONDS + FEED_CACHE_SECONDS

        # Every replica now keeps the page without the song.
        for read in readers.values():
            assert song_id not in await read()
        for value in (True, False):
            await person.ok(
                "SongService.UpdateSong", published(song_id, value), song_pb.UpdateSongResponse
            )
            stale = await seconds_stale(
                readers,
                lambda feed, value=value: (song_id in feed) == value,
                settle=max(bounds.values()),
                within=max(bounds.values()) + SLACK_SECONDS,
            )
            last_stale = ", ".join(f"{path} {seconds:.2f} s" for path, seconds in stale.items())
            figures(f"replicas: published={value}, last read stale: {last_stale}")
            for path, seconds in stale.items():
                assert seconds <= bounds[path] + SLACK_SECONDS, (path, seconds)


async def test_a_sign_out_through_one_gateway_ends_the_session_on_the_other(
    product: ReplicatedProduct,
    browser: Callable[[int], Browser],
    gateways: list[httpx.AsyncClient],
    figures: Figured,
) -> None:
    person = await browser(0).sign_up()
    session = person.cookie

    async def through_the_other_gateway() -> int:
        reply = await call(
            gateways[1],
            "/neutone.v1.SongService/ListMySongs",
            song_pb.ListMySongsRequest(),
            origin=product.origin,
            headers={"cookie": session},
        )
        assert reply.status in (OK, UNAUTHENTICATED)
        return reply.status

    # The other gateway now holds an identity token for the session.
    assert await through_the_other_gateway() == OK
    await person.ok("UserService.SignOut", user_pb.SignOutRequest(), user_pb.SignOutResponse)
    stale = await seconds_stale(
        {"gateway 1": through_the_other_gateway},
        lambda status: status == UNAUTHENTICATED,
        settle=0,
        within=REVOCATION_POLL_SECONDS + SLACK_SECONDS,
    )
    figures(
        f"replicas: the other gateway accepted the signed-out session for {stale['gateway 1']:.2f} s"
    )
    # And for good, whichever songsvc replica a call would reach.
    for _ in range(4):
        assert await through_the_other_gateway() == UNAUTHENTICATED


async def test_killing_a_replica_of_each_mid_run_loses_no_song_and_charges_none_twice(
    product: ReplicatedProduct,
    browser: Callable[[int], Browser],
    gateways: list[httpx.AsyncClient],
    figures: Figured,
) -> None:
    people = [await browser(gateway).sign_up() for gateway in range(len(product.gateways))]
    made = [[await create_song(person, LONG_SONG) for _ in range(2)] for person in people]
    doomed, surviving = (worker_id(worker) for worker in product.workers)
    # Mid-run: the worker to be killed is making the music of a planned song.
    eventually(
        lambda: "generating" in held_by(product.database_url, doomed).values(),
        what="the first worker making music",
    )
    started = time.monotonic()
    for replica, service in (
        (product.workers[0], "songsvc-worker"),
        (product.songsvc[0], "songsvc"),
        (product.gateways[0], "gateway"),
    ):
        replica.stop(service, sig=signal.SIGKILL)
    # What the dead worker left half made, read before its leases run out and the
    # survivor claims it.
    cut_off = list(held_by(product.database_url, doomed))
    assert cut_off
    # Everyone carries on through the surviving gateway, and makes one more song.
    survivors = [dataclasses.replace(person, http=gateways[1]) for person in people]
    for person, song_ids in zip(survivors, made, strict=True):
        song_ids.append(await create_song(person, SHORT_SONG))
    finished: dict[str, song_pb2.Song] = {}
    for person, song_ids in zip(survivors, made, strict=True):
        finished |= await until_finished(person, song_ids, within=120)
    figures(
        f"replicas: {len(cut_off)} songs cut off mid-way; all {len(finished)} ready"
        f" {time.monotonic() - started:.1f} s after the kill"
    )

    assert_ready_and_charged_once(product.database_url, finished)
    workers = job_workers(product.database_url, list(finished))
    assert {workers[song_id] for song_id in cut_off} == {surviving}
    for person, song_ids in zip(survivors, made, strict=True):
        reply = await person.ok(
            "BillingService.GetBalance",
            billing_pb.GetBalanceRequest(),
            billing_pb.GetBalanceResponse,
        )
        assert reply.balance == WELCOME_CREDITS - len(song_ids)
