"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1), which feedparser 6 does not read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ingest import enclosures
from ingest.errors import ParseError
from ingest.fields import LONG_FIELD, SHORT_FIELD, clean_categories, clean_field, plausible
from ingest.models import EnclosureInfo, ParsedFeed, RawEntry
from ingest.urls import absolute

VERSION_PREFIX = "https://jsonfeed.org/version/"


def looks_like_json(body: bytes, content_type: str | None) -> bool:
    if content_type and "json" in content_type.lower():
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def parse(body: bytes, url: str) -> ParsedFeed:
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError("not_a_feed", f"{url} is not a feed: invalid JSON ({exc})") from None
    if not isinstance(document, dict) or not str(document.get("version", "")).startswith(VERSION_PREFIX):
        raise ParseError("not_a_feed", f"{url} is JSON but not a JSON Feed (no jsonfeed.org version)")
    items = document.get("items")
    if not isinstance(items, list):
        raise ParseError("bad_json_feed", f"{url}: a JSON Feed needs an `items` list")
    base = _string(document.get("feed_url")) or url
    home = absolute(_string(document.get("home_page_url")), base)
    version = str(document["version"]).removeprefix(VERSION_PREFIX).replace(".", "")
    feed_author = _author(document)
    return ParsedFeed(
        format=f"json{version}",
        title=_string(document.get("title")),
        link=home,
        language=_string(document.get("language")),
        entries=tuple(_entry(item, base, feed_author) for item in items if isinstance(item, dict)),
        hub=_hub(document.get("hubs"), base),
        topic=_web_address(absolute(_string(document.get("feed_url")), base)),
    )


def _hub(hubs: object, base: str) -> str | None:
    """The first WebSub hub of the feed's ``hubs`` (other kinds of hub are not ours to use)."""
    for hub in hubs if isinstance(hubs, list) else ():
        if not isinstance(hub, dict) or str(hub.get("type", "")).casefold() not in {"websub", "pubsubhubbub"}:
            continue
        if address := _web_address(absolute(_string(hub.get("url")), base)):
            return address
    return None


def _web_address(url: str | None) -> str | None:
    return url if url and url.startswith(("http://", "https://")) else None


def _entry(item: dict[str, Any], base: str, feed_author: str | None) -> RawEntry:
    guid = item.get("id")
    link = _string(item.get("url")) or _string(item.get("external_url"))
    return RawEntry(
        guid=clean_field(guid, SHORT_FIELD) if isinstance(guid, (str, int)) else None,
        link=absolute(link, base),
        title=_string(item.get("title")),
        summary=_string(item.get("summary"), LONG_FIELD),
        content=_string(item.get("content_html"), LONG_FIELD)
        or _string(item.get("content_text"), LONG_FIELD),
        author=_author(item) or feed_author,
        published_at=plausible(_date(item.get("date_published")) or _date(item.get("date_modified"))),
        enclosures=_attachments(item.get("attachments"), base),
        categories=clean_categories(item.get("tags")),
    )


def _attachments(attachments: object, base: str) -> tuple[EnclosureInfo, ...]:
    if not isinstance(attachments, list):
        return ()
    return enclosures.collect(
        enclosures.enclosure(
            a.get("url"), base, media_type=a.get("mime_type"), length=a.get("size_in_bytes"),
            title=a.get("title"), duration=a.get("duration_in_seconds"),
        )
        for a in attachments
        if isinstance(a, dict)
    )  # fmt: skip


def _author(holder: dict[str, Any]) -> str | None:
    # 1.1 has a list of authors; 1.0 had one.
    authors = holder.get("authors")
    if isinstance(authors, list):
        names = [_string(a.get("name")) for a in authors if isinstance(a, dict)]
        joined = ", ".join(name for name in names if name)
        if joined:
            return joined
    author = holder.get("author")
    return _string(author.get("name")) if isinstance(author, dict) else None


def _date(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _string(value: object, limit: int = SHORT_FIELD) -> str | None:
    return clean_field(value, limit) if isinstance(value, str) else None
