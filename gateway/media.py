"""The filesystem store behind the signed, time-limited URLs that songsvc hands
out (embedded mode; production uses S3 presigned URLs and never reaches this):

- GET /media/<key>: an object, as an attachment when the URL names a filename.
  Range requests get 206 or 416, which browsers need to seek in audio.
- POST /uploads: a browser's upload (multipart/form-data, the signed fields then
  `file`), as S3 takes a presigned POST: the size limit and the key are the
  signed ones, and a larger body is cut off, not stored."""

import asyncio
import mimetypes
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from gateway.metrics import MEDIA
from runtime.objectstore import FilesystemStore, attachment

# Copied of an uploaded file at a time: the whole file never sits in memory.
UPLOAD_CHUNK_BYTES = 1024 * 1024


class Media:
    def __init__(self, store: FilesystemStore, *, max_upload_bytes: int) -> None:
        self._store = store
        self._max_upload_bytes = max_upload_bytes

    async def handle(self, request: Request) -> Response:
        response = self._handle(request)
        MEDIA.labels(str(response.status_code)).inc()
        return response

    def _handle(self, request: Request) -> Response:
        key = request.path_params["key"]
        expires = request.query_params.get("expires", "")
        signature = request.query_params.get("signature", "")
        filename = request.query_params.get("filename")
        if not expires.isdigit() or not self._store.verify(
            key, expires_at=int(expires), signature=signature, filename=filename
        ):
            return PlainTextResponse("this media link is invalid or has expired", status_code=403)
        try:
            path = self._store.path(key)
        except ValueError:
            return PlainTextResponse("no such media", status_code=404)
        if not path.is_file():
            return PlainTextResponse("no such media", status_code=404)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        # The URL is the credential: private caches only, and no longer than it lives.
        headers = {"cache-control": "private, max-age=300"}
        if filename is not None:
            headers["content-disposition"] = attachment(filename)
        return FileResponse(path, media_type=content_type, headers=headers)

    async def receive(self, request: Request) -> Response:
        response = await self._receive(request)
        MEDIA.labels(f"upload-{response.status_code}").inc()
        return response

    async def _receive(self, request: Request) -> Response:
        # The signed limit is inside the body: before reading it, the body must say
        # how long it is (the server then reads no more) and be within any upload's.
        declared = request.headers.get("content-length", "")
        if not declared.isdigit():
            return PlainTextResponse("an upload needs a Content-Length", status_code=411)
        if int(declared) > self._max_upload_bytes:
            return PlainTextResponse(
                f"an upload is at most {self._max_upload_bytes} bytes", status_code=413
            )
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return PlainTextResponse("an upload is a multipart/form-data form", status_code=400)
        try:
            form = await request.form(max_files=1, max_fields=8, max_part_size=4096)
        except MultiPartException as error:
            return PlainTextResponse(f"not an upload form: {error.message}", status_code=400)
        try:
            return await self._store_upload(form)
        finally:
            await form.close()

    async def _store_upload(self, form: FormData) -> Response:
        fields = {name: value for name, value in form.items() if isinstance(value, str)}
        upload = form.get("file")
        if not self._store.verify_upload(fields):
            return PlainTextResponse("this upload link is invalid or has expired", status_code=403)
        if not isinstance(upload, UploadFile):
            return PlainTextResponse("the form has no file", status_code=400)
        limit = int(fields["max_bytes"])
        if upload.size is None or upload.size > limit:
            return PlainTextResponse(f"the file is larger than {limit} bytes", status_code=413)
        if upload.size == 0:
            return PlainTextResponse("the file is empty", status_code=400)
        try:
            path = self._store.path(fields["key"])
        except ValueError:
            return PlainTextResponse("no such upload", status_code=404)
        await asyncio.to_thread(_store_file, upload.file, path)
        return Response(status_code=204)


def _store_file(source: BinaryIO, path: Path) -> None:
    """Copies the received file to `path` whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as temporary:
        try:
            shutil.copyfileobj(source, temporary, UPLOAD_CHUNK_BYTES)
        except BaseException:
            os.unlink(temporary.name)
            raise
    os.replace(temporary.name, path)
