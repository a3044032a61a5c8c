"""usersvc's process: `python -m usersvc.server`."""

import asyncio

from neutone.v1 import (
    billing_service_pb2_grpc,
    song_service_pb2_grpc,
    user_service_pb2,
    user_service_pb2_grpc,
)
from runtime.clients import ServiceCredentials, service_channel
from runtime.database import Database
from runtime.identity import load_issuer
from runtime.logs import configure_logging
from runtime.outbox import Outbox
from runtime.periodic import repeat
from runtime.ratelimit import RateLimiter
from runtime.server import GrpcService, run_server
from runtime.settings import load_settings
from runtime.tracing import configure_tracing
from usersvc import store
from usersvc.followups import Followups
from usersvc.limits import AccountLimits, known_client_key
from usersvc.mail import open_mailer
from usersvc.passwords import Passwords
from usersvc.service import UserService
from usersvc.settings import UserServiceSettings
from usersvc.tables import outbox, rate_limits

PRINCIPAL = "usersvc"
# How often each replica delivers what the outbox holds, and deletes expired links.
OUTBOX_POLL_SECONDS = 2.0
LINK_PRUNE_SECONDS = 3600


async def prune_links(database: Database) -> int:
    async with database.transaction() as db:
        return await store.prune_expired_links(db)


async def main() -> None:
    settings = load_settings(UserServiceSettings)
    configure_logging(service="usersvc", level=settings.log_level, fmt=settings.log_format)
    configure_tracing("usersvc")
    database = Database.open(settings)
    issuer = load_issuer(settings, PRINCIPAL)
    passwords = Passwords(
        time_cost=settings.password_time_cost,
        memory_kib=settings.password_memory_kib,
        at_once=settings.hashes_at_once,
    )
    limits = AccountLimits(
        limiter=RateLimiter(database, rate_limits),
        database=database,
        settings=settings,
        known_client_key=known_client_key(issuer.signing_key),
    )
    credentials = ServiceCredentials(issuer)
    songs = service_channel(settings.songsvc_address, credentials=credentials)
    billing = service_channel(settings.billingsvc_address, credentials=credentials)
    followups = Followups(
        mailer=open_mailer(settings.mail, outbox_dir=settings.outbox_dir),
        songs=song_service_pb2_grpc.SongServiceStub(songs),
        billing=billing_service_pb2_grpc.BillingServiceStub(billing),
    )
    deliveries = Outbox(database, outbox, followups.handlers())
    # Every replica delivers the outbox and deletes expired links in the background.
    background = [
        asyncio.create_task(deliveries.run(poll_seconds=OUTBOX_POLL_SECONDS)),
        asyncio.create_task(
            repeat(LINK_PRUNE_SECONDS, lambda: prune_links(database), what="prune expired links")
        ),
    ]
    service = UserService(
        database=database,
        issuer=issuer,
        settings=settings,
        passwords=passwords,
        limits=limits,
        outbox=deliveries,
    )

    async def shut_down() -> None:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        passwords.close()
        await songs.close()
        await billing.close()
        await database.close()

    await run_server(
        settings=settings,
        database=database,
        address=settings.listen_address or settings.usersvc_address,
        services=[
            GrpcService(
                file=user_service_pb2.DESCRIPTOR,
                name="neutone.v1.UserService",
                servicer=service,
                register=user_service_pb2_grpc.add_UserServiceServicer_to_server,
            )
        ],
        on_shutdown=shut_down,
    )


if __name__ == "__main__":
    asyncio.run(main())
