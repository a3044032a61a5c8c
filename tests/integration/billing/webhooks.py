"""Payment webhooks as a provider sends them: Polar-shaped `order.paid`,
`order.refunded` and `refund.*` events (the fields of Polar's Order and Refund
schemas), signed per Standard Webhooks with the `standardwebhooks` package
itself, not with billingsvc's own code."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

from neutone.v1 import billing_service_pb2 as pb


def order_event(
    event_type: str,
    *,
    account_id: str,
    product_id: str = "credits-10",
    order_id: str | None = None,
    net_amount: int = 500,
    refunded_amount: int = 0,
) -> dict[str, Any]:
    """An order event; its status follows the refunded amount, as Polar's does."""
    status = "paid"
    if refunded_amount:
        status = "refunded" if refunded_amount >= net_amount else "partially_refunded"
    tax_amount = net_amount // 5
    return {
        "type": event_type,
        "timestamp": datetime.now(UTC).isoformat(),
        "data": {
            "id": order_id or str(uuid.uuid4()),
            "status": status,
            "paid": True,
            "billing_reason": "purchase",
            "subtotal_amount": net_amount,
            "discount_amount": 0,
            "net_amount": net_amount,
            "tax_amount": tax_amount,
            "total_amount": net_amount + tax_amount,
            "applied_balance_amount": 0,
            "refunded_amount": refunded_amount,
            "refunded_tax_amount": refunded_amount // 5,
            "currency": "usd",
            "product_id": str(uuid.uuid4()),
            "customer": {"id": str(uuid.uuid4()), "external_id": account_id},
            "metadata": {"neutone_product_id": product_id},
        },
    }


def order_paid_event(**order: Any) -> dict[str, Any]:
    return order_event("order.paid", **order)


def refund_event(
    event_type: str = "refund.updated",
    *,
    order_id: str,
    amount: int,
    refund_id: str | None = None,
    status: str = "succeeded",
    reason: str = "customer_request",
    disputed: bool = False,
) -> dict[str, Any]:
    """A `refund.created` / `refund.updated` event; `disputed` adds the dispute
    Polar prevented with it (reason `dispute_prevention`)."""
    now = datetime.now(UTC).isoformat()
    dispute = None
    if disputed:
        reason = "dispute_prevention"
        dispute = {
            "id": str(uuid.uuid4()),
            "created_at": now,
            "modified_at": None,
            "status": "prevented",
            "resolved": False,
            "closed": True,
            "amount": amount,
            "tax_amount": amount // 5,
            "currency": "usd",
            "order_id": order_id,
            "payment_id": str(uuid.uuid4()),
        }
    return {
        "type": event_type,
        "timestamp": now,
        "data": {
            "id": refund_id or str(uuid.uuid4()),
            "created_at": now,
            "modified_at": None,
            "metadata": {},
            "status": status,
            "reason": reason,
            "amount": amount,
            "tax_amount": amount // 5,
            "currency": "usd",
            "organization_id": str(uuid.uuid4()),
            "order_id": order_id,
            "subscription_id": None,
            "customer_id": str(uuid.uuid4()),
            "revoke_benefits": False,
            "dispute": dispute,
        },
    }


def signed(
    secret: str,
    event: dict[str, Any] | bytes,
    *,
    event_id: str | None = None,
    timestamp: datetime | None = None,
) -> pb.ApplyPaymentEventRequest:
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    event_id = event_id or f"msg_{uuid.uuid4().hex}"
    sent = timestamp or datetime.now(UTC)
    return pb.ApplyPaymentEventRequest(
        payload=body,
        headers={
            "webhook-id": event_id,
            "webhook-timestamp": str(int(sent.timestamp())),
            "webhook-signature": Webhook(secret).sign(event_id, sent, body.decode()),
        },
    )
