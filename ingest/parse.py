"""Feed bytes to a :class:`ParsedFeed`: detect the format, dispatch to its adapter.

RSS 0.9x/1.0/2.0 and Atom go through feedparser, always given bytes, never a URL or a path (it would
do its own HTTP and read local files). JSON Feed has its own adapter. A document that yields nothing
is an error with a code; a broken feed that still yields entries is accepted and its problem noted.
"""

from __future__ import annotations

import html
import io
import re
import time
from datetime import UTC, datetime
from typing import Any

import feedparser
from charset_normalizer import from_bytes

from ingest import enclosures, jsonfeed, safexml
from ingest.errors import ParseError
from ingest.fields import LONG_FIELD, SHORT_FIELD, clean_categories, clean_field, plausible
from ingest.html import inline_text
from ingest.models import EnclosureInfo, FeedHints, ParsedFeed, RawEntry
from ingest.urls import absolute

_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_EMAIL_NAME = re.compile(r"^[^@\s]+@[^@\s]+\s*\((?P<name>[^)]*)\)$")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse a feed document fetched from ``url`` (the final URL, after redirects)."""
    if jsonfeed.looks_like_json(body, content_type):
        return jsonfeed.parse(body, url)
    return _parse_xml(body, url, content_type)


def _parse_xml(original: bytes, url: str, content_type: str | None) -> ParsedFeed:
    body = safexml.defuse(original)  # no entity declarations reach any parser
    if safexml.was_wide(original):  # transcoded from UTF-16/32: the bytes are UTF-8 now
        content_type = f"{(content_type or 'application/xml').split(';')[0]}; charset=utf-8"
    headers = {"content-type": _content_type_with_charset(body, content_type)}
    if url.startswith(("http://", "https://")):
        # feedparser mangles file: URIs (file:///a becomes file://a); those links we resolve ourselves.
        headers["content-location"] = url
    if not body.strip():
        raise ParseError("not_a_feed", f"{url} is empty")
    try:
        result: Any = feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=True)
    except Exception as exc:  # feedparser's own bugs on hostile input: the feed's problem, not ours
        raise ParseError(
            "broken_feed", f"{url}: the feed cannot be parsed ({type(exc).__name__}: {exc})"
        ) from None
    language = _text(result.feed.get("language"))
    entries = tuple(_entry(item, url, body, language) for item in result.entries)
    problem = str(result.get("bozo_exception")) if result.get("bozo") else None
    if not entries:
        if not result.version:
            raise ParseError("not_a_feed", f"{url} is not an RSS, Atom or JSON feed ({problem or 'no feed'})")
        if problem:
            raise ParseError("broken_feed", f"{url}: the feed is broken and yields no entry: {problem}")
    channel = result.feed
    return ParsedFeed(
        format=result.version or "unknown",
        title=_text(channel.get("title")),
        link=absolute(channel.get("link"), url),
        language=_text(channel.get("language")),
        entries=entries,
        problem=problem,
        hints=feed_hints(channel, body),
        hub=_link(channel, "hub", url),
        topic=_link(channel, "self", url),
    )


def _link(channel: Any, rel: str, base: str) -> str | None:
    """The first http(s) address of the channel's links with this relation (atom:link in RSS too)."""
    for link in channel.get("links") or ():
        if isinstance(link, dict) and link.get("rel") == rel:
            target = absolute(link.get("href"), base)
            if target and target.startswith(("http://", "https://")):
                return target
    return None


_PERIODS = {
    "hourly": 3600.0,
    "daily": 86400.0,
    "weekly": 604800.0,
    "monthly": 2629800.0,
    "yearly": 31557600.0,
}
_DAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
_SKIP_HOURS = re.compile(rb"<skipHours\b[^>]*>(.*?)</skipHours>", re.S | re.I)
_SKIP_DAYS = re.compile(rb"<skipDays\b[^>]*>(.*?)</skipDays>", re.S | re.I)
_HOUR = re.compile(rb"<hour>\s*(\d{1,2})\s*</hour>", re.I)
_DAY = re.compile(rb"<day>\s*([A-Za-z]+)\s*</day>", re.I)


def feed_hints(channel: Any, body: bytes) -> FeedHints:
    """The publisher's polling hints. feedparser keeps <ttl> and the syndication module but only
    the last <hour> of <skipHours>, so those two lists are read from the bytes directly."""
    ttl = _number(channel.get("ttl"))
    frequency = _number(channel.get("sy_updatefrequency")) or 1.0
    period = _PERIODS.get(str(channel.get("sy_updateperiod", "")).strip().lower())
    hours = _SKIP_HOURS.search(body)
    days = _SKIP_DAYS.search(body)
    return FeedHints(
        ttl_s=ttl * 60 if ttl else None,
        update_interval_s=period / frequency if period and frequency > 0 else None,
        skip_hours=frozenset(int(h) for h in _HOUR.findall(hours.group(1)) if int(h) < 24)
        if hours
        else frozenset(),
        skip_days=frozenset(
            _DAYS[d.decode().lower()] for d in _DAY.findall(days.group(1)) if d.decode().lower() in _DAYS
        )
        if days
        else frozenset(),
    )


def _number(value: object) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 1e9 else None


def _content_type_with_charset(body: bytes, content_type: str | None) -> str:
    """The content type, with a detected charset when neither HTTP nor the document declares one.

    feedparser falls back to windows-1252 for undeclared non-UTF-8 bytes, which turns a
    windows-1251 (Cyrillic) feed into Latin mojibake; a statistical guess is far better.
    """
    given = content_type or "application/xml"
    if "charset=" in given.lower() or body.startswith(_BOMS) or _XML_ENCODING.match(body[:200]):
        return given
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        guess = from_bytes(body[:65536]).best()
        if guess is not None:
            return f"{given.split(';')[0]}; charset={guess.encoding}"
    return given


def _entry(item: Any, base: str, body: bytes, language: str | None) -> RawEntry:
    content = _best_content(item.get("content") or [])
    guid, link = _guid_and_link(item, base, body)
    return RawEntry(
        guid=guid,
        link=link,
        title=_title(item),
        summary=_text(item.get("summary"), LONG_FIELD),
        content=_text(content, LONG_FIELD),
        author=_author(_text(item.get("author"))),
        # dict.get: feedparser's own get() maps one key onto the other with a DeprecationWarning.
        published_at=_when(dict.get(item, "published_parsed") or dict.get(item, "updated_parsed")),
        language=language,
        enclosures=_enclosures(item, base),
        categories=clean_categories(dict.get(item, "tags")),
    )


def _enclosures(item: Any, base: str) -> tuple[EnclosureInfo, ...]:
    """RSS <enclosure> and Atom rel=enclosure links (feedparser lists both as links), then
    media:content, one per file; the entry's iTunes fields (duration, episode, season, image)."""
    links = dict.get(item, "links") or []
    media = dict.get(item, "media_content") or []
    found = [
        enclosures.enclosure(
            link.get("href"), base, media_type=link.get("type"), length=link.get("length"),
            title=link.get("title"),
        )
        for link in links
        if isinstance(link, dict) and link.get("rel") == "enclosure"
    ] + [
        enclosures.enclosure(
            content.get("url"), base, media_type=content.get("type"), length=content.get("filesize"),
            duration=content.get("duration"),
        )
        for content in media
        if isinstance(content, dict)
    ]  # fmt: skip
    if not any(found):
        return ()
    image = dict.get(item, "image")
    episode = enclosures.podcast(
        duration=dict.get(item, "itunes_duration"),
        episode=dict.get(item, "itunes_episode"),
        season=dict.get(item, "itunes_season"),
        image=image.get("href") if isinstance(image, dict) else None,
        base=base,
    )
    return enclosures.collect(found, episode)


def _guid_and_link(item: Any, base: str, body: bytes) -> tuple[str | None, str | None]:
    """The GUID as the feed wrote it, and the entry's link.

    feedparser resolves a permalink GUID against the feed's URL, and uses it as the link when there
    is no <link>. An opaque GUID ("post-42") then turns into a made-up URL that changes with the
    feed's address. Such a GUID is given back as written, and not used as a link.
    """
    guid = _text(item.get("id"))
    link = absolute(item.get("link"), base)
    if guid is None or "://" not in base or _written(guid, body):
        return guid, link
    directory = base.rsplit("/", 1)[0] + "/"
    origin = "/".join(base.split("/", 3)[:3])
    for prefix in (directory, origin):
        written = guid.removeprefix(prefix)
        if written != guid and _written(written, body):
            if item.get("guidislink") and not written.startswith(("/", "./", "../")) and "/" not in written:
                link = None  # an identifier, not an address
            return written, link
    return guid, link


def _written(text: str, body: bytes) -> bool:
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True  # UTF-16 bytes: cannot look; trust feedparser
    return text.encode() in body or html.escape(text, quote=False).encode() in body


def _author(author: str | None) -> str | None:
    """RSS 2.0 authors are "email (Name)"; keep the name. A bare address names nobody."""
    if author is None:
        return None
    if match := _EMAIL_NAME.match(author):
        return match.group("name").strip() or None
    return None if _EMAIL.match(author) else author


def _title(item: Any) -> str | None:
    """Titles are plain text; Atom allows HTML ones, which feedparser returns as markup."""
    title = _text(item.get("title"))
    if title is None:
        return None
    is_html = "html" in str((item.get("title_detail") or {}).get("type", ""))
    return _text(inline_text(title)) if is_html else title


def _best_content(contents: list[Any]) -> str | None:
    """The longest HTML body among an entry's contents (Atom may carry text and HTML)."""
    candidates = [c for c in contents if c.get("value")]
    html = [c for c in candidates if "html" in str(c.get("type", ""))] or candidates
    return max((str(c["value"]) for c in html), key=len, default=None)


def _text(value: object, limit: int = SHORT_FIELD) -> str | None:
    return clean_field(value, limit)


def _when(parsed: time.struct_time | None) -> datetime | None:
    if parsed is None:
        return None
    try:
        return plausible(datetime(*parsed[:6], tzinfo=UTC))
    except (ValueError, OverflowError):
        return None
