from __future__ import annotations

import pytest

from ingest.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("given", "seconds"),
    [(90, 90.0), (1.5, 1.5), ("90", 90.0), ("90s", 90.0), ("15m", 900.0), ("24h", 86400.0),
     ("1h30m", 5400.0), ("1h 30m", 5400.0), ("2d", 172800.0), ("250ms", 0.25), (" 5M ", 300.0)],
)  # fmt: skip
def test_accepted_forms(given: object, seconds: float) -> None:
    assert parse_duration(given) == seconds


@pytest.mark.parametrize("given", ["abc", "", "5x", "m5", "1h abc", "90 15m", True, None, [1], -5])
def test_rejected_forms_name_what_is_expected(given: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(given)


@pytest.mark.parametrize(
    ("seconds", "text"), [(1800, "30m"), (90, "1m30s"), (5400, "1h30m"), (86400, "1d"), (0.25, "250ms")]
)
def test_format_round_trips(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds
