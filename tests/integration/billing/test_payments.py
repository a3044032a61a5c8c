"""Buying credits: the local checkout page end to end, and payment webhooks
verified per Standard Webhooks before they touch the ledger."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest

from neutone.v1 import billing_pb2
from neutone.v1 import billing_service_pb2 as pb
from tests.integration.billing.webhooks import order_paid_event, signed
from tests.integration.helpers import Metadata, error_reason, field_violations

SUCCESS_URL = "https://neutone.example/credits?checkout=done"


def test_local_checkout_end_to_end(billing, new_user, balance_of) -> None:
    user = new_user()
    before = balance_of(user)
    checkout = billing.CreateCheckoutSession(
        pb.CreateCheckoutSessionRequest(product_id="credits-25", success_url=SUCCESS_URL),
        metadata=user.metadata,
    )
    with httpx.Client(timeout=10) as browser:
        page = browser.get(checkout.checkout_url)
        assert page.status_code == 200
        assert "25 credits" in page.text and "Pay" in page.text

        paid = browser.post(f"{checkout.checkout_url}/pay")
        assert paid.status_code == 303
        assert paid.headers["location"] == SUCCESS_URL
        # Pressing Pay twice pays one order: its credits arrive once.
        assert browser.post(f"{checkout.checkout_url}/pay").status_code == 303

    assert balance_of(user) == before + 25
    latest = billing.ListTransactions(
        pb.ListTransactionsRequest(page_size=1), metadata=user.metadata
    ).transactions[0]
    assert latest.kind == billing_pb2.TRANSACTION_KIND_PURCHASE
    assert (latest.amount, latest.balance_after) == (25, before + 25)
    assert "25 credits" in latest.description

    portal = billing.CreatePortalSession(
        pb.CreatePortalSessionRequest(return_url="https://neutone.example/credits"),
        metadata=user.metadata,
    )
    listed = httpx.get(portal.portal_url, timeout=10)
    assert listed.status_code == 200
    assert "25 credits" in listed.text and "https://neutone.example/credits" in listed.text


def tampered(url: str, **claims: str) -> str:
    """The link with its token's claims changed but its signature kept."""
    base, _, token = url.rpartition("/")
    header, body, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    changed = base64.urlsafe_b64encode(json.dumps({**decoded, **claims}).encode())
    return f"{base}/{header}.{changed.decode().rstrip('=')}.{signature}"


def test_checkout_links_cannot_be_tampered_with(billing, new_user, balance_of) -> None:
    user, other = new_user(), new_user()
    checkout = billing.CreateCheckoutSession(
        pb.CreateCheckoutSessionRequest(product_id="credits-10"), metadata=user.metadata
    )
    portal = billing.CreatePortalSession(pb.CreatePortalSessionRequest(), metadata=user.metadata)
    with httpx.Client(timeout=10) as browser:
        for forged in (
            tampered(checkout.checkout_url, product="credits-50"),
            tampered(checkout.checkout_url, sub=other.id),
            tampered(checkout.checkout_url, success_url="https://evil.example/"),
        ):
            assert browser.get(forged).status_code == 404
            assert browser.post(f"{forged}/pay").status_code == 404
        assert browser.get(tampered(portal.portal_url, sub=other.id)).status_code == 404
        # A checkout link is not a portal link, nor the other way round.
        token = checkout.checkout_url.rpartition("/")[2]
        portal_base = portal.portal_url.rpartition("/")[0]
        assert browser.get(f"{portal_base}/{token}").status_code == 404
    assert balance_of(user) == 3
    assert balance_of(other) == 3


def test_default_success_url_is_used_when_none_is_given(billing, new_user) -> None:
    user = new_user()
    checkout = billing.CreateCheckoutSession(
        pb.CreateCheckoutSessionRequest(product_id="credits-10"), metadata=user.metadata
    )
    paid = httpx.post(f"{checkout.checkout_url}/pay", timeout=10)
    assert paid.status_code == 303
    assert paid.headers["location"] == "http://127.0.0.1:8080/credits?checkout=success"


def test_a_replayed_webhook_grants_once(
    billing, new_user, balance_of, service_metadata: Metadata, webhook_secret, table_rows
) -> None:
    user = new_user()
    before = balance_of(user)
    request = signed(webhook_secret, order_paid_event(account_id=user.id))
    first = billing.ApplyPaymentEvent(request, metadata=service_metadata)
    assert first.applied and first.event_id == request.headers["webhook-id"]
    replay = billing.ApplyPaymentEvent(request, metadata=service_metadata)
    assert not replay.applied and replay.event_id == first.event_id
    assert balance_of(user) == before + 10
    assert table_rows("payment_events", "event_id", first.event_id) == 1


def test_the_same_order_in_a_new_event_grants_once(
    billing, new_user, balance_of, service_metadata: Metadata, webhook_secret
) -> None:
    user = new_user()
    before = balance_of(user)
    event = order_paid_event(account_id=user.id, product_id="credits-50")
    first = billing.ApplyPaymentEvent(signed(webhook_secret, event), metadata=service_metadata)
    second = billing.ApplyPaymentEvent(signed(webhook_secret, event), metadata=service_metadata)
    assert (first.applied, second.applied) == (True, False)
    assert balance_of(user) == before + 50


def forged_requests(secret: str, event: dict) -> dict[str, pb.ApplyPaymentEventRequest]:
    genuine = signed(secret, event)
    wrong_key = signed("whsec_" + "QUJD" * 8, event)
    tampered = pb.ApplyPaymentEventRequest(
        payload=genuine.payload.replace(b"credits-10", b"credits-50"), headers=genuine.headers
    )
    stale = signed(secret, event, timestamp=datetime.now(UTC) - timedelta(minutes=10))
    future = signed(secret, event, timestamp=datetime.now(UTC) + timedelta(minutes=10))
    return {
        "wrong key": wrong_key,
        "tampered payload": tampered,
        "stale timestamp": stale,
        "future timestamp": future,
        "garbage signature": pb.ApplyPaymentEventRequest(
            payload=genuine.payload,
            headers={**genuine.headers, "webhook-signature": "v1,not base64!"},
        ),
        **{
            f"missing {name}": pb.ApplyPaymentEventRequest(
                payload=genuine.payload,
                headers={k: v for k, v in genuine.headers.items() if k != name},
            )
            for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
        },
        "no headers": pb.ApplyPaymentEventRequest(payload=genuine.payload),
    }


def test_forged_stale_and_unsigned_webhooks_grant_nothing(
    billing, new_user, balance_of, service_metadata: Metadata, webhook_secret, table_rows
) -> None:
    user = new_user()
    before = balance_of(user)
    event = order_paid_event(account_id=user.id)
    for name, request in forged_requests(webhook_secret, event).items():
        with pytest.raises(grpc.RpcError) as refused:
            billing.ApplyPaymentEvent(request, metadata=service_metadata)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED, name
        assert error_reason(refused.value) == "INVALID_WEBHOOK_SIGNATURE", name
        event_id = request.headers.get("webhook-id", "")
        assert table_rows("payment_events", "event_id", event_id) == 0, name
    assert balance_of(user) == before
    assert table_rows("entries", "idempotency_key", f"order:{event['data']['id']}") == 0


def test_unknown_event_types_are_recorded_and_acknowledged(
    billing, service_metadata: Metadata, webhook_secret, table_rows
) -> None:
    request = signed(webhook_secret, {"type": "customer.updated", "data": {"id": "cus_1"}})
    reply = billing.ApplyPaymentEvent(request, metadata=service_metadata)
    assert not reply.applied
    assert table_rows("payment_events", "event_id", reply.event_id) == 1


def test_an_order_for_an_unknown_product_grants_nothing(
    billing, new_user, balance_of, service_metadata: Metadata, webhook_secret, table_rows
) -> None:
    user = new_user()
    before = balance_of(user)
    request = signed(webhook_secret, order_paid_event(account_id=user.id, product_id="credits-9"))
    with pytest.raises(grpc.RpcError) as refused:
        billing.ApplyPaymentEvent(request, metadata=service_metadata)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "payload.data.metadata.neutone_product_id" in field_violations(refused.value)
    assert balance_of(user) == before
    # Not recorded either, so a redelivery after the product is fixed still applies.
    assert table_rows("payment_events", "event_id", request.headers["webhook-id"]) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            lambda e: e["data"]["customer"].update(external_id="not-a-uuid"),
            "payload.data.customer.external_id",
        ),
        (lambda e: e["data"]["customer"].pop("external_id"), "payload.data.customer.external_id"),
        (lambda e: e["data"].pop("metadata"), "payload.data.metadata.neutone_product_id"),
        (lambda e: e["data"].update(id=""), "payload.data.id"),
        (lambda e: e.update(data=[]), "payload.data"),
    ],
)
def test_malformed_orders_are_invalid_arguments(
    billing, service_metadata: Metadata, webhook_secret, table_rows, change, field
) -> None:
    event = order_paid_event(account_id=str(uuid.uuid4()))
    change(event)
    request = signed(webhook_secret, event)
    with pytest.raises(grpc.RpcError) as refused:
        billing.ApplyPaymentEvent(request, metadata=service_metadata)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in field_violations(refused.value)
    assert table_rows("payment_events", "event_id", request.headers["webhook-id"]) == 0


def test_signed_payloads_that_are_not_events_are_invalid(
    billing, service_metadata: Metadata, webhook_secret
) -> None:
    for payload in (b"[1, 2]", b"not json", json.dumps({"type": 7}).encode()):
        with pytest.raises(grpc.RpcError) as refused:
            billing.ApplyPaymentEvent(signed(webhook_secret, payload), metadata=service_metadata)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "payload" in field_violations(refused.value)


def test_payload_and_header_limits(billing, service_metadata: Metadata, webhook_secret) -> None:
    too_big = signed(webhook_secret, b"{" + b" " * (1024 * 1024) + b"}")
    cases = {
        "payload": [too_big, pb.ApplyPaymentEventRequest()],
        "headers": [
            pb.ApplyPaymentEventRequest(payload=b"{}", headers={f"x-{i}": "v" for i in range(65)}),
            pb.ApplyPaymentEventRequest(payload=b"{}", headers={"webhook-id": "x" * 8193}),
        ],
    }
    for field, requests in cases.items():
        for request in requests:
            with pytest.raises(grpc.RpcError) as refused:
                billing.ApplyPaymentEvent(request, metadata=service_metadata)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert field in field_violations(refused.value)
