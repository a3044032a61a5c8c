"""Structured logs: one JSON object per line on stdout, carrying the request id,
the trace and span ids when tracing is on, and any other values bound to the
current context."""

import logging
import sys

import structlog

from runtime.tracing import add_trace_ids


def configure_logging(*, service: str, level: str = "INFO", fmt: str = "json") -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )

    def add_service(_logger: object, _name: str, event: structlog.types.EventDict) -> dict:
        event["service"] = service
        return event

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_trace_ids,
            add_service,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
