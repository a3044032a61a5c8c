"""songsvc's API process: `python -m songsvc.server`. The generation worker is a
separate process: `python -m songsvc.worker`."""

import asyncio
from datetime import timedelta

from neutone.v1 import song_service_pb2, song_service_pb2_grpc
from runtime.clients import ServiceCredentials, service_channel
from runtime.database import Database, database_url
from runtime.identity import load_issuer
from runtime.logs import configure_logging
from runtime.objectstore import open_object_store
from runtime.periodic import repeat
from runtime.server import GrpcService, run_server
from runtime.settings import load_settings
from runtime.tracing import configure_tracing
from songsvc.billing import Credits
from songsvc.downloads import Downloads
from songsvc.events import SongEvents
from songsvc.models import TritonModels
from songsvc.plays import prune_listens
from songsvc.releases import CreditReleases
from songsvc.service import SongService
from songsvc.settings import SongServiceSettings
from songsvc.uploads import Uploads

PRINCIPAL = "songsvc"
# How often each replica looks for expired uploads to delete.
UPLOAD_PRUNE_SECONDS = 600


async def main() -> None:
    settings = load_settings(SongServiceSettings)
    configure_logging(service="songsvc", level=settings.log_level, fmt=settings.log_format)
    configure_tracing("songsvc")
    url = database_url(settings)
    database = Database.open(settings)
    billing = service_channel(
        settings.billingsvc_address,
        credentials=ServiceCredentials(load_issuer(settings, PRINCIPAL)),
    )
    events = SongEvents(url)
    events.start()
    credits = Credits(billing)
    objects = open_object_store(settings.object_store, data_dir=settings.data_dir)
    uploads = Uploads(
        database,
        objects,
        keep_unused_seconds=settings.upload_keep_unused_seconds,
        checks_at_once=settings.upload_checks_at_once,
    )
    credit_releases = CreditReleases.from_settings(settings, database, credits)
    # Each replica delivers credit releases and prunes old listens in the background.
    background = [
        asyncio.create_task(
            credit_releases.run(
                poll_seconds=settings.credit_release_poll_seconds,
                reconcile_seconds=settings.reconcile_interval_seconds,
                grace=timedelta(seconds=settings.reservation_grace_seconds),
            )
        ),
        asyncio.create_task(
            repeat(
                settings.play_window_seconds,
                lambda: prune_listens(database),
                what="prune listens",
            )
        ),
        asyncio.create_task(
            repeat(UPLOAD_PRUNE_SECONDS, uploads.prune, what="prune expired uploads")
        ),
    ]
    models = TritonModels(
        settings.triton_url, timeout_seconds=settings.lyrics_suggestion_timeout_seconds
    )
    service = SongService(
        database=database,
        credits=credits,
        releases=credit_releases,
        objects=objects,
        uploads=uploads,
        downloads=Downloads(
            objects,
            url_ttl_seconds=settings.object_store.url_ttl_seconds,
            conversions_at_once=settings.download_conversions_at_once,
        ),
        events=events,
        # The planner, for SuggestLyrics (each call sets its own timeout).
        models=models,
        settings=settings,
    )

    async def close() -> None:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await events.stop()
        await models.close()
        await billing.close()
        await database.close()

    await run_server(
        settings=settings,
        database=database,
        address=settings.listen_address or settings.songsvc_address,
        services=[
            GrpcService(
                file=song_service_pb2.DESCRIPTOR,
                name="neutone.v1.SongService",
                servicer=service,
                register=song_service_pb2_grpc.add_SongServiceServicer_to_server,
            )
        ],
        on_shutdown=close,
    )


if __name__ == "__main__":
    asyncio.run(main())
