"""The whole product on one machine for browser tests: a scratch database,
Triton with the tiny models, every service, the generation worker and the
gateway serving the built app (web/dist), driven by Debian's chromium.

Nothing is shared with the integration suites: its own database (so no other
suite's worker takes its jobs) and its own ports."""

import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from runtime import database
from runtime.launcher import Stack, free_address, isolated_env
from tests.integration.helpers import ONE_CLIENT_FOR_ALL_TESTS

REPO = Path(__file__).resolve().parents[2]
WEB_DIST = REPO / "web" / "dist"
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"
# In the order the launcher starts them: the worker needs Triton, the gateway the rest.
SERVICES = ("triton", "usersvc", "billingsvc", "songsvc", "songsvc-worker", "gateway")


@dataclass(frozen=True)
class Product:
    url: str
    stack: Stack


# Package scope: the product and the browser (whose sync API keeps an event loop
# running in this thread) are gone before the next test package starts.
@pytest.fixture(scope="package")
def product() -> Iterator[Product]:
    if not (WEB_DIST / "index.html").is_file():
        pytest.fail("the browser app is not built: run `make setup` (it runs `npm run build`)")
    with tempfile.TemporaryDirectory(prefix="neutone-e2e-") as scratch:
        root = Path(scratch)
        server = os.environ.get("NEUTONE_TEST_DATABASE_URL") or database.embedded_database_url(
            root / "pg"
        )
        url = database.create_scratch_database(server, prefix="neutone_e2e")
        database.upgrade(url)
        address = free_address()
        env = {
            **isolated_env(database_url=url, identity_key=secrets.token_urlsafe(48)),
            "NEUTONE_GATEWAY_ADDRESS": address,
            "NEUTONE_DATA_DIR": str(root / "data"),
            "NEUTONE_OBJECT_STORE__MEDIA_BASE_URL": f"http://{address}/media",
            "NEUTONE_PASSWORD_TIME_COST": "1",
            "NEUTONE_PASSWORD_MEMORY_KIB": "8192",
            **ONE_CLIENT_FOR_ALL_TESTS,
            "NEUTONE_WORKER_POLL_SECONDS": "0.5",
            "NEUTONE_WATCH_REFRESH_SECONDS": "1",
        }
        log_dir = Path(os.environ.get("NEUTONE_TEST_LOG_DIR") or root / "logs")
        stack = Stack(env, log_dir=log_dir / "e2e")
        try:
            for service in SERVICES:
                stack.start(service)
            yield Product(url=f"http://{address}", stack=stack)
        finally:
            stack.stop_all()
            database.drop_database(server, url)
            # Before the directory goes: an embedded server must not outlive its data.
            database.stop_embedded_database(root / "pg")


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `make setup` (scripts/setup-system installs it)")
    with sync_playwright() as playwright:
        # Debian's chromium, never a downloaded browser (`playwright install` is not run).
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go (git-ignored)."""
    path = ARTIFACTS / "e2e"
    path.mkdir(parents=True, exist_ok=True)
    return path
