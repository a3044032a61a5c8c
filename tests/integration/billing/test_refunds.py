"""Refunds and chargebacks: signed Polar `order.refunded` and `refund.*` webhooks
through the real billingsvc take a purchase's credits back, once however often
and however they are reported, even below zero; and a negative balance buys no song."""

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from neutone.v1 import billing_pb2
from neutone.v1 import billing_service_pb2 as pb
from tests.integration.billing.webhooks import order_event, order_paid_event, refund_event, signed
from tests.integration.helpers import Metadata, SignedUpUser, error_reason, field_violations


@pytest.fixture
def deliver(billing, service_metadata: Metadata, webhook_secret: str) -> Callable[..., bool]:
    """Signs and delivers an event as Polar would; whether it changed the ledger."""

    def send(event: dict | pb.ApplyPaymentEventRequest) -> bool:
        request = event if isinstance(event, pb.ApplyPaymentEventRequest) else None
        request = request or signed(webhook_secret, event)
        return billing.ApplyPaymentEvent(request, metadata=service_metadata).applied

    return send


@pytest.fixture
def buy(deliver) -> Callable[..., str]:
    """Grants a paid order (500 cents for credits-10 unless told); its order id."""

    def paid(user: SignedUpUser, **order: object) -> str:
        event = order_paid_event(account_id=user.id, **order)
        assert deliver(event)
        return event["data"]["id"]

    return paid


def refunded(user: SignedUpUser, order_id: str, amount: int, **order: object) -> dict:
    """Polar's `order.refunded` for an order with `amount` refunded in all so far."""
    return order_event(
        "order.refunded", account_id=user.id, order_id=order_id, refunded_amount=amount, **order
    )


def latest(billing, user: SignedUpUser, count: int = 1) -> list[billing_pb2.Transaction]:
    return list(
        billing.ListTransactions(
            pb.ListTransactionsRequest(page_size=count), metadata=user.metadata
        ).transactions
    )


def test_a_full_refund_takes_the_credits_back_once(
    billing, new_user, balance_of, buy, deliver, webhook_secret, table_rows
) -> None:
    user = new_user()
    order = buy(user)
    assert balance_of(user) == 13

    request = signed(webhook_secret, refunded(user, order, 500))
    assert deliver(request)
    assert balance_of(user) == 3
    # Polar redelivers the same webhook, sends the same refund as a new event,
    # and reports it again as the refund itself: nothing more is taken.
    assert not deliver(request)
    assert not deliver(refunded(user, order, 500))
    assert not deliver(refund_event(order_id=order, amount=500))
    assert balance_of(user) == 3
    assert table_rows("payment_events", "event_id", request.headers["webhook-id"]) == 1

    clawback = latest(billing, user)[0]
    assert clawback.kind == billing_pb2.TRANSACTION_KIND_PURCHASE_REFUND
    assert (clawback.amount, clawback.balance_after) == (-10, 3)
    assert "refunded" in clawback.description


def test_partial_then_full_refunds_add_up(billing, new_user, balance_of, buy, deliver) -> None:
    user = new_user()
    order = buy(user, product_id="credits-25", net_amount=1000)
    assert balance_of(user) == 28

    first = refund_event("refund.created", order_id=order, amount=300)
    assert deliver(first)  # 30% of 25 credits: 7.5, to the nearest credit
    assert balance_of(user) == 20
    # The same refund again, as its order's event and as a refund update.
    assert not deliver(refunded(user, order, 300, net_amount=1000))
    assert not deliver({**first, "type": "refund.updated"})
    assert balance_of(user) == 20

    second = refund_event(order_id=order, amount=300)
    assert deliver(second)  # 60% in all: 15 credits, 7 more
    assert balance_of(user) == 13
    assert deliver(refunded(user, order, 1000, net_amount=1000))  # the rest, in full
    assert balance_of(user) == 3
    assert not deliver(refund_event(order_id=order, amount=400))  # that same last refund
    assert balance_of(user) == 3
    taken = [t.amount for t in latest(billing, user, 3)]
    assert taken == [-10, -7, -8]


def test_a_refund_of_spent_credits_leaves_a_debt_that_buys_no_song(
    billing, new_user, balance_of, buy, deliver, reserve, service_metadata: Metadata
) -> None:
    user = new_user()
    order = buy(user)
    while balance_of(user) > 0:
        reserve(user)  # spend the welcome grant and the purchase
    assert deliver(refunded(user, order, 500))
    assert balance_of(user) == -10
    clawback = latest(billing, user)[0]
    assert (clawback.amount, clawback.balance_after) == (-10, -10)

    with pytest.raises(grpc.RpcError) as short:
        reserve(user)
    assert short.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(short.value) == "INSUFFICIENT_CREDITS"
    # Credits coming in pay the debt first: a song that fails refunds onto it,
    # and a new purchase only brings the balance back to zero.
    song = latest(billing, user, 2)[1].song_id
    billing.ReleaseCredits(pb.ReleaseCreditsRequest(song_id=song), metadata=service_metadata)
    assert balance_of(user) == -9
    buy(user)
    assert balance_of(user) == 1
    reserve(user)
    with pytest.raises(grpc.RpcError) as still_short:
        reserve(user)
    assert error_reason(still_short.value) == "INSUFFICIENT_CREDITS"


def test_a_prevented_dispute_is_a_chargeback(billing, new_user, balance_of, buy, deliver) -> None:
    user = new_user()
    order = buy(user)
    assert deliver(refund_event(order_id=order, amount=500, disputed=True))
    assert balance_of(user) == 3
    # Polar's order event for the same refund changes nothing more.
    assert not deliver(refunded(user, order, 500))
    chargeback = latest(billing, user)[0]
    assert chargeback.kind == billing_pb2.TRANSACTION_KIND_CHARGEBACK
    assert (chargeback.amount, chargeback.balance_after) == (-10, 3)
    assert "disputed" in chargeback.description


def test_only_a_succeeded_refund_takes_credits_back(
    new_user, balance_of, buy, deliver, table_rows
) -> None:
    user = new_user()
    order = buy(user)
    refund_id = str(uuid.uuid4())
    assert not deliver(
        refund_event(
            "refund.created", order_id=order, amount=500, refund_id=refund_id, status="pending"
        )
    )
    assert balance_of(user) == 13
    assert table_rows("refunds", "refund_id", refund_id) == 1
    assert deliver(refund_event(order_id=order, amount=500, refund_id=refund_id))
    assert balance_of(user) == 3
    # A refund that failed after all gives nothing back on its own.
    assert not deliver(
        refund_event(order_id=order, amount=500, refund_id=refund_id, status="failed")
    )
    assert balance_of(user) == 3


def test_a_late_pending_event_does_not_undo_a_settled_refund(
    new_user, balance_of, buy, deliver
) -> None:
    user = new_user()
    order = buy(user, net_amount=1000)
    refund_id = str(uuid.uuid4())
    assert deliver(refund_event(order_id=order, amount=300, refund_id=refund_id))
    assert balance_of(user) == 10
    # Polar's refund.created (still pending) arrives after the refund.updated.
    late = refund_event(
        "refund.created", order_id=order, amount=300, refund_id=refund_id, status="pending"
    )
    assert not deliver(late)
    # A second refund still counts the first one: 60% of 10 credits in all.
    assert deliver(refund_event(order_id=order, amount=300))
    assert balance_of(user) == 7


def test_a_refund_for_an_order_never_granted_is_recorded_and_ignored(
    new_user, balance_of, deliver, webhook_secret, table_rows
) -> None:
    user = new_user()
    for event in (
        refunded(user, f"unknown-{uuid.uuid4()}", 500),
        refund_event(order_id=f"unknown-{uuid.uuid4()}", amount=500),
    ):
        request = signed(webhook_secret, event)
        assert not deliver(request)  # OK: the provider stops sending it
        assert table_rows("payment_events", "event_id", request.headers["webhook-id"]) == 1
    assert balance_of(user) == 3
    assert table_rows("entries", "account_id", user.id) == 1


def test_a_refund_reported_before_its_grant_still_takes_back(new_user, balance_of, deliver) -> None:
    """An order.paid refused at first (say, for a product not yet configured) and
    redelivered after its refund arrived."""
    user = new_user()
    order = str(uuid.uuid4())
    assert not deliver(refund_event(order_id=order, amount=250))
    assert deliver(order_paid_event(account_id=user.id, order_id=order))
    assert balance_of(user) == 3 + 10 - 5


def test_a_refund_is_taken_from_what_was_bought_not_from_todays_products(
    new_user, balance_of, buy, deliver
) -> None:
    user = new_user()
    order = buy(user, product_id="credits-50", net_amount=1800)
    # The order's product is no longer sold (or its metadata was changed): the
    # purchase billing recorded decides.
    assert deliver(refunded(user, order, 1800, net_amount=1800, product_id="credits-retired"))
    assert balance_of(user) == 3


def test_the_same_refund_reported_at_once_by_every_event_is_taken_once(
    billing, new_user, balance_of, buy, service_metadata: Metadata, webhook_secret, table_rows
) -> None:
    user = new_user()
    orders = [buy(user) for _ in range(3)]
    requests = []
    for order in orders:
        refund_id = str(uuid.uuid4())
        for _ in range(2):
            requests += [
                signed(webhook_secret, refunded(user, order, 500)),
                signed(
                    webhook_secret, refund_event(order_id=order, amount=500, refund_id=refund_id)
                ),
                signed(
                    webhook_secret,
                    refund_event("refund.created", order_id=order, amount=500, refund_id=refund_id),
                ),
            ]
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        applied = list(
            pool.map(
                lambda request: (
                    billing.ApplyPaymentEvent(request, metadata=service_metadata).applied
                ),
                requests,
            )
        )
    assert applied.count(True) == len(orders)
    assert balance_of(user) == 3
    for order in orders:
        assert table_rows("entries", "order_id", order) == 1


def test_forged_refunds_take_nothing(
    billing, new_user, balance_of, buy, service_metadata: Metadata, table_rows
) -> None:
    user = new_user()
    order = buy(user)
    for secret in ("whsec_" + "QUJD" * 8, "whsec_" + "WFla" * 8):
        for event in (refunded(user, order, 500), refund_event(order_id=order, amount=500)):
            request = signed(secret, event)
            with pytest.raises(grpc.RpcError) as refused:
                billing.ApplyPaymentEvent(request, metadata=service_metadata)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert error_reason(refused.value) == "INVALID_WEBHOOK_SIGNATURE"
            assert table_rows("payment_events", "event_id", request.headers["webhook-id"]) == 0
    assert balance_of(user) == 13


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (refund_event(order_id="o", amount=-5), "payload.data.amount"),
        (refund_event(order_id="", amount=5), "payload.data.order_id"),
        ({"type": "refund.updated", "data": "x"}, "payload.data"),
        (
            {"type": "order.refunded", "data": {"id": "o", "status": "refunded"}},
            "payload.data.refunded_amount",
        ),
    ],
)
def test_malformed_refunds_are_invalid_arguments(
    billing, service_metadata: Metadata, webhook_secret, table_rows, event, field
) -> None:
    request = signed(webhook_secret, event)
    with pytest.raises(grpc.RpcError) as refused:
        billing.ApplyPaymentEvent(request, metadata=service_metadata)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(refused.value)
    assert table_rows("payment_events", "event_id", request.headers["webhook-id"]) == 0
