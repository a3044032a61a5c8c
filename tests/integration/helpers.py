"""Helpers shared by the integration tests."""

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import grpc
import httpx
import psycopg
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from prometheus_client.parser import text_string_to_metric_families

from neutone.v1 import user_service_pb2, user_service_pb2_grpc
from runtime.errors import error_reason
from runtime.interceptors import CLIENT_ADDRESS_HEADER, PROXY_AUTHORIZATION_HEADER
from runtime.launcher import StackKeys, stack_outbox
from usersvc.mail import OutboxFolder, link_token

__all__ = ["StackKeys", "error_reason"]

Metadata = tuple[tuple[str, str], ...]
# The test suites' own principal: the stacks they start trust its service tokens.
TESTS_PRINCIPAL = "tests"

# Every test calls from 127.0.0.1, which the per-client limits would count as one
# client; the tests of those limits (tests/integration/users/test_limits.py) run a
# usersvc of their own.
ONE_CLIENT_FOR_ALL_TESTS = {
    "NEUTONE_SIGN_UPS_PER_CLIENT": "1000000",
    "NEUTONE_SIGN_IN_FAILURES_PER_CLIENT": "1000000",
    # Every `neutone` command of tests/integration/cli exchanges a credential.
    "NEUTONE_TOKEN_EXCHANGES_PER_CLIENT_PER_MINUTE": "1000000",
    "NEUTONE_PASSWORD_RESETS_PER_CLIENT": "1000000",
    "NEUTONE_SEARCHES_PER_MINUTE": "1000000",
}


def bearer(token: str) -> Metadata:
    return (("authorization", f"Bearer {token}"),)


def service_identity(tokens: StackKeys) -> Metadata:
    return bearer(tokens.service_token())


def from_client(tokens: StackKeys, address: str) -> Metadata:
    """Metadata of a call the gateway bridges for a browser at `address`: the
    address, vouched for by the gateway's service identity."""
    gateway = tokens.service_token("gateway")
    return (
        (CLIENT_ADDRESS_HEADER, address),
        (PROXY_AUTHORIZATION_HEADER, f"Bearer {gateway}"),
    )


@dataclass(frozen=True)
class SignedUpUser:
    id: str
    email: str
    password: str
    session_token: str
    # Metadata with the user's identity token, as the gateway would send it.
    metadata: Metadata


def mail_to(
    outbox: Path, to: str, *, where: Callable[[EmailMessage], bool], timeout: float = 10
) -> EmailMessage:
    """The newest message to `to` that `where` accepts, once it is there (mail goes
    out just after the call that sends it answers)."""
    folder = OutboxFolder(outbox, sender="")
    deadline = time.monotonic() + timeout
    while not (found := [message for message in folder.messages_to(to) if where(message)]):
        assert time.monotonic() < deadline, f"no such mail to {to}"
        time.sleep(0.05)
    return found[-1]


def mailed_token(outbox: Path, to: str, page: str, *, timeout: float = 10) -> str:
    """The token of the newest link to `page` mailed to `to`."""
    message = mail_to(
        outbox, to, where=lambda message: link_token(message, page) is not None, timeout=timeout
    )
    return link_token(message, page) or ""


def confirmed_sign_up(
    users: user_service_pb2_grpc.UserServiceStub,
    outbox: Path,
    *,
    email: str,
    password: str = "correct horse battery",
    display_name: str = "Test User",
    metadata: Metadata | None = None,
) -> user_service_pb2.ConfirmSignUpResponse:
    """Signs up as a person does: SignUp, then the mailed link (ConfirmSignUp)."""
    users.SignUp(
        user_service_pb2.SignUpRequest(email=email, password=password, display_name=display_name),
        metadata=metadata,
    )
    # Mail goes to the address as usersvc stores it: trimmed, lower-cased.
    token = mailed_token(outbox, email.strip().lower(), "confirm-sign-up")
    return users.ConfirmSignUp(
        user_service_pb2.ConfirmSignUpRequest(token=token), metadata=metadata
    )


def sign_up(channel: grpc.Channel, tokens: StackKeys) -> SignedUpUser:
    users = user_service_pb2_grpc.UserServiceStub(channel)
    email = f"user-{uuid.uuid4().hex[:12]}@example.com"
    password = "correct horse battery"
    reply = confirmed_sign_up(users, stack_outbox(tokens.directory), email=email, password=password)
    session = users.AuthenticateSession(
        user_service_pb2.AuthenticateSessionRequest(session_token=reply.session_token),
        metadata=service_identity(tokens),
    )
    return SignedUpUser(
        id=reply.user.id,
        email=email,
        password=password,
        session_token=reply.session_token,
        metadata=bearer(session.identity_token),
    )


def field_violations(error: grpc.RpcError) -> dict[str, str]:
    """The google.rpc.BadRequest field violations carried by an error."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "error has no rich status details"
    violations: dict[str, str] = {}
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            violations.update({v.field: v.description for v in bad_request.field_violations})
    return violations


# How long a song made READY by hand must stay so before a test goes on.
READY_SETTLES_SECONDS = 0.3


def make_ready(database_url: str, song_id: str, categories: list[str]) -> None:
    """Stands in for the worker's final step, for tests of what follows it.

    The job ends first, in the same transaction, so no worker can claim or write
    about it afterwards. A worker that claimed it before may still have one write
    in flight, which lands after ours: the song is set again until it stays READY."""
    with psycopg.connect(database_url) as db:
        while True:
            with db.transaction():
                db.execute(
                    "UPDATE songs.jobs SET state = 'succeeded' WHERE song_id = %s", (song_id,)
                )
                db.execute(
                    "UPDATE songs.songs SET status = 'ready', stage = 'done', progress = 1,"
                    " categories = %s, audio_key = 'songs/' || id || '/audio.flac',"
                    " cover_key = 'songs/' || id || '/cover.png' WHERE id = %s",
                    (categories, song_id),
                )
            time.sleep(READY_SETTLES_SECONDS)
            status = db.execute(
                "SELECT status FROM songs.songs WHERE id = %s", (song_id,)
            ).fetchone()
            db.commit()
            if status is None or status[0] == "ready":
                return


def eventually(check: Callable[[], bool], *, timeout: float = 30, what: str) -> None:
    """Waits until `check()` holds, for what happens after a reply (a refund
    delivered once the song's FAILED state is written, say)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.1)


def insert_song(
    database_url: str, owner_id: str, *, ready: bool = False, categories: tuple[str, ...] = ()
) -> str:
    """A song of `owner_id` written straight into songsvc's table, without a
    generation job: no worker ever takes it, so it stays QUEUED (or READY, with
    media keys) whatever workers run beside the test. Its id."""
    song_id = str(uuid.uuid4())
    status, stage = ("ready", "done") if ready else ("queued", "queued")
    with psycopg.connect(database_url, autocommit=True) as db:
        db.execute(
            "INSERT INTO songs.songs (id, owner_id, owner_display_name, status, stage, mode,"
            " description, instrumental, duration_seconds, seed, guidance_scale,"
            " inference_steps, categories, audio_key, cover_key, progress)"
            " VALUES (%(id)s, %(owner)s, 'Test User', %(status)s, %(stage)s, 'description',"
            " 'a song for the test', true, 30, 1, 7, 8, %(categories)s, %(audio)s, %(cover)s,"
            " %(progress)s)",
            {
                "id": song_id,
                "owner": owner_id,
                "status": status,
                "stage": stage,
                "categories": list(categories),
                "audio": f"songs/{song_id}/audio.flac" if ready else None,
                "cover": f"songs/{song_id}/cover.png" if ready else None,
                "progress": 1 if ready else 0,
            },
        )
    return song_id


def scrape(metrics_url: str) -> dict[str, float]:
    """A process's Prometheus metrics: each sample as `name{label="value",...}` (labels
    sorted; a bare `name` without labels) -> its value."""
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(httpx.get(metrics_url, timeout=5).text):
        for sample in family.samples:
            labels = ",".join(f'{key}="{value}"' for key, value in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def wait_until_running(
    database_url: str, song_ids: list[str], *, worker_pid: int, timeout: float = 60
) -> bool:
    """Waits until the worker process `worker_pid` runs one of the songs' jobs;
    False once none is left to run."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as db:
        while time.monotonic() < deadline:
            running, left = db.execute(
                "SELECT count(*) FILTER (WHERE state = 'running' AND worker_id LIKE %s),"
                " count(*) FILTER (WHERE state IN ('queued', 'running'))"
                " FROM songs.jobs WHERE song_id = ANY(%s)",
                (f"%:{worker_pid}", song_ids),
            ).fetchone()
            if running:
                return True
            if not left:
                return False
            time.sleep(0.02)
    raise TimeoutError("no job started running")
