"""Feed discovery: the feeds a web page points to, or the page itself when it is a feed.

The page's ``<link rel="alternate">`` tags come first; only when there are none are the usual
feed paths of the site tried. Errors fetching the page itself propagate; a failed probe only
means that path holds no feed.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

from ingest.client import HttpClient, Response
from ingest.errors import FetchError
from ingest.fetch import FEED_ACCEPT, PAGE_ACCEPT
from ingest.fields import SHORT_FIELD, clean_field
from ingest.html import inline_text
from ingest.jsonfeed import VERSION_PREFIX
from ingest.urls import absolute, canonicalize

PROBE_PATHS = ("/feed", "/rss.xml", "/atom.xml", "/index.xml", "/feed.xml", "/rss", "/feed.json")
_KIND_BY_TYPE = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/feed+json": "json",
    "application/rdf+xml": "rdf",
}
# What a page may announce in <link rel="alternate" type=...>: the feed types, and plain JSON,
# which JSON Feed publishers use too.
_MAYBE_JSON = "json?"  # announced as plain JSON: checked before it is offered
_KIND_BY_LINK_TYPE = {**_KIND_BY_TYPE, "application/json": _MAYBE_JSON}
PERMANENT_REDIRECTS = {301, 308}
_ATOM = "http://www.w3.org/2005/Atom"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_KIND_BY_ROOT = {"rss": "rss", f"{{{_ATOM}}}feed": "atom", f"{{{_RDF}}}RDF": "rdf"}
# Where the channel's title sits: <rss><channel><title>, <feed><title>, <rdf:RDF><channel><title>.
_TITLE_DEPTH = {"rss": 3, "atom": 2, "rdf": 3}
_CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.I)
_JSON_START = b"\xef\xbb\xbf \t\r\n"


@dataclass(frozen=True, slots=True)
class FoundFeed:
    url: str  # where to poll it: the address found, followed through permanent redirects only
    title: str | None
    kind: str  # "rss" | "atom" | "json" | "rdf" | "unknown"


async def discover(client: HttpClient, url: str, max_bytes: int = 5 * 1024 * 1024) -> list[FoundFeed]:
    """The feeds of the page at ``url``, in the order the page lists them (possibly none)."""
    page = await client.get(url, max_bytes=max_bytes, headers={"Accept": PAGE_ACCEPT}, what="page")
    itself = _as_feed(page)
    if itself is not None:
        return [itself]
    linked = await _verified(client, _linked_feeds(page), max_bytes)
    if linked:
        return linked
    return await _probe(client, page.final_url, max_bytes)


async def _verified(client: HttpClient, linked: list[FoundFeed], max_bytes: int) -> list[FoundFeed]:
    """Links announced as plain ``application/json`` are JSON Feeds only sometimes (WordPress
    announces its REST API that way): those are fetched and kept only when they are one."""
    kept = []
    for feed in linked:
        if feed.kind != _MAYBE_JSON:
            kept.append(feed)
            continue
        checked = await _probe_one(client, feed.url, max_bytes)
        if checked is not None and checked.kind == "json":
            kept.append(FoundFeed(feed.url, feed.title or checked.title, "json"))
    return kept


def looks_like_feed(body: bytes, content_type: str | None) -> str | None:
    """The kind of feed ``body`` is ("rss", "atom", "json", "rdf"), or None if it is none.

    The bytes decide when they are recognisable; otherwise a feed content type is believed."""
    sniffed = _sniff(body)
    return sniffed[0] if sniffed is not None else _KIND_BY_TYPE.get(_media_type(content_type))


def _as_feed(response: Response, lasting: bool = True) -> FoundFeed | None:
    """The response as a feed, or None; at its lasting address, or (``lasting=False``: a probed
    path, often an alias of the site's feed) where it ended."""
    url = _lasting_url(response) if lasting else response.final_url
    sniffed = _sniff(response.body)
    if sniffed is not None:
        return FoundFeed(url, sniffed[1], sniffed[0])
    kind = _KIND_BY_TYPE.get(_media_type(response.content_type))
    return FoundFeed(url, None, kind) if kind else None


def _lasting_url(response: Response) -> str:
    """Where to poll the feed: followed through permanent redirects only. A temporary one (a CDN,
    a signed or tracking address) says the feed lives at the address asked for."""
    url = response.url
    for hop in response.redirects:
        if hop.status not in PERMANENT_REDIRECTS:
            break
        url = hop.target
    return url


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _sniff(body: bytes) -> tuple[str, str | None] | None:
    """The kind and title of a feed recognised from its bytes, or None."""
    if body.lstrip(_JSON_START)[:1] == b"{":
        return _sniff_json(body)
    return _sniff_xml(body)


def _sniff_json(body: bytes) -> tuple[str, str | None] | None:
    try:
        document: Any = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(document, dict) or not str(document.get("version", "")).startswith(VERSION_PREFIX):
        return None
    title = document.get("title")
    return "json", (clean_field(title, SHORT_FIELD) if isinstance(title, str) else None)


def _sniff_xml(body: bytes) -> tuple[str, str | None] | None:
    # Stray whitespace before the XML declaration is a common publishing slip, not a reason to
    # miss a feed.
    start = body.removeprefix(codecs.BOM_UTF8).lstrip(b" \t\r\n")
    events = etree.iterparse(
        io.BytesIO(start), events=("start", "end"), resolve_entities=False, no_network=True, huge_tree=False
    )
    try:
        _, root = next(events)
    except (etree.LxmlError, StopIteration):
        return None
    kind = _KIND_BY_ROOT.get(root.tag)
    if kind is None:
        return None
    try:
        title = _channel_title(events, _TITLE_DEPTH[kind])
    except etree.LxmlError:
        title = None  # broken further on: still a feed, which is all this has to say
    return kind, title


def _channel_title(events: Any, title_depth: int) -> str | None:
    """The text of the channel's <title>. It comes before the first item, so parsing stops at the
    title or the first item, however long the feed."""
    depth = 1  # the root has started
    for event, element in events:
        local = etree.QName(element).localname
        if event == "start":
            depth += 1
            if local in ("item", "entry"):
                return None
            continue
        if local == "title" and depth == title_depth:
            return _element_text(element)
        depth -= 1
    return None


def _element_text(element: Any) -> str | None:
    text = "".join(element.itertext())
    if element.get("type") == "html":  # Atom's escaped HTML titles
        text = inline_text(text)
    return clean_field(" ".join(text.split()), SHORT_FIELD)


def _linked_feeds(page: Response) -> list[FoundFeed]:
    """The feeds the page announces with <link rel="alternate">, in document order, each once."""
    document = _html_document(page.body, page.content_type)
    if document is None:
        return []
    base = _base_url(document, page.final_url)
    found: dict[str, FoundFeed] = {}
    for link in document.iter("link"):
        feed = _link_feed(link, base)
        if feed is not None:
            found.setdefault(canonicalize(feed.url), feed)
    return list(found.values())


def _html_document(body: bytes, content_type: str) -> Any:
    """The parsed page, or None when there is nothing to parse."""
    parser = lxml.html.HTMLParser(encoding=_html_encoding(body, content_type))
    try:
        return lxml.html.document_fromstring(body, parser=parser)
    except (etree.LxmlError, ValueError):
        return None


def _html_encoding(body: bytes, content_type: str) -> str | None:
    """The encoding to read the page in: the HTTP header's, else UTF-8 when the bytes are UTF-8,
    else None, for lxml to follow the page's <meta charset> (given nothing, it assumes Latin-1
    and garbles UTF-8 titles)."""
    declared = _CHARSET.search(content_type)
    if declared is not None:
        try:
            return codecs.lookup(declared.group(1)).name
        except LookupError:
            pass
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "utf-8"


def _base_url(document: Any, page_url: str) -> str:
    """What relative links resolve against: the first <base href>, itself relative to the page."""
    base = document.find(".//base[@href]")
    if base is None:
        return page_url
    return absolute(base.get("href"), page_url) or page_url


def _link_feed(link: Any, base: str) -> FoundFeed | None:
    rel = (link.get("rel") or "").lower().split()
    kind = _KIND_BY_LINK_TYPE.get(_media_type(link.get("type")))
    if "alternate" not in rel or kind is None:
        return None
    url = absolute(link.get("href"), base)
    if url is None:
        return None
    return FoundFeed(url, clean_field(link.get("title"), SHORT_FIELD), kind)


async def _probe(client: HttpClient, page_url: str, max_bytes: int) -> list[FoundFeed]:
    """The feeds found at the usual paths of the page's site, in the order of ``PROBE_PATHS``."""
    parts = urlsplit(page_url)
    found: dict[str, FoundFeed] = {}
    for path in PROBE_PATHS:
        url = f"{parts.scheme}://{parts.netloc}{path}"
        if url == page_url:
            continue  # fetched already: not a feed
        feed = await _probe_one(client, url, max_bytes, lasting=False)
        if feed is not None:
            # Several paths often lead to one feed ("/rss" redirects to "/feed"): keep it once.
            found.setdefault(canonicalize(feed.url), feed)
    return list(found.values())


async def _probe_one(client: HttpClient, url: str, max_bytes: int, lasting: bool = True) -> FoundFeed | None:
    try:
        response = await client.get(url, max_bytes=max_bytes, headers={"Accept": FEED_ACCEPT}, what="feed")
    except FetchError:
        return None  # nothing there, or not reachable: either way no feed at this path
    return _as_feed(response, lasting)
