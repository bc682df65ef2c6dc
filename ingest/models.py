"""The typed values that travel between stages. Plain frozen data: picklable for the process pool."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Validators:
    """What a source remembers between polls to make the next one cheap."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


@dataclass(frozen=True, slots=True)
class EnclosureInfo:
    """A media file an entry carries (RSS <enclosure>, media:content, JSON Feed attachment), with
    the podcast fields (iTunes) that describe it. ``url`` is absolute, http(s)."""

    url: str
    media_type: str | None = None
    length: int | None = None  # bytes, as the feed declares
    title: str | None = None
    duration_s: float | None = None
    episode: int | None = None
    season: int | None = None
    image: str | None = None


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One entry as the feed states it, links already absolute, before keys are assigned."""

    guid: str | None
    link: str | None
    title: str | None = None
    summary: str | None = None  # HTML or text, as the feed gives it
    content: str | None = None  # the fullest HTML body the feed carries
    author: str | None = None
    published_at: datetime | None = None
    language: str | None = None  # the feed's declared language
    enclosures: tuple[EnclosureInfo, ...] = ()  # deduplicated by canonical URL
    categories: tuple[str, ...] = ()  # RSS/Atom <category>, JSON Feed tags: for filters


@dataclass(frozen=True, slots=True)
class FeedHints:
    """How often the publisher says the feed may be polled, from the feed itself."""

    ttl_s: float | None = None  # RSS <ttl>
    update_interval_s: float | None = None  # sy:updatePeriod / sy:updateFrequency
    skip_hours: frozenset[int] = frozenset()  # RSS <skipHours>, UTC hours 0-23
    skip_days: frozenset[int] = frozenset()  # RSS <skipDays>, 0 = Monday


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    format: str  # rss20, atom10, rss10, json11, ...
    title: str | None
    link: str | None
    language: str | None
    entries: tuple[RawEntry, ...]
    problem: str | None = None  # what was wrong with a feed that still yielded entries
    hints: FeedHints = field(default_factory=FeedHints)
    hub: str | None = None  # the WebSub hub it advertises (rel="hub")
    topic: str | None = None  # its own address as it declares it (rel="self"), the WebSub topic


@dataclass(frozen=True, slots=True)
class Entry:
    """A feed entry with its identity: ``key`` is unique per source, ``link`` is canonical."""

    key: str
    guid: str | None
    link: str | None
    link_key: str | None
    title: str | None
    summary: str | None
    content: str | None
    author: str | None
    published_at: datetime | None
    language: str | None
    content_key: str | None = None  # digest of what the feed says of the entry: a change means an update
    enclosures: tuple[EnclosureInfo, ...] = ()
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Page:
    """A fetched (or read) document: the bytes and what the server said about them."""

    url: str
    final_url: str
    status: int
    content_type: str
    body: bytes
    fetched_at: datetime
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EntryHints:
    """What the feed already knows about an entry: evidence for extraction and normalisation."""

    title: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    summary: str | None = None
    content: str | None = None
    link: str | None = None
    feed_language: str | None = None
    first_seen_at: datetime | None = None
    feed_site: str | None = None  # the feed's address: a canonical URL on its site is trusted too


@dataclass(frozen=True, slots=True)
class Extracted:
    """Body text and metadata as an extractor produced them, before normalisation."""

    text: str
    extractor: str  # trafilatura | trafilatura-recall | feed | plaintext
    extractor_version: str
    title: str | None = None
    author: str | None = None
    published: str | None = None  # as found: ISO date or datetime text
    site_name: str | None = None
    canonical_url: str | None = None
    language: str | None = None
    description: str | None = None
    # The extractor's simplified HTML of the body (an lxml element), not yet sanitised. It never
    # leaves the worker process: only the finished ArticleDraft does.
    body_html: Any = None


@dataclass(frozen=True, slots=True)
class ArticleDraft:
    """A normalised article, ready to be deduplicated and stored."""

    url: str
    canonical_url: str | None
    title: str | None
    author: str | None
    published_at: datetime | None
    language: str | None
    site_name: str | None
    text: str
    content_hash: str
    extractor: str
    extractor_version: str
    normalizer_version: str
    bands: tuple[int, ...] = ()  # near-duplicate fingerprint (ingest.fingerprint)
    html: str | None = None  # sanitised
    sanitizer_version: str | None = None
    dateline: str | None = None  # the prefix cut from the first paragraph ("Bamada.net", "Lyon (AFP)")
    published_from: str | None = None  # page | feed | first_seen


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Words the normaliser looks for, added in the config to its built-in tables."""

    related_labels: tuple[str, ...] = ()
    paywall_phrases: tuple[str, ...] = ()
