"""Polar's refund events read without a server, and the share of a purchase's
credits that refunds take back."""

import pytest

from billingsvc import refunds
from billingsvc.clawbacks import credits_to_take_back
from billingsvc.events import VerifiedEvent
from runtime.errors import InvalidArgument


def event(event_type: str, **data: object) -> VerifiedEvent:
    return VerifiedEvent(id="msg", type=event_type, payload={"type": event_type, "data": data})


def polar_refund(**changes: object) -> dict[str, object]:
    """The fields of Polar's Refund schema (a refund.created / refund.updated `data`)."""
    return {
        "id": "3f1b7b4e-refund",
        "created_at": "2026-05-01T12:00:00Z",
        "modified_at": None,
        "metadata": {},
        "status": "succeeded",
        "reason": "customer_request",
        "amount": 250,
        "tax_amount": 50,
        "currency": "usd",
        "organization_id": "org",
        "order_id": "order_1",
        "subscription_id": None,
        "customer_id": "cus",
        "revoke_benefits": False,
        "dispute": None,
        **changes,
    }


def test_a_refund_reads_polar_fields() -> None:
    read = refunds.refund(event("refund.updated", **polar_refund()))
    assert read == refunds.Refund(
        refund_id="3f1b7b4e-refund",
        order_id="order_1",
        amount=250,
        status="succeeded",
        reason="customer_request",
        disputed=False,
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"reason": "dispute_prevention"},
        {"dispute": {"id": "d", "status": "prevented", "amount": 250}},
    ],
)
def test_a_refund_that_heads_off_a_dispute_is_disputed(changes: dict) -> None:
    assert refunds.refund(event("refund.created", **polar_refund(**changes))).disputed


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"id": None}, {"payload.data.id"}),
        ({"order_id": ""}, {"payload.data.order_id"}),
        ({"order_id": "o" * 257}, {"payload.data.order_id"}),
        ({"amount": -1}, {"payload.data.amount"}),
        ({"amount": "250"}, {"payload.data.amount"}),
        ({"amount": False}, {"payload.data.amount"}),
        ({"status": None, "reason": "r" * 101}, {"payload.data.status", "payload.data.reason"}),
    ],
)
def test_a_refund_names_every_bad_field(changes: dict, fields: set[str]) -> None:
    with pytest.raises(InvalidArgument) as invalid:
        refunds.refund(event("refund.updated", **polar_refund(**changes)))
    assert set(invalid.value.violations) == fields


def test_a_refunded_order_reads_its_cumulative_refunds() -> None:
    partial = refunds.refunded_order(
        event("order.refunded", id="order_1", status="partially_refunded", refunded_amount=200)
    )
    assert partial == refunds.RefundedOrder(
        order_id="order_1", refunded_amount=200, fully_refunded=False
    )
    full = refunds.refunded_order(
        event("order.refunded", id="order_1", status="refunded", refunded_amount=500)
    )
    assert full.fully_refunded


def test_a_refunded_order_names_every_bad_field() -> None:
    with pytest.raises(InvalidArgument) as invalid:
        refunds.refunded_order(event("order.refunded", id=7, refunded_amount=None))
    assert set(invalid.value.violations) == {
        "payload.data.id",
        "payload.data.refunded_amount",
        "payload.data.status",
    }
    with pytest.raises(InvalidArgument) as invalid:
        refunds.refund(VerifiedEvent(id="m", type="refund.created", payload={"data": []}))
    assert set(invalid.value.violations) == {"payload.data"}


@pytest.mark.parametrize(
    ("credits", "paid", "refunded", "taken"),
    [
        (10, 500, 0, 0),
        (10, 500, 250, 5),
        (10, 500, 24, 0),  # under half a credit's price
        (10, 500, 25, 1),  # half a credit rounds up
        (10, 500, 499, 10),
        (10, 500, 500, 10),
        (10, 500, 900, 10),  # never more than the purchase granted
        (25, 1000, 333, 8),
        (50, 1800, 1799, 50),
        (10, 0, 1, 10),  # a free order refunded at all loses everything
    ],
)
def test_credits_to_take_back(credits: int, paid: int, refunded: int, taken: int) -> None:
    assert (
        credits_to_take_back(credits=credits, paid_amount=paid, refunded_amount=refunded) == taken
    )


def test_partial_refunds_add_up_to_the_whole_purchase() -> None:
    """Taken back in total after each refund, never per refund: no rounding drift."""
    credits, paid, refunded, taken = 25, 1000, 0, []
    for part in (333, 333, 333, 1):
        refunded += part
        taken.append(
            credits_to_take_back(credits=credits, paid_amount=paid, refunded_amount=refunded)
        )
    assert taken == [8, 17, 25, 25]
