"""Webhook verification and the `order.paid` parser, without a server."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from billingsvc import events
from runtime.errors import InvalidArgument, Unauthenticated

STANDARD_SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
# Polar endpoint secrets are not base64: Polar signs with the secret's own bytes.
POLAR_SECRET = "polar_whs_abcDEF123_-xyz"
ACCOUNT = uuid.uuid4()


def headers_for(key: str | bytes, payload: bytes, *, at: datetime | None = None) -> dict[str, str]:
    sent = at or datetime.now(UTC)
    return {
        "Webhook-Id": "msg_1",
        "Webhook-Timestamp": str(int(sent.timestamp())),
        "Webhook-Signature": Webhook(key).sign("msg_1", sent, payload.decode()),
    }


def paid_payload(**changes: object) -> bytes:
    payload = json.loads(
        events.order_paid_payload(
            order_id="order_1",
            account_id=ACCOUNT,
            product_id="credits-10",
            amount_minor_units=500,
            currency="usd",
            description="10 credits",
            now=datetime.now(UTC),
        )
    )
    payload["data"].update(changes)
    return json.dumps(payload).encode()


def test_signing_keys() -> None:
    assert events.signing_keys(STANDARD_SECRET) == (b"k" * 32, STANDARD_SECRET.encode())
    assert events.signing_keys(POLAR_SECRET) == (POLAR_SECRET.encode(),)
    assert events.signing_keys("whsec_not base64!") == (b"whsec_not base64!",)


@pytest.mark.parametrize(
    ("secret", "signing_key"),
    [
        (STANDARD_SECRET, STANDARD_SECRET),
        (POLAR_SECRET, POLAR_SECRET.encode()),
        # Polar's own SDK also accepts a `whsec_` secret used as raw bytes.
        (STANDARD_SECRET, STANDARD_SECRET.encode()),
    ],
)
def test_verify_accepts_both_signing_schemes(secret: str, signing_key: str | bytes) -> None:
    payload = paid_payload()
    event = events.verify(secret, payload, headers_for(signing_key, payload))
    assert (event.id, event.type) == ("msg_1", "order.paid")
    assert event.payload == json.loads(payload)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"webhook-id": "msg_1", "webhook-timestamp": "soon", "webhook-signature": "v1,AAAA"},
        {"webhook-id": "msg_1", "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"},
        {"webhook-id": "msg_1", "webhook-timestamp": "9e99", "webhook-signature": "v1,AAAA"},
    ],
)
def test_verify_refuses_unsigned_events(headers: dict[str, str]) -> None:
    with pytest.raises(Unauthenticated):
        events.verify(STANDARD_SECRET, paid_payload(), headers)


def test_verify_refuses_stale_forged_and_undecodable_events() -> None:
    payload = paid_payload()
    stale = headers_for(STANDARD_SECRET, payload, at=datetime.now(UTC) - timedelta(minutes=6))
    forged = headers_for("whsec_" + base64.b64encode(b"x" * 32).decode(), payload)
    malformed = {**headers_for(STANDARD_SECRET, payload), "Webhook-Signature": "v1"}
    for headers in (stale, forged, malformed):
        with pytest.raises(Unauthenticated):
            events.verify(STANDARD_SECRET, payload, headers)
    with pytest.raises(Unauthenticated):
        events.verify(STANDARD_SECRET, b"\xff\xfe", headers_for(STANDARD_SECRET, b"x"))


def test_a_signed_payload_must_be_an_event() -> None:
    for payload in (b"[]", b"{}", b'{"type": 1}', b"nonsense"):
        with pytest.raises(InvalidArgument) as invalid:
            events.verify(STANDARD_SECRET, payload, headers_for(STANDARD_SECRET, payload))
        assert set(invalid.value.violations) == {"payload"}


def test_paid_order_reads_polar_fields() -> None:
    payload = paid_payload()
    order = events.paid_order(
        events.verify(STANDARD_SECRET, payload, headers_for(STANDARD_SECRET, payload))
    )
    assert order == events.PaidOrder(
        order_id="order_1", account_id=ACCOUNT, product_id="credits-10", paid_amount=500
    )


def test_the_paid_amount_counts_the_customer_balance_applied() -> None:
    for applied, paid in ((50, 550), (-120, 380), (-900, 0)):
        event = events.VerifiedEvent(
            id="msg",
            type="order.paid",
            payload=json.loads(paid_payload(applied_balance_amount=applied)),
        )
        assert events.paid_order(event).paid_amount == paid


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"id": 7}, {"payload.data.id"}),
        ({"id": "o" * 257}, {"payload.data.id"}),
        ({"customer": None}, {"payload.data.customer.external_id"}),
        ({"customer": {"external_id": "cus_1"}}, {"payload.data.customer.external_id"}),
        (
            {"metadata": {}, "customer": {}},
            {"payload.data.metadata.neutone_product_id", "payload.data.customer.external_id"},
        ),
        ({"net_amount": None}, {"payload.data.net_amount"}),
        ({"net_amount": -1}, {"payload.data.net_amount"}),
        ({"net_amount": "500"}, {"payload.data.net_amount"}),
        ({"net_amount": True}, {"payload.data.net_amount"}),
        ({"applied_balance_amount": 1.5}, {"payload.data.applied_balance_amount"}),
    ],
)
def test_paid_order_names_every_bad_field(changes: dict, fields: set[str]) -> None:
    event = events.VerifiedEvent(
        id="msg", type="order.paid", payload=json.loads(paid_payload(**changes))
    )
    with pytest.raises(InvalidArgument) as invalid:
        events.paid_order(event)
    assert set(invalid.value.violations) == fields


def test_signed_headers_verify_with_standard_webhooks() -> None:
    payload = paid_payload()
    headers = events.signed_headers(
        STANDARD_SECRET, event_id="msg_9", payload=payload, timestamp=datetime.now(UTC)
    )
    Webhook(STANDARD_SECRET).verify(payload, headers)
    assert headers["webhook-id"] == "msg_9"
