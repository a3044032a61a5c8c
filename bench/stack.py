"""A private Neutone stack for benchmarks: scratch database (embedded, or on the
server in NEUTONE_TEST_DATABASE_URL), free ports, real service processes."""

import os
import secrets
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import grpc

from neutone.v1 import user_service_pb2 as user_pb
from neutone.v1 import user_service_pb2_grpc
from runtime import database
from runtime.identity import Identity, IdentityTokens, PrincipalKind
from runtime.launcher import Stack, isolated_env


@contextmanager
def bench_stack(
    services: Sequence[str], *, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[Stack, IdentityTokens]]:
    with tempfile.TemporaryDirectory(prefix="neutone-bench-") as scratch:
        server = os.environ.get("NEUTONE_TEST_DATABASE_URL") or database.embedded_database_url(
            Path(scratch)
        )
        url = database.create_scratch_database(server, prefix="neutone_bench")
        key = secrets.token_urlsafe(48)
        stack = Stack(
            {
                **isolated_env(database_url=url, identity_key=key),
                "NEUTONE_DATA_DIR": str(Path(scratch) / "data"),
                "NEUTONE_LOG_LEVEL": "WARNING",
                # One client (the benchmark) signs every account up and in.
                "NEUTONE_SIGN_UPS_PER_CLIENT": "1000000",
                "NEUTONE_SIGN_IN_FAILURES_PER_CLIENT": "1000000",
                **(extra_env or {}),
            },
            log_dir=Path(scratch) / "logs",
        )
        try:
            database.upgrade(url)
            for service in services:
                stack.start(service)
            yield stack, IdentityTokens(key, ttl=timedelta(hours=1))
        finally:
            stack.stop_all()
            database.drop_database(server, url)
            database.stop_embedded_database(Path(scratch))


def service_metadata(tokens: IdentityTokens) -> tuple[tuple[str, str]]:
    token = tokens.mint(Identity(kind=PrincipalKind.SERVICE, subject="bench")).token
    return (("authorization", f"Bearer {token}"),)


async def signed_up(
    users_channel: grpc.aio.Channel, tokens: IdentityTokens, name: str = "Bench"
) -> tuple[tuple[str, str]]:
    """Signs up a new account; call metadata carrying its identity token."""
    users = user_service_pb2_grpc.UserServiceStub(users_channel)
    reply = await users.SignUp(
        user_pb.SignUpRequest(
            email=f"bench-{uuid.uuid4().hex[:8]}@example.com",
            password="benchmark password",
            display_name=name,
        )
    )
    session = await users.AuthenticateSession(
        user_pb.AuthenticateSessionRequest(session_token=reply.session_token),
        metadata=service_metadata(tokens),
    )
    return (("authorization", f"Bearer {session.identity_token}"),)
