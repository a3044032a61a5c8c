"""The grpc-web wire format (grpc/grpc doc/PROTOCOL-WEB.md): length-prefixed
frames, trailers in a frame flagged 0x80, binary or base64 ("-text") bodies, and
the grpc-timeout header. Pure functions; the bridge does the I/O."""

import base64
import binascii
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote

import grpc

DATA_FLAG = 0x00
COMPRESSED_FLAG = 0x01
TRAILER_FLAG = 0x80
FRAME_HEADER = struct.Struct(">BI")

_TIMEOUT = re.compile(r"^(\d{1,8})([HMSmun])$")
_TIMEOUT_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}


class Encoding(StrEnum):
    BINARY = "application/grpc-web+proto"
    TEXT = "application/grpc-web-text+proto"


_CONTENT_TYPES = {
    "application/grpc-web": Encoding.BINARY,
    "application/grpc-web+proto": Encoding.BINARY,
    "application/grpc-web-text": Encoding.TEXT,
    "application/grpc-web-text+proto": Encoding.TEXT,
}


class ProtocolError(Exception):
    """The request breaks the grpc-web protocol; `code` is the status to answer with."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def encoding_of(content_type: str | None) -> Encoding | None:
    """The body encoding a content type asks for; None for anything but proto grpc-web."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return _CONTENT_TYPES.get(media_type)


def parse_timeout(value: str) -> float:
    """Seconds from a grpc-timeout header value such as "1500m" or "10S"."""
    match = _TIMEOUT.match(value.strip())
    if match is None:
        raise ProtocolError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"grpc-timeout {value!r} is malformed: expected 1-8 digits and a unit of H, M, S, m, u or n",
        )
    return int(match.group(1)) * _TIMEOUT_UNITS[match.group(2)]


def encoded_limit(message_limit: int, encoding: Encoding) -> int:
    """The largest request body that can hold one message of `message_limit` bytes."""
    framed = FRAME_HEADER.size + message_limit
    return framed if encoding is Encoding.BINARY else 4 * ((framed + 2) // 3)


def decode_body(body: bytes, encoding: Encoding) -> bytes:
    """The binary frames of a request body. Text bodies may be several padded
    base64 chunks one after another, which plain b64decode would reject."""
    if encoding is Encoding.BINARY:
        return body
    text = re.sub(rb"\s+", b"", body)
    decoded = bytearray()
    try:
        for chunk in re.findall(rb"[^=]*=*", text):
            if chunk:
                padded = chunk + b"=" * (-len(chunk) % 4) if b"=" not in chunk else chunk
                decoded += base64.b64decode(padded, validate=True)
    except binascii.Error:
        raise ProtocolError(
            grpc.StatusCode.INVALID_ARGUMENT,
            "malformed grpc-web-text body: not valid base64",
        ) from None
    return bytes(decoded)


def request_message(frames: bytes, *, limit: int) -> bytes:
    """The single request message in `frames` (unary and server-streaming calls
    send exactly one), or a ProtocolError that says what is wrong."""
    if len(frames) < FRAME_HEADER.size:
        raise ProtocolError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"malformed grpc-web frame: {len(frames)} bytes, shorter than the 5-byte frame header",
        )
    flags, length = FRAME_HEADER.unpack_from(frames)
    if flags & COMPRESSED_FLAG:
        raise ProtocolError(
            grpc.StatusCode.UNIMPLEMENTED, "compressed request messages are not supported"
        )
    if flags != DATA_FLAG:
        raise ProtocolError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"malformed grpc-web frame: flags 0x{flags:02x}; a request holds one data frame",
        )
    if length > limit:
        raise message_too_large(length, limit)
    body = len(frames) - FRAME_HEADER.size
    if body < length:
        raise ProtocolError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"malformed grpc-web frame: it declares {length} bytes but {body} follow",
        )
    if body > length:
        raise ProtocolError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"malformed grpc-web request: {body - length} bytes after the message; "
            "exactly one message is expected",
        )
    return frames[FRAME_HEADER.size :]


def message_too_large(size: int, limit: int) -> ProtocolError:
    return ProtocolError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        f"request message is larger than the limit of {limit} bytes"
        + (f" ({size} bytes)" if size else ""),
    )


def data_frame(message: bytes) -> bytes:
    return FRAME_HEADER.pack(DATA_FLAG, len(message)) + message


def trailer_frame(trailers: Mapping[str, str]) -> bytes:
    block = "".join(f"{name}:{value}\r\n" for name, value in trailers.items()).encode("ascii")
    return FRAME_HEADER.pack(TRAILER_FLAG, len(block)) + block


def encode_chunk(frame: bytes, encoding: Encoding) -> bytes:
    """A response chunk; text responses base64 each frame on its own, so a
    stream can be decoded as it arrives."""
    return frame if encoding is Encoding.BINARY else base64.b64encode(frame)


def _percent_encode(message: str) -> str:
    # PROTOCOL-HTTP2.md: grpc-message is UTF-8, percent-encoded outside 0x20-0x7E and '%'.
    return quote(message, safe=" !\"#$&'()*+,-./:;<=>?@[\\]^_`{|}~")


@dataclass(frozen=True, slots=True)
class Status:
    """A call's outcome as grpc-web sends it: in the trailer frame, or in the
    headers of a trailers-only response."""

    code: grpc.StatusCode
    message: str = ""
    # A serialized google.rpc.Status with the rich error details; empty if none.
    details: bytes = b""

    @classmethod
    def of_error(cls, error: grpc.aio.AioRpcError) -> "Status":
        details = b""
        for key, value in error.trailing_metadata() or ():
            if key == "grpc-status-details-bin" and isinstance(value, bytes):
                details = value
        return cls(error.code(), error.details() or "", details)

    def trailers(self) -> dict[str, str]:
        trailers = {"grpc-status": str(self.code.value[0])}
        if self.message:
            trailers["grpc-message"] = _percent_encode(self.message)
        if self.details:
            trailers["grpc-status-details-bin"] = base64.b64encode(self.details).decode("ascii")
        return trailers


OK = Status(grpc.StatusCode.OK)
