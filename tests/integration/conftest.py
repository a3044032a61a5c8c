"""Integration fixtures: a real PostgreSQL and the real service processes,
spoken to over gRPC on local sockets.

PostgreSQL is the server named by NEUTONE_TEST_DATABASE_URL when set (a fresh
database is created on it for the session and dropped afterwards), otherwise an
embedded server from the pgserver wheel in a temporary directory."""

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import grpc
import httpx
import pytest

from runtime import database
from runtime.launcher import Stack, free_address, free_port, isolated_env
from tests.integration.helpers import (
    ONE_CLIENT_FOR_ALL_TESTS,
    TESTS_PRINCIPAL,
    Metadata,
    SignedUpUser,
    StackKeys,
    service_identity,
    sign_up,
)


@pytest.fixture(scope="session")
def database_server_url() -> Iterator[str]:
    configured = os.environ.get("NEUTONE_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    # Not under pytest's basetemp: a concurrent pytest run prunes old basetemps,
    # which would pull the data directory from under a running server.
    with tempfile.TemporaryDirectory(prefix="neutone-test-pg-") as scratch:
        yield database.embedded_database_url(Path(scratch))
        database.stop_embedded_database(Path(scratch))


@pytest.fixture(scope="session")
def fresh_database(database_server_url: str) -> Iterator[str]:
    """A new, empty database for this test session."""
    url = database.create_scratch_database(database_server_url, prefix="neutone_test")
    yield url
    database.drop_database(database_server_url, url)


@pytest.fixture(scope="session")
def database_url(fresh_database: str) -> str:
    """The session's database, migrated to head for every service."""
    database.upgrade(fresh_database)
    return fresh_database


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The identity keys of the session's stacks: every principal's and the tests'."""
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(scope="session")
def tokens(stack: Stack, keys_dir: Path) -> StackKeys:
    return StackKeys(keys_dir)


@pytest.fixture(scope="session")
def stack(
    database_url: str, keys_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The services' environment on free ports; each service's process starts when a
    test first needs it (see the channel fixtures) and runs to the session's end."""
    log_dir = Path(os.environ.get("NEUTONE_TEST_LOG_DIR") or tmp_path_factory.mktemp("logs"))
    env = {
        **isolated_env(database_url=database_url, keys_dir=keys_dir, clients=[TESTS_PRINCIPAL]),
        # Cheaper argon2 keeps the suite fast; the algorithm and code path are the same.
        "NEUTONE_PASSWORD_TIME_COST": "1",
        "NEUTONE_PASSWORD_MEMORY_KIB": "8192",
        **ONE_CLIENT_FOR_ALL_TESTS,
    }
    running = Stack(env, log_dir=log_dir)
    try:
        yield running
    finally:
        running.stop_all()


@pytest.fixture(scope="session")
def triton_url(stack: Stack) -> str:
    """A real tritonserver serving model_repository/ with the tiny models."""
    stack.ensure_started("triton")
    return stack.triton_url


@pytest.fixture(scope="session")
def users_channel(stack: Stack) -> Iterator[grpc.Channel]:
    stack.ensure_started("usersvc")
    with grpc.insecure_channel(stack.address("usersvc")) as channel:
        yield channel


@pytest.fixture(scope="session")
def billing_channel(stack: Stack) -> Iterator[grpc.Channel]:
    stack.ensure_started("billingsvc")
    with grpc.insecure_channel(stack.address("billingsvc")) as channel:
        yield channel


@pytest.fixture
def service_metadata(tokens: StackKeys) -> Metadata:
    """Call metadata carrying a service identity, as an internal client sends."""
    return service_identity(tokens)


@pytest.fixture
def new_user(users_channel: grpc.Channel, tokens: StackKeys) -> Callable[[], SignedUpUser]:
    """Signs up a fresh account and returns it with user identity metadata."""

    def make() -> SignedUpUser:
        return sign_up(users_channel, tokens)

    return make


# songsvc stores media in a real S3-compatible server (moto in server mode) through
# boto3; its process and the worker are shared by every suite that creates songs.
BUCKET = "neutone-test-media"
S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    address = free_address()
    host, port = address.split(":")
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", host, "-p", port],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://{address}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(endpoint, timeout=1)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("moto server did not start") from None
            time.sleep(0.1)
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **_boto_credentials())
    s3.create_bucket(Bucket=BUCKET)
    yield endpoint
    server.terminate()
    server.wait(timeout=10)


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


@pytest.fixture(scope="session")
def s3_client(s3_endpoint: str):
    return boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name="us-east-1", **_boto_credentials()
    )


@pytest.fixture(scope="session")
def songsvc_env(s3_endpoint: str) -> dict[str, str]:
    """What songsvc and its worker need beyond the shared stack environment."""
    return {
        **S3_CREDENTIALS,
        "NEUTONE_OBJECT_STORE__KIND": "s3",
        "NEUTONE_OBJECT_STORE__S3_BUCKET": BUCKET,
        "NEUTONE_OBJECT_STORE__S3_ENDPOINT_URL": s3_endpoint,
        # Quick retries and short leases keep the fault tests short.
        "NEUTONE_JOB_RETRY_BASE_SECONDS": "0.5",
        "NEUTONE_JOB_RETRY_MAX_SECONDS": "2",
        "NEUTONE_JOB_LEASE_SECONDS": "4",
        "NEUTONE_WORKER_POLL_SECONDS": "0.5",
        "NEUTONE_WATCH_REFRESH_SECONDS": "1",
        # Credits going back while billing is away, and reconciliation, in seconds.
        "NEUTONE_CREDIT_RELEASE_POLL_SECONDS": "0.5",
        "NEUTONE_CREDIT_RELEASE_RETRY_MAX_SECONDS": "1",
        "NEUTONE_RESERVATION_GRACE_SECONDS": "30",
        "NEUTONE_RECONCILE_INTERVAL_SECONDS": "1",
    }


@pytest.fixture(scope="session")
def songs_channel(stack: Stack, songsvc_env: dict[str, str]) -> Iterator[grpc.Channel]:
    stack.ensure_started("billingsvc")
    stack.ensure_started("songsvc", extra_env=songsvc_env)
    with grpc.insecure_channel(stack.address("songsvc")) as channel:
        yield channel


@pytest.fixture(scope="session")
def worker_env(songsvc_env: dict[str, str], triton_url: str) -> dict[str, str]:
    # Each SIGKILL of the fault tests costs the jobs in flight an attempt.
    return {
        **songsvc_env,
        "NEUTONE_JOB_MAX_ATTEMPTS": "15",
        "NEUTONE_METRICS_PORT": str(free_port()),
    }


@pytest.fixture
def worker(stack: Stack, worker_env: dict[str, str]) -> None:
    """The generation worker, running (again) for this test."""
    stack.ensure_started("songsvc-worker", extra_env=worker_env)
