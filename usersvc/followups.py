"""What follows a change to an account, carried out through usersvc's outbox
(runtime.outbox) so that it happens however the rest of the system is doing: mail
to send, and what songsvc and billingsvc must be told (a new display name, a
deleted account). Each task is idempotent: the outbox may run one twice."""

from enum import StrEnum
from typing import Any

import aiosmtplib
import grpc
from sqlalchemy.ext.asyncio import AsyncConnection

from neutone.v1 import (
    billing_service_pb2,
    billing_service_pb2_grpc,
    song_service_pb2,
    song_service_pb2_grpc,
)
from runtime import outbox
from usersvc.mail import Mail, Mailer
from usersvc.tables import outbox as outbox_table

# Answers after which trying again cannot help.
PERMANENT_CODES = (grpc.StatusCode.INVALID_ARGUMENT,)


class Task(StrEnum):
    MAIL = "mail"
    RENAME_OWNER = "rename_owner"
    DELETE_OWNER_DATA = "delete_owner_data"
    DETACH_BILLING = "detach_billing"


async def schedule(db: AsyncConnection, task: Task, **payload: Any) -> int:
    """Records the task in the caller's transaction; its id."""
    return await outbox.schedule(db, outbox_table, task, payload)


async def schedule_mail(db: AsyncConnection, mail: Mail) -> int:
    return await schedule(db, Task.MAIL, to=mail.to, subject=mail.subject, body=mail.body)


class Followups:
    """The handlers of usersvc's outbox tasks."""

    def __init__(
        self,
        *,
        mailer: Mailer,
        songs: song_service_pb2_grpc.SongServiceStub,
        billing: billing_service_pb2_grpc.BillingServiceStub,
    ) -> None:
        self._mailer = mailer
        self._songs = songs
        self._billing = billing

    def handlers(self) -> dict[str, outbox.Handler]:
        return {
            Task.MAIL: self._mail,
            Task.RENAME_OWNER: self._rename_owner,
            Task.DELETE_OWNER_DATA: self._delete_owner_data,
            Task.DETACH_BILLING: self._detach_billing,
        }

    async def _mail(self, payload: outbox.Payload) -> None:
        try:
            await self._mailer.send(Mail(**payload))
        except aiosmtplib.SMTPRecipientsRefused as refused:
            raise outbox.Permanent(f"the mail server refused {payload['to']!r}") from refused

    async def _rename_owner(self, payload: outbox.Payload) -> None:
        await _call(
            self._songs.RenameOwner,
            song_service_pb2.RenameOwnerRequest(
                user_id=payload["user_id"], display_name=payload["display_name"]
            ),
        )

    async def _delete_owner_data(self, payload: outbox.Payload) -> None:
        await _call(
            self._songs.DeleteOwnerData,
            song_service_pb2.DeleteOwnerDataRequest(user_id=payload["user_id"]),
        )

    async def _detach_billing(self, payload: outbox.Payload) -> None:
        await _call(
            self._billing.DetachAccount,
            billing_service_pb2.DetachAccountRequest(user_id=payload["user_id"]),
        )


async def _call(method: Any, request: Any) -> None:
    try:
        await method(request)
    except grpc.aio.AioRpcError as error:
        if error.code() in PERMANENT_CODES:
            raise outbox.Permanent(f"{error.code().name}: {error.details()}") from error
        raise
