"""billingsvc's data access: every SQL statement the service runs.

Functions that append to the ledger expect the caller to hold the account's lock
(`lock_account`) for the rest of its transaction, so that `balance_after` of each
entry extends the entry before it."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from billingsvc.tables import (
    CLAWBACK_KINDS,
    REFUND_PENDING,
    REFUND_SUCCEEDED,
    EntryKind,
    ReservationState,
    accounts,
    entries,
    payment_events,
    purchases,
    refunds,
    reservations,
)
from runtime.pagination import TimePosition


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    account_id: UUID
    kind: EntryKind
    amount: int
    balance_after: int
    description: str
    song_id: UUID | None
    create_time: datetime

    @classmethod
    def from_row(cls, row: sa.Row) -> "Entry":
        return cls(
            id=row.id,
            account_id=row.account_id,
            kind=EntryKind(row.kind),
            amount=row.amount,
            balance_after=row.balance_after,
            description=row.description,
            song_id=row.song_id,
            create_time=row.create_time,
        )


@dataclass(frozen=True, slots=True)
class Reservation:
    song_id: UUID
    account_id: UUID
    credits: int
    state: ReservationState
    reason: str
    create_time: datetime

    @classmethod
    def from_row(cls, row: sa.Row) -> "Reservation":
        return cls(
            song_id=row.song_id,
            account_id=row.account_id,
            credits=row.credits,
            state=ReservationState(row.state),
            reason=row.reason,
            create_time=row.create_time,
        )


@dataclass(frozen=True, slots=True)
class PurchaseRecord:
    order_id: str
    account_id: UUID
    credits: int
    paid_amount: int
    reported_refunded_amount: int

    @classmethod
    def from_row(cls, row: sa.Row) -> "PurchaseRecord":
        return cls(
            order_id=row.order_id,
            account_id=row.account_id,
            credits=row.credits,
            paid_amount=row.paid_amount,
            reported_refunded_amount=row.reported_refunded_amount,
        )


@dataclass(frozen=True, slots=True)
class RefundTotals:
    """What the provider's refund events say about one order."""

    succeeded_amount: int
    disputed: bool


def _latest_balance(account_id: Any) -> sa.ScalarSelect:
    return (
        sa.select(entries.c.balance_after)
        .where(entries.c.account_id == account_id)
        .order_by(entries.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


# Built once, not per call: GetBalance runs it every time, and building it (and its
# cache key) cost more CPU than running it.
_BALANCE = sa.select(sa.func.coalesce(_latest_balance(accounts.c.account_id), 0)).where(
    accounts.c.account_id == sa.bindparam("account_id")
)


async def balance(db: AsyncConnection, account_id: UUID) -> int | None:
    """The account's balance, or None when the account does not exist yet."""
    row = (await db.execute(_BALANCE, {"account_id": account_id})).first()
    return row[0] if row else None


async def insert_account(db: AsyncConnection, account_id: UUID) -> bool:
    """Creates the account; False when it already existed. A concurrent creator
    waits here until the first one commits, then finds the account."""
    row = (
        await db.execute(
            insert(accounts)
            .values(account_id=account_id)
            .on_conflict_do_nothing(index_elements=[accounts.c.account_id])
            .returning(accounts.c.account_id)
        )
    ).first()
    return row is not None


async def detach_account(db: AsyncConnection, account_id: UUID) -> None:
    """Marks the account detached (once), and erases the personal data in the
    payment events about it: the provider's customer record (name, email,
    addresses) is cut down to our account id, which the books still need."""
    await db.execute(
        sa.update(accounts)
        .where(accounts.c.account_id == account_id, accounts.c.detach_time.is_(None))
        .values(detach_time=sa.func.now())
    )
    orders = sa.select(purchases.c.order_id).where(purchases.c.account_id == account_id)
    data = payment_events.c.payload["data"]
    about_account = sa.or_(
        data["customer"]["external_id"].astext == str(account_id),
        data["id"].astext.in_(orders),
        data["order_id"].astext.in_(orders),
    )
    erased = payment_events.c.payload
    for personal in ("billing_address", "billing_name", "user"):
        erased = erased.op("#-", return_type=JSONB)(_json_path("data", personal))
    without_customer = sa.case(
        (
            data.has_key("customer"),
            sa.func.jsonb_set(
                erased,
                _json_path("data", "customer"),
                sa.func.jsonb_build_object("external_id", str(account_id)),
                type_=JSONB,
            ),
        ),
        else_=erased,
    )
    await db.execute(
        sa.update(payment_events).where(about_account).values(payload=without_customer)
    )


def _json_path(*keys: str) -> sa.BindParameter:
    return sa.literal(list(keys), ARRAY(sa.Text))


async def is_detached(db: AsyncConnection, account_id: UUID) -> bool:
    detached = await db.scalar(
        sa.select(accounts.c.detach_time).where(accounts.c.account_id == account_id)
    )
    return detached is not None


async def lock_account(db: AsyncConnection, account_id: UUID) -> int:
    """Locks the (existing) account until the transaction ends; its balance then."""
    await db.execute(
        sa.select(accounts.c.account_id)
        .where(accounts.c.account_id == account_id)
        .with_for_update()
    )
    return (
        await db.execute(sa.select(sa.func.coalesce(_latest_balance(account_id), 0)))
    ).scalar_one()


async def append_entry(
    db: AsyncConnection,
    *,
    account_id: UUID,
    kind: EntryKind,
    amount: int,
    balance_after: int,
    idempotency_key: str,
    description: str,
    song_id: UUID | None = None,
    order_id: str | None = None,
) -> Entry | None:
    """The new entry, or None when an entry with this key exists (nothing is written)."""
    row = (
        await db.execute(
            insert(entries)
            .values(
                account_id=account_id,
                kind=kind.value,
                amount=amount,
                balance_after=balance_after,
                idempotency_key=idempotency_key,
                description=description,
                song_id=song_id,
                order_id=order_id,
            )
            .on_conflict_do_nothing(index_elements=[entries.c.idempotency_key])
            .returning(entries)
        )
    ).first()
    return Entry.from_row(row) if row else None


async def list_entries(
    db: AsyncConnection,
    account_id: UUID,
    *,
    before_id: int | None,
    limit: int,
    kinds: tuple[EntryKind, ...] = tuple(EntryKind),
) -> list[Entry]:
    """The account's entries, newest first, older than `before_id` when given."""
    query = (
        sa.select(entries)
        .where(entries.c.account_id == account_id, entries.c.kind.in_([k.value for k in kinds]))
        .order_by(entries.c.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(entries.c.id < before_id)
    return [Entry.from_row(row) for row in await db.execute(query)]


async def get_reservation(
    db: AsyncConnection, song_id: UUID, *, for_update: bool = False
) -> Reservation | None:
    query = sa.select(reservations).where(reservations.c.song_id == song_id)
    if for_update:
        query = query.with_for_update()
    row = (await db.execute(query)).first()
    return Reservation.from_row(row) if row else None


async def insert_reservation(
    db: AsyncConnection, *, song_id: UUID, account_id: UUID, credits: int
) -> Reservation | None:
    """The new reservation, or None when the song already has one."""
    row = (
        await db.execute(
            insert(reservations)
            .values(
                song_id=song_id,
                account_id=account_id,
                credits=credits,
                state=ReservationState.RESERVED.value,
            )
            .on_conflict_do_nothing(index_elements=[reservations.c.song_id])
            .returning(reservations)
        )
    ).first()
    return Reservation.from_row(row) if row else None


async def list_reservations(
    db: AsyncConnection,
    *,
    state: ReservationState | None,
    created_before: datetime | None,
    after: TimePosition | None,
    limit: int,
) -> list[Reservation]:
    """Reservations oldest first, optionally in one state, created before a time,
    and after a position (keyset on (create_time, song_id): served by the
    reservations_*create_time indexes)."""
    order = (reservations.c.create_time, reservations.c.song_id)
    query = sa.select(reservations).order_by(*order).limit(limit)
    if state is not None:
        query = query.where(reservations.c.state == state.value)
    if created_before is not None:
        query = query.where(reservations.c.create_time < created_before)
    if after is not None:
        query = query.where(sa.tuple_(*order) > sa.tuple_(after.time, after.id))
    return [Reservation.from_row(row) for row in await db.execute(query)]


async def settle_reservation(
    db: AsyncConnection, song_id: UUID, *, state: ReservationState, reason: str = ""
) -> Reservation:
    row = (
        await db.execute(
            sa.update(reservations)
            .where(reservations.c.song_id == song_id)
            .values(state=state.value, reason=reason, update_time=sa.func.now())
            .returning(reservations)
        )
    ).one()
    return Reservation.from_row(row)


async def record_payment_event(
    db: AsyncConnection, *, event_id: str, event_type: str, payload: dict[str, Any]
) -> bool:
    """Records a verified webhook; False when this event id was recorded before."""
    row = (
        await db.execute(
            insert(payment_events)
            .values(event_id=event_id, type=event_type, payload=payload)
            .on_conflict_do_nothing(index_elements=[payment_events.c.event_id])
            .returning(payment_events.c.event_id)
        )
    ).first()
    return row is not None


async def insert_purchase(
    db: AsyncConnection,
    *,
    order_id: str,
    account_id: UUID,
    credits: int,
    paid_amount: int,
) -> None:
    """Records a granted order (once; a repeated grant finds the first record)."""
    await db.execute(
        insert(purchases)
        .values(
            order_id=order_id,
            account_id=account_id,
            credits=credits,
            paid_amount=paid_amount,
        )
        .on_conflict_do_nothing(index_elements=[purchases.c.order_id])
    )


async def get_purchase(db: AsyncConnection, order_id: str) -> PurchaseRecord | None:
    row = (await db.execute(sa.select(purchases).where(purchases.c.order_id == order_id))).first()
    return PurchaseRecord.from_row(row) if row else None


async def report_order_refunded(db: AsyncConnection, order_id: str, refunded_amount: int) -> None:
    """Keeps the most refunded that the order's own events reported: an event
    delivered late, or after a refund was reverted, never lowers it."""
    await db.execute(
        sa.update(purchases)
        .where(purchases.c.order_id == order_id)
        .values(
            reported_refunded_amount=sa.func.greatest(
                purchases.c.reported_refunded_amount, refunded_amount
            )
        )
    )


async def upsert_refund(
    db: AsyncConnection,
    *,
    refund_id: str,
    order_id: str,
    amount: int,
    status: str,
    reason: str,
    disputed: bool,
) -> None:
    """Records a refund as its latest event describes it. A `pending` event
    delivered after the refund settled (webhooks arrive in any order) changes
    nothing: pending only ever comes first."""
    values = {
        "order_id": order_id,
        "amount": amount,
        "status": status,
        "reason": reason,
        "disputed": disputed,
    }
    await db.execute(
        insert(refunds)
        .values(refund_id=refund_id, **values)
        .on_conflict_do_update(
            index_elements=[refunds.c.refund_id],
            set_={**values, "update_time": sa.func.now()},
            where=refunds.c.status == REFUND_PENDING if status == REFUND_PENDING else None,
        )
    )


async def refund_totals(db: AsyncConnection, order_id: str) -> RefundTotals:
    succeeded = refunds.c.status == REFUND_SUCCEEDED
    row = (
        await db.execute(
            sa.select(
                sa.func.coalesce(sa.func.sum(refunds.c.amount).filter(succeeded), 0),
                sa.func.coalesce(sa.func.bool_or(refunds.c.disputed).filter(succeeded), False),
            ).where(refunds.c.order_id == order_id)
        )
    ).one()
    return RefundTotals(succeeded_amount=int(row[0]), disputed=row[1])


async def credits_taken_back(db: AsyncConnection, order_id: str) -> int:
    """Credits the ledger has taken back from an order's purchase so far."""
    taken = (
        await db.execute(
            sa.select(sa.func.coalesce(-sa.func.sum(entries.c.amount), 0)).where(
                entries.c.order_id == order_id,
                entries.c.kind.in_([kind.value for kind in CLAWBACK_KINDS]),
            )
        )
    ).scalar_one()
    return int(taken)
