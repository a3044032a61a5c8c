"""The one object-store interface: S3 through boto3 in production, a directory
on disk in the embedded default.

Media reach browsers only through time-limited URLs: S3 presigned URLs, or for
the filesystem store URLs signed with a key derived from the identity key, which
the gateway verifies before it serves the file (with HTTP Range support)."""

import asyncio
import hashlib
import hmac
import os
import tempfile
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, urlencode

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from pydantic import BaseModel, Field, SecretStr, model_validator

from runtime.settings import SecretKey


class StoreKind(StrEnum):
    FILESYSTEM = "filesystem"
    S3 = "s3"


class ObjectStoreSettings(BaseModel):
    """Object-store settings, nested in a service's settings as `object_store`
    (environment: NEUTONE_OBJECT_STORE__KIND, NEUTONE_OBJECT_STORE__S3_BUCKET, ...)."""

    kind: StoreKind = StoreKind.FILESYSTEM
    # Filesystem store: the directory objects live in (default: <data_dir>/objects).
    root: Path | None = None
    # Filesystem store: the gateway address that serves signed media URLs, and the
    # HMAC key that songsvc signs them with and the gateway checks them with.
    media_base_url: str = "http://127.0.0.1:8080/media"
    media_signing_key: SecretKey | None = None
    # Filesystem store: where browsers post uploads (the gateway, which checks the
    # signature songsvc made and the size limit it set).
    upload_base_url: str = "http://127.0.0.1:8080/uploads"
    s3_bucket: str = ""
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    # Static S3 credentials (a file each in NEUTONE_SECRETS_DIR, runtime.settings).
    # Unset: boto3's own chain (AWS_* variables, IRSA, workload identity, instance profile).
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    url_ttl_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)

    @model_validator(mode="after")
    def _static_keys_come_in_pairs(self) -> "ObjectStoreSettings":
        if (self.s3_access_key_id is None) != (self.s3_secret_access_key is None):
            raise ValueError(
                "s3_access_key_id and s3_secret_access_key are set together or not at all"
            )
        return self


@dataclass(frozen=True, slots=True)
class UploadForm:
    """Where a browser posts a file (multipart/form-data: `fields`, then `file`)."""

    url: str
    fields: dict[str, str]


class ObjectStore(Protocol):
    async def put(self, key: str, data: bytes, *, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes:
        """The object's bytes; FileNotFoundError when there is none."""
        ...

    async def size(self, key: str) -> int | None:
        """The object's size in bytes, or None when there is no such object."""

    async def delete(self, key: str) -> None:
        """Deletes the object; deleting a missing object is not an error."""

    async def keys(self, prefix: str) -> list[str]: ...

    def url(self, key: str, *, expires_at: int, filename: str | None = None) -> str:
        """A URL that serves the object until `expires_at` (Unix seconds); with a
        `filename`, as an attachment of that name (a download)."""

    def upload_form(
        self, key: str, *, content_type: str, max_bytes: int, expires_at: int
    ) -> UploadForm:
        """Where a browser posts the object itself, until `expires_at`, at most
        `max_bytes` long."""


def media_signature(signing_key: bytes, *parts: object) -> str:
    message = "\n".join(str(part) for part in parts).encode()
    return hmac.new(signing_key, message, hashlib.sha256).hexdigest()


def attachment(filename: str) -> str:
    """A Content-Disposition for a download: an ASCII fallback and the UTF-8 name."""
    fallback = filename.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


class FilesystemStore:
    def __init__(
        self, root: Path, *, media_base_url: str, upload_base_url: str, signing_key: bytes
    ) -> None:
        self.root = root
        self._base_url = media_base_url.rstrip("/")
        self._upload_url = upload_base_url.rstrip("/")
        self._signing_key = signing_key

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"object key escapes the store: {key!r}")
        return path

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        await asyncio.to_thread(self._write, self.path(key), data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        # Write then rename: a reader (or a crash) never sees half a file.
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as temporary:
            temporary.write(data)
        os.replace(temporary.name, path)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self.path(key).read_bytes)

    async def size(self, key: str) -> int | None:
        path = self.path(key)
        return path.stat().st_size if path.is_file() else None

    async def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    async def keys(self, prefix: str) -> list[str]:
        # Only the folder the prefix names is walked, not the whole store.
        folder = self.path(prefix.rpartition("/")[0]) if "/" in prefix else self.root
        if not folder.is_dir():
            return []
        root = self.root.resolve()
        found = (path.relative_to(root).as_posix() for path in folder.rglob("*") if path.is_file())
        return sorted(key for key in found if key.startswith(prefix))

    def url(self, key: str, *, expires_at: int, filename: str | None = None) -> str:
        query = {"expires": expires_at}
        if filename is not None:
            query["filename"] = filename
        signature = media_signature(self._signing_key, key, expires_at, filename or "")
        return f"{self._base_url}/{quote(key)}?{urlencode({**query, 'signature': signature})}"

    def verify(
        self, key: str, *, expires_at: int, signature: str, filename: str | None = None
    ) -> bool:
        expected = media_signature(self._signing_key, key, expires_at, filename or "")
        return expires_at > time.time() and hmac.compare_digest(expected, signature)

    def upload_form(
        self, key: str, *, content_type: str, max_bytes: int, expires_at: int
    ) -> UploadForm:
        fields = {
            "key": key,
            "content_type": content_type,
            "max_bytes": str(max_bytes),
            "expires": str(expires_at),
        }
        fields["signature"] = self._upload_signature(fields)
        return UploadForm(url=self._upload_url, fields=fields)

    def verify_upload(self, fields: dict[str, str]) -> bool:
        """Whether a posted form is one `upload_form` made, still valid."""
        expires = fields.get("expires", "")
        if not expires.isdigit() or int(expires) <= time.time():
            return False
        return hmac.compare_digest(self._upload_signature(fields), fields.get("signature", ""))

    def _upload_signature(self, fields: dict[str, str]) -> str:
        return media_signature(
            self._signing_key,
            "upload",
            fields.get("key", ""),
            fields.get("content_type", ""),
            fields.get("max_bytes", ""),
            fields.get("expires", ""),
        )


class S3Store:
    def __init__(self, settings: ObjectStoreSettings) -> None:
        if not settings.s3_bucket:
            raise ValueError("object_store.s3_bucket is required for the S3 store")
        self._bucket = settings.s3_bucket
        # Without static keys boto3 finds credentials the standard way.
        static = settings.s3_access_key_id, settings.s3_secret_access_key
        self._client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=static[0].get_secret_value() if static[0] else None,
            aws_secret_access_key=static[1].get_secret_value() if static[1] else None,
            config=BotoConfig(retries={"mode": "standard", "max_attempts": 5}),
        )

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        await asyncio.to_thread(
            self._client.put_object,
            Bucket=self._bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
        )

    async def get(self, key: str) -> bytes:
        try:
            reply = await asyncio.to_thread(self._client.get_object, Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                raise FileNotFoundError(key) from error
            raise
        return await asyncio.to_thread(reply["Body"].read)

    async def size(self, key: str) -> int | None:
        try:
            reply = await asyncio.to_thread(self._client.head_object, Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(reply["ContentLength"])

    async def delete(self, key: str) -> None:
        try:
            await asyncio.to_thread(self._client.delete_object, Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "NoSuchKey":
                raise

    async def keys(self, prefix: str) -> list[str]:
        def list_keys() -> list[str]:
            paginator = self._client.get_paginator("list_objects_v2")
            pages = paginator.paginate(Bucket=self._bucket, Prefix=prefix)
            return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

        return await asyncio.to_thread(list_keys)

    def url(self, key: str, *, expires_at: int, filename: str | None = None) -> str:
        params = {"Bucket": self._bucket, "Key": key}
        if filename is not None:
            params["ResponseContentDisposition"] = attachment(filename)
        return self._client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=max(1, expires_at - int(time.time()))
        )

    def upload_form(
        self, key: str, *, content_type: str, max_bytes: int, expires_at: int
    ) -> UploadForm:
        # S3 itself refuses a larger file or another type (the policy's conditions).
        post = self._client.generate_presigned_post(
            self._bucket,
            key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=max(1, expires_at - int(time.time())),
        )
        return UploadForm(url=post["url"], fields=dict(post["fields"]))


def open_object_store(settings: ObjectStoreSettings, *, data_dir: Path) -> ObjectStore:
    if settings.kind is StoreKind.S3:
        return S3Store(settings)
    if settings.media_signing_key is None:
        raise SystemExit(
            "invalid settings: NEUTONE_OBJECT_STORE__MEDIA_SIGNING_KEY is required "
            "for the filesystem object store"
        )
    return FilesystemStore(
        settings.root or data_dir / "objects",
        media_base_url=settings.media_base_url,
        upload_base_url=settings.upload_base_url,
        signing_key=settings.media_signing_key.get_secret_value().encode(),
    )
