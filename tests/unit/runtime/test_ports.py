"""free_port: never a port twice in one process, and only ports of its own lane when
parallel processes (the test suite's workers) take ports side by side."""

import pytest

from runtime import launcher


def test_a_process_is_never_given_a_port_twice() -> None:
    ports = [launcher.free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)


def test_each_parallel_worker_keeps_to_its_own_lane(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(launcher.PORT_LANES, "2")
    for lane in (0, 1):
        monkeypatch.setenv(launcher.PORT_LANE, str(lane))
        assert {launcher.free_port() // 2 % 2 for _ in range(50)} == {lane}
