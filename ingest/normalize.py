"""Normalisation: extracted text and metadata to a clean, well-described article.

The body goes through the rules of :mod:`textrules`. The description is chosen from the evidence:
the page's own metadata when present and plausible, the text's byline and source lines, then what
the feed said. Dates end in UTC with the place they came from recorded; languages end as ISO 639-1.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from dateutil import parser as date_parser

from ingest import rules
from ingest.dedupe import content_hash
from ingest.html import text_key
from ingest.langid import detect_language
from ingest.models import ArticleDraft, EntryHints, Extracted
from ingest.sanitize import SANITIZER_VERSION, article_html
from ingest.textrules import clean_body, clean_inline
from ingest.urls import canonical_for

# Raised when what the normaliser produces changes: 3 identifies the language with fastText.
NORMALIZER_VERSION = "3"
FUTURE_TOLERANCE = timedelta(hours=24)
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_LANGUAGE = re.compile(r"^([a-z]{2,3})(?:[-_].*)?$", re.I)


def parse_date(value: str | datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = date_parser.isoparse(value.strip())
        except (ValueError, OverflowError):
            try:
                parsed = date_parser.parse(value, fuzzy=False)
            except (ValueError, OverflowError):
                return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def choose_date(
    page: str | None, feed: datetime | None, fetched_at: datetime, first_seen: datetime | None = None
) -> tuple[datetime | None, str | None]:
    """(date, where it came from): the page's, made precise by the feed's when both name the same
    day; else the feed's; else when the entry was first seen. Never before 1990 or in the future."""
    from_page = parse_date(page)
    if from_page is not None and from_page < EARLIEST:
        from_page = None
    chosen, source = (
        (from_page, "page") if from_page else (feed, "feed") if feed else (first_seen, "first_seen")
    )
    if from_page and feed and from_page.date() == feed.date():
        chosen = feed
    if chosen is not None and chosen > fetched_at + FUTURE_TOLERANCE:
        chosen = fetched_at
    return chosen, source if chosen is not None else None


def plausible_title(title: str | None, site_name: str | None) -> str | None:
    """A title that names an article: not the site's name, not "Home", not a paragraph."""
    cleaned = clean_inline(title, 300)
    if cleaned is None or len(cleaned) >= 300 or cleaned.casefold() in rules.GENERIC_TITLES:
        return None
    if site_name and cleaned.casefold() == site_name.casefold():
        return None
    return cleaned


def plausible_person(author: str | None) -> str | None:
    """An author value that names people: mostly capitalised words, not a desk or a link's label."""
    cleaned = clean_inline(author, 200)
    if cleaned is None or any(cleaned.casefold().startswith(desk) for desk in rules.NOT_PERSONS):
        return None
    words = [w for w in re.split(r"[\s,;&]+", cleaned) if w and w.casefold() not in rules.NAME_PARTICLES]
    capitalised = sum(1 for w in words if w[:1].isupper())
    return cleaned if words and capitalised * 2 > len(words) and len(words) <= 12 else None


def _first_person(*candidates: str | None) -> str | None:
    return next((person for candidate in candidates if (person := plausible_person(candidate))), None)


def language_code(*candidates: str | None) -> str | None:
    """The first candidate that is a language tag, as its ISO 639-1 (or 639-2) primary subtag."""
    for candidate in candidates:
        if candidate and (match := _LANGUAGE.match(candidate.strip())):
            return match.group(1).lower()
    return None


def normalize(
    extracted: Extracted,
    hints: EntryHints,
    url: str,
    fetched_at: datetime,
    related: tuple[str, ...] = (),
    paywall: tuple[str, ...] = (),
) -> ArticleDraft:
    site = clean_inline(extracted.site_name, 200)
    title = plausible_title(extracted.title, site) or plausible_title(hints.title, site)
    body = clean_body(extracted.text, title, site, related, paywall)
    text = body.text
    key = text_key(text)  # its words, for the hash and for the HTML's blocks
    published_at, published_from = choose_date(
        extracted.published, hints.published_at, fetched_at, hints.first_seen_at
    )
    return ArticleDraft(
        url=url,
        canonical_url=canonical_for(extracted.canonical_url, url, hints.feed_site),
        title=body.title,
        author=_first_person(extracted.author, body.author, hints.author, body.author_guess),
        published_at=published_at,
        language=language_code(detect_language(text), extracted.language, hints.feed_language),
        site_name=site or body.site_name,
        text=text,
        content_hash=content_hash(text, key),
        extractor=extracted.extractor,
        extractor_version=extracted.extractor_version,
        normalizer_version=NORMALIZER_VERSION,
        html=article_html(extracted.body_html, text, body.dateline, key),
        sanitizer_version=SANITIZER_VERSION,
        dateline=body.dateline,
        published_from=published_from,
    )
