"""The gateway's Prometheus metrics, served at /metrics."""

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

CALLS = Counter(
    "neutone_gateway_calls_total",
    "grpc-web calls answered, by method and gRPC status code.",
    ["method", "code"],
)
CALL_SECONDS = Histogram(
    "neutone_gateway_call_seconds",
    "Time to answer a grpc-web call (to the response headers for streams).",
    ["method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
WEBHOOKS = Counter(
    "neutone_gateway_webhooks_total", "Payment webhooks received, by HTTP status.", ["status"]
)
MEDIA = Counter(
    "neutone_gateway_media_total", "Media requests answered, by HTTP status.", ["status"]
)


async def metrics(_: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
