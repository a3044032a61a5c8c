"""songsvc's side of billing: reserve a song's credit, then commit or release it."""

from uuid import UUID

import grpc

from neutone.v1 import billing_service_pb2 as billing_pb
from neutone.v1 import billing_service_pb2_grpc
from runtime.errors import FailedPrecondition, Unavailable, error_reason

INSUFFICIENT_CREDITS = "INSUFFICIENT_CREDITS"
RESERVATION_RELEASED = "RESERVATION_RELEASED"
RESERVATION_SETTLED = "RESERVATION_SETTLED"
TRANSIENT = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


class CreditReleased(Exception):
    """The song's credit was given back (the song was deleted or failed), so it
    can no longer be charged."""


class CreditSettled(Exception):
    """The song id's credit was already spent or given back: billing never lets a
    settled reservation pay for another song under the same id."""


class Credits:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._billing = billing_service_pb2_grpc.BillingServiceStub(channel)

    async def reserve(self, *, user_id: UUID, song_id: UUID) -> None:
        try:
            await self._billing.ReserveCredits(
                billing_pb.ReserveCreditsRequest(user_id=str(user_id), song_id=str(song_id))
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
        """Gives the song's credit back unless it was already committed (the song
        was generated after all), which is not an error here."""
        try:
            await self._billing.ReleaseCredits(
                billing_pb.ReleaseCreditsRequest(song_id=str(song_id), reason=reason[:500])
            )
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.FAILED_PRECONDITION:
                raise


def _translated(error: grpc.aio.AioRpcError) -> Exception:
    if error.code() in TRANSIENT:
        return Unavailable("billing is unavailable; try again")
    return error
