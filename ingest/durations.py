"""Durations as people write them in config files: 90, "90s", "15m", "24h", "1h30m"."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from ingest.errors import ConfigError

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?", re.IGNORECASE)
EXPECTED = "a duration in seconds or a string like '90s', '15m', '24h' or '1h30m'"


def parse_duration(value: object) -> float:
    """Seconds as a float; raises ValueError naming the accepted forms."""
    if isinstance(value, bool):
        raise ValueError(f"expected {EXPECTED}, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _parse_text(value)
    else:
        raise ValueError(f"expected {EXPECTED}, got {value!r}")
    if seconds < 0:
        raise ValueError(f"expected a positive duration, got {value!r}")
    return seconds


def _parse_text(text: str) -> float:
    compact = text.strip()
    position, total, parts = 0, 0.0, 0
    for match in _PART.finditer(compact):
        if match.start() != position:
            break
        unit = (match.group(2) or "s").lower()
        if match.group(2) is None and match.end() != len(compact):
            break  # a bare number is only allowed on its own: "90", not "90 15m"
        total += float(match.group(1)) * _UNIT_SECONDS[unit]
        position = match.end()
        while position < len(compact) and compact[position] == " ":
            position += 1
        parts += 1
    if parts == 0 or position != len(compact):
        raise ValueError(f"expected {EXPECTED}, got {text!r}")
    return total


def format_duration(seconds: float) -> str:
    """The shortest exact human form: 1800 -> "30m", 90 -> "90s", 5400 -> "1h30m"."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    remaining = round(seconds)
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, remaining = divmod(remaining, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out) or "0s"


def option_duration(option: str, value: str) -> float:
    """A duration given on the command line; a ConfigError naming the option when it is not one."""
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ConfigError("invalid", f"{option}: {exc}") from None


def parse_since(text: str) -> datetime:
    """A date or datetime (UTC unless it says otherwise), or a duration back from now ("7d")."""
    try:
        return datetime.now(UTC) - timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    except OverflowError:
        raise ConfigError("invalid", f"--since {text!r} reaches before year 1") from None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            "invalid", f"--since {text!r}: expected a date like 2024-05-01 or a duration like 7d"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
