"""Chaos and soak on one private product, in this module's order:

1. 200 WatchSong streams open through the gateway, as 200 browser tabs following
   their songs do; they are held in the background for 60 s while
2. the worker is SIGKILLed ten times in a row mid-job,
3. Triton is restarted mid-song, and
4. 10,000 calls go through the gateway;
5. then not one stream may have dropped.
6. Last, PostgreSQL crashes under traffic and starts again: it breaks the streams
   open at the time, so it comes after the soak.

The soak runs under steps 2 to 4 rather than after them: that saves its 60 seconds."""

import asyncio
import signal
import statistics
import time
from collections.abc import Awaitable, Callable
from random import Random

import aiohttp
import psycopg
from google.protobuf.message import Message

from bench.stats import Figures
from neutone.v1 import billing_service_pb2 as billing_pb
from neutone.v1 import song_pb2, song_service_pb2_grpc
from neutone.v1 import song_service_pb2 as song_pb
from neutone.v1 import user_service_pb2 as user_pb
from tests.chaos.conftest import CHAOS_ENV, SOAK_SECONDS
from tests.chaos.outages import EmbeddedDatabase
from tests.chaos.soak import OPEN_TIMEOUT_SECONDS, Soak
from tests.chaos.web import CallFailed, Gateway
from tests.integration.helpers import SignedUpUser, eventually, insert_song, wait_until_running
from tests.integration.songs.test_generation import charges, wait_for_status
from tests.stacks import Product

Figured = Callable[[str], None]
# Long enough that a job is still running when the fault hits it.
LONG_SONG = song_pb2.GenerationParams(duration_seconds=60, inference_steps=4)
TERMINAL = (song_pb2.SONG_STATUS_READY, song_pb2.SONG_STATUS_FAILED)


def create_song(
    songs: song_service_pb2_grpc.SongServiceStub, user: SignedUpUser, description: str
) -> str:
    request = song_pb.CreateSongRequest(description=description, params=LONG_SONG)
    return songs.CreateSong(request, metadata=user.metadata).song.id


def worker_pid(product: Product) -> int:
    return product.stack.processes["songsvc-worker"].pid


def exited(product: Product) -> list[str]:
    """The product's processes that are no longer running."""
    return [name for name, process in product.stack.processes.items() if process.poll() is not None]


def test_200_watch_streams_open_through_the_gateway(soak: Soak, figures: Figured) -> None:
    assert soak.opened.wait(timeout=OPEN_TIMEOUT_SECONDS + 30)
    never_opened = [stream.ended for stream in soak.streams if not stream.updates]
    assert not never_opened, f"{len(never_opened)} streams never opened: {never_opened[0]}"
    figures(
        f"soak: {len(soak.streams)} WatchSong streams open through the gateway"
        f" in {soak.open_seconds:.1f} s"
    )


SONGS_UNDER_KILLS = 10
KILLS = 10


def test_worker_sigkilled_ten_times_mid_job_every_song_ready_and_charged_once(
    product: Product,
    songs: song_service_pb2_grpc.SongServiceStub,
    new_user: Callable[[], SignedUpUser],
    figures: Figured,
) -> None:
    user = new_user()
    started = time.monotonic()
    created = [
        create_song(songs, user, f"killed worker song {number}")
        for number in range(SONGS_UNDER_KILLS)
    ]
    random = Random(16)
    kills = 0
    while kills < KILLS and wait_until_running(
        product.database_url, created, worker_pid=worker_pid(product)
    ):
        time.sleep(random.uniform(0, 0.5))  # somewhere in the middle of a job
        product.stack.stop("songsvc-worker", sig=signal.SIGKILL)
        kills += 1
        product.stack.start("songsvc-worker")
    assert kills == KILLS, "the jobs finished before the worker was killed ten times"

    final = wait_for_status(songs, user, created)
    elapsed = time.monotonic() - started
    for song_id, song in final.items():
        assert song.status == song_pb2.SONG_STATUS_READY, song.failure_reason
        assert charges(product.database_url, song_id) == [("song_charge", -1)]
        stored = product.objects / "songs" / song_id
        assert {path.name for path in stored.iterdir()} == {"audio.flac", "cover.png"}
    with psycopg.connect(product.database_url) as db:
        attempts, most = db.execute(
            "SELECT sum(attempts), max(attempts) FROM songs.jobs WHERE song_id = ANY(%s)",
            (created,),
        ).fetchone() or (0, 0)
    figures(
        f"worker: SIGKILLed {kills} times in a row mid-job; {len(final)}/{SONGS_UNDER_KILLS}"
        f" songs READY, each charged once, in {elapsed:.0f} s ({attempts} attempts in all,"
        f" at most {most} for one song)"
    )


def job_error(database_url: str, song_id: str) -> str:
    with psycopg.connect(database_url) as db:
        row = db.execute("SELECT last_error FROM songs.jobs WHERE song_id = %s", (song_id,))
        return (row.fetchone() or ("",))[0]


def test_triton_restarted_mid_song_the_song_finishes_charged_once(
    product: Product,
    songs: song_service_pb2_grpc.SongServiceStub,
    new_user: Callable[[], SignedUpUser],
    figures: Figured,
) -> None:
    user = new_user()
    song_id = create_song(songs, user, "a song while triton restarts")
    assert wait_until_running(product.database_url, [song_id], worker_pid=worker_pid(product))
    stopped = time.monotonic()
    # Triton stops as in a rolling restart: it finishes the requests in flight and
    # refuses the song's next ones.
    product.stack.stop("triton")
    try:
        request = song_pb.GetSongRequest(song_id=song_id)
        while_down = songs.GetSong(request, metadata=user.metadata).song.status
        eventually(
            lambda: job_error(product.database_url, song_id) != "",
            what="the worker putting the job back while Triton is down",
        )
        seen = job_error(product.database_url, song_id)
    finally:
        product.stack.start("triton")
    back = time.monotonic()
    assert while_down not in TERMINAL, "the song was done before Triton went down"

    final = wait_for_status(songs, user, [song_id])[song_id]
    assert final.status == song_pb2.SONG_STATUS_READY, final.failure_reason
    assert charges(product.database_url, song_id) == [("song_charge", -1)]
    figures(
        f"triton: restarted mid-song, down {back - stopped:.1f} s (the worker: {seen!r});"
        f" the song READY {time.monotonic() - stopped:.1f} s after the stop, charged once"
    )


GATEWAY_CALLS = 10_000
CALLS_AT_ONCE = 32
CALLERS = 5


async def run_calls(
    count: int, at_once: int, call: Callable[[int], Awaitable[object]]
) -> tuple[list[float], list[str]]:
    """Makes calls 0..count-1, `at_once` at a time; their latencies and failures."""
    latencies: list[float] = []
    failures: list[str] = []
    numbers = iter(range(count))

    async def caller() -> None:
        for number in numbers:  # shared: each number is taken once
            started = time.perf_counter()
            try:
                await call(number)
            except (CallFailed, aiohttp.ClientError, TimeoutError) as error:
                failures.append(f"call {number}: {error!r}")
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(caller() for _ in range(at_once)))
    return latencies, failures


async def test_ten_thousand_calls_through_the_gateway_without_an_error(
    product: Product,
    gateway: Gateway,
    new_user: Callable[[], SignedUpUser],
    figures: Figured,
) -> None:
    # Signed in, as the app calls: no per-client limit applies to these reads.
    callers = [await asyncio.to_thread(new_user) for _ in range(CALLERS)]
    own_songs = [
        await asyncio.to_thread(insert_song, product.database_url, caller.id, ready=True)
        for caller in callers
    ]

    def call(number: int) -> Awaitable[bytes]:
        caller = (number // 4) % CALLERS
        method, request = (
            ("SongService/GetSong", song_pb.GetSongRequest(song_id=own_songs[caller])),
            ("SongService/ListFeed", song_pb.ListFeedRequest(page_size=20)),
            ("BillingService/GetBalance", billing_pb.GetBalanceRequest()),
            ("UserService/GetCurrentUser", user_pb.GetCurrentUserRequest()),
        )[number % 4]
        return gateway.call(callers[caller], method, request)

    started = time.perf_counter()
    latencies, failures = await run_calls(GATEWAY_CALLS, CALLS_AT_ONCE, call)
    elapsed = time.perf_counter() - started
    assert not failures, f"{len(failures)} of {GATEWAY_CALLS} failed, e.g. {failures[:3]}"
    name = f"gateway: calls, {CALLS_AT_ONCE} at once"
    figures(f"{Figures.of(name, latencies, elapsed).line()}  0 errors")


def test_200_watch_streams_held_60_s_none_dropped(soak: Soak, figures: Figured) -> None:
    streams = soak.result()
    dropped = [stream.ended for stream in streams if stream.ended]
    assert not dropped, f"{len(dropped)} of {len(streams)} streams dropped: {dropped[:3]}"
    assert soak.held_seconds >= SOAK_SECONDS
    # Every stream kept getting its refreshes, not just stayed open.
    refreshes_due = soak.held_seconds / float(CHAOS_ENV["NEUTONE_WATCH_REFRESH_SECONDS"])
    updates = [stream.updates for stream in streams]
    assert min(updates) >= refreshes_due / 2, f"a stream had only {min(updates)} updates"
    figures(
        f"soak: {len(streams)} WatchSong streams held {soak.held_seconds:.0f} s under the"
        f" chaos above, 0 dropped; updates per stream: fewest {min(updates)},"
        f" median {statistics.median(updates):.0f}"
    )


DATABASE_DOWN_SECONDS = 3.0
# One read per service, each from the database.
SERVICE_READS: dict[str, tuple[str, Callable[[str], Message]]] = {
    "usersvc": ("UserService/GetCurrentUser", lambda _: user_pb.GetCurrentUserRequest()),
    "billingsvc": ("BillingService/GetBalance", lambda _: billing_pb.GetBalanceRequest()),
    "songsvc": ("SongService/GetSong", lambda song_id: song_pb.GetSongRequest(song_id=song_id)),
}
# How long the app waits before opening a broken WatchSong stream again (RECONNECT_MS
# in web/src/features/songs/api/songs.ts).
RESUME_SECONDS = 2.0
OK, UNAVAILABLE, TRANSPORT_FAILED = 0, 14, -1


async def keep_reading(
    gateway: Gateway, user: SignedUpUser, song_id: str, answers: list[tuple[str, float, int]]
) -> None:
    """Reads from each service in turn until cancelled: (service, when it answered, its
    grpc-status; TRANSPORT_FAILED when none came)."""
    while True:
        for service, (method, request) in SERVICE_READS.items():
            try:
                await gateway.call(user, method, request(song_id))
                answers.append((service, time.monotonic(), OK))
            except CallFailed as error:
                answers.append((service, time.monotonic(), error.status))
            except aiohttp.ClientError:
                answers.append((service, time.monotonic(), TRANSPORT_FAILED))
        await asyncio.sleep(0.05)


async def follow(gateway: Gateway, user: SignedUpUser, song_id: str) -> tuple[song_pb2.Song, int]:
    """Follows the song with WatchSong until it is READY or FAILED, opening the
    stream again whenever it breaks, as the app does: the song, and how many times
    the stream was opened again."""
    reopened = -1
    while True:
        reopened += 1
        try:
            request = song_pb.WatchSongRequest(song_id=song_id)
            async for message in gateway.stream(user, "SongService/WatchSong", request):
                song = song_pb.WatchSongResponse.FromString(message).song
                if song.status in TERMINAL:
                    return song, reopened
        except (CallFailed, aiohttp.ClientError):
            pass
        await asyncio.sleep(RESUME_SECONDS)


async def crash_and_start(
    database: EmbeddedDatabase, *, down_seconds: float
) -> tuple[float, float]:
    """Crashes the database and starts it `down_seconds` later: when it crashed and
    when it was started."""
    crashed = time.monotonic()
    await asyncio.to_thread(database.crash)
    try:
        await asyncio.sleep(down_seconds)
    finally:
        await asyncio.to_thread(database.start)
    return crashed, time.monotonic()


async def test_database_crash_under_traffic_services_reconnect_and_watch_song_resumes(
    product: Product,
    songs: song_service_pb2_grpc.SongServiceStub,
    gateway: Gateway,
    new_user: Callable[[], SignedUpUser],
    figures: Figured,
) -> None:
    user = await asyncio.to_thread(new_user)
    song_id = await asyncio.to_thread(create_song, songs, user, "a song while the database crashes")
    processes = {name: process.pid for name, process in product.stack.processes.items()}
    database = await asyncio.to_thread(EmbeddedDatabase, product.database_url)
    answers: list[tuple[str, float, int]] = []
    back: dict[str, float] = {}
    reading = asyncio.create_task(keep_reading(gateway, user, song_id, answers))
    following = asyncio.create_task(follow(gateway, user, song_id))
    try:
        assert await asyncio.to_thread(
            wait_until_running, product.database_url, [song_id], worker_pid=worker_pid(product)
        )
        crashed, started = await crash_and_start(database, down_seconds=DATABASE_DOWN_SECONDS)
        assert not exited(product), f"{exited(product)} exited while the database was down"
        final, reopened = await asyncio.wait_for(following, timeout=60)

        def every_service_answers() -> bool:
            for service, answered, status in answers:
                if status == OK and answered > started:
                    back.setdefault(service, answered - started)
            return back.keys() == SERVICE_READS.keys()

        await asyncio.to_thread(eventually, every_service_answers, what="every service answering")
    finally:
        for task in (reading, following):
            task.cancel()
        await asyncio.gather(reading, following, return_exceptions=True)

    while_down = [
        (service, status) for service, answered, status in answers if crashed < answered < started
    ]
    refused = {service for service, status in while_down if status != OK}
    assert refused == SERVICE_READS.keys(), "the crash did not reach every service"
    # Refused as a client should try again later, never as an internal error.
    assert {status for _, status in while_down} <= {OK, UNAVAILABLE}, while_down
    running = {name: process.pid for name, process in product.stack.processes.items()}
    assert running == processes and not exited(product), "a process was started again or is gone"
    assert final.status == song_pb2.SONG_STATUS_READY, final.failure_reason
    assert reopened >= 1, "the WatchSong stream never broke: nothing to resume"
    assert charges(product.database_url, song_id) == [("song_charge", -1)]
    failed_after = sum(status != OK for _, answered, status in answers if answered > started)
    recovery = ", ".join(f"{service} {seconds:.1f} s" for service, seconds in back.items())
    failed_meanwhile = sum(status != OK for _, status in while_down)
    figures(
        f"database: crashed under traffic, down {started - crashed:.1f} s; {failed_meanwhile}"
        f" calls refused meanwhile (UNAVAILABLE), {failed_after} after the start; every service answering"
        f" again after {recovery}, none restarted; WatchSong resumed {reopened} times and"
        f" followed the song to READY, charged once"
    )
