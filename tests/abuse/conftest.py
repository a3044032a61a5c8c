"""The abuse suite's platform: the whole product, private to this package (its
own database, ports and processes), attacked through the gateway as a browser
would and directly on the service ports as an internal caller would."""

from collections.abc import AsyncIterator, Callable, Iterator

import grpc
import httpx
import pytest

from tests.abuse.browser import Browser
from tests.stacks import Product, private_product

# Quick retries and deliveries keep fault scenarios short.
PLATFORM_ENV = {
    "NEUTONE_JOB_RETRY_BASE_SECONDS": "0.5",
    "NEUTONE_JOB_RETRY_MAX_SECONDS": "2",
    "NEUTONE_CREDIT_RELEASE_POLL_SECONDS": "0.5",
    "NEUTONE_CREDIT_RELEASE_RETRY_MAX_SECONDS": "1",
}


@pytest.fixture(scope="package")
def platform() -> Iterator[Product]:
    with private_product("abuse", extra_env=PLATFORM_ENV) as product:
        yield product


@pytest.fixture
async def http(platform: Product) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as client:
        yield client


CLIENT_ADDRESSES = (f"10.11.{high}.{low}" for high in range(256) for low in range(1, 255))


@pytest.fixture
def browser(platform: Product, http: httpx.AsyncClient) -> Callable[..., Browser]:
    """A new browser (no cookie yet) at an address of its own, as the edge proxy
    reports it, so every limit applies as it would to people on the internet."""

    def make(*, forwarded_for: str | None = None) -> Browser:
        address = forwarded_for or next(CLIENT_ADDRESSES)
        return Browser(
            http=http, origin=platform.url, outbox=platform.outbox, forwarded_for=address
        )

    return make


@pytest.fixture(scope="package")
def channels(platform: Product) -> Iterator[dict[str, grpc.Channel]]:
    """Direct gRPC channels to each service's port, as an internal caller has."""
    opened = {
        service: grpc.insecure_channel(platform.stack.address(service))
        for service in ("usersvc", "billingsvc", "songsvc")
    }
    yield opened
    for channel in opened.values():
        channel.close()
