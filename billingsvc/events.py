"""Payment webhooks: Standard Webhooks verification and the one parser for
`order.paid` events, whether Polar sent them or the local checkout page built them
(refund events are read in refunds.py).

Polar signs with the UTF-8 bytes of its endpoint secret; Standard Webhooks
secrets (`whsec_<base64>`) sign with the decoded bytes. Both are accepted, as
Polar's own SDK does, so one setting serves either provider."""

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from runtime.errors import InvalidArgument, Unauthenticated, Violations

ORDER_PAID = "order.paid"
# The checkout's metadata key that names our product; Polar copies checkout
# metadata onto the order.
PRODUCT_METADATA_KEY = "neutone_product_id"
STANDARD_SECRET_PREFIX = "whsec_"
MAX_ORDER_ID_LENGTH = 256


@dataclass(frozen=True, slots=True)
class VerifiedEvent:
    id: str
    type: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PaidOrder:
    order_id: str
    account_id: UUID
    product_id: str
    # What Polar measures the order's refunds against, in minor units: the
    # amount before tax (`net_amount`) plus any customer balance applied to it.
    paid_amount: int


def signing_keys(secret: str) -> tuple[bytes, ...]:
    """The HMAC keys a secret stands for, the Standard Webhooks key first."""
    raw = secret.encode()
    if secret.startswith(STANDARD_SECRET_PREFIX):
        try:
            decoded = base64.b64decode(secret.removeprefix(STANDARD_SECRET_PREFIX), validate=True)
        except binascii.Error:
            return (raw,)
        if decoded:
            return (decoded, raw)
    return (raw,)


def verify(secret: str, payload: bytes, headers: Mapping[str, str]) -> VerifiedEvent:
    """The event, once its signature and timestamp check out; Unauthenticated
    for a forged, stale or unsigned one. Raises InvalidArgument when a signed
    payload is not a JSON object with a string `type`."""
    for key in signing_keys(secret):
        try:
            Webhook(key).verify(payload, dict(headers), json_parse=False)
            break
        # ValueError: a body that is not UTF-8, or a signature that is not base64.
        except (WebhookVerificationError, ValueError):
            continue
    else:
        raise Unauthenticated(
            "the payment event's signature is missing, forged or stale",
            reason="INVALID_WEBHOOK_SIGNATURE",
        )
    check = Violations()
    try:
        body = json.loads(payload)
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        check.add("payload", "must be a JSON object with a string `type`")
    check.raise_if_any()
    event_id = {name.lower(): value for name, value in headers.items()}["webhook-id"]
    return VerifiedEvent(id=event_id, type=body["type"], payload=body)


def event_data(event: VerifiedEvent) -> dict[str, Any]:
    """The event's `data` object; InvalidArgument when it is not one."""
    data = event.payload.get("data")
    if not isinstance(data, dict):
        raise InvalidArgument({"payload.data": "must be an object"})
    return data


def provider_id(check: Violations, field: str, value: object) -> str:
    """A provider's id (order, refund): a non-empty string of bounded length."""
    return check.text(f"payload.data.{field}", string(value), max_length=MAX_ORDER_ID_LENGTH)


def minor_units(check: Violations, field: str, value: object, *, required: bool = True) -> int:
    """An amount in the currency's minor unit: a non-negative integer (0 when
    absent and not required)."""
    if value is None and not required:
        return 0
    # bool is an int in Python, never an amount in JSON.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        check.add(f"payload.data.{field}", "must be a non-negative integer (minor units)")
        return 0
    return value


def paid_order(event: VerifiedEvent) -> PaidOrder:
    """The order an `order.paid` event reports; InvalidArgument naming the
    payload field that is missing or malformed."""
    data = event_data(event)
    check = Violations()
    order_id = provider_id(check, "id", data.get("id"))
    customer = data.get("customer")
    external_id = string(customer.get("external_id")) if isinstance(customer, dict) else ""
    account_id = check.uuid("payload.data.customer.external_id", external_id)
    metadata = data.get("metadata")
    product_id = check.text(
        f"payload.data.metadata.{PRODUCT_METADATA_KEY}",
        string(metadata.get(PRODUCT_METADATA_KEY)) if isinstance(metadata, dict) else "",
        max_length=100,
    )
    net_amount = minor_units(check, "net_amount", data.get("net_amount"))
    # Polar's refundable amount counts the customer balance the order settled
    # (positive: a debt paid too; negative: the customer's credit paid part).
    applied_balance = data.get("applied_balance_amount", 0)
    if not isinstance(applied_balance, int) or isinstance(applied_balance, bool):
        check.add("payload.data.applied_balance_amount", "must be an integer (minor units)")
        applied_balance = 0
    check.raise_if_any()
    return PaidOrder(
        order_id=order_id,
        account_id=UUID(account_id),
        product_id=product_id,
        paid_amount=max(0, net_amount + applied_balance),
    )


def string(value: object) -> str:
    """A JSON value that must be a string; anything else reads as empty."""
    return value if isinstance(value, str) else ""


def order_paid_payload(
    *,
    order_id: str,
    account_id: UUID,
    product_id: str,
    amount_minor_units: int,
    currency: str,
    description: str,
    now: datetime,
) -> bytes:
    """An `order.paid` event in Polar's shape (the fields we and Polar's own
    consumers read), for the local checkout page."""
    created = now.isoformat()
    event = {
        "type": ORDER_PAID,
        "timestamp": created,
        "data": {
            "id": order_id,
            "created_at": created,
            "status": "paid",
            "paid": True,
            "billing_reason": "purchase",
            "subtotal_amount": amount_minor_units,
            "discount_amount": 0,
            "net_amount": amount_minor_units,
            "tax_amount": 0,
            "total_amount": amount_minor_units,
            "applied_balance_amount": 0,
            "refunded_amount": 0,
            "refunded_tax_amount": 0,
            "currency": currency,
            "description": description,
            "customer": {"external_id": str(account_id)},
            "metadata": {PRODUCT_METADATA_KEY: product_id},
        },
    }
    return json.dumps(event, separators=(",", ":")).encode()


def signed_headers(
    secret: str, *, event_id: str, payload: bytes, timestamp: datetime
) -> dict[str, str]:
    """The Standard Webhooks headers a provider sends with `payload`."""
    signature = Webhook(signing_keys(secret)[0]).sign(event_id, timestamp, payload.decode())
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
    }
