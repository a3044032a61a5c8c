"""The whole product on one machine, private to one test package: a scratch
database (embedded, or on the server in NEUTONE_TEST_DATABASE_URL), Triton with
the tiny models, every service, the generation worker and the gateway, on free
ports, with the filesystem object store behind the gateway's /media.

`private_product` runs one process of each; `replicated_product` runs several
songsvc, workers and gateways, as a cluster does."""

import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
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
def _scratch(name: str) -> Iterator[tuple[Path, str]]:
    """A temporary directory and a migrated scratch database: (directory, database URL)."""
    with tempfile.TemporaryDirectory(prefix=f"neutone-{name}-") as scratch:
        root = Path(scratch)
        server = os.environ.get("NEUTONE_TEST_DATABASE_URL") or database.embedded_database_url(
            root / "pg"
        )
        url = database.create_scratch_database(server, prefix=f"neutone_{name}")
        database.upgrade(url)
        try:
            yield root, url
        finally:
            database.drop_database(server, url)
            # Before the directory goes: an embedded server must not outlive its data.
            database.stop_embedded_database(root / "pg")


def _product_env(root: Path, database_url: str, *, media_gateway: str) -> dict[str, str]:
    """What every process of the product shares; `media_gateway` is the gateway
    whose /media and /uploads the object store's URLs name."""
    return {
        **isolated_env(
            database_url=database_url, keys_dir=root / "keys", clients=[TESTS_PRINCIPAL]
        ),
        "NEUTONE_DATA_DIR": str(root / "data"),
        "NEUTONE_OBJECT_STORE__MEDIA_BASE_URL": f"http://{media_gateway}/media",
        "NEUTONE_OBJECT_STORE__UPLOAD_BASE_URL": f"http://{media_gateway}/uploads",
        # Cheaper argon2 keeps suites fast; the algorithm and code path are the same.
        "NEUTONE_PASSWORD_TIME_COST": "1",
        "NEUTONE_PASSWORD_MEMORY_KIB": "8192",
        "NEUTONE_WORKER_POLL_SECONDS": "0.5",
        "NEUTONE_WATCH_REFRESH_SECONDS": "1",
    }


def _log_dir(root: Path, name: str) -> Path:
    return Path(os.environ.get("NEUTONE_TEST_LOG_DIR") or root / "logs") / name


@contextmanager
def private_product(
    name: str,
    *,
    services: Sequence[str] = WHOLE_PRODUCT,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Product]:
    with _scratch(name) as (root, url):
        address = free_address()
        env = {
            **_product_env(root, url, media_gateway=address),
            "NEUTONE_GATEWAY_ADDRESS": address,
            **(extra_env or {}),
        }
        stack = Stack(env, log_dir=_log_dir(root, name))
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


@dataclass(frozen=True)
class ReplicatedProduct:
    # One process each: Triton, usersvc and billingsvc.
    shared: Stack
    # One Stack per replica, each running that one process.
    songsvc: tuple[Stack, ...]
    workers: tuple[Stack, ...]
    gateways: tuple[Stack, ...]
    # The origin of the app's pages, which every gateway accepts (one site behind the edge).
    origin: str
    database_url: str
    keys: StackKeys

    @property
    def gateway_urls(self) -> list[str]:
        return [f"http://{gateway.address('gateway')}" for gateway in self.gateways]

    @property
    def outbox(self) -> Path:
        """Where its usersvc writes mail."""
        return stack_outbox(self.keys.directory)


@contextmanager
def replicated_product(
    name: str, *, replicas: int = 2, extra_env: Mapping[str, str] | None = None
) -> Iterator[ReplicatedProduct]:
    """The product with `replicas` songsvc processes, workers and gateways on one
    database, object store and Triton. Callers reach songsvc as a cluster's do: one
    target naming every replica (`ipv4:a,b`), balanced per call. Media URLs name the
    last gateway, so a test that stops replicas should stop earlier ones."""
    with _scratch(name) as (root, url), ExitStack() as stopping:
        songsvc_addresses = [free_address() for _ in range(replicas)]
        gateway_addresses = [free_address() for _ in range(replicas)]
        origin = "http://app.neutone.test"
        env = {
            **_product_env(root, url, media_gateway=gateway_addresses[-1]),
            "NEUTONE_SONGSVC_ADDRESS": "ipv4:" + ",".join(songsvc_addresses),
            "NEUTONE_ALLOWED_ORIGINS": f'["{origin}"]',
            **(extra_env or {}),
        }
        log_dir = _log_dir(root, name)

        def started(service: str, log_name: str, own_env: Mapping[str, str]) -> Stack:
            stack = Stack({**env, **own_env}, log_dir=log_dir / log_name)
            stopping.callback(stack.stop_all)
            stack.start(service)
            return stack

        shared = Stack(env, log_dir=log_dir / "shared")
        stopping.callback(shared.stop_all)
        for service in ("triton", "usersvc", "billingsvc"):
            shared.start(service)
        # Each replica listens on, and is health-checked at, its own address.
        songsvc = tuple(
            started("songsvc", f"songsvc-{index}", {"NEUTONE_SONGSVC_ADDRESS": address})
            for index, address in enumerate(songsvc_addresses)
        )
        workers = tuple(
            started("songsvc-worker", f"worker-{index}", {}) for index in range(replicas)
        )
        gateways = tuple(
            started("gateway", f"gateway-{index}", {"NEUTONE_GATEWAY_ADDRESS": address})
            for index, address in enumerate(gateway_addresses)
        )
        yield ReplicatedProduct(
            shared=shared,
            songsvc=songsvc,
            workers=workers,
            gateways=gateways,
            origin=origin,
            database_url=url,
            keys=StackKeys(root / "keys"),
        )
