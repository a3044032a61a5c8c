"""usersvc processes of their own, each on a database of its own, for tests of its
limits: the shared stack's usersvc counts every test as one client (127.0.0.1), and
its limits are lifted."""

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from neutone.v1 import user_service_pb2_grpc
from runtime import database
from runtime.launcher import Stack, isolated_env
from tests.integration.helpers import TESTS_PRINCIPAL


@dataclass(frozen=True)
class OwnUserService:
    users: user_service_pb2_grpc.UserServiceStub
    pid: int
    database_url: str


StartUserService = Callable[..., OwnUserService]


@pytest.fixture(scope="module")
def start_usersvc(
    database_server_url: str, keys_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StartUserService]:
    """Starts a usersvc on a fresh database with the given settings (`name=value`
    for NEUTONE_NAME), cheap argon2 unless they say otherwise."""
    log_dir = Path(os.environ.get("NEUTONE_TEST_LOG_DIR") or tmp_path_factory.mktemp("logs"))
    started: list[tuple[Stack, grpc.Channel, str]] = []

    def start(**settings: str) -> OwnUserService:
        url = database.create_scratch_database(database_server_url, prefix="neutone_users")
        database.upgrade(url, ["usersvc"])
        env = {
            **isolated_env(database_url=url, keys_dir=keys_dir, clients=[TESTS_PRINCIPAL]),
            "NEUTONE_PASSWORD_TIME_COST": "1",
            "NEUTONE_PASSWORD_MEMORY_KIB": "8192",
            **{f"NEUTONE_{name.upper()}": value for name, value in settings.items()},
        }
        stack = Stack(env, log_dir=log_dir / f"usersvc-{len(started)}")
        channel = grpc.insecure_channel(stack.address("usersvc"))
        started.append((stack, channel, url))
        stack.start("usersvc")
        return OwnUserService(
            users=user_service_pb2_grpc.UserServiceStub(channel),
            pid=stack.processes["usersvc"].pid,
            database_url=url,
        )

    yield start
    for stack, channel, url in started:
        channel.close()
        stack.stop_all()
        database.drop_database(database_server_url, url)
