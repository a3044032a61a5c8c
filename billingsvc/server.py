"""billingsvc's process: `python -m billingsvc.server`. With the `local` payment
provider it also serves the local checkout pages (see local_pages.py)."""

import asyncio
import contextlib

from billingsvc.ledger import Ledger
from billingsvc.local_pages import checkout_app, serve_pages
from billingsvc.local_provider import LocalProvider
from billingsvc.provider import PaymentProvider
from billingsvc.service import BillingService
from billingsvc.settings import BillingServiceSettings, ProviderKind
from neutone.v1 import billing_service_pb2, billing_service_pb2_grpc
from runtime.clients import ServiceCredentials, service_channel
from runtime.database import Database
from runtime.identity import load_issuer
from runtime.logs import configure_logging
from runtime.server import GrpcService, run_server
from runtime.settings import load_settings
from runtime.tracing import configure_tracing

PRINCIPAL = "billingsvc"


async def open_provider(
    settings: BillingServiceSettings, ledger: Ledger, resources: contextlib.AsyncExitStack
) -> PaymentProvider:
    """The configured payment provider; what it holds open is closed with `resources`."""
    if settings.payment_provider is ProviderKind.POLAR:
        # polar-sdk takes a second to import: only a Polar-configured process pays for it.
        from polar.v2026_10 import PolarAsync

        from billingsvc.polar_provider import PolarProvider

        if settings.polar_access_token is None:
            raise SystemExit("NEUTONE_POLAR_ACCESS_TOKEN is required for the polar provider")
        polar = PolarAsync(
            settings.polar_access_token.get_secret_value(), environment=settings.polar_server
        )
        return PolarProvider(await resources.enter_async_context(polar))

    provider = LocalProvider(
        webhook_secret=settings.payment_webhook_secret.get_secret_value(),
        base_url=f"http://{settings.local_checkout_address}",
    )
    # The pages deliver payments to this very service, over gRPC, as a webhook would.
    channel = service_channel(
        settings.billingsvc_address,
        credentials=ServiceCredentials(load_issuer(settings, PRINCIPAL)),
    )
    resources.push_async_callback(channel.close)
    app = checkout_app(
        provider=provider,
        settings=settings,
        ledger=ledger,
        billing=billing_service_pb2_grpc.BillingServiceStub(channel),
    )
    resources.push_async_callback(await serve_pages(app, settings.local_checkout_address))
    return provider


async def main() -> None:
    settings = load_settings(BillingServiceSettings)
    configure_logging(service="billingsvc", level=settings.log_level, fmt=settings.log_format)
    configure_tracing("billingsvc")
    async with contextlib.AsyncExitStack() as resources:
        database = Database.open(settings)
        resources.push_async_callback(database.close)
        ledger = Ledger(
            database,
            welcome_grant=settings.welcome_grant_credits,
            song_cost=settings.song_cost_credits,
        )
        provider = await open_provider(settings, ledger, resources)
        await run_server(
            settings=settings,
            database=database,
            address=settings.listen_address or settings.billingsvc_address,
            services=[
                GrpcService(
                    file=billing_service_pb2.DESCRIPTOR,
                    name="neutone.v1.BillingService",
                    servicer=BillingService(ledger=ledger, provider=provider, settings=settings),
                    register=billing_service_pb2_grpc.add_BillingServiceServicer_to_server,
                )
            ],
        )


if __name__ == "__main__":
    asyncio.run(main())
