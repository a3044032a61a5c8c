"""Benchmark: SignIn, GetBalance and GetSong latency under concurrent clients.

    .venv/bin/python -m bench.services [--clients 32] [--seconds 10]

Starts usersvc, billingsvc and songsvc as real processes on a scratch database
(embedded, or on the server in NEUTONE_TEST_DATABASE_URL), with production password
hashing settings, and prints requests/s, p50 and p99 for each RPC, and whether the
cheap reads hold their target: 2,000 requests/s each for GetBalance (a signed-in
caller) and GetSong (signed out, a published song), on the same cores as the
clients and PostgreSQL. SignIn is bound by password hashing, on purpose."""

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import grpc
import psycopg

from bench.feed import fill
from bench.stack import bench_stack, confirmed_sign_up, outbox
from bench.stats import Figures
from neutone.v1 import billing_service_pb2 as billing_pb
from neutone.v1 import billing_service_pb2_grpc, song_service_pb2_grpc, user_service_pb2_grpc
from neutone.v1 import song_service_pb2 as song_pb
from neutone.v1 import user_service_pb2 as user_pb
from runtime.launcher import Stack

PASSWORD = "benchmark password"
# Requests/s each of these reads should serve at 32 clients on the 2-core machine.
READS_TARGET_PER_SECOND = 2000
SERVICES = ["usersvc", "billingsvc", "songsvc"]


async def run_clients(
    name: str, clients: int, seconds: float, call: Callable[[int], Awaitable[object]]
) -> Figures:
    """`clients` loops, each calling back to back until the time is up."""
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def client(index: int) -> None:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            await call(index)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return Figures.of(name, latencies, time.perf_counter() - started)


class CpuMeter:
    """CPU seconds each process spends, so a slow path can be pinned on one of them."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self._pids = dict(pids)
        self._tick = os.sysconf("SC_CLK_TCK")

    def read(self) -> dict[str, float]:
        used = {"client": time.process_time()}
        for name, pid in self._pids.items():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used[name] = (int(fields[11]) + int(fields[12])) / self._tick
        return used


# A run's figures and the CPU ms each process spent per call.
Measured = tuple[Figures, dict[str, float]]


async def measured(
    meter: CpuMeter,
    name: str,
    clients: int,
    seconds: float,
    call: Callable[[int], Awaitable[object]],
) -> Measured:
    """run_clients, printing its figures and the CPU per call of each process."""
    before = meter.read()
    figures = await run_clients(name, clients, seconds, call)
    after = meter.read()
    cpu = {
        process: (after[process] - before[process]) * 1000 / figures.requests for process in after
    }
    spent = "  ".join(f"{process} {ms:.2f}" for process, ms in cpu.items())
    print(f"{figures.line()}  cpu ms/req: {spent}", flush=True)
    return figures, cpu


def published_song(database_url: str) -> str:
    """The newest published song's id (of those bench.feed's fill wrote)."""
    with psycopg.connect(database_url) as db:
        row = db.execute(
            "SELECT id FROM songs.songs WHERE published ORDER BY publish_time DESC LIMIT 1"
        ).fetchone()
    if row is None:
        raise SystemExit("the feed fill wrote no songs")
    return str(row[0])


async def measure(stack: Stack, song_id: str, clients: int, seconds: float) -> None:
    async with (
        grpc.aio.insecure_channel(stack.address("usersvc")) as users_channel,
        grpc.aio.insecure_channel(stack.address("billingsvc")) as billing_channel,
        grpc.aio.insecure_channel(stack.address("songsvc")) as songs_channel,
    ):
        users = user_service_pb2_grpc.UserServiceStub(users_channel)
        billing = billing_service_pb2_grpc.BillingServiceStub(billing_channel)
        songs = song_service_pb2_grpc.SongServiceStub(songs_channel)
        emails = [f"bench-{uuid.uuid4().hex[:10]}@example.com" for _ in range(clients)]
        identities = []
        for email in emails:
            signed_up = await confirmed_sign_up(
                users, outbox(stack), email=email, password=PASSWORD
            )
            exchanged = await users.CreateIdentityToken(
                user_pb.CreateIdentityTokenRequest(session_token=signed_up.session_token)
            )
            identities.append((("authorization", f"Bearer {exchanged.identity_token}"),))
        # Welcome grants are written on the first billing call; keep them out of the figures.
        for metadata in identities:
            await billing.GetBalance(billing_pb.GetBalanceRequest(), metadata=metadata)

        async def sign_in(index: int) -> object:
            return await users.SignIn(user_pb.SignInRequest(email=emails[index], password=PASSWORD))

        async def get_balance(index: int) -> object:
            return await billing.GetBalance(
                billing_pb.GetBalanceRequest(), metadata=identities[index]
            )

        get_song_request = song_pb.GetSongRequest(song_id=song_id)

        async def get_song(_: int) -> object:
            return await songs.GetSong(get_song_request)

        print(f"{clients} concurrent clients, {seconds:.0f} s each")
        meter = CpuMeter({name: stack.processes[name].pid for name in SERVICES})
        figures = {}
        for name, call in (("SignIn", sign_in), ("GetBalance", get_balance), ("GetSong", get_song)):
            figures[name], _ = await measured(meter, name, clients, seconds, call)
        for name in ("GetBalance", "GetSong"):
            per_second = figures[name].per_second
            held = "met" if per_second >= READS_TARGET_PER_SECOND else "missed"
            print(
                f"target: {name} >= {READS_TARGET_PER_SECOND} req/s: {held} ({per_second:.0f} req/s)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with bench_stack(SERVICES) as (stack, _):
        url = stack.env["NEUTONE_DATABASE_URL"]
        fill(url, up_to=100, already=0)
        asyncio.run(measure(stack, published_song(url), args.clients, args.seconds))


if __name__ == "__main__":
    main()
