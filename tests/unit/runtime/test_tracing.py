"""runtime.tracing's pure parts: which exporters the environment asks for, W3C
trace contexts in and out, and trace ids on log lines. The spans crossing real
processes are tests/tracing's."""

import json
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import structlog
from opentelemetry import context, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from runtime import tracing
from runtime.logs import configure_logging

TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736
SPAN_ID = 0x00F067AA0BA902B7
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
OTEL_VARIABLES = (
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)


@pytest.fixture
def in_a_span() -> Iterator[NonRecordingSpan]:
    span = NonRecordingSpan(
        SpanContext(TRACE_ID, SPAN_ID, is_remote=False, trace_flags=TraceFlags(1))
    )
    token = context.attach(trace.set_span_in_context(span))
    yield span
    context.detach(token)


@pytest.mark.parametrize(
    ("environment", "exporters"),
    [
        ({}, []),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ["otlp"]),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, ["otlp"]),
        ({"OTEL_TRACES_EXPORTER": "console"}, ["console"]),
        ({"OTEL_TRACES_EXPORTER": "otlp, console"}, ["otlp", "console"]),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, []),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, []),
    ],
)
def test_tracing_is_on_only_where_the_environment_names_an_exporter(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], exporters: list[str]
) -> None:
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert tracing._exporter_names() == exporters


def test_an_unknown_exporter_is_a_clear_refusal_to_start() -> None:
    with pytest.raises(SystemExit, match="no span exporter named 'zipkin2'"):
        tracing._exporter("zipkin2")


def test_with_tracing_off_no_interceptor_is_added() -> None:
    assert tracing.server_interceptors() == []
    assert tracing.client_interceptors() == []


def test_with_tracing_off_a_browser_call_continues_no_trace() -> None:
    with tracing.incoming_http_call("grpc-web /a/B", {"traceparent": TRACEPARENT}):
        assert trace.get_current_span() is trace.INVALID_SPAN
        assert tracing.outgoing_headers() == {}


def test_with_tracing_on_a_browser_call_continues_its_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tracing, "_enabled", True)
    with tracing.incoming_http_call("grpc-web /a/B", {"traceparent": TRACEPARENT}) as span:
        assert span.get_span_context().trace_id == TRACE_ID


def test_a_stored_traceparent_is_continued() -> None:
    parent = trace.get_current_span(tracing.continued(TRACEPARENT)).get_span_context()
    assert (parent.trace_id, parent.span_id, parent.is_remote) == (TRACE_ID, SPAN_ID, True)


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "",
        "not a traceparent",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # an all-zero trace id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # a forbidden version
        TRACEPARENT + "x" * 10_000,
    ],
)
def test_a_missing_or_malformed_traceparent_starts_a_new_trace(stored: str | None) -> None:
    assert trace.get_current_span(tracing.continued(stored)) is trace.INVALID_SPAN


def test_outgoing_headers_carry_the_current_span(in_a_span: NonRecordingSpan) -> None:
    assert tracing.outgoing_headers() == {"traceparent": TRACEPARENT}
    assert tracing.current_traceparent() == TRACEPARENT


def test_without_a_span_nothing_is_sent_or_stored() -> None:
    assert tracing.outgoing_headers() == {}
    assert tracing.current_traceparent() is None


def test_log_lines_carry_the_trace_and_span_ids(
    in_a_span: NonRecordingSpan, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(service="tests", fmt="json")
    try:
        structlog.get_logger().info("inside a span")
    finally:
        structlog.reset_defaults()
    line = json.loads(capsys.readouterr().out)
    assert line["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert line["span_id"] == "00f067aa0ba902b7"


def test_log_lines_outside_a_span_have_no_trace_ids() -> None:
    assert tracing.add_trace_ids(None, "info", {"event": "no span"}) == {"event": "no span"}


@pytest.mark.parametrize(
    ("method", "traced"),
    [
        ("/grpc.health.v1.Health/Check", False),
        ("/grpc.health.v1.Health/Watch", False),
        ("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", False),
        ("/neutone.v1.SongService/CreateSong", True),
    ],
)
def test_probes_and_reflection_get_no_server_spans(method: str, traced: bool) -> None:
    assert tracing._NOT_HEALTH_OR_REFLECTION(SimpleNamespace(method=method)) is traced
