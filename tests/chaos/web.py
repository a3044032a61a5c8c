"""Calls through the gateway as the browser app makes them: grpc-web over HTTP/1.1,
signed in with the session cookie. aiohttp, not httpx: it is light enough for
thousands of calls and hundreds of open streams from the test process."""

import asyncio
import struct
from collections.abc import AsyncIterator, Mapping
from urllib.parse import unquote

import aiohttp
from google.protobuf.message import Message

from tests.abuse.browser import SESSION_COOKIE
from tests.integration.gateway.grpcweb import BINARY, frame
from tests.integration.helpers import SignedUpUser

FRAME_HEADER = struct.Struct(">BI")
TRAILER_FLAG = 0x80
# The grpc-status of a reply that is not a well-formed gRPC answer.
UNKNOWN = 2


class CallFailed(Exception):
    """A call that ended with a grpc-status other than OK, or no status at all."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"grpc-status {status}: {message}")
        self.status = status


class Gateway:
    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self._http = http
        self._url = url

    async def call(self, user: SignedUpUser, method: str, request: Message) -> bytes:
        """A unary call, e.g. method "SongService/GetSong"; its response message."""
        replies = [message async for message in self.stream(user, method, request)]
        if len(replies) != 1:
            raise CallFailed(UNKNOWN, f"{method} answered {len(replies)} messages")
        return replies[0]

    async def stream(
        self, user: SignedUpUser, method: str, request: Message
    ) -> AsyncIterator[bytes]:
        """The response messages as they arrive; CallFailed unless the call ends OK."""
        headers = {
            "content-type": BINARY,
            "x-grpc-web": "1",
            # Cookie-authenticated calls must come from the app's own origin.
            "origin": self._url,
            "cookie": f"{SESSION_COOKIE}={user.session_token}",
        }
        async with self._http.post(
            f"{self._url}/neutone.v1.{method}",
            data=frame(request.SerializeToString()),
            headers=headers,
        ) as reply:
            if reply.status != 200:
                raise CallFailed(UNKNOWN, f"HTTP {reply.status}")
            if "grpc-status" in reply.headers:  # trailers only: an error before any message
                _raise_unless_ok(reply.headers)
                return
            async for is_trailer, payload in _frames(reply.content):
                if is_trailer:
                    _raise_unless_ok(_trailers(payload))
                    return
                yield payload
        raise CallFailed(UNKNOWN, f"{method}: the response ended without trailers")


async def _frames(body: aiohttp.StreamReader) -> AsyncIterator[tuple[bool, bytes]]:
    """(is it the trailer frame, its payload) for each frame, as it arrives."""
    while True:
        try:
            header = await body.readexactly(FRAME_HEADER.size)
        except asyncio.IncompleteReadError as end:
            if end.partial:
                raise CallFailed(UNKNOWN, "the response was cut off inside a frame") from None
            return
        flags, length = FRAME_HEADER.unpack(header)
        try:
            payload = await body.readexactly(length)
        except asyncio.IncompleteReadError:
            raise CallFailed(UNKNOWN, "the response was cut off inside a frame") from None
        yield bool(flags & TRAILER_FLAG), payload


def _trailers(payload: bytes) -> dict[str, str]:
    lines = payload.decode("ascii").split("\r\n")
    pairs = (line.partition(":") for line in lines if line)
    return {name.strip().lower(): value.strip() for name, _, value in pairs}


def _raise_unless_ok(trailers: Mapping[str, str]) -> None:
    status = int(trailers.get("grpc-status", "2"))
    if status != 0:
        raise CallFailed(status, unquote(trailers.get("grpc-message", "")))
