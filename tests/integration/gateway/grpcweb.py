"""A minimal grpc-web client over raw HTTP (httpx), written from the protocol
document rather than from the gateway's code, so the tests check the wire format."""

import base64
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

import httpx
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

BINARY = "application/grpc-web+proto"
TEXT = "application/grpc-web-text"


def frame(message: bytes, *, flags: int = 0) -> bytes:
    return struct.pack(">BI", flags, len(message)) + message


def _decode_text(body: bytes) -> bytes:
    # Each frame may be its own padded base64 chunk: decode them one by one.
    chunks = re.findall(rb"[A-Za-z0-9+/]+=*", body)
    return b"".join(base64.b64decode(chunk + b"=" * (-len(chunk) % 4)) for chunk in chunks)


@dataclass
class Reply:
    http_status: int
    headers: httpx.Headers
    messages: list[bytes] = field(default_factory=list)
    trailers: dict[str, str] = field(default_factory=dict)
    # True when the status came in the headers with an empty body.
    trailers_only: bool = False

    @property
    def status(self) -> int:
        return int(self.trailers["grpc-status"])

    @property
    def message(self) -> str:
        return unquote(self.trailers.get("grpc-message", ""))

    def rich_status(self) -> status_pb2.Status:
        raw = self.trailers["grpc-status-details-bin"]
        return status_pb2.Status.FromString(base64.b64decode(raw + "=" * (-len(raw) % 4)))

    def error_reason(self) -> str | None:
        """The ErrorInfo reason of a refusal, if it carries one."""
        if "grpc-status-details-bin" not in self.trailers:
            return None
        for detail in self.rich_status().details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                return info.reason
        return None

    def field_violations(self) -> dict[str, str]:
        violations = {}
        for detail in self.rich_status().details:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad_request = error_details_pb2.BadRequest()
                detail.Unpack(bad_request)
                violations.update({v.field: v.description for v in bad_request.field_violations})
        return violations


def parse(response: httpx.Response, *, text: bool = False) -> Reply:
    body = _decode_text(response.content) if text else response.content
    reply = Reply(response.status_code, response.headers)
    if "grpc-status" in response.headers:
        assert body == b"", "a trailers-only response has an empty body"
        reply.trailers_only = True
        reply.trailers = {
            name: response.headers[name]
            for name in ("grpc-status", "grpc-message", "grpc-status-details-bin")
            if name in response.headers
        }
        return reply
    offset = 0
    while offset < len(body):
        flags, length = struct.unpack_from(">BI", body, offset)
        data = body[offset + 5 : offset + 5 + length]
        assert len(data) == length, "truncated frame in the response"
        offset += 5 + length
        if flags & 0x80:
            assert not reply.trailers, "a second trailer frame"
            for line in data.decode("ascii").split("\r\n"):
                if line:
                    name, _, value = line.partition(":")
                    reply.trailers[name.strip().lower()] = value.strip()
        else:
            assert not reply.trailers, "a message after the trailers"
            reply.messages.append(data)
    assert reply.trailers, "the response has no trailers"
    return reply


def headers_for(
    *, origin: str | None, text: bool = False, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    headers = {"content-type": TEXT if text else BINARY, "x-grpc-web": "1"}
    if origin is not None:
        headers["origin"] = origin
    return {**headers, **(extra or {})}


async def call(
    client: httpx.AsyncClient,
    path: str,
    request: Message | bytes,
    *,
    origin: str | None,
    text: bool = False,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """Sends one request message; `origin` None leaves the Origin header out."""
    raw = request if isinstance(request, bytes) else request.SerializeToString()
    body = frame(raw)
    response = await client.post(
        path,
        content=base64.b64encode(body) if text else body,
        headers=headers_for(origin=origin, text=text, extra=headers),
    )
    # Tests send exactly the cookies they mean to: nothing is kept between calls.
    client.cookies.clear()
    return parse(response, text=text)
