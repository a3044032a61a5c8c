"""Song service fixtures: songsvc (and billingsvc, which it calls) as real
processes, storing media in a real S3-compatible server (moto in server mode)
through boto3."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import grpc
import httpx
import pytest
import sqlalchemy as sa

from neutone.v1 import song_service_pb2_grpc
from runtime.launcher import Stack, free_address

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


# The small limits of the second songsvc process (`tuned_songs`).
TUNED_PLAY_WINDOW_SECONDS = 1
TUNED_FEED_CACHE_SECONDS = 60
TUNED_STREAMS_PER_USER = 2
TUNED_STREAMS_PER_PROCESS = 3
TUNED_WATCH_MAX_SECONDS = 2
# Its database sessions are named, so tests can see what they wait for.
TUNED_APPLICATION_NAME = "neutone-tuned-songsvc"


@pytest.fixture(scope="session")
def tuned_songs_channel(
    stack: Stack,
    songsvc_env: dict[str, str],
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[grpc.Channel]:
    """A second songsvc process on the same database, with small limits for the
    tests of those limits (play window, feed cache, streams)."""
    stack.ensure_started("billingsvc")
    named = sa.engine.make_url(database_url).update_query_dict(
        {"application_name": TUNED_APPLICATION_NAME}
    )
    log_dir = Path(os.environ.get("NEUTONE_TEST_LOG_DIR") or tmp_path_factory.mktemp("logs"))
    tuned = Stack(
        {**stack.env, "NEUTONE_SONGSVC_ADDRESS": free_address()},
        log_dir=log_dir / "tuned-songsvc",
    )
    tuned.start(
        "songsvc",
        extra_env={
            **songsvc_env,
            "NEUTONE_DATABASE_URL": named.render_as_string(hide_password=False),
            "NEUTONE_PLAY_WINDOW_SECONDS": str(TUNED_PLAY_WINDOW_SECONDS),
            "NEUTONE_FEED_CACHE_SECONDS": str(TUNED_FEED_CACHE_SECONDS),
            "NEUTONE_WATCH_STREAMS_PER_USER": str(TUNED_STREAMS_PER_USER),
            "NEUTONE_WATCH_STREAMS_PER_PROCESS": str(TUNED_STREAMS_PER_PROCESS),
            "NEUTONE_WATCH_MAX_SECONDS": str(TUNED_WATCH_MAX_SECONDS),
        },
    )
    try:
        with grpc.insecure_channel(tuned.address("songsvc")) as channel:
            yield channel
    finally:
        tuned.stop_all()


@pytest.fixture
def tuned_songs(tuned_songs_channel: grpc.Channel) -> song_service_pb2_grpc.SongServiceStub:
    return song_service_pb2_grpc.SongServiceStub(tuned_songs_channel)


@pytest.fixture(scope="session")
def worker_env(songsvc_env: dict[str, str], triton_url: str) -> dict[str, str]:
    # Each SIGKILL of the fault tests costs the jobs in flight an attempt.
    return {
        **songsvc_env,
        "NEUTONE_JOB_MAX_ATTEMPTS": "15",
        "NEUTONE_METRICS_PORT": free_address().rpartition(":")[2],
    }


@pytest.fixture
def worker(stack: Stack, worker_env: dict[str, str]) -> None:
    """The generation worker, running (again) for this test."""
    stack.ensure_started("songsvc-worker", extra_env=worker_env)


@pytest.fixture
def songs(songs_channel: grpc.Channel) -> song_service_pb2_grpc.SongServiceStub:
    return song_service_pb2_grpc.SongServiceStub(songs_channel)
