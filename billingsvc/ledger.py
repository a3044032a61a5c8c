"""The credit ledger's rules: lazy accounts with a welcome grant, song
reservations charged at most once, and purchases granted once per order.

Every change happens in one transaction that holds the account's lock, so
concurrent writers for one account queue up and a balance can never go below
zero (the `balance_after >= 0` constraint is the last line of defence)."""

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from billingsvc import store
from billingsvc.events import VerifiedEvent
from billingsvc.tables import EntryKind, ReservationState
from runtime.database import Database
from runtime.errors import FailedPrecondition, NotFound

INSUFFICIENT_CREDITS = "INSUFFICIENT_CREDITS"


@dataclass(frozen=True, slots=True)
class Purchase:
    """Credits bought: granted once per provider order."""

    order_id: str
    account_id: UUID
    credits: int
    description: str


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

    async def reserve(self, *, account_id: UUID, song_id: UUID) -> tuple[store.Reservation, int]:
        """The song's reservation (an existing one on a repeated call) and the balance."""
        async with self._db.transaction() as db:
            balance = await self._lock(db, account_id)
            existing = await store.get_reservation(db, song_id)
            if existing is not None:
                return _owned(existing, account_id), balance
            if balance < self._song_cost:
                raise FailedPrecondition(
                    f"a song costs {self._song_cost} credit(s); the balance is {balance}",
                    reason=INSUFFICIENT_CREDITS,
                    metadata={"balance": str(balance), "cost": str(self._song_cost)},
                )
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
            return reservation, balance

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

    async def release(self, song_id: UUID, *, reason: str) -> store.Reservation:
        async with self._db.transaction() as db:
            # Lock order account -> reservation, as in `reserve`, so the two never deadlock.
            found = await _reservation(db, song_id)
            balance = await store.lock_account(db, found.account_id)
            reservation = await _reservation(db, song_id, for_update=True)
            if reservation.state is ReservationState.COMMITTED:
                raise FailedPrecondition(
                    "the song's credit was already spent", reason="RESERVATION_COMMITTED"
                )
            if reservation.state is ReservationState.RELEASED:
                return reservation
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

    async def apply_payment(self, event: VerifiedEvent, purchase: Purchase | None) -> bool:
        """Records the event and grants its purchase, once each; True when the
        ledger changed."""
        async with self._db.transaction() as db:
            recorded = await store.record_payment_event(
                db, event_id=event.id, event_type=event.type, payload=event.payload
            )
            if not recorded or purchase is None:
                return False
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
            return entry is not None

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


def _taken_by_another_account(song_id: UUID) -> FailedPrecondition:
    return FailedPrecondition(
        f"song {song_id} is already paid for by another account", reason="SONG_ALREADY_RESERVED"
    )
