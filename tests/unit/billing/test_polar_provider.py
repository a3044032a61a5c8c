"""PolarProvider against a mock of Polar's HTTP API: the requests it makes
through polar-sdk, and how Polar's failures reach our callers."""

import json
import uuid
from collections.abc import Callable
from typing import Any

import grpc
import httpx
import pytest
from polar.v2026_10 import PolarAsync

from billingsvc.polar_provider import PolarProvider
from billingsvc.settings import ProductSettings
from runtime.errors import ServiceError

ACCOUNT = uuid.UUID("6f1c1a52-2f7e-4d4b-9d7a-0f6f3c6c1d11")
PRODUCT = ProductSettings(
    id="credits-25",
    display_name="25 credits",
    credits=25,
    price_minor_units=1000,
    polar_product_id="0b9a1bb4-3f4b-4f4e-9a55-2b5e8a4c9f10",
)
CREATED = "2026-05-01T12:00:00Z"

# Responses shaped as Polar's API documents them (only values we do not read are made up).
CHECKOUT = {
    "id": "e1f6c5c2-9c1e-4a59-8d0e-7b6f1f7c2a01",
    "created_at": CREATED,
    "modified_at": None,
    "payment_processor": "stripe",
    "status": "open",
    "client_secret": "polar_c_secret",
    "url": "https://sandbox.polar.sh/checkout/polar_c_secret",
    "expires_at": "2026-05-01T13:00:00Z",
    "success_url": "https://neutone.example/credits",
    "return_url": None,
    "embed_origin": None,
    "amount": 1000,
    "units": None,
    "min_units": None,
    "max_units": None,
    "discount_amount": 0,
    "net_amount": 1000,
    "tax_amount": None,
    "tax_behavior": None,
    "total_amount": 1000,
    "currency": "usd",
    "allow_trial": None,
    "active_trial_interval": None,
    "active_trial_interval_count": None,
    "trial_end": None,
    "organization_id": "3c2a9f8e-1b1c-4a4d-8e8f-5a6b7c8d9e0f",
    "product_id": PRODUCT.polar_product_id,
    "product_price_id": None,
    "discount_id": None,
    "allow_discount_codes": True,
    "require_billing_address": False,
    "is_discount_applicable": True,
    "is_free_product_price": False,
    "is_payment_required": True,
    "is_payment_setup_required": False,
    "is_payment_form_required": True,
    "customer_id": None,
    "is_business_customer": False,
    "customer_name": None,
    "customer_email": None,
    "customer_ip_address": None,
    "customer_billing_name": None,
    "customer_billing_address": None,
    "customer_tax_id": None,
    "payment_method_type": None,
    "payment_processor_metadata": {},
    "billing_address_fields": {
        "country": "required",
        "state": "optional",
        "city": "optional",
        "postal_code": "optional",
        "line1": "optional",
        "line2": "optional",
    },
    "trial_interval": None,
    "trial_interval_count": None,
    "metadata": {"neutone_product_id": "credits-25"},
    "external_customer_id": str(ACCOUNT),
    "products": [],
    "product": None,
    "product_price": None,
    "prices": None,
    "discount": None,
    "subscription_id": None,
    "attached_custom_fields": None,
    "customer_metadata": {},
}
CUSTOMER_SESSION = {
    "created_at": CREATED,
    "modified_at": None,
    "id": "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
    "token": "polar_cst_token",
    "expires_at": "2026-05-01T13:00:00Z",
    "return_url": "https://neutone.example/credits",
    "customer_portal_url": "https://sandbox.polar.sh/acme/portal?customer_session_token=polar_cst_token",
    "customer_id": "5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c",
    "customer": {
        "id": "5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c",
        "created_at": CREATED,
        "modified_at": None,
        "metadata": {},
        "external_id": str(ACCOUNT),
        "email": "ada@example.com",
        "email_verified": True,
        "type": "individual",
        "name": None,
        "billing_name": None,
        "billing_address": None,
        "tax_id": None,
        "organization_id": "3c2a9f8e-1b1c-4a4d-8e8f-5a6b7c8d9e0f",
        "deleted_at": None,
        "first_user_event_at": None,
        "avatar_url": None,
    },
}

Handler = Callable[[httpx.Request], httpx.Response]


def provider_with(handler: Handler) -> tuple[PolarProvider, list[httpx.Request]]:
    """A PolarProvider whose SDK talks to `handler` instead of the network."""
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    polar = PolarAsync("polar_oat_test", environment="sandbox")
    # polar-sdk takes no custom client; swap its httpx client for one on a mock
    # transport, keeping the base URL and headers the SDK configured.
    sdk_http = polar._client._client
    polar._client._client = httpx.AsyncClient(
        base_url=sdk_http.base_url,
        headers=sdk_http.headers,
        transport=httpx.MockTransport(record),
    )
    return PolarProvider(polar), seen


async def test_checkout_names_the_account_and_the_product() -> None:
    provider, seen = provider_with(lambda _: httpx.Response(201, json=CHECKOUT))
    url = await provider.create_checkout(
        account_id=ACCOUNT, product=PRODUCT, success_url="https://neutone.example/credits"
    )
    assert url == CHECKOUT["url"]
    [request] = seen
    assert request.method == "POST"
    assert str(request.url) == "https://sandbox-api.polar.sh/v1/checkouts/"
    assert request.headers["authorization"] == "Bearer polar_oat_test"
    assert request.headers["polar-version"] == "2026-10"
    body: dict[str, Any] = json.loads(request.content)
    assert body == {
        "products": [PRODUCT.polar_product_id],
        "external_customer_id": str(ACCOUNT),
        "metadata": {"neutone_product_id": "credits-25"},
        "success_url": "https://neutone.example/credits",
    }


async def test_portal_is_a_customer_session_by_external_id() -> None:
    provider, seen = provider_with(lambda _: httpx.Response(201, json=CUSTOMER_SESSION))
    url = await provider.create_portal(
        account_id=ACCOUNT, return_url="https://neutone.example/credits"
    )
    assert url == CUSTOMER_SESSION["customer_portal_url"]
    [request] = seen
    assert (request.method, request.url.path) == ("POST", "/v1/customer-sessions/")
    assert json.loads(request.content) == {
        "external_customer_id": str(ACCOUNT),
        "return_url": "https://neutone.example/credits",
    }


def _network_down(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.mark.parametrize(
    ("handler", "code", "reason"),
    [
        (
            lambda _: httpx.Response(503, text="down"),
            grpc.StatusCode.UNAVAILABLE,
            "PAYMENT_PROVIDER_UNAVAILABLE",
        ),
        (
            lambda _: httpx.Response(429, headers={"Retry-After": "3"}),
            grpc.StatusCode.UNAVAILABLE,
            "PAYMENT_PROVIDER_UNAVAILABLE",
        ),
        (_network_down, grpc.StatusCode.UNAVAILABLE, "PAYMENT_PROVIDER_UNAVAILABLE"),
        # An answer the SDK cannot read is Polar misbehaving, not our caller.
        (
            lambda _: httpx.Response(201, json={"unexpected": True}),
            grpc.StatusCode.UNAVAILABLE,
            "PAYMENT_PROVIDER_UNAVAILABLE",
        ),
        (
            lambda _: httpx.Response(
                422, json={"detail": [{"msg": "bad", "loc": [], "type": "x"}]}
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
            "PAYMENT_PROVIDER_REFUSED",
        ),
        (
            lambda _: httpx.Response(401, json={"error": "invalid_token"}),
            grpc.StatusCode.FAILED_PRECONDITION,
            "PAYMENT_PROVIDER_REFUSED",
        ),
    ],
)
async def test_polar_failures_become_service_errors(handler, code, reason) -> None:
    provider, _ = provider_with(handler)
    with pytest.raises(ServiceError) as checkout_error:
        await provider.create_checkout(
            account_id=ACCOUNT, product=PRODUCT, success_url="https://neutone.example/"
        )
    with pytest.raises(ServiceError) as portal_error:
        await provider.create_portal(account_id=ACCOUNT, return_url="https://neutone.example/")
    for error in (checkout_error.value, portal_error.value):
        assert (error.code, error.reason) == (code, reason)
