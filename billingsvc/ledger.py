"""The credit ledger's rules: lazy accounts with a welcome grant, song
reservations charged at most once, purchases granted once per order, and
refunded or disputed purchases taken back once.

Every change happens in one transaction that holds the account's lock, so
concurrent writers for one account queue up. Only a clawback (the credits of a
refunded purchase, spent before the refund came) can leave a balance below zero;
a song is never charged from one (the entries' balance constraint is the last
line of defence)."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from billingsvc import clawbacks, store
from billingsvc.events import VerifiedEvent
from billingsvc.refunds import Refund, RefundedOrder
from billingsvc.tables import EntryKind, ReservationState
from runtime.database import Database
from runtime.errors import FailedPrecondition, NotFound
from runtime.pagination import TimePosition

INSUFFICIENT_CREDITS = "INSUFFICIENT_CREDITS"
ACCOUNT_DELETED = "ACCOUNT_DELETED"
RESERVATION_SETTLED = "RESERVATION_SETTLED"


@dataclass(frozen=True, slots=True)
class Purchase:
    """Credits bought: granted once per provider order."""

    order_id: str
    account_id: UUID
    credits: int
    description: str
    # What the provider's refunds of the order are measured against (minor units).
    paid_amount: int


# What a verified payment event asks of the ledger.
PaymentChange = Purchase | RefundedOrder | Refund


class Ledger:
    def __init__(self, database: Database, *, welcome_grant: int, song_cost: int) -> None:
        self._db = database
        self._welcome_grant = welcome_grant
        self._song_cost = song_cost

    async def balance(self, account_id: UUID) -> int:
        async with self._db.connection() as db:
            found = await store.balance(db, account_id)
        if found is not None:
            return found
        async with self._db.transaction() as db:
            return await self._lock(db, account_id)

    async def entries(
        self,
        account_id: UUID,
        *,
        before_id: int | None,
        limit: int,
        kinds: tuple[EntryKind, ...] = tuple(EntryKind),
    ) -> list[store.Entry]:
        # The first look at an account opens it, so its welcome grant is listed.
        await self.balance(account_id)
        async with self._db.connection() as db:
            return await store.list_entries(
                db, account_id, before_id=before_id, limit=limit, kinds=kinds
            )

    async def open_account(self, account_id: UUID) -> None:
        await self.balance(account_id)

    async def reserve(
        self, *, account_id: UUID, song_ids: list[UUID]
    ) -> tuple[store.Reservation, int]:
        """Reserves a credit for each song, all or none; the first song's reservation
        (the held one on a repeated call) and the balance. A song id whose credit was
        already spent or given back is refused: it must never back a new song for free."""
        async with self._db.transaction() as db:
            balance = await self._lock(db, account_id)
            if await store.is_detached(db, account_id):
                raise FailedPrecondition("the account was deleted", reason=ACCOUNT_DELETED)
            reservations: dict[UUID, store.Reservation] = {}
            for song_id in song_ids:
                existing = await store.get_reservation(db, song_id)
                if existing is not None:
                    reservations[song_id] = _held(_owned(existing, account_id))
            new = [song_id for song_id in song_ids if song_id not in reservations]
            cost = self._song_cost * len(new)
            if balance < cost:
                raise FailedPrecondition(
                    f"{len(new)} song(s) cost {cost} credit(s); the balance is {balance}",
                    reason=INSUFFICIENT_CREDITS,
                    metadata={"balance": str(balance), "cost": str(cost)},
                )
            for song_id in new:
                reservation = await store.insert_reservation(
                    db, song_id=song_id, account_id=account_id, credits=self._song_cost
                )
                if reservation is None:
                    # Reserved meanwhile under another account's lock: never ours.
                    raise _taken_by_another_account(song_id)
                balance -= reservation.credits
                await store.append_entry(
                    db,
                    account_id=account_id,
                    kind=EntryKind.SONG_CHARGE,
                    amount=-reservation.credits,
                    balance_after=balance,
                    idempotency_key=f"charge:{song_id}",
                    description="Song generation",
                    song_id=song_id,
                )
                reservations[song_id] = reservation
            return reservations[song_ids[0]], balance

    async def detach(self, account_id: UUID) -> None:
        """The person deleted their account: its entries stay (the books must add
        up, and refunds of its orders may still come), the personal data kept about
        it goes, and it reserves no more credits. Idempotent."""
        async with self._db.transaction() as db:
            await store.lock_account(db, account_id)
            await store.detach_account(db, account_id)

    async def commit(self, song_id: UUID) -> store.Reservation:
        async with self._db.transaction() as db:
            reservation = await _reservation(db, song_id, for_update=True)
            if reservation.state is ReservationState.RELEASED:
                raise FailedPrecondition(
                    "the song's credit was already given back", reason="RESERVATION_RELEASED"
                )
            if reservation.state is ReservationState.COMMITTED:
                return reservation
            return await store.settle_reservation(db, song_id, state=ReservationState.COMMITTED)

    async def release(
        self, song_id: UUID, *, reason: str, song_abandoned: bool = False
    ) -> store.Reservation:
        """Gives the song's credit back, once. A committed credit comes back only
        when the song is abandoned (it will never be READY: deleted before, failed,
        never saved), for a commit may race its end: such a song was never delivered."""
        async with self._db.transaction() as db:
            # Lock order account -> reservation, as in `reserve`, so the two never deadlock.
            found = await _reservation(db, song_id)
            balance = await store.lock_account(db, found.account_id)
            reservation = await _reservation(db, song_id, for_update=True)
            if reservation.state is ReservationState.RELEASED:
                return reservation
            if reservation.state is ReservationState.COMMITTED and not song_abandoned:
                raise FailedPrecondition(
                    "the song's credit was already spent", reason="RESERVATION_COMMITTED"
                )
            await store.append_entry(
                db,
                account_id=reservation.account_id,
                kind=EntryKind.SONG_REFUND,
                amount=reservation.credits,
                balance_after=balance + reservation.credits,
                idempotency_key=f"refund:{song_id}",
                description=f"Refund: {reason}" if reason else "Refund",
                song_id=song_id,
            )
            return await store.settle_reservation(
                db, song_id, state=ReservationState.RELEASED, reason=reason
            )

    async def reservations(
        self,
        *,
        state: ReservationState | None,
        created_before: datetime | None,
        after: TimePosition | None,
        limit: int,
    ) -> list[store.Reservation]:
        async with self._db.connection() as db:
            return await store.list_reservations(
                db, state=state, created_before=created_before, after=after, limit=limit
            )

    async def apply_payment(self, event: VerifiedEvent, change: PaymentChange | None) -> bool:
        """Records the event and applies its change, once each; True when the
        ledger changed. A refund of an order billing never granted is recorded
        and changes nothing."""
        async with self._db.transaction() as db:
            recorded = await store.record_payment_event(
                db, event_id=event.id, event_type=event.type, payload=event.payload
            )
            if not recorded:
                return False
            match change:
                case Purchase():
                    return await self._grant(db, change)
                case RefundedOrder():
                    return await clawbacks.order_refunded(db, change)
                case Refund():
                    return await clawbacks.refund_reported(db, change)
                case None:
                    return False

    async def _grant(self, db: AsyncConnection, purchase: Purchase) -> bool:
        balance = await self._lock(db, purchase.account_id)
        entry = await store.append_entry(
            db,
            account_id=purchase.account_id,
            kind=EntryKind.PURCHASE,
            amount=purchase.credits,
            balance_after=balance + purchase.credits,
            idempotency_key=f"order:{purchase.order_id}",
            description=purchase.description,
        )
        if entry is None:
            return False
        await store.insert_purchase(
            db,
            order_id=purchase.order_id,
            account_id=purchase.account_id,
            credits=purchase.credits,
            paid_amount=purchase.paid_amount,
        )
        # A refund reported before the grant (an order.paid refused at first and
        # redelivered later) still takes its share back.
        await clawbacks.take_back(db, purchase.order_id, purchase.account_id)
        return True

    async def _lock(self, db: AsyncConnection, account_id: UUID) -> int:
        """Opens the account if new (with its welcome grant), locks it, and
        returns its balance."""
        if await store.insert_account(db, account_id) and self._welcome_grant > 0:
            await store.append_entry(
                db,
                account_id=account_id,
                kind=EntryKind.WELCOME_GRANT,
                amount=self._welcome_grant,
                balance_after=self._welcome_grant,
                idempotency_key=f"welcome:{account_id}",
                description="Welcome to Neutone",
            )
        return await store.lock_account(db, account_id)


async def _reservation(
    db: AsyncConnection, song_id: UUID, *, for_update: bool = False
) -> store.Reservation:
    reservation = await store.get_reservation(db, song_id, for_update=for_update)
    if reservation is None:
        raise NotFound(f"no credit is reserved for song {song_id}", reason="NO_RESERVATION")
    return reservation


def _owned(reservation: store.Reservation, account_id: UUID) -> store.Reservation:
    if reservation.account_id != account_id:
        raise _taken_by_another_account(reservation.song_id)
    return reservation


def _held(reservation: store.Reservation) -> store.Reservation:
    """The reservation while its credit is held; a settled one is refused."""
    if reservation.state is ReservationState.RESERVED:
        return reservation
    outcome = "spent" if reservation.state is ReservationState.COMMITTED else "given back"
    raise FailedPrecondition(
        f"the credit of song {reservation.song_id} was already {outcome}: a song id is "
        "charged once, ever, so it cannot be charged again or back a new song",
        reason=RESERVATION_SETTLED,
        metadata={"state": reservation.state.value},
    )


def _taken_by_another_account(song_id: UUID) -> FailedPrecondition:
    return FailedPrecondition(
        f"song {song_id} is already paid for by another account", reason="SONG_ALREADY_RESERVED"
    )
