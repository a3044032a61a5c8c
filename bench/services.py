"""Benchmark: SignIn and GetBalance latency under concurrent clients.

    .venv/bin/python -m bench.services [--clients 32] [--seconds 10]

Starts usersvc and billingsvc as real processes on a scratch database (embedded, or
on the server in NEUTONE_TEST_DATABASE_URL), with production password hashing settings,
and prints requests/s, p50 and p99 for each RPC."""

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import grpc

from bench.stack import bench_stack, confirmed_sign_up, outbox
from bench.stats import Figures
from neutone.v1 import billing_service_pb2 as billing_pb
from neutone.v1 import billing_service_pb2_grpc, user_service_pb2_grpc
from neutone.v1 import user_service_pb2 as user_pb
from runtime.launcher import Stack

PASSWORD = "benchmark password"


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


async def measure(stack: Stack, clients: int, seconds: float) -> None:
    async with (
        grpc.aio.insecure_channel(stack.address("usersvc")) as users_channel,
        grpc.aio.insecure_channel(stack.address("billingsvc")) as billing_channel,
    ):
        users = user_service_pb2_grpc.UserServiceStub(users_channel)
        billing = billing_service_pb2_grpc.BillingServiceStub(billing_channel)
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

        print(f"{clients} concurrent clients, {seconds:.0f} s each")
        for name, call in (("SignIn", sign_in), ("GetBalance", get_balance)):
            print((await run_clients(name, clients, seconds, call)).line(), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with bench_stack(["usersvc", "billingsvc"]) as (stack, _):
        asyncio.run(measure(stack, args.clients, args.seconds))


if __name__ == "__main__":
    main()
