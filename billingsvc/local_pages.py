"""The local provider's checkout and portal pages: a small Starlette app served
by uvicorn inside billingsvc's process (only when the provider is `local`).

Paying builds an `order.paid` event shaped like Polar's, signs it with the
webhook secret and delivers it through BillingService.ApplyPaymentEvent over
gRPC with billingsvc's service identity: the path a real webhook takes."""

import asyncio
import contextlib
import html
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime

import grpc
import structlog
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from billingsvc import events
from billingsvc.ledger import Ledger
from billingsvc.local_provider import LocalProvider
from billingsvc.settings import BillingServiceSettings, ProductSettings
from billingsvc.tables import EntryKind
from neutone.v1 import billing_service_pb2, billing_service_pb2_grpc

log = structlog.get_logger()
PORTAL_ROWS = 100


def _page(title: str, body: str, *, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)} · Neutone (local checkout)</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}"
        "<p><small>Local test checkout: no money changes hands.</small></p></body></html>",
        status_code=status_code,
    )


def _price(product: ProductSettings) -> str:
    return f"{product.price_minor_units / 100:.2f} {product.currency.upper()}"


def _expired() -> HTMLResponse:
    return _page("Link expired", "<p>This link is invalid or has expired.</p>", status_code=404)


def checkout_app(
    *,
    provider: LocalProvider,
    settings: BillingServiceSettings,
    ledger: Ledger,
    billing: billing_service_pb2_grpc.BillingServiceStub,
) -> Starlette:
    secret = settings.payment_webhook_secret.get_secret_value()

    async def show_checkout(request: Request) -> Response:
        link = provider.checkout(request.path_params["token"])
        product = settings.product(link.product_id) if link else None
        if link is None or product is None:
            return _expired()
        return _page(
            f"Buy {product.display_name}",
            f"<p>{product.credits} credits for {html.escape(_price(product))}.</p>"
            f"<form method='post' action='{html.escape(request.url.path)}/pay'>"
            "<button type='submit'>Pay</button></form>",
        )

    async def pay(request: Request) -> Response:
        link = provider.checkout(request.path_params["token"])
        product = settings.product(link.product_id) if link else None
        if link is None or product is None:
            return _expired()
        now = datetime.now(UTC)
        payload = events.order_paid_payload(
            order_id=f"local_{link.checkout_id}",
            account_id=link.account_id,
            product_id=product.id,
            amount_minor_units=product.price_minor_units,
            currency=product.currency,
            description=product.display_name,
            now=now,
        )
        headers = events.signed_headers(
            secret, event_id=f"msg_{uuid.uuid4().hex}", payload=payload, timestamp=now
        )
        try:
            await billing.ApplyPaymentEvent(
                billing_service_pb2.ApplyPaymentEventRequest(payload=payload, headers=headers)
            )
        except grpc.aio.AioRpcError as error:
            log.warning("local payment not applied", error=error.details())
            return _page(
                "Payment failed",
                f"<p>{html.escape(error.details() or 'billing did not answer')}</p>",
                status_code=502,
            )
        return RedirectResponse(link.success_url, status_code=303)

    async def show_portal(request: Request) -> Response:
        link = provider.portal(request.path_params["token"])
        if link is None:
            return _expired()
        purchases = await ledger.entries(
            link.account_id, before_id=None, limit=PORTAL_ROWS, kinds=(EntryKind.PURCHASE,)
        )
        rows = "".join(
            f"<tr><td>{entry.create_time:%Y-%m-%d %H:%M}</td>"
            f"<td>{html.escape(entry.description)}</td><td>+{entry.amount}</td></tr>"
            for entry in purchases
        )
        table = (
            f"<table><tr><th>Date</th><th>Product</th><th>Credits</th></tr>{rows}</table>"
            if purchases
            else "<p>No purchases yet.</p>"
        )
        back = f"<p><a href='{html.escape(link.return_url)}'>Back to Neutone</a></p>"
        return _page("Your purchases", table + back)

    return Starlette(
        routes=[
            Route("/checkout/{token}", show_checkout, methods=["GET"]),
            Route("/checkout/{token}/pay", pay, methods=["POST"]),
            Route("/portal/{token}", show_portal, methods=["GET"]),
        ]
    )


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The gRPC bootstrap owns SIGTERM/SIGINT and stops these pages with the
        # service; uvicorn's own handlers would replace its handlers.
        yield


async def serve_pages(app: Starlette, address: str) -> Callable[[], Awaitable[None]]:
    """Starts serving `app` on `address` (host:port); returns the function that stops it."""
    host, _, port = address.rpartition(":")
    try:
        # Bound here, before the gRPC server reports SERVING, so a checkout URL
        # handed out works at once, and a taken port stops the start-up clearly.
        listener = socket.create_server((host, int(port)))
    except (OSError, ValueError) as error:
        raise SystemExit(f"cannot serve the local checkout pages on {address}: {error}") from None
    server = _EmbeddedServer(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[listener]))
    log.info("local checkout pages", address=address)

    async def stop() -> None:
        server.should_exit = True
        await task

    return stop
