"""Song service fixtures beyond the shared ones (songsvc on a real S3-compatible
server, the worker: tests/integration/conftest.py): a second songsvc process with
small limits (and no stems, as with a turbo checkpoint); the worker restarted with
other settings for one test."""

import os
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import psycopg
import pytest
import sqlalchemy as sa

from neutone.v1 import billing_service_pb2_grpc, song_service_pb2_grpc
from runtime import database
from runtime.launcher import Stack, free_address
from tests.integration.billing.webhooks import order_paid_event, signed

# The small limits of the second songsvc process (`tuned_songs`).
TUNED_PLAY_WINDOW_SECONDS = 1
TUNED_FEED_CACHE_SECONDS = 60
TUNED_STREAMS_PER_USER = 2
TUNED_STREAMS_PER_PROCESS = 3
TUNED_WATCH_MAX_SECONDS = 2
TUNED_SEARCHES_PER_MINUTE = 3
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
    tests of those limits (play window, feed cache, streams, searches), and no
    model tier."""
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
            "NEUTONE_SEARCHES_PER_MINUTE": str(TUNED_SEARCHES_PER_MINUTE),
            # Nothing listens there: the model tier is down for this process.
            "NEUTONE_TRITON_URL": free_address(),
            # As with a turbo checkpoint.
            "NEUTONE_STEMS_SUPPORTED": "false",
            "NEUTONE_MAX_INFERENCE_STEPS": "8",
        },
    )
    try:
        with grpc.insecure_channel(tuned.address("songsvc")) as channel:
            yield channel
    finally:
        tuned.stop_all()


@pytest.fixture
def scratch_url(database_server_url: str) -> Iterator[str]:
    """An empty database of the test's own."""
    url = database.create_scratch_database(database_server_url, prefix="neutone_songs_scratch")
    yield url
    database.drop_database(database_server_url, url)


@pytest.fixture
def tuned_songs(tuned_songs_channel: grpc.Channel) -> song_service_pb2_grpc.SongServiceStub:
    return song_service_pb2_grpc.SongServiceStub(tuned_songs_channel)


@pytest.fixture
def songs(songs_channel: grpc.Channel) -> song_service_pb2_grpc.SongServiceStub:
    return song_service_pb2_grpc.SongServiceStub(songs_channel)


@pytest.fixture
def buy_credits(billing_channel: grpc.Channel, stack: Stack, service_metadata):
    """Grants a user credits through a signed payment webhook, as the provider would."""
    billing = billing_service_pb2_grpc.BillingServiceStub(billing_channel)

    def buy(user, product_id: str = "credits-10") -> None:
        event = order_paid_event(account_id=user.id, product_id=product_id)
        request = signed(stack.env["NEUTONE_PAYMENT_WEBHOOK_SECRET"], event)
        assert billing.ApplyPaymentEvent(request, metadata=service_metadata).applied

    return buy


def wait_for_empty_queue(database_url: str, timeout: float = 180) -> None:
    """Waits until earlier tests' songs are made, so that only this test's run."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as db:
        while db.execute(
            "SELECT count(*) FROM songs.jobs WHERE state IN ('queued', 'running')"
        ).fetchone()[0]:
            assert time.monotonic() < deadline, "earlier songs were never finished"
            time.sleep(0.2)


@pytest.fixture
def restart_worker(stack: Stack, worker_env: dict[str, str], database_url: str) -> Iterator:
    """Runs the worker with other settings for one test, then as before."""

    def restart(**overrides: str) -> None:
        stack.ensure_started("songsvc-worker", extra_env=worker_env)
        wait_for_empty_queue(database_url)
        stack.stop("songsvc-worker")
        stack.start("songsvc-worker", extra_env={**worker_env, **overrides})

    yield restart
    stack.stop("songsvc-worker")
    stack.start("songsvc-worker", extra_env=worker_env)
