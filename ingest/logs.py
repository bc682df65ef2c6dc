"""Structured logs: one event a line on stderr, JSON off a terminal (or when asked), console on one.

Every line has ``event`` (a stable snake_case name), ``level`` and ``timestamp``; context bound with
``structlog.contextvars`` (``source=…``) is carried by every line logged under it. Libraries that
log through the standard library come out as ``library_log`` events in the same format.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog
from structlog.processors import ExceptionRenderer
from structlog.tracebacks import ExceptionDictTransformer
from structlog.typing import EventDict, WrappedLogger

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("auto", "json", "console")
QUIET_LIBRARIES = ("alembic", "httpx", "httpcore", "trafilatura", "htmldate", "courlan", "charset_normalizer")


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time: a progress bar may have wrapped it so that
    log lines appear above the bar instead of through it."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def wants_json(log_format: str, stream: TextIO) -> bool:
    if log_format == "auto":
        return not stream.isatty()
    return log_format == "json"


def _library_event(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    record = event_dict.get("_record")
    event_dict["message"] = event_dict.get("event")
    event_dict["event"] = "library_log"
    if record is not None:
        event_dict["logger"] = record.name
    return event_dict


def configure(log_format: str = "auto", level: str = "info", stream: TextIO | None = None) -> None:
    out: Any = stream or _CurrentStderr()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: list[Any]
    if wants_json(log_format, out):
        renderer = [
            # Tracebacks without their frames' local variables: those hold secrets (database URLs
            # with passwords, WebSub secrets) that have no business in a log.
            ExceptionRenderer(ExceptionDictTransformer(show_locals=False)),
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ]
    else:
        formatter = structlog.dev.plain_traceback
        renderer = [structlog.dev.ConsoleRenderer(colors=out.isatty(), exception_formatter=formatter)]
    structlog.configure(
        processors=shared + renderer,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, _library_event],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for name in QUIET_LIBRARIES:
        # trafilatura and friends warn about every odd page; our own events say what matters.
        logging.getLogger(name).setLevel(logging.ERROR)
