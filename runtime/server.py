"""The one gRPC server bootstrap: interceptors, the standard health service,
reflection, metrics, and graceful shutdown on SIGTERM/SIGINT."""

import asyncio
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import grpc
import structlog
from google.protobuf.descriptor import FileDescriptor
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import start_http_server

from runtime.database import Database
from runtime.identity import IdentityVerifier, load_trusted_keys
from runtime.interceptors import ServiceInterceptor, access_levels
from runtime.revocations import Revocations
from runtime.settings import DataServiceSettings
from runtime.tracing import server_interceptors

log = structlog.get_logger()

MAX_MESSAGE_BYTES = 8 * 1024 * 1024
# Each client connection is ended (GOAWAY) after about this long, so that clients
# resolve the service's name again and spread calls over pods added since
# (runtime.clients). Calls in flight, WatchSong streams too, finish on the old
# connection: the grace after GOAWAY is left unbounded.
MAX_CONNECTION_AGE_SECONDS = 120


@dataclass(frozen=True, slots=True)
class GrpcService:
    """A servicer and how to register it; `file` is the *_service_pb2.DESCRIPTOR."""

    file: FileDescriptor
    name: str
    servicer: object
    register: Callable[[Any, grpc.aio.Server], None]


async def run_server(
    *,
    settings: DataServiceSettings,
    database: Database,
    address: str,
    services: Sequence[GrpcService],
    on_shutdown: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Serves until SIGTERM or SIGINT, then drains in-flight calls and cleans up."""
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=address.rpartition(":")[0] or "0.0.0.0")
    revocations = Revocations(
        database,
        token_ttl=timedelta(seconds=settings.identity_token_ttl_seconds),
        poll_seconds=settings.revocation_poll_seconds,
    )
    # Complete before the first call: a token revoked a minute ago is refused at once.
    await revocations.poll()
    following = asyncio.create_task(revocations.run())
    server = grpc.aio.server(
        interceptors=[
            *server_interceptors(),
            ServiceInterceptor(
                verifier=IdentityVerifier(
                    load_trusted_keys(settings), revoked=revocations.__contains__
                ),
                access=access_levels(*(service.file for service in services)),
                default_deadline_seconds=settings.default_deadline_seconds,
                trusted_proxies=settings.trusted_proxy_services,
            ),
        ],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_connection_age_ms", MAX_CONNECTION_AGE_SECONDS * 1000),
        ],
    )
    for service in services:
        service.register(service.servicer, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [service.name for service in services]
    reflection.enable_server_reflection(
        [*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    if server.add_insecure_port(address) == 0:
        raise SystemExit(f"cannot listen on {address}")
    await server.start()
    for name in ["", *names]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("serving", address=address, services=names)

    async def shut_down(signum: signal.Signals) -> None:
        log.info("shutting down", signal=signum.name)
        # Report NOT_SERVING first so load balancers stop sending new calls.
        await health_servicer.enter_graceful_shutdown()
        await server.stop(settings.shutdown_grace_seconds)

    loop = asyncio.get_running_loop()
    shutdown_tasks: list[asyncio.Task[None]] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(
            signum, lambda s=signum: shutdown_tasks.append(asyncio.create_task(shut_down(s)))
        )
    await server.wait_for_termination()
    await asyncio.gather(*shutdown_tasks)
    following.cancel()
    if on_shutdown is not None:
        await on_shutdown()
    log.info("stopped")
