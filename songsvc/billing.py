"""songsvc's side of billing: reserve a song's credit, then commit or release it."""

from collections.abc import AsyncIterator
from datetime import datetime
from uuid import UUID

import grpc

from neutone.v1 import billing_pb2, billing_service_pb2_grpc
from neutone.v1 import billing_service_pb2 as billing_pb
from runtime.errors import FailedPrecondition, Unavailable, error_reason
from runtime.messages import timestamp

INSUFFICIENT_CREDITS = "INSUFFICIENT_CREDITS"
RESERVATION_RELEASED = "RESERVATION_RELEASED"
RESERVATION_SETTLED = "RESERVATION_SETTLED"
TRANSIENT = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
RESERVATIONS_PAGE_SIZE = 500


class CreditReleased(Exception):
    """The song's credit was given back (the song was deleted or failed), so it
    can no longer be charged."""


class CreditSettled(Exception):
    """The song id's credit was already spent or given back: billing never lets a
    settled reservation pay for another song under the same id."""


class Credits:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._billing = billing_service_pb2_grpc.BillingServiceStub(channel)

    async def reserve(self, *, user_id: UUID, song_ids: list[UUID]) -> None:
        """A credit for each song, all reserved or none."""
        first, *others = song_ids
        try:
            await self._billing.ReserveCredits(
                billing_pb.ReserveCreditsRequest(
                    user_id=str(user_id),
                    song_id=str(first),
                    other_song_ids=[str(other) for other in others],
                )
            )
        except grpc.aio.AioRpcError as error:
            reason = error_reason(error)
            if reason == INSUFFICIENT_CREDITS:
                raise FailedPrecondition(
                    "not enough credits to create a song", reason=INSUFFICIENT_CREDITS
                ) from error
            if reason == RESERVATION_SETTLED:
                raise CreditSettled(error.details()) from error
            raise _translated(error) from error

    async def commit(self, song_id: UUID) -> None:
        try:
            await self._billing.CommitCredits(billing_pb.CommitCreditsRequest(song_id=str(song_id)))
        except grpc.aio.AioRpcError as error:
            if error_reason(error) == RESERVATION_RELEASED:
                raise CreditReleased(error.details()) from error
            raise

    async def release(self, song_id: UUID, reason: str) -> None:
        """Gives back the credit of a song that will never be READY (deleted before,
        failed, or never saved): billing refunds it even if a commit racing the
        deletion landed first, and will refuse any later commit. Done as well when
        nothing was reserved for the song; other failures raise."""
        try:
            await self._billing.ReleaseCredits(
                billing_pb.ReleaseCreditsRequest(
                    song_id=str(song_id), reason=reason[:500], song_abandoned=True
                )
            )
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise

    async def held_reservations(self, *, created_before: datetime) -> AsyncIterator[list[UUID]]:
        """Pages of the song ids whose credit is still reserved since before then."""
        request = billing_pb.ListReservationsRequest(
            state=billing_pb2.RESERVATION_STATE_RESERVED,
            create_time_before=timestamp(created_before),
            page_size=RESERVATIONS_PAGE_SIZE,
        )
        while True:
            reply = await self._billing.ListReservations(request)
            yield [UUID(reservation.song_id) for reservation in reply.reservations]
            if not reply.next_page_token:
                return
            request.page_token = reply.next_page_token


def _translated(error: grpc.aio.AioRpcError) -> Exception:
    if error.code() in TRANSIENT:
        return Unavailable("billing is unavailable; try again")
    return error
