"""Enclosures: the media files an entry carries, as both feed adapters state them, made safe to store.

Pure functions. A feed's enclosure is untrusted like every other field: its URL must resolve to
http(s), its type and title are bounded text, a length or a duration that is negative, absurd or
not a number is left out (the enclosure stays). The same file is often listed twice (RSS
``<enclosure>`` and ``media:content``): one enclosure per canonical URL, the first one's fields
completed by the others'.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from ingest.dedupe import link_key
from ingest.fields import SHORT_FIELD, clean_field
from ingest.models import EnclosureInfo
from ingest.urls import MAX_URL_LENGTH, absolute, canonicalize

MAX_ENCLOSURES = 50  # per entry: a feed listing thousands of files is not describing one episode
MAX_LENGTH = 2**53  # bytes: anything larger is not a file anyone serves
MAX_DURATION_S = 10 * 86400.0  # ten days
MAX_NUMBER = 2**31 - 1  # episode and season numbers
_MEDIA_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+(\s*;.*)?$")
_CLOCK = re.compile(r"^(\d{1,7})(?::(\d{1,2}))?(?::(\d{1,2}))?(?:[.,](\d+))?$")


@dataclass(frozen=True, slots=True)
class Podcast:
    """What an entry says of its episode (iTunes, Podcasting 2.0): shared by its enclosures."""

    duration_s: float | None = None
    episode: int | None = None
    season: int | None = None
    image: str | None = None


def enclosure(
    url: object,
    base: str | None,
    *,
    media_type: object = None,
    length: object = None,
    title: object = None,
    duration: object = None,
) -> EnclosureInfo | None:
    """One enclosure as a feed states it; None when its URL is not an http(s) address."""
    link = _url(url, base)
    if link is None or not link.startswith(("http://", "https://")):
        return None  # enclosures are downloaded from the web only, never from a directory
    return EnclosureInfo(
        url=link,
        media_type=_media_type(media_type),
        length=_length(length),
        title=clean_field(title, SHORT_FIELD) if isinstance(title, str) else None,
        duration_s=parse_duration(duration),
    )


def podcast(
    duration: object = None, episode: object = None, season: object = None, image: object = None,
    base: str | None = None,
) -> Podcast:  # fmt: skip
    picture = _url(image, base)
    return Podcast(
        duration_s=parse_duration(duration),
        episode=_number(episode),
        season=_number(season),
        image=picture if picture and picture.startswith(("http://", "https://")) else None,
    )


def collect(found: Iterable[EnclosureInfo | None], episode: Podcast = Podcast()) -> tuple[EnclosureInfo, ...]:
    """The enclosures, one per canonical URL (first seen first, completed by its repeats), with the
    episode's fields where an enclosure has none of its own; at most :data:`MAX_ENCLOSURES`."""
    merged: dict[str, EnclosureInfo] = {}
    for item in found:
        if item is None:
            continue
        key = url_key(item.url)
        if key is None:
            continue
        if key in merged:
            merged[key] = _complete(merged[key], item)
        elif len(merged) < MAX_ENCLOSURES:
            merged[key] = item
    return tuple(_complete(item, episode) for item in merged.values())


def url_key(url: str) -> str | None:
    """The digest of the canonical URL: one enclosure per file and article."""
    try:
        return link_key(canonicalize(url))
    except ValueError:  # an invalid port or IPv6 literal: not an address
        return None


def to_json(enclosures: Iterable[EnclosureInfo]) -> str | None:
    """The enclosures as a sighting stores them (a JSON list, each with its ``url_key``); None for none."""
    rows = []
    for item in enclosures:
        key = url_key(item.url)
        if key is not None:
            rows.append({**{f.name: getattr(item, f.name) for f in fields(item)}, "url_key": key})
    return json.dumps(rows, ensure_ascii=False) if rows else None


def parse_duration(value: object) -> float | None:
    """Seconds, from a number of seconds or a clock time ("1:02:03", "62:03", "3723.5");
    None for anything else, for zero, and for more than :data:`MAX_DURATION_S`."""
    if isinstance(value, bool):
        seconds = None
    elif isinstance(value, (int, float)):
        seconds = float(value) if abs(value) < 1e300 else None  # no float holds a larger integer
    elif isinstance(value, str):
        seconds = _clock_seconds(value)
    else:
        seconds = None
    if seconds is None or not math.isfinite(seconds) or not 0 < seconds <= MAX_DURATION_S:
        return None
    return round(seconds, 3)


def _clock_seconds(text: str) -> float | None:
    match = _CLOCK.match(text.strip())
    if match is None:
        return None
    first, second, third, fraction = match.groups()
    parts = [int(p) for p in (first, second, third) if p is not None]
    if any(p >= 60 for p in parts[1:]):
        return None  # "1:75" is no time
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds + float(f"0.{fraction[:6]}") if fraction else seconds


def _complete(item: EnclosureInfo, other: EnclosureInfo | Podcast) -> EnclosureInfo:
    """``item`` with the fields it lacks taken from ``other``."""
    missing: Mapping[str, Any] = {
        f.name: getattr(other, f.name)
        for f in fields(other)
        if f.name != "url" and getattr(item, f.name) is None and getattr(other, f.name) is not None
    }
    return replace(item, **missing) if missing else item


def _url(value: object, base: str | None) -> str | None:
    # One character over the limit: a longer address is refused by ``absolute``, not cut short.
    text = clean_field(value, MAX_URL_LENGTH + 1) if isinstance(value, str) else None
    if text is None:
        return None
    try:
        return absolute(text, base)
    except ValueError:  # urljoin refuses some malformed addresses (a bad IPv6 literal)
        return None


def _media_type(value: object) -> str | None:
    text = clean_field(value, 200) if isinstance(value, str) else None
    return text.lower() if text and _MEDIA_TYPE.match(text) else None


def _length(value: object) -> int | None:
    number = _integer(value)
    return number if number is not None and 0 < number < MAX_LENGTH else None


def _number(value: object) -> int | None:
    number = _integer(value)
    return number if number is not None and 0 <= number <= MAX_NUMBER else None


def _integer(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        text = value.strip()
        return int(text) if len(text) <= 18 else None
    return None
