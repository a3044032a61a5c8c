"""The whole product on one machine for browser tests: a scratch database,
Triton with the tiny models, every service, the generation worker and the
gateway serving the built app (web/dist), driven by Debian's chromium.

Nothing is shared with the integration suites: its own database (so no other
suite's worker takes its jobs) and its own ports."""

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.integration.helpers import ONE_CLIENT_FOR_ALL_TESTS
from tests.stacks import Product, private_product

REPO = Path(__file__).resolve().parents[2]
WEB_DIST = REPO / "web" / "dist"
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"


# Package scope: the product and the browser (whose sync API keeps an event loop
# running in this thread) are gone before the next test package starts.
@pytest.fixture(scope="package")
def product() -> Iterator[Product]:
    if not (WEB_DIST / "index.html").is_file():
        pytest.fail("the browser app is not built: run `make setup` (it runs `npm run build`)")
    # The browser signs up from this machine again and again.
    with private_product("e2e", extra_env=ONE_CLIENT_FOR_ALL_TESTS) as product:
        yield product


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


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keeps each phase's report on the test, for `screenshots_on_failure`."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def screenshots_on_failure(
    request: pytest.FixtureRequest, browser: Browser, artifacts: Path
) -> Iterator[None]:
    """Every open page as it was when a test failed: what the browser showed."""
    yield
    report = getattr(request.node, "report_call", None)
    if report is None or not report.failed:
        return
    for context_number, context in enumerate(browser.contexts):
        for page_number, page in enumerate(context.pages):
            page.screenshot(
                path=artifacts / f"failure-{request.node.name}-{context_number}-{page_number}.png",
                full_page=True,
            )
