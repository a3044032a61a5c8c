"""Liveness and readiness from heartbeats (runtime.probes), and the HTTP endpoint
that reports them beside the metrics."""

import re
import time

import httpx
import pytest

from runtime.launcher import free_address
from runtime.probes import Heartbeat, Probes, serve_probes


def test_a_heartbeat_is_stale_before_its_first_beat_and_after_its_bound() -> None:
    heartbeat = Heartbeat("loop", max_age_seconds=0.05)
    assert not heartbeat.fresh()
    heartbeat.beat()
    assert heartbeat.fresh()
    time.sleep(0.1)
    assert not heartbeat.fresh()
    assert heartbeat.age_seconds() >= 0.1


def test_liveness_fails_on_a_stale_heartbeat_but_not_on_a_stopped_one() -> None:
    loop = Heartbeat("claim_loop", max_age_seconds=0.05)
    probes = Probes(liveness=[loop], readiness=[])
    loop.beat()
    assert probes.live() == (True, "ok\n")
    time.sleep(0.1)
    alive, report = probes.live()
    assert not alive
    assert re.fullmatch(r"claim_loop: last beat \d+\.\ds ago, over 0\.05s\n", report), report
    # Draining on SIGTERM: no beats, and no restart for it.
    loop.stop()
    assert probes.live() == (True, "ok\n")


def test_readiness_fails_on_a_stale_or_stopped_heartbeat() -> None:
    database = Heartbeat("database", max_age_seconds=10)
    probes = Probes(liveness=[], readiness=[database])
    assert probes.ready()[0] is False
    database.beat()
    assert probes.ready() == (True, "ok\n")
    database.stop()
    assert probes.ready() == (False, "database: stopped\n")


@pytest.fixture(scope="module")
def served() -> tuple[str, Heartbeat]:
    loop = Heartbeat("served_loop", max_age_seconds=30)
    address = free_address()
    serve_probes(
        int(address.rpartition(":")[2]), Probes(liveness=[loop], readiness=[loop]), host="127.0.0.1"
    )
    return f"http://{address}", loop


def test_the_endpoint_answers_503_with_the_report_then_200(served: tuple[str, Heartbeat]) -> None:
    url, loop = served
    stale = httpx.get(f"{url}/livez")
    assert stale.status_code == 503
    assert stale.text.startswith("served_loop: ")
    assert stale.headers["cache-control"] == "no-store"
    loop.beat()
    assert httpx.get(f"{url}/livez").status_code == 200
    assert httpx.get(f"{url}/readyz").text == "ok\n"


def test_every_other_path_serves_the_metrics(served: tuple[str, Heartbeat]) -> None:
    url, _ = served
    metrics = httpx.get(f"{url}/metrics")
    assert metrics.status_code == 200
    assert 'neutone_heartbeat_age_seconds{heartbeat="served_loop"}' in metrics.text
