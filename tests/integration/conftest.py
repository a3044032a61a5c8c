"""Integration fixtures: a real PostgreSQL and the real service processes,
spoken to over gRPC on local sockets.

PostgreSQL is the server named by NEUTONE_TEST_DATABASE_URL when set (a fresh
database is created on it for the session and dropped afterwards), otherwise an
embedded server from the pgserver wheel in a temporary directory."""

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from runtime import database
from runtime.launcher import Stack, isolated_env
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
