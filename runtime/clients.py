"""Channels for calling other Neutone services with this service's identity.

Each outgoing call carries a service identity token (re-minted before it expires),
the current request id, and a timeout no later than the caller's own deadline.

Calls are balanced per call, not per connection: a channel connects to every
address its target resolves to and takes them in turn (`round_robin`). In a
cluster the target is `dns:///<headless Service>:<port>`, which resolves to every
ready pod; servers end each connection after a while (runtime.server,
MAX_CONNECTION_AGE_SECONDS), so a client resolves the name again and finds the
pods an autoscaler added. Locally the target is one `host:port`."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc

from runtime.context import current_call
from runtime.identity import IdentityIssuer, SignedToken
from runtime.interceptors import REQUEST_ID_HEADER
from runtime.server import MAX_MESSAGE_BYTES
from runtime.tracing import client_interceptors

# A server that went away is tried again within 2 s, not after gRPC's default backoff,
# which grows to 2 minutes: calls would fail fast that long after the server came back.
RECONNECT_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 500),
    ("grpc.max_reconnect_backoff_ms", 2000),
)

# Every channel to a Neutone service: one call to each resolved address in turn.
CHANNEL_OPTIONS = (
    ("grpc.lb_policy_name", "round_robin"),
    *RECONNECT_OPTIONS,
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
)


class ServiceCredentials:
    """This service's identity as `Bearer <token>` metadata, minted again a minute
    before the token expires so that one never expires in flight."""

    def __init__(self, issuer: IdentityIssuer) -> None:
        self._issuer = issuer
        self._identity = issuer.service_identity()
        self._token: SignedToken | None = None

    def bearer(self) -> str:
        if self._token is None or self._token.expire_time - datetime.now(UTC) < timedelta(
            minutes=1
        ):
            self._token = self._issuer.mint(self._identity)
        return f"Bearer {self._token.token}"


class _ServiceIdentityInterceptor(
    grpc.aio.UnaryUnaryClientInterceptor, grpc.aio.UnaryStreamClientInterceptor
):
    def __init__(self, credentials: ServiceCredentials, default_timeout: float) -> None:
        self._credentials = credentials
        self._default_timeout = default_timeout

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        metadata["authorization"] = self._credentials.bearer()
        timeout = details.timeout or self._default_timeout
        call = current_call()
        if call is not None:
            metadata[REQUEST_ID_HEADER] = call.request_id
            if call.deadline is not None:
                timeout = min(timeout, call.deadline - asyncio.get_running_loop().time())
        return grpc.aio.ClientCallDetails(
            details.method, timeout, metadata, details.credentials, details.wait_for_ready
        )

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)


def service_channel(
    address: str, *, credentials: ServiceCredentials, default_timeout: float = 10.0
) -> grpc.aio.Channel:
    """One long-lived channel to another service; share it, do not open one per call.
    `address` is any gRPC target: `host:port`, `dns:///name:port`, `ipv4:a:p,b:p`."""
    return grpc.aio.insecure_channel(
        address,
        options=CHANNEL_OPTIONS,
        interceptors=[
            _ServiceIdentityInterceptor(credentials, default_timeout),
            *client_interceptors(),
        ],
    )
