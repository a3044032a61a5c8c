"""Uploads to the filesystem store (embedded mode) as a browser makes them: the
gateway receives the form songsvc signed, stores at most the signed size at the
signed key, and refuses anything else without storing it."""

import asyncio

import httpx

from neutone.v1 import song_service_pb2, upload_pb2
from tests.integration.gateway.conftest import Gateway
from tests.integration.gateway.grpcweb import call
from tests.integration.songs.test_song_work import audio


async def _songs(http: httpx.AsyncClient, gateway: Gateway, cookie: str, method: str, request):
    reply = await call(
        http,
        f"/neutone.v1.SongService/{method}",
        request,
        origin=gateway.origin,
        headers={"cookie": cookie},
    )
    assert reply.status == 0, reply.message
    response_type = getattr(song_service_pb2, f"{method}Response")
    return response_type.FromString(reply.messages[0])


async def _create_upload(
    http, gateway, cookie, data: bytes
) -> song_service_pb2.CreateUploadResponse:
    return await _songs(
        http,
        gateway,
        cookie,
        "CreateUpload",
        song_service_pb2.CreateUploadRequest(
            filename="demo.wav", size_bytes=len(data), content_type="audio/wav"
        ),
    )


async def _status_of_headers_only(gateway: Gateway, *, content_length: int) -> int:
    """The status of a POST /uploads whose body is announced but never sent."""
    host, port = gateway.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            f"POST /uploads HTTP/1.1\r\nhost: {host}\r\n"
            f"content-type: multipart/form-data; boundary=x\r\n"
            f"content-length: {content_length}\r\n\r\n".encode()
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=10)
    finally:
        writer.close()
    return int(status_line.split()[1])


def _stored(gateway: Gateway, created: song_service_pb2.CreateUploadResponse) -> bool:
    return gateway.store.path(created.form_fields["key"]).exists()


async def test_a_browser_posts_its_upload_through_the_gateway(
    gateway: Gateway, http: httpx.AsyncClient, sign_up
) -> None:
    user = await sign_up()
    data = audio(11)
    created = await _create_upload(http, gateway, user.cookie, data)
    assert created.upload_url == f"{gateway.url}/uploads"
    posted = await http.post(
        created.upload_url,
        data=dict(created.form_fields),
        files={"file": ("demo.wav", data, "audio/wav")},
    )
    assert posted.status_code == 204, posted.text
    completed = await _songs(
        http,
        gateway,
        user.cookie,
        "CompleteUpload",
        song_service_pb2.CompleteUploadRequest(upload_id=created.upload.id),
    )
    assert completed.upload.status == upload_pb2.UPLOAD_STATUS_READY
    assert abs(completed.upload.duration_seconds - 11) < 0.01


async def test_uploads_beyond_the_signed_form_are_refused_and_not_stored(
    gateway: Gateway, http: httpx.AsyncClient, sign_up
) -> None:
    user = await sign_up()
    data = audio(1)
    created = await _create_upload(http, gateway, user.cookie, data)
    fields = dict(created.form_fields)

    # More bytes than were declared (and signed).
    larger = await http.post(
        created.upload_url, data=fields, files={"file": ("demo.wav", data + b"x", "audio/wav")}
    )
    assert larger.status_code == 413 and not _stored(gateway, created)
    # A signed field changed: a larger limit, or another key.
    for name, value in (("max_bytes", str(10 * len(data))), ("key", "songs/theirs/audio.flac")):
        forged = await http.post(
            created.upload_url,
            data={**fields, name: value},
            files={"file": ("demo.wav", data, "audio/wav")},
        )
        assert forged.status_code == 403, name
    assert not gateway.store.path("songs/theirs/audio.flac").exists()
    # Not a form, an empty file, a body beyond any upload's size.
    assert (await http.post(created.upload_url, content=data)).status_code == 400
    empty = await http.post(created.upload_url, data=fields, files={"file": ("x.wav", b"")})
    assert empty.status_code == 400
    # Refused on its headers alone: the gateway reads none of the body.
    assert await _status_of_headers_only(gateway, content_length=60 * 1024 * 1024) == 413
    assert not _stored(gateway, created)

    # Nothing was stored, so the upload cannot complete.
    reply = await call(
        http,
        "/neutone.v1.SongService/CompleteUpload",
        song_service_pb2.CompleteUploadRequest(upload_id=created.upload.id),
        origin=gateway.origin,
        headers={"cookie": user.cookie},
    )
    assert reply.error_reason() == "NOT_UPLOADED"
