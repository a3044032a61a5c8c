"""billingsvc refuses to start with settings that cannot be right."""

import json
import subprocess
import sys

import grpc
import httpx
import pytest

from neutone.v1 import billing_service_pb2 as pb
from neutone.v1 import billing_service_pb2_grpc
from runtime.launcher import Stack, free_address


def start(stack: Stack, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "billingsvc.server"],
        env={**stack.env, "NEUTONE_BILLINGSVC_ADDRESS": free_address(), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_local_provider_is_refused_in_production(stack: Stack) -> None:
    refused = start(stack, NEUTONE_ENVIRONMENT="production")
    assert refused.returncode != 0
    assert "local payment provider" in refused.stderr
    assert "refused in production" in refused.stderr


def test_a_webhook_secret_is_required(stack: Stack) -> None:
    refused = start(stack, NEUTONE_PAYMENT_WEBHOOK_SECRET="")
    assert refused.returncode != 0
    assert "NEUTONE_PAYMENT_WEBHOOK_SECRET" in refused.stderr


def test_polar_needs_its_token(stack: Stack) -> None:
    refused = start(stack, NEUTONE_PAYMENT_PROVIDER="polar")
    assert refused.returncode != 0
    assert "NEUTONE_POLAR_ACCESS_TOKEN" in refused.stderr


def test_a_polar_configured_service_serves_without_local_pages(stack: Stack) -> None:
    checkout_address = free_address()
    products = [
        {
            "id": "credits-10",
            "display_name": "10 credits",
            "credits": 10,
            "price_minor_units": 500,
            "polar_product_id": "polar-product-10",
        },
    ]
    polar = Stack(
        {
            **stack.env,
            "NEUTONE_BILLINGSVC_ADDRESS": free_address(),
            "NEUTONE_PAYMENT_PROVIDER": "polar",
            "NEUTONE_POLAR_ACCESS_TOKEN": "polar_oat_test",
            "NEUTONE_PRODUCTS": json.dumps(products),
            "NEUTONE_LOCAL_CHECKOUT_ADDRESS": checkout_address,
        }
    )
    polar.start("billingsvc")
    try:
        with grpc.insecure_channel(polar.address("billingsvc")) as channel:
            billing = billing_service_pb2_grpc.BillingServiceStub(channel)
            listed = billing.ListProducts(pb.ListProductsRequest()).products
        assert [p.id for p in listed] == ["credits-10"]
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://{checkout_address}/checkout/x", timeout=2)
    finally:
        assert polar.stop("billingsvc") == 0
