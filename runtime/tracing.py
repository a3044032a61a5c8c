"""OpenTelemetry tracing, configured only by the standard OTEL_* environment variables
and off unless they name somewhere to send spans (OTEL_EXPORTER_OTLP_ENDPOINT,
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_TRACES_EXPORTER).

One trace per browser call: the gateway continues the page's W3C `traceparent`,
gRPC metadata carries it between services (the grpc instrumentation's interceptors),
the job row carries it to the worker, and the worker passes it to Triton as a request
header. Sampling (OTEL_TRACES_SAMPLER), the resource (OTEL_SERVICE_NAME,
OTEL_RESOURCE_ATTRIBUTES), batching (OTEL_BSP_*) and the exporter's endpoint, headers
and timeout are the SDK's own environment handling."""

import os
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from importlib.metadata import entry_points
from typing import Any

import grpc
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.grpc import aio_client_interceptors, aio_server_interceptor
from opentelemetry.instrumentation.grpc import filters as grpc_filters
from opentelemetry.propagate import inject
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT_HEADER = "traceparent"
# OTEL_TRACES_EXPORTER=otlp means OTLP over HTTP/protobuf: the one OTLP exporter installed.
_EXPORTER_ALIASES = {"otlp": "otlp_proto_http"}
# Only the W3C trace context crosses the gateway from a browser: baggage and other
# propagators' headers would go on to every service unchecked.
_W3C = TraceContextTextMapPropagator()

tracer = trace.get_tracer("neutone")
_enabled = False


def _exporter_names() -> list[str]:
    """The exporters the environment asks for; none when it names no destination."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    named = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if named:
        return [name.strip() for name in named.split(",") if name.strip() not in ("", "none")]
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    return ["otlp"] if endpoint else []


def _exporter(name: str) -> SpanExporter:
    found = entry_points(
        group="opentelemetry_traces_exporter", name=_EXPORTER_ALIASES.get(name, name)
    )
    if not found:
        raise SystemExit(f"OTEL_TRACES_EXPORTER: no span exporter named {name!r} is installed")
    return next(iter(found)).load()()


def configure_tracing(service_name: str) -> bool:
    """Sends this process's spans where the environment says, batched, and flushes
    them when the process exits; returns whether tracing is on. Call once per
    process, before any channel or server is made (they take their interceptors then)."""
    global _enabled
    names = _exporter_names()
    if not names:
        return False
    resource = Resource.create()
    # OTEL_SERVICE_NAME (or service.name in OTEL_RESOURCE_ATTRIBUTES) wins when set.
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: service_name}))
    # shutdown_on_exit (the default): the batch is flushed at exit, after SIGTERM too.
    provider = TracerProvider(resource=resource)
    for name in names:
        provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    trace.set_tracer_provider(provider)
    _enabled = True
    return True


# Probes call the health service every few seconds: a trace each would bury the real ones.
_NOT_HEALTH_OR_REFLECTION = grpc_filters.negate(
    grpc_filters.any_of(grpc_filters.health_check(), grpc_filters.service_prefix("grpc.reflection"))
)


def server_interceptors() -> list[grpc.aio.ServerInterceptor]:
    """A span per incoming call, continuing the caller's trace from its metadata;
    none for health checks and reflection. Put it first, so that the span is current
    in the interceptors and handler after it."""
    if not _enabled:
        return []
    return [aio_server_interceptor(filter_=_NOT_HEALTH_OR_REFLECTION)]


class _InjectIntoStreams(grpc.aio.UnaryStreamClientInterceptor):
    """Carries the trace into server-streaming calls. The instrumentation's own
    stream interceptor turns the call into an iterator without `read()`, which the
    gateway's relay needs; the server's span covers the stream instead."""

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        inject(metadata, setter=_METADATA_SETTER)
        return await continuation(
            grpc.aio.ClientCallDetails(
                details.method,
                details.timeout,
                metadata,
                details.credentials,
                details.wait_for_ready,
            ),
            request,
        )


class _MetadataSetter:
    def set(self, carrier: grpc.aio.Metadata, key: str, value: str) -> None:
        carrier[key] = value


_METADATA_SETTER = _MetadataSetter()


def client_interceptors() -> list[grpc.aio.ClientInterceptor]:
    """For channels to Neutone services: a client span per unary call, and the
    current trace in every call's metadata."""
    if not _enabled:
        return []
    unary = [
        interceptor
        for interceptor in aio_client_interceptors()
        if isinstance(interceptor, grpc.aio.UnaryUnaryClientInterceptor)
    ]
    return [*unary, _InjectIntoStreams()]


def incoming_http_call(
    name: str, headers: Mapping[str, str]
) -> AbstractContextManager[Span | None]:
    """A server span for a browser's call, continuing the trace in its `traceparent`
    header (a new trace without one, or with one that does not parse). With tracing
    off, none: reading the header and entering a span that records nothing cost the
    gateway CPU on every call, and nothing would carry the trace on."""
    if not _enabled:
        return nullcontext()
    return tracer.start_as_current_span(name, context=_W3C.extract(headers), kind=SpanKind.SERVER)


def outgoing_headers() -> dict[str, str]:
    """The current trace as W3C headers, for what no Neutone channel carries: the job
    row, Triton's inference requests. Empty when no span is recording (tracing off)."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier


def current_traceparent() -> str | None:
    return outgoing_headers().get(TRACEPARENT_HEADER)


def continued(traceparent: str | None) -> Context:
    """The context a stored `traceparent` started, to start spans in; an empty one
    (a new trace) when there is none or it does not parse."""
    return _W3C.extract({TRACEPARENT_HEADER: traceparent} if traceparent else {})


def add_trace_ids(_logger: object, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    """A structlog processor: the current span's trace and span ids beside the request id."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event["trace_id"] = trace.format_trace_id(context.trace_id)
        event["span_id"] = trace.format_span_id(context.span_id)
    return event
