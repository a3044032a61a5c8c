"""Taking credits back from refunded and disputed purchases.

What a purchase forfeits is recomputed from everything known about its order
each time (the most its order events reported refunded, or the sum of its
succeeded refunds, whichever is larger), and only the difference from what was
already taken back is booked. So replays, the same refund reported by two event
types, and events delivered out of order take each credit back once. The
balance may go below zero here, and only here: the credits were spent before
their money came back, and the debt stands until new credits cover it.

Callers hold the transaction; these functions take the account's lock."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from billingsvc import store
from billingsvc.refunds import Refund, RefundedOrder
from billingsvc.tables import EntryKind

DESCRIPTIONS = {
    EntryKind.PURCHASE_REFUND: "Credits taken back: the purchase was refunded",
    EntryKind.CHARGEBACK: "Credits taken back: the payment was disputed",
}


async def order_refunded(db: AsyncConnection, order: RefundedOrder) -> bool:
    purchase = await store.get_purchase(db, order.order_id)
    if purchase is None:
        return False
    await store.lock_account(db, purchase.account_id)
    refunded = order.refunded_amount
    if order.fully_refunded:
        refunded = max(refunded, purchase.paid_amount)
    await store.report_order_refunded(db, order.order_id, refunded)
    return await take_back(db, order.order_id, purchase.account_id)


async def refund_reported(db: AsyncConnection, refund: Refund) -> bool:
    # Kept even for an order billing has not granted, so a later grant counts it.
    await store.upsert_refund(
        db,
        refund_id=refund.refund_id,
        order_id=refund.order_id,
        amount=refund.amount,
        status=refund.status,
        reason=refund.reason,
        disputed=refund.disputed,
    )
    purchase = await store.get_purchase(db, refund.order_id)
    if purchase is None:
        return False
    return await take_back(db, refund.order_id, purchase.account_id)


async def take_back(db: AsyncConnection, order_id: str, account_id: UUID) -> bool:
    """Takes back what the order's refunds so far forfeit, less what was
    taken before. Everything is read under the account's lock, so that
    concurrent reports of one order's refunds each see the others'."""
    balance = await store.lock_account(db, account_id)
    purchase = await store.get_purchase(db, order_id)
    if purchase is None:
        return False
    refunds = await store.refund_totals(db, order_id)
    forfeit = credits_to_take_back(
        credits=purchase.credits,
        paid_amount=purchase.paid_amount,
        refunded_amount=max(purchase.reported_refunded_amount, refunds.succeeded_amount),
    )
    owed = forfeit - await store.credits_taken_back(db, order_id)
    if owed <= 0:
        return False
    kind = EntryKind.CHARGEBACK if refunds.disputed else EntryKind.PURCHASE_REFUND
    entry = await store.append_entry(
        db,
        account_id=account_id,
        kind=kind,
        amount=-owed,
        balance_after=balance - owed,
        idempotency_key=f"clawback:{order_id}:{forfeit}",
        description=DESCRIPTIONS[kind],
        order_id=order_id,
    )
    return entry is not None


def credits_to_take_back(*, credits: int, paid_amount: int, refunded_amount: int) -> int:
    """How many of a purchase's `credits` are forfeit once `refunded_amount` of
    its `paid_amount` has come back, in all (not per refund, so partial refunds
    add up without rounding drift): the refunded share of the credits, to the
    nearest credit (halves up, so neither side keeps more than half a credit's
    price), and every credit once the whole amount came back."""
    if refunded_amount <= 0:
        return 0
    if refunded_amount >= paid_amount:
        return credits
    return min(credits, (2 * credits * refunded_amount + paid_amount) // (2 * paid_amount))
