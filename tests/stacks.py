"""The whole product on one machine, private to one test package: a scratch
database (embedded, or on the server in NEUTONE_TEST_DATABASE_URL), Triton with
the tiny models, every service, the generation worker and the gateway, on free
ports, with the filesystem object store behind the gateway's /media."""

import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from runtime import database
from runtime.launcher import Stack, free_address, isolated_env, stack_outbox
from tests.integration.helpers import TESTS_PRINCIPAL, StackKeys

# In the order the launcher starts them: the worker needs Triton, the gateway the rest.
WHOLE_PRODUCT = ("triton", "usersvc", "billingsvc", "songsvc", "songsvc-worker", "gateway")


@dataclass(frozen=True)
class Product:
    # The gateway, as browsers reach it.
    url: str
    stack: Stack
    database_url: str
    # Where the filesystem object store keeps its files.
    objects: Path
    keys: StackKeys

    @property
    def outbox(self) -> Path:
        """Where its usersvc writes mail."""
        return stack_outbox(self.keys.directory)


@contextmanager
def private_product(
    name: str,
    *,
    services: Sequence[str] = WHOLE_PRODUCT,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Product]:
    with tempfile.TemporaryDirectory(prefix=f"neutone-{name}-") as scratch:
        root = Path(scratch)
        server = os.environ.get("NEUTONE_TEST_DATABASE_URL") or database.embedded_database_url(
            root / "pg"
        )
        url = database.create_scratch_database(server, prefix=f"neutone_{name}")
        database.upgrade(url)
        address = free_address()
        env = {
            **isolated_env(database_url=url, keys_dir=root / "keys", clients=[TESTS_PRINCIPAL]),
            "NEUTONE_GATEWAY_ADDRESS": address,
            "NEUTONE_DATA_DIR": str(root / "data"),
            "NEUTONE_OBJECT_STORE__MEDIA_BASE_URL": f"http://{address}/media",
            "NEUTONE_OBJECT_STORE__UPLOAD_BASE_URL": f"http://{address}/uploads",
            # Cheaper argon2 keeps suites fast; the algorithm and code path are the same.
            "NEUTONE_PASSWORD_TIME_COST": "1",
            "NEUTONE_PASSWORD_MEMORY_KIB": "8192",
            "NEUTONE_WORKER_POLL_SECONDS": "0.5",
            "NEUTONE_WATCH_REFRESH_SECONDS": "1",
            **(extra_env or {}),
        }
        log_dir = Path(os.environ.get("NEUTONE_TEST_LOG_DIR") or root / "logs")
        stack = Stack(env, log_dir=log_dir / name)
        try:
            for service in services:
                stack.start(service)
            yield Product(
                url=f"http://{address}",
                stack=stack,
                database_url=url,
                objects=root / "data" / "objects",
                keys=StackKeys(root / "keys"),
            )
        finally:
            stack.stop_all()
            database.drop_database(server, url)
            # Before the directory goes: an embedded server must not outlive its data.
            database.stop_embedded_database(root / "pg")
