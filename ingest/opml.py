"""OPML 2.0 subscription lists: import (feeds with their folders) and export.

Folders are outlines without an ``xmlUrl``; a feed's categories are the path of its folders
("Tech/Python"), then the entries of its own ``category`` attribute. Export nests feeds into
folders by their first category and writes the others into ``category``, so importing an export
gives the same feeds back.

Documents are parsed by defusedxml with every DTD refused: OPML needs none, and without one no
entity can be declared, so none is ever expanded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.etree.ElementTree import Element, ParseError, SubElement, TreeBuilder, indent, tostring
from xml.parsers.expat import ErrorString

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from ingest.errors import IngestError
from ingest.urls import absolute, canonicalize, host_of

# Characters XML 1.0 cannot carry at all, not even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class OpmlError(IngestError):
    family = "opml"


@dataclass(frozen=True, slots=True)
class OutlineFeed:
    url: str  # xmlUrl
    title: str | None  # text, else title
    html_url: str | None  # htmlUrl
    # The folder path ("Tech/Python"), then the outline's own category entries; each once.
    categories: tuple[str, ...]


def parse_opml(data: bytes) -> list[OutlineFeed]:
    """The feeds of an OPML document, in document order, each xmlUrl once."""
    root, lines = _parse_xml(data)
    if root.tag != "opml":
        raise OpmlError("not_opml", f"line {lines[root]}: the root element is <{root.tag}>, not <opml>")
    body = root.find("body")
    if body is None:
        raise OpmlError("no_body", f"line {lines[root]}: <opml> has no <body>")
    return _merge_duplicates(_feeds(body, ()))


def render_opml(feeds: Sequence[OutlineFeed], title: str = "ingest subscriptions") -> bytes:
    """An OPML 2.0 document in UTF-8, feeds nested in folders by their first category."""
    root = Element("opml", version="2.0")
    head = SubElement(root, "head")
    SubElement(head, "title").text = _xml_safe(title)
    SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC), usegmt=True)
    body = SubElement(root, "body")
    folders: dict[tuple[str, ...], Element] = {(): body}
    for feed in feeds:
        path = _segments(feed.categories[0]) if feed.categories else ()
        _feed_outline(_folder(folders, path), feed)
    indent(root)
    document: bytes = tostring(root, encoding="UTF-8", xml_declaration=True)
    return document + b"\n"


class _LineRecorder(TreeBuilder):
    """A tree builder that notes the line each element starts on, for error messages."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[Element, int] = {}
        self.current_line: Callable[[], int] = lambda: 0

    def start(self, tag: str, attrs: dict[str, str], /) -> Element:
        element = super().start(tag, attrs)
        self.lines[element] = self.current_line()
        return element


def _parse_xml(data: bytes) -> tuple[Element, dict[Element, int]]:
    builder = _LineRecorder()
    # Given bytes, expat decodes them as the document declares (UTF-16 by its BOM, ISO-8859-1, ...).
    parser = DefusedXMLParser(target=builder, forbid_dtd=True)
    builder.current_line = lambda: parser.parser.CurrentLineNumber
    try:
        parser.feed(data)
        root: Element = parser.close()
    except ParseError as exc:
        line, column = exc.position  # expat counts columns from 0, editors from 1
        raise OpmlError("malformed", f"line {line}, column {column + 1}: {ErrorString(exc.code)}") from None
    except DefusedXmlException as exc:
        line = parser.parser.CurrentLineNumber
        raise OpmlError(
            "forbidden", f"line {line}: DTDs and entities are not accepted in OPML ({type(exc).__name__})"
        ) from None
    return root, builder.lines


def _feeds(parent: Element, path: tuple[str, ...]) -> Iterator[OutlineFeed]:
    for outline in parent.iterfind("outline"):
        xml_url = _attribute(outline, "xmlUrl")
        name = _attribute(outline, "text") or _attribute(outline, "title")
        if xml_url is None:  # a folder: its name joins the path of everything inside it
            yield from _feeds(outline, (*path, *_segments(name or "")))
            continue
        url = _feed_url(xml_url)
        if url is not None:
            own = _attribute(outline, "category") or ""
            categories = [_category(path), *(_category(_segments(entry)) for entry in own.split(","))]
            yield OutlineFeed(url, name, _web_url(outline), _unique(c for c in categories if c))
        # A feed's own children are not in a folder named after it: they stay on the same path.
        yield from _feeds(outline, path)


def _attribute(outline: Element, name: str) -> str | None:
    """An attribute's trimmed value, None when absent or blank. Exporters disagree on the case of
    names ("xmlUrl", "xmlurl"), so the exact spelling is preferred, any other accepted."""
    value = outline.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in outline.attrib.items() if k.lower() == lowered), None)
    return (value or "").strip() or None


def _feed_url(xml_url: str) -> str | None:
    """The feed's address if it is one we fetch: http(s) with a host. Others are skipped."""
    url = _absolute(xml_url)
    return url if url is not None and host_of(url) else None


def _web_url(outline: Element) -> str | None:
    html_url = _attribute(outline, "htmlUrl")
    return _absolute(html_url) if html_url else None


def _absolute(url: str) -> str | None:
    try:
        return absolute(url, None)
    except ValueError:  # "http://[::1/feed" and the like: not an address, skipped like any other
        return None


def _segments(path: str) -> tuple[str, ...]:
    """A slash-delimited category as its trimmed, non-empty parts: " /Tech/ Python " → Tech, Python."""
    return tuple(part.strip() for part in path.split("/") if part.strip())


def _category(segments: Iterable[str]) -> str:
    return "/".join(segments)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _merge_duplicates(feeds: Iterable[OutlineFeed]) -> list[OutlineFeed]:
    """Each feed once, where it first appears, with the categories of all its appearances."""
    merged: dict[str, OutlineFeed] = {}
    for feed in feeds:
        key = canonicalize(feed.url)
        first = merged.get(key)
        merged[key] = (
            feed
            if first is None
            else OutlineFeed(
                first.url, first.title, first.html_url, _unique((*first.categories, *feed.categories))
            )
        )
    return list(merged.values())


def _folder(folders: dict[tuple[str, ...], Element], path: tuple[str, ...]) -> Element:
    """The folder outline for ``path``, created (with its parents) at its first use."""
    if path not in folders:
        parent = _folder(folders, path[:-1])
        folders[path] = SubElement(parent, "outline", text=_xml_safe(path[-1]))
    return folders[path]


def _feed_outline(folder: Element, feed: OutlineFeed) -> None:
    outline = SubElement(folder, "outline", type="rss")
    # text is required by OPML; empty, it reads back as "no title".
    outline.set("text", _xml_safe(feed.title or ""))
    if feed.title:
        outline.set("title", _xml_safe(feed.title))
    outline.set("xmlUrl", _xml_safe(feed.url))
    if feed.html_url:
        outline.set("htmlUrl", _xml_safe(feed.html_url))
    others = [_category(_segments(c)) for c in feed.categories[1:]]
    if any(others):
        outline.set("category", ",".join(f"/{c}" for c in others if c))


def _xml_safe(text: str) -> str:
    return _NOT_XML.sub("", text)
