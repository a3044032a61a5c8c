"""The gateway's plain HTTP endpoints: payment webhooks, signed media with
Range, the browser app with history fallback, health and metrics."""

import json
import time
import uuid

import httpx
import pytest

from neutone.v1 import billing_service_pb2, user_service_pb2
from runtime.launcher import Stack, free_address, free_port
from tests.integration.billing.webhooks import order_paid_event, signed
from tests.integration.gateway.conftest import Gateway
from tests.integration.gateway.grpcweb import call

AUDIO = bytes(range(256)) * 40  # 10,240 bytes


async def _balance(http: httpx.AsyncClient, gateway: Gateway, cookie: str) -> int:
    reply = await call(
        http,
        "/neutone.v1.BillingService/GetBalance",
        b"",
        origin=gateway.origin,
        headers={"cookie": cookie},
    )
    return billing_service_pb2.GetBalanceResponse.FromString(reply.messages[0]).balance


async def _account_id(http: httpx.AsyncClient, gateway: Gateway, cookie: str) -> str:
    reply = await call(
        http,
        "/neutone.v1.UserService/GetCurrentUser",
        b"",
        origin=gateway.origin,
        headers={"cookie": cookie},
    )
    return user_service_pb2.GetCurrentUserResponse.FromString(reply.messages[0]).user.id


async def test_a_signed_payment_webhook_reaches_the_ledger_once(
    gateway: Gateway, http: httpx.AsyncClient, sign_up
) -> None:
    user = await sign_up()
    before = await _balance(http, gateway, user.cookie)
    account = await _account_id(http, gateway, user.cookie)
    webhook = signed(gateway.webhook_secret, order_paid_event(account_id=account))
    for applied in (True, False):  # a provider's retry changes nothing
        response = await http.post(
            "/webhooks/payments", content=webhook.payload, headers=dict(webhook.headers)
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"event_id": webhook.headers["webhook-id"], "applied": applied}
    assert await _balance(http, gateway, user.cookie) == before + 10


async def test_payment_webhooks_that_fail_verification_are_refused(
    gateway: Gateway, http: httpx.AsyncClient
) -> None:
    event = order_paid_event(account_id=str(uuid.uuid4()))
    forged = signed("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=", event)
    response = await http.post(
        "/webhooks/payments", content=forged.payload, headers=dict(forged.headers)
    )
    assert response.status_code == 401
    assert response.json()["error"]

    unsigned = await http.post("/webhooks/payments", content=json.dumps(event))
    assert unsigned.status_code in (400, 401)

    # Re-serialising the body breaks the signature: it must reach billing byte for byte.
    genuine = signed(gateway.webhook_secret, event)
    altered = json.dumps(json.loads(genuine.payload), indent=2).encode()
    response = await http.post("/webhooks/payments", content=altered, headers=dict(genuine.headers))
    assert response.status_code == 401


async def test_oversized_webhooks_are_refused(http: httpx.AsyncClient) -> None:
    response = await http.post("/webhooks/payments", content=b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413


@pytest.fixture
async def media_url(gateway: Gateway) -> str:
    key = f"songs/{uuid.uuid4()}/audio.flac"
    await gateway.store.put(key, AUDIO, content_type="audio/flac")
    return gateway.store.url(key, expires_at=int(time.time()) + 600)


async def test_signed_media_is_served_whole(http: httpx.AsyncClient, media_url: str) -> None:
    response = await http.get(media_url)
    assert response.status_code == 200
    assert response.content == AUDIO
    assert response.headers["content-type"] == "audio/flac"
    assert response.headers["accept-ranges"] == "bytes"


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-99", 0, 99), ("bytes=10000-", 10000, 10239), ("bytes=-40", 10200, 10239)],
)
async def test_media_ranges(
    http: httpx.AsyncClient, media_url: str, header: str, start: int, end: int
) -> None:
    response = await http.get(media_url, headers={"range": header})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {start}-{end}/{len(AUDIO)}"
    assert response.content == AUDIO[start : end + 1]


@pytest.mark.parametrize("header", ["bytes=20000-20010", "bytes=10240-"])
async def test_unsatisfiable_ranges_get_416(
    http: httpx.AsyncClient, media_url: str, header: str
) -> None:
    response = await http.get(media_url, headers={"range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(AUDIO)}"


async def test_malformed_ranges_get_400(http: httpx.AsyncClient, media_url: str) -> None:
    response = await http.get(media_url, headers={"range": "bytes=50-10"})
    assert response.status_code == 400
    assert "range" in response.text.lower()


async def test_media_links_must_be_signed_and_fresh(
    gateway: Gateway, http: httpx.AsyncClient, media_url: str
) -> None:
    tampered = media_url.replace("signature=", "signature=0")
    assert (await http.get(tampered)).status_code == 403
    unsigned = media_url.split("?", 1)[0]
    assert (await http.get(unsigned)).status_code == 403
    key = unsigned.split("/media/", 1)[1]
    expired = gateway.store.url(key, expires_at=int(time.time()) - 1)
    assert (await http.get(expired)).status_code == 403
    # A signed link to a missing object is a 404, not an error.
    missing = gateway.store.url("songs/nothing/audio.flac", expires_at=int(time.time()) + 60)
    assert (await http.get(missing)).status_code == 404


async def test_the_app_and_its_history_fallback(http: httpx.AsyncClient) -> None:
    for path in ("/", "/songs/123", "/feed?category=jazz"):
        page = await http.get(path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "<div id=root>" in page.text
        assert page.headers["cache-control"] == "no-cache"
    asset = await http.get("/assets/app-1234.js")
    assert asset.status_code == 200
    assert "immutable" in asset.headers["cache-control"]
    assert (await http.get("/assets/missing.js")).status_code == 404


async def test_the_app_is_compressed_for_browsers_that_accept_it(http: httpx.AsyncClient) -> None:
    plain = await http.get("/assets/app-1234.js", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    compressed = await http.get("/assets/app-1234.js", headers={"accept-encoding": "gzip"})
    assert compressed.headers["content-encoding"] == "gzip"
    assert int(compressed.headers["content-length"]) < len(plain.content) / 4
    assert compressed.content == plain.content  # httpx decodes it
    assert "immutable" in compressed.headers["cache-control"]


async def test_health_and_metrics(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).text == "ok"
    await call(http, "/neutone.v1.SongService/ListCategories", b"", origin=None)
    metrics = (await http.get("/metrics")).text
    assert (
        'neutone_gateway_calls_total{code="0",method="/neutone.v1.SongService/ListCategories"}'
        in metrics
    )


async def test_with_a_metrics_port_metrics_leave_the_public_address(gateway: Gateway) -> None:
    address, metrics_port = free_address(), str(free_port())
    second = Stack(
        {
            **gateway.stack.env,
            "NEUTONE_GATEWAY_ADDRESS": address,
            "NEUTONE_METRICS_PORT": metrics_port,
        }
    )
    second.start("gateway")
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            public = await client.get(f"http://{address}/metrics")
            assert public.status_code != 200 or "neutone_gateway" not in public.text
            private = await client.get(f"http://127.0.0.1:{metrics_port}/metrics")
            assert "neutone_gateway_calls_total" in private.text
    finally:
        second.stop_all()
