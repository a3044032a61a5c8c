"""The grpc-web bridge on the wire: framing, streaming, statuses and their
details, limits, the allowlist, and the checks on cookie-authenticated calls."""

import base64
import re
import time
import uuid

import httpx
import pytest

from neutone.v1 import (
    billing_service_pb2,
    song_pb2,
    song_service_pb2,
    user_service_pb2,
)
from tests.integration.forged_tokens import CRAFTED
from tests.integration.gateway.conftest import (
    MAX_MESSAGE_BYTES,
    STREAM_MAX_SECONDS,
    Gateway,
    browser_sign_up,
    session_cookie,
)
from tests.integration.gateway.grpcweb import BINARY, TEXT, call, frame, parse

OK, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND = 0, 3, 4, 5
PERMISSION_DENIED, RESOURCE_EXHAUSTED, UNIMPLEMENTED, UNAUTHENTICATED = 7, 8, 12, 16

LIST_CATEGORIES = "/neutone.v1.SongService/ListCategories"
GET_CURRENT_USER = "/neutone.v1.UserService/GetCurrentUser"


@pytest.mark.parametrize("text", [False, True], ids=["binary", "text"])
async def test_a_public_call_without_a_session(http: httpx.AsyncClient, text: bool) -> None:
    reply = await call(
        http, LIST_CATEGORIES, song_service_pb2.ListCategoriesRequest(), origin=None, text=text
    )
    assert reply.http_status == 200
    assert reply.headers["content-type"] == (
        "application/grpc-web-text+proto" if text else "application/grpc-web+proto"
    )
    assert not reply.trailers_only
    assert reply.status == OK
    assert len(reply.messages) == 1
    categories = song_service_pb2.ListCategoriesResponse.FromString(reply.messages[0]).categories
    assert categories and all(category.display_name for category in categories)


async def test_sign_up_moves_the_session_token_into_an_http_only_cookie(
    gateway: Gateway, http: httpx.AsyncClient
) -> None:
    email = f"web-{uuid.uuid4().hex[:12]}@example.com"
    reply = await browser_sign_up(http, gateway, email=email, password="correct horse battery")
    response = user_service_pb2.ConfirmSignUpResponse.FromString(reply.messages[0])
    assert response.user.email == email
    assert response.session_token == "", "the page's script must never see the session token"
    set_cookie = next(
        value for value in reply.headers.get_list("set-cookie") if "neutone_session=" in value
    )
    attributes = {part.strip().lower() for part in set_cookie.split(";")}
    assert {"httponly", "samesite=lax", "path=/"} <= attributes
    assert "secure" not in attributes, "development cookies work over plain http"
    assert any(part.startswith("max-age=") for part in attributes)

    me = await call(
        http,
        GET_CURRENT_USER,
        user_service_pb2.GetCurrentUserRequest(),
        origin=gateway.origin,
        headers={"cookie": session_cookie(reply.headers)},
    )
    assert me.status == OK, me.message
    assert user_service_pb2.GetCurrentUserResponse.FromString(me.messages[0]).user.email == email


async def test_sign_in_and_sign_out(gateway: Gateway, http: httpx.AsyncClient, sign_up) -> None:
    user = await sign_up()
    signed_in = await call(
        http,
        "/neutone.v1.UserService/SignIn",
        user_service_pb2.SignInRequest(email=user.email, password=user.password),
        origin=gateway.origin,
    )
    assert signed_in.status == OK
    cookie = session_cookie(signed_in.headers)
    assert user_service_pb2.SignInResponse.FromString(signed_in.messages[0]).session_token == ""

    # Warm the identity cache, then sign out: the cache must not outlive the session.
    assert (
        await call(http, GET_CURRENT_USER, b"", origin=gateway.origin, headers={"cookie": cookie})
    ).status == OK
    signed_out = await call(
        http,
        "/neutone.v1.UserService/SignOut",
        user_service_pb2.SignOutRequest(),
        origin=gateway.origin,
        headers={"cookie": cookie},
    )
    assert signed_out.status == OK
    cleared = next(v for v in signed_out.headers.get_list("set-cookie") if "neutone_session=" in v)
    assert 'neutone_session=""' in cleared or "max-age=0" in cleared.lower()

    after = await call(
        http, GET_CURRENT_USER, b"", origin=gateway.origin, headers={"cookie": cookie}
    )
    assert after.status == UNAUTHENTICATED
    # The other session (from sign-up) is untouched.
    other = await call(
        http, GET_CURRENT_USER, b"", origin=gateway.origin, headers={"cookie": user.cookie}
    )
    assert other.status == OK


async def test_a_stale_cookie_is_cleared_and_public_calls_still_work(
    gateway: Gateway, http: httpx.AsyncClient
) -> None:
    stale = "neutone_session=" + "x" * 43
    public = await call(
        http,
        LIST_CATEGORIES,
        song_service_pb2.ListCategoriesRequest(),
        origin=gateway.origin,
        headers={"cookie": stale},
    )
    assert public.status == OK
    assert any("neutone_session=" in v for v in public.headers.get_list("set-cookie"))
    private = await call(
        http, GET_CURRENT_USER, b"", origin=gateway.origin, headers={"cookie": stale}
    )
    assert private.status == UNAUTHENTICATED


async def test_user_methods_need_a_session(http: httpx.AsyncClient) -> None:
    reply = await call(http, GET_CURRENT_USER, b"", origin=None)
    assert reply.trailers_only
    assert reply.status == UNAUTHENTICATED
    assert reply.message == "sign in to do this"


async def test_errors_pass_through_with_their_rich_details(
    gateway: Gateway, http: httpx.AsyncClient
) -> None:
    reply = await call(
        http,
        "/neutone.v1.UserService/SignUp",
        user_service_pb2.SignUpRequest(email="not an email", password="short", display_name=""),
        origin=gateway.origin,
    )
    assert reply.trailers_only, "an immediate error is a trailers-only response"
    assert reply.http_status == 200
    assert reply.status == INVALID_ARGUMENT
    assert "email" in reply.message
    violations = reply.field_violations()
    assert {"email", "password", "display_name"} <= set(violations)
    assert reply.rich_status().code == INVALID_ARGUMENT


@pytest.mark.parametrize(
    "path",
    [
        "/neutone.v1.UserService/AuthenticateSession",
        "/neutone.v1.BillingService/ReserveCredits",
        "/neutone.v1.BillingService/ApplyPaymentEvent",
        "/neutone.v1.BillingService/CommitCredits",
        "/grpc.health.v1.Health/Check",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "/neutone.v1.SongService/NoSuchMethod",
    ],
)
async def test_internal_and_unknown_methods_are_not_reachable(
    gateway: Gateway, http: httpx.AsyncClient, sign_up, path: str
) -> None:
    user = await sign_up()
    reply = await call(
        http,
        path,
        user_service_pb2.AuthenticateSessionRequest(session_token="x"),
        origin=gateway.origin,
        headers={"cookie": user.cookie},
    )
    assert reply.trailers_only
    assert reply.status == UNIMPLEMENTED
    assert reply.message == f"unknown method {path}"


async def test_session_calls_need_an_allowed_origin_and_the_grpc_web_header(
    gateway: Gateway, http: httpx.AsyncClient, sign_up
) -> None:
    user = await sign_up()
    cookie = {"cookie": user.cookie}
    for origin, extra, expected in [
        (None, cookie, "cookie-authenticated calls need an Origin header"),
        ("https://evil.example", cookie, "origin https://evil.example may not make"),
        ("null", cookie, "origin null may not make"),
    ]:
        reply = await call(http, GET_CURRENT_USER, b"", origin=origin, headers=extra)
        assert reply.status == PERMISSION_DENIED
        assert reply.message.startswith(expected)

    response = await http.post(
        GET_CURRENT_USER,
        content=frame(b""),
        headers={"content-type": BINARY, "origin": gateway.origin, **cookie},
    )
    without_header = parse(response)
    assert without_header.status == PERMISSION_DENIED
    assert "x-grpc-web" in without_header.message

    # Signing in from another site would plant a session: refused even without a cookie.
    forged = await call(
        http,
        "/neutone.v1.UserService/SignIn",
        user_service_pb2.SignInRequest(email=user.email, password=user.password),
        origin="https://evil.example",
    )
    assert forged.status == PERMISSION_DENIED
    assert not forged.headers.get_list("set-cookie")


async def test_both_local_origins_are_allowed(
    gateway: Gateway, http: httpx.AsyncClient, sign_up
) -> None:
    user = await sign_up()
    port = gateway.url.rpartition(":")[2]
    for origin in (gateway.origin, f"http://localhost:{port}"):
        reply = await call(
            http, GET_CURRENT_USER, b"", origin=origin, headers={"cookie": user.cookie}
        )
        assert reply.status == OK


async def test_cors_preflight_for_allowed_and_foreign_origins(
    gateway: Gateway, http: httpx.AsyncClient
) -> None:
    request_headers = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-grpc-web,x-user-agent",
    }
    allowed = await http.options(
        GET_CURRENT_USER, headers={"origin": gateway.origin, **request_headers}
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == gateway.origin
    assert allowed.headers["access-control-allow-credentials"] == "true"
    foreign = await http.options(
        GET_CURRENT_USER, headers={"origin": "https://evil.example", **request_headers}
    )
    assert foreign.status_code == 400
    assert "access-control-allow-origin" not in foreign.headers

    reply = await call(http, LIST_CATEGORIES, b"", origin=gateway.origin)
    exposed = reply.headers["access-control-expose-headers"].lower()
    for header in ("grpc-status", "grpc-message", "grpc-status-details-bin"):
        assert header in exposed


async def test_request_ids_are_kept_or_made(http: httpx.AsyncClient) -> None:
    kept = await call(http, LIST_CATEGORIES, b"", origin=None, headers={"x-request-id": "page-42"})
    assert kept.headers["x-request-id"] == "page-42"
    made = await call(http, LIST_CATEGORIES, b"", origin=None, headers={"x-request-id": "bad id!"})
    assert len(made.headers["x-request-id"]) == 32


async def test_other_content_types_are_refused(http: httpx.AsyncClient) -> None:
    for content_type in ("application/json", "application/grpc-web+json", "application/grpc"):
        response = await http.post(
            LIST_CATEGORIES, content=b"{}", headers={"content-type": content_type}
        )
        assert response.status_code == 415
        assert "application/grpc-web+proto" in response.text


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (b"\x00\x00", INVALID_ARGUMENT, "shorter than the 5-byte frame header"),
        (b"\x00\x00\x00\x00\x64abc", INVALID_ARGUMENT, "declares 100 bytes but 3 follow"),
        (frame(b"") + frame(b""), INVALID_ARGUMENT, "exactly one message is expected"),
        (frame(b"grpc-status:0\r\n", flags=0x80), INVALID_ARGUMENT, "flags 0x80"),
        (frame(b"\x1f\x8b", flags=0x01), UNIMPLEMENTED, "compressed request messages"),
        (b"", INVALID_ARGUMENT, "shorter than the 5-byte frame header"),
    ],
    ids=["short", "truncated", "two-messages", "trailer", "compressed", "empty"],
)
async def test_malformed_frames_get_a_clear_error(
    http: httpx.AsyncClient, body: bytes, code: int, message: str
) -> None:
    response = await http.post(LIST_CATEGORIES, content=body, headers={"content-type": BINARY})
    reply = parse(response)
    assert reply.status == code
    assert message in reply.message


async def test_malformed_base64_and_protobuf(http: httpx.AsyncClient) -> None:
    response = await http.post(
        LIST_CATEGORIES, content=b"not*base64!", headers={"content-type": TEXT}
    )
    assert "not valid base64" in parse(response, text=True).message

    # A well-framed message that is not a valid protobuf reaches the service,
    # which refuses it with a field violation.
    reply = await call(http, "/neutone.v1.SongService/GetSong", b"\xff\xff\xff", origin=None)
    assert reply.status == INVALID_ARGUMENT
    assert "request" in reply.field_violations()


async def test_text_bodies_may_be_several_base64_chunks(http: httpx.AsyncClient) -> None:
    request = song_service_pb2.ListFeedRequest(page_size=1).SerializeToString()
    framed = frame(request)
    # Split so that the first chunk needs padding: "...=" then the rest.
    body = base64.b64encode(framed[:4]) + base64.b64encode(framed[4:])
    response = await http.post(
        "/neutone.v1.SongService/ListFeed", content=body, headers={"content-type": TEXT}
    )
    assert parse(response, text=True).status == OK


async def test_oversized_messages_are_refused_before_they_are_read(http: httpx.AsyncClient) -> None:
    big = song_service_pb2.GetSongRequest(song_id="x" * (MAX_MESSAGE_BYTES + 1))
    for text in (False, True):
        reply = await call(http, "/neutone.v1.SongService/GetSong", big, origin=None, text=text)
        assert reply.status == RESOURCE_EXHAUSTED
        assert f"limit of {MAX_MESSAGE_BYTES} bytes" in reply.message
    # A frame header that claims a huge message is refused without waiting for it.
    response = await http.post(
        "/neutone.v1.SongService/GetSong",
        content=b"\x00\x7f\xff\xff\xff" + b"x" * 10,
        headers={"content-type": BINARY},
    )
    assert parse(response).status == RESOURCE_EXHAUSTED


async def test_a_malformed_grpc_timeout_is_refused(http: httpx.AsyncClient) -> None:
    malformed = await call(
        http, LIST_CATEGORIES, b"", origin=None, headers={"grpc-timeout": "soon"}
    )
    assert malformed.status == INVALID_ARGUMENT
    assert "grpc-timeout" in malformed.message
    fine = await call(http, LIST_CATEGORIES, b"", origin=None, headers={"grpc-timeout": "5S"})
    assert fine.status == OK


async def test_grpc_timeout_ends_a_stream(
    gateway: Gateway, http: httpx.AsyncClient, sign_up
) -> None:
    user = await sign_up()
    song = await _create_song(http, gateway, user.cookie)
    started = time.monotonic()
    reply = await call(
        http,
        "/neutone.v1.SongService/WatchSong",
        song_service_pb2.WatchSongRequest(song_id=song.id),
        origin=gateway.origin,
        headers={"cookie": user.cookie, "grpc-timeout": "1500m"},
    )
    # Without the deadline this stream would run until the song is generated.
    assert 1.4 < time.monotonic() - started < 5
    assert reply.messages
    assert reply.status == DEADLINE_EXCEEDED


@pytest.mark.parametrize("asked", [None, "60S"], ids=["no grpc-timeout", "a longer one"])
async def test_the_gateway_ends_every_stream_within_its_bound(
    gateway: Gateway, http: httpx.AsyncClient, sign_up, asked: str | None
) -> None:
    user = await sign_up()
    song = await _create_song(http, gateway, user.cookie)
    headers = {"cookie": user.cookie, **({"grpc-timeout": asked} if asked else {})}
    started = time.monotonic()
    reply = await call(
        http,
        "/neutone.v1.SongService/WatchSong",
        song_service_pb2.WatchSongRequest(song_id=song.id),
        origin=gateway.origin,
        headers=headers,
    )
    # The song stays QUEUED (no worker here): only the gateway's bound ends it.
    assert STREAM_MAX_SECONDS - 0.1 < time.monotonic() - started < STREAM_MAX_SECONDS + 3
    assert reply.messages
    assert reply.status == DEADLINE_EXCEEDED


async def test_a_crafted_page_token_is_invalid_argument_for_a_signed_out_browser(
    http: httpx.AsyncClient,
) -> None:
    reply = await call(
        http,
        "/neutone.v1.SongService/ListFeed",
        song_service_pb2.ListFeedRequest(page_token=CRAFTED),
        origin=None,
    )
    assert reply.status == INVALID_ARGUMENT
    assert reply.field_violations() == {"page_token": "is not a token from a previous response"}


async def _create_song(http: httpx.AsyncClient, gateway: Gateway, cookie: str) -> song_pb2.Song:
    reply = await call(
        http,
        "/neutone.v1.SongService/CreateSong",
        song_service_pb2.CreateSongRequest(description="a calm piano piece", instrumental=True),
        origin=gateway.origin,
        headers={"cookie": cookie},
    )
    assert reply.status == OK, reply.message
    return song_service_pb2.CreateSongResponse.FromString(reply.messages[0]).song


@pytest.mark.parametrize("text", [False, True], ids=["binary", "text"])
async def test_server_streaming_relays_messages_as_they_come(
    gateway: Gateway, http: httpx.AsyncClient, sign_up, text: bool
) -> None:
    user = await sign_up()
    song = await _create_song(http, gateway, user.cookie)
    request = song_service_pb2.WatchSongRequest(song_id=song.id).SerializeToString()
    body = frame(request)
    headers = {
        "content-type": TEXT if text else BINARY,
        "x-grpc-web": "1",
        "origin": gateway.origin,
        "cookie": user.cookie,
    }
    received = b""
    async with http.stream(
        "POST",
        "/neutone.v1.SongService/WatchSong",
        content=base64.b64encode(body) if text else body,
        headers=headers,
    ) as response:
        assert response.status_code == 200
        assert "grpc-status" not in response.headers
        # No worker runs here: the song stays QUEUED and WatchSong re-sends its
        # state every 0.5 s. Two updates arriving proves frames are not buffered.
        async for chunk in response.aiter_raw():
            received += chunk
            if _data_frames(received, text=text) >= 2:
                break
    # Closing early cancels the upstream stream; the gateway must keep serving.
    messages = _messages(received, text=text)
    update = song_service_pb2.WatchSongResponse.FromString(messages[0])
    assert update.song.id == song.id
    assert update.song.status == song_pb2.SONG_STATUS_QUEUED
    assert (await call(http, LIST_CATEGORIES, b"", origin=None)).status == OK


async def test_a_stream_that_fails_midway_ends_with_its_status_in_the_trailer(
    gateway: Gateway, http: httpx.AsyncClient, sign_up
) -> None:
    user = await sign_up()
    song = await _create_song(http, gateway, user.cookie)
    cookie = {"cookie": user.cookie}
    received = b""
    deleted = None
    async with http.stream(
        "POST",
        "/neutone.v1.SongService/WatchSong",
        content=frame(song_service_pb2.WatchSongRequest(song_id=song.id).SerializeToString()),
        headers={"content-type": BINARY, "x-grpc-web": "1", "origin": gateway.origin, **cookie},
    ) as response:
        async for chunk in response.aiter_raw():
            received += chunk
            if deleted is None and _data_frames(received, text=False) == 1:
                deleted = await call(
                    http,
                    "/neutone.v1.SongService/DeleteSong",
                    song_service_pb2.DeleteSongRequest(song_id=song.id),
                    origin=gateway.origin,
                    headers=cookie,
                )
                assert deleted.status == OK
    reply = parse(httpx.Response(200, content=received))
    assert len(reply.messages) >= 1
    assert reply.status == NOT_FOUND
    assert reply.message == "song not found"


async def test_a_stream_that_fails_at_once_is_trailers_only(
    gateway: Gateway, http: httpx.AsyncClient, sign_up
) -> None:
    user = await sign_up()
    reply = await call(
        http,
        "/neutone.v1.SongService/WatchSong",
        song_service_pb2.WatchSongRequest(song_id=str(uuid.uuid4())),
        origin=gateway.origin,
        headers={"cookie": user.cookie},
    )
    assert reply.trailers_only
    assert reply.status == NOT_FOUND


async def test_billing_calls_reach_billing(
    gateway: Gateway, http: httpx.AsyncClient, sign_up
) -> None:
    user = await sign_up()
    products = await call(http, "/neutone.v1.BillingService/ListProducts", b"", origin=None)
    assert billing_service_pb2.ListProductsResponse.FromString(products.messages[0]).products
    balance = await call(
        http,
        "/neutone.v1.BillingService/GetBalance",
        b"",
        origin=gateway.origin,
        headers={"cookie": user.cookie},
    )
    assert balance.status == OK
    assert billing_service_pb2.GetBalanceResponse.FromString(balance.messages[0]).balance >= 0


def _frames(received: bytes, *, text: bool) -> list[tuple[int, bytes]]:
    """The complete frames so far."""
    if text:
        chunks = re.findall(rb"[A-Za-z0-9+/]+=*", received)
        # Only whole chunks (a multiple of 4 characters) can be decoded yet.
        received = b"".join(base64.b64decode(chunk) for chunk in chunks if len(chunk) % 4 == 0)
    frames, offset = [], 0
    while offset + 5 <= len(received):
        flags, length = received[offset], int.from_bytes(received[offset + 1 : offset + 5])
        if offset + 5 + length > len(received):
            break
        frames.append((flags, received[offset + 5 : offset + 5 + length]))
        offset += 5 + length
    return frames


def _data_frames(received: bytes, *, text: bool) -> int:
    return sum(1 for flags, _ in _frames(received, text=text) if not flags & 0x80)


def _messages(received: bytes, *, text: bool) -> list[bytes]:
    return [data for flags, data in _frames(received, text=text) if not flags & 0x80]
