"""A private Neutone stack for benchmarks: scratch database (embedded, or on the
server in NEUTONE_TEST_DATABASE_URL), free ports, real service processes."""

import asyncio
import os
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import grpc

from neutone.v1 import user_service_pb2 as user_pb
from neutone.v1 import user_service_pb2_grpc
from runtime import database
from runtime.launcher import Stack, StackKeys, isolated_env
from usersvc.mail import OutboxFolder, link_token

# Mail goes out just after SignUp answers: tries, 50 ms apart.
MAIL_WAIT_TRIES = 200


@contextmanager
def bench_stack(
    services: Sequence[str], *, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[Stack, StackKeys]]:
    with tempfile.TemporaryDirectory(prefix="neutone-bench-") as scratch:
        server = os.environ.get("NEUTONE_TEST_DATABASE_URL") or database.embedded_database_url(
            Path(scratch)
        )
        url = database.create_scratch_database(server, prefix="neutone_bench")
        keys_dir = Path(scratch) / "keys"
        stack = Stack(
            {
                **isolated_env(database_url=url, keys_dir=keys_dir),
                "NEUTONE_DATA_DIR": str(Path(scratch) / "data"),
                "NEUTONE_LOG_LEVEL": "WARNING",
                # One client (the benchmark) signs every account up and in.
                "NEUTONE_SIGN_UPS_PER_CLIENT": "1000000",
                "NEUTONE_SIGN_IN_FAILURES_PER_CLIENT": "1000000",
                "NEUTONE_TOKEN_EXCHANGES_PER_CLIENT_PER_MINUTE": "1000000",
                **(extra_env or {}),
            },
            log_dir=Path(scratch) / "logs",
        )
        try:
            database.upgrade(url)
            for service in services:
                stack.start(service)
            yield stack, StackKeys(keys_dir)
        finally:
            stack.stop_all()
            database.drop_database(server, url)
            database.stop_embedded_database(Path(scratch))


def outbox(stack: Stack) -> Path:
    """Where the stack's usersvc writes its mail."""
    return Path(stack.env["NEUTONE_MAIL__OUTBOX_DIR"])


async def confirmed_sign_up(
    users: user_service_pb2_grpc.UserServiceStub,
    mail: Path,
    *,
    email: str,
    password: str,
    name: str = "Bench",
) -> user_pb.ConfirmSignUpResponse:
    """SignUp, then the mailed link (ConfirmSignUp), as a person signs up."""
    await users.SignUp(user_pb.SignUpRequest(email=email, password=password, display_name=name))
    folder = OutboxFolder(mail, sender="")
    for _ in range(MAIL_WAIT_TRIES):
        tokens = [link_token(message, "confirm-sign-up") for message in folder.messages_to(email)]
        if token := next((token for token in reversed(tokens) if token), None):
            return await users.ConfirmSignUp(user_pb.ConfirmSignUpRequest(token=token))
        await asyncio.sleep(0.05)
    raise RuntimeError(f"no sign-up link was mailed to {email}")


async def signed_up(
    users_channel: grpc.aio.Channel, mail: Path, name: str = "Bench"
) -> tuple[tuple[str, str]]:
    """Signs up a new account; call metadata carrying its identity token, as an
    internal client gets one (CreateIdentityToken)."""
    users = user_service_pb2_grpc.UserServiceStub(users_channel)
    reply = await confirmed_sign_up(
        users,
        mail,
        email=f"bench-{uuid.uuid4().hex[:8]}@example.com",
        password="benchmark password",
        name=name,
    )
    exchanged = await users.CreateIdentityToken(
        user_pb.CreateIdentityTokenRequest(session_token=reply.session_token)
    )
    return (("authorization", f"Bearer {exchanged.identity_token}"),)
