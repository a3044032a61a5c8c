"""Runs the whole system on one machine (`make up`) and, for tests, any part of it.

Each service runs as its own process, exactly as in production, configured only
through NEUTONE_ environment variables; this module just supplies a development
identity key and the embedded PostgreSQL, migrates, starts, and stops them."""

import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from runtime import database
from runtime.settings import DatabaseSettings, load_settings


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    module: str
    # The settings field that holds where it serves gRPC; None for a process
    # without a server (the generation worker).
    address_setting: str | None


SERVICES = {
    service.name: service
    for service in (
        Service("usersvc", "usersvc.server", "usersvc_address"),
    )
}
DEFAULT_ADDRESSES = {
    "usersvc_address": "127.0.0.1:50051",
}


def free_address() -> str:
    """A loopback address with a port that is free right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def wait_until_serving(address: str, *, timeout: float = 30.0) -> None:
    """Blocks until the gRPC health service at `address` reports SERVING."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                reply = health.Check(
                    health_pb2.HealthCheckRequest(), timeout=1, wait_for_ready=True
                )
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{address} did not become healthy in {timeout:.0f}s")
            time.sleep(0.1)


class Stack:
    """A group of service processes sharing one environment."""

    def __init__(self, env: Mapping[str, str], *, log_dir: Path | None = None) -> None:
        self.env = {**os.environ, **env}
        self._log_dir = log_dir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def address(self, service: str) -> str:
        setting = SERVICES[service].address_setting
        if setting is None:
            raise ValueError(f"{service} serves no gRPC")
        return self.env.get(f"NEUTONE_{setting.upper()}", DEFAULT_ADDRESSES[setting])

    def start(self, service: str, *, extra_env: Mapping[str, str] | None = None) -> None:
        output: IO[bytes] | None = None
        if self._log_dir is not None:
            self._log_dir.mkdir(parents=True, exist_ok=True)
            output = open(self._log_dir / f"{service}.log", "ab")  # noqa: SIM115 - lives with the process
        self.processes[service] = subprocess.Popen(
            [sys.executable, "-m", SERVICES[service].module],
            env={**self.env, **(extra_env or {})},
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            # Its own session: a Ctrl-C reaches only the launcher, which stops
            # the services in order.
            start_new_session=True,
        )
        if SERVICES[service].address_setting is None:
            return
        try:
            wait_until_serving(self.address(service))
        except TimeoutError:
            self.stop(service)
            raise

    def ensure_started(self, service: str, *, extra_env: Mapping[str, str] | None = None) -> None:
        if service not in self.processes:
            self.start(service, extra_env=extra_env)

    def stop(self, service: str, *, sig: signal.Signals = signal.SIGTERM) -> int:
        process = self.processes.pop(service)
        process.send_signal(sig)
        try:
            return process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    def stop_all(self) -> None:
        for service in reversed(list(self.processes)):
            self.stop(service)


def development_env(settings: DatabaseSettings) -> dict[str, str]:
    """What a one-machine run needs beyond the defaults: a fresh identity key and
    one database URL shared by all services (the embedded server's, unless set)."""
    return {
        "NEUTONE_IDENTITY_KEY": os.environ.get("NEUTONE_IDENTITY_KEY") or secrets.token_urlsafe(48),
        "NEUTONE_DATABASE_URL": database.database_url(settings),
        "NEUTONE_LOG_FORMAT": os.environ.get("NEUTONE_LOG_FORMAT", "console"),
        "NEUTONE_PAYMENT_WEBHOOK_SECRET": os.environ.get("NEUTONE_PAYMENT_WEBHOOK_SECRET")
        or development_webhook_secret(),
    }


def development_webhook_secret() -> str:
    """A Standard Webhooks secret for the local checkout's payment webhooks; only
    billingsvc signs and verifies them, so a fresh one per run will do."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def main() -> None:
    settings = load_settings(DatabaseSettings)
    env = development_env(settings)
    database.upgrade(env["NEUTONE_DATABASE_URL"])
    stack = Stack(env)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        for service in SERVICES:
            stack.start(service)
            if SERVICES[service].address_setting is not None:
                print(f"neutone: {service} serving gRPC on {stack.address(service)}", flush=True)
        print("neutone: running; Ctrl-C stops everything", flush=True)
        while not stopping.wait(0.5):
            exited = [
                name for name, process in stack.processes.items() if process.poll() is not None
            ]
            if exited:
                print(f"neutone: {', '.join(exited)} exited; stopping", file=sys.stderr)
                for name in exited:
                    stack.processes.pop(name)
                raise SystemExit(1)
    finally:
        stack.stop_all()
        print("neutone: stopped", flush=True)


if __name__ == "__main__":
    main()
