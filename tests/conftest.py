"""What every suite shares.

- `figures`, for the measurements a test prints (the chaos and replica suites' recovery
  times, rates and delays; the e2e audits' scores). They are gathered under "measured
  figures" at the end of pytest's output, whether output is captured or not, and from
  every worker when the suite runs in parallel.
- The parallel run (`make test`: pytest-xdist, two workers on two cores): the tests that
  share a stack run in one worker, so that no stack is started twice, and the suites
  start longest first."""

import os
from collections.abc import Callable

import pytest
from xdist.scheduler import LoadScopeScheduling

from runtime.launcher import PORT_LANE, PORT_LANES

FIGURE = "measured figure"
# Suites whose tests share one stack (package- or session-scoped fixtures), by folder,
# longest first. The integration suites share the session's main stack; the model tier
# has its own servers. Tests elsewhere need no stack and go one by one.
STACK_GROUPS = (
    ("tests/integration/model_tier/", "model_tier"),
    ("tests/integration/", "integration"),
    ("tests/chaos/", "chaos"),
    ("tests/e2e/", "e2e"),
    ("tests/abuse/", "abuse"),
    ("tests/scale/", "scale"),
    ("tests/tracing/", "tracing"),
)
LONGEST_FIRST = ("integration", "chaos", "e2e", "abuse", "scale", "model_tier", "tracing")


def stack_group(nodeid: str) -> str | None:
    for folder, group in STACK_GROUPS:
        if nodeid.startswith(folder):
            return group
    return None


class StackGroupScheduling(LoadScopeScheduling):
    """xdist's per-scope scheduling with the stack groups as scopes (its own loadgroup
    marks no longer reach the scheduler under pytest 9)."""

    def _split_scope(self, nodeid: str) -> str:
        return stack_group(nodeid) or nodeid


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> LoadScopeScheduling:
    return StackGroupScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Scopes are handed out in collection order (with --no-loadscope-reorder).
    def rank(item: pytest.Item) -> int:
        group = stack_group(item.nodeid)
        return LONGEST_FIRST.index(group) if group else len(LONGEST_FIRST)

    items.sort(key=rank)


def pytest_configure(config: pytest.Config) -> None:
    # Set in each parallel worker by pytest-xdist: "gw0", "gw1", ...
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is not None:
        os.environ[PORT_LANE] = worker.removeprefix("gw")
        os.environ[PORT_LANES] = os.environ["PYTEST_XDIST_WORKER_COUNT"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Each test's last report (its teardown's) carries all its figures, from whichever
    # worker ran it.
    lines = [
        value
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "teardown"
        for name, value in getattr(report, "user_properties", ())
        if name == FIGURE
    ]
    if lines:
        terminalreporter.section("measured figures")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def figures(record_property: Callable[[str, object], None]) -> Callable[[str], None]:
    """Adds a line to the figures printed at the end of the run."""
    return lambda line: record_property(FIGURE, line)
