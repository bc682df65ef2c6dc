"""Structured logs: tracebacks are kept, their frames' local variables (secrets among them) are not."""

from __future__ import annotations

import io

import pytest
import structlog

from ingest.logs import configure


def _fail(secret: str) -> None:
    raise RuntimeError(f"the database went away ({len(secret)} characters in hand)")


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_a_logged_traceback_names_the_error_but_no_local_value(log_format: str) -> None:
    secret = "".join(reversed("9876543210-terces-buh"))  # never written out in this file's source
    out = io.StringIO()
    configure(log_format, stream=out)
    try:
        _fail(secret)
    except RuntimeError:
        structlog.get_logger().exception("maintenance_failed")
    finally:
        structlog.reset_defaults()
    text = out.getvalue()
    assert "the database went away" in text and "_fail" in text
    assert secret not in text
