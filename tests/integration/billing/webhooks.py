"""Payment webhooks as a provider sends them: Polar-shaped `order.paid` events
signed per Standard Webhooks with the `standardwebhooks` package itself, not
with billingsvc's own code."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

from neutone.v1 import billing_service_pb2 as pb


def order_paid_event(
    *, account_id: str, product_id: str = "credits-10", order_id: str | None = None
) -> dict[str, Any]:
    return {
        "type": "order.paid",
        "timestamp": datetime.now(UTC).isoformat(),
        "api_version": "2026-10",
        "data": {
            "id": order_id or str(uuid.uuid4()),
            "status": "paid",
            "paid": True,
            "total_amount": 500,
            "currency": "usd",
            "product_id": str(uuid.uuid4()),
            "customer": {"id": str(uuid.uuid4()), "external_id": account_id},
            "metadata": {"neutone_product_id": product_id},
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
