"""Refunds and chargebacks as Polar reports them: the refund events' parsers
(clawbacks.py books what they take back).

Polar reports one refund twice. `refund.created` and `refund.updated` carry the
refund itself (`data` is a Refund: `id`, `order_id`, `amount` before tax,
`status` pending / succeeded / failed / canceled, `reason`, and the `dispute` it
headed off, if any). Once a refund has succeeded, `order.refunded` carries the
order (`data` is an Order) with its cumulative `refunded_amount`, and `status`
`refunded` once nothing is left to refund. Billing keeps both and takes back
credits for the larger of the two totals, so a refund reported by both event
types, a replay, or an event delivered late takes credits back once.

Polar sends no webhook for a dispute as such (its webhook event types have
none). It heads chargebacks off by refunding the order itself, with reason
`dispute_prevention` and the prevented `dispute`; such refunds arrive as the
events above and are booked as chargebacks."""

from dataclasses import dataclass

from billingsvc.events import VerifiedEvent, event_data, minor_units, provider_id, string
from runtime.errors import Violations

ORDER_REFUNDED = "order.refunded"
REFUND_CREATED = "refund.created"
REFUND_UPDATED = "refund.updated"
REFUND_EVENT_TYPES = frozenset({REFUND_CREATED, REFUND_UPDATED})
# The order status that says its whole refundable amount came back.
ORDER_FULLY_REFUNDED = "refunded"
DISPUTE_PREVENTION = "dispute_prevention"
MAX_STATUS_LENGTH = 50
MAX_REASON_LENGTH = 100


@dataclass(frozen=True, slots=True)
class RefundedOrder:
    """What an `order.refunded` event says: the order's refunds so far."""

    order_id: str
    refunded_amount: int
    fully_refunded: bool


@dataclass(frozen=True, slots=True)
class Refund:
    """One refund, as its latest `refund.*` event describes it."""

    refund_id: str
    order_id: str
    amount: int
    status: str
    reason: str
    # A chargeback the provider headed off by refunding.
    disputed: bool


def refunded_order(event: VerifiedEvent) -> RefundedOrder:
    """The order an `order.refunded` event reports; InvalidArgument naming the
    payload field that is missing or malformed."""
    data = event_data(event)
    check = Violations()
    order_id = provider_id(check, "id", data.get("id"))
    refunded_amount = minor_units(check, "refunded_amount", data.get("refunded_amount"))
    status = check.text(
        "payload.data.status", string(data.get("status")), max_length=MAX_STATUS_LENGTH
    )
    check.raise_if_any()
    return RefundedOrder(
        order_id=order_id,
        refunded_amount=refunded_amount,
        fully_refunded=status == ORDER_FULLY_REFUNDED,
    )


def refund(event: VerifiedEvent) -> Refund:
    """The refund a `refund.created` or `refund.updated` event reports;
    InvalidArgument naming the payload field that is missing or malformed."""
    data = event_data(event)
    check = Violations()
    refund_id = provider_id(check, "id", data.get("id"))
    order_id = provider_id(check, "order_id", data.get("order_id"))
    amount = minor_units(check, "amount", data.get("amount"))
    status = check.text(
        "payload.data.status", string(data.get("status")), max_length=MAX_STATUS_LENGTH
    )
    reason = check.text(
        "payload.data.reason",
        string(data.get("reason")),
        max_length=MAX_REASON_LENGTH,
        min_length=0,
    )
    check.raise_if_any()
    return Refund(
        refund_id=refund_id,
        order_id=order_id,
        amount=amount,
        status=status,
        reason=reason,
        disputed=reason == DISPUTE_PREVENTION or isinstance(data.get("dispute"), dict),
    )
