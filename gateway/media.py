"""GET /media/<key>: objects of the filesystem store behind the signed,
time-limited URLs that songsvc hands out (embedded mode; production uses S3
presigned URLs and never reaches this). Range requests get 206 or 416, which
browsers need to seek in audio."""

import mimetypes

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from gateway.metrics import MEDIA
from runtime.objectstore import FilesystemStore


class Media:
    def __init__(self, store: FilesystemStore) -> None:
        self._store = store

    async def handle(self, request: Request) -> Response:
        response = self._handle(request)
        MEDIA.labels(str(response.status_code)).inc()
        return response

    def _handle(self, request: Request) -> Response:
        key = request.path_params["key"]
        expires = request.query_params.get("expires", "")
        signature = request.query_params.get("signature", "")
        if not expires.isdigit() or not self._store.verify(
            key, expires_at=int(expires), signature=signature
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
        return FileResponse(
            path,
            media_type=content_type,
            headers={"cache-control": "private, max-age=300"},
        )
