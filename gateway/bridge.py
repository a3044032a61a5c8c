"""The grpc-web <-> gRPC bridge: one endpoint for every allowed method, moving
request and response bytes without decoding them (only ConfirmSignUp/SignIn responses
are opened, to move the session token into the cookie).

Statuses pass through unchanged, rich details (grpc-status-details-bin) included.
An error before the first response message is sent "trailers-only" (status in the
HTTP headers, empty body), which clients and Envoy's retry policy read without
parsing the body; otherwise the status is in the trailer frame."""

import asyncio
import re
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import grpc
import structlog
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from gateway import grpcweb, sessions
from gateway.grpcweb import Encoding, ProtocolError, Status
from gateway.methods import BridgedMethod
from gateway.metrics import CALL_SECONDS, CALLS
from gateway.public_replies import PublicReplies
from gateway.sessions import Sessions
from runtime.clients import ServiceCredentials
from runtime.interceptors import (
    CLIENT_ADDRESS_HEADER,
    PROXY_AUTHORIZATION_HEADER,
    new_request_id,
)
from runtime.tracing import incoming_http_call

log = structlog.get_logger()

REQUEST_ID_HEADER = "x-request-id"
UNAUTHENTICATED = str(grpc.StatusCode.UNAUTHENTICATED.value[0])
# The end of every successful unary reply, made once.
_OK_TRAILER_FRAME = grpcweb.trailer_frame(grpcweb.OK.trailers())
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


@dataclass(frozen=True, slots=True)
class CookiePolicy:
    name: str
    secure: bool
    # Origins whose pages may make cookie-authenticated calls.
    origins: frozenset[str]


class _Refused(Exception):
    """A call the gateway answers itself, without reaching a service."""

    def __init__(self, status: Status) -> None:
        super().__init__(status.message)
        self.status = status


def _refuse(code: grpc.StatusCode, message: str) -> _Refused:
    return _Refused(Status(code, message))


class Bridge:
    def __init__(
        self,
        *,
        methods: Mapping[str, BridgedMethod],
        channels: Mapping[str, grpc.aio.Channel],
        sessions: Sessions,
        public_replies: PublicReplies,
        cookies: CookiePolicy,
        proxy_credentials: ServiceCredentials,
        max_message_bytes: int,
        default_timeout_seconds: float,
        max_stream_seconds: float,
    ) -> None:
        self._methods = dict(methods)
        # Raw multicallables (no serializers): bytes in, bytes out, built once.
        self._unary = {
            path: channels[method.service].unary_unary(path)
            for path, method in methods.items()
            if not method.server_streaming
        }
        self._streams = {
            path: channels[method.service].unary_stream(path)
            for path, method in methods.items()
            if method.server_streaming
        }
        self._sessions = sessions
        self._public_replies = public_replies
        self._cookies = cookies
        self._proxy_credentials = proxy_credentials
        self._max_message_bytes = max_message_bytes
        self._default_timeout = default_timeout_seconds
        self._max_stream_seconds = max_stream_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The route's ASGI app: a plain one, without the wrapper Starlette puts around
        request/response endpoints on every request (for exception handlers, which
        the bridge does not raise for): 3% of the gateway's CPU per call."""
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        path = request.scope["path"]  # as request.url.path, without building the URL
        # One span per browser call, continuing the page's trace (its `traceparent`);
        # the channels' interceptors carry it on to the services. Unknown paths share
        # one name: span names are not for anyone to choose.
        name = path if path in self._methods else "unknown"
        with incoming_http_call(f"grpc-web {name}", request.headers):
            return await self._handle(request, path)

    async def _handle(self, request: Request, path: str) -> Response:
        started = time.perf_counter()
        encoding = grpcweb.encoding_of(request.headers.get("content-type"))
        if encoding is None:
            return PlainTextResponse(
                "this endpoint speaks grpc-web: send application/grpc-web+proto "
                "or application/grpc-web-text",
                status_code=415,
            )
        request_id = _request_id(request)
        method = self._methods.get(path)
        label = path if method is not None else "unknown"
        session_token: str | None = None
        stale_cookie = False
        try:
            if method is None:
                # Internal (SERVICE) methods land here too: to a browser they do not exist.
                raise _refuse(grpc.StatusCode.UNIMPLEMENTED, f"unknown method {path}")
            session_token = self._check_browser(request, method)
            timeout = self._timeout(request, method)
            message = await self._read_message(request, encoding)
            identity = None
            if session_token is not None:
                identity = await self._sessions.identity_token(session_token, request_id=request_id)
                stale_cookie = identity is None
            if identity is None and method.needs_user:
                raise _refuse(grpc.StatusCode.UNAUTHENTICATED, "sign in to do this")
            metadata = self._metadata(request, request_id, identity)
            if method.server_streaming:
                response = await self._stream(method, message, timeout, metadata, encoding)
            else:
                response = await self._unary_call(
                    method, message, timeout, metadata, encoding, signed_out=identity is None
                )
        except _Refused as refused:
            response = _trailers_only(refused.status, encoding)
        except ProtocolError as error:
            response = _trailers_only(Status(error.code, error.message), encoding)
        except grpc.aio.AioRpcError as error:  # the session lookup failed (usersvc down)
            response = _trailers_only(Status.of_error(error), encoding)
        if path in sessions.ENDING_METHODS and session_token is not None:
            if path == sessions.SIGN_OUT or response.headers.get("grpc-status", "0") == "0":
                # Signing out always forgets the session here, even if usersvc failed;
                # the others only once they succeeded (a wrong password ends nothing).
                self._sessions.forget(session_token)
                self._clear_cookie(response)
        elif stale_cookie:
            # usersvc no longer knows the session: drop the stale cookie.
            self._clear_cookie(response)
        elif session_token is not None and response.headers.get("grpc-status") == UNAUTHENTICATED:
            # A service refused the cached identity token: its session was revoked
            # (signed out through another replica, say). The next call asks usersvc
            # again, which drops the cookie if the session is gone.
            self._sessions.forget(session_token)
        response.headers[REQUEST_ID_HEADER] = request_id
        elapsed = time.perf_counter() - started
        CALL_SECONDS.labels(label).observe(elapsed)
        if not isinstance(response, StreamingResponse):
            code = response.headers.get("grpc-status", "0")
            CALLS.labels(label, code).inc()
            log.info(
                "call", method=path, code=code, ms=round(elapsed * 1000, 2), request_id=request_id
            )
        return response

    def _check_browser(self, request: Request, method: BridgedMethod) -> str | None:
        """The session cookie, once the call is known not to be cross-site.

        A cookie rides along with any request the browser makes, so calls that
        use it, or that set it, must come from an allowed page: the Origin header
        says which page sent it, and `x-grpc-web` (a header no plain form or
        image can send) proves it was a script that CORS allowed."""
        session_token = request.cookies.get(self._cookies.name) or None
        if session_token is None and method.path not in sessions.SESSION_METHODS:
            return None
        origin = request.headers.get("origin")
        if origin is None:
            raise _refuse(
                grpc.StatusCode.PERMISSION_DENIED,
                "cookie-authenticated calls need an Origin header",
            )
        if origin.rstrip("/") not in self._cookies.origins:
            raise _refuse(
                grpc.StatusCode.PERMISSION_DENIED,
                f"origin {origin} may not make cookie-authenticated calls",
            )
        if "x-grpc-web" not in request.headers:
            raise _refuse(
                grpc.StatusCode.PERMISSION_DENIED,
                "cookie-authenticated calls need the x-grpc-web header",
            )
        return session_token

    def _timeout(self, request: Request, method: BridgedMethod) -> float:
        header = request.headers.get("grpc-timeout")
        asked = grpcweb.parse_timeout(header) if header is not None else None
        if method.server_streaming:
            # Streams (WatchSong) may rightly run long, but never unbounded: a
            # forgotten or hostile stream must not hold a connection forever.
            longest = self._max_stream_seconds
            return longest if asked is None else min(asked, longest)
        return self._default_timeout if asked is None else asked

    async def _read_message(self, request: Request, encoding: Encoding) -> bytes:
        limit = grpcweb.encoded_limit(self._max_message_bytes, encoding)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise grpcweb.message_too_large(0, self._max_message_bytes)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            # Stop reading at the limit: a huge body is never held in memory.
            if len(body) > limit:
                raise grpcweb.message_too_large(0, self._max_message_bytes)
        frames = grpcweb.decode_body(bytes(body), encoding)
        return grpcweb.request_message(frames, limit=self._max_message_bytes)

    def _metadata(self, request: Request, request_id: str, identity: str | None) -> tuple:
        # Nothing else from the browser goes upstream: the services trust this metadata.
        metadata = [(REQUEST_ID_HEADER, request_id)]
        if request.client is not None:
            # uvicorn has already taken the address from X-Forwarded-For when the
            # peer is a trusted proxy (NEUTONE_TRUSTED_PROXIES). The services believe
            # it only beside the gateway's own service identity.
            metadata.append((CLIENT_ADDRESS_HEADER, request.client.host))
            metadata.append((PROXY_AUTHORIZATION_HEADER, self._proxy_credentials.bearer()))
        if identity is not None:
            metadata.append(("authorization", f"Bearer {identity}"))
        return tuple(metadata)

    async def _unary_call(
        self,
        method: BridgedMethod,
        message: bytes,
        time_limit: float,
        metadata: tuple,
        encoding: Encoding,
        *,
        signed_out: bool,
    ) -> Response:
        shared = signed_out and method.same_reply_for_everyone
        reply = self._public_replies.get(method, message) if shared else None
        if reply is None:
            try:
                reply = await self._unary[method.path](
                    message, timeout=time_limit, metadata=metadata
                )
            except grpc.aio.AioRpcError as error:
                return _trailers_only(Status.of_error(error), encoding)
            if shared:
                self._public_replies.keep(method, message, reply)
            elif method.makes_public_replies_stale:
                self._public_replies.changed(method.service)
        reply, new_session = sessions.take_session(method.path, reply)
        body = grpcweb.encode_chunk(grpcweb.data_frame(reply), encoding) + grpcweb.encode_chunk(
            _OK_TRAILER_FRAME, encoding
        )
        response = Response(body, headers={"content-type": encoding.value})
        if new_session is not None:
            response.set_cookie(
                self._cookies.name,
                new_session.token,
                max_age=new_session.max_age(),
                path="/",
                secure=self._cookies.secure,
                httponly=True,
                samesite="lax",
            )
        return response

    async def _stream(
        self,
        method: BridgedMethod,
        message: bytes,
        time_limit: float,
        metadata: tuple,
        encoding: Encoding,
    ) -> Response:
        call = self._streams[method.path](message, timeout=time_limit, metadata=metadata)
        # Wait for the first message (or the error) before answering, so that an
        # immediate failure becomes a trailers-only response like a unary one.
        try:
            first = await call.read()
        except grpc.aio.AioRpcError as error:
            return _trailers_only(Status.of_error(error), encoding)
        except asyncio.CancelledError:
            call.cancel()
            raise
        return StreamingResponse(
            _relay(call, first, encoding, method.path),
            headers={"content-type": encoding.value},
        )

    def _clear_cookie(self, response: Response) -> None:
        response.delete_cookie(
            self._cookies.name,
            path="/",
            secure=self._cookies.secure,
            httponly=True,
            samesite="lax",
        )


async def _relay(
    call: grpc.aio.UnaryStreamCall, first: object, encoding: Encoding, path: str
) -> AsyncIterator[bytes]:
    status = grpcweb.OK
    message = first
    try:
        while message is not grpc.aio.EOF:
            yield grpcweb.encode_chunk(grpcweb.data_frame(message), encoding)  # type: ignore[arg-type]
            message = await call.read()
        code = await call.code()
        if code is not grpc.StatusCode.OK:
            status = Status(code, await call.details() or "")
    except grpc.aio.AioRpcError as error:
        status = Status.of_error(error)
    finally:
        # The browser went away (or the relay failed): stop the upstream stream too.
        if not call.done():
            call.cancel()
    CALLS.labels(path, str(status.code.value[0])).inc()
    yield grpcweb.encode_chunk(grpcweb.trailer_frame(status.trailers()), encoding)


def _trailers_only(status: Status, encoding: Encoding) -> Response:
    return Response(b"", headers={"content-type": encoding.value, **status.trailers()})


def _request_id(request: Request) -> str:
    """The browser's request id when it sent a sensible one, so a song can be
    followed from the page through every service; otherwise a new one."""
    sent = request.headers.get(REQUEST_ID_HEADER, "")
    return sent if _REQUEST_ID.match(sent) else new_request_id()
