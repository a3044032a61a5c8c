"""Audio people bring, to extend, repaint or cover, or to take a style from.

The browser posts the file straight to the object store (an S3 presigned POST
whose policy holds the size limit; for the filesystem store, a form the gateway
receives with the same checks), then CompleteUpload reads it back and decodes it
whole: only audio that decodes, within the size and length limits, becomes
READY; anything else is deleted with the reason. Uploads no song was made from
are deleted when they expire."""

import io
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import PurePath
from uuid import UUID, uuid4

import soundfile
import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from engines import limits
from neutone.v1 import upload_pb2
from runtime.database import Database
from runtime.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Violations,
)
from runtime.messages import timestamp
from runtime.objectstore import ObjectStore, UploadForm
from runtime.threads import BoundedThreads, Busy
from songsvc.tables import songs, uploads

log = structlog.get_logger()

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# What the model tier can work on.
MAX_UPLOAD_SECONDS = limits.MAX_EDIT_DURATION_SECONDS
MAX_FILENAME_CHARS = 200
# What browsers call the formats libsndfile decodes.
CONTENT_TYPES = frozenset(
    {
        "audio/wav",
        "audio/x-wav",
        "audio/wave",
        "audio/flac",
        "audio/x-flac",
        "audio/mpeg",
        "audio/ogg",
    }
)
# libsndfile's names of the formats an upload may be in.
ACCEPTED_FORMATS = frozenset({"WAV", "FLAC", "MP3", "OGG"})
# How long the browser has to post the file.
POST_SECONDS = 15 * 60


class UploadStatus:
    PENDING = "pending"
    READY = "ready"


STATUS_MESSAGES = {
    UploadStatus.PENDING: upload_pb2.UPLOAD_STATUS_PENDING,
    UploadStatus.READY: upload_pb2.UPLOAD_STATUS_READY,
}


@dataclass(frozen=True, slots=True)
class Upload:
    id: UUID
    owner_id: UUID
    status: str
    filename: str
    content_type: str
    declared_size_bytes: int
    size_bytes: int
    duration_seconds: float
    object_key: str
    create_time: datetime
    expire_time: datetime

    @classmethod
    def from_row(cls, row: sa.Row) -> "Upload":
        return cls(**{name: getattr(row, name) for name in cls.__slots__})

    @property
    def title(self) -> str:
        """A title for what is made from it: the file's name without its suffix."""
        return PurePath(self.filename).stem or "Upload"

    def to_message(self) -> upload_pb2.Upload:
        return upload_pb2.Upload(
            id=str(self.id),
            status=STATUS_MESSAGES[self.status],
            filename=self.filename,
            size_bytes=self.size_bytes,
            duration_seconds=self.duration_seconds,
            create_time=timestamp(self.create_time),
            expire_time=timestamp(self.expire_time),
        )


class Uploads:
    def __init__(
        self,
        database: Database,
        objects: ObjectStore,
        *,
        keep_unused_seconds: float,
        checks_at_once: int,
    ) -> None:
        self._db = database
        self._objects = objects
        self._keep_unused = timedelta(seconds=keep_unused_seconds)
        # Each check holds a whole file, up to 50 MB, decoded: a few at a time.
        self._checks = BoundedThreads(checks_at_once, name="upload-check", typical_seconds=1.0)

    async def create(
        self, owner_id: UUID, *, filename: str, size_bytes: int, content_type: str
    ) -> tuple[Upload, UploadForm, datetime]:
        check = Violations()
        filename = check.text("filename", filename, max_length=MAX_FILENAME_CHARS)
        check.integer("size_bytes", size_bytes, minimum=1, maximum=MAX_UPLOAD_BYTES)
        content_type = content_type.strip().lower()
        if content_type not in CONTENT_TYPES:
            check.add("content_type", "must be one of " + ", ".join(sorted(CONTENT_TYPES)))
        check.raise_if_any()
        upload_id = uuid4()
        key = f"uploads/{upload_id}/original"
        now = datetime.now(UTC)
        post_until = now + timedelta(seconds=POST_SECONDS)
        form = self._objects.upload_form(
            key,
            content_type=content_type,
            max_bytes=size_bytes,
            expires_at=int(post_until.timestamp()),
        )
        async with self._db.transaction() as db:
            row = (
                await db.execute(
                    sa.insert(uploads)
                    .values(
                        id=upload_id,
                        owner_id=owner_id,
                        status=UploadStatus.PENDING,
                        filename=filename,
                        content_type=content_type,
                        declared_size_bytes=size_bytes,
                        object_key=key,
                        expire_time=now + self._keep_unused,
                    )
                    .returning(uploads)
                )
            ).one()
        return Upload.from_row(row), form, post_until

    async def complete(self, owner_id: UUID, upload_id: UUID, *, finish_by: float | None) -> Upload:
        upload = await self._owned(owner_id, upload_id, field="upload_id")
        if upload.status == UploadStatus.READY:
            return upload
        size = await self._objects.size(upload.object_key)
        if size is None:
            raise FailedPrecondition(
                "nothing was posted to the upload URL yet", reason="NOT_UPLOADED"
            )
        if size > upload.declared_size_bytes:
            await self._reject(
                upload, f"is {size} bytes, more than the {upload.declared_size_bytes} declared"
            )
        data = await self._objects.get(upload.object_key)
        try:
            problem, duration = await self._checks.run(
                lambda: _check_audio(data), finish_by=finish_by
            )
        except Busy as busy:
            raise ResourceExhausted(
                "too many uploads are being checked; try again shortly",
                reason="UPLOAD_CHECKS_BUSY",
                retry_after_seconds=math.ceil(busy.retry_after_seconds),
            ) from None
        if problem is not None:
            await self._reject(upload, problem)
        async with self._db.transaction() as db:
            row = (
                await db.execute(
                    sa.update(uploads)
                    .where(uploads.c.id == upload.id)
                    .values(status=UploadStatus.READY, size_bytes=size, duration_seconds=duration)
                    .returning(uploads)
                )
            ).one()
        return Upload.from_row(row)

    async def ready(self, owner_id: UUID, upload_id: UUID, *, field: str) -> Upload:
        """The caller's upload, once it is READY: a source or a style reference."""
        upload = await self._owned(owner_id, upload_id, field=field)
        if upload.status != UploadStatus.READY:
            raise FailedPrecondition(
                f"{field}: the upload is not complete; call CompleteUpload first",
                reason="UPLOAD_NOT_READY",
            )
        return upload

    async def prune(self) -> int:
        """Deletes expired uploads no song was made from; how many."""
        return await self._delete_found(_expired_unused())

    async def delete_owned(self, owner_id: UUID) -> int:
        """Deletes every upload of the owner's (a deleted account); how many."""
        return await self._delete_found(sa.select(uploads).where(uploads.c.owner_id == owner_id))

    async def _delete_found(self, query: sa.Select) -> int:
        """Deletes the uploads `query` finds, each file before its row: a row that is
        gone leaves no file behind."""
        async with self._db.connection() as db:
            found = [Upload.from_row(row) for row in await db.execute(query)]
        for upload in found:
            await self._objects.delete(upload.object_key)
            async with self._db.transaction() as db:
                await _delete(db, upload.id)
        return len(found)

    async def _owned(self, owner_id: UUID, upload_id: UUID, *, field: str) -> Upload:
        async with self._db.connection() as db:
            row = (await db.execute(sa.select(uploads).where(uploads.c.id == upload_id))).first()
        if row is None or row.owner_id != owner_id:
            raise NotFound(f"{field}: no such upload", reason="UPLOAD_NOT_FOUND")
        return Upload.from_row(row)

    async def _reject(self, upload: Upload, problem: str) -> None:
        """Deletes the upload and its file: nothing of a refused upload stays."""
        await self._objects.delete(upload.object_key)
        async with self._db.transaction() as db:
            await _delete(db, upload.id)
        raise InvalidArgument({"file": problem})


def _check_audio(data: bytes) -> tuple[str | None, float]:
    """Why the file is not usable audio (None when it is), and its length."""
    try:
        info = soundfile.info(io.BytesIO(data))
    except (soundfile.LibsndfileError, RuntimeError, TypeError):
        return "is not audio that can be decoded (WAV, FLAC, MP3 or OGG)", 0.0
    if info.format not in ACCEPTED_FORMATS:
        return f"is {info.format_info}; only WAV, FLAC, MP3 and OGG are accepted", 0.0
    if not 1 <= info.channels <= 2:
        return f"has {info.channels} channels; mono or stereo only", 0.0
    if info.duration > MAX_UPLOAD_SECONDS:
        return f"lasts {info.duration:.0f} s; at most {MAX_UPLOAD_SECONDS:.0f} s", 0.0
    try:
        # Decode it whole: a truncated or corrupt file must fail here, not in the model.
        frames = soundfile.read(io.BytesIO(data), dtype="float32")[0]
    except (soundfile.LibsndfileError, RuntimeError):
        return "is damaged: it does not decode to its end", 0.0
    if len(frames) == 0:
        return "holds no audio", 0.0

    return None, len(frames) / info.samplerate


async def object_key(db: AsyncConnection, upload_id: UUID) -> str | None:
    """Where a ready upload's file is; None once it is gone."""
    return await db.scalar(
        sa.select(uploads.c.object_key).where(
            uploads.c.id == upload_id, uploads.c.status == UploadStatus.READY
        )
    )


def _expired_unused() -> sa.Select:
    used = sa.select(songs.c.id).where(
        sa.or_(
            songs.c.source_upload_id == uploads.c.id, songs.c.reference_upload_id == uploads.c.id
        )
    )
    return sa.select(uploads).where(uploads.c.expire_time < sa.func.now(), ~sa.exists(used))


async def _delete(db: AsyncConnection, upload_id: UUID) -> None:
    await db.execute(sa.delete(uploads).where(uploads.c.id == upload_id))
