"""The gateway's Starlette application and the connections it holds."""

import contextlib
from collections.abc import AsyncIterator

import grpc
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from gateway.bridge import REQUEST_ID_HEADER, Bridge, CookiePolicy
from gateway.media import Media
from gateway.methods import browser_methods, upstream_addresses
from gateway.metrics import metrics
from gateway.previews import SongPreviews
from gateway.public_replies import PublicReplies
from gateway.sessions import Sessions
from gateway.settings import GatewaySettings
from gateway.static import web_app
from gateway.webhooks import PaymentWebhooks
from neutone.v1 import (
    billing_service_pb2_grpc,
    song_service_pb2,
    song_service_pb2_grpc,
    user_service_pb2_grpc,
)
from runtime.clients import CHANNEL_OPTIONS, ServiceCredentials, service_channel
from runtime.identity import load_issuer
from runtime.objectstore import FilesystemStore, open_object_store
from runtime.tracing import client_interceptors

SERVICE_NAME = "gateway"


async def healthz(_: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def create_app(settings: GatewaySettings) -> Starlette:
    """The app; its channels open when it starts serving and close when it stops."""
    # The gateway's own service identity: on its internal calls, and beside every
    # bridged call to vouch for the browser's address.
    credentials = ServiceCredentials(load_issuer(settings, SERVICE_NAME))
    addresses = upstream_addresses(
        usersvc=settings.usersvc_address,
        billingsvc=settings.billingsvc_address,
        songsvc=settings.songsvc_address,
    )
    # One long-lived channel per upstream for the browsers' calls, which carry the
    # user's identity, and one per upstream with the gateway's own service identity
    # for its internal calls (AuthenticateSession, ApplyPaymentEvent); all balance
    # each call over the upstream's pods (runtime.clients).
    browser_channels = {
        service: grpc.aio.insecure_channel(
            address, options=CHANNEL_OPTIONS, interceptors=client_interceptors()
        )
        for service, address in addresses.items()
    }
    users_internal = service_channel(settings.usersvc_address, credentials=credentials)
    billing_internal = service_channel(settings.billingsvc_address, credentials=credentials)
    bridge = Bridge(
        methods=browser_methods(),
        channels=browser_channels,
        sessions=Sessions(
            user_service_pb2_grpc.UserServiceStub(users_internal),
            cache_size=settings.identity_cache_size,
            refresh_margin_seconds=settings.identity_refresh_margin_seconds,
        ),
        public_replies=PublicReplies(
            ttl_seconds=settings.public_reply_seconds, max_entries=settings.public_reply_entries
        ),
        cookies=CookiePolicy(
            name=settings.session_cookie_name,
            secure=settings.secure_cookies,
            origins=frozenset(settings.origins),
        ),
        proxy_credentials=credentials,
        max_message_bytes=settings.max_message_bytes,
        default_timeout_seconds=settings.default_deadline_seconds,
        max_stream_seconds=settings.stream_max_seconds,
    )
    webhooks = PaymentWebhooks(
        billing_service_pb2_grpc.BillingServiceStub(billing_internal),
        max_bytes=settings.max_webhook_bytes,
    )
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/webhooks/payments", webhooks.handle, methods=["POST"]),
    ]
    if not settings.metrics_port:
        # With a metrics port (production) metrics stay off the public address;
        # without one (embedded) they are here.
        routes.append(Route("/metrics", metrics, methods=["GET"]))
    store = open_object_store(settings.object_store, data_dir=settings.data_dir)
    if isinstance(store, FilesystemStore):
        media = Media(store, max_upload_bytes=settings.max_upload_bytes)
        routes.append(Route("/media/{key:path}", media.handle, methods=["GET", "HEAD"]))
        routes.append(Route("/uploads", media.receive, methods=["POST"]))
    index_html = settings.web_dir / "index.html"
    if index_html.is_file():
        songsvc = song_service_pb2.DESCRIPTOR.services_by_name["SongService"].full_name
        previews = SongPreviews(
            song_service_pb2_grpc.SongServiceStub(browser_channels[songsvc]),
            index_html=index_html,
            public_url=settings.public_url,
            cache_seconds=settings.song_preview_seconds,
            max_entries=settings.public_reply_entries,
        )
        # A shared song's page, with link-preview meta, and its media at stable addresses.
        routes += [
            Route("/songs/{song_id}", previews.page, methods=["GET", "HEAD"]),
            Route("/songs/{song_id}/cover.png", previews.cover, methods=["GET", "HEAD"]),
            Route("/songs/{song_id}/audio", previews.audio, methods=["GET", "HEAD"]),
        ]
    routes += [
        # Every grpc-web call: /<package.Service>/<Method>.
        Route("/{service}/{method}", bridge, methods=["POST"]),
        # The app's files compressed on the way out: a phone on a slow link loads about a
        # third of the bytes. Only here: grpc-web replies are small protobuf, and streams.
        Mount("/", GZipMiddleware(web_app(settings.web_dir), minimum_size=1024, compresslevel=6)),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        for channel in [*browser_channels.values(), users_internal, billing_internal]:
            await channel.close()

    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            # Only for pages served elsewhere (a dev server); the app itself is same-origin.
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.origins),
                allow_credentials=True,
                allow_methods=["POST", "GET"],
                allow_headers=[
                    "content-type",
                    "x-grpc-web",
                    "x-user-agent",
                    "grpc-timeout",
                    REQUEST_ID_HEADER,
                ],
                expose_headers=[
                    "grpc-status",
                    "grpc-message",
                    "grpc-status-details-bin",
                    REQUEST_ID_HEADER,
                ],
                max_age=600,
            )
        ],
    )
