"""Benchmark: how soon a revoked credential's identity tokens stop working.

    .venv/bin/python -m bench.revocation [--samples 20]

For each sample a person signs up, exchanges the session (or an API key) for an
identity token, checks it works on billingsvc and songsvc, then signs out (or
revokes the key); the figure is the time from that reply until each service
first refuses the token. Services poll `users.revoked_credentials` every
NEUTONE_REVOCATION_POLL_SECONDS (1 s by default), so about half of that on average."""

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc

from bench.stack import bench_stack, confirmed_sign_up, outbox
from neutone.v1 import billing_service_pb2 as billing_pb
from neutone.v1 import billing_service_pb2_grpc, song_service_pb2_grpc, user_service_pb2_grpc
from neutone.v1 import song_service_pb2 as song_pb
from neutone.v1 import user_service_pb2 as user_pb

SERVICES = ["usersvc", "billingsvc", "songsvc"]
CHECK_EVERY_SECONDS = 0.01


async def until_refused(call: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    while True:
        try:
            await call()
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.UNAUTHENTICATED:
                raise
            return time.perf_counter() - started
        await asyncio.sleep(CHECK_EVERY_SECONDS)


async def sample(users, billing, songs, mail: Path, *, api_key: bool) -> list[float]:
    reply = await confirmed_sign_up(
        users,
        mail,
        email=f"bench-{uuid.uuid4().hex[:10]}@example.com",
        password="benchmark password",
    )
    session = (
        ("authorization", f"Bearer {(await exchange(users, session_token=reply.session_token))}"),
    )
    if api_key:
        key = await users.CreateApiKey(
            user_pb.CreateApiKeyRequest(display_name="bench"), metadata=session
        )
        metadata = (("authorization", f"Bearer {await exchange(users, api_key=key.secret)}"),)
    else:
        metadata = session
    checks = [
        lambda: billing.GetBalance(billing_pb.GetBalanceRequest(), metadata=metadata),
        lambda: songs.ListMySongs(song_pb.ListMySongsRequest(), metadata=metadata),
    ]
    for check in checks:
        await check()
    if api_key:
        await users.RevokeApiKey(
            user_pb.RevokeApiKeyRequest(api_key_id=key.api_key.id), metadata=session
        )
    else:
        await users.SignOut(user_pb.SignOutRequest(), metadata=session)
    return list(await asyncio.gather(*(until_refused(check) for check in checks)))


async def exchange(users, **credential: str) -> str:
    reply = await users.CreateIdentityToken(user_pb.CreateIdentityTokenRequest(**credential))
    return reply.identity_token


async def run(stack, samples: int) -> None:
    async with (
        grpc.aio.insecure_channel(stack.address("usersvc")) as users_channel,
        grpc.aio.insecure_channel(stack.address("billingsvc")) as billing_channel,
        grpc.aio.insecure_channel(stack.address("songsvc")) as songs_channel,
    ):
        users = user_service_pb2_grpc.UserServiceStub(users_channel)
        billing = billing_service_pb2_grpc.BillingServiceStub(billing_channel)
        songs = song_service_pb2_grpc.SongServiceStub(songs_channel)
        for label, api_key in (("sign-out", False), ("revoked API key", True)):
            waits = []
            for _ in range(samples):
                waits += await sample(users, billing, songs, outbox(stack), api_key=api_key)
            waits.sort()
            print(
                f"{label:16} tokens refused after: p50 {statistics.median(waits) * 1000:6.0f} ms"
                f"   p95 {waits[int(len(waits) * 0.95) - 1] * 1000:6.0f} ms"
                f"   max {waits[-1] * 1000:6.0f} ms   ({len(waits)} checks, 2 services)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    with bench_stack(SERVICES) as (stack, _):
        asyncio.run(run(stack, args.samples))


if __name__ == "__main__":
    main()
