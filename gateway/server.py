"""The gateway's process: `python -m gateway.server`, serving HTTP with uvicorn."""

import asyncio

import uvicorn
from prometheus_client import start_http_server

from gateway.app import create_app
from gateway.settings import GatewaySettings
from runtime.logs import configure_logging
from runtime.settings import load_settings
from runtime.tracing import configure_tracing


async def main() -> None:
    settings = load_settings(GatewaySettings)
    configure_logging(service="gateway", level=settings.log_level, fmt=settings.log_format)
    configure_tracing("gateway")
    host, _, port = (settings.listen_address or settings.gateway_address).rpartition(":")
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=host or "0.0.0.0")
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=host or "0.0.0.0",
            port=int(port),
            log_config=None,
            access_log=False,
            proxy_headers=True,
            forwarded_allow_ips=settings.trusted_proxies,
            timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
            server_header=False,
        )
    )
    await server.serve()


if __name__ == "__main__":
    asyncio.run(main())
