"""usersvc's process: `python -m usersvc.server`."""

import asyncio

from neutone.v1 import user_service_pb2, user_service_pb2_grpc
from runtime.database import Database
from runtime.identity import load_issuer
from runtime.logs import configure_logging
from runtime.ratelimit import RateLimiter
from runtime.server import GrpcService, run_server
from runtime.settings import load_settings
from usersvc.limits import AccountLimits, known_client_key
from usersvc.passwords import Passwords
from usersvc.service import UserService
from usersvc.settings import UserServiceSettings
from usersvc.tables import rate_limits

PRINCIPAL = "usersvc"


async def main() -> None:
    settings = load_settings(UserServiceSettings)
    configure_logging(service="usersvc", level=settings.log_level, fmt=settings.log_format)
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
    service = UserService(
        database=database,
        issuer=issuer,
        settings=settings,
        passwords=passwords,
        limits=limits,
    )

    async def shut_down() -> None:
        passwords.close()
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
