"""The server interceptor every service runs: request ids, identity and access
checks from the contracts' `access` option, deadlines, structured logs,
Prometheus metrics, and the mapping of `ServiceError` to rich gRPC statuses."""

import asyncio
import functools
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import grpc
import sqlalchemy.exc
import structlog
from google.protobuf.descriptor import FileDescriptor
from google.protobuf.message import DecodeError
from prometheus_client import Counter, Histogram

from neutone.v1 import access_pb2
from runtime.context import CallContext, _current_call
from runtime.errors import (
    DeadlineExceeded,
    InvalidArgument,
    PermissionDenied,
    ServiceError,
    Unauthenticated,
    Unavailable,
)
from runtime.identity import Identity, IdentityVerifier, InvalidToken

log = structlog.get_logger()

REQUESTS = Counter(
    "neutone_grpc_server_handled_total", "RPCs completed by the server.", ["method", "code"]
)
LATENCY = Histogram(
    "neutone_grpc_server_handling_seconds",
    "Time to complete an RPC (to the last message for streams).",
    ["method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


# Each method's (and code's) child of the metrics, looked up once: `labels()` takes a
# lock and builds its key on every call.
@functools.cache
def _handled(method: str, code: grpc.StatusCode) -> Counter:
    return REQUESTS.labels(method, code.name)


@functools.cache
def _handling_seconds(method: str) -> Histogram:
    return LATENCY.labels(method)


REQUEST_ID_HEADER = "x-request-id"
# The end client's address, as a trusted proxy (the gateway) saw it...
CLIENT_ADDRESS_HEADER = "x-forwarded-for"
# ...believed only beside that proxy's own service identity token, here because
# `authorization` carries the user's identity on a browser's call.
PROXY_AUTHORIZATION_HEADER = "x-neutone-proxy-authorization"
Access = access_pb2.Access.ValueType
# New request ids: a random prefix per process and a counter, unique without a
# call to the kernel's random source per request (uuid4 took 0.1 ms of CPU here).
_PROCESS_ID = uuid.uuid4().hex[:16]
_CALLS = itertools.count()


def new_request_id() -> str:
    return f"{_PROCESS_ID}{next(_CALLS):016x}"


def access_levels(*files: FileDescriptor) -> dict[str, Access]:
    """Maps each full method name ("/neutone.v1.UserService/SignUp") to its access level."""
    levels: dict[str, Access] = {}
    for file in files:
        for service in file.services_by_name.values():
            for method in service.methods:
                level = method.GetOptions().Extensions[access_pb2.access]
                levels[f"/{service.full_name}/{method.name}"] = level
    return levels


@dataclass(frozen=True, slots=True)
class _Malformed:
    type_name: str


def _tolerant(deserialize: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    """Lets undecodable request bytes reach the handler wrapper, which refuses them
    as INVALID_ARGUMENT; grpc itself would answer UNKNOWN."""
    message_type = getattr(deserialize, "__self__", None)
    type_name = message_type.DESCRIPTOR.full_name if message_type else "request"

    def parse(data: bytes) -> Any:
        try:
            return deserialize(data)
        except DecodeError:
            return _Malformed(type_name)

    return parse


def _refuse_if_malformed(request: object) -> None:
    if isinstance(request, _Malformed):
        raise InvalidArgument({"request": f"is not a valid {request.type_name} message"})


def peer_host(peer: str) -> str:
    """The host of a gRPC peer ("ipv4:203.0.113.9:51234", "ipv6:[2001:db8::1]:443"),
    without the port, so that one host is one client whichever port it calls from;
    other kinds of peer (unix sockets) as they are."""
    kind, _, address = peer.partition(":")
    if kind in ("ipv4", "ipv6"):
        host, _, _port = unquote(address).rpartition(":")
        return host.removeprefix("[").removesuffix("]")
    return peer


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    def __init__(
        self,
        *,
        verifier: IdentityVerifier,
        access: Mapping[str, Access],
        default_deadline_seconds: float,
        trusted_proxies: Collection[str] = (),
    ) -> None:
        self._verifier = verifier
        self._access = dict(access)
        self._default_deadline = default_deadline_seconds
        # Services whose word about the end client's address is believed.
        self._trusted_proxies = frozenset(trusted_proxies)
        # Each method's handler and its wrapped one, made on its first call: the
        # server asks for the handler on every call, and gets the same one each time.
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        method = details.method
        # Health checks and reflection are not Neutone methods: they pass untouched.
        if handler is None or method not in self._access:
            return handler
        wrapped = self._wrapped.get(method)
        if wrapped is None or wrapped[0] is not handler:
            wrapped = (handler, self._wrap(method, handler))
            self._wrapped[method] = wrapped
        return wrapped[1]

    def _wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        deserializer = _tolerant(handler.request_deserializer)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._wrap_unary(method, handler.unary_unary),
                request_deserializer=deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._wrap_stream(method, handler.unary_stream),
                request_deserializer=deserializer,
                response_serializer=handler.response_serializer,
            )
        raise NotImplementedError(f"{method}: only unary and server-streaming RPCs are used")

    def _wrap_unary(self, method: str, behaviour: Callable[..., Awaitable[Any]]) -> Callable:
        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            call = _current_call.set(None)
            try:
                authorized = self._authorize(method, context, self._default_deadline)
                _current_call.set(authorized)
                _refuse_if_malformed(request)
                async with asyncio.timeout_at(authorized.deadline):
                    return await behaviour(request, context)
            except Exception as error:  # every failure becomes a status
                status = self._status_of(error)
                code = status.code
                await context.abort(status.code, status.details, status.trailing_metadata)
            finally:
                self._finish(method, code, started)
                _current_call.reset(call)

        return unary

    def _wrap_stream(self, method: str, behaviour: Callable[..., AsyncIterator[Any]]) -> Callable:
        async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            call = _current_call.set(None)
            try:
                # Streams (WatchSong) may rightly outlive the default deadline.
                _current_call.set(self._authorize(method, context, None))
                _refuse_if_malformed(request)
                async for response in behaviour(request, context):
                    yield response
            except Exception as error:  # every failure becomes a status
                status = self._status_of(error)
                code = status.code
                await context.abort(status.code, status.details, status.trailing_metadata)
            finally:
                self._finish(method, code, started)
                _current_call.reset(call)

        return stream

    def _authorize(
        self, method: str, context: grpc.aio.ServicerContext, default_deadline: float | None
    ) -> CallContext:
        """Identifies the caller and checks the method's access level."""
        metadata = {key: value for key, value in context.invocation_metadata() or ()}
        request_id = metadata.get(REQUEST_ID_HEADER) or new_request_id()
        structlog.contextvars.bind_contextvars(request_id=request_id, method=method)
        remaining = context.time_remaining()
        if remaining is None:
            remaining = default_deadline
        identity = self._identity(metadata.get("authorization", ""))
        self._check_access(method, identity)
        return CallContext(
            method=method,
            request_id=request_id,
            identity=identity,
            deadline=None if remaining is None else asyncio.get_running_loop().time() + remaining,
            client_address=self._client_address(metadata, context),
        )

    def _client_address(
        self, metadata: Mapping[str, str], context: grpc.aio.ServicerContext
    ) -> str:
        """The end client's address: the one a trusted proxy forwarded, when the call
        carries that proxy's service identity; otherwise the caller's own (anyone can
        send x-forwarded-for, so it alone proves nothing)."""
        proxy = metadata.get(PROXY_AUTHORIZATION_HEADER)
        forwarded = metadata.get(CLIENT_ADDRESS_HEADER, "").split(",")[0].strip()
        if proxy is not None:
            identity = self._verify(proxy, header=PROXY_AUTHORIZATION_HEADER)
            if not (identity.is_service and identity.subject in self._trusted_proxies):
                raise PermissionDenied(
                    f"{identity.kind.value} {identity.subject} is not a trusted proxy"
                )
            if forwarded:
                return forwarded
        return peer_host(context.peer())

    def _identity(self, authorization: str) -> Identity | None:
        if not authorization:
            return None
        return self._verify(authorization, header="authorization")

    def _verify(self, bearer: str, *, header: str) -> Identity:
        scheme, _, token = bearer.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated(f"{header} metadata must be 'Bearer <identity token>'")
        try:
            return self._verifier.verify(token)
        except InvalidToken as error:
            raise Unauthenticated(
                f"the identity token in {header} is invalid or expired"
            ) from error

    def _check_access(self, method: str, identity: Identity | None) -> None:
        level = self._access[method]
        if level == access_pb2.ACCESS_PUBLIC:
            return
        if identity is None:
            raise Unauthenticated("this method requires an identity token")
        if level == access_pb2.ACCESS_USER and identity.is_user:
            return
        if level == access_pb2.ACCESS_SERVICE and identity.is_service:
            return
        raise PermissionDenied(f"{identity.kind.value} callers may not call {method}")

    def _status_of(self, error: Exception) -> grpc.Status:
        if isinstance(error, grpc.aio.AbortError):
            raise error  # the handler aborted by itself; its status stands
        if isinstance(error, ServiceError):
            log.info("rpc refused", code=error.code.name, message=error.message)
            return error.to_status()
        if isinstance(error, TimeoutError):
            return DeadlineExceeded("deadline exceeded").to_status()
        if isinstance(error, sqlalchemy.exc.OperationalError):
            # The database is away (restarting, failing over): the call may be tried again.
            log.warning("rpc failed: the database is unavailable", error=str(error.orig))
            return Unavailable("the database is unavailable; try again shortly").to_status()
        log.exception("rpc failed")
        return ServiceError("internal error").to_status()

    def _finish(self, method: str, code: grpc.StatusCode, started: float) -> None:
        elapsed = time.perf_counter() - started
        _handled(method, code).inc()
        _handling_seconds(method).observe(elapsed)
        log.info("rpc", code=code.name, ms=round(elapsed * 1000, 2))
        structlog.contextvars.unbind_contextvars("request_id", "method")
