"""usersvc's process: `python -m usersvc.server`."""

import asyncio

from neutone.v1 import user_service_pb2, user_service_pb2_grpc
from runtime.database import Database
from runtime.logs import configure_logging
from runtime.server import GrpcService, identity_tokens, run_server
from runtime.settings import load_settings
from usersvc.service import UserService
from usersvc.settings import UserServiceSettings


async def main() -> None:
    settings = load_settings(UserServiceSettings)
    configure_logging(service="usersvc", level=settings.log_level, fmt=settings.log_format)
    database = Database.open(settings)
    service = UserService(database=database, tokens=identity_tokens(settings), settings=settings)
    await run_server(
        settings=settings,
        address=settings.listen_address or settings.usersvc_address,
        services=[
            GrpcService(
                file=user_service_pb2.DESCRIPTOR,
                name="neutone.v1.UserService",
                servicer=service,
                register=user_service_pb2_grpc.add_UserServiceServicer_to_server,
            )
        ],
        on_shutdown=database.close,
    )


if __name__ == "__main__":
    asyncio.run(main())
