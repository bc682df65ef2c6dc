"""Extraction: a page's article body and metadata, with the feed's own content as the fallback.

HTML goes through trafilatura (comments excluded); plain text is taken as it is, for the normaliser to
find its title and byline. When the page is missing, unsupported or yields too little, the feed's
content is used instead and ``extractor`` says so.
"""

from __future__ import annotations

import re
from typing import Any

import trafilatura
from charset_normalizer import from_bytes

from ingest.errors import ExtractError
from ingest.html import html_text
from ingest.models import EntryHints, Extracted, Page

TRAFILATURA_VERSION = f"trafilatura {trafilatura.__version__}"
MIN_BODY_CHARS = 200
_CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.I)


def extract(page: Page | None, hints: EntryHints) -> Extracted:
    """The best body we can get for one entry; raises ExtractError when there is none."""
    if page is None:
        return _from_feed(hints, "the entry has no page to fetch")
    kind = page_kind(page)
    if kind == "text":
        return _from_text(page, hints)
    if kind == "html":
        return _from_html(page, hints)
    what = page.content_type or "of an unknown type"
    return _from_feed(hints, f"{page.final_url} is {what}, not a page")


def _from_text(page: Page, hints: EntryHints) -> Extracted:
    text = decode_text(page.body, page.content_type)
    if not text.strip():
        return _from_feed(hints, f"{page.final_url} is empty")
    return Extracted(text=text, extractor="plaintext", extractor_version="plaintext 1")


def _from_html(page: Page, hints: EntryHints) -> Extracted:
    try:
        found = _trafilatura(page.body, page.final_url)
    except ExtractError as exc:
        return _from_feed(hints, exc.message)
    if len(found.text) >= MIN_BODY_CHARS:
        return found
    feed_text = html_text(hints.content or hints.summary or "")
    if len(feed_text) > len(found.text):
        return Extracted(
            text=feed_text,
            extractor="feed",
            extractor_version=TRAFILATURA_VERSION,
            # The feed's title describes the feed's text; the page's may be a gallery's or a stub's.
            title=hints.title or found.title,
            author=found.author,
            published=found.published,
            site_name=found.site_name,
            canonical_url=found.canonical_url,
            language=found.language,
        )
    if not found.text.strip():
        raise ExtractError("empty", f"{page.final_url} has no extractable text and the feed carries none")
    return found


def _from_feed(hints: EntryHints, why: str) -> Extracted:
    """The feed's own content, when the page is missing, failed or is not an article."""
    text = html_text(hints.content or hints.summary or "")
    if not text:
        raise ExtractError("empty", f"{why}, and the feed carries no content for it")
    return Extracted(text=text, extractor="feed", extractor_version=TRAFILATURA_VERSION)


def page_kind(page: Page) -> str:
    media = page.content_type.split(";")[0].strip().lower()
    if media in {"text/html", "application/xhtml+xml"}:
        return "html"
    if media == "text/plain" or (not media and page.final_url.lower().endswith(".txt")):
        return "text"
    if not media and page.body.lstrip()[:1] == b"<":
        return "html"
    return "other"


def decode_text(body: bytes, content_type: str) -> str:
    declared = _CHARSET.search(content_type or "")
    for encoding in ([declared.group(1)] if declared else []) + ["utf-8"]:
        try:
            return body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    guess = from_bytes(body).best()
    return str(guess) if guess is not None else body.decode("utf-8", "replace")


def _trafilatura(body: bytes, url: str) -> Extracted:
    try:
        document: Any = trafilatura.bare_extraction(
            body,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
            deduplicate=False,
        )
    except Exception as exc:  # trafilatura raises assorted lxml and value errors on hostile markup
        raise ExtractError("failed", f"trafilatura failed on {url}: {type(exc).__name__}: {exc}") from None
    if document is None:
        return Extracted(text="", extractor="trafilatura", extractor_version=TRAFILATURA_VERSION)
    return Extracted(
        text=str(getattr(document, "text", "") or ""),
        extractor="trafilatura",
        extractor_version=TRAFILATURA_VERSION,
        title=getattr(document, "title", None),
        author=getattr(document, "author", None),
        published=getattr(document, "date", None),
        site_name=getattr(document, "sitename", None),
        canonical_url=getattr(document, "url", None),
        language=getattr(document, "language", None),
    )
