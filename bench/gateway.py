"""Benchmark: GetSong and ListFeed through the gateway (grpc-web over HTTP) vs
directly over gRPC, at 32 concurrent clients.

    .venv/bin/python -m bench.gateway [--clients 32] [--seconds 10] [--songs 2000]

Starts usersvc, billingsvc, songsvc and the gateway as real processes on a scratch
database filled with published songs (bench.feed's bulk fill), then runs the same
anonymous calls both ways and prints requests/s, p50 and p99 for each, the
gateway/direct ratios, and whether the targets hold: the gateway adds under 50%
to latency and serves 1,000 ListFeed requests/s. It runs the gateway twice: as
deployed, where replies to signed-out callers are reused for a second
(gateway.public_replies), and with that off, which shows what the bridge itself
costs per call. Client, gateway, services and PostgreSQL all share this machine's
cores, so the figures are for the whole path; the CPU each process spends per
request says which part costs what."""

import argparse
import asyncio
import os
import struct
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import grpc
import psycopg

from bench.feed import fill
from bench.services import run_clients
from bench.stack import bench_stack
from bench.stats import Figures
from neutone.v1 import song_service_pb2 as song_pb
from neutone.v1 import song_service_pb2_grpc
from runtime.launcher import Stack, free_address

GET_SONG = "/neutone.v1.SongService/GetSong"
LIST_FEED = "/neutone.v1.SongService/ListFeed"
LATENCY_TARGET = 1.5
DEPLOYED = "as deployed (replies to signed-out callers reused for 1 s)"
BRIDGE_ONLY = "bridge only (NEUTONE_PUBLIC_REPLY_SECONDS=0: every call goes upstream)"
FEED_TARGET_PER_SECOND = 1000


def grpc_web_body(message: bytes) -> bytes:
    return struct.pack(">BI", 0, len(message)) + message


class CpuMeter:
    """CPU seconds each process spends, so a slow path can be pinned on one of them."""

    def __init__(self, stack: Stack) -> None:
        self._pids = {name: stack.processes[name].pid for name in ("gateway", "songsvc")}
        self._tick = os.sysconf("SC_CLK_TCK")

    def read(self) -> dict[str, float]:
        used = {"client": time.process_time()}
        for name, pid in self._pids.items():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used[name] = (int(fields[11]) + int(fields[12])) / self._tick
        return used


async def measured(
    meter: CpuMeter,
    name: str,
    clients: int,
    seconds: float,
    call: Callable[[int], Awaitable[object]],
) -> Figures:
    before = meter.read()
    figures = await run_clients(name, clients, seconds, call)
    after = meter.read()
    cpu = "  ".join(
        f"{process} {(after[process] - before[process]) * 1000 / figures.requests:.2f}"
        for process in after
    )
    print(f"{figures.line()}  cpu ms/req: {cpu}", flush=True)
    return figures


Results = dict[str, tuple[Figures, Figures]]


async def measure(stack: Stack, song_id: str, clients: int, seconds: float) -> Results:
    """Each RPC directly and through the gateway: {rpc: (direct, via gateway)}."""
    get_song = song_pb.GetSongRequest(song_id=song_id)
    list_feed = song_pb.ListFeedRequest(page_size=20)
    meter = CpuMeter(stack)
    base = f"http://{stack.address('gateway')}"
    async with (
        grpc.aio.insecure_channel(stack.address("songsvc")) as channel,
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=clients),
            timeout=aiohttp.ClientTimeout(total=30),
        ) as http,
    ):
        songs = song_service_pb2_grpc.SongServiceStub(channel)

        def through_gateway(path: str, request: bytes) -> Callable[[int], Awaitable[None]]:
            body = grpc_web_body(request)
            headers = {"content-type": "application/grpc-web+proto", "x-grpc-web": "1"}

            async def call(_: int) -> None:
                async with http.post(base + path, data=body, headers=headers) as reply:
                    content = await reply.read()
                # The status is in the trailer frame at the end of the body.
                if reply.status != 200 or b"grpc-status:0\r\n" not in content[-64:]:
                    raise RuntimeError(f"{path} failed: {reply.headers} {content[-64:]!r}")

            return call

        async def direct_get_song(_: int) -> None:
            await songs.GetSong(get_song)

        async def direct_list_feed(_: int) -> None:
            await songs.ListFeed(list_feed)

        gateway_get_song = through_gateway(GET_SONG, get_song.SerializeToString())
        gateway_list_feed = through_gateway(LIST_FEED, list_feed.SerializeToString())
        # Warm both paths (connections, caches, the services' query plans).
        for call in (direct_get_song, direct_list_feed, gateway_get_song, gateway_list_feed):
            await run_clients("warm-up", clients, 1.0, call)

        results: Results = {}
        for rpc, direct, gateway in (
            ("GetSong", direct_get_song, gateway_get_song),
            ("ListFeed", direct_list_feed, gateway_list_feed),
        ):
            over_grpc = await measured(meter, f"{rpc} direct gRPC", clients, seconds, direct)
            over_gateway = await measured(meter, f"{rpc} via gateway", clients, seconds, gateway)
            results[rpc] = (over_grpc, over_gateway)
    return results


def report(results: Results) -> float:
    """Prints the gateway/direct ratios; the worst p50 ratio."""
    for rpc, (over_grpc, over_gateway) in results.items():
        print(
            f"{rpc:<9} gateway/direct: p50 x{over_gateway.p50_ms / over_grpc.p50_ms:.2f}"
            f"  p99 x{over_gateway.p99_ms / over_grpc.p99_ms:.2f}"
            f"  req/s x{over_gateway.per_second / over_grpc.per_second:.2f}"
        )
    return max(
        over_gateway.p50_ms / over_grpc.p50_ms for over_grpc, over_gateway in results.values()
    )


def published_song(database_url: str) -> str:
    with psycopg.connect(database_url) as db:
        row = db.execute(
            "SELECT id FROM songs.songs WHERE published ORDER BY publish_time DESC LIMIT 1"
        ).fetchone()
    if row is None:
        raise SystemExit("the feed fill wrote no songs")
    return str(row[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--songs", type=int, default=2000, help="published songs in the feed")
    args = parser.parse_args()
    services = ["usersvc", "billingsvc", "songsvc"]
    with bench_stack(services, extra_env={"NEUTONE_GATEWAY_ADDRESS": free_address()}) as (
        stack,
        _,
    ):
        url = stack.env["NEUTONE_DATABASE_URL"]
        fill(url, up_to=args.songs, already=0)
        song_id = published_song(url)
        print(f"{args.clients} concurrent clients, {args.seconds:.0f} s each")
        runs = []
        for title, env in (
            (DEPLOYED, {}),
            (BRIDGE_ONLY, {"NEUTONE_PUBLIC_REPLY_SECONDS": "0"}),
        ):
            print(f"\n-- gateway {title}")
            stack.start("gateway", extra_env=env)
            runs.append(asyncio.run(measure(stack, song_id, args.clients, args.seconds)))
            stack.stop("gateway")

    deployed, bridge_only = runs
    print(f"\n-- gateway {DEPLOYED}")
    added = report(deployed)
    print(f"-- gateway {BRIDGE_ONLY}")
    bridge_added = report(bridge_only)
    feed_per_second = deployed["ListFeed"][1].per_second
    print(
        f"target: gateway adds under 50% to p50 latency: "
        f"{'met' if added < LATENCY_TARGET else 'missed'} (worst x{added:.2f}; "
        f"bridge only x{bridge_added:.2f})"
    )
    print(
        f"target: {FEED_TARGET_PER_SECOND} ListFeed req/s through the gateway: "
        f"{'met' if feed_per_second >= FEED_TARGET_PER_SECOND else 'missed'}"
        f" ({feed_per_second:.0f} req/s; bridge only {bridge_only['ListFeed'][1].per_second:.0f})"
    )


if __name__ == "__main__":
    main()
