"""Benchmark: usersvc's peak memory and latency under concurrent SignUps, with the
production password cost (argon2id, t=3, 64 MiB per hash).

    .venv/bin/python -m bench.passwords [--signups 40] [--memory-limit-mib 768] [--hashes-at-once N ...]

Starts usersvc as a real process on a scratch database (embedded, or on the server in
NEUTONE_TEST_DATABASE_URL) for each configuration: by default the chart's pod
(NEUTONE_MEMORY_LIMIT_MIB=768, from which usersvc derives its bound) and then each
`--hashes-at-once` given (20 is what the default thread pool would run on a 16-core
node). Sends `--signups` SignUps at once, each from a client of its own, and prints
the peak resident memory (VmHWM from /proc/<pid>/status) at start and after, and the
SignUp latencies. Linux only."""

import argparse
import asyncio
import time
import uuid
from pathlib import Path

import grpc

from bench.stack import bench_stack
from bench.stats import Figures
from neutone.v1 import user_service_pb2 as user_pb
from neutone.v1 import user_service_pb2_grpc
from runtime.interceptors import CLIENT_ADDRESS_HEADER, PROXY_AUTHORIZATION_HEADER
from runtime.launcher import Stack, StackKeys

PRODUCTION_COST = {"NEUTONE_PASSWORD_TIME_COST": "3", "NEUTONE_PASSWORD_MEMORY_KIB": "65536"}
MIB = 1024 * 1024


def peak_memory_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / MIB
    raise RuntimeError("no VmHWM in /proc status")


async def sign_ups_at_once(stack: Stack, keys: StackKeys, count: int) -> Figures:
    gateway = keys.service_token("gateway")
    latencies: list[float] = []
    async with grpc.aio.insecure_channel(stack.address("usersvc")) as channel:
        users = user_service_pb2_grpc.UserServiceStub(channel)

        async def sign_up(index: int) -> None:
            started = time.perf_counter()
            await users.SignUp(
                user_pb.SignUpRequest(
                    email=f"bench-{uuid.uuid4().hex[:10]}@example.com",
                    password="benchmark password",
                    display_name="Bench",
                ),
                # Each from a browser of its own, as the gateway would say.
                metadata=(
                    (CLIENT_ADDRESS_HEADER, f"198.51.{index // 250}.{index % 250 + 1}"),
                    (PROXY_AUTHORIZATION_HEADER, f"Bearer {gateway}"),
                ),
                timeout=120,
            )
            latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(sign_up(index) for index in range(count)))
        return Figures.of("SignUp", latencies, time.perf_counter() - started)


def measure(label: str, settings: dict[str, str], signups: int) -> None:
    with bench_stack(["usersvc"], extra_env={**PRODUCTION_COST, **settings}) as (stack, tokens):
        pid = stack.processes["usersvc"].pid
        at_start = peak_memory_mib(pid)
        figures = asyncio.run(sign_ups_at_once(stack, tokens, signups))
        peak = peak_memory_mib(pid)
    print(
        f"{label:<34} peak {peak:>7.0f} MiB (at start {at_start:>4.0f} MiB)"
        f"   {signups} SignUps in {figures.seconds:>5.1f} s"
        f"  p50 {figures.p50_ms / 1000:>5.2f} s  p99 {figures.p99_ms / 1000:>5.2f} s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signups", type=int, default=40)
    parser.add_argument("--memory-limit-mib", type=int, default=768, help="the chart's pod")
    parser.add_argument("--hashes-at-once", type=int, nargs="*", default=[20])
    args = parser.parse_args()
    print(f"usersvc, argon2id t=3 m=64 MiB, {args.signups} SignUps at once")
    measure(
        f"pod limit {args.memory_limit_mib} MiB (derived bound)",
        {"NEUTONE_MEMORY_LIMIT_MIB": str(args.memory_limit_mib)},
        args.signups,
    )
    for bound in args.hashes_at_once:
        measure(
            f"{bound} hashes at once",
            {"NEUTONE_PASSWORD_HASHES_AT_ONCE": str(bound)},
            args.signups,
        )


if __name__ == "__main__":
    main()
