"""Chaos and soak on one private product (tests/stacks.py): Triton with the tiny
models, every service, the worker and the gateway, on a PostgreSQL of its own,
always the embedded one, even where NEUTONE_TEST_DATABASE_URL names a server:
the database restart must never stop a server anything else uses.

Each test prints its figures with `figures` (tests/conftest.py), under "measured
figures" at the end of pytest's output."""

from collections.abc import AsyncIterator, Callable, Iterator

import aiohttp
import grpc
import pytest

from neutone.v1 import song_service_pb2_grpc
from tests.chaos.soak import Soak
from tests.chaos.web import Gateway
from tests.integration.helpers import ONE_CLIENT_FOR_ALL_TESTS, SignedUpUser, insert_song, sign_up
from tests.stacks import Product, private_product

CHAOS_ENV = {
    # Every person here signs up from 127.0.0.1.
    **ONE_CLIENT_FOR_ALL_TESTS,
    # A killed worker's jobs are taken again seconds later, and retried quickly.
    "NEUTONE_JOB_LEASE_SECONDS": "2",
    "NEUTONE_JOB_RETRY_BASE_SECONDS": "0.5",
    "NEUTONE_JOB_RETRY_MAX_SECONDS": "2",
    # Each SIGKILL costs the jobs in flight an attempt (a song took up to 9 in ten kills
    # on a busy machine): ten in a row must not use them up.
    "NEUTONE_JOB_MAX_ATTEMPTS": "20",
    # One person makes the worker test's ten songs at once.
    "NEUTONE_WELCOME_GRANT_CREDITS": "10",
    "NEUTONE_MAX_SONGS_IN_FLIGHT": "10",
    # As deployed: every soak stream is read again this often when nothing changes.
    "NEUTONE_WATCH_REFRESH_SECONDS": "5",
}
# 200 streams: 20 people, each following one song in 10 tabs.
SOAK_PEOPLE = 20
SOAK_TABS = 10
SOAK_SECONDS = 60.0


@pytest.fixture(scope="package")
def product() -> Iterator[Product]:
    with pytest.MonkeyPatch.context() as env:
        env.delenv("NEUTONE_TEST_DATABASE_URL", raising=False)
        with private_product("chaos", extra_env=CHAOS_ENV) as product:
            yield product


@pytest.fixture(scope="package")
def users_channel(product: Product) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(product.stack.address("usersvc")) as channel:
        yield channel


@pytest.fixture(scope="package")
def songs(product: Product) -> Iterator[song_service_pb2_grpc.SongServiceStub]:
    """songsvc's own port, as an internal caller (and the old tests' helpers) reach it."""
    with grpc.insecure_channel(product.stack.address("songsvc")) as channel:
        yield song_service_pb2_grpc.SongServiceStub(channel)


@pytest.fixture
def new_user(product: Product, users_channel: grpc.Channel) -> Callable[[], SignedUpUser]:
    """Signs up a fresh account: its session token is the browser's cookie, its
    identity token the metadata of direct calls."""
    return lambda: sign_up(users_channel, product.keys)


@pytest.fixture
async def gateway(product: Product) -> AsyncIterator[Gateway]:
    async with aiohttp.ClientSession() as http:
        yield Gateway(http, product.url)


@pytest.fixture(scope="package")
def soak(product: Product, users_channel: grpc.Channel) -> Iterator[Soak]:
    """The soak's streams, opening; they are held in the background for SOAK_SECONDS."""
    watchers = []
    for _ in range(SOAK_PEOPLE):
        person = sign_up(users_channel, product.keys)
        # A song without a job stays QUEUED whatever the worker does: its streams stay open.
        song_id = insert_song(product.database_url, person.id)
        watchers += [(person, song_id)] * SOAK_TABS
    started = Soak(product.url, watchers, hold_seconds=SOAK_SECONDS)
    started.start()
    yield started
    started.stop()
