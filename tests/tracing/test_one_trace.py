"""Tracing on the real stack: one browser call to CreateSong through the gateway,
with a W3C `traceparent`, and the song it queues made by the worker, arrive at an
OTLP/HTTP endpoint (a receiver in this test) as ONE trace, the one the header
started, with spans from the gateway, songsvc, billingsvc, the worker and Triton."""

import gzip
import json
import secrets
import threading
from collections import defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from neutone.v1 import song_pb2
from neutone.v1 import song_service_pb2 as song_pb
from tests.abuse.browser import Browser
from tests.integration.gateway.grpcweb import call
from tests.integration.helpers import eventually
from tests.stacks import Product, private_product


class SpanReceiver(ThreadingHTTPServer):
    """An OTLP/HTTP trace endpoint (protobuf or JSON): POST /v1/traces."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ExportHandler)
        self.lock = threading.Lock()
        # Hex trace id -> "<service.name>: <span name>" of every span received in it.
        self.span_names: dict[str, list[str]] = defaultdict(list)

    @property
    def endpoint(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def names(self, trace_id: str) -> set[str]:
        """ "<service.name>: <span name>" of each span received in the trace."""
        with self.lock:
            return set(self.span_names[trace_id])

    def receive(self, request: ExportTraceServiceRequest) -> None:
        with self.lock:
            for resource_spans in request.resource_spans:
                service = next(
                    attribute.value.string_value
                    for attribute in resource_spans.resource.attributes
                    if attribute.key == "service.name"
                )
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.span_names[span.trace_id.hex()].append(f"{service}: {span.name}")

    def receive_json(self, request: dict) -> None:
        """OTLP/JSON, as Triton's exporter sends it: ids are hex strings there."""
        with self.lock:
            for resource_spans in request.get("resourceSpans", []):
                service = next(
                    attribute["value"]["stringValue"]
                    for attribute in resource_spans["resource"]["attributes"]
                    if attribute["key"] == "service.name"
                )
                for scope_spans in resource_spans.get("scopeSpans", []):
                    for span in scope_spans.get("spans", []):
                        self.span_names[span["traceId"].lower()].append(
                            f"{service}: {span['name']}"
                        )


class _ExportHandler(BaseHTTPRequestHandler):
    server: SpanReceiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        if self.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        assert self.path == "/v1/traces", self.path
        if self.headers.get("content-type") == "application/json":
            self.server.receive_json(json.loads(body))
            content_type, reply = "application/json", b"{}"
        else:
            self.server.receive(ExportTraceServiceRequest.FromString(body))
            content_type = "application/x-protobuf"
            reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(scope="module")
def receiver() -> Iterator[SpanReceiver]:
    server = SpanReceiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def traced_product(receiver: SpanReceiver) -> Iterator[Product]:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        # Spans leave each process within a fifth of a second of ending.
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    with private_product("tracing", extra_env=env) as product:
        yield product


async def test_a_song_is_one_trace_from_the_browser_to_the_worker(
    traced_product: Product, receiver: SpanReceiver
) -> None:
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    async with httpx.AsyncClient(base_url=traced_product.url, timeout=30) as http:
        browser = await Browser(
            http=http, origin=traced_product.url, outbox=traced_product.outbox
        ).sign_up()
        reply = await call(
            http,
            "/neutone.v1.SongService/CreateSong",
            song_pb.CreateSongRequest(
                description="a short test of tracing",
                params=song_pb2.GenerationParams(duration_seconds=10, inference_steps=2),
            ),
            origin=traced_product.url,
            headers={"cookie": browser.cookie, "traceparent": traceparent},
        )
        assert reply.status == 0, reply.message
        song_id = song_pb.CreateSongResponse.FromString(reply.messages[0]).song.id
        # Through the gateway's stream relay too: WatchSong ends once the song is made.
        watched = await call(
            http,
            "/neutone.v1.SongService/WatchSong",
            song_pb.WatchSongRequest(song_id=song_id),
            origin=traced_product.url,
            headers={"cookie": browser.cookie, "traceparent": traceparent, "grpc-timeout": "50S"},
        )
        assert watched.status == 0, watched.message
        last = song_pb.WatchSongResponse.FromString(watched.messages[-1]).song
        assert last.status == song_pb2.SONG_STATUS_READY, last.failure_reason

    # What each process did for this one song, all in the trace the header started.
    wanted = {
        "gateway: grpc-web /neutone.v1.SongService/CreateSong",
        "gateway: grpc-web /neutone.v1.SongService/WatchSong",
        "songsvc: /neutone.v1.SongService/CreateSong",
        "songsvc: /neutone.v1.SongService/WatchSong",
        "billingsvc: /neutone.v1.BillingService/ReserveCredits",
        # The worker charging the reserved credit once the song is stored.
        "billingsvc: /neutone.v1.BillingService/CommitCredits",
        "songsvc-worker: generate song",
    }

    def arrived() -> bool:
        names = receiver.names(trace_id)
        # The worker's calls to Triton are spans of the trace, and so is Triton's own work
        # for them (its OpenTelemetry mode continues the request's traceparent).
        return (
            wanted <= names
            and any(name.startswith("songsvc-worker: triton ") for name in names)
            and any(name.startswith("triton: ") for name in names)
        )

    eventually(arrived, timeout=10, what=f"{sorted(wanted)} in trace {trace_id}")
