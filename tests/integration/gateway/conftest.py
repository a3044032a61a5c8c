"""Gateway fixtures: a private stack (its own scratch database, usersvc,
billingsvc, songsvc on the filesystem store, and the gateway) so that nothing
here disturbs, or depends on, the other suites' processes and queues."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from neutone.v1 import user_service_pb2
from runtime import database
from runtime.launcher import Stack, free_address, isolated_env, stack_outbox
from runtime.objectstore import FilesystemStore
from tests.integration.gateway.grpcweb import Reply, call
from tests.integration.helpers import ONE_CLIENT_FOR_ALL_TESTS, TESTS_PRINCIPAL, mailed_token

# Small enough that the oversized-message tests send little.
MAX_MESSAGE_BYTES = 64 * 1024
# Short enough that a test sees the gateway end a stream.
STREAM_MAX_SECONDS = 3


@dataclass(frozen=True)
class Gateway:
    url: str
    database_url: str
    # An origin the gateway accepts for cookie-authenticated calls.
    origin: str
    webhook_secret: str
    store: FilesystemStore
    stack: Stack
    # Where usersvc's mail goes (sign-up and reset links).
    outbox: Path


@pytest.fixture(scope="session")
def gateway_database(database_server_url: str) -> Iterator[str]:
    url = database.create_scratch_database(database_server_url, prefix="neutone_gateway")
    database.upgrade(url)
    yield url
    database.drop_database(database_server_url, url)


@pytest.fixture(scope="session")
def web_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in for web/dist, so these tests need no JavaScript build."""
    root = tmp_path_factory.mktemp("dist")
    (root / "assets").mkdir()
    (root / "index.html").write_text("<!doctype html><title>Neutone</title><div id=root></div>")
    (root / "assets" / "app-1234.js").write_text("console.log('neutone');\n" * 200)
    return root


@pytest.fixture(scope="session")
def gateway(
    gateway_database: str,
    keys_dir: Path,
    web_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    address = free_address()
    objects = tmp_path_factory.mktemp("objects")
    env = {
        **isolated_env(database_url=gateway_database, keys_dir=keys_dir, clients=[TESTS_PRINCIPAL]),
        "NEUTONE_GATEWAY_ADDRESS": address,
        "NEUTONE_PASSWORD_TIME_COST": "1",
        "NEUTONE_PASSWORD_MEMORY_KIB": "8192",
        **ONE_CLIENT_FOR_ALL_TESTS,
        "NEUTONE_OBJECT_STORE__ROOT": str(objects),
        "NEUTONE_OBJECT_STORE__MEDIA_BASE_URL": f"http://{address}/media",
        "NEUTONE_OBJECT_STORE__UPLOAD_BASE_URL": f"http://{address}/uploads",
        "NEUTONE_WATCH_REFRESH_SECONDS": "0.5",
        "NEUTONE_MAX_MESSAGE_BYTES": str(MAX_MESSAGE_BYTES),
        "NEUTONE_WEB_DIR": str(web_dir),
        # Long enough that a reused reply is seen reused however slow the machine.
        "NEUTONE_PUBLIC_REPLY_SECONDS": "60",
        # Streams through the gateway end after this, whatever the browser asks for.
        "NEUTONE_STREAM_MAX_SECONDS": str(STREAM_MAX_SECONDS),
    }
    log_dir = Path(os.environ.get("NEUTONE_TEST_LOG_DIR") or tmp_path_factory.mktemp("logs"))
    stack = Stack(env, log_dir=log_dir / "gateway-stack")
    secret = env["NEUTONE_PAYMENT_WEBHOOK_SECRET"]
    try:
        for service in ("usersvc", "billingsvc", "songsvc", "gateway"):
            stack.start(service)
        yield Gateway(
            url=f"http://{address}",
            database_url=gateway_database,
            origin=f"http://{address}",
            webhook_secret=secret,
            store=FilesystemStore(
                objects,
                media_base_url=f"http://{address}/media",
                upload_base_url=f"http://{address}/uploads",
                signing_key=env["NEUTONE_OBJECT_STORE__MEDIA_SIGNING_KEY"].encode(),
            ),
            stack=stack,
            outbox=stack_outbox(keys_dir),
        )
    finally:
        stack.stop_all()


@pytest.fixture
async def http(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
        yield client


@dataclass(frozen=True)
class BrowserUser:
    email: str
    password: str
    # The Cookie header a browser would send.
    cookie: str


@pytest.fixture
def sign_up(gateway: Gateway, http: httpx.AsyncClient) -> Callable[[], Awaitable[BrowserUser]]:
    """Signs a new account up through the gateway, as the browser app does."""

    async def make() -> BrowserUser:
        email = f"web-{uuid.uuid4().hex[:12]}@example.com"
        password = "correct horse battery"
        reply = await browser_sign_up(http, gateway, email=email, password=password)
        return BrowserUser(email, password, session_cookie(reply.headers))

    return make


async def browser_sign_up(
    http: httpx.AsyncClient,
    gateway: Gateway,
    *,
    email: str,
    password: str,
    headers: dict[str, str] | None = None,
) -> Reply:
    """SignUp, then the mailed link's ConfirmSignUp, as the browser app makes them;
    the ConfirmSignUp reply (which sets the session cookie)."""
    signed_up = await call(
        http,
        "/neutone.v1.UserService/SignUp",
        user_service_pb2.SignUpRequest(email=email, password=password, display_name="Web"),
        origin=gateway.origin,
        headers=headers,
    )
    assert signed_up.status == 0, signed_up.message
    token = await asyncio.to_thread(mailed_token, gateway.outbox, email, "confirm-sign-up")
    confirmed = await call(
        http,
        "/neutone.v1.UserService/ConfirmSignUp",
        user_service_pb2.ConfirmSignUpRequest(token=token),
        origin=gateway.origin,
        headers=headers,
    )
    assert confirmed.status == 0, confirmed.message
    return confirmed


def session_cookie(headers: httpx.Headers) -> str:
    """The `name=value` of the session cookie a response sets."""
    for value in headers.get_list("set-cookie"):
        if value.startswith("neutone_session="):
            return value.split(";", 1)[0]
    raise AssertionError("no session cookie was set")
