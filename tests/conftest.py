"""What every suite may use: `figures`, for the measurements a test prints (the chaos
and replica suites' recovery times, rates and delays). They are gathered under
"measured figures" at the end of pytest's output, whether output is captured or not."""

from collections.abc import Callable

import pytest

FIGURES: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("measured figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture
def figures() -> Callable[[str], None]:
    """Adds a line to the figures printed at the end of the run."""
    return FIGURES.append
