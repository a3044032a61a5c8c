"""The product as a cluster runs it, on one machine: two songsvc processes, two
generation workers and two gateways beside one Triton, usersvc and billingsvc, on
one database and object store. Started once for the package; its tests reach each
replica on its own address."""

from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from tests.abuse.browser import Browser
from tests.integration.helpers import ONE_CLIENT_FOR_ALL_TESTS
from tests.stacks import ReplicatedProduct, replicated_product

# What keeps a change made through one replica from showing at once on the other;
# the tests' bounds are built from these.
FEED_CACHE_SECONDS = 1.0
PUBLIC_REPLY_SECONDS = 1.0
REVOCATION_POLL_SECONDS = 1.0
# Far above any wait in the tests: every WatchSong update they see was sent because
# a notification arrived, never by the periodic refresh.
WATCH_REFRESH_SECONDS = 60.0
# How long after a worker dies its jobs can be claimed again (it renews every third).
JOB_LEASE_SECONDS = 4.0

REPLICATED_ENV = {
    **ONE_CLIENT_FOR_ALL_TESTS,
    "NEUTONE_FEED_CACHE_SECONDS": str(FEED_CACHE_SECONDS),
    "NEUTONE_PUBLIC_REPLY_SECONDS": str(PUBLIC_REPLY_SECONDS),
    "NEUTONE_REVOCATION_POLL_SECONDS": str(REVOCATION_POLL_SECONDS),
    "NEUTONE_WATCH_REFRESH_SECONDS": str(WATCH_REFRESH_SECONDS),
    "NEUTONE_JOB_LEASE_SECONDS": str(JOB_LEASE_SECONDS),
    # Two jobs per worker: a handful of songs keeps both workers busy.
    "NEUTONE_WORKER_CONCURRENCY": "2",
}


@pytest.fixture(scope="package")
def product() -> Iterator[ReplicatedProduct]:
    with replicated_product("scale", extra_env=REPLICATED_ENV) as product:
        yield product


@pytest.fixture
async def gateways(product: ReplicatedProduct) -> AsyncIterator[list[httpx.AsyncClient]]:
    """An HTTP client for each gateway replica, in the product's order."""
    clients = [httpx.AsyncClient(base_url=url, timeout=30) for url in product.gateway_urls]
    yield clients
    for client in clients:
        await client.aclose()


@pytest.fixture
def browser(
    product: ReplicatedProduct, gateways: list[httpx.AsyncClient]
) -> Callable[[int], Browser]:
    """A new browser (no cookie yet) whose calls go to the gateway replica of that index."""

    def make(gateway: int) -> Browser:
        return Browser(http=gateways[gateway], origin=product.origin, outbox=product.outbox)

    return make
