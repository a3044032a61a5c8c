"""The grpc-web wire format helpers, without a network."""

import base64

import grpc
import pytest

from gateway import grpcweb
from gateway.grpcweb import Encoding, ProtocolError, Status


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("1H", 3600),
        ("2M", 120),
        ("10S", 10),
        ("1500m", 1.5),
        ("250u", 0.00025),
        ("99999999n", 0.099999999),
    ],
)
def test_timeouts(header: str, seconds: float) -> None:
    assert grpcweb.parse_timeout(header) == pytest.approx(seconds)


@pytest.mark.parametrize("header", ["", "10", "S", "123456789S", "1.5S", "-1S", "10s"])
def test_malformed_timeouts(header: str) -> None:
    with pytest.raises(ProtocolError) as raised:
        grpcweb.parse_timeout(header)
    assert raised.value.code is grpc.StatusCode.INVALID_ARGUMENT


def test_content_types() -> None:
    assert grpcweb.encoding_of("application/grpc-web") is Encoding.BINARY
    assert grpcweb.encoding_of("Application/GRPC-Web+proto; charset=x") is Encoding.BINARY
    assert grpcweb.encoding_of("application/grpc-web-text") is Encoding.TEXT
    assert grpcweb.encoding_of("application/grpc-web+json") is None
    assert grpcweb.encoding_of(None) is None


def test_text_bodies_decode_chunk_by_chunk() -> None:
    frames = grpcweb.data_frame(b"ab") + grpcweb.data_frame(b"c")
    body = b"".join(base64.b64encode(part) for part in (frames[:4], frames[4:9], frames[9:]))
    assert grpcweb.decode_body(body, Encoding.TEXT) == frames
    unpadded = base64.b64encode(frames).rstrip(b"=")
    assert grpcweb.decode_body(unpadded, Encoding.TEXT) == frames


def test_the_encoded_limit_fits_a_message_at_the_limit() -> None:
    framed = grpcweb.data_frame(b"x" * 1000)
    assert len(framed) == grpcweb.encoded_limit(1000, Encoding.BINARY)
    assert len(base64.b64encode(framed)) <= grpcweb.encoded_limit(1000, Encoding.TEXT)


def test_trailers_percent_encode_the_message_and_base64_the_details() -> None:
    status = Status(grpc.StatusCode.INVALID_ARGUMENT, "bad 100% ünïcode\r\n", b"\x08\x03")
    trailers = status.trailers()
    assert trailers["grpc-status"] == "3"
    assert trailers["grpc-message"] == "bad 100%25 %C3%BCn%C3%AFcode%0D%0A"
    assert base64.b64decode(trailers["grpc-status-details-bin"]) == b"\x08\x03"
    frame = grpcweb.trailer_frame(trailers)
    assert frame[0] == grpcweb.TRAILER_FLAG
    assert frame[5:].startswith(b"grpc-status:3\r\ngrpc-message:")
