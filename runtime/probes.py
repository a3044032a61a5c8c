"""Liveness and readiness of a process that serves no gRPC (the generation worker),
on its Prometheus metrics port: `/livez` and `/readyz` answer 200 or 503, every
other path the metrics.

Each check is a heartbeat that the work it vouches for renews: a loop that stops
coming round (stuck on a lock, a hung connection, a blocked event loop) lets its
heartbeat go stale while the process still runs and still answers here, since the
endpoint runs on a thread of its own, not on the event loop it watches."""

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import Gauge, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

LIVENESS_PATH = "/livez"
READINESS_PATH = "/readyz"

HEARTBEAT_AGE = Gauge(
    "neutone_heartbeat_age_seconds",
    "Seconds since each heartbeat of this process's probes last beat.",
    ["heartbeat"],
)


class Heartbeat:
    """The last time some work came round; fresh while that was at most `max_age_seconds` ago."""

    def __init__(self, name: str, *, max_age_seconds: float) -> None:
        self.name = name
        self.max_age_seconds = max_age_seconds
        self._last: float | None = None
        self._stopped = False

    def beat(self) -> None:
        self._last = time.monotonic()

    def stop(self) -> None:
        """The work ended on purpose (shutting down): no beats are due any more."""
        self._stopped = True

    @property
    def stopped(self) -> bool:
        return self._stopped

    def age_seconds(self) -> float:
        """Seconds since the last beat; infinite before the first."""
        return float("inf") if self._last is None else time.monotonic() - self._last

    def fresh(self) -> bool:
        return self.age_seconds() <= self.max_age_seconds


class Probes:
    """What `/livez` and `/readyz` report. Alive while every liveness heartbeat is
    fresh or stopped (a process draining its work on SIGTERM is not hung); ready
    while every readiness heartbeat is fresh and none stopped."""

    def __init__(self, *, liveness: Iterable[Heartbeat], readiness: Iterable[Heartbeat]) -> None:
        self.liveness = tuple(liveness)
        self.readiness = tuple(readiness)
        for heartbeat in {*self.liveness, *self.readiness}:
            HEARTBEAT_AGE.labels(heartbeat.name).set_function(heartbeat.age_seconds)

    def live(self) -> tuple[bool, str]:
        stale = [h for h in self.liveness if not h.stopped and not h.fresh()]
        return not stale, _report(stale)

    def ready(self) -> tuple[bool, str]:
        stale = [h for h in self.readiness if h.stopped or not h.fresh()]
        return not stale, _report(stale)


def _report(stale: list[Heartbeat]) -> str:
    if not stale:
        return "ok\n"
    return "".join(
        f"{h.name}: stopped\n"
        if h.stopped
        else f"{h.name}: last beat {h.age_seconds():.1f}s ago, over {h.max_age_seconds:g}s\n"
        for h in stale
    )


class _QuietHandler(WSGIRequestHandler):
    """Probes come every few seconds: no access log line for each."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _app(probes: Probes) -> Callable[..., Iterable[bytes]]:
    metrics = make_wsgi_app()
    checks = {LIVENESS_PATH: probes.live, READINESS_PATH: probes.ready}

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        check = checks.get(environ.get("PATH_INFO", ""))
        if check is None:
            return metrics(environ, start_response)
        ok, report = check()
        start_response(
            "200 OK" if ok else "503 Service Unavailable",
            [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")],
        )
        return [report.encode()]

    return app


def serve_probes(port: int, probes: Probes, *, host: str = "0.0.0.0") -> None:
    """Serves the probes and the metrics on `port` from a daemon thread."""
    server = make_server(
        host, port, _app(probes), server_class=ThreadingWSGIServer, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, name="probes", daemon=True).start()
