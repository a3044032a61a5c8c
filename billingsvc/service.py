"""BillingService: balances, the ledger, products, checkout, song reservations
and payment webhooks. User RPCs act on the caller's own account (from the
identity token); internal RPCs are for services only (the interceptor enforces
the contract's access levels)."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from uuid import UUID

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from billingsvc import events, refunds
from billingsvc.ledger import Ledger, PaymentChange, Purchase
from billingsvc.provider import PaymentProvider
from billingsvc.settings import MAX_URL_LENGTH, BillingServiceSettings
from billingsvc.store import Entry, Reservation
from billingsvc.tables import EntryKind, ReservationState
from neutone.v1 import billing_pb2, billing_service_pb2, billing_service_pb2_grpc
from runtime.context import require_service, require_user
from runtime.errors import InvalidArgument, Unauthenticated, Violations
from runtime.keys import USER_SIGNER
from runtime.messages import timestamp
from runtime.pagination import PageTokens, SerialPosition, TimePosition, page_size

MAX_PAYLOAD_BYTES = 1024 * 1024
MAX_HEADERS = 64
MAX_HEADER_NAME_LENGTH = 256
MAX_HEADER_VALUE_LENGTH = 8192
MAX_REASON_LENGTH = 500
MAX_PRODUCT_ID_LENGTH = 100
# A CreateSong makes at most four takes: one song id and three others.
MAX_OTHER_TAKES = 3
# ListReservations pages are larger than the user-facing lists': reconciliation
# walks them in bulk (AIP-158 limits of its own).
DEFAULT_RESERVATION_PAGE_SIZE = 100
MAX_RESERVATION_PAGE_SIZE = 1000

TRANSACTION_KINDS = {
    EntryKind.WELCOME_GRANT: billing_pb2.TRANSACTION_KIND_WELCOME_GRANT,
    EntryKind.PURCHASE: billing_pb2.TRANSACTION_KIND_PURCHASE,
    EntryKind.SONG_CHARGE: billing_pb2.TRANSACTION_KIND_SONG_CHARGE,
    EntryKind.SONG_REFUND: billing_pb2.TRANSACTION_KIND_SONG_REFUND,
    EntryKind.PURCHASE_REFUND: billing_pb2.TRANSACTION_KIND_PURCHASE_REFUND,
    EntryKind.CHARGEBACK: billing_pb2.TRANSACTION_KIND_CHARGEBACK,
}
RESERVATION_STATES = {
    ReservationState.RESERVED: billing_pb2.RESERVATION_STATE_RESERVED,
    ReservationState.COMMITTED: billing_pb2.RESERVATION_STATE_COMMITTED,
    ReservationState.RELEASED: billing_pb2.RESERVATION_STATE_RELEASED,
}
STATES_BY_MESSAGE = {message: state for state, message in RESERVATION_STATES.items()}


def transaction_message(entry: Entry) -> billing_pb2.Transaction:
    return billing_pb2.Transaction(
        id=str(entry.id),
        kind=TRANSACTION_KINDS[entry.kind],
        amount=entry.amount,
        balance_after=entry.balance_after,
        description=entry.description,
        song_id=str(entry.song_id) if entry.song_id else "",
        create_time=timestamp(entry.create_time),
    )


def reservation_message(reservation: Reservation) -> billing_pb2.Reservation:
    return billing_pb2.Reservation(
        song_id=str(reservation.song_id),
        user_id=str(reservation.account_id),
        credits=reservation.credits,
        state=RESERVATION_STATES[reservation.state],
        create_time=timestamp(reservation.create_time),
    )


def check_state_filter(check: Violations, value: int) -> ReservationState | None:
    """The state a list is filtered by; None (every state) for UNSPECIFIED."""
    if value == billing_pb2.RESERVATION_STATE_UNSPECIFIED:
        return None
    if value not in STATES_BY_MESSAGE:
        names = ", ".join(billing_pb2.ReservationState.keys())
        check.add("state", f"must be one of {names}")
        return None
    return STATES_BY_MESSAGE[value]


def check_time(check: Violations, field: str, value: Timestamp) -> datetime:
    """A Timestamp as an aware datetime, rounded up to the database's microseconds
    so that "before" keeps its meaning."""
    if not 0 <= value.nanos <= 999_999_999:
        check.add(field, "must have nanos between 0 and 999999999")
        return datetime.now(UTC)
    try:
        moment = value.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        check.add(field, "must be between 0001-01-01 and 9999-12-31")
        return datetime.now(UTC)
    if value.nanos % 1000 and moment < datetime.max.replace(tzinfo=UTC):
        moment += timedelta(microseconds=1)
    return moment


def caller_account() -> UUID:
    user = require_user()
    try:
        return UUID(user.subject)
    except ValueError:
        raise Unauthenticated("the identity token names no account") from None


def check_url(check: Violations, field: str, value: str, *, default: str) -> str:
    """An absolute http(s) URL, or `default` when empty."""
    if not value:
        return default
    if len(value) > MAX_URL_LENGTH:
        check.add(field, f"must be at most {MAX_URL_LENGTH} characters")
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        check.add(field, "must be an absolute http:// or https:// URL")
    elif any(ord(char) <= 32 or ord(char) == 127 for char in value):
        check.add(field, "must not contain spaces or control characters")
    return value


class BillingService(billing_service_pb2_grpc.BillingServiceServicer):
    def __init__(
        self, *, ledger: Ledger, provider: PaymentProvider, settings: BillingServiceSettings
    ) -> None:
        self._ledger = ledger
        self._provider = provider
        self._settings = settings
        self._page_tokens = PageTokens(settings.page_token_key)
        self._webhook_secret = settings.payment_webhook_secret.get_secret_value()

    async def GetBalance(
        self, request: billing_service_pb2.GetBalanceRequest, context: grpc.aio.ServicerContext
    ) -> billing_service_pb2.GetBalanceResponse:
        balance = await self._ledger.balance(caller_account())
        return billing_service_pb2.GetBalanceResponse(balance=balance)

    async def ListTransactions(
        self,
        request: billing_service_pb2.ListTransactionsRequest,
        context: grpc.aio.ServicerContext,
    ) -> billing_service_pb2.ListTransactionsResponse:
        account_id = caller_account()
        # The account is part of the query: a token from another account is refused.
        query = {"listing": "transactions", "account": str(account_id)}
        check = Violations()
        size = page_size(check, request.page_size)
        after = self._page_tokens.decode(
            check, request.page_token, query=query, shape=SerialPosition
        )
        check.raise_if_any()

        found = await self._ledger.entries(
            account_id, before_id=after.id if after else None, limit=size + 1
        )
        page = found[:size]
        next_token = (
            self._page_tokens.encode(SerialPosition(id=page[-1].id), query=query)
            if len(found) > size
            else ""
        )
        return billing_service_pb2.ListTransactionsResponse(
            transactions=[transaction_message(entry) for entry in page],
            next_page_token=next_token,
        )

    async def ListProducts(
        self, request: billing_service_pb2.ListProductsRequest, context: grpc.aio.ServicerContext
    ) -> billing_service_pb2.ListProductsResponse:
        return billing_service_pb2.ListProductsResponse(
            products=[
                billing_pb2.Product(
                    id=product.id,
                    display_name=product.display_name,
                    credits=product.credits,
                    price_minor_units=product.price_minor_units,
                    currency=product.currency,
                )
                for product in self._settings.products
            ]
        )

    async def CreateCheckoutSession(
        self,
        request: billing_service_pb2.CreateCheckoutSessionRequest,
        context: grpc.aio.ServicerContext,
    ) -> billing_service_pb2.CreateCheckoutSessionResponse:
        account_id = caller_account()
        check = Violations()
        success_url = check_url(
            check, "success_url", request.success_url, default=self._settings.default_success_url
        )
        product_id = check.text("product_id", request.product_id, max_length=MAX_PRODUCT_ID_LENGTH)
        product = self._settings.product(product_id)
        if product is None:
            # An empty id keeps its "is required"; any other is told the choices.
            names = ", ".join(known.id for known in self._settings.products)
            check.add("product_id", f"must be one of {names}")
            check.raise_if_any()  # raises, with any success_url violation too
        check.raise_if_any()

        await self._ledger.open_account(account_id)
        url = await self._provider.create_checkout(
            account_id=account_id, product=product, success_url=success_url
        )
        return billing_service_pb2.CreateCheckoutSessionResponse(checkout_url=url)

    async def CreatePortalSession(
        self,
        request: billing_service_pb2.CreatePortalSessionRequest,
        context: grpc.aio.ServicerContext,
    ) -> billing_service_pb2.CreatePortalSessionResponse:
        account_id = caller_account()
        check = Violations()
        return_url = check_url(
            check, "return_url", request.return_url, default=self._settings.default_return_url
        )
        check.raise_if_any()

        await self._ledger.open_account(account_id)
        url = await self._provider.create_portal(account_id=account_id, return_url=return_url)
        return billing_service_pb2.CreatePortalSessionResponse(portal_url=url)

    async def ReserveCredits(
        self,
        request: billing_service_pb2.ReserveCreditsRequest,
        context: grpc.aio.ServicerContext,
    ) -> billing_service_pb2.ReserveCreditsResponse:
        check = Violations()
        user_id = check.uuid("user_id", request.user_id)
        song_id = check.uuid("song_id", request.song_id)
        if len(request.other_song_ids) > MAX_OTHER_TAKES:
            check.add("other_song_ids", f"must hold at most {MAX_OTHER_TAKES} song ids")
        others = [
            check.uuid(f"other_song_ids[{index}]", other)
            for index, other in enumerate(request.other_song_ids[:MAX_OTHER_TAKES])
        ]
        if len({song_id, *others}) != 1 + len(others):
            check.add("other_song_ids", "must not repeat a song id")
        check.raise_if_any()

        reservation, balance = await self._ledger.reserve(
            account_id=UUID(user_id), song_ids=[UUID(song_id), *(UUID(other) for other in others)]
        )
        return billing_service_pb2.ReserveCreditsResponse(
            reservation=reservation_message(reservation), balance=balance
        )

    async def CommitCredits(
        self, request: billing_service_pb2.CommitCreditsRequest, context: grpc.aio.ServicerContext
    ) -> billing_service_pb2.CommitCreditsResponse:
        check = Violations()
        song_id = check.uuid("song_id", request.song_id)
        check.raise_if_any()

        reservation = await self._ledger.commit(UUID(song_id))
        return billing_service_pb2.CommitCreditsResponse(
            reservation=reservation_message(reservation)
        )

    async def ReleaseCredits(
        self,
        request: billing_service_pb2.ReleaseCreditsRequest,
        context: grpc.aio.ServicerContext,
    ) -> billing_service_pb2.ReleaseCreditsResponse:
        check = Violations()
        song_id = check.uuid("song_id", request.song_id)
        reason = check.text("reason", request.reason, max_length=MAX_REASON_LENGTH, min_length=0)
        check.raise_if_any()

        reservation = await self._ledger.release(
            UUID(song_id), reason=reason, song_abandoned=request.song_abandoned
        )
        return billing_service_pb2.ReleaseCreditsResponse(
            reservation=reservation_message(reservation)
        )

    async def ListReservations(
        self,
        request: billing_service_pb2.ListReservationsRequest,
        context: grpc.aio.ServicerContext,
    ) -> billing_service_pb2.ListReservationsResponse:
        check = Violations()
        size = request.page_size or DEFAULT_RESERVATION_PAGE_SIZE
        check.integer("page_size", size, minimum=1, maximum=MAX_RESERVATION_PAGE_SIZE)
        state = check_state_filter(check, request.state)
        created_before = (
            check_time(check, "create_time_before", request.create_time_before)
            if request.HasField("create_time_before")
            else None
        )
        # The filters are part of the query: a token from another filter is refused.
        query = {
            "listing": "reservations",
            "state": request.state,
            "before": created_before.isoformat() if created_before else "",
        }
        after = self._page_tokens.decode(check, request.page_token, query=query, shape=TimePosition)
        check.raise_if_any()

        found = await self._ledger.reservations(
            state=state, created_before=created_before, after=after, limit=size + 1
        )
        page = found[:size]
        next_token = ""
        if len(found) > size:
            last = page[-1]
            next_token = self._page_tokens.encode(
                TimePosition(time=last.create_time, id=last.song_id), query=query
            )
        return billing_service_pb2.ListReservationsResponse(
            reservations=[reservation_message(reservation) for reservation in page],
            next_page_token=next_token,
        )

    async def DetachAccount(
        self,
        request: billing_service_pb2.DetachAccountRequest,
        context: grpc.aio.ServicerContext,
    ) -> billing_service_pb2.DetachAccountResponse:
        # Accounts are usersvc's: only it may say one was deleted.
        require_service(USER_SIGNER)
        check = Violations()
        user_id = check.uuid("user_id", request.user_id)
        check.raise_if_any()
        await self._ledger.detach(UUID(user_id))
        return billing_service_pb2.DetachAccountResponse()

    async def ApplyPaymentEvent(
        self,
        request: billing_service_pb2.ApplyPaymentEventRequest,
        context: grpc.aio.ServicerContext,
    ) -> billing_service_pb2.ApplyPaymentEventResponse:
        check = Violations()
        if not request.payload:
            check.add("payload", "is required")
        elif len(request.payload) > MAX_PAYLOAD_BYTES:
            check.add("payload", f"must be at most {MAX_PAYLOAD_BYTES} bytes (1 MiB)")
        if len(request.headers) > MAX_HEADERS:
            check.add("headers", f"must hold at most {MAX_HEADERS} headers")
        elif any(
            len(name) > MAX_HEADER_NAME_LENGTH or len(value) > MAX_HEADER_VALUE_LENGTH
            for name, value in request.headers.items()
        ):
            check.add(
                "headers",
                f"names must be at most {MAX_HEADER_NAME_LENGTH} and values at most "
                f"{MAX_HEADER_VALUE_LENGTH} characters",
            )
        check.raise_if_any()

        event = events.verify(self._webhook_secret, request.payload, request.headers)
        applied = await self._ledger.apply_payment(event, self._change(event))
        return billing_service_pb2.ApplyPaymentEventResponse(event_id=event.id, applied=applied)

    def _change(self, event: events.VerifiedEvent) -> PaymentChange | None:
        """What the event asks of the ledger; None for the types billing only records."""
        if event.type == events.ORDER_PAID:
            return self._purchase(event)
        if event.type == refunds.ORDER_REFUNDED:
            return refunds.refunded_order(event)
        if event.type in refunds.REFUND_EVENT_TYPES:
            return refunds.refund(event)
        return None

    def _purchase(self, event: events.VerifiedEvent) -> Purchase:
        order = events.paid_order(event)
        product = self._settings.product(order.product_id)
        if product is None:
            raise InvalidArgument(
                {
                    f"payload.data.metadata.{events.PRODUCT_METADATA_KEY}": (
                        f"names no product for sale: {order.product_id!r}"
                    )
                }
            )
        return Purchase(
            order_id=order.order_id,
            account_id=order.account_id,
            credits=product.credits,
            description=f"Bought {product.display_name}",
            paid_amount=order.paid_amount,
        )
