"""The tables: sources, their sightings of entries, the articles those resolve to, raw pages, runs, hosts.

Long strings that must be unique or looked up (entry keys, canonical URLs, links) are indexed through
a fixed-size hash column: PostgreSQL refuses B-tree keys over ~2.7 kB and URLs can be longer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class Source(SQLModel, table=True):
    __tablename__ = "source"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=16)  # feed | directory
    url: str | None = Field(default=None, sa_type=Text)  # where it is polled (follows permanent moves)
    declared_url: str | None = Field(default=None, sa_type=Text)  # as the config or the user gave it
    path: str | None = Field(default=None, sa_type=Text)
    origin: str = Field(default="config", max_length=16)  # config | cli
    enabled: bool = True
    full_text: bool = True
    interval_s: float | None = None  # fixed interval; None means adaptive
    state: str = Field(default="new", max_length=16)  # new | ok | failing | degraded | gone
    next_fetch_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    poll_interval_s: float | None = None  # the interval last planned
    interval_reason: str | None = Field(default=None, max_length=32)  # adaptive | fixed | ttl | backoff | ...
    hint_ttl_s: float | None = None  # the publisher's floor (<ttl>, sy:updatePeriod), kept across 304s
    skip_hours: str | None = Field(default=None, max_length=100)  # "1,2,3" (UTC)
    skip_days: str | None = Field(default=None, max_length=20)  # "5,6" (0 = Monday)
    moved_to: str | None = Field(default=None, sa_type=Text)  # a permanent redirect seen, not yet trusted
    moved_count: int = 0
    etag: str | None = Field(default=None, sa_type=Text)
    last_modified: str | None = Field(default=None, sa_type=Text)
    body_hash: str | None = Field(default=None, max_length=64)
    consecutive_failures: int = 0
    last_status: str | None = Field(default=None, max_length=16)  # ok | not_modified | failed
    last_error_code: str | None = Field(default=None, max_length=64)
    last_error_message: str | None = Field(default=None, sa_type=Text)
    last_error_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_fetch_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    title: str | None = Field(default=None, sa_type=Text)  # the feed's own title (OPML, discovery)
    site_url: str | None = Field(default=None, sa_type=Text)  # the site the feed belongs to (OPML htmlUrl)
    tags: str | None = Field(default=None, sa_type=Text)  # JSON array: OPML folders and categories
    # The config's `enabled` as last synced: the command line's enable/disable holds until it changes.
    declared_enabled: bool | None = None
    filters: str | None = Field(default=None, sa_type=Text)  # JSON: the source's keep and block rules
    download_enclosures: bool = False
    hub_url: str | None = Field(default=None, sa_type=Text)  # the WebSub hub the feed advertises
    topic_url: str | None = Field(default=None, sa_type=Text)  # the feed's rel="self": the WebSub topic


class Subscription(SQLModel, table=True):
    """A WebSub subscription of a source to its hub: one a source, kept in step by the daemon.

    ``state``: requested (asked, the hub has not verified yet) | active (verified; pushes accepted
    until ``expires_at``) | denied (the hub said no) | failed (the hub could not be asked) |
    unsubscribing (asked to end it). ``next_action_at`` is when a daemon next acts on it: asks
    again, renews, or gives up waiting for a verification; workers claim that moment one at a time.
    """

    __tablename__ = "subscription"

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", unique=True)
    hub_url: str = Field(sa_type=Text)
    topic_url: str = Field(sa_type=Text)
    token: str = Field(max_length=64, unique=True, repr=False)  # the callback's last path segment
    secret: str = Field(max_length=128, repr=False)  # HMAC key for content distributions (hub.secret)
    state: str = Field(max_length=16)
    lease_s: float | None = None  # as the hub granted it
    requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_action_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    last_error: str | None = Field(default=None, sa_type=Text)
    pushes: int = 0  # content distributions accepted
    pushes_refused: int = 0  # refused: a bad or missing signature
    last_push_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Poll(SQLModel, table=True):
    """One poll of a source, for `ingest sources show`: when, how it ended, what it cost and brought."""

    __tablename__ = "poll"
    __table_args__ = (Index("ix_poll_source_at", "source_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id")
    at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(max_length=16)  # ok | not_modified | failed | deferred | gone
    http_status: int | None = None
    duration_ms: float | None = None
    bytes: int | None = None
    entries_seen: int = 0
    entries_new: int = 0
    error_code: str | None = Field(default=None, max_length=64)
    error_message: str | None = Field(default=None, sa_type=Text)


class Sighting(SQLModel, table=True):
    """One entry of one source, queued as ``pending`` before its page is fetched."""

    __tablename__ = "sighting"
    __table_args__ = (
        UniqueConstraint("source_id", "entry_key", name="uq_sighting_source_entry"),
        Index("ix_sighting_state", "state"),
        Index("ix_sighting_link_key", "link_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    entry_key: str = Field(max_length=64)
    guid: str | None = Field(default=None, sa_type=Text)
    link: str | None = Field(default=None, sa_type=Text)
    link_key: str | None = Field(default=None, max_length=64)
    feed_title: str | None = Field(default=None, sa_type=Text)
    summary: str | None = Field(default=None, sa_type=Text)
    feed_content: str | None = Field(default=None, sa_type=Text)
    feed_author: str | None = Field(default=None, sa_type=Text)
    feed_language: str | None = Field(default=None, max_length=35)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    content_key: str | None = Field(default=None, max_length=64)  # digest of what the feed said
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    state: str = Field(default="pending", max_length=16)  # pending | done | failed | blocked | pruned
    attempts: int = 0
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error_code: str | None = Field(default=None, max_length=64)
    last_error_message: str | None = Field(default=None, sa_type=Text)
    article_id: int | None = Field(default=None, foreign_key="article.id", index=True)
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    enclosures: str | None = Field(default=None, sa_type=Text)  # JSON list
    categories: str | None = Field(default=None, sa_type=Text)  # JSON list: for the source's filters


class RawPage(SQLModel, table=True):
    """A fetched page, compressed, so articles can be rebuilt without fetching again."""

    __tablename__ = "raw_page"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_type=Text)
    final_url: str = Field(sa_type=Text)
    status: int
    content_type: str | None = Field(default=None, max_length=200)
    headers: str = Field(default="{}", sa_type=Text)  # JSON object
    fetched_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    compression: str = Field(default="zlib", max_length=16)
    size: int = 0  # uncompressed bytes
    body: bytes = Field(sa_type=LargeBinary)


class Article(SQLModel, table=True):
    __tablename__ = "article"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_type=Text)
    canonical_url: str | None = Field(default=None, sa_type=Text)
    canonical_key: str | None = Field(default=None, max_length=64, unique=True)
    title: str | None = Field(default=None, sa_type=Text)
    author: str | None = Field(default=None, sa_type=Text)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    language: str | None = Field(default=None, max_length=16)
    site_name: str | None = Field(default=None, sa_type=Text)
    text: str = Field(sa_type=Text)
    html: str | None = Field(default=None, sa_type=Text)  # sanitised
    sanitizer_version: str | None = Field(default=None, max_length=32)
    dateline: str | None = Field(default=None, max_length=200)
    published_from: str | None = Field(default=None, max_length=16)  # page | feed | first_seen
    content_hash: str = Field(max_length=64, unique=True)
    fingerprint: str | None = Field(default=None, max_length=64)
    duplicate_of: int | None = Field(default=None, foreign_key="article.id", index=True)
    similarity: float | None = None
    extractor: str = Field(max_length=32)
    extractor_version: str = Field(max_length=64)
    normalizer_version: str = Field(max_length=32)
    raw_page_id: int | None = Field(default=None, foreign_key="raw_page.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Enclosure(SQLModel, table=True):
    """A podcast or media file of an article (RSS <enclosure>, media:content, JSON Feed attachments)."""

    __tablename__ = "enclosure"
    __table_args__ = (UniqueConstraint("article_id", "url_key", name="uq_enclosure_article_url"),)

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id")
    url: str = Field(sa_type=Text)
    url_key: str = Field(max_length=64)  # digest of the canonical URL: one row per file and article
    media_type: str | None = Field(default=None, max_length=200)
    length: int | None = Field(default=None, sa_type=BigInteger)  # bytes, as the feed declares
    title: str | None = Field(default=None, sa_type=Text)
    duration_s: float | None = None  # itunes:duration, media:content duration
    episode: int | None = None
    season: int | None = None
    image: str | None = Field(default=None, sa_type=Text)
    body: bytes | None = Field(default=None, sa_type=LargeBinary)  # downloaded, when the source asks
    downloaded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    download_error: str | None = Field(default=None, sa_type=Text)


class ArticleBand(SQLModel, table=True):
    """One band of an article's MinHash fingerprint: near-duplicate candidates by indexed lookup."""

    __tablename__ = "article_band"
    __table_args__ = (Index("ix_article_band_band", "band"),)

    article_id: int = Field(foreign_key="article.id", primary_key=True)
    band: int = Field(sa_type=BigInteger, primary_key=True)


class ArticleVersion(SQLModel, table=True):
    """An article as it was before a material update: nothing a correction replaced is lost."""

    __tablename__ = "article_version"

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", index=True)
    title: str | None = Field(default=None, sa_type=Text)
    author: str | None = Field(default=None, sa_type=Text)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    text: str = Field(sa_type=Text)
    html: str | None = Field(default=None, sa_type=Text)
    content_hash: str = Field(max_length=64)
    extractor: str = Field(max_length=32)
    extractor_version: str = Field(max_length=64)
    normalizer_version: str = Field(max_length=32)
    stored_at: datetime = Field(sa_type=UTCDateTime)  # when this version had been stored
    replaced_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Run(SQLModel, table=True):
    __tablename__ = "run"

    id: int | None = Field(default=None, primary_key=True)
    trigger: str = Field(max_length=32)  # run-once | daemon
    owner: str = Field(max_length=128)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sources_ok: int = 0
    sources_failed: int = 0
    sources_not_modified: int = 0
    entries_seen: int = 0
    entries_new: int = 0
    articles_new: int = 0
    articles_duplicate: int = 0
    articles_near_duplicate: int = 0
    articles_failed: int = 0
    sources_deferred: int = 0  # held back by the publisher (Retry-After) or another worker
    articles_updated: int = 0  # changed materially since stored; the previous version kept
    entries_blocked: int = 0  # left out by the source's filters (never fetched)
    duration_s: float | None = None


class Host(SQLModel, table=True):
    """Politeness state per host, shared by every worker through the database."""

    __tablename__ = "host"

    host: str = Field(primary_key=True, max_length=255)
    next_allowed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    retry_after_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    robots_txt: str | None = Field(default=None, sa_type=Text)
    robots_status: int | None = None
    robots_fetched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    crawl_delay_s: float | None = None
