"""Runs the whole system on one machine (`make up`) and, for tests, any part of it.

Each service runs as its own process, exactly as in production, configured only
through NEUTONE_ environment variables; this module just supplies development
keys and the embedded PostgreSQL, migrates, starts, and stops them."""

import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO

import grpc
import httpx
import tritonclient.grpc as triton
from grpc_health.v1 import health_pb2, health_pb2_grpc

from runtime import database, keys
from runtime.identity import IdentityIssuer, IdentityVerifier
from runtime.keys import TRUSTED_KEYS_FILE, SigningKey, TrustedKeys, key_path
from runtime.settings import DatabaseSettings, load_settings


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    # The command, after `python`, that runs it.
    command: tuple[str, ...]
    # The settings field that holds where it serves gRPC health; None for a
    # process without a gRPC server (the generation worker, Triton).
    address_setting: str | None = None
    # For an HTTP server (the gateway): the path that answers 200 once it serves.
    http_health_path: str | None = None


SERVICES = {
    service.name: service
    for service in (
        Service("triton", ("triton/launch.py",)),
        Service("usersvc", ("-m", "usersvc.server"), "usersvc_address"),
        Service("billingsvc", ("-m", "billingsvc.server"), "billingsvc_address"),
        Service("songsvc", ("-m", "songsvc.server"), "songsvc_address"),
        Service("songsvc-worker", ("-m", "songsvc.worker")),
        Service("gateway", ("-m", "gateway.server"), "gateway_address", "/healthz"),
    )
}
DEFAULT_ADDRESSES = {
    "usersvc_address": "127.0.0.1:50051",
    "songsvc_address": "127.0.0.1:50052",
    "billingsvc_address": "127.0.0.1:50053",
    "gateway_address": "127.0.0.1:8080",
}
DEFAULT_TRITON_URL = "127.0.0.1:8001"
TRITON_START_SECONDS = 300.0


# Ports free_port has handed out in this process.
_handed_out: set[int] = set()
# Processes that take ports side by side (the test suite's parallel workers) each keep to
# their own lane of ports: another process's probe could otherwise be given a port this one
# holds but has not bound yet. Lanes skip the lowest bit, as Linux gives bind() odd ports.
PORT_LANE = "NEUTONE_PORT_LANE"
PORT_LANES = "NEUTONE_PORT_LANES"


def free_port() -> int:
    """A loopback port that is free right now, and never one this process was given
    before: the probe's port is released at once, so the kernel may offer it again, and a
    stack's addresses are all taken before its processes bind them (a gateway once got its
    own Triton's HTTP port, and Triton answered for it)."""
    lane, lanes = int(os.environ.get(PORT_LANE, "0")), int(os.environ.get(PORT_LANES, "1"))
    for _ in range(1000 * lanes):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port // 2 % lanes == lane and port not in _handed_out:
            _handed_out.add(port)
            return port
    raise RuntimeError("no free loopback port that this process was not given before")


def free_address() -> str:
    """127.0.0.1 with a `free_port`."""
    return f"127.0.0.1:{free_port()}"


def wait_until_serving(
    address: str, *, process: subprocess.Popen[bytes], timeout: float = 30.0
) -> None:
    """Blocks until the gRPC health service at `address` reports SERVING."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while True:
            if process.poll() is not None:
                raise TimeoutError(f"the server for {address} exited with {process.returncode}")
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


def wait_until_http_ready(
    url: str, *, process: subprocess.Popen[bytes], timeout: float = 30.0
) -> None:
    """Blocks until `url` answers 200."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise TimeoutError(f"the server for {url} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer in {timeout:.0f}s")
        time.sleep(0.1)


def wait_until_triton_ready(
    url: str, *, process: subprocess.Popen[bytes], timeout: float = TRITON_START_SECONDS
) -> None:
    """Blocks until Triton at `url` is ready (its models loaded and warmed up)."""
    deadline = time.monotonic() + timeout
    with triton.InferenceServerClient(url) as client:
        while True:
            if process.poll() is not None:
                raise TimeoutError(f"triton exited with status {process.returncode}")
            try:
                if client.is_server_ready():
                    return
            except triton.InferenceServerException:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"triton at {url} was not ready in {timeout:.0f}s")
            time.sleep(0.5)


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

    @property
    def triton_url(self) -> str:
        return self.env.get("NEUTONE_TRITON_URL", DEFAULT_TRITON_URL)

    def _triton_ports(self) -> list[str]:
        """Triton's gRPC port from NEUTONE_TRITON_URL; HTTP and metrics beside it, as
        in Triton's defaults (8000, 8001, 8002)."""
        grpc_port = int(self.triton_url.rpartition(":")[2])
        return [
            f"--grpc-port={grpc_port}",
            f"--http-port={self.env.get('NEUTONE_TRITON_HTTP_PORT', grpc_port - 1)}",
            f"--metrics-port={self.env.get('NEUTONE_TRITON_METRICS_PORT', grpc_port + 1)}",
        ]

    def start(self, service: str, *, extra_env: Mapping[str, str] | None = None) -> None:
        output: IO[bytes] | None = None
        if self._log_dir is not None:
            self._log_dir.mkdir(parents=True, exist_ok=True)
            output = open(self._log_dir / f"{service}.log", "ab")  # noqa: SIM115 - lives with the process
        command = [sys.executable, *SERVICES[service].command]
        if service == "triton":
            command += self._triton_ports()
        self.processes[service] = subprocess.Popen(
            command,
            env={**self.env, **(extra_env or {})},
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            # Its own session: a Ctrl-C reaches only the launcher, which stops
            # the services in order.
            start_new_session=True,
        )
        try:
            health_path = SERVICES[service].http_health_path
            if service == "triton":
                wait_until_triton_ready(self.triton_url, process=self.processes[service])
            elif health_path is not None:
                url = f"http://{self.address(service)}{health_path}"
                wait_until_http_ready(url, process=self.processes[service])
            elif SERVICES[service].address_setting is not None:
                wait_until_serving(self.address(service), process=self.processes[service])
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


def _development_key(path: Path) -> str:
    """A random key kept in a file of the data directory; made on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


# The local Triton serves the tiny models, whose ACE-Step is a base checkpoint: it splits
# stems.
LOCAL_MODEL_TIER = {"NEUTONE_STEMS_SUPPORTED": "true"}


def local_model_tier() -> dict[str, str]:
    """LOCAL_MODEL_TIER, unless NEUTONE_MODELS_DIR holds prepared real weights
    (`python -m engines.prepare`): only a base ACE-Step splits stems, and ACE-Step 1.5
    turbo, the usual choice, is not one."""
    models_dir = os.environ.get("NEUTONE_MODELS_DIR")
    config = Path(models_dir, "acestep", "transformer", "config.json") if models_dir else None
    if config is None or not config.is_file():
        return LOCAL_MODEL_TIER
    if not json.loads(config.read_text()).get("is_turbo", False):
        return {"NEUTONE_STEMS_SUPPORTED": "true"}
    # What the acestep model's turbo_max_inference_steps refuses, refused before a charge.
    return {"NEUTONE_STEMS_SUPPORTED": "false", "NEUTONE_MAX_INFERENCE_STEPS": "8"}


def development_env(settings: DatabaseSettings) -> dict[str, str]:
    """What a one-machine run needs beyond the defaults: every principal's identity
    key, the page-token and media-URL keys (all kept, so that tokens and URLs
    outlive a restart) and one database URL shared by all services (the embedded
    server's, unless set)."""
    keys_dir = settings.data_dir / "keys"
    keys.generate(keys_dir)
    return {
        "NEUTONE_KEYS_DIR": str(keys_dir),
        "NEUTONE_PAGE_TOKEN_KEY": os.environ.get("NEUTONE_PAGE_TOKEN_KEY")
        or _development_key(settings.data_dir / "page-token-key"),
        "NEUTONE_OBJECT_STORE__MEDIA_SIGNING_KEY": os.environ.get(
            "NEUTONE_OBJECT_STORE__MEDIA_SIGNING_KEY"
        )
        or _development_key(settings.data_dir / "media-signing-key"),
        "NEUTONE_DATABASE_URL": database.database_url(settings),
        "NEUTONE_LOG_FORMAT": os.environ.get("NEUTONE_LOG_FORMAT", "console"),
        "NEUTONE_PAYMENT_WEBHOOK_SECRET": os.environ.get("NEUTONE_PAYMENT_WEBHOOK_SECRET")
        or development_webhook_secret(),
        **local_model_tier(),
    }


def development_webhook_secret() -> str:
    """A Standard Webhooks secret for the local checkout's payment webhooks; only
    billingsvc signs and verifies them, so a fresh one per run will do."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class StackKeys:
    """A private stack's identity keys (made by `isolated_env`), as its tests and
    benchmarks use them: to sign service tokens as their own client principal or as
    one of the stack's, and to read what usersvc mints."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def issuer(self, principal: str = "tests") -> IdentityIssuer:
        key = SigningKey.load(key_path(self.directory, principal), principal)
        return IdentityIssuer(key, ttl=timedelta(minutes=5))

    def service_token(self, principal: str = "tests") -> str:
        issuer = self.issuer(principal)
        return issuer.mint(issuer.service_identity()).token

    def verifier(self) -> IdentityVerifier:
        return IdentityVerifier(TrustedKeys.load(self.directory / TRUSTED_KEYS_FILE))


def stack_outbox(keys_dir: Path) -> Path:
    """Where a private stack's usersvc writes its mail: beside the stack's keys."""
    return keys_dir.parent / "outbox"


def isolated_env(
    *, database_url: str, keys_dir: Path, clients: Sequence[str] = ()
) -> dict[str, str]:
    """The environment of a private stack (tests, benchmarks): every process on a
    free port, so it never meets another stack on the same machine, with keys of
    its own in `keys_dir`; `clients` are extra principals (a test suite, a
    benchmark) whose service tokens the stack trusts too."""
    keys.generate(keys_dir, [*keys.PRINCIPALS, *clients])
    return {
        "NEUTONE_DATABASE_URL": database_url,
        "NEUTONE_KEYS_DIR": str(keys_dir),
        "NEUTONE_PAGE_TOKEN_KEY": secrets.token_urlsafe(48),
        "NEUTONE_OBJECT_STORE__MEDIA_SIGNING_KEY": secrets.token_urlsafe(48),
        "NEUTONE_USERSVC_ADDRESS": free_address(),
        "NEUTONE_BILLINGSVC_ADDRESS": free_address(),
        "NEUTONE_SONGSVC_ADDRESS": free_address(),
        "NEUTONE_TRITON_URL": free_address(),
        "NEUTONE_TRITON_HTTP_PORT": free_address().rpartition(":")[2],
        "NEUTONE_TRITON_METRICS_PORT": free_address().rpartition(":")[2],
        "NEUTONE_PAYMENT_WEBHOOK_SECRET": development_webhook_secret(),
        "NEUTONE_LOCAL_CHECKOUT_ADDRESS": free_address(),
        "NEUTONE_MAIL__OUTBOX_DIR": str(stack_outbox(keys_dir)),
        # A private stack ends with its run: what a pod drains for in 10 s (streams a
        # client would resume elsewhere) has nobody left to resume it.
        "NEUTONE_SHUTDOWN_GRACE_SECONDS": "1",
        **LOCAL_MODEL_TIER,
    }


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
            if service == "triton":
                print(f"neutone: triton serving gRPC on {stack.triton_url}", flush=True)
            elif service == "gateway":
                print(f"neutone: open http://{stack.address(service)} in a browser", flush=True)
            elif SERVICES[service].address_setting is not None:
                print(f"neutone: {service} serving gRPC on {stack.address(service)}", flush=True)
            if service == "usersvc" and not os.environ.get("NEUTONE_MAIL__SMTP_HOST"):
                outbox = os.environ.get("NEUTONE_MAIL__OUTBOX_DIR") or settings.data_dir / "outbox"
                print(
                    f"neutone: mail (sign-up and password reset links) is written to {outbox}",
                    flush=True,
                )
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
